// Role: libFuzzer harness for the job parser (`JobSpec.parse`, TwinDaemon/Pipeline) against the
// tiny test model (Tests/TwinDaemonTests/Fixtures/tiny-model, or `$FUZZ_MODEL_DIR`).
// Reference: libFuzzer's `LLVMFuzzerTestOneInput` contract (llvm.org/docs/LibFuzzer.html).
// Failure modes: a crash or an ASan report is a finding; a `JobSpec.Rejection` is the expected
// answer. Linked by `scripts/fuzz` against the package's modules built with
// `-sanitize=fuzzer,address` (scratch path `.build-fuzz`).
import Foundation
import TwinDaemon
import TwinInference

/// The model every input is validated against, loaded once.
let fuzzModel: TwinModel = {
    let directory = ProcessInfo.processInfo.environment["FUZZ_MODEL_DIR"] ?? "Tests/TwinDaemonTests/Fixtures/tiny-model"
    do {
        return try TwinModel.load(directory: URL(fileURLWithPath: directory))
    } catch {
        fatalError("job harness: cannot load the model at \(directory): \(error)")
    }
}()

/// Parses the input as a job file named `job.json`; only crashes count.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJob(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    if let job = try? JobSpec.parse(bytes, fileID: "job", model: fuzzModel) {
        precondition(job.id == "job" && (1...JobSpec.maxCount).contains(job.count), "accepted job breaks its bounds")
    }
    return 0
}
