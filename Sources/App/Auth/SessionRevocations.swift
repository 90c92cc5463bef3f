import TroupeActors
import TroupeCore

/// Makes a change of membership take effect on the very next request, while session tokens are
/// still checked without a database read.
///
/// For every member whose membership changed within the last session lifetime, this keeps the
/// time of the last change and the role held since (in memory, and in `membership_changes` to
/// survive a restart). A token for that workspace and person issued before the change (its
/// `iat`) stays revoked, whatever role it names — even after the role is changed back. `iat` has
/// whole seconds: a token issued in the change's own second is accepted only if it names the
/// role held since. Older changes need no entry: every token issued before them has expired.
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

    /// Whether a session token issued at `issuedAt` (Unix seconds) naming `role` for this
    /// person and workspace is still good.
    func allows(workspaceID: String, userID: String, role: Role, issuedAt: Int64) -> Bool {
        guard let entry = entries.withLock({ $0[Key(workspaceID: workspaceID, userID: userID)] }) else { return true }
        return issuedAt >= entry.changedAt.secondsSinceEpoch && entry.role == role
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
