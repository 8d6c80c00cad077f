// Role: embeds and detects the 64-bit invisible watermark payload (the ledger key of a delivered
// image).
// Reference: self-referencing tiled watermarks (Kutter, SPIE 1998) with a sync pattern;
// docs/watermark.md has the measurements.
// Failure modes: embedding into an image under `minimumSide` throws `ImagingError.invalidArgument`;
// detection returns nil for such images and whenever no payload's 24-bit CRC checks.

import Foundation
import TwinBase

/// What `InvisibleWatermark.detect` found: the payload, whose 24-bit CRC checked, and how
/// clearly it was read.
public struct WatermarkDetection: Sendable, Equatable {
    /// The 64-bit payload.
    public var payload: UInt64
    /// Code bits whose raw reading disagreed with the re-encoded payload (0 is a perfect read).
    public var bitErrors: Int
    /// Number of code bits carried (`bitErrors` is out of this).
    public var codedBits: Int
    /// Height of the synchronisation correlation peak in standard deviations above its mean.
    public var syncScore: Double
    /// Estimated scale of the image relative to the marked original.
    public var scale: Double
    /// Estimated rotation of the image relative to the marked original, in degrees.
    public var rotationDegrees: Double

    /// 1 - bitErrors / codedBits: 1 for a perfect read, about 0.5 for noise.
    public var confidence: Double { 1 - Double(bitErrors) / Double(codedBits) }
}

/// A robust invisible watermark carrying a 64-bit payload in the luma of an RGB image.
///
/// Embedding adds a 64x64-pixel tile, repeated over the image, to R, G and B alike (a luma
/// change). The tile carries a synchronisation pattern plus the payload with a 24-bit CRC under a
/// rate-1/3 convolutional code (`PayloadCode`, `WatermarkLayout`); its energy sits between
/// periods of 4 and 16 pixels, low enough to survive JPEG and resizing. Strength is set to reach
/// `targetPSNR`. The plain tile is then refined in a closed loop against the detector on this
/// very image (`WatermarkEmbedder`): a few gradient steps at constant PSNR cancel the picture's
/// interference with the mark, and the result must decode, untouched and after a simulated
/// JPEG 50, before it is returned (else more steps, and at last a stronger mark, down to
/// `minimumPSNR`). Deterministic: same image and payload, same bytes.
///
/// Detection is blind: it high-passes and whitens the luma (`WatermarkResidual`), finds the tile
/// lattice in the residual's autocorrelation (which gives scale and rotation), folds the
/// residual onto one tile for each candidate geometry, finds the translation by correlating
/// with the sync pattern, and Viterbi-decodes the code bits. A payload is reported only if its CRC checks; at most eight
/// candidates (4 geometries x 2 translations) are tried, so the chance of a false detection on
/// an unmarked image is about 8 / 2^24 < 1e-6.
public struct InvisibleWatermark: Sendable {
    /// Tunable parameters; the defaults are the ones measured by `scripts/watermark-bench`.
    public struct Configuration: Sendable, Equatable {
        /// PSNR of the marked image against the original, in dB (default 41, above the 40 target).
        public var targetPSNR: Double = 41
        /// Lowest PSNR the closed loop may go down to when a mark does not read back with margin
        /// at `targetPSNR` (default 40.2; never above `targetPSNR`).
        public var minimumPSNR: Double = 40.2
        /// Largest rotation searched at detection, in degrees (default 5).
        public var maximumRotationDegrees: Double = 5
        /// Scales searched at detection (default 0.8...1.25).
        public var scaleRange: ClosedRange<Double> = 0.8...1.25

        /// Defaults.
        public init() {}
    }

    /// The parameters in use.
    public let configuration: Configuration
    private let layout = WatermarkLayout.shared

    /// Smallest image side (pixels) the mark is embedded into or detected in.
    public static let minimumSide = WatermarkLayout.tile

    /// A watermark with `configuration`.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Embeds `payload` into `image` in place and returns the PSNR (dB) of the result against the
    /// original. Throws `ImagingError.invalidArgument` for images smaller than 64x64.
    /// Deterministic: the same image and payload always give the same bytes.
    @discardableResult
    public func embed(into image: inout RGBImage, payload: UInt64) throws -> Double {
        try embedReportingOutcome(into: &image, payload: payload).psnr
    }

    /// `embed` with what the closed loop did (steps, whether the final check passed).
    func embedReportingOutcome(into image: inout RGBImage, payload: UInt64) throws -> WatermarkEmbedder.Outcome {
        guard image.width >= Self.minimumSide, image.height >= Self.minimumSide else {
            throw ImagingError.invalidArgument(
                "watermark needs at least \(Self.minimumSide)x\(Self.minimumSide) pixels, got \(image.width)x\(image.height)")
        }
        let embedder = WatermarkEmbedder(
            layout: layout, targetPSNR: configuration.targetPSNR,
            minimumPSNR: min(configuration.targetPSNR, configuration.minimumPSNR))
        return embedder.embed(into: &image, payload: payload)
    }

    /// Looks for a watermark; returns nil when none is found (or the image is under 64x64).
    public func detect(in image: RGBImage) -> WatermarkDetection? {
        guard image.width >= Self.minimumSide, image.height >= Self.minimumSide else { return nil }
        let residual = WatermarkResidual(image: image)
        let candidates = WatermarkGeometry.candidates(
            residual: residual, maximumRotationDegrees: configuration.maximumRotationDegrees,
            scaleRange: configuration.scaleRange)
        let aligner = WatermarkAligner(layout: layout)
        for candidate in candidates {
            let folded = aligner.fold(residual, scale: candidate.scale, rotation: candidate.rotation)
            for shift in aligner.syncPeaks(folded, count: 2) {
                let aligned = aligner.align(folded, by: shift.offset)
                let soft = layout.softBits(cellEstimates: layout.cellEstimates(folded: aligned))
                guard let payload = PayloadCode.decode(soft: soft) else { continue }
                let coded = PayloadCode.encode(payload)
                let errors = zip(soft, coded).filter { ($0.0 > 0) != ($0.1 == 1) }.count
                return WatermarkDetection(
                    payload: payload, bitErrors: errors, codedBits: PayloadCode.codedBits,
                    syncScore: shift.score, scale: candidate.scale,
                    rotationDegrees: candidate.rotation * 180 / .pi)
            }
        }
        return nil
    }
}
