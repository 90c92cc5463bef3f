import Glibc

/// The reverse proxies whose word on the client's address is taken (config `trusted_proxies`,
/// CIDRs): when a request's TCP peer is one of them, its client address is the rightmost
/// address of `X-Forwarded-For` that is not itself a trusted proxy. That address is what the
/// audit's `ip` and the per-address login limits use. Anyone else's `X-Forwarded-For` is
/// ignored: a client cannot choose its own address.
struct TrustedProxies: Sendable, Equatable {
    /// One CIDR: the network's bytes (4 or 16) and its prefix length.
    struct Network: Sendable, Equatable {
        let bytes: [UInt8]
        let prefix: Int

        /// `10.0.0.0/8`, `::1/128`, or a bare address (a /32 or /128); nil when it reads as none.
        init?(_ text: String) {
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let bytes = TrustedProxies.bytes(of: String(parts[0])) else { return nil }
            let width = bytes.count * 8
            if parts.count == 2 {
                guard let prefix = Int(parts[1]), (0...width).contains(prefix) else { return nil }
                self.prefix = prefix
            } else {
                prefix = width
            }
            self.bytes = bytes
        }

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var left = prefix
            for (mine, theirs) in zip(bytes, address) where left > 0 {
                let bits = min(8, left)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if mine & mask != theirs & mask { return false }
                left -= bits
            }
            return true
        }
    }

    let networks: [Network]

    static let none = TrustedProxies(networks: [])

    func trusts(_ address: String) -> Bool {
        guard !networks.isEmpty, let bytes = Self.bytes(of: address) else { return false }
        return networks.contains { $0.contains(bytes) }
    }

    /// The client's address for a request from `peer` carrying `forwardedFor` (every
    /// `X-Forwarded-For` value, in order).
    func clientAddress(peer: String?, forwardedFor: [String]) -> String? {
        guard let peer, trusts(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() where !trusts(hop) {
            return Self.bytes(of: hop) == nil ? peer : hop
        }
        return hops.first ?? peer
    }

    /// An IPv4 or IPv6 address's bytes, or nil.
    static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }
}
