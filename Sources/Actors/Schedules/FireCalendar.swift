import Foundation
import TroupeCore

/// When a schedule fires (API.md, Schedules): a cron expression evaluated in an IANA time zone,
/// or every `every_s` seconds; never before `start_at`, never after `end_at`.
///
/// Cron times are local times. A local time that a daylight-saving change skips fires at the
/// first instant after the gap; one that a change repeats fires once, at its first occurrence.
/// `every_s` counts from `start_at` when there is one, else from the Unix epoch (so
/// `every_s: 60` fires on each minute).
public struct FireCalendar: Sendable {
    public enum Rule: Sendable, Equatable {
        case cron(CronExpression)
        case every(seconds: Int64)
    }

    public let rule: Rule
    public let zone: TimeZone
    public let startAt: Timestamp?
    public let endAt: Timestamp?

    public init(rule: Rule, zone: TimeZone, startAt: Timestamp?, endAt: Timestamp?) {
        self.rule = rule
        self.zone = zone
        self.startAt = startAt
        self.endAt = endAt
    }

    /// The zone of an IANA name (`UTC` included), nil for anything else: an offset such as
    /// `GMT+5`, an abbreviation, a path.
    public static func zone(named name: String) -> TimeZone? {
        if name == "UTC" { return TimeZone(secondsFromGMT: 0) }
        guard name.utf8.count <= 64, name.utf8.allSatisfy({ $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: "+") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }),
            !name.hasPrefix("/"), !name.contains("..")
        else { return nil }
        // The name must come back as given: Foundation also reads `GMT+5` (as `GMT+0500`).
        guard let zone = TimeZone(identifier: name), zone.identifier == name else { return nil }
        return zone
    }

    /// The years searched for a cron's next day at most: a 29 February on a given weekday
    /// recurs within 28.
    static let searchYears: Int64 = 28

    /// The first fire time strictly after `instant`, nil when there is none (past `end_at`).
    public func next(after instant: Timestamp) -> Timestamp? {
        var from = instant
        if let startAt, startAt > from { from = startAt + .microseconds(-1) }  // start_at itself may fire
        let found: Timestamp?
        switch rule {
        case .every(let seconds):
            let period = seconds * 1_000_000
            let anchor = startAt?.microsecondsSinceEpoch ?? 0
            let elapsed = from.microsecondsSinceEpoch - anchor
            let periods = elapsed < 0 ? 0 : elapsed / period + 1
            found = Timestamp(microsecondsSinceEpoch: anchor.saturatingAdding(periods.saturatingMultiplied(by: period)))
        case .cron(let cron):
            found = nextCron(cron, after: from)
        }
        guard let found, endAt.map({ found <= $0 }) ?? true else { return nil }
        return found
    }

    /// The next `count` fire times after `instant`.
    public func upcoming(after instant: Timestamp, count: Int) -> [Timestamp] {
        var times: [Timestamp] = []
        var last = instant
        while times.count < count, let next = next(after: last) {
            times.append(next)
            last = next
        }
        return times
    }

    /// Walks local days from a little before `instant`'s local time (a repeated hour may put a
    /// matching local time before it whose instant is after it), and within each matching day
    /// its matching hours and minutes, until one's instant is after `instant`.
    private func nextCron(_ cron: CronExpression, after instant: Timestamp) -> Timestamp? {
        let seconds = instant.microsecondsSinceEpoch.floorDivided(by: 1_000_000)
        let local = seconds + Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds)))) - 3 * 3600
        let firstDay = local.floorDivided(by: 86_400)
        for day in firstDay...(firstDay + Self.searchYears * 366) {
            let date = Timestamp.civilDate(daysSinceEpoch: day)
            let weekday = Int((day + 4).modulo(7))  // 1970-01-01 was a Thursday
            guard cron.matches(month: Int(date.month), day: Int(date.day), weekday: weekday) else { continue }
            for hour in 0..<24 where cron.matches(hour: hour) {
                for minute in 0..<60 where cron.matches(minute: minute) {
                    let wall = day * 86_400 + Int64(hour * 3600 + minute * 60)
                    let fire = instantOf(localSeconds: wall)
                    if fire * 1_000_000 > instant.microsecondsSinceEpoch { return Timestamp(microsecondsSinceEpoch: fire * 1_000_000) }
                }
            }
        }
        return nil
    }

    /// The instant (Unix seconds) of a local wall time: its first occurrence when a change
    /// repeats it, the end of the gap when a change skips it.
    func instantOf(localSeconds wall: Int64) -> Int64 {
        let before = offset(at: wall - 86_400)
        let after = offset(at: wall + 86_400)
        let candidates = [wall - before, wall - after].filter { offset(at: $0) == wall - $0 }
        if let first = candidates.min() { return first }
        // Skipped: the gap lies between the instants the offsets on either side give; the
        // first instant after it is where the offset changes.
        var low = min(wall - before, wall - after)
        var high = max(wall - before, wall - after)
        let lowOffset = offset(at: low)
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if offset(at: middle) == lowOffset { low = middle } else { high = middle }
        }
        return high
    }

    private func offset(at seconds: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds))))
    }
}

extension Int64 {
    fileprivate func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
