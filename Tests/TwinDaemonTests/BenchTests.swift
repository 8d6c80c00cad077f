import Dispatch
import Foundation
import TwinBase
import Testing
import TwinDaemon
import TwinInference

/// `twinrender bench`'s code path on the tiny fixture model, 1 step: the report's FLOPs match a
/// hand count, its times are consistent with each other and with the wall time of the run, and
/// it survives JSON (no speed assertions: the machine is shared).
@Suite("bench")
struct BenchTests {
    /// Graph FLOPs of Fixtures/tiny-model ("tiny-test": 128x128, latent 4 x 16 x 16, denoiser
    /// channels 16, channel_mult [1, 2], one ResBlock per level, emb 32, ctx 16, 6 context
    /// tokens; decoder width 8), derived by hand per layer (conv3 = 18 * cin * cout * pixels):
    /// time + cond MLPs 6 144; conv_in 294 912; down.0.res 2 360 320; downsample 294 912;
    /// down.1.res (16->32, 1x1 skip) 1 837 056; mid1, mid2 2 361 344 each; mid_attn (64 tokens
    /// of 32, 6 context tokens of 16) 2 420 736; up.0.res 3 803 136 + 3 147 776; upsample conv
    /// 4 718 592; up.1.res 5 112 832 + 3 802 112; conv_out 294 912.
    static let denoiserFLOPsPerLatent = 32_816_128.0
    /// Decoder: 8->8 3x3 convs are 1152 FLOPs per output pixel, over 119 040 output pixels
    /// (9 convs at 16x16, 1 at 32x32, 9 at 32x32, 1 at 64x64, 9 at 64x64, 1 at 128x128, 3 at
    /// 128x128), plus conv_in 4->8 at 16x16 (147 456) and conv_out 8->3 at 128x128 (7 077 888).
    static let decoderFLOPsPerLatent = 1152.0 * 119_040 + 147_456 + 7_077_888

    static func close(_ a: Double, _ b: Double, _ relative: Double = 1e-9) -> Bool {
        abs(a - b) <= relative * max(abs(a), abs(b))
    }

    @Test("RenderBenchmark on the tiny model: hand-counted FLOPs, consistent times, JSON round trip")
    func renderBenchmark() throws {
        let dir = DaemonFixture.modelDirectory
        let model = try TwinModel.load(directory: dir)
        var options = RenderBenchmarkOptions()
        options.steps = 1
        options.batch = 2
        options.threads = 2
        options.repeats = 1
        #expect(options.output.label, "the default settings draw the label")
        var saved: [RGBImage] = []
        let t0 = DispatchTime.now().uptimeNanoseconds
        let r = try RenderBenchmark.run(model: model, modelDirectory: dir, options: options) { saved = $0 }
        let wallMs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        let i = r.inference
        #expect(i.steps == 1 && i.batch == 2 && i.threads == 2 && i.sampler == "ddim")
        #expect(i.width == 128 && i.height == 128 && i.model == "tiny-test")
        #expect(r.repeats == 1 && r.modelDirectory == dir.path)

        // Every stage took time (the label is on), in milliseconds.
        for t in [i.denoiserStepMs, i.samplerMs, i.decoderMs, i.samplerCpuMs, i.decoderCpuMs,
                  r.labelMs, r.watermarkMs, r.pngEncodeMs] {
            #expect(t > 0 && t.isFinite)
        }
        // The parts add up to the totals...
        #expect(Self.close(i.denoiserStepMs * Double(i.steps), i.samplerMs))
        #expect(Self.close(i.renderMsPerImage, (i.samplerMs + i.decoderMs) / 2))
        #expect(Self.close(r.totalMsPerImage, i.renderMsPerImage + r.labelMs + r.watermarkMs + r.pngEncodeMs))
        #expect(Self.close(i.imagesPerMinute * i.renderMsPerImage, 60_000))
        #expect(Self.close(r.imagesPerMinute * r.totalMsPerImage, 60_000))
        #expect(r.imagesPerMinute < i.imagesPerMinute)
        // ...and one timed pass of the whole batch fits inside the wall time of the run (which
        // also holds the warm-up pass and the sgemm peak): a wrong unit would break this.
        let timedBatchMs = i.samplerMs + i.decoderMs + 2 * (r.labelMs + r.watermarkMs + r.pngEncodeMs)
        #expect(timedBatchMs < wallMs, "timed \(timedBatchMs) ms, wall \(wallMs) ms")

        // FLOPs: one guided step is the denoiser over 2 x batch = 4 latents.
        #expect(Self.close(i.denoiserGFLOPPerStep, 4 * Self.denoiserFLOPsPerLatent / 1e9))
        #expect(Self.close(i.decoderGFLOP, 2 * Self.decoderFLOPsPerLatent / 1e9))
        #expect(Self.close(r.networkGFLOPPerImage,
                           (4 * Self.denoiserFLOPsPerLatent + 2 * Self.decoderFLOPsPerLatent) / 2 / 1e9))
        #expect(Self.close(i.achievedGFLOPS, (i.denoiserGFLOPPerStep + i.decoderGFLOP) / ((i.samplerMs + i.decoderMs) / 1000)))
        #expect(Self.close(i.decoderGFLOPS, i.decoderGFLOP / (i.decoderMs / 1000)))
        #expect(i.sgemmPeakGFLOPS > 0 && i.sgemmPeakGFLOPS.isFinite)
        #expect(r.peakRssBytes > 1_000_000 && r.pngBytes > 100)
        #expect(!i.blasCore.isEmpty)

        // The images handed out are the renderer's.
        #expect(saved.count == 2)
        let request = try InferenceBenchmark.request(model: model, steps: 1, width: i.width, height: i.height)
        let direct = try Renderer(model: model, threads: 1).renderBatch(request, imageIndices: 0..<2)
        #expect(saved == direct)

        // JSON: the fields bench-compare reads are there, and the report decodes back to itself.
        let text = try RenderBenchmark.json(r)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let inference = try #require(object["inference"] as? [String: Any])
        for key in ["samplerMs", "decoderMs", "denoiserStepMs", "achievedGFLOPS", "decoderGFLOPS", "sgemmPeakGFLOPS", "peakRssBytes"] {
            #expect(inference[key] is NSNumber, "inference.\(key)")
        }
        for key in ["labelMs", "watermarkMs", "pngEncodeMs", "totalMsPerImage", "imagesPerMinute", "peakRssBytes"] {
            #expect(object[key] is NSNumber, "\(key)")
        }
        #expect(try JSONDecoder().decode(RenderBenchmarkReport.self, from: Data(text.utf8)) == r)
    }

    @Test("output.label off: no label is drawn, so its stage is an empty timed region")
    func labelOff() throws {
        let dir = DaemonFixture.modelDirectory
        let model = try TwinModel.load(directory: dir)
        var options = RenderBenchmarkOptions()
        options.steps = 1
        options.batch = 2
        options.repeats = 3
        let on = try RenderBenchmark.run(model: model, modelDirectory: dir, options: options)
        options.output.label = false
        let off = try RenderBenchmark.run(model: model, modelDirectory: dir, options: options)
        // Medians of 6 images each: a skipped branch against a font blit over the image.
        #expect(off.labelMs >= 0 && off.labelMs < on.labelMs / 2, "label off \(off.labelMs) ms, on \(on.labelMs) ms")
        #expect(off.watermarkMs > 0 && off.pngEncodeMs > 0)
        #expect(Self.close(off.totalMsPerImage, off.inference.renderMsPerImage + off.labelMs + off.watermarkMs + off.pngEncodeMs))
    }

    @Test("twinrender bench --json runs on the tiny model")
    func benchCommand() throws {
        let (status, output) = try TwinRenderBinary.run(
            ["bench", "--model", DaemonFixture.modelDirectory.path, "--steps", "1", "--repeats", "1", "--size", "128",
             "--threads", "1", "--json"])
        #expect(status == 0, "\(output)")
        let report = try JSONDecoder().decode(RenderBenchmarkReport.self, from: Data(output.utf8))
        #expect(report.inference.width == 128 && report.inference.height == 128 && report.inference.steps == 1)
        #expect(report.inference.threads == 1 && report.inference.batch == 1 && report.repeats == 1)
        #expect(Self.close(report.inference.decoderGFLOP, Self.decoderFLOPsPerLatent / 1e9))
        let bad = try TwinRenderBinary.run(["bench", "--model", DaemonFixture.modelDirectory.path, "--size", "100x100"])
        #expect(bad.status != 0 && bad.output.contains("--size"))
    }
}
