import Foundation
import Glibc
import TroupeTestSupport

/// A Server-Sent Events client for tests over a blocking socket: sends the GET, then decodes
/// the chunked body into events and comments as they arrive. Reads give up after `timeout`.
///
/// Blocking reads run on threads of their own (``BlockingCall``), never on Swift's cooperative
/// pool (two threads here), which the server under test needs.
///
/// `@unchecked Sendable`: each instance belongs to one test, which awaits every call before
/// making the next, so its buffers are never touched by two threads at once.
final class EventStreamClient: @unchecked Sendable {
    /// One `id:`/`event:`/`data:` block.
    struct Message: Sendable, Equatable {
        let id: Int64?
        let event: String?
        let data: String
    }


    let fd: Int32
    private(set) var status = 0
    private(set) var headers: [String: String] = [:]
    /// Bytes read, not yet decoded (head or chunk framing).
    private var raw: [UInt8] = []
    /// The body decoded so far, not yet split into messages.
    private var body: [UInt8] = []
    private var headDone = false
    /// The body ended (last chunk) or the connection closed.
    private(set) var ended = false
    private(set) var comments: [String] = []

    init(port: Int, target: String, headers extra: [String: String], timeout: Duration = .seconds(10)) throws {
        fd = try LoopbackSocket.connect(port: port, timeout: timeout)
        var request = "GET \(target) HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n"
        for (name, value) in extra { request += "\(name): \(value)\r\n" }
        let bytes = Array((request + "\r\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    deinit { Glibc.close(fd) }

    /// Shrinks the socket's receive buffer, so that a client that stops reading stalls the
    /// server's writes soon.
    func shrinkReceiveBuffer() {
        var size: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads until the head is in; the status (0 if the connection ended first).
    func readHead() async -> Int {
        await offPool {
            while !self.headDone, self.fill() { self.decode() }
            return self.status
        }
    }

    /// The next message, or nil when the stream ended (or the timeout passed) first.
    func next() async -> Message? {
        await offPool {
            while true {
                if let message = self.takeMessage() { return message }
                guard !self.ended, self.fill() else { return nil }
                self.decode()
            }
        }
    }

    /// Every message until the stream ends (or the timeout).
    func rest() async -> [Message] {
        var messages: [Message] = []
        while let message = await next() { messages.append(message) }
        return messages
    }

    func hangUp() { shutdown(fd, Int32(SHUT_RDWR)) }

    private func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await BlockingCall.run(body)
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else {
            ended = true
            return false
        }
        raw.append(contentsOf: chunk[0..<count])
        return true
    }

    /// Moves what `raw` holds into the head fields or the decoded body.
    private func decode() {
        if !headDone {
            guard let end = find([13, 10, 13, 10], in: raw) else { return }
            let lines = String(decoding: raw[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
            status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            raw.removeFirst(end + 4)
            headDone = true
        }
        while let lineEnd = find([13, 10], in: raw) {
            guard let size = Int(String(decoding: raw[0..<lineEnd], as: UTF8.self), radix: 16) else { return }
            if size == 0 {
                ended = true
                return
            }
            guard raw.count >= lineEnd + 2 + size + 2 else { return }
            body.append(contentsOf: raw[(lineEnd + 2)..<(lineEnd + 2 + size)])
            raw.removeFirst(lineEnd + 2 + size + 2)
        }
    }

    /// The first whole message of `body` (comments are kept apart in ``comments``).
    private func takeMessage() -> Message? {
        while let end = find([10, 10], in: body) {
            let block = String(decoding: body[0..<end], as: UTF8.self)
            body.removeFirst(end + 2)
            var id: Int64?
            var event: String?
            var data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") { comments.append(String(line.dropFirst()).trimmingCharacters(in: .whitespaces)) }
                if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
            }
            if id != nil || event != nil || !data.isEmpty { return Message(id: id, event: event, data: data.joined(separator: "\n")) }
        }
        return nil
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return start }
        }
        return nil
    }
}
