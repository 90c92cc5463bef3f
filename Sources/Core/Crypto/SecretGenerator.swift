/// Random secrets from the system's CSPRNG.
public enum SecretGenerator {
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(count + 7)
        while out.count < count { withUnsafeBytes(of: generator.next()) { out.append(contentsOf: $0) } }
        return Array(out.prefix(count))
    }

    /// `count` characters of `[0-9A-Za-z]`, each uniform (rejection sampling, no modulo bias).
    /// Bytes are drawn eight at a time: one call into the CSPRNG (a system call) per eight
    /// candidates, not per character — a lease token is made on every job claim.
    public static func alphanumeric(_ count: Int) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        var generator = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            var word = generator.next()
            for _ in 0..<8 where out.count < count {
                let byte = UInt8(truncatingIfNeeded: word)
                word >>= 8
                if byte < 248 { out.append(alphabet[Int(byte % 62)]) }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
