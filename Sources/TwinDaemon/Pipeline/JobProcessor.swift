// Role: runs one claimed job through the pipeline, synchronously, on a worker's thread:
//
//     parse → what the ledger already holds for this id → signed order → consent (claim) + quota
//     reservation → render each missing image → label → watermark → PNG with provenance → stage
//     in out/ (fsync) → consent (delivery) → per image: ledger event (commit point) → rename into
//     out/ → job to done/
//
// Reference: the commit protocol of Postfix's queue manager (one rename per state change); the
// ledger event is the single commit point of a delivery.
// Failure modes (kill -9 at any instant): a staged image without a ledger event is discarded; a
// staged image WITH its event is renamed into out/ (by the next attempt or at start-up), never
// deleted; an event whose image file was lost is re-rendered only after a fresh consent check
// under its original grant, and must reproduce the recorded bytes. A job id that already has
// events must describe the same delivery (twin, licensee, purpose, territory). Images already
// delivered are never rendered or counted again.

import Foundation
import Logging
import TwinConsent
import TwinImaging
import TwinInference
import TwinLedger
import TwinSpool

/// Processes claimed jobs to their end state.
final class JobProcessor {
    private let context: PipelineContext
    private let production: ImageProduction
    private let gate: ConsentGate
    private let endings: JobEndings

    init(context: PipelineContext, renderer: Renderer) {
        self.context = context
        self.production = ImageProduction(context: context, renderer: renderer)
        self.gate = ConsentGate(context: context)
        self.endings = JobEndings(context: context)
    }

    /// Processes a claimed job to its end state. Never throws: refusals become reason files,
    /// render failures count an attempt, transient faults put the job back with backoff. Only
    /// when the spool itself cannot move the job is it left in `active/`, for recovery.
    func process(_ job: ClaimedJob, cancel: CancelFlag) -> JobOutcome {
        context.log.event("job.claimed", job: job.id, ["attempt": .int(job.attempt)])
        let staged = StagedImages()
        defer { staged.discardUndelivered() }
        let outcome: JobOutcome
        do {
            outcome = try run(job, staged: staged, cancel: cancel)
        } catch let refusal as ConsentGate.Refusal {
            outcome = endings.refuse(job, code: refusal.code, message: refusal.message)
        } catch let failure as PipelineFailure {
            outcome = endings.end(job, failure)
        } catch {
            outcome = endings.end(job, PipelineFailure.classify(error, code: "pipeline.error", context: "job \(job.id)"))
        }
        context.stats.finished(job.id, outcome: outcome)
        return outcome
    }

    private func run(_ job: ClaimedJob, staged: StagedImages, cancel: CancelFlag) throws -> JobOutcome {
        let spec: JobSpec
        do {
            spec = try JobSpec.parse(job.data, fileID: job.id, model: context.model)
        } catch {
            return try endings.reject(job, code: error.code, message: error.message)
        }
        context.stats.started(job.id, attempt: job.attempt, images: spec.count, steps: spec.render.steps)
        var plan = try DeliveryPlan(spec: spec, job: job, context: context)
        if let conflict = plan.conflict {
            try gate.auditRefusal(spec, code: "job.id_reused", message: conflict, signer: spec.order?.envelope.signer)
            return try endings.reject(job, code: "job.id_reused", message: conflict)
        }

        let order: VerifiedOrder?
        switch try gate.verifyOrder(spec, continuing: !plan.committed.isEmpty) {
        case .success(let verified): order = verified
        case .failure(let refusal): return try endings.reject(job, code: refusal.code, message: refusal.message)
        }
        if let refusal = try authorizeRendering(&plan, spec: spec, order: order, phase: .claim) {
            return try endings.reject(job, code: refusal.code, message: refusal.message)
        }
        switch try production.renderMissing(plan, spec: spec, job: job, into: staged, cancel: cancel) {
        case .cancelled: return try endings.release(job)
        case .staged: break
        }
        if let refusal = try authorizeRendering(&plan, spec: spec, order: order, phase: .delivery) {
            return try endings.reject(job, code: refusal.code, message: "at delivery: \(refusal.message)")
        }
        try commit(plan, spec: spec, job: job, order: order, staged: staged)
        return try endings.complete(job, spec: spec, plan: plan, order: order)
    }

    /// Consent for the images this attempt will create: new ones under the best grant (at claim)
    /// or the grant they were rendered under (at delivery), restored ones under their original
    /// grant. Returns the refusal, if any.
    private func authorizeRendering(_ plan: inout DeliveryPlan, spec: JobSpec, order: VerifiedOrder?,
                                    phase: ConsentAuditLog.Phase) throws -> ConsentGate.Refusal? {
        if !plan.pending.isEmpty {
            let only = phase == .delivery ? plan.grant?.uid : nil
            switch try gate.decide(spec, count: plan.pending.count, phase: phase, onlyGrant: only, order: order) {
            case .success(let grant): plan.grant = grant
            case .failure(let refusal): return refusal
            }
        }
        for (grantUID, indices) in plan.lostByGrant {
            switch try gate.decide(spec, count: indices.count, restoring: indices.count, phase: phase, onlyGrant: grantUID, order: order) {
            case .success(let grant): plan.restoreGrants[grantUID] = grant
            case .failure(let refusal): return refusal
            }
        }
        return nil
    }

    /// The commit: one royalty event per new image (the ledger's own quota check is the last
    /// guard of the grant's limit), then every committed image into out/ — also when a later
    /// image's append fails, so no committed event is left without its image.
    private func commit(_ plan: DeliveryPlan, spec: JobSpec, job: ClaimedJob, order: VerifiedOrder?, staged: StagedImages) throws {
        for item in staged.items where !item.committed {
            guard let grant = plan.grant else { continue }
            let draft = RoyaltyDraft.make(spec: spec, index: item.index, grant: grant, sha256: item.sha256,
                                          fingerprint: item.fingerprint, order: order)
            do {
                try context.ledger.append(draft, quota: grant.terms.maxImages)
            } catch {
                try? staged.deliverCommitted(outDirectory: context.spool.layout.out)
                if let error = error as? LedgerError, error.isQuotaExhausted {
                    throw ConsentGate.Refusal(code: ConsentCode.quotaExhausted.rawValue,
                                              message: "at commit: grant \(grant.uid) has delivered its \(grant.terms.maxImages) images")
                }
                throw PipelineFailure.classify(error, code: "ledger.append_failed", context: "image \(item.index)")
            }
            staged.markCommitted(item.index)
        }
        do {
            try staged.deliverCommitted(outDirectory: context.spool.layout.out)
        } catch {
            throw PipelineFailure.classify(error, code: "output.write_failed", context: "cannot move images into out/")
        }
        try context.reservations.release(job: job.id)
    }
}
