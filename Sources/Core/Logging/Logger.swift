import Glibc

/// Where log lines go: one structured event at a time.
public protocol LogSink: Sendable {
    func write(_ line: [UInt8])
}

/// Structured log lines for background work (start-up recovery, services): one JSON object per
/// line with the time, the level, an event name and the event's fields. Never given a token,
/// key or password.
public struct Logger: Sendable {
    public enum Level: String, Sendable {
        case info, warning, error
    }

    private let sink: (any LogSink)?
    private let clock: any WallClock

    /// A logger writing to `sink`; nil discards every line.
    public init(sink: (any LogSink)?, clock: any WallClock = SystemClock()) {
        self.sink = sink
        self.clock = clock
    }

    /// A logger that writes nothing (tests and embedded harnesses that don't read it).
    public static let discarding = Logger(sink: nil)

    /// One line: `{"time", "level", "event", fields…}`. `fields` are only built when a sink
    /// will write them.
    public func log(_ level: Level, _ event: String, _ fields: @autoclosure () -> [(String, JSON)] = []) {
        guard let sink else { return }
        var object = JSONObject([("time", .string(clock.now.rfc3339)), ("level", .string(level.rawValue)), ("event", .string(event))])
        for (key, value) in fields() { object[key] = value }
        var line = JSON.object(object).bytes
        line.append(0x0A)
        sink.write(line)
    }
}

/// Writes each line to standard error with one `write(2)`, so lines of concurrent writers
/// never interleave.
public struct StandardErrorLogSink: LogSink {
    public init() {}

    public func write(_ line: [UInt8]) {
        line.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(2, base + offset, buffer.count - offset)
                if written < 0, errno == EINTR { continue }
                // A closed or full standard error: the line is lost, which must not stop the work.
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}

/// Keeps every line in memory, for tests that read what was logged.
public final class MemoryLogSink: LogSink {
    private let lines = LockedBox<[JSON]>([])

    public init() {}

    public func write(_ line: [UInt8]) {
        let parsed: JSON
        do {
            parsed = try JSON.parse(line.dropLast())
        } catch {
            parsed = .string(String(decoding: line, as: UTF8.self))
        }
        lines.withLock { $0.append(parsed) }
    }

    /// The lines written so far, parsed.
    public var entries: [JSON] { lines.value }
}
