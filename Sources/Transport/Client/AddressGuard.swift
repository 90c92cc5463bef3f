import Glibc

/// Which addresses an outbound request (a webhook delivery) may connect to (API.md): never a
/// loopback, private, shared, link-local (169.254.169.254, the cloud metadata address,
/// included), unique-local, multicast, reserved or unspecified address, nor any other range
/// the IANA special-purpose registries mark as not globally reachable, IPv4 or IPv6, nor an
/// IPv6 form that carries such an IPv4 address. Checked on the resolved addresses, at every attempt, so that a name cannot point
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

    /// Whether `address` is one no delivery may reach: every range of IANA's IPv4 and IPv6
    /// special-purpose registries that is not globally reachable, and the IPv4 address carried
    /// inside the IPv6 forms that reach one (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16,
    /// Teredo 2001::/32).
    public static func isBlocked(_ address: Address) -> Bool {
        switch address {
        case .v4(let a, let b, let c, _):
            return a == 0                                   // "this network" 0.0.0.0/8
                || a == 10                                  // private (RFC 1918)
                || (a == 100 && (64...127).contains(b))     // shared address space 100.64.0.0/10 (CGNAT; a metadata address lives here)
                || a == 127                                 // loopback
                || (a == 169 && b == 254)                   // link-local, 169.254.169.254 among them
                || (a == 172 && (16...31).contains(b))      // private
                || (a == 192 && b == 0 && c == 0)           // IETF protocol assignments 192.0.0.0/24
                || (a == 192 && b == 0 && c == 2)           // TEST-NET-1
                || (a == 192 && b == 88 && c == 99)         // 6to4 relay anycast (deprecated)
                || (a == 192 && b == 168)                   // private
                || (a == 198 && (b == 18 || b == 19))       // benchmarking 198.18.0.0/15
                || (a == 198 && b == 51 && c == 100)        // TEST-NET-2
                || (a == 203 && b == 0 && c == 113)         // TEST-NET-3
                || a >= 224                                 // multicast 224/4, reserved 240/4, broadcast
        case .v6(let bytes):
            guard bytes.count == 16 else { return true }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {  // ::ffff:a.b.c.d
                return isBlocked(.v4(bytes[12], bytes[13], bytes[14], bytes[15]))
            }
            if bytes[0..<12].allSatisfy({ $0 == 0 }) { return true }  // ::, ::1 and the deprecated IPv4-compatible forms
            if bytes[0] == 0x00, bytes[1] == 0x64, bytes[2] == 0xFF, bytes[3] == 0x9B {  // NAT64 64:ff9b::/96 and the local 64:ff9b:1::/48
                return bytes[4..<12].allSatisfy { $0 == 0 } ? isBlocked(.v4(bytes[12], bytes[13], bytes[14], bytes[15])) : true
            }
            if bytes[0] == 0x20, bytes[1] == 0x02 { return isBlocked(.v4(bytes[2], bytes[3], bytes[4], bytes[5])) }  // 6to4 2002::/16
            if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x00, bytes[3] == 0x00 {  // Teredo 2001::/32: the client's IPv4, inverted
                return isBlocked(.v4(~bytes[12], ~bytes[13], ~bytes[14], ~bytes[15])) || isBlocked(.v4(bytes[4], bytes[5], bytes[6], bytes[7]))
            }
            if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x0D, bytes[3] == 0xB8 { return true }  // documentation 2001:db8::/32
            if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x00, bytes[3] & 0xF0 == 0x10 { return true }  // ORCHIDv2 2001:10::/28 (and 2001:20::/28 below)
            if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x00, bytes[3] & 0xF0 == 0x20 { return true }
            if bytes[0] == 0x01, bytes[1] == 0x00, bytes[2..<8].allSatisfy({ $0 == 0 }) { return true }  // discard-only 100::/64
            // Multicast ff00::/8, unique-local fc00::/7, link-local fe80::/10, site-local fec0::/10.
            return bytes[0] == 0xFF || bytes[0] & 0xFE == 0xFC || (bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80)
                || (bytes[0] == 0xFE && bytes[1] & 0xC0 == 0xC0)
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
