import Testing

@testable import TroupeCore

/// The writer: RFC 8259 escaping, numbers that round-trip, order kept.
@Suite(.timeLimit(.minutes(5)))
struct JSONWriterTests {
    @Test func escapesOnlyWhatRFC8259Requires() {
        let text = JSON.string("quote\" backslash\\ slash/ é 中 😀").text
        #expect(text == #""quote\" backslash\\ slash/ é 中 😀""#)
    }

    @Test func controlCharactersUseShortFormsElseLowercaseHex() {
        let text = JSON.string("\u{8}\u{C}\n\r\t\u{0}\u{1F}\u{7F}").text
        #expect(text == "\"\\b\\f\\n\\r\\t\\u0000\\u001f\u{7F}\"")
    }

    @Test func numbersKeepTheirKindAndRoundTrip() {
        #expect(JSON.int(0).text == "0")
        #expect(JSON.int(-42).text == "-42")
        #expect(JSON.int(.max).text == "9223372036854775807")
        #expect(JSON.int(.min).text == "-9223372036854775808")
        #expect(JSON.double(0.1).text == "0.1")
        #expect(JSON.double(5).text == "5.0")
        #expect(JSON.double(1e300).text == "1e+300")
        #expect(JSON.double(-0.0).text == "-0.0")
        for value in [0.1, 1.0 / 3.0, 123_456.789, .leastNonzeroMagnitude, .greatestFiniteMagnitude] {
            #expect((try? JSON.parse(JSON.double(value).text)) == .double(value))
        }
    }

    @Test func nonFiniteDoublesBecomeNull() {
        #expect(JSON.double(.nan).text == "null")
        #expect(JSON.double(.infinity).text == "null")
    }

    @Test func objectsKeepInsertionOrderCompactly() {
        var object = JSONObject()
        object["z"] = 1
        object["a"] = [true, false, nil]
        object["m"] = ["k": "v"]
        object["z"] = 2  // replaced in place
        #expect(JSON.object(object).text == #"{"z":2,"a":[true,false,null],"m":{"k":"v"}}"#)
        object["a"] = nil
        #expect(object.keys == ["z", "m"])
    }

    @Test func objectEqualityIgnoresOrderAndNumbersCompareByValue() throws {
        #expect(try JSON.parse(#"{"a":1,"b":2}"#) == JSON.parse(#"{"b":2,"a":1}"#))
        #expect(JSON.int(3) == JSON.double(3))
        #expect(JSON.int(3) != JSON.double(3.5))
        #expect(try JSON.parse(#"{"a":1}"#) != JSON.parse(#"{"a":1,"b":2}"#))
    }

    @Test func rawFragmentsAreAppendedAsIs() {
        var writer = JSONWriter()
        writer.writeRaw(Array("{\"pre\":1}".utf8))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "{\"pre\":1}")
    }
}

/// Random documents survive write → parse → write unchanged; random bytes never trap.
@Suite(.timeLimit(.minutes(5)))
struct JSONRoundTripTests {
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomDocumentsRoundTrip(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        for _ in 0..<200 {
            let document = randomJSON(depth: 0, using: &random)
            let bytes = document.bytes
            let reparsed = try JSON.parse(bytes)
            #expect(reparsed == document)
            #expect(reparsed.bytes == bytes, "writing is deterministic")
        }
    }

    @Test func randomBytesNeverTrap() {
        var random = SeededGenerator(seed: 0xC0FFEE)
        let alphabet = Array("{}[]\",:0123456789-+.eEtrufalsn\\u \n\t\"abcXYZ".utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xA9, 0xED, 0xF0, 0xFF]
        var accepted = 0
        for _ in 0..<20_000 {
            let length = Int(random.next() % 40)
            let bytes = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            if let value = try? JSON.parse(bytes) {
                accepted += 1
                #expect((try? JSON.parse(value.bytes)) == value)
            }
        }
        #expect(accepted > 0, "the fuzz alphabet does produce some valid documents")
    }

    private func randomJSON(depth: Int, using random: inout SeededGenerator) -> JSON {
        let choice = random.next() % (depth > 4 ? 6 : 8)
        switch choice {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2: return .int(Int64(bitPattern: random.next()) >> Int64(random.next() % 64))
        case 3:
            let value = Double(bitPattern: random.next())
            return .double(value.isFinite ? value : 1.5)
        case 4, 5: return .string(randomString(using: &random))
        case 6: return .array((0..<Int(random.next() % 5)).map { _ in randomJSON(depth: depth + 1, using: &random) })
        default:
            var object = JSONObject()
            for _ in 0..<Int(random.next() % 5) {
                object[randomString(using: &random)] = randomJSON(depth: depth + 1, using: &random)
            }
            return .object(object)
        }
    }

    private func randomString(using random: inout SeededGenerator) -> String {
        let pools: [ClosedRange<UInt32>] = [0x00...0x7F, 0x00...0x1F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int(random.next() % 12) {
            let pool = pools[Int(random.next() % UInt64(pools.count))]
            let value = pool.lowerBound + UInt32(random.next() % UInt64(pool.count))
            if let scalar = Unicode.Scalar(value) { scalars.append(scalar) }
        }
        return String(scalars)
    }
}
