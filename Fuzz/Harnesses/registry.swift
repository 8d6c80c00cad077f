// Role: libFuzzer harness for consent registry records (TwinConsent `Grant.parse` and
// `Revocation.parse`, the parsers of signed record files).
// Reference: libFuzzer's `LLVMFuzzerTestOneInput` contract (llvm.org/docs/LibFuzzer.html).
// Failure modes: a crash or an ASan report is a finding; a thrown `ConsentError` is the
// expected answer. Linked by `scripts/fuzz` against the package's modules built with
// `-sanitize=fuzzer,address -enable-testing` (scratch path `.build-fuzz`).
@testable import TwinConsent

/// Parses the input as a grant and as a revocation; only crashes count.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRegistry(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let parsed = try? Grant.parse(bytes), parsed.isCanonical {
        precondition(parsed.grant.fileBytes == bytes, "canonical grant does not re-serialise to its bytes")
    }
    _ = try? Revocation.parse(bytes)
    return 0
}
