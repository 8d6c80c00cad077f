// Role: tests of the perceptual mask: its weights follow texture, and the marks the embedder
// makes with it are fainter on flat areas than on busy ones (the closed loop without it is not).
// Reference: PerceptualMask.swift, WatermarkEmbedder.swift; docs/watermark.md ("Perceptual mask").
// Failure modes: a mask that does not reach the embedder, or an embedder that pulls energy back
// onto flat areas, fails the RMS comparison.
import Foundation
import Testing
import TwinBase
@testable import TwinImaging

@Suite struct PerceptualMaskTests {
    /// A 128x128 luma plane: flat grey on the left half, ±20 grey-level noise on the right.
    private func halfTextured() -> [Double] {
        var random = SplitMix64(seed: 7)
        return (0..<128 * 128).map { index in
            index % 128 < 64 ? 128 : 128 + 40 * (Double(random.next() >> 11) / Double(1 << 53) - 0.5)
        }
    }

    @Test func weightsAreFlatOnFlatAreasAndRiseWithTexture() {
        let weights = PerceptualMask.weights(luma: halfTextured(), width: 128, height: 128)
        for y in stride(from: 0, to: 128, by: 9) {
            // Far from the boundary (more than the filters' reach: 2 + 3 + 3 pixels).
            #expect(abs(weights[y * 128 + 20] - PerceptualMask.flat) < 1e-12)
            #expect(weights[y * 128 + 110] > 0.9 * PerceptualMask.textured)
            #expect(weights[y * 128 + 110] <= PerceptualMask.textured)
        }
        // A uniform image is flat everywhere.
        let uniform = PerceptualMask.weights(luma: [Double](repeating: 77, count: 64 * 64), width: 64, height: 64)
        #expect(uniform.allSatisfy { abs($0 - PerceptualMask.flat) < 1e-12 })
    }

    /// Mark RMS (luma, grey levels) where the original's local residual RMS is under 1 grey
    /// level (flat) and 8 or more (busy), summed over `images`.
    private func markRMS(_ images: [RGBImage], masked: Bool) throws -> (flat: Double, busy: Double) {
        var settings = InvisibleWatermark.Configuration()
        settings.perceptualMask = masked
        let watermark = InvisibleWatermark(key: .test, configuration: settings)
        var flat = (sum: 0.0, count: 0), busy = (sum: 0.0, count: 0)
        for (number, original) in images.enumerated() {
            var marked = original
            try watermark.embed(into: &marked, payload: 0x5EED_0000 + UInt64(number))
            let before = WatermarkResidual.luma(of: original), after = WatermarkResidual.luma(of: marked)
            let mean = BoxFilter.apply(before, width: original.width, height: original.height, radius: WatermarkResidual.radius)
            let energy = BoxFilter.apply(zip(before, mean).map { ($0 - $1) * ($0 - $1) },
                                         width: original.width, height: original.height, radius: WatermarkResidual.energyRadius)
            for index in before.indices {
                let change = (after[index] - before[index]) * (after[index] - before[index])
                if energy[index] < 1 { flat.sum += change; flat.count += 1 }
                if energy[index] >= 64 { busy.sum += change; busy.count += 1 }
            }
        }
        #expect(flat.count > 1000 && busy.count > 1000, "flat \(flat.count), busy \(busy.count) pixels")
        return ((flat.sum / Double(flat.count)).squareRoot(), (busy.sum / Double(busy.count)).squareRoot())
    }

    private func renders() throws -> [RGBImage] {
        try HardRenders.all().map(\.image) + (1...4).map { SyntheticRender.make(seed: UInt64($0)) }
    }

    @Test func theMaskedMarkIsFainterOnFlatAreasThanOnBusyOnes() throws {
        let masked = try markRMS(renders(), masked: true)
        #expect(masked.flat <= masked.busy, "masked: flat \(masked.flat), busy \(masked.busy)")
        // Without the mask the closed loop puts more on flat areas: the property is the mask's.
        let uniform = try markRMS(renders(), masked: false)
        #expect(uniform.flat > uniform.busy, "uniform: flat \(uniform.flat), busy \(uniform.busy)")
        #expect(masked.flat < uniform.flat)
    }

    @Test func maskedMarksKeepThePSNRAndReadBack() throws {
        var settings = InvisibleWatermark.Configuration()
        settings.perceptualMask = true
        let watermark = InvisibleWatermark(key: .test, configuration: settings)
        for (number, original) in try renders().enumerated() {
            var marked = original
            let psnr = try watermark.embed(into: &marked, payload: 0xFACE_0000 + UInt64(number))
            #expect(psnr >= 40, "image \(number): \(psnr) dB")
            #expect(watermark.detect(in: marked)?.payload == 0xFACE_0000 + UInt64(number), "image \(number)")
        }
    }
}
