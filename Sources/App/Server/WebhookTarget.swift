/// Where a webhook URL points: scheme, host, port and the request target.
struct WebhookTarget: Equatable {
    let secure: Bool
    let host: String
    let port: Int
    let path: String

    /// The host as a URL and a `Host` header write it: an IPv6 literal in brackets.
    var authorityHost: String { host.contains(":") ? "[\(host)]" : host }

    /// The `Host` header: the port only when it is not the scheme's.
    var hostHeader: String { (secure ? port == 443 : port == 80) ? authorityHost : "\(authorityHost):\(port)" }

    /// The URL a request goes to, without userinfo or fragment.
    var url: String { (secure ? "https://" : "http://") + hostHeader + path }

    init?(_ url: String) {
        let lower = url.lowercased()
        if lower.hasPrefix("https://") { secure = true } else if lower.hasPrefix("http://") { secure = false } else { return nil }
        let rest = url.dropFirst(secure ? 8 : 7)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var target = String(rest.dropFirst(authority.count).prefix { $0 != "#" })
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        let hostPart: Substring
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { return nil }
            guard let port = after.isEmpty ? (secure ? 443 : 80) : Int(after.dropFirst()), (1...65_535).contains(port) else { return nil }
            self.port = port
        } else {
            let parts = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            hostPart = parts[0]
            guard let port = parts.count == 1 ? (secure ? 443 : 80) : Int(parts[1]), (1...65_535).contains(port) else { return nil }
            self.port = port
        }
        guard !hostPart.isEmpty, !hostPart.contains("@") else { return nil }
        host = String(hostPart)
        path = target
    }
}
