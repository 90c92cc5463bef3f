import Foundation
import Testing
import TroupeTestSupport

@testable import TroupeCore

@Suite(.timeLimit(.minutes(5)))
struct CanonicalJSONTests {
    private func canonical(_ text: String) throws -> String {
        String(decoding: try CanonicalJSON.encode(try JSON.parse(Array(text.utf8))), as: UTF8.self)
    }

    /// RFC 8785 Appendix B: IEEE 754 doubles, by their bits, and their canonical text.
    @Test(arguments: [
        (0x0000_0000_0000_0000, "0"), (0x8000_0000_0000_0000, "0"), (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"), (0x7FEF_FFFF_FFFF_FFFF, "1.7976931348623157e+308"),
        (0xFFEF_FFFF_FFFF_FFFF, "-1.7976931348623157e+308"), (0x4340_0000_0000_0000, "9007199254740992"),
        (0xC340_0000_0000_0000, "-9007199254740992"), (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44B5_2D02_C7E1_4AF5, "9.999999999999997e+22"), (0x44B5_2D02_C7E1_4AF6, "1e+23"),
        (0x44B5_2D02_C7E1_4AF7, "1.0000000000000001e+23"), (0x444B_1AE4_D6E2_EF4E, "999999999999999700000"),
        (0x444B_1AE4_D6E2_EF4F, "999999999999999900000"), (0x444B_1AE4_D6E2_EF50, "1e+21"),
        (0x3EB0_C6F7_A0B5_ED8C, "9.999999999999997e-7"), (0x3EB0_C6F7_A0B5_ED8D, "0.000001"),
        (0x41B3_DE43_5555_5553, "333333333.3333332"), (0x41B3_DE43_5555_5554, "333333333.33333325"),
        (0x41B3_DE43_5555_5555, "333333333.3333333"), (0x41B3_DE43_5555_5556, "333333333.3333334"),
        (0x41B3_DE43_5555_5557, "333333333.33333343"), (0xBECB_F647_612F_3696, "-0.0000033333333333333333"),
        (0x4314_3FF3_C1CB_0959, "1424953923781206.2"),
    ] as [(UInt64, String)])
    func numbersAreWrittenAsECMAScriptDoes(bits: UInt64, expected: String) throws {
        #expect(String(decoding: try CanonicalJSON.encode(.double(Double(bitPattern: bits))), as: UTF8.self) == expected)
    }

    @Test func theIssuesExamplesAndTheEdges() throws {
        #expect(CanonicalJSON.format(1e20) == "100000000000000000000")
        #expect(CanonicalJSON.format(2e-7) == "2e-7")
        #expect(CanonicalJSON.format(0.000001) == "0.000001")
        #expect(CanonicalJSON.format(-0.0) == "0")
        #expect(CanonicalJSON.format(1.5) == "1.5")
        #expect(CanonicalJSON.format(100) == "100")
        #expect(CanonicalJSON.format(0.1) == "0.1")
        #expect(CanonicalJSON.format(1.2345678901234568e20) == "123456789012345680000")
        // Integers past 2^53 are the doubles they round to.
        #expect(try CanonicalJSON.encode(.int(Int64.max)) == Array("9223372036854776000".utf8))
        #expect(try CanonicalJSON.encode(.int(-(1 << 53))) == Array("-9007199254740992".utf8))
        #expect(throws: CanonicalJSON.NonFiniteNumber.self) { try CanonicalJSON.encode(["x": .double(.infinity)]) }
        #expect(throws: CanonicalJSON.NonFiniteNumber.self) { try CanonicalJSON.encode([.double(.nan)]) }
    }

    /// RFC 8785 §3.2.3: keys sorted by UTF-16 code units (an emoji's surrogates before U+FB33).
    @Test func keysAreSortedByUTF16CodeUnits() throws {
        let input = #"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#
        let values = try JSON.parse(Array(try canonical(input).utf8)).objectValue?.members.map { $0.value.stringValue ?? "" }
        #expect(values == ["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face",
                           "Hebrew Letter Dalet With Dagesh"])
    }

    /// RFC 8785 §3.2.2's example: escapes, numbers, nesting.
    @Test func theRFCsSampleCanonicalizesByteForByte() throws {
        let input = #"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}"#
        let expected = #"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        #expect(try canonical(input) == expected)
        #expect(try canonical(#"{"b":{"d":1,"c":[{"z":0,"a":0}]},"a":"x"}"#) == #"{"a":"x","b":{"c":[{"a":0,"z":0}],"d":1}}"#)
    }

    /// An independent implementation, Python's `rfc8785`, agrees on 2,000 random values: numbers
    /// from random bit patterns, strings with controls, quotes, non-ASCII and emoji, nested
    /// objects. Skipped without python3 and rfc8785 (CI installs it with pip, and there it must run).
    @Test(.enabled(if: Prerequisite.met(Prerequisite.python("rfc8785")), "python3 with rfc8785 (CI installs it)"))
    func agreesWithPythonsRFC8785OnRandomValues() async throws {
        var generator = SeededGenerator(seed: 8785)
        let values = (0..<2000).map { _ in randomValue(depth: 0, &generator) }
        var input: [UInt8] = []
        for value in values { input += value.bytes + [0x0A] }
        let result = await runPython("""
            import sys, json, rfc8785
            for line in sys.stdin.buffer:
                sys.stdout.write(rfc8785.dumps(json.loads(line)).hex() + "\\n")
            """, input: input)
        #expect(result.status == 0, "\(result.output.prefix(500))")
        let theirs = result.output.split(separator: "\n").map(String.init)
        #expect(theirs.count == values.count)
        for (value, hex) in zip(values, theirs) {
            let ours = Hex.encode(try CanonicalJSON.encode(value))
            #expect(ours == hex, "\(String(decoding: value.bytes, as: UTF8.self))")
        }
    }

    private func randomValue(depth: Int, _ generator: inout SeededGenerator) -> JSON {
        switch Int.random(in: 0..<(depth < 3 ? 8 : 5), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .int(Int64.random(in: -(1 << 53 - 1)...(1 << 53 - 1), using: &generator))
        case 3:
            var number = Double(bitPattern: generator.next())
            while !number.isFinite { number = Double(bitPattern: generator.next()) }
            return .double(number)
        case 4: return .string(randomString(&generator))
        case 5: return .double(Double(Int.random(in: -1_000_000...1_000_000, using: &generator)) / 1000)
        case 6: return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in randomValue(depth: depth + 1, &generator) })
        default:
            var object = JSONObject()
            for _ in 0..<Int.random(in: 0...5, using: &generator) { object[randomString(&generator)] = randomValue(depth: depth + 1, &generator) }
            return .object(object)
        }
    }

    private func randomString(_ generator: inout SeededGenerator) -> String {
        let pool: [Unicode.Scalar] = ["a", "B", "z", "0", "\"", "\\", "/", "\u{0}", "\u{1f}", "\n", "\t", "\u{7f}", "\u{80}", "é", "€",
                                      "\u{2028}", "\u{fb33}", "😀", "🇫", "\u{ffff}"]
        var text = ""
        for _ in 0..<Int.random(in: 0...6, using: &generator) { text.unicodeScalars.append(pool[Int.random(in: 0..<pool.count, using: &generator)]) }
        return text
    }
}
