// Role: libFuzzer harness for consent registry records (TwinConsent): one line of
// `registry/log.jsonl` as `ConsentRegistry.load` replays it (`RegistryLog.verify`, then
// `LoggedRecord.parse`), and, since mutated lines rarely keep a valid hash chain, the canonical
// JSON parser and the record parser on the input directly (`CanonicalValue.parseObject`,
// `LoggedRecord.parse`).
// Reference: libFuzzer's `LLVMFuzzerTestOneInput` contract (llvm.org/docs/LibFuzzer.html);
// docs/consent-registry.md for the log format.
// Failure modes: a crash or an ASan report is a finding; a thrown `ConsentError` is the
// expected answer. Linked by `scripts/fuzz` against the package's modules built with
// `-sanitize=fuzzer,address -enable-testing` (scratch path `.build-fuzz`).
@testable import TwinConsent

/// The `prev` of the first line of a log.
let firstPrev = String(repeating: "0", count: 64)

/// Parses the input as a first log line and as a bare record; only crashes count.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRegistry(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let entry = try? RegistryLog.verify(bytes[...], seq: 1, prev: firstPrev) {
        _ = try? LoggedRecord.parse(entry.record)
    }
    if let object = try? CanonicalValue.parseObject(bytes) {
        _ = try? LoggedRecord.parse(object)
    }
    return 0
}
