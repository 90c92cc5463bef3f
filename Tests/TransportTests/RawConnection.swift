import Foundation
import Glibc
import TroupeTestSupport

/// A blocking TCP connection for tests that speak raw bytes, with a receive timeout so that a
/// test never hangs: reads give up after `timeout`.
///
/// Blocking reads run on threads of their own (``BlockingCall``), never on Swift's cooperative
/// pool (two threads here), which the servers under test and other tests need.
///
/// `@unchecked Sendable`: each instance belongs to one test, which awaits every call before
/// making the next, so its buffer is never touched by two threads at once.
final class RawConnection: @unchecked Sendable {

    let fd: Int32
    private var buffered: [UInt8] = []

    init(port: Int, timeout: Duration = .seconds(5)) throws {
        fd = try LoopbackSocket.connect(port: port, timeout: timeout)
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    /// Reads more bytes; false at end of stream, error, or timeout.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffered.append(contentsOf: chunk[0..<count])
        return true
    }

    /// The next response (head and Content-Length or chunked body; only the head when
    /// `bodiless`, as for HEAD), or nil if the connection ended or timed out first.
    func readResponse(bodiless: Bool = false) async -> TestResponse? {
        await offPool { self.readResponseBlocking(bodiless: bodiless) }
    }

    /// Whether the server has closed the connection (end of stream within the timeout).
    func isClosedByPeer() async -> Bool {
        await offPool {
            var byte: UInt8 = 0
            return recv(self.fd, &byte, 1, 0) == 0
        }
    }

    /// Reads one byte of a response that has started.
    func readByte() async -> Bool {
        await offPool {
            var byte: UInt8 = 0
            return recv(self.fd, &byte, 1, 0) == 1
        }
    }

    /// Every byte until the server closes the connection (or the timeout).
    func readToEnd() async -> [UInt8] {
        await offPool {
            while self.fill() {}
            defer { self.buffered = [] }
            return self.buffered
        }
    }

    private func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await BlockingCall.run(body)
    }

    private func readResponseBlocking(bodiless: Bool) -> TestResponse? {
        while true {
            if let response = TestResponse.parse(&buffered, bodiless: bodiless) { return response }
            guard fill() else { return nil }
        }
    }

}

/// A parsed response, as far as tests need.
struct TestResponse: Sendable {
    let status: Int
    let headers: [(String, String)]
    let body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// Takes one complete response off the front of `buffer`, if it is all there.
    static func parse(_ buffer: inout [UInt8], bodiless: Bool = false) -> TestResponse? {
        let bytes = buffer
        guard let headEnd = bytes.indices.first(where: { i in
            i + 3 < bytes.count && bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10
        }) else { return nil }
        let lines = String(decoding: bytes[..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        let headers = lines.dropFirst().map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
        }
        var index = headEnd + 4
        var body: [UInt8] = []
        if status == 100 || bodiless {
            buffer.removeFirst(index)
            return TestResponse(status: status, headers: headers, body: [])
        }
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" }) {
            while true {
                guard let lineEnd = bytes[index...].firstIndex(of: 10) else { return nil }
                let size = Int(String(decoding: bytes[index..<(lineEnd - 1)], as: UTF8.self), radix: 16) ?? 0
                index = lineEnd + 1
                guard bytes.count >= index + size + 2 else { return nil }
                body.append(contentsOf: bytes[index..<(index + size)])
                index += size + 2
                if size == 0 { break }
            }
        } else {
            let length = Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
            guard bytes.count >= index + length else { return nil }
            body = Array(bytes[index..<(index + length)])
            index += length
        }
        buffer.removeFirst(index)
        return TestResponse(status: status, headers: headers, body: body)
    }
}
