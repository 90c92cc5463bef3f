/// The padding SHA-1 and SHA-2 share (FIPS 180-4 §5.1.1): a 1 bit, zeros, and the message's
/// length in bits as a big-endian 64-bit number, to a whole number of 64-byte blocks.
enum MessagePadding {
    /// `pending` (the message's last, partial block) padded for a message of `length` bytes.
    static func padded(_ pending: [UInt8], length: UInt64) -> [UInt8] {
        let bitLength = length &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        return tail
    }
}
