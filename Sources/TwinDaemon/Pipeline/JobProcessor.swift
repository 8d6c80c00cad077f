import Crypto
import Foundation
import TwinBase
import Logging
import TwinConsent
import TwinImaging
import TwinInference
import TwinLedger
import TwinSpool

/// Runs one claimed job through the pipeline, synchronously, on a worker's thread:
///
///     validate → consent (claim) + quota reservation → render each image → label → watermark
///     → PNG with provenance → stage in out/ (fsync) → consent (delivery) → per image: ledger
///     event (commit point) → rename into out/ → job to done/
///
/// Crash safety (kill -9 at any instant): a staged image without a ledger event is discarded and
/// re-rendered; an event without its image in `out/` is re-rendered on the next attempt, and the
/// render is deterministic (seed, model, job arrival time as PNG creation time), so the bytes and
/// `output_sha256` match the event. Images already delivered are never rendered or counted again.
final class JobProcessor {
    private let context: PipelineContext
    private let renderer: Renderer

    init(context: PipelineContext, renderer: Renderer) {
        self.context = context
        self.renderer = renderer
    }

    /// Processes a claimed job to its end state. Never throws: job-level problems become reason
    /// files; an infrastructure failure (registry or ledger unreadable, disk full) requeues the
    /// job with the attempt counted. Only when the spool itself cannot move the job is it left in
    /// `active/`, for recovery at the next start.
    func process(_ job: ClaimedJob, cancel: CancelFlag) -> JobOutcome {
        let log = context.log
        log.event("job.claimed", job: job.id, ["attempt": .int(job.attempt)])
        var outcome: JobOutcome
        do {
            outcome = try run(job, cancel: cancel)
        } catch let error as SpoolError {
            log.event("spool.error", level: .error, job: job.id, ["error": .string(error.description)])
            outcome = .failed(code: "spool.io")
        } catch {
            do {
                outcome = try retry(job, code: "pipeline.error", message: "\(error)")
            } catch {
                log.event("spool.error", level: .error, job: job.id, ["error": .string("\(error)")])
                outcome = .failed(code: "spool.io")
            }
        }
        context.stats.finished(job.id, outcome: outcome)
        return outcome
    }

    private func run(_ job: ClaimedJob, cancel: CancelFlag) throws -> JobOutcome {
        let spec: JobSpec
        do {
            spec = try JobSpec.parse(job.data, fileID: job.id, model: context.model)
        } catch {
            return try reject(job, code: error.code, message: error.message)
        }
        context.stats.started(job.id, attempt: job.attempt, images: spec.count, steps: spec.render.steps)

        // Images of this job already delivered by an earlier attempt (the ledger is the record).
        var delivered: [Int: RoyaltyEvent] = [:]
        for index in 0..<spec.count {
            if let event = try context.ledger.reader.event(id: RoyaltyEvent.eventID(job: job.id, imageIndex: index)) {
                delivered[index] = event
            }
        }
        let pending = (0..<spec.count).filter { delivered[$0] == nil }

        var grant: Grant?
        if !pending.isEmpty {
            switch try checkConsent(spec, count: pending.count, phase: .claim, reserved: nil) {
            case .allowed(let g): grant = g
            case .denied(let d): return try reject(job, code: d.code.rawValue, message: d.message)
            }
        }

        // Render every image whose final file is missing (pending ones, and delivered ones lost after a crash).
        var staged: [(index: Int, url: URL, sha256: String, payload: UInt64)] = []
        let outDir = context.spool.layout.out
        for index in 0..<spec.count {
            let final = outDir.appendingPathComponent(Self.imageName(job: job.id, index: index))
            if delivered[index] != nil, FileManager.default.fileExists(atPath: final.path) { continue }
            let eventGrant: GrantTerms
            let eventGrantUID: String
            if let event = delivered[index] {
                guard let registered = try context.registry.current().grants[event.grant] else {
                    return try fail(job, code: "ledger.grant_missing", message: "image \(index) was delivered under grant \(event.grant), which is no longer in the registry; cannot restore it")
                }
                (eventGrantUID, eventGrant) = (event.grant, registered.grant.terms)
            } else {
                (eventGrantUID, eventGrant) = (grant!.uid, grant!.terms)
            }
            let payload = RoyaltyEvent.watermarkPayload(eventID: RoyaltyEvent.eventID(job: job.id, imageIndex: index))
            let png: Data
            do {
                png = try renderImage(spec, job: job, index: index, payload: payload, grantUID: eventGrantUID, terms: eventGrant, cancel: cancel)
            } catch let error as RenderError where error.code == "cancelled" {
                discard(staged)
                try context.reservations.release(job: job.id)
                try context.spool.release(job)
                context.log.event("job.released", job: job.id, ["reason": .string("shutdown stopped the render")])
                return .released
            } catch let error as ImagingError {
                // Labelling, marking and encoding are deterministic: another attempt fails the same way.
                discard(staged)
                return try fail(job, code: "imaging.failed", message: "image \(index): \(error)")
            } catch {
                discard(staged)
                return try retry(job, code: Self.code(of: error), message: "image \(index): \(error)")
            }
            let sha = SHA256.hash(data: png).map { String(format: "%02x", $0) }.joined()
            if let event = delivered[index], event.outputSHA256 != sha {
                discard(staged)
                return try fail(job, code: "render.not_reproducible",
                    message: "image \(index) re-rendered to \(sha), but the ledger recorded \(event.outputSHA256) (model or renderer changed since delivery)")
            }
            let stagedURL = outDir.appendingPathComponent(".\(Self.imageName(job: job.id, index: index)).\(context.spool.host).\(context.spool.pid).partial")
            do {
                try? FileManager.default.removeItem(at: stagedURL)
                try FileIO.writeDurably(png, to: stagedURL)
            } catch {
                discard(staged)
                return try retry(job, code: "output.write_failed", message: "cannot write image \(index): \(error)")
            }
            staged.append((index, stagedURL, sha, payload))
        }

        // Consent again right before delivery: a revocation or suspension during the render stops it.
        if let g = grant {
            let remaining = staged.filter { delivered[$0.index] == nil }.count
            if case .denied(let d) = try checkConsent(spec, count: remaining, phase: .delivery, reserved: g) {
                discard(staged)
                return try reject(job, code: d.code.rawValue, message: "at delivery: \(d.message)")
            }
        }

        // Deliver: the ledger event is the commit point, then the image appears in out/.
        var images: [[String: Any]] = []
        for item in staged {
            if delivered[item.index] == nil {
                let g = grant!
                let draft = RoyaltyEventDraft(
                    job: job.id, imageIndex: item.index, twin: spec.twin, model: g.assigner, licensee: spec.licensee,
                    grant: g.uid, grantHash: g.sha256, purpose: spec.purpose, territory: spec.territory,
                    deliveredAt: UTCTimestamp(Date()), outputSHA256: item.sha256,
                    amount: Int64(g.terms.feeMinorUnits),
                    agencyCommission: Int64(g.terms.feeMinorUnits) * Int64(g.terms.commissionBasisPoints) / 10_000,
                    currency: g.terms.currency, paymentDays: g.terms.paymentDays)
                do {
                    delivered[item.index] = try context.ledger.append(draft)
                } catch {
                    discard(staged.filter { delivered[$0.index] == nil })
                    return try retry(job, code: "ledger.append_failed", message: "image \(item.index): \(error)")
                }
            }
            let final = outDir.appendingPathComponent(Self.imageName(job: job.id, index: item.index))
            guard rename(item.url.path, final.path) == 0 else {
                let message = String(cString: strerror(errno))
                return try retry(job, code: "output.write_failed", message: "cannot move image \(item.index) into out/: \(message)")
            }
        }
        try FileIO.fsyncDirectory(outDir)
        try context.reservations.release(job: job.id)

        for index in 0..<spec.count {
            let name = Self.imageName(job: job.id, index: index)
            images.append(["index": index, "path": outDir.appendingPathComponent(name).path,
                           "sha256": delivered[index]?.outputSHA256 ?? "", "event": delivered[index]?.eventID ?? ""])
        }
        let seconds = Date().timeIntervalSince(job.arrival)
        let result: [String: Any] = ["job": job.id, "images": images, "host": context.spool.host, "attempt": job.attempt]
        try context.spool.complete(job, result: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys, .prettyPrinted]))
        context.log.event("job.delivered", job: job.id, [
            "images": .array(images.map { .string($0["path"] as! String) }),
            "sha256": .array(images.map { .string($0["sha256"] as! String) }),
            "seconds": .double((seconds * 1000).rounded() / 1000),
        ])
        return .delivered(images: spec.count)
    }

    // MARK: Stages

    /// Decides consent for `count` more images of `spec` and reserves them against the chosen
    /// grant's quota in one step under the reservations lock (`ConsentRegistry.authorize`), so
    /// parallel workers and daemons never overshoot and a lost race moves on to the next grant.
    /// At delivery, `reserved` is the grant the images were rendered under and only that grant is
    /// considered: its revocation, expiry or suspension stops delivery even if another grant
    /// would match now. Every decision goes to the consent audit log and the status log.
    private func checkConsent(_ spec: JobSpec, count: Int, phase: ConsentAuditLog.Phase, reserved: Grant?) throws -> ConsentDecision {
        let registry = try context.registry.current()
        let weightsSHA = context.twinWeightFiles[spec.twin].flatMap { context.weightsDigests.sha256(of: $0) }
        let request: ConsentRequest
        do {
            request = try ConsentRequest(job: spec.id, twin: spec.twin, licensee: spec.licensee, purpose: spec.purpose,
                                         territory: spec.territory, count: count, contentTags: spec.tags, twinWeightsSHA256: weightsSHA)
        } catch {
            return .denied(ConsentDenial(code: .missing, message: "the job cannot be matched against any grant: \(error)", grantUID: nil))
        }
        let ledger = context.ledger.reader
        let decision = try registry.authorize(request, at: Date(), onlyGrant: reserved?.uid, reservations: context.reservations) { uid in
            try ledger.deliveredCount(grant: uid)
        }
        _ = try? context.audit.append(decision, for: request, phase: phase, at: Date())
        switch decision {
        case .allowed(let g):
            context.log.event("consent.allowed", job: spec.id, ["phase": .string(phase.rawValue), "grant": .string(g.uid), "twin": .string(spec.twin)])
        case .denied(let d):
            context.log.event("consent.denied", level: .notice, job: spec.id, ["phase": .string(phase.rawValue), "code": .string(d.code.rawValue), "reason": .string(d.message)])
        }
        return decision
    }

    private func renderImage(_ spec: JobSpec, job: ClaimedJob, index: Int, payload: UInt64,
                             grantUID: String, terms: GrantTerms, cancel: CancelFlag) throws -> Data {
        let settings = context.settings.get()
        var lastReport = Date.distantPast
        let rgb = try renderer.render(spec.render, imageIndex: index) { step, total in
            self.context.stats.progress(job.id, image: index, step: step)
            if step == total || Date().timeIntervalSince(lastReport) >= settings.progressInterval {
                lastReport = Date()
                self.context.log.event("render.progress", level: .info, job: job.id,
                                       ["image": .int(index), "step": .int(step), "steps": .int(total)])
            }
            return !cancel.isCancelled
        }
        var image = try TwinImaging.RGBImage(width: rgb.width, height: rgb.height, pixels: rgb.pixels)
        // Visible label first, then the invisible mark over every pixel (label included).
        // A grant that requires the label overrides `output.label = false`.
        if AILabel.isApplied(configEnabled: settings.label, grantRequiresLabel: terms.requiresLabel) {
            try AILabel(configuration: settings.labelConfiguration).draw(on: &image)
        }
        try InvisibleWatermark().embed(into: &image, payload: payload)
        let metadata = ProvenanceMetadata(
            jobID: job.id, imageIndex: index, twinID: spec.twin, licenseeName: spec.licensee, licenseeID: spec.licensee,
            grantUID: grantUID, licenceStart: terms.validFrom, licenceEnd: terms.validUntil, region: spec.territory,
            mediaConstraint: spec.purpose, modelReleaseStatus: .limited, payload: payload,
            modelPackageHash: context.model.packageHash, software: "twinrender", creationTime: job.arrival)
        return try PNGCodec.encode(image, metadata: metadata, compressionLevel: settings.pngCompression)
    }

    // MARK: Endings

    private func reject(_ job: ClaimedJob, code: String, message: String) throws -> JobOutcome {
        try context.reservations.release(job: job.id)
        _ = try context.spool.reject(job, code: code, message: message)
        context.log.event("job.rejected", level: .notice, job: job.id, ["code": .string(code), "reason": .string(message)])
        return .rejected(code: code)
    }

    private func fail(_ job: ClaimedJob, code: String, message: String) throws -> JobOutcome {
        try context.reservations.release(job: job.id)
        _ = try context.spool.fail(job, code: code, message: message)
        context.log.event("job.failed", level: .error, job: job.id, ["code": .string(code), "reason": .string(message)])
        return .failed(code: code)
    }

    private func retry(_ job: ClaimedJob, code: String, message: String) throws -> JobOutcome {
        if let reason = try context.spool.retry(job, maxAttempts: context.config.maxAttempts, code: code, message: message) {
            try context.reservations.release(job: job.id)
            context.log.event("job.failed", level: .error, job: job.id, ["code": .string(code), "reason": .string(reason.message)])
            return .failed(code: code)
        }
        context.log.event("job.requeued", level: .warning, job: job.id, ["code": .string(code), "reason": .string(message), "attempts": .int(job.attempt)])
        return .requeued(code: code)
    }

    private func discard(_ staged: [(index: Int, url: URL, sha256: String, payload: UInt64)]) {
        for item in staged { unlink(item.url.path) }
    }

    /// `out/` file name of image `index` of a job.
    static func imageName(job: String, index: Int) -> String { "\(job)-\(index).png" }

    private static func code(of error: Error) -> String {
        if let e = error as? RenderError { return "render." + e.code }
        return "render.failed"
    }
}
