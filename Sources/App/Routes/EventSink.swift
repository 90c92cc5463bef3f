import TroupeActors
import TroupeTransport

/// Where an ``EventStreamer`` writes: a Server-Sent Events body or a WebSocket.
protocol EventSink: Sendable {
    /// Subscribed: the stream is open.
    func open() async throws
    /// `events`, in seq order, each once.
    func send(_ events: [Event]) async throws
    /// The bus's beat, every 15 s.
    func keepAlive() async throws
    /// How to end the streamer when the stream ends from outside (a drain, the peer closing).
    func onStop(_ stop: @escaping @Sendable () -> Void)
}

/// A `text/event-stream` body: `id: <seq>`, `event: <type>`, `data: <the event as JSON>` and a
/// blank line per event (the JSON writer never emits a line break, so the object is one `data:`
/// line); `:` comments to open and keep alive.
struct ServerSentEventSink: EventSink {
    let writer: any HTTPBodyWriter

    func open() async throws { try await writer.write(Array(": stream open\n\n".utf8)) }

    func send(_ events: [Event]) async throws {
        var bytes: [UInt8] = []
        for event in events {
            bytes.append(contentsOf: "id: \(event.seq)\nevent: \(event.type.rawValue)\ndata: ".utf8)
            bytes.append(contentsOf: event.encoded)
            bytes.append(contentsOf: "\n\n".utf8)
        }
        try await writer.write(bytes)
    }

    func keepAlive() async throws { try await writer.write(Array(": keep-alive\n\n".utf8)) }

    func onStop(_ stop: @escaping @Sendable () -> Void) { writer.onStop(stop) }
}
