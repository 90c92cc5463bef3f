/// SHA-256 (FIPS 180-4 §6.2): an incremental hasher and a one-shot ``hash(_:)``.
///
/// The compression function works on a stack buffer with no allocation, so keyed uses
/// (``HMACSHA256``, ``PBKDF2``) can run it hundreds of thousands of times per second.
public struct SHA256: Sendable {
    public static let digestSize = 32
    public static let blockSize = 64

    /// The eight working words `H0…H7`.
    struct Words: Sendable, Equatable {
        var a: UInt32 = 0x6a09_e667, b: UInt32 = 0xbb67_ae85, c: UInt32 = 0x3c6e_f372, d: UInt32 = 0xa54f_f53a
        var e: UInt32 = 0x510e_527f, f: UInt32 = 0x9b05_688c, g: UInt32 = 0x1f83_d9ab, h: UInt32 = 0x5be0_cd19

        /// The digest: the words big-endian.
        var digest: [UInt8] {
            [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
                store(into: UnsafeMutableRawBufferPointer(buffer))
                count = 32
            }
        }

        /// Writes the words big-endian into the first 32 bytes of `bytes`.
        @inline(__always)
        func store(into bytes: UnsafeMutableRawBufferPointer) {
            // Eight stores, no array: this runs twice per PBKDF2 round.
            bytes.storeBytes(of: a.bigEndian, toByteOffset: 0, as: UInt32.self)
            bytes.storeBytes(of: b.bigEndian, toByteOffset: 4, as: UInt32.self)
            bytes.storeBytes(of: c.bigEndian, toByteOffset: 8, as: UInt32.self)
            bytes.storeBytes(of: d.bigEndian, toByteOffset: 12, as: UInt32.self)
            bytes.storeBytes(of: e.bigEndian, toByteOffset: 16, as: UInt32.self)
            bytes.storeBytes(of: f.bigEndian, toByteOffset: 20, as: UInt32.self)
            bytes.storeBytes(of: g.bigEndian, toByteOffset: 24, as: UInt32.self)
            bytes.storeBytes(of: h.bigEndian, toByteOffset: 28, as: UInt32.self)
        }
    }

    private var words = Words()
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    public init() {}

    /// A hasher that has already absorbed `length` bytes (whole blocks) into `words`: how HMAC
    /// resumes from its precomputed pads.
    init(resumingFrom words: Words, absorbed length: Int) {
        self.words = words
        self.length = UInt64(length)
    }

    /// Adds `bytes` to the message.
    public mutating func update(_ bytes: some Collection<UInt8>) {
        length &+= UInt64(bytes.count)
        // With nothing pending, whole blocks are read where they are; only the rest is copied.
        if pending.isEmpty, let rest = bytes.withContiguousStorageIfAvailable({ buffer -> ArraySlice<UInt8> in
            let whole = buffer.count - buffer.count % Self.blockSize
            let raw = UnsafeRawBufferPointer(buffer)
            for offset in stride(from: 0, to: whole, by: Self.blockSize) {
                Self.compress(&words, UnsafeRawBufferPointer(rebasing: raw[offset..<offset + Self.blockSize]))
            }
            return ArraySlice(buffer[whole...])
        }) {
            pending.append(contentsOf: rest)
            return
        }
        pending.append(contentsOf: bytes)
        guard pending.count >= Self.blockSize else { return }
        let whole = pending.count - pending.count % Self.blockSize
        pending.withUnsafeBytes { raw in
            for offset in stride(from: 0, to: whole, by: Self.blockSize) {
                Self.compress(&words, UnsafeRawBufferPointer(rebasing: raw[offset..<offset + Self.blockSize]))
            }
        }
        pending.removeFirst(whole)
    }

    /// Pads the message (a 1 bit, zeros, the bit length) and returns the 32-byte digest.
    public mutating func finalize() -> [UInt8] {
        let tail = MessagePadding.padded(pending, length: length)
        tail.withUnsafeBytes { raw in
            for offset in stride(from: 0, to: tail.count, by: Self.blockSize) {
                Self.compress(&words, UnsafeRawBufferPointer(rebasing: raw[offset..<offset + Self.blockSize]))
            }
        }
        pending = []
        return words.digest
    }

    /// The digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of `text`'s UTF-8 bytes.
    public static func hash(_ text: String) -> [UInt8] { hash(Array(text.utf8)) }

    /// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the
    /// first 64 primes.
    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    /// FIPS 180-4 §6.2.2: folds one 64-byte block into `words`.
    static func compress(_ words: inout Words, _ block: UnsafeRawBufferPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for t in 0..<16 {
                let base = t * 4
                w[t] = UInt32(block[base]) << 24 | UInt32(block[base + 1]) << 16 | UInt32(block[base + 2]) << 8 | UInt32(block[base + 3])
            }
            for t in 16..<64 {
                let s0 = w[t - 15].rotatedRight(7) ^ w[t - 15].rotatedRight(18) ^ (w[t - 15] >> 3)
                let s1 = w[t - 2].rotatedRight(17) ^ w[t - 2].rotatedRight(19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, h) = (words.a, words.b, words.c, words.d, words.e, words.f, words.g, words.h)
            k.withUnsafeBufferPointer { k in
                for t in 0..<64 {
                    let sum1 = e.rotatedRight(6) ^ e.rotatedRight(11) ^ e.rotatedRight(25)
                    let choose = (e & f) ^ (~e & g)
                    let t1 = h &+ sum1 &+ choose &+ k[t] &+ w[t]
                    let sum0 = a.rotatedRight(2) ^ a.rotatedRight(13) ^ a.rotatedRight(22)
                    let majority = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = sum0 &+ majority
                    (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
                }
            }
            words.a &+= a; words.b &+= b; words.c &+= c; words.d &+= d
            words.e &+= e; words.f &+= f; words.g &+= g; words.h &+= h
        }
    }
}

extension UInt32 {
    @inline(__always) func rotatedRight(_ count: UInt32) -> UInt32 { (self >> count) | (self << (32 - count)) }
}

/// Lowercase hexadecimal.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
