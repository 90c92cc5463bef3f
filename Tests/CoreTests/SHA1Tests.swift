import Testing
import TroupeCore

/// FIPS 180 examples for SHA-1, and RFC 6455's handshake example, which uses it.
@Suite(.timeLimit(.minutes(5)))
struct SHA1Tests {
    @Test(arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "a49b2446a02c645bf419f995b67091253a04a259"),
    ])
    func publishedDigests(message: String, digest: String) {
        #expect(Hex.encode(SHA1.hash(Array(message.utf8))) == digest)
    }

    @Test func aMillionAsInUnevenPieces() {
        var hasher = SHA1()
        var fed = 0
        var size = 1
        while fed < 1_000_000 {
            let count = min(size, 1_000_000 - fed)
            hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: count))
            fed += count
            size = size * 7 % 1013 + 1
        }
        #expect(Hex.encode(hasher.finalize()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }
}
