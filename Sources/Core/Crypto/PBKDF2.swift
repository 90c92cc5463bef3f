/// PBKDF2 with HMAC-SHA256 as its pseudorandom function (RFC 8018 §5.2).
public enum PBKDF2 {
    /// Derives `length` bytes from `password` and `salt` with `iterations` rounds (at least one).
    ///
    /// Each round is two SHA-256 compressions on a stack block (the HMAC pads are hashed once),
    /// so 600,000 rounds take a fraction of a second; run it off latency-sensitive threads.
    public static func deriveKey(
        password: some Collection<UInt8>, salt: some Collection<UInt8>, iterations: Int, length: Int = 32
    ) -> [UInt8] {
        let mac = HMACSHA256(key: password)
        var derived: [UInt8] = []
        derived.reserveCapacity(length)
        var blockIndex: UInt32 = 1
        while derived.count < length {
            // U1 = PRF(P, S || INT(i)); T = U1 ^ U2 ^ … ^ Uc.
            var u = mac.authenticationCode(for: Array(salt) + [
                UInt8(blockIndex >> 24), UInt8(truncatingIfNeeded: blockIndex >> 16),
                UInt8(truncatingIfNeeded: blockIndex >> 8), UInt8(truncatingIfNeeded: blockIndex),
            ])
            var t = u
            if iterations > 1 { iterate(mac, &u, &t, rounds: iterations - 1) }
            derived += t.prefix(length - derived.count)
            blockIndex += 1
        }
        return derived
    }

    /// Runs `rounds` more rounds: `u = HMAC(u)`, `t ^= u`. A 32-byte message after a 64-byte
    /// pad fits one block with its padding (bit length 768), built once and refilled in place.
    private static func iterate(_ mac: HMACSHA256, _ u: inout [UInt8], _ t: inout [UInt8], rounds: Int) {
        var block = [UInt8](repeating: 0, count: SHA256.blockSize)
        block[32] = 0x80
        block[62] = 0x03  // 768 = 0x0300 bits
        block.withUnsafeMutableBytes { block in
            for index in 0..<32 { block[index] = u[index] }
            for _ in 0..<rounds {
                var inner = mac.inner
                SHA256.compress(&inner, UnsafeRawBufferPointer(block))
                inner.store(into: block)
                var outer = mac.outer
                SHA256.compress(&outer, UnsafeRawBufferPointer(block))
                outer.store(into: block)
                for index in 0..<32 { t[index] ^= block[index] }
            }
            for index in 0..<32 { u[index] = block[index] }
        }
    }
}
