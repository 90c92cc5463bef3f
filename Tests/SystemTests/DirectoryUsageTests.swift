import Foundation
import Glibc
import Testing
import TroupeSystem

/// The walk that measures a sandbox's directory: what a command can make there (links out,
/// names that are not UTF-8, unreadable or very deep directories, floods of entries) is
/// counted, never followed, and never makes the walk unbounded.
@Suite(.timeLimit(.minutes(2)))
struct DirectoryUsageTests {
    private func write(_ path: String, bytes: Int) throws {
        try Data(repeating: 0x61, count: bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func filesInNestedDirectoriesAreCountedAndALinkOutIsNotFollowed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        try FileManager.default.createDirectory(atPath: directory + "/a/b", withIntermediateDirectories: true)
        try write(directory + "/one", bytes: 1 << 20)
        try write(directory + "/a/b/two", bytes: 2 << 20)
        try FileManager.default.createSymbolicLink(atPath: directory + "/usr", withDestinationPath: "/usr")
        let usage = try #require(DirectoryUsage.measure(directory, entryLimit: 1_000))
        #expect(usage.entries == 5)
        #expect(usage.bytes >= 3 << 20 && usage.bytes < 4 << 20, "\(usage.bytes) bytes: /usr was not walked")
        #expect(!usage.stoppedAtLimit)
    }

    @Test func aNameThatIsNotUTF8IsStillCounted() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let name = Array(directory.utf8) + [0x2F, 0xFF, 0xFE, 0x41, 0]
        let fd = name.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { characters -> Int32 in
                guard let path = characters.baseAddress else { return -1 }
                return open(path, O_WRONLY | O_CREAT, 0o600)
            }
        }
        #expect(fd >= 0)
        let block = [UInt8](repeating: 0x61, count: 1 << 20)
        #expect(block.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == 1 << 20)
        close(fd)
        let usage = try #require(DirectoryUsage.measure(directory, entryLimit: 1_000))
        #expect(usage.entries == 1)
        #expect(usage.bytes >= 1 << 20)
    }

    @Test func anUnreadableDirectoryIsOpenedAndMeasured() throws {
        let directory = try temporaryDirectory()
        defer {
            chmod(directory + "/locked", 0o700)
            try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent)
        }
        try FileManager.default.createDirectory(atPath: directory + "/locked", withIntermediateDirectories: true)
        try write(directory + "/locked/hidden", bytes: 1 << 20)
        #expect(chmod(directory + "/locked", 0) == 0)
        let usage = try #require(DirectoryUsage.measure(directory, entryLimit: 1_000))
        #expect(usage.entries == 2)
        #expect(usage.bytes >= 1 << 20)
    }

    @Test func theWalkStopsAtItsEntryLimitAndItsDepth() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        for index in 0..<300 { #expect(FileManager.default.createFile(atPath: "\(directory)/f\(index)", contents: nil)) }
        let stopped = try #require(DirectoryUsage.measure(directory, entryLimit: 100))
        #expect(stopped.stoppedAtLimit)
        #expect(stopped.entries == 100)

        let deep = directory + "/deep"
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        let fd = open(deep, O_RDONLY | O_DIRECTORY)
        var current = fd
        for _ in 0..<200 {
            #expect(mkdirat(current, "d", 0o700) == 0)
            let next = openat(current, "d", O_RDONLY | O_DIRECTORY)
            if current != fd { close(current) }
            current = next
        }
        close(current)
        close(fd)
        let bounded = try #require(DirectoryUsage.measure(directory + "/deep", entryLimit: 10_000))
        #expect(bounded.entries == DirectoryUsage.maxDepth, "one entry per level it went down, then one for the level it did not enter")
        #expect(!bounded.stoppedAtLimit)
    }

    @Test func anAbsentDirectoryIsNil() {
        #expect(DirectoryUsage.measure("/nonexistent-\(UUID().uuidString)", entryLimit: 10) == nil)
    }
}
