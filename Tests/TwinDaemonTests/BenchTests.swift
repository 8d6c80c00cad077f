import Foundation
import Testing
import TwinDaemon
import TwinInference

/// `twinrender bench`'s code path on the tiny fixture model, 1 step: the report is complete and
/// consistent (no timing assertions: the machine is shared).
@Suite("bench")
struct BenchTests {
    @Test("RenderBenchmark on the tiny model: positive times, graph FLOPs, JSON round trip")
    func renderBenchmark() throws {
        let dir = DaemonFixture.modelDirectory
        let model = try TwinModel.load(directory: dir)
        var options = RenderBenchmarkOptions()
        options.steps = 1
        options.batch = 2
        options.threads = 2
        options.repeats = 1
        var saved: [TwinInference.RGBImage] = []
        let r = try RenderBenchmark.run(model: model, modelDirectory: dir, options: options) { saved = $0 }
        let i = r.inference
        #expect(i.steps == 1 && i.batch == 2 && i.threads == 2 && i.sampler == "ddim")
        #expect(i.width == model.imageWidth && i.height == model.imageHeight)
        for t in [i.denoiserStepMs, i.samplerMs, i.decoderMs, i.renderMsPerImage, r.watermarkMs, r.pngEncodeMs, r.totalMsPerImage] {
            #expect(t > 0 && t.isFinite)
        }
        #expect(r.labelMs >= 0)
        #expect(i.imagesPerMinute > 0 && r.imagesPerMinute > 0 && r.imagesPerMinute <= i.imagesPerMinute)
        // FLOPs are the graph's: one guided step = denoiser over 2 x batch latents.
        let stepFlops = model.denoiserFLOPs(batch: 4, width: i.width, height: i.height)
        let decFlops = model.decoderFLOPs(batch: 2, width: i.width, height: i.height)
        #expect(stepFlops > 0 && decFlops > 0)
        #expect(i.denoiserGFLOPPerStep == stepFlops / 1e9)
        #expect(i.decoderGFLOP == decFlops / 1e9)
        #expect(abs(r.networkGFLOPPerImage - (stepFlops + decFlops) / 2 / 1e9) < 1e-12)
        #expect(i.achievedGFLOPS > 0 && i.sgemmPeakGFLOPS > 0)
        #expect(r.peakRssBytes > 1_000_000 && r.pngBytes > 0)
        // The images handed out are the renderer's.
        #expect(saved.count == 2)
        let request = try InferenceBenchmark.request(model: model, steps: 1, width: i.width, height: i.height)
        let direct = try Renderer(model: model, threads: 1).renderBatch(request, imageIndices: 0..<2)
        #expect(saved == direct)
        // JSON parses and carries the fields bench-compare reads.
        let text = try RenderBenchmark.json(r)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let inference = try #require(object["inference"] as? [String: Any])
        for key in ["samplerMs", "decoderMs", "denoiserStepMs", "achievedGFLOPS", "sgemmPeakGFLOPS", "peakRssBytes"] {
            #expect(inference[key] is NSNumber, "inference.\(key)")
        }
        for key in ["watermarkMs", "pngEncodeMs", "totalMsPerImage", "imagesPerMinute", "peakRssBytes"] {
            #expect(object[key] is NSNumber, "\(key)")
        }
        #expect(try JSONDecoder().decode(RenderBenchmarkReport.self, from: Data(text.utf8)) == r)
    }

    @Test("twinrender bench --json runs on the tiny model")
    func benchCommand() throws {
        let (status, output) = try TwinRenderBinary.run(
            ["bench", "--model", DaemonFixture.modelDirectory.path, "--steps", "1", "--repeats", "1", "--size", "128", "--json"])
        #expect(status == 0, "\(output)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let inference = try #require(object["inference"] as? [String: Any])
        #expect(inference["width"] as? Int == 128 && inference["height"] as? Int == 128 && inference["steps"] as? Int == 1)
        let bad = try TwinRenderBinary.run(["bench", "--model", DaemonFixture.modelDirectory.path, "--size", "100x100"])
        #expect(bad.status != 0 && bad.output.contains("--size"))
    }
}
