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
        var innerHash = SHA256(resumingFrom: inner, absorbed: SHA256.blockSize)
        innerHash.update(message)
        var outerHash = SHA256(resumingFrom: outer, absorbed: SHA256.blockSize)
        outerHash.update(innerHash.finalize())
        return outerHash.finalize()
    }

    /// The tag of `text`'s UTF-8 bytes.
    public func authenticationCode(for text: String) -> [UInt8] { authenticationCode(for: Array(text.utf8)) }
}
