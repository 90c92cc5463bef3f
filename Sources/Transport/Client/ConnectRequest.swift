/// A proxy's `CONNECT` request head (RFC 9110 §9.3.6): `CONNECT host:port HTTP/1.1`, and the
/// `Proxy-Authorization` field. Anything else is nil.
struct ConnectRequest: Equatable {
    /// The host as written (an IPv6 literal without its brackets).
    let host: String
    let port: Int
    /// The `Proxy-Authorization` field's value, empty when absent.
    let authorization: String

    init?(parsing head: [UInt8]) {
        let lines = String(decoding: head, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: true)
        guard let requestLine = lines.first else { return nil }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "CONNECT", parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0",
              let colon = parts[1].lastIndex(of: ":") else { return nil }
        var host = parts[1][..<colon]
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { return nil }
            host = host.dropFirst().dropLast()
        }
        let portText = parts[1][parts[1].index(after: colon)...]
        guard !host.isEmpty, !host.contains(where: { $0 == "[" || $0 == "]" || $0 == "/" || $0 == "@" }),
              portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText), (1...65_535).contains(port) else { return nil }
        self.host = String(host)
        self.port = port
        var authorization = ""
        for line in lines.dropFirst() {
            guard let separator = line.firstIndex(of: ":") else { return nil }
            if line[..<separator].lowercased() == "proxy-authorization" {
                authorization = line[line.index(after: separator)...].trimmingASCIISpaces()
            }
        }
        self.authorization = authorization
    }
}

private extension Substring {
    func trimmingASCIISpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
