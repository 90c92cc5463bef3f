/// Routes requests by method and path: literal segments and `{name}` parameters
/// (`/v1/runs/{id}`). An unknown path is 404, a known path with another method 405 with
/// `Allow`; both in API.md's error shape.
public struct Router: HTTPResponder {
    public typealias Handler = @Sendable (HTTPRequest, RouteParameters) async -> HTTPResponse

    private enum Segment: Sendable {
        case literal(Substring)
        case parameter(String)
    }

    private struct Route: Sendable {
        let method: String
        let segments: [Segment]
        let handler: Handler

        /// Whether `parts` fit this route's literal segments, compared byte by byte (a path's
        /// octets, RFC 3986 §6.2.1: no Unicode comparison).
        func fits(_ parts: [Substring]) -> Bool {
            for (segment, part) in zip(segments, parts) {
                if case .literal(let literal) = segment, !literal.utf8.elementsEqual(part.utf8) { return false }
            }
            return true
        }

        /// The parameters of `parts`, which fit this route, decoded.
        func parameters(_ parts: [Substring]) -> RouteParameters {
            var parameters = RouteParameters()
            for (segment, part) in zip(segments, parts) {
                if case .parameter(let name) = segment { parameters.values.append((name, part.removingPercentEncodingOrSelf)) }
            }
            return parameters
        }
    }

    /// Routes by their number of path segments, so a lookup looks only at routes that can match.
    private var routesBySegmentCount: [Int: [Route]] = [:]

    public init() {}

    /// Adds a route; `pattern` is a path whose `{name}` segments match any one segment.
    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        let segments = Self.split(pattern[...]).map { part -> Segment in
            if part.hasPrefix("{"), part.hasSuffix("}") { return .parameter(String(part.dropFirst().dropLast())) }
            return .literal(part)
        }
        routesBySegmentCount[segments.count, default: []].append(Route(method: method, segments: segments, handler: handler))
    }

    /// Every route as it was added: its method and pattern (`/v1/runs/{id}`), for checks of the
    /// route table against the audit table and the API's document.
    public var routes: [(method: String, pattern: String)] {
        routesBySegmentCount.values.flatMap { $0 }.map { route in
            (route.method, "/" + route.segments.map { segment -> String in
                switch segment {
                case .literal(let text): String(text)
                case .parameter(let name): "{\(name)}"
                }
            }.joined(separator: "/"))
        }
    }

    public mutating func get(_ pattern: String, _ handler: @escaping Handler) { add("GET", pattern, handler) }
    public mutating func post(_ pattern: String, _ handler: @escaping Handler) { add("POST", pattern, handler) }

    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        let parts = Self.split(request.path)
        var allowed: [String] = []
        for route in routesBySegmentCount[parts.count] ?? [] where route.fits(parts) {
            if route.method == request.method || (request.method == "HEAD" && route.method == "GET") {
                return await route.handler(request, route.parameters(parts))
            }
            allowed.append(route.method)
        }
        let requestID = RequestID.resolve(request.headers)
        if allowed.isEmpty {
            return .error(404, code: "not_found", message: "No route matches \(request.method) \(request.path).", requestID: requestID)
        }
        let allow = Array(Set(allowed + (allowed.contains("GET") ? ["HEAD"] : []))).sorted().joined(separator: ", ")
        return .error(405, code: "method_not_allowed", message: "\(request.method) is not allowed here; use \(allow).",
                      requestID: requestID, headers: ["Allow": allow])
    }

    /// Path segments without empty ones from a leading or doubled slash.
    private static func split(_ path: Substring) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }
}

/// The values a route's `{name}` segments matched, percent-decoded.
public struct RouteParameters: Sendable {
    var values: [(String, String)] = []

    public subscript(name: String) -> String? { values.first { $0.0 == name }?.1 }
}

extension Substring {
    /// `%XX` decoded as UTF-8; the text as is when it is not valid percent-encoding.
    var removingPercentEncodingOrSelf: String {
        // A byte search: `contains("%")` would go through Foundation's string search per parameter.
        guard utf8.contains(UInt8(ascii: "%")) else { return String(self) }
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(Self.hex), let low = iterator.next().flatMap(Self.hex) else {
                return String(self)
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self) ?? String(self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - 0x30
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - 0x57
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - 0x37
        default: nil
        }
    }
}
