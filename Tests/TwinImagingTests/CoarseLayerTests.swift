// Role: tests of the coarse watermark layer: both layers stay above 40 dB, read back untouched,
// and the coarse one keeps the payload after JPEG 30 and a 0.5x thumbnail where the fine layer
// alone loses it; small images get the fine layer only; embedding stays deterministic.
// Reference: CoarseWatermarkLayer.swift, InvisibleWatermark.swift; docs/watermark.md ("Coarse layer").
// Failure modes: a coarse layer that is not embedded, not searched, or drawn with the fine
// layer's layout fails the attack comparisons.
import Foundation
import Testing
import TwinBase
@testable import TwinImaging

@Suite struct CoarseLayerTests {
    let fineOnly = InvisibleWatermark(key: .test)
    let bothLayers = InvisibleWatermark(key: .test, configuration: .withCoarseLayer)
    let seeds: [UInt64] = [31, 32, 33, 34]

    private func marked(_ watermark: InvisibleWatermark, seed: UInt64, size: Int = 128) throws -> (RGBImage, Double) {
        var image = SyntheticRender.make(seed: seed, size: size)
        let psnr = try watermark.embed(into: &image, payload: seed &* 0x9E37_79B9_7F4A_7C15)
        return (image, psnr)
    }

    @Test func bothLayersStayAboveFortyDecibelsAndReadBack() throws {
        for seed in seeds {
            let (image, psnr) = try marked(bothLayers, seed: seed)
            #expect(psnr >= 40, "PSNR \(psnr) dB")
            // Either watermark reads it: detection does not depend on how the image was marked.
            #expect(fineOnly.detect(in: image)?.payload == seed &* 0x9E37_79B9_7F4A_7C15)
        }
    }

    @Test(arguments: [Attack.jpeg30, .thumbnailHalfJPEG75])
    func coarseLayerKeepsWhatTheFineLayerLoses(_ attack: Attack) throws {
        var fine = 0, both = 0
        for seed in seeds {
            let payload = seed &* 0x9E37_79B9_7F4A_7C15
            if fineOnly.detect(in: try attack.apply(try marked(fineOnly, seed: seed).0))?.payload == payload { fine += 1 }
            if bothLayers.detect(in: try attack.apply(try marked(bothLayers, seed: seed).0))?.payload == payload { both += 1 }
        }
        #expect(both >= seeds.count - 1, "\(attack): both layers read \(both) of \(seeds.count)")
        #expect(both > fine, "\(attack): both layers \(both), fine layer alone \(fine)")
    }

    @Test func thumbnailDetectionReportsHalfScale() throws {
        let (image, _) = try marked(bothLayers, seed: 35)
        let detection = try #require(bothLayers.detect(in: try Attack.thumbnailHalfJPEG75.apply(image)))
        #expect(abs(detection.scale - 0.5) < 0.05, "scale \(detection.scale)")
    }

    @Test func imagesUnderTwoTilesGetTheFineLayerOnly() throws {
        let original = SyntheticRender.make(seed: 36, size: 96)
        var withCoarse = original, withoutCoarse = original
        try bothLayers.embed(into: &withCoarse, payload: 7)
        var fineSettings = InvisibleWatermark.Configuration.withCoarseLayer
        fineSettings.coarseLayer = false
        try InvisibleWatermark(key: .test, configuration: fineSettings).embed(into: &withoutCoarse, payload: 7)
        #expect(withCoarse == withoutCoarse)
        #expect(bothLayers.detect(in: withCoarse)?.payload == 7)
    }

    @Test func embeddingIsDeterministic() throws {
        let (first, _) = try marked(bothLayers, seed: 37)
        let (second, _) = try marked(bothLayers, seed: 37)
        #expect(first == second)
    }

    @Test func halfAndUpsampledChangeAreExact() throws {
        let image = try RGBImage(width: 3, height: 2, pixels: [0, 1, 2, 3, 4, 5, 6, 7, 8,
                                                               10, 11, 12, 13, 14, 15, 16, 17, 18])
        let half = CoarseWatermarkLayer.half(of: image)   // the odd column is dropped
        #expect(half.width == 1 && half.height == 1 && half.pixels == [7, 8, 9])   // (0+3+10+13+2)/4 = 7
        var flat = try RGBImage(width: 4, height: 4, fill: (100, 100, 100))
        var marked = try RGBImage(width: 2, height: 2, fill: (100, 100, 100))
        marked.pixels[0] = 104   // +4 on the top-left half pixel's red
        CoarseWatermarkLayer.addUpsampledChange(from: try RGBImage(width: 2, height: 2, fill: (100, 100, 100)),
                                                to: marked, into: &flat)
        // Bilinear weights: 9/16, 3/16, 3/16, 1/16 of +4 around the top-left corner (clamped edges).
        let red = stride(from: 0, to: 48, by: 3).map { Int(flat.pixels[$0]) - 100 }
        #expect(red == [4, 3, 1, 0,
                        3, 2, 1, 0,
                        1, 1, 0, 0,
                        0, 0, 0, 0])
        #expect(stride(from: 1, to: 48, by: 3).allSatisfy { flat.pixels[$0] == 100 })
    }
}
