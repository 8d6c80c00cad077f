// Role: libFuzzer harness for the config parser (`TOMLDocument`, TwinDaemon/Config).
// Reference: libFuzzer's `LLVMFuzzerTestOneInput` contract (llvm.org/docs/LibFuzzer.html).
// Failure modes: a crash, an ASan report or a stack overflow is a finding; a thrown
// `ConfigError` is the expected answer to bad input. Built by `scripts/fuzz` together with
// TOMLDocument.swift and ConfigError.swift into one module.

/// Parses the input as config text; only crashes count.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let document = try? TOMLDocument(parsing: text), let first = document.entries.first {
        precondition(document[first.key] == first.value, "lookup of '\(first.key)' disagrees with entries")
    }
    return 0
}
