import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TroupeCore
import TroupeTransport

/// Sends `https` webhook deliveries through Foundation's `URLSession`, which on Linux is
/// libcurl over OpenSSL: the peer's certificate is checked against the system trust store
/// (on Debian, the bundle `update-ca-certificates` builds from `/usr/local/share/ca-certificates`;
/// libcurl reads no environment variable for it), and its host name against the certificate.
///
/// Redirects are answered with "do not follow", so a 3xx is the attempt's answer. The answer's
/// body is not needed: the first 64 KiB are read and the rest cancelled, so that a receiver
/// cannot make the server hold an unbounded body. The whole exchange has 10 s.
///
/// libcurl never resolves the name: `https_proxy` sends it through ``EgressProxy``, which
/// tunnels only to the address the dispatcher checked and pinned for the attempt, so a name
/// whose answer changes after the check (DNS rebinding with a zero TTL) reaches nothing else.
/// TLS still verifies the certificate against the name in the URL.
final class HTTPSWebhookSender: NSObject, URLSessionDataDelegate, Sendable {
    /// What an attempt came to: the answer's status, or the error that prevented one.
    struct Answer: Sendable {
        var statusCode: Int?
        var error: String?
    }

    static let maxBodyBytes = 64 * 1024

    /// Tasks under way, by task identifier: the caller to resume and what came so far.
    private let pending = LockedBox<[Int: Exchange]>([:])

    private struct Exchange: Sendable {
        let resume: @Sendable (Answer) -> Void
        var statusCode: Int?
        var bodyBytes = 0
        var cutShort = false
    }

    /// The session; built on first use (its delegate is this object).
    private let sessionBox = LockedBox<URLSession?>(nil)

    private var session: URLSession {
        sessionBox.withLock { box in
            if let session = box { return session }
            let configuration = URLSessionConfiguration.ephemeral
            let timeout = Double(WebhookDispatcher.timeout.components.seconds)
            configuration.timeoutIntervalForRequest = timeout
            configuration.timeoutIntervalForResource = timeout
            configuration.httpMaximumConnectionsPerHost = WebhookDispatcher.perWebhook
            configuration.httpShouldSetCookies = false
            configuration.urlCache = nil
            let session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
            box = session
            return session
        }
    }

    /// Cancels what is under way and lets the session go (it holds this object, its delegate).
    func close() {
        sessionBox.withLock { box in
            box?.invalidateAndCancel()
            box = nil
        }
        // Whatever the cancelled tasks do not complete ends here, so that no caller waits on.
        for exchange in pending.withLock({ table in defer { table.removeAll() }; return Array(table.values) }) {
            exchange.resume(Answer(statusCode: nil, error: "cancelled"))
        }
    }

    /// POSTs `body` to `url` (whose host and port are `host` and `port`) with `headers`,
    /// connecting only to `address` (checked strictly unless private networks are allowed);
    /// never throws: a failure is the answer's error.
    func post(_ url: String, host: String, port: Int, pinned address: AddressGuard.Address, strict: Bool,
              headers: [(String, String)], body: [UInt8]) async -> Answer {
        let connectFailed = WebhookDispatcher.DeliveryError.connectFailed.rawValue
        guard let target = URL(string: url), case .success(let proxy) = EgressProxy.shared else { return Answer(error: connectFailed) }
        let pin = proxy.pin(host: host, port: port, address: address, strict: strict)
        defer { pin.release() }
        var request = URLRequest(url: target)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let task = session.dataTask(with: request)
        let watchdog = Task { [self] in
            // URLSession's own timeout should end the task first; should its completion never
            // come (seen once in a test run: the delivery, and the server's stop, waited forever),
            // the attempt ends here as a timeout.
            do { try await Task.sleep(for: WebhookDispatcher.timeout + Self.completionGrace) } catch { return }
            guard let exchange = pending.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
            task.cancel()
            exchange.resume(Answer(statusCode: nil, error: "timeout"))
        }
        defer { watchdog.cancel() }
        return await withCheckedContinuation { continuation in
            pending.withLock { $0[task.taskIdentifier] = Exchange(resume: { continuation.resume(returning: $0) }) }
            task.resume()
        }
    }

    /// How long past the request's timeout a task's completion is waited for.
    static let completionGrace = Duration.seconds(5)

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let status = (response as? HTTPURLResponse)?.statusCode
        pending.withLock { $0[dataTask.taskIdentifier]?.statusCode = status }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let tooLong = pending.withLock { table -> Bool in
            guard var exchange = table[dataTask.taskIdentifier] else { return false }
            exchange.bodyBytes += min(data.count, Self.maxBodyBytes + 1)  // bounded: past the cap the task ends
            exchange.cutShort = exchange.bodyBytes > Self.maxBodyBytes
            table[dataTask.taskIdentifier] = exchange
            return exchange.cutShort
        }
        if tooLong { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let exchange = pending.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        if let error, !(exchange.cutShort && exchange.statusCode != nil) {
            exchange.resume(Answer(statusCode: nil, error: Self.describe(error)))
        } else {
            exchange.resume(Answer(statusCode: exchange.statusCode, error: exchange.statusCode == nil ? "no_response" : nil))
        }
    }

    /// An error's class as an attempt records it (API.md: `timeout`, `tls_error` or
    /// `connect_failed`, never the library's own words).
    static func describe(_ error: any Error) -> String {
        let message = (error as NSError).localizedDescription
        let code = (error as? URLError)?.code
        if code == .timedOut { return WebhookDispatcher.DeliveryError.timeout.rawValue }
        let tlsCodes: [URLError.Code] = [.secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
                                         .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot]
        // libcurl's TLS failures reach Foundation with an unknown code and OpenSSL's words.
        let tlsWords = ["SSL", "TLS", "certificate"].contains { message.localizedCaseInsensitiveContains($0) }
        if code.map(tlsCodes.contains) == true || tlsWords { return WebhookDispatcher.DeliveryError.tlsError.rawValue }
        return WebhookDispatcher.DeliveryError.connectFailed.rawValue
    }
}
