// Private benchmark harness for scripts/bench-compare until `twinrender bench --json` exists:
// prints InferenceBenchmark.run's report as JSON and writes the workload's images as raw RGB.
// Usage: infbench MODEL_DIR STEPS SIZE BATCH THREADS REPEATS RGB_OUT
import Foundation
import TwinInference

let a = CommandLine.arguments
guard a.count == 8, let steps = Int(a[2]), let size = Int(a[3]), let batch = Int(a[4]),
      let threads = Int(a[5]), let repeats = Int(a[6]) else {
    FileHandle.standardError.write("usage: infbench MODEL_DIR STEPS SIZE BATCH THREADS REPEATS RGB_OUT\n".data(using: .utf8)!)
    exit(2)
}
let model = try TwinModel.load(directory: URL(fileURLWithPath: a[1]))
let report = try InferenceBenchmark.run(model: model, steps: steps, width: size, height: size, batch: batch,
                                        threads: threads, repeats: repeats)
let request = try InferenceBenchmark.request(model: model, steps: steps, width: size, height: size)
let images = try Renderer(model: model, threads: threads).renderBatch(request, imageIndices: 0..<batch)
try Data(images.flatMap(\.pixels)).write(to: URL(fileURLWithPath: a[7]))
let encoder = JSONEncoder()
encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
print(String(data: try encoder.encode(report), encoding: .utf8)!)
