import TroupeCore

/// The jobs' part of the document that completion and failure share: `claim_next` and the
/// answer that carries `next_job`.
extension OpenAPIDocument {
    static var claimNext: JSON {
        object([("queues", ["type": "array", "items": string, "minItems": 1, "maxItems": 20]),
                ("worker_id", ["type": "string", "description": "default: the finished job's worker"]),
                ("wait_ms", ["type": "integer", "minimum": 0, "maximum": 30_000, "default": 0]),
                ("lease_ms", ["type": "integer", "minimum": 1000, "maximum": 600_000, "default": 30_000])],
               required: ["queues"])
    }

    /// The job, and `next_job` when the request had `claim_next`.
    static var finishedJob: JSON {
        ["allOf": [ref("Job"), object([("next_job", ["oneOf": [ref("Job"), ["type": "null"]]])])]]
    }
}
