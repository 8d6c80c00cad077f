// Role: the schema migrator on a real PostgreSQL: versioned, idempotent, safe when several hosts
// run `db migrate` at once, and refusing a database newer than the binary.
// Reference: FleetSchema.swift.
// Failure modes covered: a second run applying anything, concurrent migrators applying a version
// twice, a downgrade.

import Foundation
import Testing
@testable import TwinFleet

@Suite(.enabled(if: FleetTestDatabase.isConfigured, FleetTestDatabase.skipReason), .serialized)
struct FleetSchemaTests {
    @Test func migrationsAreVersionedAndIdempotent() async throws {
        try await FleetTestDatabase.withDatabase(migrated: false) { database, _ in
            #expect(try await FleetSchema.version(of: database) == 0)
            let first = try await FleetSchema.migrate(database)
            #expect(first == FleetSchema.migrations.map(\.version))
            #expect(try await FleetSchema.version(of: database) == FleetSchema.currentVersion)
            let again = try await FleetSchema.migrate(database)
            #expect(again.isEmpty)
            let recorded: Int = try await database.value("SELECT count(*)::integer FROM fleet_schema")
            #expect(recorded == FleetSchema.migrations.count)
            for table in ["jobs", "hosts", "grant_quota", "quota_reservations", "ledger_heads", "royalty_events"] {
                let exists: Bool = try await database.value("SELECT to_regclass('\(table)') IS NOT NULL")
                #expect(exists, "table \(table)")
            }
        }
    }

    @Test func concurrentMigratorsApplyEachVersionOnce() async throws {
        try await FleetTestDatabase.withDatabase(migrated: false) { database, _ in
            let runs = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 { group.addTask { try await FleetSchema.migrate(database) } }
                var all = [[Int]]()
                for try await applied in group { all.append(applied) }
                return all
            }
            #expect(runs.flatMap { $0 }.sorted() == FleetSchema.migrations.map(\.version))
            #expect(try await FleetSchema.version(of: database) == FleetSchema.currentVersion)
        }
    }

    @Test func newerSchemaIsRefused() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            _ = try await database.rows("INSERT INTO fleet_schema (version, name) VALUES (\(FleetSchema.currentVersion + 1), 'from the future')")
            await #expect(throws: FleetError.schemaTooNew(found: FleetSchema.currentVersion + 1, known: FleetSchema.currentVersion)) {
                try await FleetSchema.migrate(database)
            }
        }
    }
}
