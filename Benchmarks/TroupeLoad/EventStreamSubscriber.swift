import TroupeCore
import TroupeSystem
import TroupeTransport

/// One subscriber of a workspace's event stream (`GET /v1/events/stream`), held open for the
/// run: each event's delay from its `created_at` (set in the transaction that committed it) to
/// its arrival here is recorded as the latency of `SSE /v1/events/stream`, status 200. The
/// server and this tool must share a clock (the same machine) for the delays to mean anything.
struct EventStreamSubscriber: Sendable {
    static let route = "SSE /v1/events/stream"

    let workspace: LoadWorkspace
    let number: Int

    /// Opens the stream; the recorder gets its status when it is not 200 (nil then).
    func open(host: String, port: Int, loop: EventLoop, recorder: LoadRecorder) async -> HTTPClientStream? {
        let key = workspace.keys[number % workspace.keys.count]
        let request = HTTPClientRequest(method: "GET", host: host, port: port, target: "/v1/events/stream",
                                        headers: ["Authorization": "Bearer \(key)", "Accept": "text/event-stream"])
        let recordKey = LoadRecorder.Key(workspaceClass: workspace.workspaceClass.name, route: Self.route)
        do {
            let stream = try await HTTPClientStream.open(request, loop: loop)
            guard stream.status == 200 else {
                recorder.record(recordKey, status: stream.status, latency: nil)
                stream.close()
                return nil
            }
            return stream
        } catch {
            recorder.record(recordKey, status: 0, latency: nil)
            return nil
        }
    }

    /// Reads events until the run's end, then hangs up.
    func read(_ stream: HTTPClientStream, until end: RunEnd, recorder: LoadRecorder) async {
        let key = LoadRecorder.Key(workspaceClass: workspace.workspaceClass.name, route: Self.route)
        let clock = SystemClock()
        var pending: [UInt8] = []
        defer { stream.close() }
        while true {
            let piece: [UInt8]?
            do {
                // In slices of a second: the run's end is known only once every subscriber is in.
                piece = try await stream.next(deadline: min(end.instant ?? .now + .seconds(1), .now + .seconds(1)))
            } catch SocketWaitError.timedOut {
                if let instant = end.instant, instant <= .now { return }
                continue
            } catch {
                recorder.record(key, status: 0, latency: nil)  // the server hung up
                return
            }
            guard let piece else { return }
            pending += piece
            while let event = Self.takeEvent(&pending) {
                guard let data = event.first(where: { $0.hasPrefix("data: ") })?.dropFirst(6),
                      let json = try? JSON.parse(Array(data.utf8)), let stamp = json["created_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
                else { continue }  // a comment, or an event without a time
                recorder.record(key, status: 200, latency: clock.now - stamp)
            }
        }
    }

    /// The lines of the first whole event (up to a blank line) in `pending`, removed from it.
    static func takeEvent(_ pending: inout [UInt8]) -> [String]? {
        guard pending.count >= 2 else { return nil }
        for index in 0..<(pending.count - 1) where pending[index] == 0x0A && pending[index + 1] == 0x0A {
            let lines = pending[..<index].split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            pending.removeFirst(index + 2)
            return lines
        }
        return nil
    }
}
