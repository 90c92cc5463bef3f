import TroupeCore

/// Starts services in the order given and stops them in the reverse order, each stop awaited
/// before the next: what a later service depends on is still there while it stops. A service
/// whose `run()` throws (it should not: see ``Service``) is reported and started again after a
/// back-off, so one bug never silently ends background work.
public final class ServiceSupervisor: Sendable {
    private let services: [any Service]
    private let failures: BackgroundFailures
    private let running = LockedBox<[Task<Void, Never>]>([])

    public init(_ services: [any Service], failures: BackgroundFailures) {
        self.services = services
        self.failures = failures
    }

    /// Starts every service (each in its own task, off the caller's).
    public func start() {
        let tasks = services.map { service in
            Task.detached { [failures] in
                var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(30))
                while !Task.isCancelled {
                    do {
                        try await service.run()
                        if Task.isCancelled { return }
                        backoff.succeeded()
                    } catch {
                        if Task.isCancelled { return }
                        failures.record(service.name, error)
                    }
                    do { try await Task.sleep(for: backoff.failed()) } catch { return }
                }
            }
        }
        running.withLock { $0 = tasks }
    }

    /// Stops the services, last started first; returns when all have returned.
    public func stop() async {
        let tasks = running.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in tasks.reversed() {
            task.cancel()
            await task.value
        }
    }
}
