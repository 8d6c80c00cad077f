// Role: the two file forms of a `RoyaltyStatement`.
// CSV (RFC 4180, CRLF-free: `\n` line ends) in the style of a DSR flat file: one rectangular table
// whose first column is the record type. `HEAD` rows carry a section's header and totals, `LINE`
// rows its summary lines; a statement with no deliveries has one `HEAD` row with an empty currency.
// JSON: `{"header": {...}, "sections": [{..., "lines": [...]}]}`, keys sorted, amounts as integers.
// Reference: RFC 4180 (CSV quoting), DDEX DSR record types.
// Failure modes: none; JSON encoding of plain strings and integers cannot fail (a precondition says so).

import Foundation
import TwinBase

extension RoyaltyStatement {
    /// Column names of ``csv()``.
    public static let csvColumns = [
        "record_type", "sender", "recipient", "period_start", "period_end", "created_at", "currency", "line_count",
        "licensee", "purpose", "territory", "image_count", "gross", "agency_commission", "net", "earliest_due_date",
    ]

    /// The statement as CSV; see the file header for the layout.
    public func csv() -> String {
        var rows = [Self.csvColumns]
        let header = [sender, recipient, period.start.description, period.end.description, createdAt.description]
        if sections.isEmpty {
            rows.append(["HEAD"] + header + ["", "0", "", "", "", "0", "0", "0", "0", ""])
        }
        for section in sections {
            rows.append(["HEAD"] + header + [
                section.currency, String(section.lines.count), "", "", "", String(section.imageCount),
                String(section.gross), String(section.agencyCommission), String(section.net),
                section.earliestDueDate.description,
            ])
            for line in section.lines {
                rows.append(["LINE", "", "", "", "", "", section.currency, "", line.licensee, line.purpose, line.territory,
                             String(line.imageCount), String(line.gross), String(line.agencyCommission),
                             String(line.net), line.earliestDueDate.description])
            }
        }
        return rows.map { $0.map(Self.csvField).joined(separator: ",") + "\n" }.joined()
    }

    /// The statement as pretty-printed JSON with sorted keys.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(JSONForm(self)), as: UTF8.self) + "\n"
        } catch {
            preconditionFailure("encoding plain strings and integers cannot fail: \(error)")
        }
    }

    private static func csvField(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// The JSON layout of a statement (snake_case keys).
private struct JSONForm: Encodable {
    struct Header: Encodable {
        let format = "twinrender-royalty-statement/1"
        let sender, recipient, period_start, period_end, created_at: String
        let section_count, line_count: Int
    }

    struct Line: Encodable {
        let licensee, purpose, territory: String
        let image_count: Int
        let gross, agency_commission, net: Int64
        let earliest_due_date: String
    }

    struct Section: Encodable {
        let currency: String
        let line_count, image_count: Int
        let gross, agency_commission, net: Int64
        let earliest_due_date: String
        let lines: [Line]
    }

    let header: Header
    let sections: [Section]

    init(_ s: RoyaltyStatement) {
        header = Header(sender: s.sender, recipient: s.recipient, period_start: s.period.start.description,
                        period_end: s.period.end.description, created_at: s.createdAt.description,
                        section_count: s.sections.count, line_count: s.lineCount)
        sections = s.sections.map { section in
            Section(currency: section.currency, line_count: section.lines.count, image_count: section.imageCount,
                    gross: section.gross, agency_commission: section.agencyCommission, net: section.net,
                    earliest_due_date: section.earliestDueDate.description,
                    lines: section.lines.map {
                        Line(licensee: $0.licensee, purpose: $0.purpose, territory: $0.territory,
                             image_count: $0.imageCount, gross: $0.gross, agency_commission: $0.agencyCommission,
                             net: $0.net, earliest_due_date: $0.earliestDueDate.description)
                    })
        }
    }
}
