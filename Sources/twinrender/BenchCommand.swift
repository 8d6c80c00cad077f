// Role: `twinrender bench`: time the render path on this host (thin wrapper over RenderBenchmark).
// Failure modes: bad flags or a model that does not load exit with one line.

import ArgumentParser
import Foundation
import TwinDaemon
import TwinInference

/// `twinrender bench`: times the render path of the loaded model stage by stage (warm-up, then
/// medians): denoiser step, sampler, decoder, label, watermark, PNG encode; images per minute,
/// achieved GFLOP/s against a sgemm peak measured on the spot, peak RSS.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the render path: per-stage milliseconds, images/min, GFLOP/s, peak RSS.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Model package folder (default: the config's model.directory, else Models/twin-mini-v1).")
    var model: String?

    @Option(help: "Denoising steps (default: the model's).")
    var steps: Int?

    @Option(help: "Image size WxH, or one number for a square (default: the model's).")
    var size: String?

    @Option(help: "Images rendered together in one batch.")
    var batch = 1

    @Option(help: "Threads for the renderer (default: the config's workers.blas_threads, else 2).")
    var threads: Int?

    @Option(help: "Timed repeats after the warm-up; times are medians.")
    var repeats = 3

    @Option(help: "Sampler: ddim or dpmpp-2m (default: the model's).")
    var sampler: String?

    @Flag(inversion: .prefixedNo, help: "Run eligible 3x3 convolutions through Winograd F(2x2,3x3) (as the daemon does); --no-winograd: tiled im2col only.")
    var winograd = true

    @Option(name: .customLong("save-rgb"), help: "Write the decoder's 8-bit images (before label and watermark) as raw interleaved RGB.")
    var saveRGB: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard batch >= 1 && batch <= 64 else { throw ValidationError("--batch must be 1...64") }
        guard repeats >= 1 && repeats <= 1000 else { throw ValidationError("--repeats must be 1...1000") }
        if let steps, !(1...200).contains(steps) { throw ValidationError("--steps must be 1...200") }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be 1...256") }
        if let sampler, Sampler(rawValue: sampler) == nil {
            throw ValidationError("--sampler must be one of \(Sampler.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let size { _ = try Self.parseSize(size) }
    }

    func run() throws {
        // A config given (--config or $TWINRENDER_CONFIG) must load; the default path is optional.
        let explicit = options.config != nil || ProcessInfo.processInfo.environment["TWINRENDER_CONFIG"] != nil
        let config: DaemonConfig? = explicit || FileManager.default.fileExists(atPath: options.path) ? try options.load() : nil
        var o = config.map(RenderBenchmarkOptions.init(config:)) ?? RenderBenchmarkOptions()
        let directory = model.map { URL(fileURLWithPath: $0) } ?? config?.modelDirectory ?? Self.defaultModel()
        let loaded: TwinModel
        do {
            loaded = try TwinModel.load(directory: directory, winograd: winograd)
        } catch {
            throw ValidationError("model \(directory.path): \(error)")
        }
        o.steps = steps
        if let size { (o.width, o.height) = try Self.parseSize(size) }
        o.batch = batch
        if let threads { o.threads = threads }
        o.repeats = repeats
        o.sampler = sampler.flatMap(Sampler.init(rawValue:))
        let report = try RenderBenchmark.run(model: loaded, modelDirectory: directory, options: o) { images in
            guard let saveRGB else { return }
            try Data(images.flatMap(\.pixels)).write(to: URL(fileURLWithPath: saveRGB))
        }
        print(json ? try RenderBenchmark.json(report) : RenderBenchmark.describe(report))
    }

    /// "WxH" or "N"; multiples of 32 up to 512, like jobs.
    static func parseSize(_ text: String) throws -> (Int, Int) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        let dims: [Int]
        switch parts.count {
        case 1: dims = [parts[0], parts[0]].compactMap { $0 }
        case 2: dims = parts.compactMap { $0 }
        default: dims = []
        }
        guard dims.count == 2, dims.allSatisfy({ $0 >= 32 && $0 <= 512 && $0 % 32 == 0 }) else {
            throw ValidationError("--size must be WxH (or N) with multiples of 32 up to 512, got '\(text)'")
        }
        return (dims[0], dims[1])
    }

    /// Models/twin-mini-v1 in the working directory, else next to the executable's package
    /// (.build/<config>/twinrender), else the installed default.
    static func defaultModel() -> URL {
        let fm = FileManager.default
        let cwd = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("Models/twin-mini-v1")
        if fm.fileExists(atPath: cwd.appendingPathComponent("model.json").path) { return cwd }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("Models/twin-mini-v1")
            if fm.fileExists(atPath: candidate.appendingPathComponent("model.json").path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return DaemonConfig().modelDirectory
    }
}
