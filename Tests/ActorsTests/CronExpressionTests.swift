import Foundation
import Testing
import TroupeCore

@testable import TroupeActors

/// The cron language of API.md, fed as text: what parses, what each part means, and what is
/// refused with the field and part named.
@Suite(.timeLimit(.minutes(1)))
struct CronExpressionTests {
    private func utc(_ text: String) throws -> Timestamp { try #require(Timestamp(rfc3339: text)) }

    private func fires(_ cron: String, after: String, count: Int = 3, zone: String = "UTC") throws -> [String] {
        let calendar = FireCalendar(rule: .cron(try CronExpression(parsing: cron)), zone: try #require(FireCalendar.zone(named: zone)),
                                    startAt: nil, endAt: nil)
        return calendar.upcoming(after: try utc(after), count: count).map(\.rfc3339)
    }

    @Test func fieldsRangesListsStepsAndNames() throws {
        #expect(try fires("*/20 9-10 * * *", after: "2026-05-19T09:10:00Z", count: 4)
            == ["2026-05-19T09:20:00.000Z", "2026-05-19T09:40:00.000Z", "2026-05-19T10:00:00.000Z", "2026-05-19T10:20:00.000Z"])
        #expect(try fires("0 12 1,15 jan-MAR/2 *", after: "2026-01-15T12:00:00Z", count: 3)
            == ["2026-03-01T12:00:00.000Z", "2026-03-15T12:00:00.000Z", "2027-01-01T12:00:00.000Z"])
        #expect(try fires("5 4 * * sun", after: "2026-05-19T00:00:00Z", count: 1) == ["2026-05-24T04:05:00.000Z"])
        #expect(try fires("5 4 * * 7", after: "2026-05-19T00:00:00Z", count: 1) == ["2026-05-24T04:05:00.000Z"], "7 is Sunday, as 0 is")
        #expect(try fires("0 0 29 2 *", after: "2026-01-01T00:00:00Z", count: 1) == ["2028-02-29T00:00:00.000Z"])
        #expect(try fires("5-5/10 3-3 * * *", after: "2026-05-19T00:00:00Z", count: 2) == ["2026-05-19T03:05:00.000Z", "2026-05-20T03:05:00.000Z"],
                "a range with equal ends is that one value, stepped or not")
    }

    @Test func theMacros() throws {
        #expect(try fires("@hourly", after: "2026-05-19T09:10:00Z", count: 1) == ["2026-05-19T10:00:00.000Z"])
        #expect(try fires("@daily", after: "2026-05-19T09:10:00Z", count: 1) == ["2026-05-20T00:00:00.000Z"])
        #expect(try fires("@weekly", after: "2026-05-19T09:10:00Z", count: 1) == ["2026-05-24T00:00:00.000Z"])
        #expect(try fires("@monthly", after: "2026-05-19T09:10:00Z", count: 1) == ["2026-06-01T00:00:00.000Z"])
        #expect(try fires("@yearly", after: "2026-05-19T09:10:00Z", count: 1) == ["2027-01-01T00:00:00.000Z"])
    }

    /// Both day fields restricted: either fires; one written with `*`: both must match.
    @Test func vixiesDayRule() throws {
        // The 13th, or any Friday.
        #expect(try fires("0 0 13 * 5", after: "2026-11-01T00:00:00Z", count: 3)
            == ["2026-11-06T00:00:00.000Z", "2026-11-13T00:00:00.000Z", "2026-11-20T00:00:00.000Z"])
        // Day-of-month starts with `*`: odd days that are Fridays.
        #expect(try fires("0 0 */2 * 5", after: "2026-11-01T00:00:00Z", count: 2)
            == ["2026-11-13T00:00:00.000Z", "2026-11-27T00:00:00.000Z"])
    }

    @Test func wrongExpressionsNameTheFieldAndThePart() {
        let cases: [(String, String)] = [
            ("* * * *", "five fields"), ("61 * * * *", "minute field `61`"), ("* 24 * * *", "hour field `24`"),
            ("* * 0 * *", "day-of-month field `0`"), ("* * * 13 * ", "month field `13`"), ("* * * * 8", "day-of-week field `8`"),
            ("*/0 * * * *", "step"), ("5-1 * * * *", "ends before it starts"), ("1,,2 * * * *", "`1,,2`"), ("* * * foo *", "`foo`"),
            ("5/10 * * * *", "single value"), ("@reboot", "not a macro"), ("0 0 30 2 *", "never fires"), ("1-2-3 * * * *", "range"),
            ("-1 * * * *", "`-1`"), ("+1 * * * *", "`+1`"),
        ]
        for (text, expected) in cases {
            do {
                _ = try CronExpression(parsing: text)
                Issue.record("\(text) parsed")
            } catch {
                #expect(error.message.contains(expected), "\(text): \(error.message)")
            }
        }
    }

    /// Europe/Berlin: 02:30 does not exist on 2027-03-28 (it fires at 03:00 CEST, the first
    /// instant after the gap) and exists twice on 2027-10-31 (it fires once, at the first).
    @Test func daylightSavingGapsAndRepeats() throws {
        #expect(try fires("30 2 * * *", after: "2027-03-27T00:00:00Z", count: 3, zone: "Europe/Berlin")
            == ["2027-03-27T01:30:00.000Z", "2027-03-28T01:00:00.000Z", "2027-03-29T00:30:00.000Z"])
        #expect(try fires("30 2 * * *", after: "2027-10-30T00:00:00Z", count: 3, zone: "Europe/Berlin")
            == ["2027-10-30T00:30:00.000Z", "2027-10-31T00:30:00.000Z", "2027-11-01T01:30:00.000Z"])
        // Every 15 minutes through the repeated hour: each local time once, so 02:00–02:45 CEST
        // and then 03:00 CET, none of the second 02:xx.
        #expect(try fires("*/15 * * * *", after: "2027-10-30T23:50:00Z", count: 6, zone: "Europe/Berlin")
            == ["2027-10-31T00:00:00.000Z", "2027-10-31T00:15:00.000Z", "2027-10-31T00:30:00.000Z", "2027-10-31T00:45:00.000Z",
                "2027-10-31T02:00:00.000Z", "2027-10-31T02:15:00.000Z"])
        // From inside the second 02:xx, the next is 03:00 CET.
        #expect(try fires("*/15 * * * *", after: "2027-10-31T01:20:00Z", count: 1, zone: "Europe/Berlin") == ["2027-10-31T02:00:00.000Z"])
        // Every 15 minutes through the gap: 02:00–02:45 all fall at 03:00 CEST, once.
        #expect(try fires("*/15 * * * *", after: "2027-03-28T00:50:00Z", count: 3, zone: "Europe/Berlin")
            == ["2027-03-28T01:00:00.000Z", "2027-03-28T01:15:00.000Z", "2027-03-28T01:30:00.000Z"])
    }

    @Test func everySecondsStartAndEnd() throws {
        let every = FireCalendar(rule: .every(seconds: 90), zone: TimeZone(secondsFromGMT: 0) ?? .current, startAt: nil, endAt: nil)
        #expect(every.next(after: try utc("2026-05-19T09:00:00Z"))?.rfc3339 == "2026-05-19T09:01:30.000Z", "counted from the epoch")
        let started = FireCalendar(rule: .every(seconds: 3600), zone: TimeZone(secondsFromGMT: 0) ?? .current,
                                   startAt: try utc("2026-05-19T10:30:00Z"), endAt: try utc("2026-05-19T12:30:00Z"))
        #expect(started.upcoming(after: try utc("2026-05-19T09:00:00Z"), count: 5).map(\.rfc3339)
            == ["2026-05-19T10:30:00.000Z", "2026-05-19T11:30:00.000Z", "2026-05-19T12:30:00.000Z"], "from start_at, up to end_at")
        let cron = FireCalendar(rule: .cron(try CronExpression(parsing: "0 * * * *")), zone: TimeZone(secondsFromGMT: 0) ?? .current,
                                startAt: try utc("2026-05-19T10:00:00Z"), endAt: nil)
        #expect(cron.next(after: try utc("2026-05-19T08:00:00Z"))?.rfc3339 == "2026-05-19T10:00:00.000Z", "start_at itself fires")
    }

    @Test func onlyIANANamesAreZones() {
        for name in ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Asia/Kolkata"] {
            #expect(FireCalendar.zone(named: name) != nil, "\(name)")
        }
        for name in ["utc", "GMT+5", "+05:00", "Mars/Olympus", "/etc/passwd", "../../etc/passwd", "Europe/../Berlin", "", "Local"] {
            #expect(FireCalendar.zone(named: name) == nil, "\(name)")
        }
    }
}
