/// HMAC-SHA256 (RFC 2104, FIPS 198-1) with the key's inner and outer pads hashed once, so each
/// message costs only its own blocks plus one more.
public struct HMACSHA256: Sendable {
    public static let size = SHA256.digestSize

    /// The hash states after the key XOR ipad and the key XOR opad blocks.
    let inner: SHA256.Words
    let outer: SHA256.Words

    public init(key: some Collection<UInt8>) {
        // RFC 2104 §2: a key longer than the block is hashed first; then zero-padded.
        var block = key.count > SHA256.blockSize ? SHA256.hash(key) : Array(key)
        block += [UInt8](repeating: 0, count: SHA256.blockSize - block.count)
        var inner = SHA256.Words()
        var outer = SHA256.Words()
        (block.map { $0 ^ 0x36 }).withUnsafeBytes { SHA256.compress(&inner, $0) }
        (block.map { $0 ^ 0x5c }).withUnsafeBytes { SHA256.compress(&outer, $0) }
        self.inner = inner
        self.outer = outer
    }

    /// The 32-byte tag of `message`.
    public func authenticationCode(for message: some Collection<UInt8>) -> [UInt8] {
        let innerDigest = Self.finish(from: inner, after: SHA256.blockSize, with: Array(message))
        return Self.finish(from: outer, after: SHA256.blockSize, with: innerDigest)
    }

    /// The tag of `text`'s UTF-8 bytes.
    public func authenticationCode(for text: String) -> [UInt8] { authenticationCode(for: Array(text.utf8)) }

    /// Hashes `message` on from `words`, which already absorbed `prefixLength` bytes (whole blocks).
    private static func finish(from words: SHA256.Words, after prefixLength: Int, with message: [UInt8]) -> [UInt8] {
        var words = words
        let bitLength = UInt64(prefixLength + message.count) * 8
        var padded = message
        padded.append(0x80)
        while padded.count % SHA256.blockSize != 56 { padded.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        padded.withUnsafeBytes { raw in
            for offset in stride(from: 0, to: padded.count, by: SHA256.blockSize) {
                SHA256.compress(&words, UnsafeRawBufferPointer(rebasing: raw[offset..<offset + SHA256.blockSize]))
            }
        }
        return words.digest
    }
}
