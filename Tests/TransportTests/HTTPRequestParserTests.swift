import Testing
import TroupeCore

@testable import TroupeTransport

/// The request parser fed literal bytes: every request is parsed whole, split at every byte
/// boundary and one byte at a time, and must give the same result each way.
@Suite(.timeLimit(.minutes(5)))
struct HTTPRequestParserTests {
    typealias Event = HTTPRequestParser.Event

    /// Events (adjacent body chunks merged) or the refusal, after feeding `pieces` in order.
    static func run(_ pieces: [ArraySlice<UInt8>], limits: HTTPRequestParser.Limits = .init()) -> Result<[Event], HTTPParseError> {
        var parser = HTTPRequestParser(limits: limits)
        var events: [Event] = []
        do {
            for piece in pieces {
                parser.append(piece)
                while let event = try parser.next() {
                    if case .body(let more) = event, case .body(let sofar)? = events.last {
                        events[events.count - 1] = .body(sofar + more)
                    } else {
                        events.append(event)
                    }
                }
            }
            return .success(events)
        } catch {
            return .failure(error)
        }
    }

    /// Parses `text` whole, at every split point, and byte by byte; all must agree.
    static func parse(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> Result<[Event], HTTPParseError> {
        let bytes = Array(text.utf8)
        let whole = run([bytes[...]], limits: limits)
        for split in 0...bytes.count {
            let result = run([bytes[..<split], bytes[split...]], limits: limits)
            #expect(result.description == whole.description, "split at \(split)")
        }
        let oneByOne = run(bytes.indices.map { bytes[$0...$0] }, limits: limits)
        #expect(oneByOne.description == whole.description, "byte by byte")
        return whole
    }

    static func refusal(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> HTTPParseError? {
        if case .failure(let error) = parse(text, limits: limits) { return error }
        return nil
    }

    static func head(_ text: String) -> HTTPRequestHead? {
        if case .success(let events) = parse(text), case .head(let head)? = events.first { return head }
        return nil
    }

    // MARK: Accepted

    @Test func parsesASimpleGET() throws {
        let result = try Self.parse("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").get()
        #expect(result == [.head(HTTPRequestHead(method: "GET", target: "/healthz", headers: ["Host": "localhost"])), .end])
    }

    @Test func headerNamesMatchCaseInsensitivelyAndRepeatsAreKept() throws {
        let head = try #require(Self.head("GET / HTTP/1.1\r\nHost: a\r\nX-Tag: one\r\nx-tag:two\r\nCookie:  c=1 \t\r\n\r\n"))
        #expect(head.headers["X-TAG"] == "one")
        #expect(head.headers.values(for: "x-Tag") == ["one", "two"])
        #expect(head.headers["cookie"] == "c=1", "optional whitespace around the value is trimmed (RFC 9110 §5.5)")
    }

    @Test func pathAndQuerySplitAtTheFirstQuestionMark() throws {
        let head = try #require(Self.head("GET /v1/runs?limit=5&cursor=a?b HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(head.path == "/v1/runs")
        #expect(head.query == "limit=5&cursor=a?b")
    }

    @Test func contentLengthBodyIsYielded() throws {
        let result = try Self.parse("POST /v1/runs HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n{\"a\":\"b c\"}").get()
        #expect(result.count == 3)
        #expect(result[1] == .body(Array("{\"a\":\"b c\"}".utf8)))
        #expect(result[2] == .end)
    }

    @Test func chunkedBodyIsDecodedAndTrailersIgnored_RFC9112_7_1() throws {
        let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n7;name=value\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
        let result = try Self.parse(text).get()
        #expect(result.dropFirst() == [.body(Array("hello, world".utf8)), .end])
    }

    @Test func uppercaseHexChunkSizesAreAccepted() throws {
        let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"
        #expect(try Self.parse(text).get().dropFirst() == [.body(Array("0123456789".utf8)), .end])
    }

    @Test func pipelinedRequestsComeOutInOrder() throws {
        let text = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nokGET /3 HTTP/1.1\r\nHost: a\r\n\r\n"
        let targets = try Self.parse(text).get().compactMap { event -> String? in
            if case .head(let head) = event { return head.target }
            return nil
        }
        #expect(targets == ["/1", "/2", "/3"])
    }

    @Test func keepAliveFollowsVersionAndConnectionHeader_RFC9112_9_3() {
        #expect(Self.head("GET / HTTP/1.1\r\nHost: a\r\n\r\n")?.keepAlive == true)
        #expect(Self.head("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")?.keepAlive == false)
        #expect(Self.head("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, Close\r\n\r\n")?.keepAlive == false)
        #expect(Self.head("GET / HTTP/1.0\r\n\r\n")?.keepAlive == false)
        #expect(Self.head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")?.keepAlive == true)
    }

    @Test func expect100ContinueIsReported() {
        #expect(Self.head("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")?.expectsContinue == true)
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n")?.status == 417)
    }

    @Test func emptyLinesBeforeTheRequestLineAreIgnored_RFC9112_2_2() {
        #expect(Self.head("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")?.target == "/")
    }

    @Test func absoluteFormIsReducedToPathAndQuery_RFC9112_3_2_2() {
        #expect(Self.head("GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: example.com\r\n\r\n")?.target == "/a/b?c=d")
        #expect(Self.head("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n")?.target == "/")
    }

    /// RFC 9112 §6.3 lets a recipient take identical values as one, but a proxy in front may
    /// not: API.md refuses every duplicate, equal or not, and closes.
    @Test func identicalDuplicateContentLengthsAreRefused_Smuggling() {
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok")?.status == 400)
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nok")?.status == 400)
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 2\r\nContent-Length: 2, 2\r\n\r\nok")?.status == 400)
    }

    // MARK: Refused: request smuggling (RFC 9112 §6.1, §6.3, §11.2)

    @Test func contentLengthWithTransferEncodingIsRefused_Smuggling() {
        let error = Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        #expect(error?.status == 400)
        #expect(error?.code == "invalid_request")
    }

    @Test func differingDuplicateContentLengthsAreRefused_Smuggling() {
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")?.status == 400)
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd")?.status == 400)
    }

    @Test func malformedContentLengthsAreRefused() {
        for value in ["-1", "+5", "0x5", "5a", "", "1 2", "\u{0663}"] {
            #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(value)\r\n\r\n")?.status == 400, "\(value)")
        }
    }

    @Test func aNonChunkedFinalTransferCodingIsRefused_RFC9112_6_3() {
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n")?.status == 400)
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n")?.status == 400)
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")?.status == 501)
    }

    @Test func transferEncodingOnHTTP10IsRefused_RFC9112_6_1() {
        #expect(Self.refusal("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")?.status == 400)
    }

    @Test func bareLFInTheHeadIsRefused_RFC9112_2_2() {
        #expect(Self.refusal("GET / HTTP/1.1\nHost: a\r\n\r\n")?.status == 400)
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\n\n")?.status == 400)
    }

    @Test func bareCRInTheHeadIsRefused_RFC9112_2_2() {
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\rX-Smuggled: 1\r\n\r\n")?.status == 400)
        #expect(Self.refusal("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n")?.status == 400)
    }

    @Test func obsFoldIsRefused_RFC9112_5_2() {
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n")?.status == 400)
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n\ttwo\r\n\r\n")?.status == 400)
    }

    @Test func whitespaceBeforeTheColonIsRefused_RFC9112_5_1() {
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello")?.status == 400)
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n")?.status == 400)
    }

    @Test func headerNamesOutsideTokenCharactersAreRefused_RFC9110_5_6_2() {
        for name in ["X(Y)", "X/Y", "X\"Y", "X@Y", "\u{E9}t\u{E9}", ""] {
            #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\r\n\(name): v\r\n\r\n")?.status == 400, "\(name)")
        }
    }

    @Test func controlCharactersInHeaderValuesAreRefused_RFC9110_5_5() {
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n")?.status == 400)
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7F}\r\n\r\n")?.status == 400)
    }

    @Test func invalidMethodsAndVersionsAreRefused_RFC9112_3() {
        #expect(Self.refusal("G(T / HTTP/1.1\r\nHost: a\r\n\r\n")?.status == 400)
        #expect(Self.refusal("GET  / HTTP/1.1\r\nHost: a\r\n\r\n")?.status == 400, "two spaces leave an empty target")
        #expect(Self.refusal("GET / HTTP/1.1 \r\nHost: a\r\n\r\n")?.status == 400)
        #expect(Self.refusal("GET / http/1.1\r\nHost: a\r\n\r\n")?.status == 400)
        #expect(Self.refusal("GET / HTTP/11\r\nHost: a\r\n\r\n")?.status == 400)
        #expect(Self.refusal("GET /\r\nHost: a\r\n\r\n")?.status == 400)
        #expect(Self.refusal("GET / HTTP/2.0\r\nHost: a\r\n\r\n")?.status == 505)
        #expect(Self.refusal("GET relative HTTP/1.1\r\nHost: a\r\n\r\n")?.status == 400)
        #expect(Self.refusal("GET /caf\u{E9} HTTP/1.1\r\nHost: a\r\n\r\n")?.status == 400)
    }

    @Test func http11RequiresExactlyOneHost_RFC9112_3_2() {
        #expect(Self.refusal("GET / HTTP/1.1\r\n\r\n")?.status == 400)
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")?.status == 400)
        #expect(Self.head("GET / HTTP/1.0\r\n\r\n") != nil)
    }

    // MARK: Refused: limits

    @Test func aHeadOverTheLimitIs431() {
        var limits = HTTPRequestParser.Limits()
        limits.maxHeadBytes = 200
        let big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "x", count: 300))\r\n\r\n"
        #expect(Self.refusal(big, limits: limits)?.status == 431)
        #expect(Self.refusal(big, limits: limits)?.code == "headers_too_large")
        // Refused before the end of the head arrives: a client cannot make the server buffer forever.
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "x", count: 300))", limits: limits)?.status == 431)
    }

    @Test func tooManyHeaderFieldsIs431() {
        var limits = HTTPRequestParser.Limits()
        limits.maxHeaderFields = 3
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits)?.status == 431)
    }

    @Test func aTargetOverTheLimitIs414() {
        var limits = HTTPRequestParser.Limits()
        limits.maxTargetBytes = 64
        let path = "/" + String(repeating: "a", count: 100)
        #expect(Self.refusal("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits)?.status == 414)
        #expect(Self.refusal("GET \(path)", limits: limits)?.status == 414, "refused before the line ends")
    }

    @Test func aContentLengthOverTheLimitIs413BeforeTheBodyArrives() {
        var limits = HTTPRequestParser.Limits()
        limits.maxBodyBytes = 10
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", limits: limits)?.status == 413)
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n")?.status == 413)
    }

    @Test func aChunkedBodyOverTheLimitIs413() {
        var limits = HTTPRequestParser.Limits()
        limits.maxBodyBytes = 10
        let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n"
        #expect(Self.refusal(text, limits: limits)?.status == 413)
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n")?.status == 413)
    }

    @Test func malformedChunksAreRefused() {
        let prefix = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(Self.refusal(prefix + "z\r\n")?.status == 400)
        #expect(Self.refusal(prefix + "3\r\nabcX\r\n")?.status == 400, "chunk data must end with CRLF")
        #expect(Self.refusal(prefix + "3\nabc\r\n")?.status == 400)
        #expect(Self.refusal(prefix + "3 junk\r\nabc\r\n")?.status == 400)
        #expect(Self.refusal(prefix + "0\r\n folded: trailer\r\n\r\n")?.status == 400)
    }

    @Test func aRefusalIsFinal() {
        var parser = HTTPRequestParser()
        parser.append(Array("GET / HTTP/1.1\nHost: a\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.self) { try parser.next() }
        parser.append(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.self) { try parser.next() }
    }

    @Test func randomBytesNeverTrapAndAlwaysEndInAnEventOrAnError() {
        var random = SeededGenerator(seed: 0xBADC0DE)
        let pieces = ["GET ", "POST ", "/", " HTTP/1.1", "\r\n", "\n", "\r", "Host: a", "Content-Length: ", "Transfer-Encoding: chunked",
                      "0", "5", "ffff", ":", " ", "\t", "\u{0}", "abc", "\r\n\r\n", ";ext", "Expect: 100-continue"]
        for _ in 0..<5_000 {
            var parser = HTTPRequestParser()
            let count = Int(random.next() % 24)
            let bytes = (0..<count).flatMap { _ in Array(pieces[Int(random.next() % UInt64(pieces.count))].utf8) }
            parser.append(bytes)
            var steps = 0
            while steps < 1_000, let event = try? parser.next() {
                _ = event
                steps += 1
            }
            #expect(steps < 1_000, "the parser makes progress or stops")
        }
    }
}

extension Result {
    var description: String {
        switch self {
        case .success(let value): "ok \(value)"
        case .failure(let error): "error \(error)"
        }
    }
}
