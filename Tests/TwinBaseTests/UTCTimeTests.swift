import Testing
@testable import TwinBase

@Suite struct UTCTimeTests {
    @Test func timestampRoundTripsThroughText() {
        for text in ["1970-01-01T00:00:00Z", "2026-03-05T10:00:00Z", "2024-02-29T23:59:59Z", "9999-12-31T23:59:59Z"] {
            #expect(UTCTimestamp(iso8601: text)?.description == text)
        }
        #expect(UTCTimestamp(iso8601: "2026-03-05T10:00:00Z")?.secondsSinceEpoch == 1_772_704_800)
    }

    @Test func rejectsNonCanonicalOrImpossibleTimestamps() {
        for text in ["2026-03-05 10:00:00Z", "2026-03-05T10:00:00", "2026-03-05T10:00:00+00:00", "2026-02-29T00:00:00Z",
                     "2026-13-01T00:00:00Z", "2026-03-05T24:00:00Z", "2026-03-05T10:00:60Z", "2026-3-05T10:00:00Z", ""] {
            #expect(UTCTimestamp(iso8601: text) == nil, "\(text)")
        }
    }

    @Test func calendarArithmeticAcrossMonthsAndLeapYears() {
        #expect(CalendarDate(iso8601: "2026-03-05")!.adding(days: 30).description == "2026-04-04")
        #expect(CalendarDate(iso8601: "2024-02-28")!.adding(days: 1).description == "2024-02-29")
        #expect(CalendarDate(iso8601: "2100-02-28")!.adding(days: 1).description == "2100-03-01")
        #expect(CalendarDate(iso8601: "2026-12-31")!.adding(days: 1).description == "2027-01-01")
        #expect(CalendarDate(iso8601: "2000-02-29") != nil)
        #expect(CalendarDate(iso8601: "2026-02-29") == nil)
        // Every day of 1970...2400 round-trips through its day number.
        var day = CalendarDate(year: 1970, month: 1, day: 1)!
        for n in Int64(0)..<157_000 {
            let next = day.adding(days: 1)
            guard day.daysSinceEpoch == n, next.daysSinceEpoch == n + 1, next > day,
                  CalendarDate(iso8601: next.description) == next else { Issue.record("\(day) -> \(next)"); break }
            day = next
        }
    }

    @Test func periodBoundsAndMembership() {
        let feb = StatementPeriod("2024-02")!
        #expect(feb.start.description == "2024-02-01")
        #expect(feb.end.description == "2024-02-29")
        #expect(feb.contains(UTCTimestamp(iso8601: "2024-02-29T23:59:59Z")!))
        #expect(!feb.contains(UTCTimestamp(iso8601: "2024-03-01T00:00:00Z")!))
        #expect(!feb.contains(UTCTimestamp(iso8601: "2024-01-31T23:59:59Z")!))
        #expect(StatementPeriod("2024-13") == nil)
        #expect(StatementPeriod("2024-2") == nil)
        #expect(StatementPeriod("24-02") == nil)
    }
}
