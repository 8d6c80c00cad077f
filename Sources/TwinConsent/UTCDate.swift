// Role: strict UTC times for registry records (`YYYY-MM-DDTHH:MM:SSZ`, whole seconds, always `Z`)
// and command-line dates (also plain `YYYY-MM-DD`, midnight UTC), with errors naming the field.
// Reference: a thin layer over TwinBase `UTCTimestamp` / `CalendarDate` (the one time type).
// Failure modes: anything but the exact forms, or an impossible date, throws `invalidValue`.

import Foundation
import TwinBase

/// Strict UTC timestamps as used in registry records and on the command line.
public enum UTCDate {
    /// Formats `date` (truncated to whole seconds) as `YYYY-MM-DDTHH:MM:SSZ`.
    public static func format(_ date: Date) -> String { UTCTimestamp(date).description }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ`, or `YYYY-MM-DD` when `allowDateOnly` is set.
    public static func parse(_ text: String, field: String, allowDateOnly: Bool = false) throws(ConsentError) -> Date {
        if let stamp = UTCTimestamp(iso8601: text) { return stamp.date }
        if allowDateOnly, let day = CalendarDate(iso8601: text) {
            return UTCTimestamp(secondsSinceEpoch: day.daysSinceEpoch * 86_400).date
        }
        let forms = allowDateOnly ? "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ" : "YYYY-MM-DDTHH:MM:SSZ"
        throw .invalidValue("\(field) '\(text)' is not a UTC date (\(forms), 1970-9999)")
    }

    /// Parses a grant window bound from the command line. A plain `YYYY-MM-DD` is the start of
    /// that day, or with `endOfDay` the start of the next day (so `--until 2026-12-31` covers the
    /// whole of 31 December; the stored end is exclusive, see `GrantTerms.lastValidDay`).
    public static func parseWindowBound(_ text: String, field: String, endOfDay: Bool) throws(ConsentError) -> Date {
        let date = try parse(text, field: field, allowDateOnly: true)
        return endOfDay && text.utf8.count == 10 ? date.addingTimeInterval(86_400) : date
    }
}
