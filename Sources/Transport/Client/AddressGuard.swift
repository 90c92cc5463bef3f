import Glibc

/// Which addresses an outbound request (a webhook delivery) may connect to (API.md): never a
/// loopback, private, link-local (169.254.169.254, the cloud metadata address, included),
/// unique-local, multicast or unspecified address, IPv4 or IPv6, nor an IPv4-mapped IPv6 form
/// of one. Checked on the resolved addresses, at every attempt, so that a name cannot point
/// somewhere else between the check and the connection.
public enum AddressGuard {
    /// An address a name resolved to.
    public enum Address: Sendable, Equatable, CustomStringConvertible {
        case v4(UInt8, UInt8, UInt8, UInt8)
        case v6([UInt8])

        public var description: String {
            switch self {
            case .v4(let a, let b, let c, let d): return "\(a).\(b).\(c).\(d)"
            case .v6(let bytes):
                return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
            }
        }
    }

    /// Whether `address` is one no delivery may reach.
    public static func isBlocked(_ address: Address) -> Bool {
        switch address {
        case .v4(let a, let b, _, _):
            // Unspecified (0/8), loopback, private (RFC 1918), link-local, multicast (224/4).
            return a == 0 || a == 127 || a == 10 || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168)
                || (a == 169 && b == 254) || (224...239).contains(a)
        case .v6(let bytes):
            guard bytes.count == 16 else { return true }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {  // ::ffff:a.b.c.d
                return isBlocked(.v4(bytes[12], bytes[13], bytes[14], bytes[15]))
            }
            if bytes[0..<12].allSatisfy({ $0 == 0 }) { return true }  // ::, ::1 and the deprecated IPv4-compatible forms
            // Multicast (ff00::/8), unique-local (fc00::/7), link-local (fe80::/10).
            return bytes[0] == 0xFF || bytes[0] & 0xFE == 0xFC || (bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80)
        }
    }

    /// The addresses `host` resolves to (a literal is its own), IPv4 and IPv6, or nil when it
    /// does not resolve. Blocking: call it off the cooperative pool.
    public static func resolve(_ host: String) -> [Address]? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(first) }
        var addresses: [Address] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            if let raw = current.pointee.ai_addr {
                if current.pointee.ai_family == AF_INET {
                    let value = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                    addresses.append(.v4(UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
                                         UInt8(truncatingIfNeeded: value)))
                } else if current.pointee.ai_family == AF_INET6 {
                    let bytes = raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                    }
                    addresses.append(.v6(bytes))
                }
            }
            node = current.pointee.ai_next
        }
        var unique: [Address] = []
        for address in addresses where !unique.contains(address) { unique.append(address) }
        return unique
    }
}
