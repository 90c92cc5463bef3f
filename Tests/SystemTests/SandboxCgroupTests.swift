import Foundation
import Glibc
import Testing
@testable import TroupeSystem
import TroupeTestSupport

/// Control groups for sandboxes: what `/proc` says is parsed from bytes; where this machine
/// lets the process make groups (root with a writable cgroupfs), real commands are bounded.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct SandboxCgroupTests {
    static let cgroups = try? SandboxCgroups.probe(tag: "tests").get()

    @Test func mountinfoLinesNameTheHierarchies() {
        let v1 = CgroupMount.parse("35 25 0:30 / /sys/fs/cgroup/memory rw,relatime shared:14 - cgroup cgroup rw,memory")
        #expect(v1 == CgroupMount(mountPoint: "/sys/fs/cgroup/memory", root: "/", isUnified: false, controllers: ["rw", "memory"]))
        let v2 = CgroupMount.parse("29 23 0:26 /user.slice /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate")
        #expect(v2?.isUnified == true)
        #expect(v2?.directory(of: "/user.slice/user-1000.slice/app") == "/sys/fs/cgroup/user-1000.slice/app")
        #expect(v2?.directory(of: "/user.slice") == "/sys/fs/cgroup")
        let escaped = CgroupMount.parse("30 23 0:27 / /mnt/my\\040groups rw - cgroup2 none rw")
        #expect(escaped?.mountPoint == "/mnt/my groups")
        #expect(CgroupMount.parse("24 1 8:1 / / rw - ext4 /dev/sda1 rw") == nil)
        #expect(CgroupMount.parse("garbage") == nil)
    }

    @Test func procSelfCgroupNamesTheProcesssGroups() {
        let membership = "12:pids:/svc\n4:cpu,cpuacct:/other\n3:memory:/svc/worker\n0::/unified/path\n"
        #expect(CgroupFiles.ownPath(membership, controller: "memory") == "/svc/worker")
        #expect(CgroupFiles.ownPath(membership, controller: "pids") == "/svc")
        #expect(CgroupFiles.ownPath(membership, controller: "cpuacct") == "/other")
        #expect(CgroupFiles.ownPath(membership, controller: nil) == "/unified/path")
        #expect(CgroupFiles.ownPath("3:memory:/a\n", controller: "pids") == nil)
    }

    /// Removes `group` off the cooperative pool (the kernel may take a moment to let its
    /// processes go, and the pool's two threads are every test's); whether it went.
    private func removed(_ group: SandboxCgroup) async -> Bool {
        await BlockingCall.run { () -> Bool in
            do {
                try group.remove()
                return true
            } catch {
                return false
            }
        }
    }

    private func run(_ script: String, in group: SandboxCgroup, memoryMB: Int, processes: Int = 66) async throws -> CommandOutcome {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        try group.create(memoryBytes: memoryMB << 20, processes: processes)
        let request = CommandRequest(argv: ["sh", "-c", script], directory: directory,
                                     limits: ProcessLimits(), cgroup: group)
        let command = try await RunningCommand.start(request, on: EventLoop.shared)
        return await command.outcome(stdin: [], outputCap: 1 << 16, timeout: .seconds(30))
    }

    /// Four processes of 60 MiB each: every one fits in the group's 96 MiB alone, but together
    /// they pass it, and the kernel kills within the group.
    @Test(.enabled(if: Self.cgroups != nil)) func processesThatEachFitButTogetherDoNotAreKilledTogether() async throws {
        let cgroups = try #require(Self.cgroups)
        let group = cgroups.group(named: "memory-\(UUID().uuidString)")
        let hold = "python3 -c 'import time; held = b\"x\" * (60 << 20); time.sleep(4)'"
        // The shell may be taken too once the holders are gone (everything here is first in
        // line for the OOM killer): the group's own count says what the kernel did.
        let outcome = try await run("for i in 1 2 3 4; do \(hold) & done; wait", in: group, memoryMB: 96)
        #expect(outcome.duration < .seconds(30))
        #expect(group.outOfMemoryKills >= 2, "the kernel killed within the group: \(String(decoding: outcome.stderr, as: UTF8.self))")
        #expect(group.peakMemoryBytes.map { $0 <= 96 << 20 } ?? true)
        let fresh = cgroups.group(named: "memory-\(UUID().uuidString)")
        let alone = try await run(hold, in: fresh, memoryMB: 96)
        #expect(alone.exitCode == 0, "one holder alone fits: \(String(decoding: alone.stderr, as: UTF8.self))")
        #expect(await removed(group))
        #expect(await removed(fresh))
    }

    @Test(.enabled(if: Self.cgroups != nil)) func aForkBombStopsAtTheGroupsProcessBound() async throws {
        let cgroups = try #require(Self.cgroups)
        let group = cgroups.group(named: "pids-\(UUID().uuidString)")
        let outcome = try await run("n=0; while [ $n -lt 40 ]; do sleep 3 & n=$((n+1)); done 2>/dev/null; true", in: group,
                                    memoryMB: 256, processes: 12)
        #expect(outcome.duration < .seconds(10), "the shell met the bound at once (it cannot fork past it)")
        #expect(group.members.isEmpty, "the launcher killed the command's processes")
        let pidsMax = try String(contentsOfFile: "\(group.directories.last ?? "")/pids.max", encoding: .utf8)
        #expect(pidsMax.trimmingCharacters(in: .whitespacesAndNewlines) == "12")
        let events = (try? String(contentsOfFile: "\(group.directories.last ?? "")/pids.events", encoding: .utf8)) ?? ""
        #expect(events.contains("max") && !events.contains("max 0"), "pids.events: \(events)")
        #expect(await removed(group))
    }

    @Test(.enabled(if: Self.cgroups != nil)) func removingAGroupKillsWhatIsLeftInIt() async throws {
        let cgroups = try #require(Self.cgroups)
        let group = cgroups.group(named: "left-\(UUID().uuidString)")
        try group.create(memoryBytes: 64 << 20, processes: 8)
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sh")
        sleeper.arguments = ["-c", "echo $$ > \(group.directories[0])/cgroup.procs; echo $$ > \(group.directories.last ?? "")/cgroup.procs; exec sleep 600"]
        try sleeper.run()
        let deadline = ContinuousClock.now + .seconds(5)
        while group.members.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(group.members == [sleeper.processIdentifier])
        #expect(cgroups.groupNames().contains(group.directories[0].split(separator: "/").last.map(String.init) ?? ""))
        #expect(await removed(group))
        await BlockingCall.run { sleeper.waitUntilExit() }
        #expect(sleeper.terminationReason == .uncaughtSignal)
        for directory in group.directories { #expect(!FileManager.default.fileExists(atPath: directory)) }
    }
}
