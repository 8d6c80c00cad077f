// Role: one job claimed from the fleet database, through the same pipeline as a spool job:
//
//     parse → signed order → consent at claim (usage counted by the database) → quota
//     reservation in the database → render, label, mark, sign and stage each image in the shared
//     image directory → consent at delivery → [FleetWorker: the fenced commit transaction] →
//     rename the images into place
//
// The commit point is the database transaction (events, quota, job delivered, under the claim's
// generation); this file decides what to commit and moves the images after it.
// Reference: JobProcessor (the spool's version of the same steps); docs/fleet.md (state machine).
// Failure modes: a refusal ends the job `rejected` with its code; a render or imaging failure
// ends it `failed` (counted against the job, parked after `queue.max_failed_hosts` hosts); a
// transient fault (disk full, the database or the registry unreadable) `deferred` with backoff;
// shutdown or a lost lease stops the render and releases the job. Staged images of a claim that
// is not committed by this host are deleted (`StagedClaims`); those of a committed claim whose
// rename did not happen (a crash between COMMIT and rename) are delivered at the next start
// (FleetDeliveryReconciliation).

import Foundation
import TwinBase
import TwinConsent
import TwinFleet
import TwinInference
import TwinLedger
import TwinSpool

/// Runs fleet claims through the pipeline; one per worker (it owns a renderer).
final class FleetJobRunner: @unchecked Sendable {
    private let context: PipelineContext
    private let production: ImageProduction
    private let gate: ConsentGate
    private let queue: FleetQueue
    private let destination: ImageDirectory
    private let staged: StagedClaims
    private let name: String

    init(index: Int, context: PipelineContext, queue: FleetQueue, destination: ImageDirectory, staged: StagedClaims) {
        self.context = context
        self.production = ImageProduction(context: context, renderer: Renderer(model: context.model, threads: context.config.blasThreads))
        self.gate = ConsentGate(context: context)
        self.queue = queue
        self.destination = destination
        self.staged = staged
        self.name = "render-\(index)"
    }

    /// The job as admitted at claim: what it asks for and the grant it renders under.
    private struct Admission: Sendable {
        let spec: JobSpec
        let order: VerifiedOrder?
        let grant: Grant
    }

    /// Works `claim`: the delivery to commit, or how the claim ends. `cancel` is raised by the
    /// caller when the lease is lost or shutdown's grace period is over.
    func work(_ claim: FleetClaim, cancel: CancelFlag) async -> FleetWorkResult {
        context.log.event("job.claimed", job: claim.job, ["attempt": .int(claim.attempt), "generation": .int(Int(claim.generation))])
        let job = JobIdentity(id: claim.job, arrival: claim.arrival)
        do {
            let admission: Admission
            switch try await admit(claim) {
            case .failure(let refusal): return reject(claim, refusal.code, refusal.message)
            case .success(let admitted): admission = admitted
            }
            let (spec, grant) = (admission.spec, admission.grant)
            try await queue.reserve(claim, grant: grant.uid, images: spec.count, limit: grant.terms.maxImages)
            guard let images = try await render(admission, job: job, claim: claim, cancel: cancel) else {
                staged.discard(claim)
                context.log.event("job.released", job: claim.job, ["reason": .string("shutdown or a lost lease stopped the render")])
                context.stats.finished(claim.job, outcome: .released)
                return .end(.released)
            }
            let usage = try await queue.quotaUsage(excludingJob: claim.job)
            let decision = try await onThread { [gate] in
                try gate.decide(spec, count: spec.count, phase: .delivery, onlyGrant: grant.uid, order: admission.order, usage: usage)
            }
            if case .failure(let refusal) = decision {
                staged.discard(claim)
                return reject(claim, refusal.code, "at delivery: \(refusal.message)")
            }
            let drafts = images.map {
                RoyaltyDraft.make(spec: spec, index: $0.index, grant: grant, sha256: $0.sha256, fingerprint: $0.fingerprint, order: admission.order)
            }
            return .deliver(drafts: drafts, quotas: [grant.uid: grant.terms.maxImages], afterCommit: { [self] events in
                deliver(claim, images: images, events: events)
            })
        } catch {
            staged.discard(claim)
            return end(claim, error)
        }
    }

    /// Parses the job, checks its order and decides consent at claim, against what the database
    /// counts against each grant now.
    private func admit(_ claim: FleetClaim) async throws -> Result<Admission, ConsentGate.Refusal> {
        let usage = try await queue.quotaUsage(excludingJob: claim.job)
        return try await onThread { [context, gate] in
            let spec: JobSpec
            do throws(JobSpec.Rejection) {
                spec = try JobSpec.parse(Data(claim.spec), fileID: claim.job, model: context.model)
            } catch {
                return .failure(ConsentGate.Refusal(code: error.code, message: error.message))
            }
            context.stats.started(claim.job, attempt: claim.attempt, images: spec.count, steps: spec.render.steps)
            let order: VerifiedOrder?
            switch try gate.verifyOrder(spec, continuing: false) {
            case .success(let verified): order = verified
            case .failure(let refusal): return .failure(refusal)
            }
            return try gate.decide(spec, count: spec.count, phase: .claim, onlyGrant: nil, order: order, usage: usage)
                .map { Admission(spec: spec, order: order, grant: $0) }
        }
    }

    /// Renders and stages every image of the job; nil when `cancel` stopped it.
    private func render(_ admission: Admission, job: JobIdentity, claim: FleetClaim,
                        cancel: CancelFlag) async throws -> [ImageProduction.Produced]? {
        try await onThread { [production, destination, staged] in
            var images = [ImageProduction.Produced]()
            for index in 0..<admission.spec.count {
                guard let image = try production.produce(admission.spec, job: job, index: index, grant: admission.grant,
                                                         to: destination, cancel: cancel) else { return nil }
                staged.add(image.stagingURL, for: claim)
                images.append(image)
            }
            return images
        }
    }

    /// After the commit: every image into its final name, then the directory fsynced. A rename
    /// that fails leaves the staged file for the next start (its event is committed).
    private func deliver(_ claim: FleetClaim, images: [ImageProduction.Produced], events: [RoyaltyEvent]) {
        var moved = true
        for image in images where rename(image.stagingURL.path, image.finalURL.path) != 0 {
            moved = false
            context.log.event("output.error", level: .error, job: claim.job,
                              ["error": .string(String(cString: strerror(errno))), "file": .string(image.stagingURL.path),
                               "recovery": .string("delivered at the next start (its royalty event is committed)")])
        }
        if moved { try? DurableFile.fsyncDirectory(destination.url.path) }
        staged.forget(claim)
        context.health.cleared("pipeline")
        context.log.event("job.delivered", job: claim.job, [
            "images": .array(images.map { .string($0.finalURL.path) }),
            "sha256": .array(images.map { .string($0.sha256) }),
            "events": .array(events.map { .string($0.eventID) }),
            "generation": .int(Int(claim.generation)),
            "seconds": .double((Date().timeIntervalSince(claim.arrival) * 1000).rounded() / 1000),
        ])
        context.stats.finished(claim.job, outcome: .delivered(images: images.count))
    }

    private func reject(_ claim: FleetClaim, _ code: String, _ message: String) -> FleetWorkResult {
        context.health.cleared("pipeline")
        context.log.event("job.rejected", level: .notice, job: claim.job, ["code": .string(code), "reason": .string(message)])
        context.stats.finished(claim.job, outcome: .rejected(code: code))
        return .end(.rejected(code: code, reason: message))
    }

    /// How a claim ends after `error`: refusals are final, render failures count against the
    /// job, faults of the environment wait and retry.
    private func end(_ claim: FleetClaim, _ error: any Error) -> FleetWorkResult {
        switch error {
        case let refusal as ConsentGate.Refusal:
            return reject(claim, refusal.code, refusal.message)
        case let error as FleetError where error.isQuotaExhausted:
            return reject(claim, ConsentCode.quotaExhausted.rawValue, "no images left to reserve: \(error)")
        case let error as FleetError where error.isStaleLease:
            return .end(.released)   // fenced: the worker reports it, the ending is refused
        case let error as FleetError where error.isTransient:
            return postpone(claim, PipelineFailure(kind: .transient, code: "queue.unavailable", message: "\(error)"))
        default:
            let failure = PipelineFailure.classify(error, code: "pipeline.error", context: "job \(claim.job)")
            if failure.kind == .transient { return postpone(claim, failure) }
            context.log.event("job.failed", level: .error, job: claim.job,
                              ["code": .string(failure.code), "reason": .string(failure.message), "failures": .int(claim.failures + 1)])
            context.stats.finished(claim.job, outcome: .failed(code: failure.code))
            return .end(.failed(code: failure.code, reason: failure.message))
        }
    }

    private func postpone(_ claim: FleetClaim, _ failure: PipelineFailure) -> FleetWorkResult {
        let delay = context.health.degraded("pipeline", code: failure.code, reason: failure.message, deferrals: max(0, claim.attempt - 1))
        context.log.event("job.deferred", level: .warning, job: claim.job,
                          ["code": .string(failure.code), "reason": .string(failure.message), "retry_in_seconds": .double((delay * 10).rounded() / 10)])
        context.stats.finished(claim.job, outcome: .deferred(code: failure.code))
        return .end(.deferred(code: failure.code, reason: failure.message, retryAfter: .milliseconds(Int(delay * 1000))))
    }

    /// Runs blocking pipeline work (file I/O, the render) on this worker's own thread, never on
    /// Swift's cooperative pool, which the lease keeper and the database client need meanwhile.
    private func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await runOnThread(name: name) { Result { try body() } }.get()
    }
}

/// A runner's production is used by its own worker's thread only, one image at a time.
extension ImageProduction: @unchecked Sendable {}

/// The staged files of the claims in flight on this host, so a claim that ends without this
/// host's commit (rejected, failed, fenced, released) leaves none behind.
final class StagedClaims: @unchecked Sendable {
    private let lock = NSLock()
    private var files: [String: [URL]] = [:]

    private static func key(_ claim: FleetClaim) -> String { "\(claim.job)#\(claim.generation)" }

    func add(_ file: URL, for claim: FleetClaim) { lock.withLock { files[Self.key(claim), default: []].append(file) } }

    /// The claim was committed and its files renamed (or left for start-up): stop tracking them.
    func forget(_ claim: FleetClaim) { _ = lock.withLock { files.removeValue(forKey: Self.key(claim)) } }

    /// Deletes the claim's staged files.
    func discard(_ claim: FleetClaim) {
        for file in lock.withLock({ files.removeValue(forKey: Self.key(claim)) }) ?? [] { unlink(file.path) }
    }
}
