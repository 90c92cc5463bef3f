/// Authenticated encryption built from HMAC-SHA256 alone (the toolchain has no cipher):
/// encrypt-then-MAC, with HMAC-SHA256 as a pseudorandom function in counter mode for the
/// keystream.
///
/// From the 32-byte key come two keys, `enc = HMAC(key, "troupe.sealed.enc")` and
/// `mac = HMAC(key, "troupe.sealed.mac")`. Block *i* of keystream is `HMAC(enc, nonce ‖ be32(i))`;
/// the ciphertext is the plaintext XOR the keystream; the tag is `HMAC(mac, nonce ‖ ciphertext)`.
/// Sealed: `nonce (16) ‖ ciphertext ‖ tag (32)`. A fresh random nonce per seal keeps keystreams
/// apart (a PRF's outputs on distinct inputs are independent); the tag is checked, in constant
/// time, before anything is decrypted.
public struct SealedBox: Sendable {
    public static let nonceSize = 16
    public static let tagSize = HMACSHA256.size

    private let encryption: HMACSHA256
    private let authentication: HMACSHA256

    public init(key: [UInt8]) {
        let root = HMACSHA256(key: key)
        encryption = HMACSHA256(key: root.authenticationCode(for: "troupe.sealed.enc"))
        authentication = HMACSHA256(key: root.authenticationCode(for: "troupe.sealed.mac"))
    }

    /// `plaintext` sealed under `nonce`, which must never repeat under the same key (draw it
    /// from a CSPRNG).
    public func seal(_ plaintext: [UInt8], nonce: [UInt8]) -> [UInt8] {
        precondition(nonce.count == Self.nonceSize, "a sealed box's nonce is 16 bytes")
        let ciphertext = crypt(plaintext, nonce: nonce)
        return nonce + ciphertext + authentication.authenticationCode(for: nonce + ciphertext)
    }

    /// The plaintext, or nil when `sealed` is too short or its tag does not match (tampered
    /// with, or sealed under another key).
    public func open(_ sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count >= Self.nonceSize + Self.tagSize else { return nil }
        let nonce = Array(sealed[..<Self.nonceSize])
        let ciphertext = Array(sealed[Self.nonceSize..<(sealed.count - Self.tagSize)])
        let tag = sealed[(sealed.count - Self.tagSize)...]
        guard ConstantTime.equals(authentication.authenticationCode(for: nonce + ciphertext), tag) else { return nil }
        return crypt(ciphertext, nonce: nonce)
    }

    /// XOR with the keystream (encryption and decryption are the same).
    private func crypt(_ input: [UInt8], nonce: [UInt8]) -> [UInt8] {
        var output = input
        var counter: UInt32 = 0
        var offset = 0
        while offset < output.count {
            let block = encryption.authenticationCode(for: nonce + withUnsafeBytes(of: counter.bigEndian, Array.init))
            for (index, byte) in block.enumerated() where offset + index < output.count {
                output[offset + index] ^= byte
            }
            offset += block.count
            counter &+= 1
        }
        return output
    }
}
