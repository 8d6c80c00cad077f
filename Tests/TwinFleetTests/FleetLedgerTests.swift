// Role: the database ledger on a real PostgreSQL: `export` writes the directory ledger's JSONL
// format (one `<host>.jsonl` and `<host>.jsonl.head` per host) whose hash chains and signatures
// verify with TwinLedger's own auditor, which the directory ledger can open and continue; a row
// edited in the database fails verification; `events(after:)` follows the commit order.
// Reference: FleetLedger.swift, docs/ledger.md.
// Failure modes covered: an export that is not the ledger format, a forged line, columns that
// disagree with the signed line, a quota that disagrees with the events.

import Foundation
import Testing
import TwinBase
@testable import TwinFleet
import TwinLedger

@Suite(.enabled(if: FleetTestDatabase.isConfigured, FleetTestDatabase.skipReason), .serialized)
struct FleetLedgerTests {
    /// Two hosts deliver three jobs between them; returns the events in commit order.
    private func deliverSome(_ database: FleetDatabase) async throws -> [RoyaltyEvent] {
        let a = FleetQueue(database: database, host: "render-a")
        let b = FleetQueue(database: database, host: "render-b")
        for id in ["j1", "j2", "j3"] { try await a.submit(id: id, spec: jobBytes(id), priority: 0) }
        var events = [RoyaltyEvent]()
        events += try await a.commit(delivery(try #require(try await a.claim()), count: 2), key: hostKey("render-a"))
        events += try await b.commit(delivery(try #require(try await b.claim()), count: 1), key: hostKey("render-b"))
        events += try await a.commit(delivery(try #require(try await a.claim()), count: 3), key: hostKey("render-a"))
        return events
    }

    @Test func exportIsTheDirectoryLedgerFormatAndVerifies() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let events = try await deliverSome(database)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-export-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect(try await FleetLedger(database: database).export(to: dir) == 6)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            #expect(files == ["render-a.jsonl", "render-a.jsonl.head", "render-b.jsonl", "render-b.jsonl.head"])
            let text = try String(contentsOf: dir.appendingPathComponent("render-a.jsonl"), encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.last == "" && lines.count == 6)   // five lines, each ending in a newline
            #expect(lines.dropLast().map(String.init) == events.filter { $0.host == "render-a" }.map(\.jsonLine))

            let verification = LedgerReader(directory: dir).verify(hostKeys: registeredKeys(["render-a", "render-b"]))
            #expect(verification.isValid, "\(verification.problems)")
            #expect(verification.eventCount == 6)
            #expect(verification.segments.allSatisfy { $0.signedHead != nil })
            // The wrong host key fails it: the signatures are real.
            #expect(!LedgerReader(directory: dir).verify(hostKeys: registeredKeys(["render-a"]).merging(
                ["render-b": [hostKey("someone-else").publicKey]]) { $1 }).isValid)
            // The directory ledger opens the export and continues the chain.
            let ledger = try RoyaltyLedger(directory: dir, host: "render-b", signingKey: hostKey("render-b"))
            let next = try ledger.append(sampleDraft(job: "j9"))
            #expect(next.seq == 2 && next.prevHash == events.first { $0.host == "render-b" }!.hash)
            #expect(LedgerReader(directory: dir).verify(hostKeys: registeredKeys(["render-a", "render-b"])).isValid)
        }
    }

    @Test func verifyFindsAForgedRowAndDisagreements() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            _ = try await deliverSome(database)
            let ledger = FleetLedger(database: database)
            let keys = registeredKeys(["render-a", "render-b"])
            let clean = try await ledger.verify(hostKeys: keys)
            #expect(clean.isValid, "\(clean.ledger.problems) \(clean.inconsistencies)")

            _ = try await database.rows("UPDATE royalty_events SET line = replace(line, '\"amount\":1250', '\"amount\":1') WHERE host = 'render-a' AND seq = 2")
            let forged = try await ledger.verify(hostKeys: keys)
            #expect(!forged.isValid && !forged.ledger.problems.isEmpty)
            _ = try await database.rows("UPDATE royalty_events SET line = replace(line, '\"amount\":1', '\"amount\":1250') WHERE host = 'render-a' AND seq = 2")
            #expect(try await ledger.verify(hostKeys: keys).isValid)

            _ = try await database.rows("UPDATE grant_quota SET delivered = delivered + 1")
            let quota = try await ledger.verify(hostKeys: keys)
            #expect(quota.ledger.isValid && quota.inconsistencies.count == 1)
            _ = try await database.rows("UPDATE grant_quota SET delivered = delivered - 1")

            _ = try await database.rows("UPDATE royalty_events SET output_sha256 = repeat('1', 64) WHERE host = 'render-b'")
            let columns = try await ledger.verify(hostKeys: keys)
            #expect(columns.inconsistencies.contains { $0.contains("disagree") })
        }
    }

    @Test func eventsFollowTheCommitOrder() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let events = try await deliverSome(database)
            let ledger = FleetLedger(database: database)
            let all = try await ledger.events(after: 0)
            #expect(all.map(\.event) == events)
            let tail = try await ledger.events(after: all[3].position, limit: 10)
            #expect(tail.map(\.event) == Array(events[4...]))
            #expect(try await ledger.events(after: all.last!.position).isEmpty)
        }
    }
}
