import Foundation
import Testing
import TroupeCore
import TroupeTestSupport

@testable import TroupeActors

/// The cron evaluator and the zone data against independent implementations: Python's
/// `croniter` on thousands of random expressions in UTC, and Python's `zoneinfo` (the system's
/// tz database, Debian's `tzdata`) on the offsets around every change of a few zones.
@Suite(.timeLimit(.minutes(3)))
struct CronInteropTests {
    private static let monthNames = ["jan", "FEB", "Mar", "apr", "MAY", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let dayNames = ["sun", "MON", "tue", "Wed", "thu", "fri", "SAT"]

    /// One random field over `low...high`: `*`, a number, a range, a list, `*/n` or `a-b/n`.
    private static func field(_ low: Int, _ high: Int, names: [String]? = nil, using random: inout SeededGenerator) -> String {
        func value() -> String {
            let number = Int.random(in: low...high, using: &random)
            if let names, number - low < names.count, Bool.random(using: &random) { return names[number - low] }
            return String(number)
        }
        // Two different ends: croniter 7 reads `a-a` (and `a-a/n`) as something else than `a`
        // (the whole field, or `a` to the end by n), where cron means `a`.
        func range() -> (String, String) {
            let a = Int.random(in: low..<high, using: &random)
            let b = Int.random(in: (a + 1)...high, using: &random)
            return (String(a), String(b))
        }
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return "*"
        case 1: return value()
        case 2:
            let (a, b) = range()
            return "\(a)-\(b)"
        case 3: return (0..<Int.random(in: 2...4, using: &random)).map { _ in value() }.joined(separator: ",")
        case 4: return "*/\(Int.random(in: 1...max(1, (high - low + 1) / 2), using: &random))"
        default:
            let (a, b) = range()
            return "\(a)-\(b)/\(Int.random(in: 1...max(1, (high - low + 1) / 2), using: &random))"
        }
    }

    /// `count` random expressions, each as a line for the Python side (`text`, a start, whether
    /// Vixie's "either" rule applies), and the next five fire times this evaluator gives.
    private static func evaluate(count: Int, zone: TimeZone) -> (lines: [String], ours: [String]) {
        // Seeded: a failure names an expression that comes back on the next run.
        var random = SeededGenerator(seed: 20_261_207)
        var lines: [String] = []
        var ours: [String] = []
        while lines.count < count {
            let text = expression(using: &random)
            guard let cron = try? CronExpression(parsing: text) else { continue }  // a day that never comes: refused, not compared
            let start = Timestamp(microsecondsSinceEpoch: Int64.random(in: 1_767_225_600...1_893_456_000, using: &random) * 1_000_000)
            let times = FireCalendar(rule: .cron(cron), zone: zone, startAt: nil, endAt: nil).upcoming(after: start, count: 5)
            let fields = text.split(separator: " ")
            // Vixie's rule: both day fields restricted (neither written with `*`) is "either".
            let either = fields.count == 5 && !fields[2].hasPrefix("*") && !fields[4].hasPrefix("*")
            lines.append("\(text)\t\(start.microsecondsSinceEpoch / 1_000_000)\t\(either ? 1 : 0)")
            ours.append(times.map { String($0.microsecondsSinceEpoch / 1_000_000) }.joined(separator: " "))
        }
        return (lines, ours)
    }

    private static func expression(using random: inout SeededGenerator) -> String {
        if Int.random(in: 0..<20, using: &random) == 0 { return ["@hourly", "@daily", "@weekly", "@monthly", "@yearly"].randomElement(using: &random) ?? "@daily" }
        return [field(0, 59, using: &random), field(0, 23, using: &random), field(1, 31, using: &random),
                field(1, 12, names: monthNames, using: &random), field(0, 7, names: dayNames, using: &random)].joined(separator: " ")
    }

    @Test(.enabled(if: Prerequisite.met(Prerequisite.python("croniter")), "python3 with croniter (CI installs it)"))
    func theNextFireTimesMatchCroniterOnThreeThousandRandomExpressions() async throws {
        let utc = try #require(FireCalendar.zone(named: "UTC"))
        // Evaluated on a thread of its own: seconds of CPU in a debug build, which the suite's
        // in-process servers need the cooperative pool's two threads beside.
        let (lines, ours) = await BlockingCall.run { Self.evaluate(count: 3_000, zone: utc) }
        let script = """
            import os, sys
            os.nice(10)  # the suite's timing tests run beside it
            from datetime import datetime, timezone
            from croniter import croniter
            for line in sys.stdin.read().splitlines():
                text, start, either = line.split("\\t")
                it = croniter(text, datetime.fromtimestamp(int(start), timezone.utc), day_or=either == "1")
                print(" ".join(str(int(it.get_next(float))) for _ in range(5)))
            """
        let (status, output) = await runPython(script, input: Array(lines.joined(separator: "\n").utf8))
        #expect(status == 0, "\(output.suffix(2000))")
        let theirs = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var differences: [String] = []
        for (index, line) in lines.enumerated() where index >= theirs.count || theirs[index] != ours[index] {
            differences.append("\(line): ours \(ours[index]), croniter \(index < theirs.count ? theirs[index] : "nothing")")
        }
        #expect(differences.isEmpty, "\(differences.count) of \(lines.count) differ, first: \(differences.prefix(5))")
    }

    /// The offsets the server uses, on each side of every change from 2026 to 2031 that the
    /// tz database lists for these zones, are the tz database's.
    @Test(.enabled(if: Prerequisite.met(Prerequisite.python("zoneinfo") && FileManager.default.fileExists(atPath: "/usr/share/zoneinfo/Europe/Berlin")),
                   "python3 and the tz database (/usr/share/zoneinfo: Debian's tzdata, which CI installs)"))
    func zoneOffsetsMatchTheTzDatabase() async throws {
        let zones = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata", "Pacific/Chatham"]
        let script = """
            import sys
            from datetime import datetime, timezone, timedelta
            from zoneinfo import ZoneInfo
            for name in sys.argv[1:]:
                zone = ZoneInfo(name)
                t = int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp())
                end = int(datetime(2031, 1, 1, tzinfo=timezone.utc).timestamp())
                def offset(s): return int(datetime.fromtimestamp(s, zone).utcoffset().total_seconds())
                while t < end:
                    if offset(t) != offset(t + 3600):
                        low, high = t, t + 3600
                        while high - low > 1:
                            mid = (low + high) // 2
                            if offset(mid) == offset(low): low = mid
                            else: high = mid
                        print(name, high, offset(high - 1), offset(high))
                    t += 3600
            """
        let (status, output) = await runPython(script, arguments: zones)
        #expect(status == 0, "\(output.suffix(2000))")
        let changes = output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(changes.count > 30, "\(output.prefix(500))")
        for change in changes where change.count == 4 {
            let zone = try #require(FireCalendar.zone(named: change[0]))
            let at = try #require(Double(change[1]))
            #expect(zone.secondsFromGMT(for: Date(timeIntervalSince1970: at - 1)) == Int(change[2]) ?? 0, "\(change)")
            #expect(zone.secondsFromGMT(for: Date(timeIntervalSince1970: at)) == Int(change[3]) ?? 0, "\(change)")
        }
    }
}
