// Role: the fleet database's ledger as a temporary ledger directory, so the commands that read
// ledger directories (`royalties verify`, `royalties statement`, `verify IMAGE`) work unchanged on
// a fleet config (queue.backend = "postgres"): every host's chain, checked by the same code.
// Reference: docs/fleet.md ("Reading the ledger"); FleetLedger.export writes the directory format.
// Failure modes: a config that cannot be loaded or names the directory backend means "not a
// fleet" (the caller uses its ledger directory); an unreachable database throws `CommandFailure`
// naming the redacted URL. The snapshot is private (0700) and removed after use, also on errors.

import Foundation
import TwinFleet

/// A point-in-time copy of the fleet database's ledger in the ledger-directory format.
enum FleetLedgerSnapshot {
    /// Whether the config in `options` keeps its queue, and so its ledger, in the fleet database.
    static func isFleet(_ options: ConfigOptions) -> Bool {
        (try? options.load().queue.backend) == .postgres
    }

    /// Exports the database's ledger into a fresh private directory, runs `body` on it, removes it.
    static func with<T>(_ options: ConfigOptions, _ body: (URL) throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("twinrender-ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try await FleetOptions.withDatabase(url: nil, options) { database in
            try await FleetLedger(database: database).export(to: directory)
        }
        return try body(directory)
    }
}
