import TroupeCore
import TroupeTransport

/// The tool's own calls to the server's API, outside the measured load: provisioning before a
/// run and reading back after it. A status other than 2xx is a ``Failure`` naming the call.
struct LoadAPI: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let client: HTTPClient
    let host: String
    let port: Int

    /// One request with a JSON body (none for `nil`); the answer's JSON (null when empty).
    /// `during` names the phase in a failure (`provisioning`, `reading back`).
    func send(_ method: String, _ target: String, token: String?, body: JSON?, during phase: String) async throws -> JSON {
        var headers: HTTPHeaders = [:]
        if body != nil { headers.set("Content-Type", "application/json") }
        if let token { headers.set("Authorization", "Bearer \(token)") }
        let response = try await client.send(HTTPClientRequest(method: method, host: host, port: port, target: target, headers: headers,
                                                               body: body?.bytes ?? []))
        guard (200..<300).contains(response.status) else {
            throw Failure(description: "\(method) \(target) while \(phase): \(response.status) \(response.text)")
        }
        return response.body.isEmpty ? .null : try JSON.parse(response.body)
    }
}
