// Role: libFuzzer harness for safetensors headers (TwinInference `SafeTensorsFile`): each input
// is written to a file under $TMPDIR (default /dev/shm) and mapped, as the model loader does.
// Reference: libFuzzer's `LLVMFuzzerTestOneInput` contract (llvm.org/docs/LibFuzzer.html);
// the safetensors format (github.com/huggingface/safetensors, README "Format").
// Failure modes: a crash, an ASan report or an entry outside the file is a finding; a thrown
// `SafeTensorsError` is the expected answer. Linked by `scripts/fuzz` against the package's
// modules built with `-sanitize=fuzzer,address` (scratch path `.build-fuzz`).
import Foundation
import TwinInference

/// Where each input is written before it is mapped.
let fuzzFile = URL(fileURLWithPath: ProcessInfo.processInfo.environment["TMPDIR"] ?? "/dev/shm")
    .appendingPathComponent("twinrender-fuzz-\(getpid()).safetensors")

/// Maps the input as a safetensors file and reads every tensor it declares; only crashes count.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    guard (try? bytes.write(to: fuzzFile)) != nil else { fatalError("cannot write \(fuzzFile.path)") }
    guard let file = try? SafeTensorsFile(url: fuzzFile) else { return 0 }
    for (name, entry) in file.entries where entry.range.count <= 1 << 18 {
        _ = try? file.floats(name, shape: entry.shape)
    }
    return 0
}
