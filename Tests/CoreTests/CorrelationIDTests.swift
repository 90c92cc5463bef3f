import Testing
import TroupeCore

@Suite(.timeLimit(.minutes(5)))
struct CorrelationIDTests {
    @Test func hasTheShapeOfARandomIDAndDoesNotRepeat() {
        var seen = Set<String>()
        for _ in 0..<100_000 {
            let id = CorrelationID.make(prefix: "req")
            #expect(RandomID.isWellFormed(id, prefix: "req"), "\(id)")
            seen.insert(id)
        }
        #expect(seen.count == 100_000)
    }

    /// Consecutive counter values give unrelated ids: every character position varies.
    @Test func consecutiveIDsShareNoPattern() {
        let ids = (0..<64).map { _ in Array(CorrelationID.make(prefix: "req").utf8.dropFirst(4)) }
        for position in 0..<RandomID.randomLength {
            #expect(Set(ids.map { $0[position] }).count > 8, "position \(position)")
        }
    }
}
