import Synchronization

/// Identifiers that must be distinct and look random but are no secret: request ids.
///
/// ``RandomID`` asks the kernel's CSPRNG twice per id (a `getrandom` system call each), which
/// measured 6 % of a `/healthz` request. Here a process-wide counter, started at a random
/// value, is passed through SplitMix64's finalizer keyed with two random words: a bijection
/// of the counter, so ids do not repeat within a process until the counter wraps, and they
/// cannot be told from random ones without the keys. Never use these where guessing one
/// would grant anything.
public enum CorrelationID {
    private static let keys: (UInt64, UInt64) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }()

    private static let counter: Atomic<UInt64> = {
        var generator = SystemRandomNumberGenerator()
        return Atomic(generator.next())
    }()

    private static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    /// A new id such as `req_0k2m…`: the prefix, `_`, and 20 characters of `[0-9a-z]`, the
    /// shape of a ``RandomID``.
    public static func make(prefix: String) -> String {
        let count = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        var id = Array(prefix.utf8)
        id.reserveCapacity(id.count + 1 + RandomID.randomLength)
        id.append(UInt8(ascii: "_"))
        for (key, digits) in [(keys.0, 12), (keys.1, 8)] {
            var value = mix(count ^ key)
            for _ in 0..<digits {
                id.append(alphabet[Int(value % 36)])
                value /= 36
            }
        }
        return String(decoding: id, as: UTF8.self)
    }

    /// SplitMix64's finalizer: a bijection on 64-bit words with full avalanche.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
