// Role: embeds and detects the 64-bit invisible watermark payload (the ledger key of a delivered
// image) under the installation's key (and previous keys), through turns, mirrors and linear maps;
// a fine layer always, a coarse one when configured, both searched by every detection.
// Reference: self-referencing tiled watermarks (Kutter, SPIE 1998) with a keyed sync pattern;
// docs/watermark.md has the measurements.
// Failure modes: embedding into an image under `minimumSide` throws `ImagingError.invalidArgument`;
// detection returns nil for such images and whenever no hypothesis's 24-bit CRC checks (a mark
// made under another key reads as none).

import Foundation
import TwinBase

/// What `InvisibleWatermark.detect` found: the payload, whose 24-bit CRC checked, how clearly it
/// was read, under which key, and what geometry the image went through since it was marked.
public struct WatermarkDetection: Sendable, Equatable {
    /// The 64-bit payload.
    public var payload: UInt64
    /// Code bits whose raw reading disagreed with the re-encoded payload (0 is a perfect read).
    public var bitErrors: Int
    /// Number of code bits carried (`bitErrors` is out of this).
    public var codedBits: Int
    /// Height of the synchronisation correlation peak in standard deviations above its mean.
    public var syncScore: Double
    /// Estimated scale of the image relative to the marked original (geometric mean of the two
    /// axes).
    public var scale: Double
    /// Estimated rotation of the image relative to the marked original, in degrees, after the
    /// quarter turns.
    public var rotationDegrees: Double
    /// Clockwise quarter turns the image went through (0...3).
    public var quarterTurns: Int
    /// Whether the image was mirrored (before the turns).
    public var mirrored: Bool
    /// Identifier of the key that read the mark (`WatermarkKey.identifier`).
    public var keyIdentifier: String
    /// Payload hypotheses tested before this one matched, this one included (the false-positive
    /// bound is this number times 2^-24).
    public var hypothesesTried: Int

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
/// `minimumPSNR`). Deterministic: same image and payload, same bytes. Optionally a coarse layer
/// (`Configuration.coarseLayer`, `CoarseWatermarkLayer`: the tile at twice the scale) is embedded
/// first, for strong compression and 0.5x thumbnails.
///
/// The layout (which cells carry sync and which carry each code bit, and every cell's sign) is
/// drawn from a secret `WatermarkKey`: without it a mark can be neither read nor embedded.
/// Embedding uses the current key; detection tries it and then the previous keys (rotation).
///
/// Detection is blind: it high-passes and whitens the luma (`WatermarkResidual`), finds the tile
/// lattice in the residual's autocorrelation (which gives scale and rotation), folds the
/// residual onto one tile for each candidate geometry (a lattice candidate that does not decode
/// is sharpened on the sync correlation and read once more, `WatermarkRefinement`), undoes each
/// of the eight turns and mirrors of the square tile (`TileOrientation`), finds the translation
/// by correlating with each key's sync pattern, and Viterbi-decodes the code bits. A payload is reported only if
/// its CRC checks; each (geometry, orientation, key, translation) tried is one hypothesis, and
/// the chance of a false detection on an unmarked image is at most hypotheses / 2^24
/// (`maximumHypotheses` bounds it).
public struct InvisibleWatermark: Sendable {
    /// Tunable parameters; the defaults are the ones measured by `scripts/watermark-bench`.
    public struct Configuration: Sendable, Equatable {
        /// PSNR of the marked image against the original, in dB (default 40.5, above the 40
        /// target with room for the 8-bit rounding; measured against 41 and 40.25 in
        /// docs/watermark.md, "Spending the PSNR margin").
        public var targetPSNR: Double = 40.5
        /// Lowest PSNR the closed loop may go down to when a mark does not read back with margin
        /// at `targetPSNR` (default 40.2; never above `targetPSNR`).
        public var minimumPSNR: Double = 40.2
        /// Whether the mark's amplitude follows the picture's texture (`PerceptualMask`: faint on
        /// flat areas, stronger on busy ones, at the same PSNR). Off by default: measured, it
        /// costs robustness the mark cannot spare (docs/watermark.md, "Perceptual mask").
        public var perceptualMask = false
        /// Whether a second, coarse layer (`CoarseWatermarkLayer`: the tile at twice the scale)
        /// is embedded first, for strong compression and thumbnails. Off by default; detection
        /// always looks for it. When on, the fine layer's PSNR must leave room for it (see
        /// `withCoarseLayer`).
        public var coarseLayer = false
        /// PSNR of the coarse layer on the half-resolution image, dB (used when `coarseLayer`).
        public var coarsePSNR: Double = 41.5

        /// Defaults.
        public init() {}

        /// Both layers, at a budget measured to keep the whole mark at or above 40 dB: the
        /// coarse layer at 41.5 dB (half resolution), the fine one at 43 dB down to 42.8.
        public static var withCoarseLayer: Configuration {
            var configuration = Configuration()
            configuration.coarseLayer = true
            configuration.targetPSNR = 43
            configuration.minimumPSNR = 42.8
            return configuration
        }
    }

    /// The parameters in use.
    public let configuration: Configuration
    /// The current key's layout first, then the previous keys'.
    private let layouts: [WatermarkLayout]
    private let aligners: [WatermarkAligner]
    /// The coarse layer's layouts, in the same key order.
    private let coarseLayouts: [WatermarkLayout]
    private let coarseAligners: [WatermarkAligner]

    /// Smallest image side (pixels) the mark is embedded into or detected in.
    public static let minimumSide = WatermarkLayout.tile

    /// A watermark under `key` (embedding and detection) that also reads marks made under
    /// `previousKeys`.
    public init(key: WatermarkKey, previousKeys: [WatermarkKey] = [], configuration: Configuration = Configuration()) {
        self.configuration = configuration
        var seen: Set<String> = []
        let keys = ([key] + previousKeys).filter { seen.insert($0.identifier).inserted }
        layouts = keys.map { WatermarkLayout(key: $0) }
        aligners = layouts.map(WatermarkAligner.init(layout:))
        coarseLayouts = keys.map { WatermarkLayout(key: $0, purpose: CoarseWatermarkLayer.layoutPurpose) }
        coarseAligners = coarseLayouts.map(WatermarkAligner.init(layout:))
    }

    /// Identifiers of the keys detection tries, the current one first.
    public var keyIdentifiers: [String] { layouts.map(\.keyIdentifier) }

    /// The most payload hypotheses one detection may test: geometries x orientations x keys x
    /// sync peaks. The geometries are each search's candidates (the fine layer, the coarse layer
    /// on the half image, the coarse layer on the image itself), plus a refined copy of each of
    /// the fine search's lattice candidates (`WatermarkRefinement`). The chance of a false
    /// detection on an unmarked image is at most this times 2^-24.
    public var maximumHypotheses: Int {
        let geometries = Self.searches * WatermarkGeometry.maximumCandidates + (WatermarkGeometry.maximumCandidates - 1)
        return geometries * TileOrientation.all.count * layouts.count * Self.syncPeaksTried
    }

    /// Searches one detection runs: the fine layer, then the coarse layer at half and at full size.
    static let searches = 3

    /// Sync-correlation peaks tried per folded tile and key.
    static let syncPeaksTried = 2

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
        let original: RGBImage? = configuration.coarseLayer ? image : nil   // for the two layers' PSNR
        if configuration.coarseLayer, image.width >= CoarseWatermarkLayer.minimumSide,
           image.height >= CoarseWatermarkLayer.minimumSide {
            let half = CoarseWatermarkLayer.half(of: image)
            var marked = half
            let coarse = WatermarkEmbedder(layout: coarseLayouts[0], targetPSNR: configuration.coarsePSNR,
                                           minimumPSNR: configuration.coarsePSNR, perceptualMask: false)
            _ = coarse.embed(into: &marked, payload: payload)
            CoarseWatermarkLayer.addUpsampledChange(from: half, to: marked, into: &image)
        }
        let embedder = WatermarkEmbedder(
            layout: layouts[0], targetPSNR: configuration.targetPSNR,
            minimumPSNR: min(configuration.targetPSNR, configuration.minimumPSNR),
            perceptualMask: configuration.perceptualMask)
        var outcome = embedder.embed(into: &image, payload: payload)
        if let original { outcome.psnr = WatermarkEmbedder.psnr(image.pixels, original.pixels) }
        return outcome
    }

    /// Looks for a watermark under any of the keys; returns nil when none is found (or the image
    /// is under 64x64). The fine layer is searched first; then the coarse layer on the image's
    /// half (the size it was embedded at) and on the image itself (a 0.5x copy).
    public func detect(in image: RGBImage) -> WatermarkDetection? {
        guard image.width >= Self.minimumSide, image.height >= Self.minimumSide else { return nil }
        let luma = (luma: WatermarkResidual.luma(of: image), width: image.width, height: image.height)
        var hypotheses = 0
        if let found = search(luma, layouts: layouts, aligners: aligners, scaleFactor: 1, refines: true, hypotheses: &hypotheses) {
            return found
        }
        let half = WatermarkResidual.halved(luma.luma, width: luma.width, height: luma.height)
        if half.width >= Self.minimumSide, half.height >= Self.minimumSide,
           let found = search(half, layouts: coarseLayouts, aligners: coarseAligners, scaleFactor: 1, hypotheses: &hypotheses) {
            return found
        }
        return search(luma, layouts: coarseLayouts, aligners: coarseAligners, scaleFactor: 0.5, hypotheses: &hypotheses)
    }

    /// One search over the pyramid of `start` for marks of `layouts`; `scaleFactor` converts the
    /// found tile's scale into the image's scale against the marked original. With `refines`, a
    /// lattice candidate that does not decode is sharpened (`WatermarkRefinement`) and read again.
    private func search(_ start: (luma: [Double], width: Int, height: Int), layouts: [WatermarkLayout],
                        aligners: [WatermarkAligner], scaleFactor: Double, refines: Bool = false,
                        hypotheses: inout Int) -> WatermarkDetection? {
        var level = start
        var depth = 0
        for target in WatermarkGeometry.levels(width: start.width, height: start.height) {
            while depth < target {
                level = WatermarkResidual.halved(level.luma, width: level.width, height: level.height)
                depth += 1
            }
            let residual = WatermarkResidual(luma: level.luma, width: level.width, height: level.height)
            func read(at candidate: WatermarkGeometry.Candidate) -> WatermarkDetection? {
                let folded = WatermarkAligner.fold(residual, inverse: candidate.inverse)
                guard var found = decode(folded, candidate: candidate, layouts: layouts, aligners: aligners,
                                         hypotheses: &hypotheses) else { return nil }
                found.scale *= scaleFactor
                return found
            }
            for estimate in WatermarkGeometry.candidates(residual: residual, level: depth) {
                if let found = read(at: estimate) { return found }
                guard refines, estimate != .identity,
                      let refined = WatermarkRefinement.refined(estimate, residual: residual, aligners: aligners) else { continue }
                if let found = read(at: refined) { return found }
            }
        }
        return nil
    }

    /// Tries every orientation, key and sync peak on one folded tile.
    func decode(_ folded: [Double], candidate: WatermarkGeometry.Candidate, layouts: [WatermarkLayout],
                aligners: [WatermarkAligner], hypotheses: inout Int) -> WatermarkDetection? {
        for orientation in TileOrientation.all {
            let oriented = orientation.undo(folded)
            for (layout, aligner) in zip(layouts, aligners) {
                for shift in aligner.syncPeaks(oriented, count: Self.syncPeaksTried) {
                    hypotheses += 1
                    let aligned = aligner.align(oriented, by: shift.offset)
                    let soft = layout.softBits(cellEstimates: layout.cellEstimates(folded: aligned))
                    guard let payload = PayloadCode.decode(soft: soft) else { continue }
                    let coded = PayloadCode.encode(payload)
                    let errors = zip(soft, coded).filter { ($0.0 > 0) != ($0.1 == 1) }.count
                    return WatermarkDetection(
                        payload: payload, bitErrors: errors, codedBits: PayloadCode.codedBits,
                        syncScore: shift.score, scale: candidate.scale, rotationDegrees: candidate.rotation * 180 / .pi,
                        quarterTurns: orientation.quarterTurns, mirrored: orientation.mirrored,
                        keyIdentifier: layout.keyIdentifier, hypothesesTried: hypotheses)
                }
            }
        }
        return nil
    }
}
