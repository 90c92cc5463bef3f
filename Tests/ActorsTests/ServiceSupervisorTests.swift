import Testing
import TroupeCore

@testable import TroupeActors

@Suite(.timeLimit(.minutes(5)))
struct ServiceSupervisorTests {
    private struct DiskFull: Error {}

    /// A service made of a closure, for the supervisor's own rules.
    private struct ScriptedService: Service {
        let name: String
        let body: @Sendable () async throws -> Void
        func run() async throws { try await body() }
    }

    private func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }

    @Test func aFailingPassIsLoggedCountedAndRetriedSoonerThanItsInterval() async throws {
        let sink = MemoryLogSink()
        let failures = BackgroundFailures(logger: Logger(sink: sink))
        let passes = LockedBox(0)
        let service = PeriodicService("flush", every: .seconds(3600), failures: failures) {
            let pass = passes.withLock { $0 += 1; return $0 }
            if pass <= 3 { throw DiskFull() }
        }
        let supervisor = ServiceSupervisor([service], failures: failures)
        supervisor.start()
        try await eventually { passes.value >= 4 }
        #expect(passes.value == 4, "three failures retried with back-off, then the hour-long interval")
        #expect(failures.byTask == ["flush": 3])
        #expect(sink.entries.filter { $0["event"] == "background.failed" && $0["task"] == "flush" }.count == 3)
        await supervisor.stop()
    }

    @Test func servicesStopInTheReverseOrderOfTheirStart() async throws {
        let failures = BackgroundFailures(logger: .discarding)
        let stopped = LockedBox<[String]>([])
        let started = LockedBox(0)
        let services = ["first", "second", "third"].map { name in
            ScriptedService(name: name) {
                started.withLock { $0 += 1 }
                while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
                stopped.withLock { $0.append(name) }
            }
        }
        let supervisor = ServiceSupervisor(services, failures: failures)
        supervisor.start()
        try await eventually { started.value == 3 }
        await supervisor.stop()
        #expect(stopped.value == ["third", "second", "first"])
        #expect(failures.byTask.isEmpty)
    }

    @Test func aServiceThatThrowsOutOfRunIsReportedAndStartedAgain() async throws {
        let failures = BackgroundFailures(logger: .discarding)
        let runs = LockedBox(0)
        let service = ScriptedService(name: "buggy") {
            let run = runs.withLock { $0 += 1; return $0 }
            if run < 3 { throw DiskFull() }
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
        }
        let supervisor = ServiceSupervisor([service], failures: failures)
        supervisor.start()
        try await eventually { runs.value >= 3 }
        #expect(failures.byTask == ["buggy": 2])
        await supervisor.stop()
    }
}
