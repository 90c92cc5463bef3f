/// An instant in UTC, as microseconds since the Unix epoch.
///
/// Microseconds, not nanoseconds: 64 bits of them reach ±292,000 years, so every date a user can
/// write in RFC 3339 (years 0001–9999) fits, while timers stay finer than the API's milliseconds.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    public init(millisecondsSinceEpoch: Int64) {
        microsecondsSinceEpoch = millisecondsSinceEpoch.saturatingMultiplied(by: 1000)
    }

    public var millisecondsSinceEpoch: Int64 { microsecondsSinceEpoch.floorDivided(by: 1000) }

    /// Whole seconds since the epoch (JWT's NumericDate), rounded down.
    public var secondsSinceEpoch: Int64 { microsecondsSinceEpoch.floorDivided(by: 1_000_000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// Saturates at the ends of the range: a time read from a damaged row never traps.
    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: lhs.microsecondsSinceEpoch.saturatingAdding(rhs.nanoseconds / 1000))
    }

    /// Saturates like ``+(_:_:)``.
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration {
        .microseconds(lhs.microsecondsSinceEpoch.saturatingSubtracting(rhs.microsecondsSinceEpoch))
    }

    /// RFC 3339 in UTC with milliseconds, the API's time format: `2026-05-19T09:00:00.000Z`.
    public var rfc3339: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendRFC3339(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends ``rfc3339`` as UTF-8 to `bytes`, digit by digit, without making a `String` (the
    /// request log writes one per request).
    public func appendRFC3339(to bytes: inout [UInt8]) {
        let millis = millisecondsSinceEpoch
        let days = millis.floorDivided(by: 86_400_000)
        let msOfDay = millis - days * 86_400_000
        let (year, month, day) = Self.civilDate(daysSinceEpoch: days)
        guard (0...9999).contains(year) else { return bytes.append(contentsOf: paddedRFC3339.utf8) }
        func digits(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                bytes.append(0x30 + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(year, 4)
        bytes.append(UInt8(ascii: "-"))
        digits(month, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(day, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(msOfDay / 3_600_000, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(msOfDay / 60_000 % 60, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(msOfDay / 1000 % 60, 2)
        bytes.append(UInt8(ascii: "."))
        digits(msOfDay % 1000, 3)
        bytes.append(UInt8(ascii: "Z"))
    }

    /// The same fields for a year outside 0000–9999, which RFC 3339 cannot write; each field
    /// zero-padded to its width, the year keeping its sign.
    private var paddedRFC3339: String {
        let millis = millisecondsSinceEpoch
        let days = millis.floorDivided(by: 86_400_000)
        let msOfDay = millis - days * 86_400_000
        let (year, month, day) = Self.civilDate(daysSinceEpoch: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(msOfDay / 3_600_000, 2)):"
            + "\(pad(msOfDay / 60_000 % 60, 2)):\(pad(msOfDay / 1000 % 60, 2)).\(pad(msOfDay % 1000, 3))Z"
    }

    public var description: String { rfc3339 }

    /// Proleptic Gregorian date of a day count (Howard Hinnant's `civil_from_days`).
    public static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = z.floorDivided(by: 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Duration {
    /// The duration in whole nanoseconds (truncated; saturating far outside ±292 years).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, for dates before the epoch.
    public func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
