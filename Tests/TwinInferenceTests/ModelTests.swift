// Loading the tiny fixture package: metadata, hash verification, disabled twins, request validation.

import Crypto
import Foundation
import Testing
@testable import TwinInference

/// Copies the tiny package to a temporary folder, lets `mutate` damage it, and loads it.
func loadDamaged(_ mutate: (URL) throws -> Void) throws -> TwinModel {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("twininf-pkg-\(UUID().uuidString)")
    try FileManager.default.copyItem(at: Fixtures.tinyModel, to: dir)
    defer { try? FileManager.default.removeItem(at: dir) }
    try mutate(dir)
    return try TwinModel.load(directory: dir)
}

/// Flips one byte near the end of `file` (inside the tensor data).
func flipByte(_ url: URL) throws {
    var d = try Data(contentsOf: url)
    d[d.count - 3] ^= 0x55
    try d.write(to: url)
}

@Suite struct ModelTests {
    @Test func loadsTinyPackage() throws {
        let m = Fixtures.model
        #expect(m.name == "random-tiny")
        #expect(m.imageWidth == 64 && m.imageHeight == 64)
        #expect(m.vocabularies.map(\.name) == ["garment", "colour", "pattern", "pose", "background"])
        #expect(m.vocabularies[0].values == ["t-shirt", "dress", "coat"])
        #expect(m.twinIDs == ["ava", "bea"])
        #expect(m.disabledTwins.isEmpty)
        #expect(m.samplerDefaults == SamplerDefaults(sampler: .ddim, steps: 20, guidance: 3))
        let json = try Data(contentsOf: Fixtures.tinyModel.appendingPathComponent("model.json"))
        #expect(m.packageHash == SHA256.hash(data: json).map { String(format: "%02x", $0) }.joined())
    }

    @Test(arguments: ["denoiser.safetensors", "decoder.safetensors"])
    func badNetworkFileStopsLoading(_ file: String) throws {
        #expect { try loadDamaged { try flipByte($0.appendingPathComponent(file)) } } throws: {
            let text = "\($0)"
            return $0 is ModelLoadError && text.contains(file) && text.contains("SHA-256")
        }
        #expect { try loadDamaged { try FileManager.default.removeItem(at: $0.appendingPathComponent(file)) } } throws: {
            $0 is ModelLoadError && "\($0)".contains(file)
        }
    }

    @Test func badTwinFileDisablesOnlyThatTwin() throws {
        let m = try loadDamaged { try flipByte($0.appendingPathComponent("twins/bea.safetensors")) }
        #expect(m.twinIDs == ["ava"])
        #expect(m.disabledTwins["bea"]?.contains("SHA-256") == true)
        let r = RenderRequest(twinID: "bea", seed: 1, steps: 2, guidance: 3, sampler: .ddim, width: 64, height: 64)
        #expect(throws: RenderError.twinDisabled("bea", m.disabledTwins["bea"]!)) { try m.validate(r) }
    }

    @Test func manifestErrorsNameTheField() throws {
        #expect { try loadDamaged { dir in
            let url = dir.appendingPathComponent("model.json")
            let s = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "\"heads\"", with: "\"headz\"")
            try s.write(to: url, atomically: true, encoding: .utf8)
        } } throws: { "\($0)".contains("denoiser.heads") }
        #expect { try loadDamaged { dir in
            let url = dir.appendingPathComponent("model.json")
            let s = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "twins/ava.safetensors", with: "../ava.safetensors")
            try s.write(to: url, atomically: true, encoding: .utf8)
        } } throws: { "\($0)".contains("inside the package") }
    }

    @Test func wrongArchitectureIsReported() throws {
        // model.json claims a wider decoder than the file holds: hash still fine, shapes are not.
        #expect { try loadDamaged { dir in
            let url = dir.appendingPathComponent("model.json")
            let s = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "\"width\": 16", with: "\"width\": 32")
            try s.write(to: url, atomically: true, encoding: .utf8)
        } } throws: { "\($0)".contains("decoder.safetensors") && "\($0)".contains("expected [32, 4, 3, 3]") }
    }

    @Test func requestValidationCodes() {
        let m = Fixtures.model
        let ok = RenderRequest(twinID: "ava", attributes: ["garment": "dress"], seed: 1, steps: 4, guidance: 3,
                               sampler: .ddim, width: 64, height: 64)
        #expect(throws: Never.self) { try m.validate(ok) }
        func code(_ change: (inout RenderRequest) -> Void) -> String? {
            var r = ok
            change(&r)
            do { try m.validate(r); return nil } catch { return error.code }
        }
        #expect(code { $0.twinID = "zoe" } == "unknown_twin")
        #expect(code { $0.attributes["fabric"] = "silk" } == "unknown_attribute")
        #expect(code { $0.attributes["colour"] = "purple" } == "unknown_attribute_value")
        #expect(code { $0.width = 48 } == "bad_size")
        #expect(code { $0.height = 1024 } == "bad_size")
        #expect(code { $0.steps = 0 } == "bad_steps")
        #expect(code { $0.steps = 1001 } == "bad_steps")
        #expect(code { $0.guidance = .nan } == "bad_guidance")
    }
}
