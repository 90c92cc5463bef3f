/// Opaque resource IDs: a type prefix, `_`, and 20 characters of `[0-9a-z]` from the system's
/// CSPRNG (`SystemRandomNumberGenerator`), about 103 bits of entropy: `run_3k9x0q…`.
public enum RandomID {
    /// The length of the random part.
    public static let randomLength = 20

    private static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    /// A new ID such as `run_0k2m…` for `prefix` `"run"`.
    public static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        var id = Array(prefix.utf8)
        id.reserveCapacity(id.count + 1 + randomLength)
        id.append(UInt8(ascii: "_"))
        // Two uniform draws (unbiased: `random(in:)` rejects the uneven tail) give 12 + 8 digits
        // of base 36, so one ID costs two calls into the CSPRNG, not twenty.
        for digits in [12, 8] {
            var value = UInt64.random(in: 0..<power36(digits), using: &generator)
            for _ in 0..<digits {
                id.append(alphabet[Int(value % 36)])
                value /= 36
            }
        }
        return String(decoding: id, as: UTF8.self)
    }

    /// Whether `id` has the shape of an ID with this prefix (says nothing about existence).
    public static func isWellFormed(_ id: String, prefix: String) -> Bool {
        let utf8 = id.utf8
        guard utf8.count == prefix.utf8.count + 1 + randomLength, id.hasPrefix(prefix + "_") else { return false }
        return utf8.suffix(randomLength).allSatisfy { alphabet.contains($0) }
    }

    private static func power36(_ exponent: Int) -> UInt64 {
        (0..<exponent).reduce(1) { result, _ in result * 36 }
    }
}
