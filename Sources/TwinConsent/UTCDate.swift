import Foundation

// Strict UTC timestamps for registry records: `YYYY-MM-DDTHH:MM:SSZ` (whole seconds, always `Z`).
// Command-line dates may also be plain `YYYY-MM-DD` (midnight UTC).

/// Strict UTC timestamps as used in registry records and on the command line.
public enum UTCDate {
    /// Formats `date` (truncated to whole seconds) as `YYYY-MM-DDTHH:MM:SSZ`.
    public static func format(_ date: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let s = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ`, or `YYYY-MM-DD` when `allowDateOnly` is set.
    public static func parse(_ text: String, field: String, allowDateOnly: Bool = false) throws(ConsentError) -> Date {
        let b = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count else { return nil }
            var v = 0
            for i in range {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) else { return nil }
                v = v * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return v
        }
        let dateOnly = b.count == 10
        let full = b.count == 20 && b[10] == UInt8(ascii: "T") && b[13] == UInt8(ascii: ":") && b[16] == UInt8(ascii: ":")
            && b[19] == UInt8(ascii: "Z")
        guard (dateOnly && allowDateOnly) || full, b.count >= 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10),
              (1...12).contains(month), (1...31).contains(day)
        else {
            let forms = allowDateOnly ? "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ" : "YYYY-MM-DDTHH:MM:SSZ"
            throw .invalidValue("\(field) '\(text)' is not a UTC date (\(forms))")
        }
        var hour = 0, minute = 0, second = 0
        if full {
            guard let h = digits(11..<13), let m = digits(14..<16), let s = digits(17..<19), h < 24, m < 60, s < 60 else {
                throw .invalidValue("\(field) '\(text)' has an invalid time of day")
            }
            (hour, minute, second) = (h, m, s)
        }
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let date = calendar.date(from: components),
              calendar.dateComponents([.year, .month, .day], from: date) == DateComponents(year: year, month: month, day: day)
        else { throw .invalidValue("\(field) '\(text)' is not a calendar date") }
        return date
    }

    /// Parses a grant window bound from the command line. A plain `YYYY-MM-DD` is the start of
    /// that day, or with `endOfDay` the start of the next day (so `--until 2026-12-31` covers the
    /// whole of 31 December; the stored end is exclusive).
    public static func parseWindowBound(_ text: String, field: String, endOfDay: Bool) throws(ConsentError) -> Date {
        let date = try parse(text, field: field, allowDateOnly: true)
        return endOfDay && text.utf8.count == 10 ? date.addingTimeInterval(86_400) : date
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
