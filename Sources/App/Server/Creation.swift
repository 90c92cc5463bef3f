import TroupeActors

/// A create route's terms for `Idempotency-Key`: who may call it (checked before any replay)
/// and whether its answer shows a secret once (then stored sealed, never in the clear).
struct Creation: Sendable {
    let access: AccessRule
    let answerHoldsSecret: Bool

    static func requiring(_ role: Role, orScope scope: Scope?, answerHoldsSecret: Bool = false) -> Creation {
        Creation(access: AccessRule(role, orScope: scope), answerHoldsSecret: answerHoldsSecret)
    }
}
