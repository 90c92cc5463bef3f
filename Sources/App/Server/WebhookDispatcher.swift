import Foundation
import TroupeActors
import TroupeCore
import TroupeSystem
import TroupeTransport

/// Sends the outbox (API.md, "Events and webhooks"): each pending delivery due now is POSTed
/// with the event's JSON and `Troupe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
/// "<t>.<body>")>`, at most 4 at a time per webhook, within 10 s, redirects not followed. A
/// non-2xx answer or an error is retried with exponential back-off and jitter for 24 h; every
/// attempt is recorded. The address is checked after resolution at every attempt: one that is
/// loopback, private, link-local, unique-local, multicast or unspecified (``AddressGuard``)
/// fails the delivery with `blocked_address`, unretried, unless `webhook_private_networks`.
///
/// The outbox is the event log (``WebhookQueue``): what a crash or a restart left owed goes out
/// when due; the 24 h count from the event's commit.
/// `http` goes through ``HTTPClient`` to the checked address itself (IPv4 or IPv6, the first
/// the resolver gives); `https` through ``HTTPSWebhookSender`` (`URLSession`, the system trust
/// store) and ``EgressProxy``, which tunnels to that same address.
struct WebhookDispatcher: Service {
    let name = "webhook_dispatch"
    let webhooks: WebhookStore
    let events: EventLog
    let secrets: SealedBox
    let allowPrivateNetworks: Bool
    let failures: BackgroundFailures
    let clock: any WallClock

    static let perWebhook = 4
    static let timeout: Duration = .seconds(10)
    static let retryWindow: Duration = .seconds(24 * 3600)
    static let idlePoll: Duration = .milliseconds(200)

    private let client = HTTPClient(configuration: {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = WebhookDispatcher.timeout
        configuration.maxBodyBytes = 64 * 1024
        return configuration
    }())
    private let tls = HTTPSWebhookSender()
    /// Deliveries being attempted, and how many per webhook.
    private let inFlight = LockedBox<(ids: Set<String>, perWebhook: [String: Int])>(([], [:]))

    /// The shortest time between two passes over the outbox when only commits rang the bell:
    /// a flood of events rings it thousands of times a second, and while every webhook's queue
    /// is full a pass finds nothing to do. A finished attempt's ring is answered at once.
    static let minimumPass: Duration = .milliseconds(10)
    /// Set by a finished attempt before it rings.
    private let attemptFinished = LockedBox(false)

    /// Each pass queues what the webhooks have room for (``WebhookQueue``) and starts every due
    /// delivery whose webhook has fewer than 4 under way; then it waits for the bell (a finished
    /// attempt, or a commit with events for a workspace with webhooks) or ``idlePoll``.
    func run() async throws {
        defer { tls.close() }
        if case .failure(let error) = EgressProxy.shared { failures.record("webhook_egress_proxy", error) }
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(30))
        let bell = webhooks.committedEvents
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let started = ContinuousClock.now
                do {
                    try await webhooks.queue.fill(at: clock.now)
                    let due = try await webhooks.due(at: clock.now, limit: 64, busy: busyWebhooks(), inFlight: inFlight.withLock { $0.ids })
                    for delivery in due where take(delivery) {
                        group.addTask { await attempt(delivery, ringing: bell) }
                    }
                    backoff.succeeded()
                } catch {
                    failures.record(name, error)
                    do { try await Task.sleep(for: backoff.failed()) } catch { return }
                    continue
                }
                await bell.wait(atMost: Self.idlePoll)
                let rest = Self.minimumPass - (ContinuousClock.now - started)
                let finished = attemptFinished.withLock { flag in defer { flag = false }; return flag }
                if !finished, rest > .zero { do { try await Task.sleep(for: rest) } catch { return } }
            }
        }
    }

    /// Webhooks with all their attempts under way.
    private func busyWebhooks() -> Set<String> {
        inFlight.withLock { state in Set(state.perWebhook.filter { $0.value >= Self.perWebhook }.keys) }
    }

    /// Claims `due` for an attempt unless it is under way or its webhook has 4 already.
    private func take(_ due: WebhookStore.Due) -> Bool {
        inFlight.withLock { state in
            guard !state.ids.contains(due.delivery.id), state.perWebhook[due.delivery.webhookID, default: 0] < Self.perWebhook else { return false }
            state.ids.insert(due.delivery.id)
            state.perWebhook[due.delivery.webhookID, default: 0] += 1
            return true
        }
    }

    private func release(_ due: WebhookStore.Due) {
        inFlight.withLock { state in
            state.ids.remove(due.delivery.id)
            state.perWebhook[due.delivery.webhookID, default: 1] -= 1
            if state.perWebhook[due.delivery.webhookID] == 0 { state.perWebhook[due.delivery.webhookID] = nil }
        }
    }

    /// One attempt, recorded; a failure to record is reported and the attempt made again later.
    private func attempt(_ due: WebhookStore.Due, ringing bell: Doorbell) async {
        defer {
            release(due)
            attemptFinished.withLock { $0 = true }
            bell.ring()
        }
        let started = ContinuousClock.now
        let at = clock.now
        let outcome = await send(due)
        let duration = ContinuousClock.now - started
        var attempts = due.delivery.attempts.arrayValue ?? []
        attempts.append(["at": .string(at.rfc3339), "status_code": outcome.statusCode.map { .int(Int64($0)) } ?? .null,
                         "error": outcome.error.map(JSON.string) ?? .null, "duration_ms": .int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)])
        let status: WebhookDelivery.Status
        var next: Timestamp?
        if outcome.succeeded {
            status = .succeeded
        } else if outcome.final || at - due.delivery.createdAt >= Self.retryWindow {
            status = .failed
        } else {
            status = .pending
            next = at + Self.backoff(after: attempts.count)
        }
        do {
            try await webhooks.record(due.delivery, attempts: .array(attempts), status: status, next: next)
        } catch {
            failures.record(name, error)
        }
    }

    /// 1 s, 2 s, 4 s … up to an hour, each between half and one and a half of that.
    static func backoff(after attempts: Int) -> Duration {
        let base = min(3600.0, pow(2.0, Double(max(0, attempts - 1))))
        return .milliseconds(Int64(base * Double.random(in: 0.5...1.5) * 1000))
    }

    /// The classes an attempt's `error` may be (API.md); never a library's own text, which
    /// could tell a workspace about the server's network.
    enum DeliveryError: String {
        case timeout
        case connectFailed = "connect_failed"
        case tlsError = "tls_error"
        case blockedAddress = "blocked_address"
        case badStatus = "bad_status"
    }

    private struct Outcome {
        var statusCode: Int?
        var error: String?
        /// No later attempt can do better (a blocked address, a deleted webhook).
        var final = false
        var succeeded: Bool { statusCode.map { (200..<300).contains($0) } ?? false }
    }

    private func send(_ due: WebhookStore.Due) async -> Outcome {
        let connectFailed = DeliveryError.connectFailed.rawValue
        if due.webhookDeleted { return Outcome(error: connectFailed, final: true) }
        guard let target = WebhookTarget(due.url) else { return Outcome(error: connectFailed, final: true) }
        let body: [UInt8]
        do {
            guard let event = try await events.events(workspaceID: due.workspaceID, after: due.delivery.eventSeq - 1, limit: 1).first,
                event.seq == due.delivery.eventSeq
            else {
                failures.record(name, WebhookFault.eventUnreadable(due.delivery.eventSeq))
                return Outcome(error: connectFailed, final: true)
            }
            body = event.encoded
        } catch {
            failures.record(name, error)
            return Outcome(error: connectFailed)
        }
        let addresses = await Self.offPool { AddressGuard.resolve(target.host) }
        guard let addresses, !addresses.isEmpty else { return Outcome(error: connectFailed) }
        if !allowPrivateNetworks, addresses.contains(where: AddressGuard.isBlocked) {
            return Outcome(error: DeliveryError.blockedAddress.rawValue, final: true)
        }
        guard let secret = secrets.open(due.sealedSecret) else {
            failures.record(name, WebhookFault.secretUnreadable(due.delivery.webhookID))
            return Outcome(error: connectFailed, final: true)
        }
        let stamp = String(clock.now.secondsSinceEpoch)
        let signature = Hex.encode(HMACSHA256(key: secret).authenticationCode(for: Array((stamp + ".").utf8) + body))
        let headers = [("Content-Type", "application/json"), ("User-Agent", "troupe-webhooks"), ("Troupe-Signature", "t=\(stamp),v1=\(signature)")]
        if target.secure {
            let answer = await tls.post(target.url, host: target.host, port: target.port, pinned: addresses[0], strict: !allowPrivateNetworks,
                                        headers: headers, body: body)
            return Outcome(statusCode: answer.statusCode,
                           error: answer.error ?? answer.statusCode.flatMap { (200..<300).contains($0) ? nil : DeliveryError.badStatus.rawValue })
        }
        do {
            let response = try await client.send(HTTPClientRequest(method: "POST", host: addresses[0].description, port: target.port, target: target.path,
                                                                   headers: HTTPHeaders([("Host", target.hostHeader)] + headers + [("Connection", "close")]),
                                                                   body: body))
            return Outcome(statusCode: response.status, error: (200..<300).contains(response.status) ? nil : DeliveryError.badStatus.rawValue)
        } catch SocketWaitError.timedOut {
            return Outcome(error: DeliveryError.timeout.rawValue)
        } catch {
            return Outcome(error: connectFailed)
        }
    }

    /// What went wrong on the server's side of a delivery (logged and counted, never shown).
    private enum WebhookFault: Error {
        case eventUnreadable(Int64)
        case secretUnreadable(String)
    }

    /// The resolver's answer, from a global dispatch queue: `getaddrinfo` may block for seconds.
    private static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: body()) }
        }
    }
}
