// Role: tests of the closed-loop embedder, its detector features and the JPEG simulation.
// Reference: WatermarkEmbedder.swift, WatermarkResidual.swift, JPEGSimulation.swift.
// Failure modes: a gradient or simulation that drifts from the detector fails an expectation.
import Foundation
import Testing
import TwinBase
@testable import TwinImaging

/// The closed-loop embedder (`WatermarkEmbedder`), the whitened detector features it
/// differentiates (`WatermarkFeatures`, `BoxFilter`) and the JPEG simulation it checks against.
@Suite struct ClosedLoopTests {
    let watermark = InvisibleWatermark(key: .test)
    let payloads: [UInt64] = [0x0123_4567_89AB_CDEF, 0xDEAD_BEEF_0BAD_F00D, 0x8B00_A92F_9903_D884]

    private func randomValues(_ count: Int, seed: UInt64) -> [Double] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in Double(random.next() >> 11) / Double(1 << 53) * 2 - 1 }
    }

    private func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    @Test(arguments: [2, 3])
    func boxFilterTransposeIsTheAdjoint(radius: Int) {
        let width = 67, height = 64
        let x = randomValues(width * height, seed: 1), y = randomValues(width * height, seed: 2)
        let forward = BoxFilter.apply(x, width: width, height: height, radius: radius)
        let backward = BoxFilter.apply(y, width: width, height: height, radius: radius, transposed: true)
        #expect(abs(dot(forward, y) - dot(x, backward)) < 1e-9)
        // Forward is a clamped mean: constants stay constant, also at the edges.
        let constant = BoxFilter.apply([Double](repeating: 3, count: width * height), width: width, height: height, radius: radius)
        #expect(constant.allSatisfy { abs($0 - 3) < 1e-12 })
    }

    @Test func featureGradientMatchesFiniteDifferences() throws {
        let image = SyntheticRender.make(seed: 4, size: 64)
        var luma = WatermarkResidual.luma(of: image)
        // Texture everywhere, so both the clipped and the linear branches are exercised.
        for (index, value) in randomValues(luma.count, seed: 3).enumerated() { luma[index] += 4 * value }
        let weights = randomValues(luma.count, seed: 5)
        var features = WatermarkFeatures(luma: luma, width: 64, height: 64)
        var gradient = [Double](repeating: 0, count: luma.count)
        features.backward(weights, into: &gradient)
        let base = dot(features.values, weights)
        for (x, y) in [(0, 0), (1, 0), (30, 31), (63, 17), (5, 63), (62, 62)] {
            var moved = luma
            let h = 1e-6
            moved[y * 64 + x] += h
            let numeric = (dot(WatermarkFeatures(luma: moved, width: 64, height: 64).values, weights) - base) / h
            #expect(abs(numeric - gradient[y * 64 + x]) < 1e-4 * max(1, abs(numeric)), "pixel (\(x), \(y))")
        }
    }

    @Test func jpegSimulationTracksLibjpegOnLuma() throws {
        #expect(JPEGSimulation.table(quality: 50) == JPEGSimulation.baseTable)
        #expect(JPEGSimulation.table(quality: 75)[0] == 8)
        #expect(JPEGSimulation.table(quality: 10)[0] == 80)
        let image = SyntheticRender.make(seed: 12, size: 128)
        let luma = WatermarkResidual.luma(of: image)
        for quality in [50, 75] {
            let real = WatermarkResidual.luma(of: try JPEGCodec.decode(try JPEGCodec.encode(image, quality: quality)).image)
            let simulated = JPEGSimulation.apply(luma, width: 128, height: 128, quality: quality)
            // The simulation is much closer to libjpeg's output than the original is.
            let offBySimulation = zip(simulated, real).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            let offByJPEG = zip(luma, real).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            #expect(offBySimulation < 0.5 * offByJPEG, "quality \(quality): \(offBySimulation) vs \(offByJPEG)")
        }
    }

    @Test func sameInputSameBytes() throws {
        for (_, original) in try HardRenders.all() + [("synthetic", SyntheticRender.make(seed: 8))] {
            var first = original, second = original
            try watermark.embed(into: &first, payload: payloads[0])
            try watermark.embed(into: &second, payload: payloads[0])
            #expect(first == second)
            var other = original
            try watermark.embed(into: &other, payload: payloads[1])
            #expect(other != first)
        }
    }

    @Test func plainMarkKeepsTheFormerBytes() throws {
        // closedLoop false is the former open-loop embedder: strength * tile, rounded, clamped.
        var image = SyntheticRender.make(seed: 3)
        let original = image
        let embedder = WatermarkEmbedder(layout: WatermarkLayout(key: .test), targetPSNR: 41, minimumPSNR: 41, closedLoop: false)
        embedder.embed(into: &image, payload: 99)
        let tile = WatermarkLayout(key: .test).tile(for: 99)
        let strength = WatermarkEmbedder.meanSquaredError(psnr: 41).squareRoot()
        for index in stride(from: 0, to: image.pixels.count, by: 97) {
            let pixel = index / 3, x = pixel % 128, y = pixel / 128
            let expected = min(255, max(0, (Double(original.pixels[index]) + strength * tile[(y % 64) * 64 + x % 64]).rounded()))
            #expect(Double(image.pixels[index]) == expected)
        }
    }

    @Test func hardRendersReadBackAfterTheClosedLoop() throws {
        let plain = WatermarkEmbedder(layout: WatermarkLayout(key: .test), targetPSNR: 41, minimumPSNR: 41, closedLoop: false)
        // Raw code-bit errors after JPEG 50, summed (a lost mark counts every bit).
        var plainErrors = 0, closedErrors = 0
        func errors(_ image: RGBImage, _ payload: UInt64) throws -> Int {
            let detection = watermark.detect(in: try Attack.jpeg50.apply(image, seed: 9))
            return detection?.payload == payload ? detection!.bitErrors : PayloadCode.codedBits
        }
        for (name, original) in try HardRenders.all() {
            for payload in payloads {
                var open = original
                plain.embed(into: &open, payload: payload)
                plainErrors += try errors(open, payload)

                var image = original
                let outcome = try watermark.embedReportingOutcome(into: &image, payload: payload)
                #expect(outcome.psnr >= 40, "\(name) \(payload): PSNR \(outcome.psnr)")
                #expect(outcome.steps >= WatermarkEmbedder.iterations)
                closedErrors += try errors(image, payload)
                let detection = watermark.detect(in: image)
                #expect(detection?.payload == payload, "\(name) \(payload) untouched")
                #expect((detection?.bitErrors ?? .max) <= 10, "\(name) \(payload): \(detection?.bitErrors ?? -1) bit errors")
                for attack in [Attack.jpeg75, .jpeg50, .noise5] {
                    #expect(watermark.detect(in: try attack.apply(image, seed: 9))?.payload == payload, "\(name) \(payload) \(attack)")
                }
            }
        }
        // At the same PSNR the closed loop reads these hard cases with fewer errors.
        #expect(closedErrors < plainErrors, "closed loop \(closedErrors), plain \(plainErrors) bit errors after JPEG 50")
    }

    @Test func escalatesNoLowerThanTheMinimum() throws {
        for (name, original) in try HardRenders.all() {
            for minimum in [40.2, 40.6] {
                var settings = InvisibleWatermark.Configuration()
                settings.targetPSNR = 41
                settings.minimumPSNR = minimum
                var image = original
                let outcome = try InvisibleWatermark(key: .test, configuration: settings).embedReportingOutcome(into: &image, payload: payloads[2])
                // Rounding to 8 bits costs a few hundredths of a dB.
                #expect(outcome.psnr >= minimum - 0.1, "\(name): \(outcome.psnr) dB with minimum \(minimum)")
            }
            // A minimum above the target never raises the strength.
            var settings = InvisibleWatermark.Configuration()
            settings.targetPSNR = 42
            settings.minimumPSNR = 44
            var image = original
            let outcome = try InvisibleWatermark(key: .test, configuration: settings).embedReportingOutcome(into: &image, payload: payloads[2])
            #expect(outcome.psnr >= 41.9, "\(name): \(outcome.psnr) dB")
        }
    }
}
