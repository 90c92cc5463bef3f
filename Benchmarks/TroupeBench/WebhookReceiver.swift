import TroupeCore
import TroupeTransport

/// A webhook endpoint for benchmarks, on loopback in this process: answers every request with
/// 200 after `delay`, counting them.
final class WebhookReceiver: Sendable {
    private let counter: Counter
    private let server: HTTPServer
    private let serving: Task<Void, Never>

    var port: Int { server.port }
    /// How long each answer waits; may be changed while it serves.
    var delay: LockedBox<Duration> { counter.delay }
    var received: Int { counter.count.value }

    init(delay: Duration) throws {
        counter = Counter(delay: delay)
        server = try HTTPServer(configuration: .init(port: 0), responder: counter)
        serving = server.start()
    }

    func stop() async {
        await server.shutdown(grace: .seconds(1))
        await serving.value
    }

    private final class Counter: HTTPResponder, Sendable {
        let delay: LockedBox<Duration>
        let count = LockedBox(0)

        init(delay: Duration) { self.delay = LockedBox(delay) }

        func respond(to request: HTTPRequest) async -> HTTPResponse {
            do { try await Task.sleep(for: delay.value) } catch {}  // a cancelled wait only answers sooner
            count.withLock { $0 += 1 }
            return HTTPResponse(status: 200)
        }
    }
}
