import Testing
import TroupeCore

@Suite(.timeLimit(.minutes(5)))
struct SealedBoxTests {
    private let key = Array(repeating: UInt8(0x42), count: 32)
    private let nonce = Array(0..<UInt8(16))

    @Test func sealedBytesOpenToThePlaintextAndHideIt() throws {
        let plaintext = Array(#"{"raw_key":"sk_live_abcdefghijklmnopqrstuvwxyz0123456789ABCD"}"#.utf8)
        let sealed = SealedBox(key: key).seal(plaintext, nonce: nonce)
        #expect(sealed.count == SealedBox.nonceSize + plaintext.count + SealedBox.tagSize)
        #expect(!String(decoding: sealed, as: UTF8.self).contains("sk_live_"))
        #expect(SealedBox(key: key).open(sealed) == plaintext)
        #expect(SealedBox(key: key).open(SealedBox(key: key).seal([], nonce: nonce)) == [])
    }

    /// The construction as documented: keystream block i = HMAC(enc, nonce ‖ be32(i)), tag =
    /// HMAC(mac, nonce ‖ ciphertext), with enc and mac derived from the key by HMAC.
    @Test func theConstructionIsTheDocumentedOne() {
        let root = HMACSHA256(key: key)
        let enc = HMACSHA256(key: root.authenticationCode(for: "troupe.sealed.enc"))
        let mac = HMACSHA256(key: root.authenticationCode(for: "troupe.sealed.mac"))
        let plaintext = Array(repeating: UInt8(0), count: 40)  // zeros: the ciphertext is the keystream
        let keystream = enc.authenticationCode(for: nonce + [0, 0, 0, 0]) + enc.authenticationCode(for: nonce + [0, 0, 0, 1])
        let sealed = SealedBox(key: key).seal(plaintext, nonce: nonce)
        let ciphertext = Array(keystream.prefix(40))
        #expect(sealed == nonce + ciphertext + mac.authenticationCode(for: nonce + ciphertext))
    }

    @Test func anyChangedByteOrAnotherKeyFailsToOpen() {
        let sealed = SealedBox(key: key).seal(Array("invite_token".utf8), nonce: nonce)
        for index in sealed.indices {
            var tampered = sealed
            tampered[index] ^= 0x01
            #expect(SealedBox(key: key).open(tampered) == nil, "byte \(index)")
        }
        #expect(SealedBox(key: Array(repeating: 0x43, count: 32)).open(sealed) == nil)
        #expect(SealedBox(key: key).open(Array(sealed.prefix(47))) == nil, "shorter than a nonce and a tag")
    }
}
