// Role: `twinrender bench`'s measurement of the whole render path on this host: TwinInference's
// sampler and decoder timings plus the label, watermark and PNG stages, with graph FLOPs against
// a sgemm peak measured on the spot.
// Reference: docs/inference.md ("How to measure").
// Failure modes: a model that does not load or a size the model refuses throws; timings are
// medians of the requested repeats after one warm-up, never single runs.

// `twinrender bench`: the whole render path of one image, stage by stage. The inference part
// (warm-up, sampler, decoder, FLOPs, sgemm peak) is TwinInference's InferenceBenchmark; this
// adds what the pipeline does after the decoder (visible label, invisible watermark, PNG with
// provenance metadata), timed on the images the benchmark rendered.

import Dispatch
import Foundation
import TwinBase
import TwinImaging
import TwinInference

/// What to benchmark. Defaults follow the model package and the daemon's config defaults.
public struct RenderBenchmarkOptions: Sendable, Equatable {
    /// Denoising steps (nil: the model's default).
    public var steps: Int?
    /// Image size in pixels (nil: the model's default).
    public var width: Int?
    public var height: Int?
    /// Images rendered together (noise streams 0..<batch).
    public var batch = 1
    /// The renderer's thread budget (the daemon's `workers.blas_threads`).
    public var threads = 2
    /// Timed repeats after one warm-up; times are medians.
    public var repeats = 3
    /// nil: the model's default sampler.
    public var sampler: Sampler?
    /// The output settings the pipeline renders with (PNG compression, label).
    public var output = RenderSettings(config: DaemonConfig())

    public init() {}

    /// Thread budget and output settings from a daemon config; the rest stays default.
    public init(config: DaemonConfig) {
        threads = config.blasThreads
        output = RenderSettings(config: config)
    }
}

/// `twinrender bench`'s result. Per-image stage times are medians over repeats x images.
public struct RenderBenchmarkReport: Sendable, Codable, Equatable {
    /// The model package folder.
    public let modelDirectory: String
    /// Timed repeats (after one warm-up).
    public let repeats: Int
    /// Denoiser step, sampler, decoder, FLOPs, GFLOP/s, sgemm peak (TwinInference).
    public let inference: BenchmarkReport
    /// Visible AI label, per image (near 0 when `output.label` is off: only the skipped branch is timed).
    public let labelMs: Double
    /// Invisible watermark embedding, per image.
    public let watermarkMs: Double
    /// PNG encoding with XMP/iTXt provenance, per image.
    public let pngEncodeMs: Double
    /// Size of the encoded PNG of image 0.
    public let pngBytes: Int
    /// Graph FLOPs of the network per image (steps x guided denoiser + decoder).
    public let networkGFLOPPerImage: Double
    /// Sampler + decoder + label + watermark + PNG, per image.
    public let totalMsPerImage: Double
    /// 60 000 / totalMsPerImage.
    public let imagesPerMinute: Double
    /// Peak resident set size of the process at the end of the benchmark.
    public let peakRssBytes: Int
}

public enum RenderBenchmark {
    /// The payload embedded by the benchmark (any 64-bit value costs the same).
    static let payload: UInt64 = 0x7477_696E_7265_6E64

    /// Runs the benchmark; `onImages` (if set) receives the decoder's 8-bit images before
    /// label and watermark (what `--save-rgb` writes).
    public static func run(model: TwinModel, modelDirectory: URL, options o: RenderBenchmarkOptions,
                           onImages: (([RGBImage]) throws -> Void)? = nil) throws -> RenderBenchmarkReport {
        precondition(o.batch >= 1 && o.repeats >= 1 && o.threads >= 1)
        let width = o.width ?? model.imageWidth, height = o.height ?? model.imageHeight
        let steps = o.steps ?? model.samplerDefaults.steps
        let sampler = o.sampler ?? model.samplerDefaults.sampler
        let (inference, images) = try InferenceBenchmark.measure(
            model: model, steps: steps, width: width, height: height, batch: o.batch, threads: o.threads,
            sampler: sampler, repeats: o.repeats)
        try onImages?(images)

        let label = AILabel(configuration: o.output.labelConfiguration)
        // The cost of marking does not depend on the key: a throw-away one keeps the bench off the installation key.
        let watermark = InvisibleWatermark(key: WatermarkKey.generate())
        let sources = images
        var labelTimes: [Double] = [], markTimes: [Double] = [], pngTimes: [Double] = []
        var pngBytes = 0
        for rep in 0...o.repeats {
            for (index, source) in sources.enumerated() {
                var image = source
                let t0 = now()
                if o.output.label { try label.draw(on: &image) }
                let t1 = now()
                _ = try watermark.embed(into: &image, payload: payload)
                let t2 = now()
                let png = try PNGCodec.encode(image, metadata: metadata(model: model, index: index),
                                              compressionLevel: o.output.pngCompression)
                let t3 = now()
                if index == 0 { pngBytes = png.count }
                if rep > 0 {
                    labelTimes.append(ms(t0, t1)); markTimes.append(ms(t1, t2)); pngTimes.append(ms(t2, t3))
                }
            }
        }
        let labelMs = InferenceBenchmark.median(labelTimes), markMs = InferenceBenchmark.median(markTimes)
        let pngMs = InferenceBenchmark.median(pngTimes)
        let total = inference.renderMsPerImage + labelMs + markMs + pngMs
        let gflop = inference.denoiserGFLOPPerStep * Double(steps) / Double(o.batch) + inference.decoderGFLOP / Double(o.batch)
        return RenderBenchmarkReport(
            modelDirectory: modelDirectory.path, repeats: o.repeats, inference: inference,
            labelMs: labelMs, watermarkMs: markMs, pngEncodeMs: pngMs, pngBytes: pngBytes,
            networkGFLOPPerImage: gflop, totalMsPerImage: total, imagesPerMinute: 60_000 / total,
            peakRssBytes: InferenceBenchmark.peakRSS())
    }

    /// The human-readable report.
    public static func describe(_ r: RenderBenchmarkReport) -> String {
        let i = r.inference
        func f(_ v: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", v) }
        func row(_ name: String, _ value: String, _ note: String = "") -> String {
            "  " + name.padding(toLength: 26, withPad: " ", startingAt: 0) + value.leftPad(10) + (note.isEmpty ? "" : "   " + note)
        }
        let sampler = i.sampler == "ddim" ? "DDIM" : "DPM-Solver++(2M)"
        let lines = [
            "twinrender bench: \(i.model) (\(r.modelDirectory))",
            "  \(i.width)x\(i.height), batch \(i.batch), \(sampler) \(i.steps) steps, \(i.threads) threads; warm-up + median of \(r.repeats)",
            row("denoiser step", f(i.denoiserStepMs, 2) + " ms", "cond + null batched (\(2 * i.batch) latents), \(f(i.denoiserGFLOPPerStep, 3)) GFLOP"),
            row("sampler total", f(i.samplerMs) + " ms", "\(i.steps) steps, batch of \(i.batch); CPU \(f(i.samplerCpuMs)) ms"),
            row("decoder", f(i.decoderMs) + " ms", "batch of \(i.batch), \(f(i.decoderGFLOP, 3)) GFLOP, \(f(i.decoderGFLOPS)) GFLOP/s; CPU \(f(i.decoderCpuMs)) ms"),
            row("label", f(r.labelMs, 2) + " ms", "per image"),
            row("watermark", f(r.watermarkMs, 2) + " ms", "per image"),
            row("PNG encode", f(r.pngEncodeMs, 2) + " ms", "per image, \(r.pngBytes) bytes"),
            row("render (sampler+decoder)", f(i.renderMsPerImage) + " ms", "per image, \(f(i.imagesPerMinute)) images/min"),
            row("whole image", f(r.totalMsPerImage) + " ms", "per image, \(f(r.imagesPerMinute)) images/min"),
            "  network: \(f(r.networkGFLOPPerImage, 3)) GFLOP per image, achieved \(f(i.achievedGFLOPS)) GFLOP/s; "
                + "sgemm peak measured now: \(f(i.sgemmPeakGFLOPS)) GFLOP/s (\(i.threads) threads, OpenBLAS core \(i.blasCore))",
            "  peak RSS \(f(Double(r.peakRssBytes) / 1_048_576)) MiB",
        ]
        return lines.joined(separator: "\n")
    }

    /// The JSON report (sorted keys).
    public static func json(_ r: RenderBenchmarkReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(r), as: UTF8.self)
    }

    /// Metadata of the size a delivered image carries.
    private static func metadata(model: TwinModel, index: Int) -> ProvenanceMetadata {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        return ProvenanceMetadata(
            jobID: "bench", imageIndex: index, twinID: model.twinIDs.first ?? "twin", licenseeName: "bench-licensee",
            licenseeID: "bench-licensee", grantUID: "urn:uuid:00000000-0000-4000-8000-000000000000",
            licenceStart: start, licenceEnd: start.addingTimeInterval(86_400 * 365), region: "DE",
            mediaConstraint: "ecommerce", modelReleaseStatus: .limited, payload: payload,
            modelPackageHash: model.packageHash, software: "twinrender", creationTime: start)
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    private static func ms(_ a: UInt64, _ b: UInt64) -> Double { Double(b - a) / 1e6 }
}

private extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
