import Testing

@testable import TroupeCore

@Suite(.timeLimit(.minutes(5)))
struct TimestampTests {
    /// Expected strings computed independently (Python's datetime).
    @Test(arguments: [
        (Int64(1_779_181_200_000), "2026-05-19T09:00:00.000Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (951_868_800_000, "2000-03-01T00:00:00.000Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
    ])
    func formatsRFC3339WithMilliseconds(millis: Int64, expected: String) {
        #expect(Timestamp(millisecondsSinceEpoch: millis).rfc3339 == expected)
    }

    @Test func subMillisecondsAreTruncatedNotRounded() {
        let instant = Timestamp(microsecondsSinceEpoch: 1_999)
        #expect(instant.millisecondsSinceEpoch == 1)
        #expect(instant.rfc3339 == "1970-01-01T00:00:00.001Z")
    }

    @Test func arithmeticWithDurations() {
        let start = Timestamp(millisecondsSinceEpoch: 1000)
        let later = start + .milliseconds(1500)
        #expect(later.millisecondsSinceEpoch == 2500)
        #expect(later - start == .milliseconds(1500))
        #expect(start < later)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct TimestampParsingTests {
    @Test(arguments: [
        ("2026-05-19T09:00:00.000Z", Int64(1_779_181_200_000_000)),
        ("2026-05-19T11:00:00+02:00", Int64(1_779_181_200_000_000)),
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2000-02-29T23:59:59.123456789Z", Int64(951_868_799_123_456)),
        ("1969-12-31T23:59:59.5Z", Int64(-500_000)),
    ])
    func parsesRFC3339(text: String, micros: Int64) {
        #expect(Timestamp(rfc3339: text)?.microsecondsSinceEpoch == micros)
    }

    @Test(arguments: ["", "2026-05-19", "2026-05-19T09:00:00", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
                      "2026-05-19T24:00:00Z", "2026-05-19T09:00:00.Z", "2026-05-19T09:00:00Zjunk", "2026-05-19 09:00:00Z",
                      "1900-02-29T00:00:00Z"])
    func refusesWhatIsNotADateTime(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func roundTripsWhatItFormats() {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<1000 {
            let millis = Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &generator)
            let stamp = Timestamp(millisecondsSinceEpoch: millis)
            #expect(Timestamp(rfc3339: stamp.rfc3339) == stamp)
        }
    }
}
