// Test helpers: fixture paths, tensor loading and the relative-error measure used everywhere.

import Foundation
import Testing
@testable import TwinInference

enum Fixtures {
    /// Tests/TwinInferenceTests/Fixtures, copied as a resource.
    static var root: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    }
    static var tinyModel: URL { root.appendingPathComponent("tiny-model") }

    static func file(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(url: root.appendingPathComponent(name))
    }

    /// The tiny model, loaded once.
    static let model: TwinModel = try! TwinModel.load(directory: tinyModel)
}

extension SafeTensorsFile {
    /// Tensor `name` with whatever shape it has.
    func tensor(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let shape = try #require(entries[name]).shape
        return (shape, try floats(name, shape: shape))
    }

    /// A weight `Param` over a copy of tensor `name` (kept alive by `keep`).
    func param(_ name: String, keep: inout [UnsafeMutableBufferPointer<Float>]) throws -> Param {
        let (shape, values) = try tensor(name)
        let buf = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(values.count, 1))
        _ = buf.initialize(from: values)
        keep.append(buf)
        return Param(data: UnsafePointer(buf.baseAddress!), shape: shape)
    }
}

/// max|a - b| / max|b|: the relative error the fixture tolerances refer to.
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "size mismatch \(a.count) vs \(b.count)")
    var diff: Float = 0, mag: Float = 0
    for i in 0..<a.count {
        diff = max(diff, abs(a[i] - b[i]))
        mag = max(mag, abs(b[i]))
    }
    return diff / max(mag, 1e-30)
}

/// Runs `body` with a fresh workspace of `threads` workers.
func withWorkspace<T>(threads: Int = 2, _ body: (Workspace) throws -> T) rethrows -> T {
    try body(Workspace(threads: threads))
}
