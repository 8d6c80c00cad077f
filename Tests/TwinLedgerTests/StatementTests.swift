import Foundation
import TwinBase
import Testing
@testable import TwinLedger

@Suite struct StatementTests {
    /// A ledger with Ada's March deliveries in two currencies, plus events that must be left out.
    /// Commissions: 2000 bp of 1250 = 250; 2001 bp of 4001 = 800.6 -> 801; 1500 bp of 7 = 1.05 -> 1.
    private func marchLedger() throws -> URL {
        let dir = makeTempDirectory()
        let ledger = try openLedger(dir, host: "h")
        let day: Int64 = 86_400
        let drafts = [
            sampleDraft(job: "1", licensee: "hm", at: march5(), amount: 1250, basisPoints: 2000, paymentDays: 30),
            sampleDraft(job: "2", licensee: "hm", at: march5(plus: 2 * day), amount: 1250, basisPoints: 2000, paymentDays: 14),
            sampleDraft(job: "3", licensee: "hm", purpose: "print", at: march5(), amount: 4001, basisPoints: 2001),
            sampleDraft(job: "4", licensee: "hm", territory: "US", at: march5(), amount: 1500, basisPoints: 2000, currency: "USD"),
            sampleDraft(job: "5", licensee: "cos", at: march5(plus: day), amount: 999, basisPoints: 0),
            sampleDraft(job: "6", licensee: "cos", territory: "US", at: march5(), amount: 7, basisPoints: 1500, currency: "USD"),
            sampleDraft(job: "other-model", model: "model:bea", amount: 100_000, basisPoints: 0),
            sampleDraft(job: "april", at: UTCTimestamp(iso8601: "2026-04-01T00:00:00Z")!, amount: 100_000, basisPoints: 0),
            sampleDraft(job: "february", at: UTCTimestamp(iso8601: "2026-02-28T23:59:59Z")!, amount: 100_000, basisPoints: 0),
        ]
        for draft in drafts { _ = try ledger.append(draft) }
        return dir
    }

    /// Ada's March statement from the verified ledger.
    private func marchStatement(period: String = "2026-03", createdAt: UTCTimestamp = march5()) throws -> RoyaltyStatement {
        try RoyaltyStatement.build(from: verify(try marchLedger()), model: "model:ada",
                                   period: StatementPeriod(period)!, createdAt: createdAt)
    }

    @Test func linesAndTotalsAreExactPerCurrency() throws {
        let statement = try marchStatement(createdAt: march5(plus: 86_400 * 30))
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
        let events = verify(try marchLedger()).events
        let period = StatementPeriod("2026-03")!
        let a = try RoyaltyStatement.build(events: events, model: "model:ada", period: period, createdAt: march5())
        let b = try RoyaltyStatement.build(events: events.reversed(), model: "model:ada", period: period, createdAt: march5())
        #expect(a == b)
        #expect(a.csv() == b.csv() && a.json() == b.json())
    }

    @Test func csvIsAFlatFileWithHeadAndLineRecords() throws {
        let statement = try marchStatement(createdAt: UTCTimestamp(iso8601: "2026-04-02T08:00:00Z")!)
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
        let statement = try marchStatement()
        struct Form: Decodable {
            struct Header: Decodable { let period_start, period_end, recipient: String; let line_count: Int }
            struct Line: Decodable { let gross: Int64 }
            struct Section: Decodable { let currency: String; let net: Int64; let lines: [Line] }
            let header: Header
            let sections: [Section]
        }
        let form = try JSONDecoder().decode(Form.self, from: Data(statement.json().utf8))
        #expect(form.header.period_start == "2026-03-01" && form.header.period_end == "2026-03-31")
        #expect(form.header.line_count == 5 && form.header.recipient == "model:ada")
        #expect(form.sections.map(\.currency) == ["EUR", "USD"])
        #expect(form.sections.map(\.net) == [6199, 1206])
        #expect(form.sections[0].lines.map(\.gross) == [999, 2500, 4001])
    }

    @Test func emptyPeriodHasOneHeadAndNoSections() throws {
        let statement = try marchStatement(period: "2025-03")
        #expect(statement.sections.isEmpty)
        let rows = statement.csv().split(separator: "\n")
        #expect(rows.count == 2 && rows[1].hasPrefix("HEAD,twinrender,model:ada,2025-03-01,2025-03-31,"))
    }

    @Test func fieldsWithCommasAndQuotesAreQuoted() throws {
        let ledger = try openLedger(makeTempDirectory(), host: "h")
        let event = try ledger.append(sampleDraft(licensee: "H&M, \"Studio\""))
        let csv = try RoyaltyStatement.build(events: [event], model: "model:ada", period: StatementPeriod("2026-03")!,
                                             createdAt: march5()).csv()
        #expect(csv.contains(",\"H&M, \"\"Studio\"\"\",ecommerce,"))
    }

    @Test func overflowingTotalsThrowInsteadOfWrapping() throws {
        let ledger = try openLedger(makeTempDirectory(), host: "h")
        let events = try (0..<2).map { try ledger.append(sampleDraft(job: "big-\($0)", amount: .max, basisPoints: 0)) }
        #expect(throws: LedgerError.self) {
            try RoyaltyStatement.build(events: events, model: "model:ada", period: StatementPeriod("2026-03")!, createdAt: march5())
        }
    }

    @Test func commissionIsRoundedHalfUpPerImage() throws {
        let dir = makeTempDirectory()
        let ledger = try openLedger(dir)
        // 5 minor units at 19.99 % is 0.9995: 1 per image, not 0 (truncation gave 0 on all four).
        let events = try (0..<4).map { try ledger.append(sampleDraft(job: "tiny", image: $0, amount: 5, basisPoints: 1999)) }
        #expect(events.map(\.agencyCommission) == [1, 1, 1, 1])
        let statement = try RoyaltyStatement.build(from: verify(dir), model: "model:ada", period: StatementPeriod("2026-03")!,
                                                   createdAt: march5())
        #expect((statement.sections[0].gross, statement.sections[0].agencyCommission, statement.sections[0].net) == (20, 4, 16))
        #expect(RoyaltyEvent.agencyCommission(amount: 5, basisPoints: 1000) == 1)     // 0.5 rounds up
        #expect(RoyaltyEvent.agencyCommission(amount: 4, basisPoints: 1000) == 0)     // 0.4 rounds down
        #expect(RoyaltyEvent.agencyCommission(amount: 10_000, basisPoints: 1999) == 1999)
        #expect(RoyaltyEvent.agencyCommission(amount: .max, basisPoints: 10_000) == .max)
        #expect(RoyaltyEvent.agencyCommission(amount: .max, basisPoints: 5000) == Int64.max / 2 + 1)
        #expect(RoyaltyEvent.agencyCommission(amount: 12_345, basisPoints: 0) == 0)
    }

    @Test func statementIsRefusedFromALedgerThatDoesNotVerify() throws {
        let dir = try marchLedger()
        let segment = dir.appendingPathComponent("h.jsonl")
        var lines = try segmentLines(segment)
        lines[0] = lines[0].replacingOccurrences(of: "\"licensee\":\"hm\"", with: "\"licensee\":\"xx\"")
        try writeLines(lines, to: segment)
        do {
            _ = try RoyaltyStatement.build(from: verify(dir), model: "model:ada", period: StatementPeriod("2026-03")!,
                                           createdAt: march5())
            Issue.record("a statement was built from an edited ledger")
        } catch let error as LedgerError {
            #expect("\(error)".contains("\(segment.path):1: hashMismatch"))
        }
    }

    @Test func statementIsRefusedWhenAHostHasNoRegisteredKey() throws {
        let dir = try marchLedger()
        #expect(throws: LedgerError.self) {
            try RoyaltyStatement.build(from: verify(dir, hosts: ["other"]), model: "model:ada",
                                       period: StatementPeriod("2026-03")!, createdAt: march5())
        }
        // And with the right key it is built.
        #expect(try RoyaltyStatement.build(from: verify(dir), model: "model:ada", period: StatementPeriod("2026-03")!,
                                           createdAt: march5()).lineCount == 5)
    }
}
