/// The JSON Canonicalization Scheme of RFC 8785 (JCS): the one byte sequence of a JSON value
/// that hashes and signatures are computed over.
///
/// - Object members are sorted by their keys' UTF-16 code units (§3.2.3), recursively; arrays
///   keep their order.
/// - Strings are escaped as `JSON.stringify` does (§3.2.2.2): `"`, `\`, and U+0000–U+001F
///   (`\b \t \n \f \r`, else `\u00xx` in lowercase hex); everything else as UTF-8.
/// - Numbers are written as ECMAScript's `Number.prototype.toString` writes the IEEE 754
///   double (§3.2.2.3): the shortest digits that round-trip, in plain notation from 1e-6 up
///   to 1e21 (`1e20` → `100000000000000000000`, `0.000001`), exponential outside it (`2e-7`,
///   `1e+21`), and `-0` as `0`. Integers beyond ±2^53 are written as the double they round to,
///   as every JCS implementation must read them.
/// - NaN and infinities have no JSON form: ``encode(_:)`` throws for them.
public enum CanonicalJSON {
    /// A number JSON cannot carry (NaN or an infinity).
    public struct NonFiniteNumber: Error, Sendable, Equatable {
        public let value: Double
    }

    /// `value` in canonical form, as UTF-8.
    public static func encode(_ value: JSON) throws(NonFiniteNumber) -> [UInt8] {
        var writer = JSONWriter()
        try write(value, to: &writer)
        return writer.bytes
    }

    /// Appends `value` in canonical form.
    public static func write(_ value: JSON, to writer: inout JSONWriter) throws(NonFiniteNumber) {
        switch value {
        case .null: writer.writeNull()
        case .bool(let flag): writer.writeBool(flag)
        case .int(let number):
            if number.magnitude <= 1 << 53 { writer.writeInt(number) } else { writer.writeRaw(format(Double(number)).utf8) }
        case .double(let number):
            guard number.isFinite else { throw NonFiniteNumber(value: number) }
            writer.writeRaw(format(number).utf8)
        case .string(let text): writer.writeString(text)
        case .array(let elements):
            writer.writeRaw([UInt8(ascii: "[")])
            for (index, element) in elements.enumerated() {
                if index > 0 { writer.writeRaw([UInt8(ascii: ",")]) }
                try write(element, to: &writer)
            }
            writer.writeRaw([UInt8(ascii: "]")])
        case .object(let object):
            writer.writeRaw([UInt8(ascii: "{")])
            let members = object.members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
            for (index, member) in members.enumerated() {
                if index > 0 { writer.writeRaw([UInt8(ascii: ",")]) }
                writer.writeString(member.key)
                writer.writeRaw([UInt8(ascii: ":")])
                try write(member.value, to: &writer)
            }
            writer.writeRaw([UInt8(ascii: "}")])
        }
    }

    /// A finite double as ECMAScript's Number::toString (ECMA-262 §6.1.6.1.20) writes it.
    public static func format(_ number: Double) -> String {
        if number == 0 { return "0" }  // and -0
        let (digits, exponent) = shortestDigits(number.magnitude)
        // The value is 0.d1d2…dk × 10^exponent: `exponent` is ECMAScript's n, digits.count its k.
        let k = digits.count
        let n = exponent
        var text = number < 0 ? "-" : ""
        if k <= n && n <= 21 {
            text += digits + String(repeating: "0", count: n - k)
        } else if 0 < n && n <= 21 {
            text += digits.prefix(n) + "." + digits.dropFirst(n)
        } else if -6 < n && n <= 0 {
            text += "0." + String(repeating: "0", count: -n) + digits
        } else {
            let power = n - 1
            text += k == 1 ? digits : digits.prefix(1) + "." + digits.dropFirst()
            text += "e" + (power < 0 ? "-" : "+") + String(power.magnitude)
        }
        return text
    }

    /// The shortest decimal digits that round-trip to `magnitude` (> 0), without leading or
    /// trailing zeros, and the exponent n with magnitude = 0.digits × 10^n — read off Swift's
    /// own shortest round-trip `description` ("1e-07", "123.456", "1.7976931348623157e+308").
    static func shortestDigits(_ magnitude: Double) -> (digits: String, exponent: Int) {
        let description = magnitude.description
        let parts = description.split(separator: "e", maxSplits: 1)
        let mantissa = parts[0]
        let written = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let point = mantissa.firstIndex(of: ".")
        let integerPart = point.map { mantissa[..<$0] } ?? mantissa[...]
        let fraction = point.map { mantissa[mantissa.index(after: $0)...] } ?? ""
        var digits = Array(integerPart + fraction)
        // mantissa = integerPart.fraction = 0.(integerPart fraction) × 10^integerPart.count
        var exponent = integerPart.count + written
        while digits.first == "0" {
            digits.removeFirst()
            exponent -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        return (String(digits), exponent)
    }
}
