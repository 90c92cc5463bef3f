
/// Who may change whose membership (API.md): admins manage members but not owners, owners
/// manage everyone, anyone may leave, and a workspace always keeps an owner. Checked inside the
/// transaction that makes the change, against the roles as they are then.
public enum MembershipRules {
    /// May someone of role `actor` invite a person as `role`?
    public static func checkInvite(by actor: Role, as role: Role) throws(AccountRefusal) {
        try requireAdmin(actor)
        if role == .owner, actor != .owner { throw AccountRefusal(.forbidden, "Only owners can invite owners.") }
    }

    /// May `actor` change the role of a member who holds `current` to `new`, with `owners`
    /// owners in the workspace now?
    public static func checkRoleChange(by actor: Role, from current: Role, to new: Role, owners: Int) throws(AccountRefusal) {
        try requireAdmin(actor)
        if actor != .owner, current == .owner || new == .owner {
            throw AccountRefusal(.forbidden, "Only owners can change an owner's role or make someone an owner.")
        }
        if current == .owner, new != .owner, owners <= 1 {
            throw AccountRefusal(.conflict, "This is the workspace's last owner; make another member an owner first.")
        }
    }

    /// May `actor` remove a member who holds `current` (`isSelf`: the actor leaving)?
    public static func checkRemoval(by actor: Role, of current: Role, isSelf: Bool, owners: Int) throws(AccountRefusal) {
        if !isSelf {
            try requireAdmin(actor)
            if actor != .owner, current == .owner { throw AccountRefusal(.forbidden, "Only owners can remove an owner.") }
        }
        if current == .owner, owners <= 1 {
            throw AccountRefusal(.conflict, "This is the workspace's last owner; make another member an owner first.")
        }
    }

    private static func requireAdmin(_ actor: Role) throws(AccountRefusal) {
        guard actor >= .admin else {
            throw AccountRefusal(.forbidden, "Your role (\(actor.rawValue)) does not allow managing members; it needs admin or above.")
        }
    }
}
