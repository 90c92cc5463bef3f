import Testing

@testable import TroupeCore

/// The parser against RFC 8259: what it must accept, and every rule it must refuse with.
@Suite(.timeLimit(.minutes(5)))
struct JSONParserTests {
    private func parse(_ text: String) throws(JSONError) -> JSON { try JSON.parse(text) }

    private func rejection(_ bytes: [UInt8], maxDepth: Int = 64) -> JSONError? {
        do {
            _ = try JSON.parse(bytes, maxDepth: maxDepth)
            return nil
        } catch {
            return error
        }
    }

    private func rejection(_ text: String) -> JSONError? { rejection(Array(text.utf8)) }

    // MARK: Accepted

    @Test func rfc8259Section13ObjectExample() throws {
        let text = """
            {
              "Image": {
                  "Width":  800,
                  "Height": 600,
                  "Title":  "View from 15th Floor",
                  "Thumbnail": {
                      "Url":    "http://www.example.com/image/481989943",
                      "Height": 125,
                      "Width":  100
                  },
                  "Animated" : false,
                  "IDs": [116, 943, 234, 38793]
                }
            }
            """
        let image = try #require(try parse(text)["Image"])
        #expect(image["Width"] == .int(800))
        #expect(image["Title"] == .string("View from 15th Floor"))
        #expect(image["Thumbnail"]?["Url"] == .string("http://www.example.com/image/481989943"))
        #expect(image["Animated"] == .bool(false))
        #expect(image["IDs"] == [116, 943, 234, 38793])
        #expect(image.objectValue?.keys == ["Width", "Height", "Title", "Thumbnail", "Animated", "IDs"])
    }

    @Test func rfc8259Section13ArrayExample() throws {
        let text = """
            [
              {"precision": "zip", "Latitude":  37.7668, "Longitude": -122.3959,
               "Address": "", "City": "SAN FRANCISCO", "State": "CA", "Zip": "94107", "Country": "US"},
              {"precision": "zip", "Latitude":  37.371991, "Longitude": -122.026020,
               "Address": "", "City": "SUNNYVALE", "State": "CA", "Zip": "94085", "Country": "US"}
            ]
            """
        let places = try #require(try parse(text).arrayValue)
        #expect(places.count == 2)
        #expect(places[0]["Latitude"] == .double(37.7668))
        #expect(places[1]["Longitude"] == .double(-122.026020))
        #expect(places[1]["Address"] == .string(""))
    }

    @Test func rfc8259Section13ScalarTexts() throws {
        #expect(try parse("\"Hello world!\"") == .string("Hello world!"))
        #expect(try parse("42") == .int(42))
        #expect(try parse("true") == .bool(true))
        #expect(try parse(" \t\r\nnull \n") == .null)
    }

    @Test func integersStayExactAndOthersBecomeDoubles() throws {
        #expect(try parse("9223372036854775807") == .int(.max))
        #expect(try parse("-9223372036854775808") == .int(.min))
        #expect(try parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        guard case .double(let negativeZero) = try parse("-0") else { Issue.record("-0 is a double"); return }
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
        #expect(try parse("1.5e3") == .double(1500))
        #expect(try parse("1E-2") == .double(0.01))
        #expect(try parse("0.1") == .double(0.1))
        #expect(try parse("1e-400") == .double(0))
    }

    @Test func escapesAndSurrogatePairsDecode() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(try parse(#""\u0041\u00e9\u4e2d\u0000""#) == .string("Aé中\u{0}"))
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse("\"é中😀\"") == .string("é中😀"))
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let depth64 = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try parse(depth64) }
        let objects = String(repeating: "{\"a\":", count: 63) + "[]" + String(repeating: "}", count: 63)
        #expect(throws: Never.self) { try parse(objects) }
    }

    // MARK: Refused

    @Test func deeperNestingThanTheLimitIsRefused() {
        let depth65 = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(rejection(depth65) == JSONError(.tooDeep, at: 64))
        #expect(rejection(Array("[[[1]]]".utf8), maxDepth: 2)?.code == .tooDeep)
        // A deep attack fails fast instead of exhausting the stack.
        #expect(rejection(String(repeating: "[", count: 100_000))?.code == .tooDeep)
    }

    @Test func invalidUTF8IsRefused() {
        let cases: [[UInt8]] = [
            [0x22, 0xC0, 0x80, 0x22],  // overlong NUL
            [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong '/'
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8-encoded surrogate U+D800
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // past U+10FFFF
            [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],  // invalid lead byte
            [0x22, 0x80, 0x22],  // lone continuation byte
            [0x22, 0xE4, 0xB8, 0x22],  // truncated sequence
            [0x22, 0xFF, 0x22],
        ]
        for bytes in cases {
            #expect(rejection(bytes) == JSONError(.invalidUTF8, at: 1), "bytes \(bytes)")
        }
    }

    @Test func loneSurrogateEscapesAreRefused() {
        #expect(rejection(#""\ud800""#) == JSONError(.loneSurrogate, at: 1))
        #expect(rejection(#""\udc00""#) == JSONError(.loneSurrogate, at: 1))
        #expect(rejection(#""\ud800\u0041""#) == JSONError(.loneSurrogate, at: 1))
        #expect(rejection(#""x\ud800x""#) == JSONError(.loneSurrogate, at: 2))
    }

    @Test func trailingContentIsRefused() {
        #expect(rejection("1 2") == JSONError(.trailingContent, at: 2))
        #expect(rejection("{} x") == JSONError(.trailingContent, at: 3))
        #expect(rejection("[1]]") == JSONError(.trailingContent, at: 3))
        #expect(rejection("null\0") == JSONError(.trailingContent, at: 4))
    }

    @Test func leadingZerosAreRefused() {
        #expect(rejection("01") == JSONError(.leadingZero, at: 0))
        #expect(rejection("-01") == JSONError(.leadingZero, at: 0))
        #expect(rejection("[00]") == JSONError(.leadingZero, at: 1))
    }

    @Test func malformedNumbersAreRefused() {
        #expect(rejection("1.")?.code == .unexpectedEnd)
        #expect(rejection("1.e5") == JSONError(.invalidNumber, at: 2))
        #expect(rejection("-") == JSONError(.unexpectedEnd, at: 1))
        #expect(rejection("-a") == JSONError(.invalidNumber, at: 1))
        #expect(rejection("1e") == JSONError(.unexpectedEnd, at: 2))
        #expect(rejection("1e+") == JSONError(.unexpectedEnd, at: 3))
        #expect(rejection(".5") == JSONError(.unexpectedByte, at: 0))
        #expect(rejection("+1") == JSONError(.unexpectedByte, at: 0))
        #expect(rejection("0x10") == JSONError(.trailingContent, at: 1))
        #expect(rejection("NaN") == JSONError(.unexpectedByte, at: 0))
        #expect(rejection("Infinity") == JSONError(.unexpectedByte, at: 0))
        #expect(rejection("1e400") == JSONError(.numberOutOfRange, at: 0))
        #expect(rejection("[-1e999]") == JSONError(.numberOutOfRange, at: 1))
    }

    @Test func unescapedControlCharactersInStringsAreRefused() {
        #expect(rejection("\"a\u{0}b\"") == JSONError(.controlCharacterInString, at: 2))
        #expect(rejection("\"line\nbreak\"") == JSONError(.controlCharacterInString, at: 5))
        #expect(rejection("\"tab\there\"") == JSONError(.controlCharacterInString, at: 4))
    }

    @Test func invalidEscapesAreRefused() {
        #expect(rejection(#""\x41""#) == JSONError(.invalidEscape, at: 1))
        #expect(rejection(#""\u12G4""#) == JSONError(.invalidEscape, at: 5))
        #expect(rejection(#""\'""#) == JSONError(.invalidEscape, at: 1))
        #expect(rejection(#""\u12"#)?.code == .unexpectedEnd)
    }

    @Test func invalidLiteralsAreRefused() {
        #expect(rejection("tru") == JSONError(.unexpectedEnd, at: 3))
        #expect(rejection("trUe") == JSONError(.invalidLiteral, at: 0))
        #expect(rejection("nul") == JSONError(.unexpectedEnd, at: 3))
        #expect(rejection("True") == JSONError(.unexpectedByte, at: 0))
        #expect(rejection("undefined") == JSONError(.unexpectedByte, at: 0))
    }

    @Test func structuralErrorsAreRefused() {
        #expect(rejection("") == JSONError(.empty, at: 0))
        #expect(rejection(" \n ") == JSONError(.empty, at: 0))
        #expect(rejection("[1,]") == JSONError(.unexpectedByte, at: 3))
        #expect(rejection(#"{"a":1,}"#) == JSONError(.unexpectedByte, at: 7))
        #expect(rejection(#"{"a" 1}"#) == JSONError(.unexpectedByte, at: 5))
        #expect(rejection("{'a':1}") == JSONError(.unexpectedByte, at: 1))
        #expect(rejection("{a:1}") == JSONError(.unexpectedByte, at: 1))
        #expect(rejection("[1 2]") == JSONError(.unexpectedByte, at: 3))
        #expect(rejection("[1") == JSONError(.unexpectedEnd, at: 2))
        #expect(rejection(#"{"a":"#) == JSONError(.unexpectedEnd, at: 5))
        #expect(rejection(#""open"#) == JSONError(.unexpectedEnd, at: 5))
        #expect(rejection("// comment\n1") == JSONError(.unexpectedByte, at: 0))
        #expect(rejection("\u{A0}1") == JSONError(.unexpectedByte, at: 0))  // only RFC whitespace
    }

    @Test func byteOrderMarkIsRefused() {
        // RFC 8259 §8.1: senders must not add a BOM; a strict API parser refuses one.
        #expect(rejection([0xEF, 0xBB, 0xBF, 0x31]) == JSONError(.unexpectedByte, at: 0))
    }

    @Test func duplicateKeysAreRefused() {
        #expect(rejection(#"{"a":1,"a":2}"#) == JSONError(.duplicateKey, at: 7))
        #expect(rejection(#"{"x":{"b":1,"c":2,"b":3}}"#) == JSONError(.duplicateKey, at: 18))
        // Equal after unescaping is still the same key.
        #expect(rejection(#"{"a":1,"\u0061":2}"#)?.code == .duplicateKey)
    }

    @Test func errorsSayWhereInTheirDescription() {
        let error = rejection("[1,]")
        #expect(error?.description == "invalid JSON at byte 3: unexpected byte")
    }

    @Test func parsesFromAnyByteCollection() throws {
        let bytes: ArraySlice<UInt8> = Array("xx[1,2]".utf8)[2...]
        #expect(try JSON.parse(bytes) == [1, 2])
        #expect(try JSON.parse(AnySequenceCollection(Array("{}".utf8))) == .object(JSONObject()))
    }
}

/// A collection with no contiguous storage, to exercise the parser's copying path.
private struct AnySequenceCollection: Collection {
    let base: [UInt8]
    init(_ base: [UInt8]) { self.base = base }
    var startIndex: Int { base.startIndex }
    var endIndex: Int { base.endIndex }
    subscript(position: Int) -> UInt8 { base[position] }
    func index(after i: Int) -> Int { i + 1 }
}
