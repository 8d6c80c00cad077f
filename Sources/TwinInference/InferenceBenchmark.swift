// Role: the benchmark of the render stage: warm-up, then timed sampler and decoder passes (wall
// and process CPU), FLOP counts from the graph and a sgemm peak measured on the spot.
// `twinrender bench` wraps it and adds label, watermark and PNG timings.
// Reference: the workload scripts/bench-compare renders in PyTorch and ONNX Runtime (first
// twin, first value of every vocabulary, seed 1, guidance 3); docs/inference.md.
// Failure modes: a model with no usable twin or an invalid size throws `RenderError`; batch,
// repeats or threads below 1 are a programming error (`precondition`).

import CBLAS
import Dispatch
import Foundation
import TwinBase

/// Results of `InferenceBenchmark.run`. Times are medians over the timed repeats.
public struct BenchmarkReport: Sendable, Codable, Equatable {
    public let model: String
    public let width: Int, height: Int, batch: Int, steps: Int, threads: Int
    public let sampler: String
    /// One guided denoiser evaluation (cond + null batched, 2 x batch latents).
    public let denoiserStepMs: Double
    /// The whole sampling loop for the batch.
    public let samplerMs: Double
    /// One decoder pass for the batch.
    public let decoderMs: Double
    /// Process CPU time (all threads) of the sampling loop and of the decoder pass, medians: what
    /// the stage costs on a shared host, where wall times also include waiting for a core.
    public let samplerCpuMs: Double
    public let decoderCpuMs: Double
    /// (sampler + decoder) / batch.
    public let renderMsPerImage: Double
    public let imagesPerMinute: Double
    /// FLOPs counted from the graph (2 x multiply-adds of convs, linears, attention matmuls).
    public let denoiserGFLOPPerStep: Double
    public let decoderGFLOP: Double
    /// Graph FLOPs of sampler + decoder divided by their time.
    public let achievedGFLOPS: Double
    public let decoderGFLOPS: Double
    /// Aggregate GFLOP/s of `threads` concurrent single-threaded sgemms (conv-shaped: M 64, N 4096, K 576).
    public let sgemmPeakGFLOPS: Double
    /// OpenBLAS's kernel set in use ("SkylakeX (OpenBLAS detected Prescott)" when BLASCore fixed it).
    public let blasCore: String
    /// Process peak resident set size so far (getrusage).
    public let peakRssBytes: Int
}

/// Entry points for benchmarking the render stage.
public enum InferenceBenchmark {
    /// The benchmark workload (also used by scripts/bench-compare): the first usable twin, the
    /// first value of every vocabulary, seed 1, guidance 3; render it with image indices 0..<batch.
    public static func request(model: TwinModel, steps: Int, width: Int, height: Int,
                               sampler: Sampler = .ddim) throws(RenderError) -> RenderRequest {
        guard let twin = model.twinIDs.first else { throw .unknownTwin("(the model has no usable twin)") }
        var attrs: [String: String] = [:]
        for v in model.vocabularies { attrs[v.name] = v.values[0] }
        return RenderRequest(twinID: twin, attributes: attrs, seed: 1, steps: steps, guidance: 3,
                             sampler: sampler, width: width, height: height)
    }

    /// Renders the `request(...)` workload for `batch` images once to warm up, then `repeats`
    /// times timed.
    public static func run(model: TwinModel, steps: Int, width: Int, height: Int, batch: Int, threads: Int,
                           sampler: Sampler = .ddim, repeats: Int = 3) throws(RenderError) -> BenchmarkReport {
        try measure(model: model, steps: steps, width: width, height: height, batch: batch, threads: threads,
                    sampler: sampler, repeats: repeats).report
    }

    /// `run`, also returning the batch's images from the last timed repeat (converted to 8-bit
    /// outside the timed region), so callers can time what follows the decoder on real output.
    public static func measure(model: TwinModel, steps: Int, width: Int, height: Int, batch: Int, threads: Int,
                               sampler: Sampler = .ddim, repeats: Int = 3) throws(RenderError)
        -> (report: BenchmarkReport, images: [RGBImage]) {
        precondition(batch >= 1 && repeats >= 1 && threads >= 1)
        let request = try request(model: model, steps: steps, width: width, height: height, sampler: sampler)
        let renderer = Renderer(model: model, threads: threads)
        let h = height / 8, w = width / 8
        var samplerTimes: [Double] = [], decoderTimes: [Double] = []
        var samplerCPU: [Double] = [], decoderCPU: [Double] = []
        var images: [RGBImage] = []
        for rep in 0...repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds, c0 = cpuNanoseconds()
            var z = try renderer.sample(request, imageIndices: 0..<batch) { _, _ in true }
            let t1 = DispatchTime.now().uptimeNanoseconds, c1 = cpuNanoseconds()
            let (t2, c2) = z.withUnsafeMutableBufferPointer { zp in
                let rgb = renderer.decode(Tensor4(zp.baseAddress!, batch, model.latentChannels, h, w))
                let t2 = DispatchTime.now().uptimeNanoseconds, c2 = cpuNanoseconds()
                if rep == repeats { images = (0..<batch).map { RGBImage.fromPlanar(rgb, index: $0) } }
                return (t2, c2)
            }
            if rep > 0 {
                samplerTimes.append(Double(t1 - t0) / 1e6)
                decoderTimes.append(Double(t2 - t1) / 1e6)
                samplerCPU.append(Double(c1 - c0) / 1e6)
                decoderCPU.append(Double(c2 - c1) / 1e6)
            }
        }
        let samplerMs = median(samplerTimes), decoderMs = median(decoderTimes)
        let stepFlops = model.denoiser.flops(batch: 2 * batch, h: h, w: w)
        let decFlops = model.decoder.flops(batch: batch, h: h, w: w)
        let perBatch = samplerMs + decoderMs
        let report = BenchmarkReport(
            model: model.name, width: width, height: height, batch: batch, steps: steps, threads: threads,
            sampler: sampler.rawValue, denoiserStepMs: samplerMs / Double(steps), samplerMs: samplerMs,
            decoderMs: decoderMs, samplerCpuMs: median(samplerCPU), decoderCpuMs: median(decoderCPU),
            renderMsPerImage: perBatch / Double(batch),
            imagesPerMinute: 60_000 * Double(batch) / perBatch,
            denoiserGFLOPPerStep: stepFlops / 1e9, decoderGFLOP: decFlops / 1e9,
            achievedGFLOPS: (stepFlops * Double(steps) + decFlops) / (perBatch * 1e6),
            decoderGFLOPS: decFlops / (decoderMs * 1e6),
            sgemmPeakGFLOPS: sgemmPeak(threads: threads), blasCore: blasCoreDescription, peakRssBytes: peakRSS())
        return (report, images)
    }

    /// GFLOP/s of `threads` workers each running single-threaded sgemm (M 64, N 4096, K 576, the
    /// shape of a 64-channel 3x3 conv tile set) concurrently, best of 5 runs.
    public static func sgemmPeak(threads: Int) -> Double {
        BLASThreads.configure()
        let m = 64, n = 4096, k = 576, reps = 4
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var best = 0.0
        let outputs = (0..<threads).map { _ in UnsafeMutableBufferPointer<Float>.allocate(capacity: m * n) }
        defer { outputs.forEach { $0.deallocate() } }
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                for _ in 0..<5 {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    parallelFor(threads, threads: threads) { _, i in
                        for _ in 0..<reps {
                            sgemm(outputs[i].baseAddress!, ldc: n, ap.baseAddress!, lda: k, bp.baseAddress!, ldb: n, m: m, n: n, k: k)
                        }
                    }
                    let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                    best = max(best, 2 * Double(m * n * k * reps * threads) / s / 1e9)
                }
            }
        }
        return best
    }

    /// OpenBLAS's active core, and what it detected when that differs.
    public static var blasCoreDescription: String {
        let s = BLASThreads.configured
        return s.changed ? "\(s.active) (OpenBLAS detected \(s.detected))" : s.active
    }

    /// Median of a non-empty list (mean of the middle two for an even count).
    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// CPU time of the whole process (every thread) in nanoseconds.
    static func cpuNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Process peak resident set size in bytes (getrusage ru_maxrss).
    public static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }
}
