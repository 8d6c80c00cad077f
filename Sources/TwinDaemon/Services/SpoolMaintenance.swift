// Role: the spool's housekeeping, at start and then every minute: return jobs whose owning
// process is gone (their claim lock can be taken, whatever their pid) to `incoming/`, move
// entries in `active/` that are not jobs aside, and clean `tmp/` leftovers older than an hour.
// Each action is one status line.
// Failure modes: at start a failure stops the daemon (`daemon.start_failed`); later a failure is
// a `spool.error` line and the next round tries again.

import Foundation
import ServiceLifecycle
import TwinSpool

/// One round of spool housekeeping.
struct SpoolMaintenance: Sendable {
    let spool: Spool
    let maxAttempts: Int
    let log: StatusLog

    /// Recovers dead claims and cleans `tmp/`; logs what it did.
    func run() throws {
        let recovery = try spool.recover(maxAttempts: maxAttempts)
        for item in recovery.requeued {
            log.event("job.requeued", level: .warning, job: item.id,
                      ["attempts": .int(item.attempts), "reason": .string("its process stopped or crashed before finishing it")])
        }
        for reason in recovery.failed + recovery.rejected {
            log.event("job.failed", level: .error, job: reason.job, ["code": .string(reason.code), "reason": .string(reason.message)])
        }
        let removed = try spool.cleanTemporaryFiles()
        if removed > 0 { log.event("spool.tmp_cleaned", level: .notice, ["files": .int(removed)]) }
    }
}

/// Runs `SpoolMaintenance` every `interval` seconds and wakes the workers after it.
struct MaintenanceService: Service {
    let maintenance: SpoolMaintenance
    let interval: Double
    let wake: WakeSignal

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
            guard !Task.isShuttingDownGracefully else { return }
            do {
                try maintenance.run()
            } catch {
                maintenance.log.event("spool.error", level: .error, ["error": .string("housekeeping: \(error)")])
            }
            wake.signal()
        }
    }
}
