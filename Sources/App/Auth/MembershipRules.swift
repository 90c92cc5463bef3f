import TroupeActors

/// Who may change whose membership (API.md): admins manage members but not owners, owners
/// manage everyone, anyone may leave, and a workspace always keeps an owner. Checked inside the
/// transaction that makes the change, against the roles as they are then.
enum MembershipRules {
    /// May someone of role `actor` invite a person as `role`?
    static func checkInvite(by actor: Role, as role: Role) throws(APIError) {
        try requireAdmin(actor)
        if role == .owner, actor != .owner { throw APIError(.forbidden, "Only owners can invite owners.") }
    }

    /// May `actor` change the role of a member who holds `current` to `new`, with `owners`
    /// owners in the workspace now?
    static func checkRoleChange(by actor: Role, from current: Role, to new: Role, owners: Int) throws(APIError) {
        try requireAdmin(actor)
        if actor != .owner, current == .owner || new == .owner {
            throw APIError(.forbidden, "Only owners can change an owner's role or make someone an owner.")
        }
        if current == .owner, new != .owner, owners <= 1 {
            throw APIError(.conflict, "This is the workspace's last owner; make another member an owner first.")
        }
    }

    /// May `actor` remove a member who holds `current` (`isSelf`: the actor leaving)?
    static func checkRemoval(by actor: Role, of current: Role, isSelf: Bool, owners: Int) throws(APIError) {
        if !isSelf {
            try requireAdmin(actor)
            if actor != .owner, current == .owner { throw APIError(.forbidden, "Only owners can remove an owner.") }
        }
        if current == .owner, owners <= 1 {
            throw APIError(.conflict, "This is the workspace's last owner; make another member an owner first.")
        }
    }

    private static func requireAdmin(_ actor: Role) throws(APIError) {
        guard actor >= .admin else {
            throw APIError(.forbidden, "Your role (\(actor.rawValue)) does not allow managing members; it needs admin or above.")
        }
    }
}
