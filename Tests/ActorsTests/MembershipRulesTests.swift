import Testing

@testable import TroupeActors

/// The membership rules alone: every role against every target, and the last-owner rule.
@Suite(.timeLimit(.minutes(5)))
struct MembershipRulesTests {
    private func allowed(_ check: () throws(AccountRefusal) -> Void) -> AccountRefusal.Code? {
        do {
            try check()
            return nil
        } catch {
            return error.code
        }
    }

    @Test func invitations() {
        for actor in Role.allCases {
            for role in Role.allCases {
                let expected: AccountRefusal.Code? = actor < .admin || (role == .owner && actor != .owner) ? .forbidden : nil
                #expect(allowed { () throws(AccountRefusal) in try MembershipRules.checkInvite(by: actor, as: role) } == expected,
                        "\(actor) inviting \(role)")
            }
        }
    }

    @Test func roleChanges() {
        for actor in Role.allCases {
            for current in Role.allCases {
                for new in Role.allCases {
                    for owners in [1, 2] {
                        var expected: AccountRefusal.Code?
                        if actor < .admin || (actor != .owner && (current == .owner || new == .owner)) {
                            expected = .forbidden
                        } else if current == .owner, new != .owner, owners == 1 {
                            expected = .conflict
                        }
                        let got = allowed { () throws(AccountRefusal) in
                            try MembershipRules.checkRoleChange(by: actor, from: current, to: new, owners: owners)
                        }
                        #expect(got == expected, "\(actor): \(current) → \(new) with \(owners) owners")
                    }
                }
            }
        }
    }

    @Test func removals() {
        #expect(allowed { () throws(AccountRefusal) in try MembershipRules.checkRemoval(by: .viewer, of: .viewer, isSelf: true, owners: 1) } == nil)
        #expect(allowed { () throws(AccountRefusal) in try MembershipRules.checkRemoval(by: .viewer, of: .member, isSelf: false, owners: 1) } == .forbidden)
        #expect(allowed { () throws(AccountRefusal) in try MembershipRules.checkRemoval(by: .member, of: .viewer, isSelf: false, owners: 1) } == .forbidden)
        #expect(allowed { () throws(AccountRefusal) in try MembershipRules.checkRemoval(by: .admin, of: .member, isSelf: false, owners: 1) } == nil)
        #expect(allowed { () throws(AccountRefusal) in try MembershipRules.checkRemoval(by: .admin, of: .owner, isSelf: false, owners: 2) } == .forbidden)
        #expect(allowed { () throws(AccountRefusal) in try MembershipRules.checkRemoval(by: .owner, of: .owner, isSelf: false, owners: 2) } == nil)
        #expect(allowed { () throws(AccountRefusal) in try MembershipRules.checkRemoval(by: .owner, of: .owner, isSelf: true, owners: 1) } == .conflict)
        #expect(allowed { () throws(AccountRefusal) in try MembershipRules.checkRemoval(by: .owner, of: .owner, isSelf: true, owners: 2) } == nil)
    }
}
