/// A five-field cron expression (API.md, Schedules): `minute hour day-of-month month
/// day-of-week`, each `*`, a number, a range `a-b`, a list, a step `*/n` or `a-b/n`; month and
/// day names; day-of-week 0 and 7 for Sunday; Vixie cron's day rule; and the five macros.
/// Parsed into one bit set per field, so a match is a few bit tests.
public struct CronExpression: Sendable, Equatable {
    /// What is wrong with an expression: the cron field and the part of it.
    public struct Problem: Error, Sendable, Equatable {
        public let message: String
    }

    /// The text as given (a macro stays a macro).
    public let source: String
    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    /// Bit 0 is Sunday (a 7 sets it too).
    let daysOfWeek: UInt64
    /// Vixie cron: when both day fields are restricted (neither starts with `*`), a day matching
    /// either fires; otherwise a day must match both.
    let eitherDay: Bool

    static let macros = ["@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *",
                         "@yearly": "0 0 1 1 *"]

    private struct Field {
        let name: String
        let range: ClosedRange<Int>
        let names: [String]
    }

    private static let fields = [
        Field(name: "minute", range: 0...59, names: []),
        Field(name: "hour", range: 0...23, names: []),
        Field(name: "day-of-month", range: 1...31, names: []),
        Field(name: "month", range: 1...12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]),
        Field(name: "day-of-week", range: 0...7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]),
    ]

    /// Days in each month at most (February's 29 in a leap year).
    private static let longestMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    public init(parsing text: String) throws(Problem) {
        let trimmed = text.trimmingSpaces
        var expanded = trimmed
        if trimmed.hasPrefix("@") {
            guard let macro = Self.macros[trimmed.lowercased()] else {
                throw Problem(message: "\(trimmed) is not a macro (@hourly, @daily, @weekly, @monthly, @yearly).")
            }
            expanded = macro
        }
        let parts = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw Problem(message: "a cron expression has five fields (minute hour day-of-month month day-of-week); this one has \(parts.count).")
        }
        var sets: [UInt64] = []
        for (part, field) in zip(parts, Self.fields) { sets.append(try Self.parse(part, field)) }
        source = trimmed
        minutes = sets[0]
        hours = sets[1]
        daysOfMonth = sets[2]
        months = sets[3]
        // 7 is Sunday, as 0 is.
        daysOfWeek = (sets[4] & 0x7F) | (sets[4] >> 7 & 1)
        eitherDay = !parts[2].hasPrefix("*") && !parts[4].hasPrefix("*")
        if parts[4].hasPrefix("*") {
            // Only day-of-month restricts the day: it must exist in one of the months.
            let possible = (1...12).contains { month in
                months >> month & 1 == 1 && (1...Self.longestMonth[month - 1]).contains { daysOfMonth >> $0 & 1 == 1 }
            }
            guard possible else { throw Problem(message: "day-of-month \(parts[2]) never falls in month \(parts[3]): the expression never fires.") }
        }
    }

    /// Whether the expression fires on this day (`weekday` 0 for Sunday).
    func matches(month: Int, day: Int, weekday: Int) -> Bool {
        guard months >> month & 1 == 1 else { return false }
        let byMonthDay = daysOfMonth >> day & 1 == 1
        let byWeekday = daysOfWeek >> weekday & 1 == 1
        return eitherDay ? byMonthDay || byWeekday : byMonthDay && byWeekday
    }

    func matches(hour: Int) -> Bool { hours >> hour & 1 == 1 }
    func matches(minute: Int) -> Bool { minutes >> minute & 1 == 1 }

    /// One field: a comma-separated list of `*`, `n`, `a-b`, each with an optional `/step`
    /// (`*/n` or `a-b/n`).
    private static func parse(_ text: String, _ field: Field) throws(Problem) -> UInt64 {
        var set: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            func wrong(_ why: String) -> Problem { Problem(message: "\(field.name) field `\(text)`: `\(item)` \(why)") }
            let pieces = item.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count <= 2, let base = pieces.first, !base.isEmpty else { throw wrong("is not `*`, a number, a range or a step.") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), (1...field.range.count).contains(parsed) else {
                    throw wrong("has a step that is not a number from 1 to \(field.range.count).")
                }
                step = parsed
            }
            let low: Int
            let high: Int
            if base == "*" {
                (low, high) = (field.range.lowerBound, field.name == "day-of-week" ? 6 : field.range.upperBound)
            } else {
                let ends = base.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
                guard ends.count <= 2 else { throw wrong("is not a range `a-b`.") }
                guard let first = value(ends[0], field) else { throw wrong("names no \(field.name) (\(field.range.lowerBound)–\(field.range.upperBound)).") }
                if ends.count == 2 {
                    guard let last = value(ends[1], field) else { throw wrong("names no \(field.name) (\(field.range.lowerBound)–\(field.range.upperBound)).") }
                    guard first <= last else { throw wrong("is a range that ends before it starts.") }
                    (low, high) = (first, last)
                } else {
                    guard pieces.count == 1 else { throw wrong("has a step on a single value: write `*/n` or `a-b/n`.") }
                    (low, high) = (first, first)
                }
            }
            for value in stride(from: low, through: high, by: step) { set |= 1 << UInt64(value) }
        }
        return set
    }

    /// A number in the field's range, or a name (case-insensitive) where the field has names.
    private static func value(_ text: String, _ field: Field) -> Int? {
        if let number = Int(text), text.allSatisfy(\.isASCIIDigit), field.range.contains(number) { return number }
        guard let index = field.names.firstIndex(of: text.uppercased()) else { return nil }
        return field.range.lowerBound == 1 ? index + 1 : index
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
