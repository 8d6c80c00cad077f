// Role: tests of the geometry refinement: a lattice estimate a little off is pulled back to the
// copy's true scale, an unmarked image is left alone, and copies of a crop + 0.8x + JPEG 75
// chain that an estimate 1 % off misses are read at the refined geometry.
// Reference: WatermarkRefinement.swift, InvisibleWatermark.swift; docs/watermark.md ("Geometry
// refinement").
// Failure modes: a refinement that moves away from the truth, that runs on images with no mark,
// or that never turns a missed read into a found one fails here.
import Foundation
import Testing
import TwinBase
@testable import TwinImaging

@Suite struct RefinementTests {
    let watermark = InvisibleWatermark(key: .test)
    let layout = WatermarkLayout(key: .test)

    private func marked(seed: UInt64) throws -> RGBImage {
        var image = SyntheticRender.make(seed: seed, size: 128)
        try watermark.embed(into: &image, payload: seed &* 0x9E37_79B9_7F4A_7C15)
        return image
    }

    private func residual(_ image: RGBImage) -> WatermarkResidual {
        WatermarkResidual(luma: WatermarkResidual.luma(of: image), width: image.width, height: image.height)
    }

    /// Whether the detector's own read at `candidate` (every orientation, its sync peaks) finds
    /// `payload`.
    private func decodes(_ residual: WatermarkResidual, at candidate: WatermarkGeometry.Candidate, payload: UInt64) -> Bool {
        var hypotheses = 0
        let folded = WatermarkAligner.fold(residual, inverse: candidate.inverse)
        return watermark.decode(folded, candidate: candidate, layouts: [layout], aligners: [WatermarkAligner(layout: layout)],
                                hypotheses: &hypotheses)?.payload == payload
    }

    @Test func aScaleEstimateThatIsOffIsPulledBackToTheCopysScale() throws {
        let copy = try Attack.downscale075.apply(try marked(seed: 41))
        let truth = 64 * Double(copy.width) / 128
        for error in [1.008, 0.992] {
            let estimate = WatermarkGeometry.Candidate(axisX: [truth * error, 0], axisY: [0, truth * error], level: 0)
            let refined = try #require(WatermarkRefinement.refined(estimate, residual: residual(copy),
                                                                   aligners: [WatermarkAligner(layout: layout)]))
            for axis in [refined.axisX.x, refined.axisY.y] {
                #expect(abs(axis - truth) < abs(truth * error - truth) / 2, "\(error): \(axis) against \(truth)")
            }
        }
    }

    @Test func anUnmarkedImageIsNotRefined() throws {
        for seed: UInt64 in [42, 43] {
            let copy = try Attack.downscale075.apply(SyntheticRender.make(seed: seed, size: 128))
            let estimate = WatermarkGeometry.Candidate(axisX: [48, 0], axisY: [0, 48], level: 0)
            #expect(WatermarkRefinement.refined(estimate, residual: residual(copy),
                                                aligners: [WatermarkAligner(layout: layout)]) == nil)
        }
    }

    /// The copies are 82 pixels (a 10 % crop of 128 is 102, then 0.8x), so the true tile side is
    /// 64 * 82 / 102.
    @Test func refinementReadsCopiesAnEstimateOffByOnePercentMisses() throws {
        var missedThenRead = 0, lost = 0
        let seeds: [UInt64] = Array(50..<58)
        for seed in seeds {
            let payload = seed &* 0x9E37_79B9_7F4A_7C15
            let copy = try Attack.cropScaleJPEG75.apply(try marked(seed: seed))
            let truth = 64 * Double(copy.width) / 102
            let features = residual(copy)
            for error in [1.01, 0.99] {
                let estimate = WatermarkGeometry.Candidate(axisX: [truth * error, 0], axisY: [0, truth * error], level: 0)
                let atEstimate = decodes(features, at: estimate, payload: payload)
                let refined = WatermarkRefinement.refined(estimate, residual: features, aligners: [WatermarkAligner(layout: layout)])
                let atRefined = refined.map { decodes(features, at: $0, payload: payload) } ?? false
                if !atEstimate && atRefined { missedThenRead += 1 }
                if atEstimate && refined != nil && !atRefined { lost += 1 }
            }
        }
        #expect(missedThenRead >= 1, "refinement turned no missed read into a found one")
        #expect(lost == 0, "refinement lost \(lost) reads the estimate had")
    }
}
