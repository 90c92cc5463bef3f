import Testing
import TroupeCore

/// Overload is 503 `overloaded` with `Retry-After` wherever a queue is full, and never a fault
/// of the actor that met it.
@Suite(.serialized, .timeLimit(.minutes(5))) struct OverloadTests {
    /// A writer that holds one waiting change: a flood of 64 clients meets a full queue. Each
    /// refused request is 503 with Retry-After (never a 500), each accepted one is stored, and
    /// the workspace is not quarantined: it serves at once when the flood ends.
    @Test func aFullWriterQueueIs503AndQuarantinesNothing() async throws {
        let server = try await TestServer.start(writerQueueCapacity: 1) { config in
            // A budget whose leases the tenant actor extends (a write) every 60 requests.
            config.plans[.starter]?.requestsPerMinute = 600
            config.plans[.starter]?.requestsPerDay = nil
        }
        let ada = try await server.signUp()
        let replies = try await withThrowingTaskGroup(of: [Reply].self) { group in
            for _ in 0..<64 {
                group.addTask {
                    var replies: [Reply] = []
                    for _ in 0..<4 { replies.append(try await server.send("POST", "/v1/jobs", token: ada.token, json: #"{"queue":"q","input":{}}"#)) }
                    return replies
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let refused = replies.filter { $0.status == 503 }
        #expect(Set(replies.map(\.status)).isSubset(of: [201, 503]), "\(Set(replies.map(\.status)))")
        #expect(!refused.isEmpty, "a queue of one is full under 64 clients")
        #expect(refused.allSatisfy { $0.errorCode == "overloaded" && $0.headers["Retry-After"] == "1" })
        let metrics = try await server.send("GET", "/metrics").text
        #expect(metrics.contains("troupe_actor_quarantines_total 0"), "\(metrics)")
        // The workspace serves at once. The queue of one is shared with the server's own
        // background writes (the usage flush every second), so a request that meets one is told
        // 503 and succeeds when it tries again — a quarantine would refuse every one.
        for _ in 0..<5 {
            var reply = try await server.send("POST", "/v1/jobs", token: ada.token, json: #"{"queue":"q","input":{}}"#)
            if reply.status == 503, reply.errorCode == "overloaded" {
                try await Task.sleep(for: .milliseconds(100))
                reply = try await server.send("POST", "/v1/jobs", token: ada.token, json: #"{"queue":"q","input":{}}"#)
            }
            #expect(reply.status == 201)
        }
        var stored = 0
        var cursor: String?
        repeat {
            let page = try await server.send("GET", "/v1/jobs?limit=200" + (cursor.map { "&cursor=\($0)" } ?? ""), token: ada.token)
            stored += page.json["data"]?.arrayValue?.count ?? 0
            cursor = page.json["next_cursor"]?.stringValue
        } while cursor != nil
        #expect(stored == replies.count(where: { $0.status == 201 }) + 5, "every 201 stored, nothing of a 503")
        await server.stop()
    }
}
