import Foundation
import TroupeCore
import TroupeTransport

/// `troupe-bench peer-server`: the endpoints of `../shared/bench/peer-hummingbird`, served by
/// TroupeTransport with TroupeCore JSON, so `compare.sh` compares the transports in one run.
///
///     GET  /healthz        200 {"status":"ok"}
///     GET  /v1/runs/{id}   200 run JSON | 401 | 404   (Authorization: Bearer test-token)
///     POST /v1/runs        201 run JSON | 400 | 401   ({"workflow", "ticket"?, "env"?})
struct PeerServer {
    let port: Int
    let host: String

    init(arguments: Arguments) {
        port = arguments.int("port", default: 8080)
        host = arguments.string("host") ?? "127.0.0.1"
    }

    func run() async throws {
        let store = PeerRunStore(seed: 1000)
        var router = Router()
        let healthBody = Array(#"{"status":"ok"}"#.utf8)
        router.get("/healthz") { _, _ in .json(200, healthBody) }
        router.get("/v1/runs/{id}") { request, parameters in
            guard request.headers["Authorization"] == "Bearer test-token" else { return unauthorized(request) }
            guard let id = parameters["id"], let run = await store.get(id) else {
                return .error(404, code: "not_found", message: "run not found", requestID: RequestID.resolve(request.headers))
            }
            return .json(200, run.json())
        }
        router.post("/v1/runs") { request, _ in
            guard request.headers["Authorization"] == "Bearer test-token" else { return unauthorized(request) }
            guard let body = try? JSON.parse(request.body), let workflow = body["workflow"]?.stringValue, !workflow.isEmpty else {
                return .error(400, code: "invalid_request", message: "request body is not a valid run request",
                              requestID: RequestID.resolve(request.headers))
            }
            let run = await store.create(workflow: workflow, ticket: body["ticket"]?.stringValue, env: body["env"]?.stringValue)
            return .json(201, run.json())
        }
        let server = try HTTPServer(configuration: .init(host: host, port: port), responder: router)
        FileHandle.standardOutput.write(Data("troupe-bench peer-server listening on http://\(host):\(server.port)\n".utf8))
        await server.start().value
    }
}

private func unauthorized(_ request: HTTPRequest) -> HTTPResponse {
    .error(401, code: "unauthorized", message: "missing or invalid bearer token", requestID: RequestID.resolve(request.headers))
}

/// The peer's run, with the same fields.
struct PeerRun: Sendable {
    var id, tenantID, workflow, status, ticket, env: String
    var costUSD: Double
    var createdAt, updatedAt: String

    static let steps: [(String, String, Int64)] = [
        ("fetch-ticket", "succeeded", 412), ("plan", "succeeded", 1830), ("implement", "succeeded", 52011),
        ("test", "running", 0), ("deploy-preview", "pending", 0),
    ]

    func json() -> [UInt8] {
        var writer = JSONWriter(capacity: 512)
        func field(_ name: String, _ value: String, first: Bool = false) {
            writer.writeRaw(Array((first ? "{" : ",").utf8))
            writer.writeString(name)
            writer.writeRaw([0x3A])
            writer.writeString(value)
        }
        field("id", id, first: true)
        field("tenant_id", tenantID)
        field("workflow", workflow)
        field("status", status)
        field("ticket", ticket)
        field("env", env)
        writer.writeRaw(Array(#","cost_usd":"#.utf8))
        writer.writeDouble(costUSD)
        writer.writeRaw(Array(#","steps":["#.utf8))
        for (index, step) in Self.steps.enumerated() {
            writer.writeRaw(Array((index == 0 ? #"{"name":"# : #",{"name":"#).utf8))
            writer.writeString(step.0)
            writer.writeRaw(Array(#","status":"#.utf8))
            writer.writeString(step.1)
            writer.writeRaw(Array(#","duration_ms":"#.utf8))
            writer.writeInt(step.2)
            writer.writeRaw([0x7D])
        }
        writer.writeRaw([0x5D])
        field("created_at", createdAt)
        field("updated_at", updatedAt)
        writer.writeRaw([0x7D])
        return writer.bytes
    }
}

/// The peer's in-memory store, an actor as in the Hummingbird peer.
///
/// POST scenarios grow the store past a million runs. Kept in one dictionary (as the
/// Hummingbird peer does), every resize copies the whole table while all requests wait: a
/// p99 of 92–408 ms in the repeats where a resize fell (the Hummingbird peer shows 23–110 ms
/// the same way); 64 hashed shards still resized together (p99 23 ms). The peer's ids are
/// sequential (`run_N`), so runs live in chunks of 4,096 that are appended and never copied.
actor PeerRunStore {
    private static let chunkSize = 4096
    private var chunks: [[PeerRun]] = []
    private var count = 0

    init(seed: Int) {
        let now = String(SystemClock().now.rfc3339.prefix(19)) + "Z"
        for index in 0..<seed {
            Self.append(PeerRun(
                id: "run_\(index)", tenantID: "tenant_\(index % 10)", workflow: "ship-from-ticket", status: "running",
                ticket: "JIRA-\(index)", env: "preview", costUSD: 0.42, createdAt: now, updatedAt: now),
                to: &chunks, count: &count)
        }
    }

    func get(_ id: String) -> PeerRun? {
        guard id.hasPrefix("run_"), let number = Int(id.dropFirst(4)), number >= 0, number < count,
            "run_\(number)" == id
        else { return nil }
        return chunks[number / Self.chunkSize][number % Self.chunkSize]
    }

    func create(workflow: String, ticket: String?, env: String?) -> PeerRun {
        let now = String(SystemClock().now.rfc3339.prefix(19)) + "Z"
        let run = PeerRun(id: "run_\(count)", tenantID: "tenant_0", workflow: workflow, status: "queued", ticket: ticket ?? "",
                          env: env ?? "preview", costUSD: 0, createdAt: now, updatedAt: now)
        Self.append(run, to: &chunks, count: &count)
        return run
    }

    private static func append(_ run: PeerRun, to chunks: inout [[PeerRun]], count: inout Int) {
        if count % chunkSize == 0 {
            chunks.append([])
            chunks[chunks.count - 1].reserveCapacity(chunkSize)
        }
        chunks[chunks.count - 1].append(run)
        count += 1
    }
}
