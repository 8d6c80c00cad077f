// Role: images counted against each grant for the consent commands, as the daemon counts them.
// Reference: docs/consent-registry.md, "Quotas across workers and daemons".
// Failure modes: an unreadable ledger or reservations file fails the command.

import Foundation
import TwinConsent
import TwinDaemon
import TwinLedger

/// Images counted against each grant, as the daemon counts them: delivered according to the
/// royalty ledger plus reserved by jobs in flight (the spool's `state/quota-reservations.json`).
struct ConsentUsage {
    private let ledger: LedgerReader
    private let reservations: [QuotaReservations.Reservation]

    /// Reads the ledger and reservations named by `config`.
    init(config: DaemonConfig) throws {
        ledger = LedgerReader(directory: config.ledgerDirectory)
        let file = config.spoolDirectory.appendingPathComponent("state/quota-reservations.json")
        reservations = FileManager.default.fileExists(atPath: file.path) ? try QuotaReservations(file: file).all() : []
    }

    /// Delivered plus reserved images of `grant`, leaving out `job`'s own reservation.
    func used(grant: String, excludingJob job: String? = nil) throws -> Int {
        let reserved = reservations.filter { $0.grant == grant && $0.job != job }.reduce(0) { $0 + $1.count }
        return try ledger.deliveredCount(grant: grant) + reserved
    }

    /// `used` for every grant uid in `uids`, computed once (evaluation closures cannot throw).
    func table(_ uids: some Sequence<String>, excludingJob job: String? = nil) throws -> [String: Int] {
        var table: [String: Int] = [:]
        for uid in uids { table[uid] = try used(grant: uid, excludingJob: job) }
        return table
    }
}
