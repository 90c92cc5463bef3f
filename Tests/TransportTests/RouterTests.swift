import Testing

@testable import TroupeTransport

/// The router without sockets: requests in, responses out.
@Suite(.timeLimit(.minutes(5)))
struct RouterTests {
    private func request(_ method: String, _ target: String, headers: HTTPHeaders = ["Host": "t"]) -> HTTPRequest {
        HTTPRequest(head: HTTPRequestHead(method: method, target: target, headers: headers))
    }

    private var router: Router {
        var router = Router()
        router.get("/v1/runs/{id}") { _, parameters in .json(200, Array((parameters["id"] ?? "").utf8)) }
        router.add("DELETE", "/v1/runs/{id}") { _, _ in HTTPResponse(status: 204) }
        router.get("/v1/runs/{id}/steps/{step}") { _, parameters in
            .json(200, Array("\(parameters["id"] ?? "")/\(parameters["step"] ?? "")".utf8))
        }
        router.post("/v1/runs") { request, _ in .json(201, request.body) }
        return router
    }

    private func body(_ response: HTTPResponse) -> String {
        if case .bytes(let bytes) = response.body { return String(decoding: bytes, as: UTF8.self) }
        return ""
    }

    @Test func parametersAreCapturedAndPercentDecoded() async {
        #expect(body(await router.respond(to: request("GET", "/v1/runs/run_1"))) == "run_1")
        #expect(body(await router.respond(to: request("GET", "/v1/runs/a%20b%2Fc"))) == "a b/c")
        #expect(body(await router.respond(to: request("GET", "/v1/runs/r1/steps/s2?x=1"))) == "r1/s2")
        #expect(body(await router.respond(to: request("GET", "/v1/runs/bad%zz"))) == "bad%zz", "invalid escapes stay as sent")
    }

    @Test func unknownPathsAre404InTheErrorShape() async {
        let response = await router.respond(to: request("GET", "/v1/nothing", headers: ["Host": "t", "X-Request-Id": "abc"]))
        #expect(response.status == 404)
        #expect(body(response) == #"{"error":{"code":"not_found","message":"No route matches GET /v1/nothing.","status":404,"request_id":"abc"}}"#)
        #expect(response.headers["X-Request-Id"] == "abc")
    }

    @Test func aKnownPathWithAnotherMethodIs405WithAllow() async {
        let response = await router.respond(to: request("PUT", "/v1/runs/r1"))
        #expect(response.status == 405)
        #expect(response.headers["Allow"] == "DELETE, GET, HEAD")
        #expect(body(response).contains(#""code":"method_not_allowed""#))
    }

    @Test func headIsServedByTheGetRoute() async {
        #expect((await router.respond(to: request("HEAD", "/v1/runs/r9"))).status == 200)
    }

    @Test func slashesAreNormalizedButSegmentCountsMustMatch() async {
        #expect((await router.respond(to: request("GET", "/v1//runs/r1/"))).status == 200)
        #expect((await router.respond(to: request("GET", "/v1/runs"))).status == 405, "POST /v1/runs exists")
        #expect((await router.respond(to: request("GET", "/v1/runs/r1/steps"))).status == 404)
    }

    @Test func invalidRequestIDsAreReplacedWithNewOnes() {
        #expect(RequestID.resolve(["X-Request-Id": String(repeating: "a", count: 129)]).hasPrefix("req_"))
        #expect(RequestID.resolve(["X-Request-Id": "tab\there"]).hasPrefix("req_"))
        #expect(RequestID.resolve(["X-Request-Id": "ok-1"]) == "ok-1")
        #expect(RequestID.resolve(nil).count == 24)
    }
}

/// Response heads byte for byte.
@Suite(.timeLimit(.minutes(5)))
struct ResponseSerializerTests {
    @Test func headCarriesStatusDateLengthAndHeadersButNotTheResponderFramingHeaders() {
        var bytes: [UInt8] = []
        ResponseSerializer.appendHead(
            status: 201, headers: ["Content-Type": "application/json", "Content-Length": "999", "X-A": "1"],
            framing: .length(12), close: false, into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines[0] == "HTTP/1.1 201 Created")
        #expect(lines[1].hasPrefix("Date: ") && lines[1].hasSuffix(" GMT"))
        #expect(Array(lines[2...]) == ["Content-Length: 12", "Content-Type: application/json", "X-A: 1", "", ""])
    }

    @Test func closeAndChunkedFraming() {
        var bytes: [UInt8] = []
        ResponseSerializer.appendHead(status: 200, headers: [:], framing: .chunked, close: true, into: &bytes)
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        #expect(Array(lines[2...]) == ["Transfer-Encoding: chunked", "Connection: close", "", ""])
    }

    @Test func unknownStatusesStillGetAStatusLine() {
        #expect(String(decoding: ResponseSerializer.statusLine(299), as: UTF8.self) == "HTTP/1.1 299 Status\r\n")
    }

    /// RFC 9110 §5.6.7's example date.
    @Test func imfFixdateMatchesTheRFCExample() {
        #expect(DateCache.imfFixdate(secondsSinceEpoch: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(DateCache.imfFixdate(secondsSinceEpoch: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(DateCache.imfFixdate(secondsSinceEpoch: 1_709_251_199) == "Thu, 29 Feb 2024 23:59:59 GMT")
    }
}
