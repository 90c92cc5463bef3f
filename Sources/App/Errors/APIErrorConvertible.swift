import TroupeActors
import TroupePersistence

/// An error that knows how it reaches a client: its ``APIError`` — the status and code of
/// API.md's table, and for a 429 or 503 when to retry. The one way errors reach HTTP: the
/// ``RouteGate`` answers a conforming error with its `apiError`, and anything else with a 500
/// whose message leaks nothing (the error itself goes to the request's log line).
protocol APIErrorConvertible: Error {
    /// The answer, or nil when this instance is a fault rather than an answer (then a 500).
    var apiError: APIError? { get }
}

extension APIError: APIErrorConvertible {
    var apiError: APIError? { self }

    /// Whether the same request may succeed later as it is (429, 503): it says when.
    var isRetryable: Bool { retryAfterSeconds != nil }
}

extension ActorRuntimeError: APIErrorConvertible {
    var apiError: APIError? {
        switch code {
        case .notFound:
            return APIError(.notFound, "\(kind.capitalized) \(id) was not found.")
        case .corruptSnapshot:
            // Set aside and logged with its id; the client learns no more than that.
            return APIError(.internalError, "The stored state of \(kind) \(id) cannot be read; it was set aside for an operator.")
        case .overloaded, .quarantined:
            var apiError = APIError(.overloaded, "The workspace is busy; retry shortly.")
            apiError.retryAfterSeconds = max(1, (retryAfter ?? .seconds(1)).components.seconds)
            return apiError
        }
    }
}

extension AuditLog.VerificationRunning: APIErrorConvertible {
    var apiError: APIError? {
        var error = APIError(.rateLimited, "This workspace's audit chain is being verified now; one verification at a time.")
        error.retryAfterSeconds = 1
        return error
    }
}

extension SQLiteError: APIErrorConvertible {
    /// A full queue (the writer's or a reader's) is an answer: nothing was done, retry. Any
    /// other database error is a fault.
    var apiError: APIError? {
        guard kind == .overloaded else { return nil }
        var overloaded = APIError(.overloaded, "The server is busy; retry shortly.")
        overloaded.retryAfterSeconds = 1
        return overloaded
    }
}

extension ScheduleCapReached: APIErrorConvertible {
    var apiError: APIError? {
        APIError(.rateLimited, "This workspace has \(cap) schedules, its plan's cap; delete one or change the plan.")
    }
}

extension ScheduleRefusal: APIErrorConvertible {
    var apiError: APIError? { APIError(.conflict, message) }
}

extension JobStoreError: APIErrorConvertible {
    var apiError: APIError? { APIError(code == .notFound ? .notFound : .conflict, message) }
}

extension JobFinishConflict: APIErrorConvertible {
    var apiError: APIError? { APIError(.conflict, message) }
}

extension WorkflowStoreError: APIErrorConvertible {
    var apiError: APIError? {
        switch code {
        case .notFound: APIError(.notFound, message)
        case .slugTaken: APIError(.conflict, message)
        }
    }
}

extension RunCapReached: APIErrorConvertible {
    var apiError: APIError? {
        var error = APIError(.rateLimited, "This workspace has \(cap) active runs, its plan's cap; wait for one to finish.")
        error.retryAfterSeconds = 5
        return error
    }
}

extension RunRefusal: APIErrorConvertible {
    var apiError: APIError? {
        switch refusal.code {
        case .conflict: APIError(.conflict, refusal.message)
        case .forbidden: APIError(.forbidden, refusal.message)
        case .invalid: APIError.validation([APIError.FieldError(field: "from_step_id", message: refusal.message)])
        }
    }
}

extension AccountRefusal: APIErrorConvertible {
    var apiError: APIError? {
        switch code {
        case .forbidden: APIError(.forbidden, message)
        case .notFound: APIError(.notFound, message)
        case .conflict: APIError(.conflict, message)
        case .limitReached: APIError(.rateLimited, message)
        }
    }
}

extension SandboxRefusal: APIErrorConvertible {
    var apiError: APIError? {
        switch self {
        case .busy(let id): return APIError(.conflict, "Sandbox \(id) is busy: one exec at a time; retry when it ends.")
        case .notReady(let id, let status): return APIError(.conflict, "Sandbox \(id) is \(status.rawValue), not ready.")
        case .capReached(let cap):
            var error = APIError(.rateLimited, "This workspace has \(cap) live sandboxes, its plan's cap; delete one first.")
            error.retryAfterSeconds = 5
            return error
        case .execDisabled: return APIError(.forbidden, "Sandbox exec is off on this server (the operator's sandbox_exec setting).")
        case .isolationUnavailable(let missing):
            return APIError(.forbidden, "Sandbox commands cannot be isolated on this server: \(missing). The operator may give the server what is "
                + "missing, or accept weaker isolation with \"sandbox_isolation\": \"minimal\".")
        case .noSlotLeft:
            var error = APIError(.overloaded, "Every sandbox uid of this server is in use; retry shortly.")
            error.retryAfterSeconds = 5
            return error
        case .outputBudgetSpent:
            var error = APIError(.overloaded, "The server holds as much command output as it may for execs under way; retry shortly.")
            error.retryAfterSeconds = 1
            return error
        }
    }
}
