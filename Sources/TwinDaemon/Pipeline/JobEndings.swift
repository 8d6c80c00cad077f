// Role: the ways a claimed job leaves `active/`, each releasing its quota reservation and writing
// one status line: delivered (`done/` with a result record), refused (`rejected/`), failed for
// good (`failed/`), requeued with an attempt counted, deferred after a transient fault (attempt
// not counted, exponential backoff with jitter, the daemon reported degraded until a job gets
// through again), or released at shutdown.
// Failure modes: if the spool cannot move the job at all, the job stays in `active/` (recovered at
// the next start) and the outcome is `failed(spool.io)`.

import Foundation
import TwinConsent
import TwinLedger
import TwinSpool

/// Ends claimed jobs.
struct JobEndings {
    let context: PipelineContext

    /// Moves a delivered job to `done/` with its result record.
    func complete(_ job: ClaimedJob, spec: JobSpec, plan: DeliveryPlan, order: VerifiedOrder?) throws -> JobOutcome {
        var images: [JobResult.Image] = []
        for index in 0..<spec.count {
            let recorded: RoyaltyEvent?
            do {
                recorded = try context.ledger.reader.event(id: RoyaltyEvent.eventID(job: job.id, imageIndex: index))
            } catch {
                throw PipelineFailure(kind: .transient, code: "ledger.unreadable", message: "cannot read the delivered events back: \(error)")
            }
            guard let event = recorded else {
                throw PipelineFailure(kind: .attempt, code: "ledger.event_missing", message: "image \(index) has no royalty event after delivery")
            }
            images.append(JobResult.Image(index: index, path: context.spool.finalImageURL(job: job.id, index: index).path,
                                          sha256: event.outputSHA256, event: event.eventID))
        }
        let result = JobResult(job: job.id, host: context.spool.host, attempt: job.attempt,
                               orderSigner: order?.signer, orderSHA256: order?.sha256, images: images)
        try context.spool.complete(job, result: try result.encoded())
        context.health.cleared("pipeline")
        context.log.event("job.delivered", job: job.id, [
            "images": .array(images.map { .string($0.path) }),
            "sha256": .array(images.map { .string($0.sha256) }),
            "seconds": .double((Date().timeIntervalSince(job.arrival) * 1000).rounded() / 1000),
        ])
        return .delivered(images: spec.count)
    }

    /// Refuses the job for good.
    func reject(_ job: ClaimedJob, code: String, message: String) throws -> JobOutcome {
        try context.reservations.release(job: job.id)
        _ = try context.spool.reject(job, code: code, message: message)
        context.health.cleared("pipeline")
        context.log.event("job.rejected", level: .notice, job: job.id, ["code": .string(code), "reason": .string(message)])
        return .rejected(code: code)
    }

    /// `reject` for callers that cannot throw: a spool failure leaves the job in `active/`.
    func refuse(_ job: ClaimedJob, code: String, message: String) -> JobOutcome {
        do {
            return try reject(job, code: code, message: message)
        } catch {
            context.log.event("spool.error", level: .error, job: job.id, ["error": .string("\(error)"), "while": .string("rejecting with \(code)")])
            return .failed(code: "spool.io")
        }
    }

    /// Shutdown stopped the render: back to `incoming/` as it was.
    func release(_ job: ClaimedJob) throws -> JobOutcome {
        try context.reservations.release(job: job.id)
        try context.spool.release(job)
        context.log.event("job.released", job: job.id, ["reason": .string("shutdown stopped the render")])
        return .released
    }

    /// Ends the job as `failure` says; never throws.
    func end(_ job: ClaimedJob, _ failure: PipelineFailure) -> JobOutcome {
        do {
            try? context.reservations.release(job: job.id)
            switch failure.kind {
            case .permanent:
                _ = try context.spool.fail(job, code: failure.code, message: failure.message)
                context.log.event("job.failed", level: .error, job: job.id, ["code": .string(failure.code), "reason": .string(failure.message)])
                return .failed(code: failure.code)
            case .attempt:
                return try retry(job, failure)
            case .transient:
                return try postpone(job, failure)
            }
        } catch {
            context.log.event("spool.error", level: .error, job: job.id, ["error": .string("\(error)"), "while": .string(failure.description)])
            return .failed(code: "spool.io")
        }
    }

    private func retry(_ job: ClaimedJob, _ failure: PipelineFailure) throws -> JobOutcome {
        if let reason = try context.spool.retry(job, maxAttempts: context.config.maxAttempts, code: failure.code, message: failure.message) {
            context.log.event("job.failed", level: .error, job: job.id, ["code": .string(failure.code), "reason": .string(reason.message)])
            return .failed(code: failure.code)
        }
        context.log.event("job.requeued", level: .warning, job: job.id,
                          ["code": .string(failure.code), "reason": .string(failure.message), "attempts": .int(job.attempt)])
        return .requeued(code: failure.code)
    }

    /// A transient fault: the job waits, its attempt not counted, and the daemon is degraded.
    private func postpone(_ job: ClaimedJob, _ failure: PipelineFailure) throws -> JobOutcome {
        let delay = context.health.degraded("pipeline", code: failure.code, reason: failure.message, deferrals: job.deferrals)
        try context.spool.deferJob(job, code: failure.code, message: failure.message, notBefore: Date().addingTimeInterval(delay))
        context.log.event("job.deferred", level: .warning, job: job.id,
                          ["code": .string(failure.code), "reason": .string(failure.message), "retry_in_seconds": .double((delay * 10).rounded() / 10)])
        return .deferred(code: failure.code)
    }
}
