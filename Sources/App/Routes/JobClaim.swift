import TroupeCore

/// What a claim asks for, `{queues, worker_id, wait_ms?, lease_ms?}`: the body of
/// `POST /v1/jobs/claim`, and the `claim_next` of a completion or failure (where `worker_id`
/// may be left out: the finished job's worker claims). Checked where it is parsed; every problem is a 422
/// naming its field.
struct JobClaim: Sendable {
    static let fields: Set<String> = ["queues", "worker_id", "wait_ms", "lease_ms"]
    static let defaultLeaseMilliseconds: Int64 = 30_000
    static let maxLeaseMilliseconds: Int64 = 600_000
    static let maxWaitMilliseconds: Int64 = 30_000

    let queues: [String]
    /// nil: the finished job's worker (`claim_next` only).
    let workerID: String?
    let waitMilliseconds: Int64
    let leaseMilliseconds: Int64

    /// The claim in `object` (`worker_id` required when `requiringWorker`), whose fields are
    /// named `prefix` + name in problems (`claim_next.`);
    /// nil when a problem was found (added to `problems`). 400 for a field of the wrong type
    /// or one a claim does not take.
    static func parse(_ object: JSONObject, prefix: String = "", requiringWorker: Bool,
                      problems: inout [APIError.FieldError]) throws(APIError) -> JobClaim? {
        if let unknown = object.keys.first(where: { !fields.contains($0) }) {
            throw APIError(.invalidRequest, "Unknown field \"\(prefix)\(unknown)\"; a claim takes \(fields.sorted().joined(separator: ", ")).")
        }
        let before = problems.count
        var queues: [String] = []
        if let given = object["queues"], !given.isNull {
            guard let values = given.arrayValue else { throw APIError(.invalidRequest, "\(prefix)queues must be an array of strings.") }
            for (index, value) in values.enumerated() {
                guard let queue = value.stringValue else { throw APIError(.invalidRequest, "\(prefix)queues[\(index)] must be a string.") }
                if !queues.contains(queue) { queues.append(queue) }
            }
            if queues.isEmpty || queues.count > 20 { problems.append(.init(field: "\(prefix)queues", message: "queues must name 1 to 20 queues.")) }
        } else {
            problems.append(.init(field: "\(prefix)queues", message: "queues is required."))
        }
        var workerID: String?
        if let given = object["worker_id"], !given.isNull {
            guard let text = given.stringValue else { throw APIError(.invalidRequest, "\(prefix)worker_id must be a string.") }
            if text.count > 255 { problems.append(.init(field: "\(prefix)worker_id", message: "worker_id must be at most 255 characters.")) }
            workerID = text
        }
        if requiringWorker, workerID == nil { problems.append(.init(field: "\(prefix)worker_id", message: "worker_id is required.")) }
        let wait = try object["wait_ms"].map { value throws(APIError) in
            try JSONBody.integer(value, field: "\(prefix)wait_ms", in: 0...maxWaitMilliseconds, problems: &problems)
        } ?? 0
        let lease = try object["lease_ms"].map { value throws(APIError) in
            try JSONBody.integer(value, field: "\(prefix)lease_ms", in: 1000...maxLeaseMilliseconds, problems: &problems)
        } ?? defaultLeaseMilliseconds
        guard problems.count == before, let wait, let lease else { return nil }
        return JobClaim(queues: queues, workerID: workerID, waitMilliseconds: wait, leaseMilliseconds: lease)
    }
}
