// Role: before the first claim, makes `out/` and the ledger agree for this host. The rules:
// once a royalty event is committed its image reaches `out/`, and an image in `out/` always has
// its event. A staged image left by a dead process is delivered (renamed into place) when the
// ledger holds its event with the same SHA-256, and removed otherwise (it was never delivered).
// A delivered image that has no event is moved out of readers' reach into `state/orphaned/`.
// Quota reservations of jobs no longer in the spool are dropped.
// Failure modes: nothing here stops the start; each problem is one status line
// (`delivery.completed_after_crash`, `output.staged_discarded`, `delivery.orphan_image`,
// `consent.reservation_pruned`, `spool.error`).

import Crypto
import Foundation
import TwinBase
import TwinLedger
import TwinSpool

/// Start-up reconciliation of staged images, delivered images and reservations.
struct StartupReconciliation {
    let context: PipelineContext

    func run() {
        finishStagedDeliveries()
        quarantineImagesWithoutEvents()
        pruneReservations()
    }

    private var log: StatusLog { context.log }

    private func finishStagedDeliveries() {
        let leftovers: [StagedImage]
        do {
            leftovers = try context.spool.stagedLeftovers()
        } catch {
            log.event("spool.error", level: .error, ["error": .string("cannot list staged images: \(error)")])
            return
        }
        for leftover in leftovers {
            let event = try? context.ledger.reader.event(id: RoyaltyEvent.eventID(job: leftover.job, imageIndex: leftover.index))
            let final = leftover.finalURL
            if let event, Self.sha256(of: leftover.url) == event.outputSHA256, !FileManager.default.fileExists(atPath: final.path),
               rename(leftover.url.path, final.path) == 0 {
                log.event("delivery.completed_after_crash", level: .warning, job: leftover.job,
                          ["image": .int(leftover.index), "event": .string(event.eventID), "path": .string(final.path)])
            } else {
                unlink(leftover.url.path)
                log.event("output.staged_discarded", level: .notice, job: leftover.job,
                          ["image": .int(leftover.index), "reason": .string(event == nil ? "no royalty event: never delivered" : "already in out/ or not the recorded bytes")])
            }
        }
        try? DurableFile.fsyncDirectory(context.spool.layout.out.path)
    }

    private func quarantineImagesWithoutEvents() {
        let out = context.spool.layout.out
        let names = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        let orphans = context.spool.layout.state.appendingPathComponent("orphaned")
        for name in names where !name.hasPrefix(".") && name.hasSuffix(".png") {
            guard let (job, index) = Spool.parseImageName(name) else { continue }
            guard (try? context.ledger.reader.event(id: RoyaltyEvent.eventID(job: job, imageIndex: index))) == .some(nil) else { continue }
            try? FileManager.default.createDirectory(at: orphans, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let target = orphans.appendingPathComponent(name)
            unlink(target.path)
            if rename(out.appendingPathComponent(name).path, target.path) == 0 {
                log.event("delivery.orphan_image", level: .error, job: job,
                          ["image": .int(index), "moved_to": .string(target.path), "reason": .string("an image in out/ had no royalty event")])
            }
        }
    }

    private func pruneReservations() {
        do {
            let stale = try context.reservations.prune(keepingJobs: { try context.spool.idsInFlight() })
            for reservation in stale {
                log.event("consent.reservation_pruned", level: .notice, job: reservation.job,
                          ["grant": .string(reservation.grant), "count": .int(reservation.count)])
            }
        } catch {
            log.event("spool.error", level: .error, ["error": .string("cannot prune quota reservations: \(error)")])
        }
    }

    static func sha256(of url: URL) -> String? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
