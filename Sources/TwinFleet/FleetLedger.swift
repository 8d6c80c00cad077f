// Role: the royalty ledger as the fleet database holds it: one row per event carrying its
// canonical, host-signed line, and one signed head per host. `export` writes the ledger
// directory format (`<host>.jsonl` + `<host>.jsonl.head`), so `verify` is TwinLedger's own
// auditor run over an export, plus the checks only the database can answer (row columns agree
// with their line, quotas equal delivered events, delivered jobs have events and vice versa).
// Reference: docs/ledger.md (format, signed heads); Certificate Transparency's auditor.
// Failure modes: an edited, deleted, reordered or forged row shows as the same problems a damaged
// segment shows (`LedgerProblem`); database disagreements are listed in `inconsistencies`. A
// database outage is `databaseUnavailable`. Export replaces files atomically (DurableFile).

import Crypto
import Foundation
import PostgresNIO
import TwinBase
import TwinLedger

/// The result of ``FleetLedger/verify(hostKeys:)``.
public struct FleetVerification: Sendable {
    /// TwinLedger's verification of the exported chains and heads.
    public let ledger: LedgerVerification
    /// Disagreements inside the database (columns vs lines, quotas, job states).
    public let inconsistencies: [String]
    /// True when both are clean.
    public var isValid: Bool { ledger.isValid && inconsistencies.isEmpty }
}

/// Read side of the database ledger.
public struct FleetLedger: Sendable {
    /// The database.
    public let database: FleetDatabase

    /// Reads the ledger in `database`.
    public init(database: FleetDatabase) { self.database = database }

    /// Writes every host's chain and signed head into `directory` (created if missing) in the
    /// ledger directory format; returns the number of events written.
    @discardableResult
    public func export(to directory: URL) async throws -> Int {
        let (lines, heads) = try await database.connection("export ledger") { connection in
            let logger = database.logger
            var lines = [String: [String]]()
            for try await (host, line) in try await connection.query(
                "SELECT host, line FROM royalty_events ORDER BY host, seq", logger: logger).decode((String, String).self) {
                lines[host, default: []].append(line)
            }
            var heads = [String: String]()
            for try await (host, head) in try await connection.query(
                "SELECT host, head FROM ledger_heads WHERE head IS NOT NULL", logger: logger).decode((String, String).self) {
                heads[host] = head
            }
            return (lines, heads)
        }
        do {
            try DurableFile.makeDirectory(directory.path, mode: 0o755)
            for host in Set(lines.keys).union(heads.keys).sorted() {
                let text = (lines[host] ?? []).map { $0 + "\n" }.joined()
                try DurableFile.replace(Array(text.utf8), at: directory.appendingPathComponent(host + ".jsonl").path)
                if let head = heads[host] {
                    try DurableFile.replace(Array(head.utf8),
                                            at: directory.appendingPathComponent(SignedHead.headFileName(host: host)).path)
                }
            }
        } catch {
            throw FleetError.query("export to \(directory.path): \(error)")
        }
        return lines.values.reduce(0) { $0 + $1.count }
    }

    /// Exports into a temporary directory, verifies it with `LedgerReader.verify(hostKeys:)`, and
    /// cross-checks the database (see ``FleetVerification``).
    public func verify(hostKeys: [String: [Curve25519.Signing.PublicKey]]) async throws -> FleetVerification {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("twinrender-fleet-verify-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try await export(to: scratch)
        let ledger = LedgerReader(directory: scratch).verify(hostKeys: hostKeys)
        let inconsistencies = try await database.connection("cross-check ledger") { connection in
            try await Self.crossCheck(connection, logger: database.logger)
        }
        return FleetVerification(ledger: ledger, inconsistencies: inconsistencies)
    }

    /// Events committed after `position` (the commit order), at most `limit`, with their positions.
    public func events(after position: Int64, limit: Int = 1000) async throws -> [(position: Int64, event: RoyaltyEvent)] {
        let rows = try await database.connection("read events") { connection in
            var rows = [(Int64, String)]()
            for try await row in try await connection.query("""
                SELECT position, line FROM royalty_events WHERE position > \(position) ORDER BY position LIMIT \(limit)
                """, logger: database.logger).decode((Int64, String).self) { rows.append(row) }
            return rows
        }
        return try rows.map { position, line in
            guard let event = RoyaltyEvent.parse(line: line) else {
                throw FleetError.query("royalty event at position \(position) is not a canonical ledger line")
            }
            return (position, event)
        }
    }

    /// The event `id`, if the ledger holds it.
    public func event(id: String) async throws -> RoyaltyEvent? {
        let line = try await database.connection("read event \(id)") { connection in
            try await connection.query("SELECT line FROM royalty_events WHERE event_id = \(id)", logger: database.logger)
                .collect().first?.decode(String.self)
        }
        guard let line else { return nil }
        guard let event = RoyaltyEvent.parse(line: line) else {
            throw FleetError.query("royalty event \(id) is not a canonical ledger line")
        }
        return event
    }

    private static func crossCheck(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var found = [String]()
        for try await (id, host, seq, job, index, grant, sha, line) in try await connection.query("""
            SELECT event_id, host, seq, job, image_index, grant_uid, output_sha256, line FROM royalty_events ORDER BY position
            """, logger: logger).decode((String, String, Int64, String, Int, String, String, String).self) {
            guard let event = RoyaltyEvent.parse(line: line) else { continue }   // the export's verification names it
            if (event.eventID, event.host, event.seq, event.job) != (id, host, seq, job)
                || (event.imageIndex, event.grant, event.outputSHA256) != (index, grant, sha) {
                found.append("event row \(id): its columns disagree with its signed line")
            }
        }
        for try await (grant, delivered, events) in try await connection.query("""
            SELECT q.grant_uid, q.delivered, count(e.event_id)::integer FROM grant_quota q
            LEFT JOIN royalty_events e ON e.grant_uid = q.grant_uid GROUP BY q.grant_uid, q.delivered
            HAVING q.delivered <> count(e.event_id) ORDER BY q.grant_uid
            """, logger: logger).decode((String, Int, Int).self) {
            found.append("grant \(grant): quota says \(delivered) delivered, the ledger holds \(events) events")
        }
        for try await (job, state) in try await connection.query("""
            SELECT j.id, j.state FROM jobs j WHERE (j.state = 'delivered') <> EXISTS (SELECT 1 FROM royalty_events e WHERE e.job = j.id)
            ORDER BY j.id
            """, logger: logger).decode((String, String).self) {
            found.append(state == "delivered" ? "job \(job) is delivered without royalty events"
                                              : "job \(job) has royalty events but is \(state)")
        }
        return found
    }
}
