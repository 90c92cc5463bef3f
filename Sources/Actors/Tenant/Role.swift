/// A member's role in a workspace, from most to least powerful (API.md). Lives with the
/// actors because the run engine checks approval steps' `approvers` against it.
public enum Role: String, Sendable, CaseIterable, Comparable {
    case owner
    case admin
    case member
    case viewer

    private var rank: Int {
        switch self {
        case .owner: 3
        case .admin: 2
        case .member: 1
        case .viewer: 0
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}
