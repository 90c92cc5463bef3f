import Testing
@testable import TroupeActors
@testable import TroupePersistence

@testable import TroupeApp

/// Errors reach HTTP through one protocol: each answer knows its status and whether the
/// request may be retried as it is; anything else is a fault (a 500 that leaks nothing).
@Suite(.timeLimit(.minutes(5)))
struct APIErrorConvertibleTests {
    private func answer(_ error: any Error) -> APIError? {
        (error as? any APIErrorConvertible)?.apiError
    }

    @Test func eachAnswerKnowsItsStatusAndRetryability() {
        let cases: [(any Error, Int, Bool)] = [
            (ActorRuntimeError(.notFound, kind: "run", id: "run_1", message: "gone"), 404, false),
            (ActorRuntimeError(.overloaded, kind: "tenant", id: "ws_1", message: "busy", retryAfter: .seconds(3)), 503, true),
            (ActorRuntimeError(.quarantined, kind: "tenant", id: "ws_1", message: "resting"), 503, true),
            (ActorRuntimeError(.corruptSnapshot, kind: "run", id: "run_1", message: "bad"), 500, false),
            (SQLiteError(kind: .overloaded, code: 0, message: "queue full"), 503, true),
            (JobStoreError(code: .notFound, message: "no"), 404, false),
            (JobStoreError(code: .conflict, message: "lease"), 409, false),
            (WorkflowStoreError(code: .slugTaken, message: "taken"), 409, false),
            (RunCapReached(cap: 2), 429, true),
            (RunRefusal(refusal: .init(code: .forbidden, message: "approvers")), 403, false),
        ]
        for (error, status, retryable) in cases {
            let answer = answer(error)
            #expect(answer?.code.status == status, "\(error)")
            #expect(answer?.isRetryable == retryable, "\(error)")
        }
        #expect(answer(ActorRuntimeError(.overloaded, kind: "t", id: "w", message: "", retryAfter: .seconds(3)))?.retryAfterSeconds == 3)
    }

    @Test func aDatabaseFaultOrAnyOtherErrorIsNotAnAnswer() {
        struct Unexpected: Error {}
        #expect(answer(SQLiteError(kind: .full, code: 13, message: "database or disk is full")) == nil)
        #expect(answer(Unexpected()) == nil)
    }
}
