import Testing
import TroupeCore

/// FIPS 180-4 examples (NIST "Example Algorithm" documents) and NIST CSRC byte-oriented vectors.
@Suite(.timeLimit(.minutes(5)))
struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func publishedDigests(message: String, digest: String) {
        #expect(Hex.encode(SHA256.hash(message)) == digest)
    }

    @Test func aMillionAsInUnevenPieces() {
        var hasher = SHA256()
        var fed = 0
        var size = 1
        while fed < 1_000_000 {
            let count = min(size, 1_000_000 - fed)
            hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: count))
            fed += count
            size = size * 3 % 997 + 1
        }
        #expect(Hex.encode(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func everyLengthAroundTheBlockBoundaryMatchesOneShotHashing() {
        for length in 50...130 {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            var hasher = SHA256()
            hasher.update(message.prefix(length / 2))
            hasher.update(message.dropFirst(length / 2))
            #expect(hasher.finalize() == SHA256.hash(message))
        }
    }
}

/// RFC 4231 §4 test cases for HMAC-SHA-256.
@Suite(.timeLimit(.minutes(5)))
struct HMACSHA256Tests {
    @Test func rfc4231Case1() {
        let mac = HMACSHA256(key: [UInt8](repeating: 0x0b, count: 20))
        #expect(Hex.encode(mac.authenticationCode(for: "Hi There"))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    @Test func rfc4231Case2KeyShorterThanOutput() {
        let mac = HMACSHA256(key: Array("Jefe".utf8))
        #expect(Hex.encode(mac.authenticationCode(for: "what do ya want for nothing?"))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func rfc4231Case3CombinedLengthOverOneBlock() {
        let mac = HMACSHA256(key: [UInt8](repeating: 0xaa, count: 20))
        #expect(Hex.encode(mac.authenticationCode(for: [UInt8](repeating: 0xdd, count: 50)))
                == "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
    }

    @Test func rfc4231Case6KeyLongerThanABlockIsHashedFirst() {
        let mac = HMACSHA256(key: [UInt8](repeating: 0xaa, count: 131))
        #expect(Hex.encode(mac.authenticationCode(for: "Test Using Larger Than Block-Size Key - Hash Key First"))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func rfc4231Case7LongKeyAndLongMessage() {
        let mac = HMACSHA256(key: [UInt8](repeating: 0xaa, count: 131))
        let message = "This is a test using a larger than block-size key and a larger than block-size data. "
            + "The key needs to be hashed before being used by the HMAC algorithm."
        #expect(Hex.encode(mac.authenticationCode(for: message))
                == "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }
}

/// PBKDF2-HMAC-SHA256 vectors: RFC 7914 §11 and the widely republished RFC 6070-style ones.
@Suite(.timeLimit(.minutes(5)))
struct PBKDF2Tests {
    @Test(arguments: [
        ("password", "salt", 1, 32, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"),
        ("password", "salt", 2, 32, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"),
        ("password", "salt", 4096, 32, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"),
        ("passwd", "salt", 1, 64,
         "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"),
        ("Password", "NaCl", 80000, 64,
         "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"),
    ])
    func publishedVectors(password: String, salt: String, iterations: Int, length: Int, expected: String) {
        let key = PBKDF2.deriveKey(password: Array(password.utf8), salt: Array(salt.utf8), iterations: iterations, length: length)
        #expect(Hex.encode(key) == expected)
    }

    @Test func aSecondBlockIsDerivedWhenMoreThan32BytesAreAsked() {
        let long = PBKDF2.deriveKey(password: Array("p".utf8), salt: Array("s".utf8), iterations: 3, length: 40)
        let short = PBKDF2.deriveKey(password: Array("p".utf8), salt: Array("s".utf8), iterations: 3, length: 32)
        #expect(long.count == 40)
        #expect(Array(long.prefix(32)) == short)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct Base64URLTests {
    /// RFC 4648 §10 vectors, in the URL alphabet without padding.
    @Test(arguments: [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
                      ("foobar", "Zm9vYmFy")])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64URL.encode(plain.utf8) == encoded)
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
    }

    @Test func theURLAlphabetReplacesPlusAndSlash() {
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.decode("-_8") == [0xfb, 0xff])
    }

    @Test(arguments: ["Zg==", "Zm9v+", "Zm9v/", "Z", "Zh", "Zm9 v", "Zm9vYm\u{e9}"])
    func refusesPaddingForeignCharactersImpossibleLengthsAndLeftoverBits(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test func roundTripsEveryLengthUpTo70() {
        for length in 0...70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 13) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }
}

@Suite(.timeLimit(.minutes(5)))
struct ConstantTimeTests {
    @Test func comparesWholeContents() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
    }
}
