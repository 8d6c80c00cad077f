// Role: the one UTC time type of twinrender: ledger timestamps, due dates, statement periods,
// registry record times and log-line times, in UTC only.
// Reference: days-from-civil / civil-from-days as in Howard Hinnant's "chrono-Compatible Low-Level
// Date Algorithms". Written by hand (no DateFormatter) so that formatting never depends on locale,
// time zone or Foundation version: the text is hashed into the ledger chain.
// Failure modes: parsers return nil on anything but the exact canonical form; years are 1970...9999.

import Foundation

/// An instant in UTC with whole-second precision, written as `YYYY-MM-DDTHH:MM:SSZ`.
public struct UTCTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let secondsSinceEpoch: Int64

    /// Latest representable instant (9999-12-31T23:59:59Z); keeps the text form four-digit.
    public static let maxSeconds: Int64 = 253_402_300_799

    /// Wraps `secondsSinceEpoch`, clamped to 1970-01-01T00:00:00Z...9999-12-31T23:59:59Z.
    public init(secondsSinceEpoch: Int64) {
        self.secondsSinceEpoch = min(max(secondsSinceEpoch, 0), Self.maxSeconds)
    }

    /// Truncates `date` to the whole second at or before it.
    public init(_ date: Date) {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        self.init(secondsSinceEpoch: Int64(exactly: seconds) ?? (seconds > 0 ? Self.maxSeconds : 0))
    }

    /// Parses exactly `YYYY-MM-DDTHH:MM:SSZ`; nil for any other form or an impossible date.
    public init?(iso8601 text: String) {
        let b = Array(text.utf8)
        guard b.count == 20, b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"),
              b[16] == UInt8(ascii: ":"), b[19] == UInt8(ascii: "Z"),
              let day = CalendarDate(iso8601: String(decoding: b[0..<10], as: UTF8.self)),
              let hour = decimal(b[11..<13]), let minute = decimal(b[14..<16]), let second = decimal(b[17..<19]),
              hour < 24, minute < 60, second < 60
        else { return nil }
        self.secondsSinceEpoch = day.daysSinceEpoch * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// The current time, truncated to the second.
    public static func now() -> UTCTimestamp { UTCTimestamp(Date()) }

    /// The same instant as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: TimeInterval(secondsSinceEpoch)) }

    /// The UTC calendar day this instant falls on.
    public var calendarDate: CalendarDate {
        CalendarDate(daysSinceEpoch: secondsSinceEpoch.floorDiv(86_400))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    public var description: String {
        let secondOfDay = Int(secondsSinceEpoch - secondsSinceEpoch.floorDiv(86_400) * 86_400)
        return "\(calendarDate)T\(pad2(secondOfDay / 3600)):\(pad2(secondOfDay / 60 % 60)):\(pad2(secondOfDay % 60))Z"
    }

    public static func < (a: UTCTimestamp, b: UTCTimestamp) -> Bool { a.secondsSinceEpoch < b.secondsSinceEpoch }

    /// `date` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (milliseconds truncated): the time of a log line.
    public static func millisecondText(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let stamp = UTCTimestamp(secondsSinceEpoch: millis.floorDiv(1000))
        let fraction = Int(millis - millis.floorDiv(1000) * 1000)
        let text = stamp.description
        return String(text.dropLast()) + "." + String(repeating: "0", count: fraction < 10 ? 2 : fraction < 100 ? 1 : 0) + "\(fraction)Z"
    }
}

/// A proleptic Gregorian calendar day, written as `YYYY-MM-DD`.
public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Validates the day against the month's length; years 1970...9999.
    public init?(year: Int, month: Int, day: Int) {
        guard (1970...9999).contains(year), (1...12).contains(month),
              (1...Self.daysIn(year: year, month: month)).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses exactly `YYYY-MM-DD`.
    public init?(iso8601 text: String) {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              let y = decimal(b[0..<4]), let m = decimal(b[5..<7]), let d = decimal(b[8..<10])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// The day `daysSinceEpoch` days after 1970-01-01 (clamped to the supported range).
    public init(daysSinceEpoch: Int64) {
        let z = min(max(daysSinceEpoch, 0), 2_932_896) + 719_468   // 2_932_896 = 9999-12-31
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let m = mp < 10 ? mp + 3 : mp - 9
        year = Int(yoe + era * 400 + (m <= 2 ? 1 : 0))
        month = Int(m)
        day = Int(doy - (153 * mp + 2) / 5 + 1)
    }

    /// Days since 1970-01-01.
    public var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = y / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The day `days` days later (clamped to 9999-12-31).
    public func adding(days: Int) -> CalendarDate {
        CalendarDate(daysSinceEpoch: daysSinceEpoch + Int64(days))
    }

    /// `YYYY-MM-DD`.
    public var description: String { "\(pad4(year))-\(pad2(month))-\(pad2(day))" }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }

    public static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// A calendar month in UTC, written `YYYY-MM`: the period a royalty statement covers.
public struct StatementPeriod: Sendable, Hashable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    /// Parses exactly `YYYY-MM`.
    public init?(_ text: String) {
        let b = Array(text.utf8)
        guard b.count == 7, b[4] == UInt8(ascii: "-"), let y = decimal(b[0..<4]), let m = decimal(b[5..<7]),
              CalendarDate(year: y, month: m, day: 1) != nil else { return nil }
        year = y
        month = m
    }

    /// First day of the month.
    public var start: CalendarDate { CalendarDate(year: year, month: month, day: 1)! }
    /// Last day of the month.
    public var end: CalendarDate { CalendarDate(year: year, month: month, day: CalendarDate.daysIn(year: year, month: month))! }

    /// Whether `instant` falls on a day of this month (UTC).
    public func contains(_ instant: UTCTimestamp) -> Bool {
        let day = instant.calendarDate
        return day.year == year && day.month == month
    }

    /// `YYYY-MM`.
    public var description: String { "\(pad4(year))-\(pad2(month))" }
}

private func decimal(_ bytes: ArraySlice<UInt8>) -> Int? {
    var value = 0
    for byte in bytes {
        guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
        value = value * 10 + Int(byte - UInt8(ascii: "0"))
    }
    return bytes.isEmpty ? nil : value
}

private func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
private func pad4(_ n: Int) -> String { String(repeating: "0", count: max(0, 4 - String(n).count)) + String(n) }

extension Int64 {
    fileprivate func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}
