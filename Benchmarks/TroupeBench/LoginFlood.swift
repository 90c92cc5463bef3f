import Foundation
import TroupeCore
import TroupeTransport

/// Wrong-password logins from `clients` concurrent clients, each for a new unknown email (so the
/// per-email throttle never short-cuts them: every one costs the server a full hash), until
/// stopped. Counts the answers by status. A client that is `patient` waits out a 503's
/// `Retry-After` before its next login, as API.md asks; an impatient one retries at once,
/// which makes the flood a flood of requests as much as of hashes.
final class LoginFlood: Sendable {
    private let port: Int
    private let clients: Int
    private let patient: Bool
    private let statuses = LockedBox([Int: Int]())
    private let client = HTTPClient()

    init(port: Int, clients: Int, patient: Bool) {
        self.port = port
        self.clients = clients
        self.patient = patient
    }

    /// Runs until the task is cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            for _ in 0..<clients {
                group.addTask { [self] in
                    while !Task.isCancelled {
                        let body = #"{"email":"flood-\#(RandomID.make(prefix: "f"))@example.com","password":"not the password"}"#
                        let request = HTTPClientRequest(method: "POST", port: port, target: "/v1/auth/login",
                                                        headers: ["Content-Type": "application/json"], body: Array(body.utf8))
                        var status = 0
                        var retryAfter: Int?
                        do {
                            let response = try await client.send(request)
                            status = response.status
                            retryAfter = response.headers["Retry-After"].flatMap { Int($0) }
                        } catch {
                            status = 0
                        }
                        statuses.withLock { $0[status, default: 0] += 1 }
                        if patient, let retryAfter {
                            do { try await Task.sleep(for: .seconds(retryAfter)) } catch { return }
                        }
                    }
                }
            }
        }
    }

    /// `{"401": n, "503": n, …}`: the answers so far (0: the connection failed).
    var counts: JSON {
        .object(JSONObject(statuses.value.sorted { $0.key < $1.key }.map { (String($0.key), JSON.int(Int64($0.value))) }))
    }
}
