// Role: makes the image files of a job attempt: renders every image that has no file (new ones
// under the claim-time grant, lost ones under their original grant), draws the visible label when
// the host or the grant asks for it, embeds the invisible watermark, takes the perceptual
// fingerprint the royalty event records, encodes the PNG with its provenance metadata, adds the
// signed C2PA manifest when the host has a certificate, and stages it (fsynced) under its
// staging name in the spool's out/ or the fleet's image directory (`ImageDestination`).
// Reference: README "Delivered images"; docs/watermark.md.
// Failure modes: shutdown stops a render (`.cancelled`); labelling, marking and encoding failures
// are deterministic (`PipelineFailure.permanent`, `imaging.failed`); a re-rendered lost image that
// does not reproduce its recorded bytes is `render.not_reproducible` (permanent); a C2PA signing
// failure (certificate lapsed since start-up) is `c2pa.signing_failed` (transient); a write failure
// is classified by errno (disk full is transient).

import Crypto
import Foundation
import TwinBase
import TwinConsent
import TwinImaging
import TwinInference
import TwinLedger
import TwinSpool

/// Renders and stages the images of one job attempt.
struct ImageProduction {
    let context: PipelineContext
    let renderer: Renderer

    /// Whether the attempt got all its images staged.
    enum Result { case staged, cancelled }

    /// Stages every image of `plan` that has no file in out/: committed leftovers as they are,
    /// pending and lost ones freshly rendered.
    func renderMissing(_ plan: DeliveryPlan, spec: JobSpec, job: ClaimedJob, into staged: StagedImages, cancel: CancelFlag) throws -> Result {
        for (index, url) in plan.stagedCommitted.sorted(by: { $0.key < $1.key }) {
            staged.add(index: index, stagingURL: url, finalURL: context.spool.finalImageURL(job: job.id, index: index),
                       sha256: plan.committed[index]!.outputSHA256, fingerprint: nil, committed: true)
        }
        let work = plan.pending.map { ($0, plan.grant) } + plan.lost.map { ($0, plan.restoreGrants[plan.committed[$0]!.grant]) }
        for (index, grant) in work.sorted(by: { $0.0 < $1.0 }) {
            guard let grant else { continue }
            guard let image = try produce(spec, job: job.identity, index: index, grant: grant, to: context.spool, cancel: cancel) else {
                return .cancelled
            }
            let recorded = plan.committed[index]
            if let recorded, recorded.outputSHA256 != image.sha256 {
                unlink(image.stagingURL.path)
                throw PipelineFailure(kind: .permanent, code: "render.not_reproducible",
                    message: "image \(index) re-rendered to \(image.sha256), but the ledger recorded \(recorded.outputSHA256) (model or renderer changed since delivery)")
            }
            staged.add(index: index, stagingURL: image.stagingURL, finalURL: image.finalURL,
                       sha256: image.sha256, fingerprint: image.fingerprint, committed: recorded != nil)
        }
        return .staged
    }

    /// One image made and staged: where it is, and what its royalty event records.
    struct Produced {
        let index: Int
        let stagingURL: URL
        let finalURL: URL
        let sha256: String
        /// The delivered pixels' `ImageFingerprint` text.
        let fingerprint: String
    }

    /// Renders, labels, marks, encodes and signs image `index` of `job` under `grant`, and stages
    /// it in `destination` (fsynced). Nil when shutdown (or a lost lease) stopped the render.
    func produce(_ spec: JobSpec, job: JobIdentity, index: Int, grant: Grant, to destination: some ImageDestination,
                 cancel: CancelFlag) throws -> Produced? {
        guard let (unsigned, fingerprint) = try render(spec, job: job, index: index, grant: grant, cancel: cancel) else { return nil }
        let png = try signed(unsigned, spec, job: job, index: index, grant: grant)
        let sha = SHA256.hash(data: png).map { String(format: "%02x", $0) }.joined()
        let url = try stage(png, at: destination.stagingImageURL(job: job.id, index: index), index: index)
        return Produced(index: index, stagingURL: url, finalURL: destination.finalImageURL(job: job.id, index: index),
                        sha256: sha, fingerprint: fingerprint.encoded)
    }

    private func stage(_ png: Data, at url: URL, index: Int) throws -> URL {
        do {
            unlink(url.path)
            try DurableFile.writeNew(png, to: url.path)
        } catch {
            throw PipelineFailure.classify(error, code: "output.write_failed", context: "cannot write image \(index)")
        }
        return url
    }

    /// The PNG of image `index` and the fingerprint of its pixels, or nil when shutdown stopped the render.
    private func render(_ spec: JobSpec, job: JobIdentity, index: Int, grant: Grant, cancel: CancelFlag) throws -> (Data, ImageFingerprint)? {
        let settings = context.settings.get()
        let rgb: RGBImage
        do {
            rgb = try renderer.render(spec.render, imageIndex: index, progress: progressReporter(job: job, index: index, cancel: cancel))
        } catch let error as RenderError where error.code == "cancelled" {
            return nil
        } catch {
            throw PipelineFailure(kind: .attempt, code: (error as? RenderError).map { "render." + $0.code } ?? "render.failed", message: "image \(index): \(error)")
        }
        do {
            var image = rgb
            // Visible label first, then the invisible mark over every pixel (label included).
            if AILabel.isApplied(configEnabled: settings.label, grantRequiresLabel: grant.terms.requiresLabel) {
                try AILabel(configuration: settings.labelConfiguration).draw(on: &image)
            }
            let payload = RoyaltyEvent.watermarkPayload(eventID: RoyaltyEvent.eventID(job: job.id, imageIndex: index))
            try context.watermark.embed(into: &image, payload: payload)
            let png = try PNGCodec.encode(image, metadata: metadata(spec, job: job, index: index, grant: grant, payload: payload),
                                          compressionLevel: settings.pngCompression)
            return (png, ImageFingerprint(of: image))
        } catch {
            throw PipelineFailure(kind: .permanent, code: "imaging.failed", message: "image \(index): \(error)")
        }
    }

    /// `png` with its C2PA manifest when the host signs (`provenance.certificate_chain`). The
    /// claim's time is the job's arrival (the XMP CreateDate), moved to the certificate's start
    /// for an older job, so a re-render reproduces the bytes. A certificate that lapsed since
    /// start-up is transient: the job waits, it is never delivered unsigned.
    private func signed(_ png: Data, _ spec: JobSpec, job: JobIdentity, index: Int, grant: Grant) throws -> Data {
        guard let signer = context.c2pa else { return png }
        let payload = RoyaltyEvent.watermarkPayload(eventID: RoyaltyEvent.eventID(job: job.id, imageIndex: index))
        let licence = C2PALicence(
            job: job.id, imageIndex: index, twin: spec.twin, licensee: spec.licensee, purpose: spec.purpose, territory: spec.territory,
            grant: grant.uid, licenceStart: grant.terms.validFrom, licenceEnd: grant.terms.validUntil.addingTimeInterval(-1))
        let content = C2PAManifest.Content(licence: licence, watermarkPayload: payload,
                                           signingTime: max(job.arrival, signer.validity.lowerBound), generatorVersion: context.model.name)
        do {
            return Data(try C2PAManifest.embed(in: Array(png), content: content, signer: signer))
        } catch {
            throw PipelineFailure(kind: .transient, code: "c2pa.signing_failed", message: "image \(index): \(error)")
        }
    }

    private func progressReporter(job: JobIdentity, index: Int, cancel: CancelFlag) -> (Int, Int) -> Bool {
        let interval = context.settings.get().progressInterval
        var lastReport = Date.distantPast
        return { step, total in
            self.context.stats.progress(job.id, image: index, step: step)
            if step == total || Date().timeIntervalSince(lastReport) >= interval {
                lastReport = Date()
                self.context.log.event("render.progress", job: job.id, ["image": .int(index), "step": .int(step), "steps": .int(total)])
            }
            return !cancel.isCancelled
        }
    }

    /// XMP/IPTC provenance. The licence end is the last instant the grant covers (its
    /// `validUntil` is exclusive), so a grant "until 2027-12-31" reads 2027-12-31T23:59:59Z.
    private func metadata(_ spec: JobSpec, job: JobIdentity, index: Int, grant: Grant, payload: UInt64) -> ProvenanceMetadata {
        ProvenanceMetadata(
            jobID: job.id, imageIndex: index, twinID: spec.twin, licenseeName: spec.licensee, licenseeID: spec.licensee,
            grantUID: grant.uid, licenceStart: grant.terms.validFrom, licenceEnd: grant.terms.validUntil.addingTimeInterval(-1),
            region: spec.territory, mediaConstraint: spec.purpose, modelReleaseStatus: .limited, payload: payload,
            modelPackageHash: context.model.packageHash, software: "twinrender", creationTime: job.arrival)
    }
}
