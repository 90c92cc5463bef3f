import TroupeActors
import TroupeCore

/// A member's role in a workspace was set (joined, changed) or cleared (removed) at a time.
struct MembershipChange: Sendable, Equatable {
    let workspaceID: String
    let userID: String
    /// The role held from then on; nil once removed.
    let role: Role?
    let changedAt: Timestamp
}

/// Makes a change of membership take effect on the very next request, while session tokens are
/// still checked without a database read.
///
/// A session token carries the role its holder had when it was issued. For every member whose
/// membership changed within the last session lifetime, this keeps the role they hold now (in
/// memory, and in `membership_changes` to survive a restart); a token for that workspace and
/// person is accepted only if it carries that role, so a removed member's tokens and a demoted
/// member's older, stronger tokens stop working at once. Older changes need no entry: every
/// token issued before them has expired, and every token issued after carries the right role.
final class SessionRevocations: Sendable {
    private struct Key: Hashable {
        let workspaceID: String
        let userID: String
    }

    private struct Entry {
        let role: Role?
        let changedAt: Timestamp
    }

    private let entries = LockedBox([Key: Entry]())
    private let lifetime: Duration
    /// Past this many entries, recording a change first drops those older than `lifetime`.
    private let pruneThreshold = 10_000

    /// Starts from the changes made within `lifetime` (read from the database at start).
    init(_ changes: [MembershipChange], lifetime: Duration) {
        self.lifetime = lifetime
        entries.withLock { entries in
            for change in changes {
                entries[Key(workspaceID: change.workspaceID, userID: change.userID)] = Entry(role: change.role, changedAt: change.changedAt)
            }
        }
    }

    /// Whether a session token naming `role` for this person and workspace is still good.
    func allows(workspaceID: String, userID: String, role: Role) -> Bool {
        guard let entry = entries.withLock({ $0[Key(workspaceID: workspaceID, userID: userID)] }) else { return true }
        return entry.role == role
    }

    /// Records a change that has committed.
    func record(_ change: MembershipChange) {
        let horizon = change.changedAt + (.zero - lifetime)
        entries.withLock { entries in
            if entries.count >= pruneThreshold { entries = entries.filter { !($0.value.changedAt < horizon) } }
            entries[Key(workspaceID: change.workspaceID, userID: change.userID)] = Entry(role: change.role, changedAt: change.changedAt)
        }
    }
}
