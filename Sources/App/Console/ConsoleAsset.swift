import TroupeCore
import TroupeTransport

/// One file of the console, embedded in the binary: its bytes, its type and an ETag made from
/// its content, so that a browser revalidates it with `If-None-Match` and gets 304.
struct ConsoleAsset: Sendable {
    let name: String
    let contentType: String
    let bytes: [UInt8]
    let etag: String

    init(name: String, contentType: String, text: String) {
        self.name = name
        self.contentType = contentType
        bytes = Array(text.utf8)
        etag = "\"" + Hex.encode(SHA256.hash(bytes).prefix(16)) + "\""
    }

    /// The console's security headers: a strict Content-Security-Policy (no inline script or
    /// style, API calls to this origin only, no framing), no type sniffing, no referrer.
    static let securityHeaders: HTTPHeaders = [
        "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    ]

    /// The asset, or 304 when the browser's copy is current. Revalidated on every use
    /// (`no-cache`), so a new binary's console is picked up at once.
    func response(ifNoneMatch: String?) -> HTTPResponse {
        var headers = Self.securityHeaders
        headers.set("ETag", etag)
        headers.set("Cache-Control", "no-cache")
        if let ifNoneMatch, ifNoneMatch.split(separator: ",").contains(where: { $0.trimmingSpaces == etag || $0.trimmingSpaces == "*" }) {
            return HTTPResponse(status: 304, headers: headers)
        }
        headers.set("Content-Type", contentType)
        return HTTPResponse(status: 200, headers: headers, body: .bytes(bytes))
    }
}
