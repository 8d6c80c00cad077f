// The safetensors reader: dtypes, strict header validation, and a fuzz-style pass over
// mutated headers that must never crash.

import Foundation
import Testing
@testable import TwinInference

/// Builds a safetensors file from a JSON header string and a data block.
func safetensorsBytes(header: String, data: [UInt8]) -> [UInt8] {
    let h = Array(header.utf8)
    var out: [UInt8] = []
    var n = UInt64(h.count)
    for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
    return out + h + data
}

/// Writes `bytes` to a temporary file and parses it.
func parse(_ bytes: [UInt8], name: String = "t.safetensors") throws -> SafeTensorsFile {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("twininf-\(UUID().uuidString)-\(name)")
    try Data(bytes).write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    return try SafeTensorsFile(url: url)
}

@Suite struct SafeTensorsTests {
    @Test func readsF32F16BF16() throws {
        // F32 [1.5, -2], F16 [1, -0.5, 65504, 2^-24], BF16 [3, -inf]
        var data: [UInt8] = []
        for v: Float in [1.5, -2] { withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 } }
        for h: UInt16 in [0x3C00, 0xB800, 0x7BFF, 0x0001] { withUnsafeBytes(of: h.littleEndian) { data += $0 } }
        for b: UInt16 in [0x4040, 0xFF80] { withUnsafeBytes(of: b.littleEndian) { data += $0 } }
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2,2],"data_offsets":[8,16]},"c":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]},"__metadata__":{"format":"pt"}}"#
        let f = try parse(safetensorsBytes(header: header, data: data))
        #expect(try f.floats("a", shape: [2]) == [1.5, -2])
        #expect(try f.floats("b", shape: [2, 2]) == [1, -0.5, 65504, Float(sign: .plus, exponent: -24, significand: 1)])
        #expect(try f.floats("c", shape: [2]) == [3, -.infinity])
        #expect(f.metadata == ["format": "pt"])
        #expect(throws: SafeTensorsError.self) { try f.floats("a", shape: [1, 2]) }
        #expect(throws: SafeTensorsError.self) { try f.floats("missing", shape: [2]) }
    }

    @Test func rejectsMalformedHeaders() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        let bad: [(String, [UInt8])] = [
            ("not json", safetensorsBytes(header: "{nope", data: eight)),
            ("array", safetensorsBytes(header: "[1,2]", data: eight)),
            ("dtype", safetensorsBytes(header: #"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: eight)),
            ("size mismatch", safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight)),
            ("outside", safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: eight)),
            ("overlap", safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight)),
            ("negative", safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eight)),
            ("fraction", safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, data: eight)),
            ("extra key", safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}"#, data: eight)),
            ("reversed", safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: eight)),
            ("huge shape", safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: eight)),
            ("short", [1, 2, 3]),
            ("length past end", [0xFF, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0x7D]),
        ]
        for (what, bytes) in bad {
            do {
                _ = try parse(bytes, name: "bad.safetensors")
                Issue.record("accepted a file with a bad header: \(what)")
            } catch {
                #expect("\(error)".contains(".safetensors"), "error does not name the file: \(error)")
            }
        }
    }

    @Test func errorNamesTheTensor() throws {
        let bytes = safetensorsBytes(header: #"{"conv.weight":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))
        #expect { try parse(bytes) } throws: { ($0 as? SafeTensorsError)?.description.contains("conv.weight") == true }
    }

    /// Random byte flips, insertions and truncations of a valid file: each must parse or throw.
    @Test func mutatedHeadersNeverCrash() throws {
        var data: [UInt8] = []
        for i in 0..<6 { withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { data += $0 } }
        let header = #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[16,24]},"__metadata__":{"k":"v"}}"#
        let valid = safetensorsBytes(header: header, data: data)
        _ = try parse(valid)
        var rng = SplitMix(seed: 2024)
        let alphabet = Array(#"{}[]":,0123456789-.eE FBI\"#.utf8)
        var accepted = 0
        for _ in 0..<400 {
            var m = valid
            for _ in 0..<(1 + Int(rng.next() % 3)) where !m.isEmpty {
                let at = Int(rng.next() % UInt64(m.count))
                switch rng.next() % 4 {
                case 0: m[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: m[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 2: m.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                default: m = Array(m.prefix(at))
                }
            }
            if let f = try? parse(m) {
                accepted += 1
                // Whatever parsed must be readable within bounds.
                for e in f.entries.values { _ = try f.floats(e.name, shape: e.shape) }
            }
        }
        #expect(accepted < 400)
    }
}
