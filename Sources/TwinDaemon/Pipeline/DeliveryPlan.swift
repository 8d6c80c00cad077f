// Role: what one attempt of a job has to do, read from the ledger (the record of what was
// delivered) and `out/`: which images are new, which were delivered and are in place, which
// have their event and a staged file (finish the rename), and which have their event but lost
// their file (re-create after a fresh consent check).
// Failure modes: a ledger read failure throws (transient); a job id whose existing events
// describe another delivery (twin, licensee, purpose, territory) is a `conflict`: the job is
// refused, nothing is rendered.

import Foundation
import TwinConsent
import TwinLedger
import TwinSpool

/// The images of a job, by what this attempt must do with them.
struct DeliveryPlan {
    /// Images with a royalty event, by index.
    let committed: [Int: RoyaltyEvent]
    /// Images without an event: render, consent, commit.
    let pending: [Int]
    /// Images with an event and a staged file from an interrupted attempt: rename into out/.
    let stagedCommitted: [Int: URL]
    /// Images with an event whose file is gone: re-render under the original grant.
    let lost: [Int]
    /// Why the job id cannot be this job (its events describe another delivery), or nil.
    let conflict: String?
    /// The grant new images are rendered under (set by the claim-time consent check).
    var grant: Grant?
    /// The original grants of lost images, confirmed by a fresh consent check.
    var restoreGrants: [String: Grant] = [:]

    init(spec: JobSpec, job: ClaimedJob, context: PipelineContext) throws {
        var committed: [Int: RoyaltyEvent] = [:]
        do {
            for index in 0..<spec.count {
                committed[index] = try context.ledger.reader.event(id: RoyaltyEvent.eventID(job: job.id, imageIndex: index))
            }
        } catch {
            // Whatever keeps the ledger from being read, it is not this job's fault: wait for it.
            throw PipelineFailure(kind: .transient, code: "ledger.unreadable", message: "cannot look up earlier deliveries: \(error)")
        }
        var staged: [Int: URL] = [:], lost: [Int] = []
        for (index, event) in committed where !FileManager.default.fileExists(atPath: context.spool.finalImageURL(job: job.id, index: index).path) {
            let leftovers = (try? context.spool.stagedImages(job: job.id, index: index)) ?? []
            if let url = leftovers.first(where: { StartupReconciliation.sha256(of: $0) == event.outputSHA256 }) { staged[index] = url } else { lost.append(index) }
        }
        self.committed = committed
        self.pending = (0..<spec.count).filter { committed[$0] == nil }
        self.stagedCommitted = staged
        self.lost = lost.sorted()
        self.conflict = committed.values.lazy.compactMap { Self.mismatch(between: $0, and: spec) }.first
    }

    /// Lost images grouped by the grant they were delivered under.
    var lostByGrant: [String: [Int]] {
        Dictionary(grouping: lost, by: { committed[$0]!.grant })
    }

    /// Why `event` cannot belong to `spec`, or nil when it can.
    private static func mismatch(between event: RoyaltyEvent, and spec: JobSpec) -> String? {
        let pairs = [("twin", event.twin, spec.twin), ("licensee", event.licensee, spec.licensee),
                     ("purpose", event.purpose, spec.purpose), ("territory", event.territory, spec.territory)]
        guard let (field, was, now) = pairs.first(where: { $0.1 != $0.2 }) else { return nil }
        return "job id '\(spec.id)' was already delivered with \(field) '\(was)' (event \(event.eventID)); this job names '\(now)'. Use a new job id"
    }
}
