// Role: a model's royalty statement for one month, modelled on DDEX DSR flat files (a header,
// then one summary line per licensee x purpose x territory). Amounts are integer minor units,
// summed exactly; each currency is its own section with its own totals, never added to another.
// Statements come only from verified events: the public builder takes a `LedgerVerification`
// (which only `LedgerReader.verify(hostKeys:)` makes) and refuses a ledger with any problem.
// Failure modes: a ledger that does not verify throws `unverifiedLedger` naming its first problem;
// a sum past Int64 throws `amountOverflow` instead of wrapping.
// Reference: DDEX DSR flat-file statements (header + summary lines per usage).

import TwinBase

/// A royalty statement: one section per currency, each with a header and summary lines.
public struct RoyaltyStatement: Sendable, Hashable {
    /// One summary line: the images delivered to one licensee for one purpose in one territory.
    public struct Line: Sendable, Hashable {
        public let licensee: String
        public let purpose: String
        public let territory: String
        public let imageCount: Int
        /// Sum of the events' amounts, minor units.
        public let gross: Int64
        /// Sum of the events' agency commissions, minor units.
        public let agencyCommission: Int64
        /// `gross - agencyCommission`.
        public let net: Int64
        /// The earliest due date among the events.
        public let earliestDueDate: CalendarDate
    }

    /// All lines in one currency and their totals.
    public struct Section: Sendable, Hashable {
        /// ISO 4217 code shared by every line of the section.
        public let currency: String
        /// Sorted by licensee, purpose, territory.
        public let lines: [Line]
        public let imageCount: Int
        public let gross: Int64
        public let agencyCommission: Int64
        public let net: Int64
        /// The earliest due date in the section.
        public let earliestDueDate: CalendarDate
    }

    /// The statement's sender (the platform that delivered the images).
    public let sender: String
    /// The payee party (`model` field of the events).
    public let recipient: String
    public let period: StatementPeriod
    public let createdAt: UTCTimestamp
    /// Sorted by currency code; empty when nothing was delivered in the period.
    public let sections: [Section]

    /// Summary lines across all sections.
    public var lineCount: Int { sections.reduce(0) { $0 + $1.lines.count } }

    /// Builds the statement of `model` for `period` from a verified ledger (events of other models
    /// and other months are ignored). Deterministic: the same ledger gives the same statement.
    /// - Throws: `unverifiedLedger` when `verification` found any problem (nothing is paid from a
    ///   ledger that does not verify: fix or explain the problem first); `amountOverflow` when a
    ///   total does not fit in Int64.
    public static func build(from verification: LedgerVerification, model: String, period: StatementPeriod,
                             createdAt: UTCTimestamp, sender: String = "twinrender") throws -> RoyaltyStatement {
        if let problem = verification.firstProblem {
            throw LedgerError.unverifiedLedger(problem: problem.description, problemCount: verification.problems.count)
        }
        return try build(events: verification.events, model: model, period: period, createdAt: createdAt, sender: sender)
    }

    /// The statement of `model` for `period` from `events`, which the caller has verified.
    static func build(events: some Sequence<RoyaltyEvent>, model: String, period: StatementPeriod,
                      createdAt: UTCTimestamp, sender: String = "twinrender") throws -> RoyaltyStatement {
        var groups = [LineKey: [RoyaltyEvent]]()
        for event in events where event.model == model && period.contains(event.deliveredAt) {
            groups[LineKey(currency: event.currency, licensee: event.licensee, purpose: event.purpose,
                       territory: event.territory), default: []].append(event)
        }
        var linesByCurrency = [String: [Line]]()
        for (key, group) in groups {
            let line = Line(licensee: key.licensee, purpose: key.purpose, territory: key.territory,
                            imageCount: group.count,
                            gross: try sum(group.map(\.amount), "gross of \(key.licensee)/\(key.purpose)/\(key.territory)"),
                            agencyCommission: try sum(group.map(\.agencyCommission), "commission of \(key.licensee)"),
                            net: try sum(group.map(\.net), "net of \(key.licensee)/\(key.purpose)/\(key.territory)"),
                            earliestDueDate: group.map(\.dueDate).min()!)
            linesByCurrency[key.currency, default: []].append(line)
        }
        let sections = try linesByCurrency.keys.sorted().map { currency in
            let lines = linesByCurrency[currency]!.sorted { ($0.licensee, $0.purpose, $0.territory) < ($1.licensee, $1.purpose, $1.territory) }
            return Section(currency: currency, lines: lines, imageCount: lines.reduce(0) { $0 + $1.imageCount },
                           gross: try sum(lines.map(\.gross), "\(currency) gross total"),
                           agencyCommission: try sum(lines.map(\.agencyCommission), "\(currency) commission total"),
                           net: try sum(lines.map(\.net), "\(currency) net total"),
                           earliestDueDate: lines.map(\.earliestDueDate).min()!)
        }
        return RoyaltyStatement(sender: sender, recipient: model, period: period, createdAt: createdAt, sections: sections)
    }

    /// What one summary line groups by.
    private struct LineKey: Hashable { let currency, licensee, purpose, territory: String }

    private static func sum(_ values: [Int64], _ what: String) throws -> Int64 {
        try values.reduce(0) { total, value in
            let (result, overflow) = total.addingReportingOverflow(value)
            if overflow { throw LedgerError.amountOverflow(what) }
            return result
        }
    }
}
