import TroupeCore

/// The server's side of the opening handshake (RFC 6455 §4.2): which requests are WebSocket
/// upgrades, and the `Sec-WebSocket-Accept` that proves the server read the client's key.
public enum WebSocketHandshake {
    /// §1.3's GUID, appended to the client's key before hashing.
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Why a request is not a usable upgrade (answered 400, or 426 for a version we lack).
    public struct Refusal: Error, Sendable, Equatable {
        public let status: Int
        public let message: String
    }

    /// `base64(SHA-1(key + GUID))`.
    public static func accept(key: String) -> String {
        let digest = SHA1.hash(Array((key + guid).utf8))
        // Base64 with padding (RFC 4648 §4) from base64url's alphabet (§5): two characters differ.
        var text = String(Base64URL.encode(digest).map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while text.utf8.count % 4 != 0 { text += "=" }
        return text
    }

    /// The client's key when `request` is a GET asking for a version 13 WebSocket (§4.2.1).
    public static func key(of request: HTTPRequest) throws(Refusal) -> String {
        let headers = request.headers
        guard request.method == "GET" else { throw Refusal(status: 400, message: "A WebSocket opens with GET.") }
        guard headers["Upgrade"]?.equalsIgnoringASCIICase("websocket") == true,
            headers["Connection"]?.split(separator: ",").contains(where: { String($0.filter { $0 != " " && $0 != "\t" }).equalsIgnoringASCIICase("upgrade") }) == true
        else { throw Refusal(status: 400, message: "This route is a WebSocket: send Upgrade: websocket and Connection: Upgrade.") }
        guard headers["Sec-WebSocket-Version"] == "13" else {
            throw Refusal(status: 426, message: "Only WebSocket version 13 is spoken here (Sec-WebSocket-Version: 13).")
        }
        guard let key = headers["Sec-WebSocket-Key"],
            Base64URL.decode(String(key.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 }.filter { $0 != "=" }))?.count == 16
        else { throw Refusal(status: 400, message: "Sec-WebSocket-Key must be 16 bytes in base64.") }
        return key
    }
}
