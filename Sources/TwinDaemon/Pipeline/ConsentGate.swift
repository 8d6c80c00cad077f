// Role: every consent decision the pipeline takes for a job — the licensee's signed order, the
// grant at claim, the grant again right before every delivery (including the re-creation of an
// image whose file was lost) — each written durably to the consent audit log BEFORE it takes
// effect. If the audit line cannot be written the decision is not used (fail closed) and the job
// waits as a transient failure.
// Reference: docs/consent-registry.md (the decision), TwinConsent `authorize` (evaluate + reserve
// under one lock).
// Failure modes: a refusal is returned as a value; registry, ledger or audit-log I/O failures
// throw `PipelineFailure` (transient).

import Foundation
import TwinConsent
import TwinLedger

/// Consent for one job, as the pipeline asks for it.
struct ConsentGate {
    let context: PipelineContext

    /// A refusal with its reason code.
    struct Refusal: Error {
        let code: String
        let message: String
    }

    /// Checks the job's signed order. Orders are required unless `consent.require_signed_orders`
    /// is off; a job that already has committed images continues under the order it was accepted
    /// with, so expiry is not checked again for it.
    func verifyOrder(_ spec: JobSpec, continuing: Bool) throws -> Result<VerifiedOrder?, Refusal> {
        guard let order = spec.order else {
            guard context.config.requireSignedOrders else { return .success(nil) }
            let message = "the job is not a signed order; sign it with the licensee's key (`twinrender submit --key`)"
            try auditRefusal(spec, code: "job.order_unsigned", message: message, signer: nil)
            return .failure(Refusal(code: "job.order_unsigned", message: message))
        }
        let registry = try registrySnapshot(spec)
        let now = continuing ? Date(timeIntervalSince1970: 0) : Date()
        switch registry.check(order: order.envelope, signedBytes: order.signedBytes, licensee: spec.licensee, at: now) {
        case .success(let verified):
            return .success(verified)
        case .failure(let refusal):
            try auditRefusal(spec, code: refusal.code, message: refusal.message, signer: order.envelope.signer)
            return .failure(Refusal(code: refusal.code, message: refusal.message))
        }
    }

    /// The audit line of a job refused before any grant was looked at (its order, or an id
    /// already delivered as another job).
    func auditRefusal(_ spec: JobSpec, code: String, message: String, signer: String?) throws {
        do {
            try context.audit.appendRefusal(job: spec.id, twin: spec.twin, licensee: spec.licensee, code: code, message: message,
                                            phase: .claim, at: Date(), orderSigner: signer)
        } catch {
            throw PipelineFailure(kind: .transient, code: "consent.audit_unwritable", message: "the refusal cannot be written to the audit log: \(error)")
        }
    }

    /// Decides consent for `count` images of `spec` and reserves them in one step. At delivery
    /// (`onlyGrant` set) only the grant the images were rendered under is considered. `restoring`
    /// images were delivered and paid already (their files were lost): they do not count against
    /// the quota again. The audit line is written before the decision is returned.
    func decide(_ spec: JobSpec, count: Int, restoring: Int = 0, phase: ConsentAuditLog.Phase,
                onlyGrant: String?, order: VerifiedOrder?) throws -> Result<Grant, Refusal> {
        let registry = try registrySnapshot(spec)
        let request: ConsentRequest
        switch consentRequest(spec, count: count) {
        case .success(let made): request = made
        case .failure(let refusal): return .failure(refusal)
        }
        let ledger = context.ledger.reader
        let decision: ConsentDecision
        do {
            decision = try registry.authorize(request, at: Date(), onlyGrant: onlyGrant, reservations: context.reservations) { uid in
                let delivered = try ledger.deliveredCount(grant: uid)
                return uid == onlyGrant ? max(0, delivered - restoring) : delivered
            }
        } catch {
            throw PipelineFailure.classify(error, code: "consent.unavailable", context: "cannot decide consent")
        }
        try audit(decision, request: request, phase: phase, order: order, reservedLocally: true)
        return report(decision, spec: spec, phase: phase)
    }

    /// Decides consent for `count` images of `spec` on the fleet: `usage` is what the fleet
    /// database counts against each grant (delivered plus reserved by other jobs); the caller
    /// reserves the images in the database afterwards, which checks the limit again atomically.
    /// The audit line is written before the decision is returned.
    func decide(_ spec: JobSpec, count: Int, phase: ConsentAuditLog.Phase, onlyGrant: String?, order: VerifiedOrder?,
                usage: [String: Int]) throws -> Result<Grant, Refusal> {
        let registry = try registrySnapshot(spec)
        let request: ConsentRequest
        switch consentRequest(spec, count: count) {
        case .success(let made): request = made
        case .failure(let refusal): return .failure(refusal)
        }
        let decision = registry.evaluate(request, at: Date(), onlyGrant: onlyGrant) { usage[$0] ?? 0 }
        try audit(decision, request: request, phase: phase, order: order, reservedLocally: false)
        return report(decision, spec: spec, phase: phase)
    }

    /// The request `spec` makes for `count` images, or the refusal of a job that cannot make one.
    private func consentRequest(_ spec: JobSpec, count: Int) -> Result<ConsentRequest, Refusal> {
        do {
            return .success(try ConsentRequest(job: spec.id, twin: spec.twin, licensee: spec.licensee, purpose: spec.purpose,
                                               territory: spec.territory, count: count, contentTags: spec.tags,
                                               twinWeightsSHA256: context.model.twinWeightsSHA256[spec.twin]))
        } catch let error as ConsentError where error == ConsentError.badTag {
            return .failure(Refusal(code: "job.bad_tag", message: error.description))
        } catch {
            return .failure(Refusal(code: ConsentCode.missing.rawValue, message: "the job cannot be matched against any grant: \(error)"))
        }
    }

    /// The registry now. A tampered or rolled-back registry is a refusal of every job
    /// (`consent.registry_untrusted`); one that cannot be read is a transient fault.
    private func registrySnapshot(_ spec: JobSpec) throws -> ConsentRegistry {
        do {
            return try context.registry.current()
        } catch let error as ConsentError where error.denialCode != nil {
            let message = "the consent registry cannot be trusted: \(error.description)"
            try auditRefusal(spec, code: error.denialCode!.rawValue, message: message, signer: spec.order?.envelope.signer)
            throw Refusal(code: error.denialCode!.rawValue, message: message)
        } catch {
            throw PipelineFailure(kind: .transient, code: "consent.registry_unavailable", message: "cannot read the consent registry: \(error)")
        }
    }

    /// Durable audit line first; a decision that cannot be recorded is not used.
    private func audit(_ decision: ConsentDecision, request: ConsentRequest, phase: ConsentAuditLog.Phase, order: VerifiedOrder?,
                       reservedLocally: Bool) throws {
        do {
            try context.audit.append(decision, for: request, phase: phase, at: Date(), orderSigner: order?.signer, orderSHA256: order?.sha256)
        } catch {
            if reservedLocally, case .allowed = decision { try? context.reservations.release(job: request.job) }
            throw PipelineFailure(kind: .transient, code: "consent.audit_unwritable",
                message: "the consent decision cannot be written to the audit log, so it is not used: \(error)")
        }
    }

    private func report(_ decision: ConsentDecision, spec: JobSpec, phase: ConsentAuditLog.Phase) -> Result<Grant, Refusal> {
        switch decision {
        case .allowed(let grant):
            context.log.event("consent.allowed", job: spec.id, ["phase": .string(phase.rawValue), "grant": .string(grant.uid), "twin": .string(spec.twin)])
            return .success(grant)
        case .denied(let denial):
            context.log.event("consent.denied", level: .notice, job: spec.id,
                              ["phase": .string(phase.rawValue), "code": .string(denial.code.rawValue), "reason": .string(denial.message)])
            return .failure(Refusal(code: denial.code.rawValue, message: denial.message))
        }
    }
}
