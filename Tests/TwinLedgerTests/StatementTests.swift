import Foundation
import TwinBase
import TwinBase
import Testing
@testable import TwinLedger

@Suite struct StatementTests {
    /// Ada's March deliveries in two currencies, plus events that must be left out.
    private func marchEvents() throws -> [RoyaltyEvent] {
        let ledger = try RoyaltyLedger(directory: makeTempDirectory(), host: "h")
        let day: Int64 = 86_400
        let drafts = [
            sampleDraft(job: "1", licensee: "hm", at: march5(), amount: 1250, commission: 250, paymentDays: 30),
            sampleDraft(job: "2", licensee: "hm", at: march5(plus: 2 * day), amount: 1250, commission: 250, paymentDays: 14),
            sampleDraft(job: "3", licensee: "hm", purpose: "print", at: march5(), amount: 4001, commission: 801),
            sampleDraft(job: "4", licensee: "hm", territory: "US", at: march5(), amount: 1500, commission: 300, currency: "USD"),
            sampleDraft(job: "5", licensee: "cos", at: march5(plus: day), amount: 999, commission: 0),
            sampleDraft(job: "6", licensee: "cos", territory: "US", at: march5(), amount: 7, commission: 1, currency: "USD"),
            sampleDraft(job: "other-model", model: "model:bea", amount: 100_000, commission: 0),
            sampleDraft(job: "april", at: UTCTimestamp(iso8601: "2026-04-01T00:00:00Z")!, amount: 100_000, commission: 0),
            sampleDraft(job: "february", at: UTCTimestamp(iso8601: "2026-02-28T23:59:59Z")!, amount: 100_000, commission: 0),
        ]
        return try drafts.map { try ledger.append($0) }
    }

    @Test func linesAndTotalsAreExactPerCurrency() throws {
        let statement = try RoyaltyStatement.build(events: try marchEvents(), model: "model:ada",
                                                   period: StatementPeriod("2026-03")!, createdAt: march5(plus: 86_400 * 30))
        #expect(statement.recipient == "model:ada" && statement.sender == "twinrender")
        #expect(statement.sections.map(\.currency) == ["EUR", "USD"])
        let eur = statement.sections[0]
        #expect(eur.lines.map { "\($0.licensee)/\($0.purpose)/\($0.territory)" } == ["cos/ecommerce/EU", "hm/ecommerce/EU", "hm/print/EU"])
        #expect(eur.lines.map(\.imageCount) == [1, 2, 1])
        #expect(eur.lines.map(\.gross) == [999, 2500, 4001])
        #expect(eur.lines.map(\.agencyCommission) == [0, 500, 801])
        #expect(eur.lines.map(\.net) == [999, 2000, 3200])
        // hm/ecommerce: delivered 03-05 + 30 days = 04-04 and 03-07 + 14 days = 03-21.
        #expect(eur.lines[1].earliestDueDate.description == "2026-03-21")
        #expect((eur.imageCount, eur.gross, eur.agencyCommission, eur.net) == (4, 7500, 1301, 6199))
        #expect(eur.earliestDueDate.description == "2026-03-21")
        let usd = statement.sections[1]
        #expect(usd.lines.map(\.licensee) == ["cos", "hm"])
        #expect((usd.imageCount, usd.gross, usd.agencyCommission, usd.net) == (2, 1507, 301, 1206))
        #expect(statement.lineCount == 5)
    }

    @Test func statementDoesNotDependOnEventOrder() throws {
        let events = try marchEvents()
        let period = StatementPeriod("2026-03")!
        let a = try RoyaltyStatement.build(events: events, model: "model:ada", period: period, createdAt: march5())
        let b = try RoyaltyStatement.build(events: events.reversed(), model: "model:ada", period: period, createdAt: march5())
        #expect(a == b)
        #expect(a.csv() == b.csv() && a.json() == b.json())
    }

    @Test func csvIsAFlatFileWithHeadAndLineRecords() throws {
        let statement = try RoyaltyStatement.build(events: try marchEvents(), model: "model:ada",
                                                   period: StatementPeriod("2026-03")!,
                                                   createdAt: UTCTimestamp(iso8601: "2026-04-02T08:00:00Z")!)
        let expected = """
        record_type,sender,recipient,period_start,period_end,created_at,currency,line_count,licensee,purpose,territory,image_count,gross,agency_commission,net,earliest_due_date
        HEAD,twinrender,model:ada,2026-03-01,2026-03-31,2026-04-02T08:00:00Z,EUR,3,,,,4,7500,1301,6199,2026-03-21
        LINE,,,,,,EUR,,cos,ecommerce,EU,1,999,0,999,2026-04-05
        LINE,,,,,,EUR,,hm,ecommerce,EU,2,2500,500,2000,2026-03-21
        LINE,,,,,,EUR,,hm,print,EU,1,4001,801,3200,2026-04-04
        HEAD,twinrender,model:ada,2026-03-01,2026-03-31,2026-04-02T08:00:00Z,USD,2,,,,2,1507,301,1206,2026-04-04
        LINE,,,,,,USD,,cos,ecommerce,US,1,7,1,6,2026-04-04
        LINE,,,,,,USD,,hm,ecommerce,US,1,1500,300,1200,2026-04-04

        """
        #expect(statement.csv() == expected)
    }

    @Test func jsonCarriesTheSameNumbers() throws {
        let statement = try RoyaltyStatement.build(events: try marchEvents(), model: "model:ada",
                                                   period: StatementPeriod("2026-03")!, createdAt: march5())
        let object = try JSONSerialization.jsonObject(with: Data(statement.json().utf8)) as! [String: Any]
        let header = object["header"] as! [String: Any]
        #expect(header["period_start"] as? String == "2026-03-01" && header["period_end"] as? String == "2026-03-31")
        #expect(header["line_count"] as? Int == 5 && header["recipient"] as? String == "model:ada")
        let sections = object["sections"] as! [[String: Any]]
        #expect(sections.map { $0["currency"] as? String } == ["EUR", "USD"])
        #expect(sections.map { $0["net"] as? Int } == [6199, 1206])
        let lines = sections[0]["lines"] as! [[String: Any]]
        #expect(lines.map { $0["gross"] as? Int } == [999, 2500, 4001])
    }

    @Test func emptyPeriodHasOneHeadAndNoSections() throws {
        let statement = try RoyaltyStatement.build(events: try marchEvents(), model: "model:ada",
                                                   period: StatementPeriod("2025-03")!, createdAt: march5())
        #expect(statement.sections.isEmpty)
        let rows = statement.csv().split(separator: "\n")
        #expect(rows.count == 2 && rows[1].hasPrefix("HEAD,twinrender,model:ada,2025-03-01,2025-03-31,"))
    }

    @Test func fieldsWithCommasAndQuotesAreQuoted() throws {
        let ledger = try RoyaltyLedger(directory: makeTempDirectory(), host: "h")
        let event = try ledger.append(sampleDraft(licensee: "H&M, \"Studio\""))
        let csv = try RoyaltyStatement.build(events: [event], model: "model:ada", period: StatementPeriod("2026-03")!,
                                             createdAt: march5()).csv()
        #expect(csv.contains(",\"H&M, \"\"Studio\"\"\",ecommerce,"))
    }

    @Test func overflowingTotalsThrowInsteadOfWrapping() throws {
        let ledger = try RoyaltyLedger(directory: makeTempDirectory(), host: "h")
        let events = try (0..<2).map { try ledger.append(sampleDraft(job: "big-\($0)", amount: .max, commission: 0)) }
        #expect(throws: LedgerError.self) {
            try RoyaltyStatement.build(events: events, model: "model:ada", period: StatementPeriod("2026-03")!, createdAt: march5())
        }
    }
}
