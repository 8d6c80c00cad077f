import Foundation
import TwinBase
import Testing
import TwinImaging
import TwinLedger
@testable import TwinDaemon

/// `twinrender verify`: the real binary on images a daemon delivered from a scratch spool (tiny
/// model), on altered copies of them, and on unmarked, foreign-marked and broken files.
@Suite("twinrender verify", .serialized)
struct VerifyTests {
    /// Runs `twinrender verify ARGS --json` and parses the object it prints.
    private func verifyJSON(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, object: [String: Any]) {
        let result = try TwinRenderBinary.run(["verify"] + args + ["--json"], environment: environment)
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        return (result.status, try #require(object, "not one JSON object: \(result.output.prefix(2000))"))
    }

    /// A fixture with one delivered job of two images.
    private func delivered() throws -> DaemonFixture {
        let fixture = try DaemonFixture()
        try fixture.drop(DaemonFixture.job(seed: 5, count: 2), id: "verify-job")
        let result = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
        #expect(result.status == 0, "\(result.output.suffix(2000))")
        try #require(fixture.files("out") == ["verify-job-0.png", "verify-job-1.png"])
        return fixture
    }

    /// A 128x128 textured test image (not a render; nothing marked it).
    private func plainImage(seed: UInt64 = 7) throws -> RGBImage {
        var state = seed
        var pixels = [UInt8](repeating: 0, count: 128 * 128 * 3)
        for y in 0..<128 {
            for x in 0..<128 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let noise = Int(state >> 60)
                let base = (x + y) / 2 + noise
                pixels[(y * 128 + x) * 3] = UInt8(min(255, 40 + base))
                pixels[(y * 128 + x) * 3 + 1] = UInt8(min(255, 90 + base / 2))
                pixels[(y * 128 + x) * 3 + 2] = UInt8(min(255, 150 - base / 3))
            }
        }
        return try RGBImage(width: 128, height: 128, pixels: pixels)
    }

    @Test("a delivered PNG resolves to its job, twin, licensee and grant, and is the exact file")
    func deliveredPNG() throws {
        let fixture = try delivered()
        defer { fixture.remove() }
        let events = fixture.ledgerEvents()
        let image = fixture.spool.appendingPathComponent("out/verify-job-1.png")
        let sha = try #require(events.first { $0["image_index"] as? Int == 1 }?["output_sha256"] as? String)

        let (status, json) = try verifyJSON([image.path, "--config", fixture.configURL.path])
        #expect(status == 0)
        #expect(json["outcome"] as? String == "resolved")
        #expect(json["exact_file"] as? Bool == true)
        #expect(json["file_sha256"] as? String == sha)
        #expect(json["format"] as? String == "png")
        #expect(json["declared_ai_generated"] as? Bool == true)
        #expect(json["payload_mismatch"] as? Bool == false)
        let event = try #require(json["event"] as? [String: Any])
        #expect(event["job"] as? String == "verify-job")
        #expect(event["image_index"] as? Int == 1)
        #expect(event["twin"] as? String == "ava")
        #expect(event["model"] as? String == "model-ava")
        #expect(event["licensee"] as? String == "brand-north")
        #expect(event["purpose"] as? String == "ecommerce")
        #expect(event["territory"] as? String == "DE")
        #expect(event["output_sha256"] as? String == sha)
        let ledgerEvent = try #require(events.first { $0["image_index"] as? Int == 1 })
        #expect(event["grant"] as? String == ledgerEvent["grant"] as? String)
        #expect(event["delivered_at"] as? String == ledgerEvent["delivered_at"] as? String)
        let mark = try #require(json["watermark"] as? [String: Any])
        #expect(mark["payload"] as? String == ledgerEvent["watermark_payload"] as? String)
        let xmp = try #require(json["xmp"] as? [String: Any])
        #expect(xmp["job"] as? String == "verify-job")
        #expect(xmp["grant"] as? String == ledgerEvent["grant"] as? String)
        #expect(xmp["digital_source_type"] as? String == XMPPacket.trainedAlgorithmicMedia)
        #expect((json["xmp_disagreements"] as? [Any])?.isEmpty == true)
        #expect((json["other_matches"] as? [Any])?.isEmpty == true)
        let ledger = try #require(json["ledger"] as? [String: Any])
        #expect(ledger["consulted"] as? Bool == true)
        #expect(ledger["events"] as? Int == 2)

        // The text form says the same, and --ledger works without a config.
        let text = try TwinRenderBinary.run(["verify", image.path, "--ledger", fixture.ledger.path, "--key", fixture.watermarkKeyFile.path],
                                            environment: ["TWINRENDER_CONFIG": "/nonexistent/twinrender.toml"])
        #expect(text.status == 0, "\(text.output)")
        #expect(text.output.contains("-> job verify-job image 1, the exact delivered file"))
        #expect(text.output.contains("twin       ava, model (payee) model-ava"))
        #expect(text.output.contains("licensee   brand-north, grant \(ledgerEvent["grant"] as? String ?? "?")"))
        #expect(text.output.contains("result     resolved (exit 0)"))
        #expect(text.output.contains("scale 1.000, rotation 0.00 deg"), "\(text.output)")
    }

    @Test("JPEG and pixel-edited copies still resolve through the ledger, as altered copies")
    func alteredCopies() throws {
        let fixture = try delivered()
        defer { fixture.remove() }
        let original = try Data(contentsOf: fixture.spool.appendingPathComponent("out/verify-job-0.png"))
        let decoded = try PNGCodec.decode(original).image

        let jpeg = fixture.root.appendingPathComponent("copy.jpg")
        try JPEGCodec.encode(decoded, quality: 90).write(to: jpeg)
        let (jpegStatus, jpegJSON) = try verifyJSON([jpeg.path, "--config", fixture.configURL.path])
        #expect(jpegStatus == 0)
        #expect(jpegJSON["format"] as? String == "jpeg")
        #expect(jpegJSON["outcome"] as? String == "resolved")
        #expect(jpegJSON["exact_file"] as? Bool == false)
        #expect((jpegJSON["event"] as? [String: Any])?["job"] as? String == "verify-job")
        #expect((jpegJSON["event"] as? [String: Any])?["image_index"] as? Int == 0)
        #expect(jpegJSON["xmp"] is NSNull, "JPEG copies carry no XMP")

        // A few pixels changed and re-saved without metadata.
        var edited = decoded
        for i in stride(from: 0, to: 600, by: 3) { edited.pixels[i] = edited.pixels[i] ^ 0x04 }
        let png = fixture.root.appendingPathComponent("edited.png")
        try PNGCodec.encode(edited, metadata: nil).write(to: png)
        let (pngStatus, pngJSON) = try verifyJSON([png.path, "--config", fixture.configURL.path])
        #expect(pngStatus == 0, "\(pngJSON)")
        #expect(pngJSON["exact_file"] as? Bool == false)
        #expect((pngJSON["event"] as? [String: Any])?["job"] as? String == "verify-job")
        let picture = try #require(pngJSON["picture"] as? [String: Any])
        #expect(picture["is_copy"] as? Bool == true)
        #expect((picture["correlation"] as? Double ?? 0) >= FingerprintMatcher.copyCorrelation)
        let text = try TwinRenderBinary.run(["verify", png.path, "--config", fixture.configURL.path])
        #expect(text.output.contains("an edited copy of the delivered image"), "\(text.output)")
        #expect(text.output.contains("picture    an edited copy of the delivered image: detail correlation"))
        #expect(text.output.contains("xmp        none"))
    }

    @Test("a delivery's mark embedded into a different picture: transplanted_mark, exit 5, never a clean trace")
    func transplantedMark() throws {
        let fixture = try delivered()
        defer { fixture.remove() }
        let events = fixture.ledgerEvents()
        let event = try #require(events.first { $0["image_index"] as? Int == 0 })
        let payloadHex = try #require(event["watermark_payload"] as? String)
        let payload = try #require(UInt64(payloadHex, radix: 16))
        #expect((event["image_fingerprint"] as? String)?.hasPrefix("fp1:128x128:") == true)
        #expect((event["image_fingerprint"] as? String)?.count == "fp1:128x128:".count + 4096)
        var image = try plainImage(seed: 11)
        _ = try fixture.watermark.embed(into: &image, payload: payload)
        let forged = fixture.root.appendingPathComponent("forged.png")
        try PNGCodec.encode(image, metadata: nil).write(to: forged)

        let (status, json) = try verifyJSON([forged.path, "--config", fixture.configURL.path])
        #expect(status == 5)
        #expect(json["outcome"] as? String == "transplanted_mark")
        #expect((json["event"] as? [String: Any])?["job"] as? String == "verify-job")
        let picture = try #require(json["picture"] as? [String: Any])
        #expect(picture["is_copy"] as? Bool == false)
        let text = try TwinRenderBinary.run(["verify", forged.path, "--config", fixture.configURL.path])
        #expect(text.status == 5)
        #expect(text.output.contains("but this is a DIFFERENT PICTURE carrying that image's mark"), "\(text.output)")
        #expect(text.output.contains("result     transplanted_mark (exit 5)"))
    }

    @Test("metadata copied onto another delivery's pixels: pixels win, the mismatch is reported")
    func forgedMetadata() throws {
        let fixture = try delivered()
        defer { fixture.remove() }
        let first = try PNGCodec.decode(Data(contentsOf: fixture.spool.appendingPathComponent("out/verify-job-0.png"))).image
        let other = RoyaltyEvent.watermarkPayload(eventID: RoyaltyEvent.eventID(job: "someone-else", imageIndex: 3))
        let metadata = ProvenanceMetadata(
            jobID: "someone-else", imageIndex: 3, twinID: "ava", licenseeName: "brand-south", licenseeID: "brand-south",
            grantUID: "forged", licenceStart: Date(), licenceEnd: Date().addingTimeInterval(86_400), region: "DE",
            mediaConstraint: "ecommerce", modelReleaseStatus: .limited, payload: other, modelPackageHash: "00",
            software: "twinrender", creationTime: Date())
        let forged = fixture.root.appendingPathComponent("forged.png")
        try PNGCodec.encode(first, metadata: metadata).write(to: forged)
        let (status, json) = try verifyJSON([forged.path, "--config", fixture.configURL.path])
        #expect(status == 0)
        #expect(json["payload_mismatch"] as? Bool == true)
        #expect((json["event"] as? [String: Any])?["job"] as? String == "verify-job")
        let disagreements = try #require(json["xmp_disagreements"] as? [[String: Any]])
        let properties = Set(disagreements.compactMap { $0["property"] as? String })
        #expect(properties.isSuperset(of: ["twinrender:JobID", "twinrender:ImageIndex", "twinrender:GrantUID",
                                           "twinrender:WatermarkPayload", "plus:LicenseeID"]))
        #expect(!properties.contains("twinrender:TwinID"))
        let text = try TwinRenderBinary.run(["verify", forged.path, "--config", fixture.configURL.path])
        #expect(text.output.contains("disagrees with the pixel watermark"))
    }

    @Test("an unmarked image: 'no twinrender watermark found', exit 1")
    func unmarked() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("verify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let png = root.appendingPathComponent("plain.png")
        try PNGCodec.encode(try plainImage(), metadata: nil).write(to: png)
        let key = root.appendingPathComponent("watermark.key").path
        try WatermarkKey.generate().write(to: key)
        let text = try TwinRenderBinary.run(["verify", png.path, "--ledger", root.path, "--key", key])
        #expect(text.status == 1)
        #expect(text.output.hasPrefix("\(png.path): no twinrender watermark found"), "\(text.output)")
        let (status, json) = try verifyJSON([png.path, "--ledger", root.path, "--key", key])
        #expect(status == 1)
        #expect(json["outcome"] as? String == "no_watermark")
        #expect(json["watermark"] is NSNull)
        #expect(json["event"] is NSNull)
    }

    @Test("a marked image whose payload is not in the ledger: exit 2; no ledger at all: exit 3")
    func foreignMark() throws {
        let fixture = try delivered()
        defer { fixture.remove() }
        var image = try plainImage(seed: 11)
        let payload: UInt64 = 0x5eed_f00d_1234_abcd
        _ = try fixture.watermark.embed(into: &image, payload: payload)
        let png = fixture.root.appendingPathComponent("foreign.png")
        try PNGCodec.encode(image, metadata: nil).write(to: png)

        let (status, json) = try verifyJSON([png.path, "--config", fixture.configURL.path])
        #expect(status == 2)
        #expect(json["outcome"] as? String == "not_in_ledger")
        #expect((json["watermark"] as? [String: Any])?["payload"] as? String == "5eedf00d1234abcd")
        #expect((json["ledger"] as? [String: Any])?["consulted"] as? Bool == true)
        #expect((json["ledger"] as? [String: Any])?["events"] as? Int == 2)
        #expect(json["event"] is NSNull)

        // No config and no --ledger: the mark is still decoded, the ledger is reported as not consulted.
        let environment = ["TWINRENDER_CONFIG": fixture.root.appendingPathComponent("absent.toml").path]
        let delivered = fixture.spool.appendingPathComponent("out/verify-job-0.png").path
        let key = fixture.watermarkKeyFile.path
        let (noLedgerStatus, noLedger) = try verifyJSON([delivered, "--key", key], environment: environment)
        #expect(noLedgerStatus == 3)
        #expect(noLedger["outcome"] as? String == "ledger_unavailable")
        #expect(noLedger["watermark"] is [String: Any])
        let ledger = try #require(noLedger["ledger"] as? [String: Any])
        #expect(ledger["consulted"] as? Bool == false)
        #expect((ledger["reason"] as? String)?.contains("absent.toml") == true)
        let text = try TwinRenderBinary.run(["verify", delivered, "--key", key], environment: environment)
        #expect(text.status == 3)
        #expect(text.output.contains("the ledger could not be consulted"))
        // A --ledger that does not exist is the same outcome.
        let (missingStatus, _) = try verifyJSON([delivered, "--ledger", fixture.root.appendingPathComponent("nope").path, "--key", key])
        #expect(missingStatus == 3)
    }

    @Test("truncated, garbage, empty and missing files: one clear line, exit 4, no crash")
    func brokenFiles() throws {
        let fixture = try delivered()
        defer { fixture.remove() }
        let original = try Data(contentsOf: fixture.spool.appendingPathComponent("out/verify-job-0.png"))
        let jpegData = try JPEGCodec.encode(PNGCodec.decode(original).image, quality: 90)
        var flipped = original
        flipped[20] ^= 0xFF   // inside IHDR: CRC mismatch
        let cases: [(String, Data?, String)] = [
            ("truncated.png", original.prefix(original.count / 2), "malformed PNG"),
            ("header-only.png", original.prefix(12), "malformed PNG"),
            ("flipped.png", flipped, "malformed PNG"),
            ("cut-header.jpg", jpegData.prefix(100), "malformed JPEG"),
            ("garbage.png", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }), "unsupported image format"),
            ("empty.png", Data(), "empty file"),
            ("missing.png", nil, "no such file"),
        ]
        for (name, data, expected) in cases {
            let url = fixture.root.appendingPathComponent(name)
            if let data { try data.write(to: url) }
            let text = try TwinRenderBinary.run(["verify", url.path, "--config", fixture.configURL.path])
            #expect(text.status == 4, "\(name): \(text.output)")
            let lines = text.output.split(separator: "\n")
            #expect(lines.count == 1, "\(name): \(text.output)")
            #expect(text.output.hasPrefix("cannot verify: "), "\(name): \(text.output)")
            #expect(text.output.contains(expected), "\(name): \(text.output)")
            let (status, json) = try verifyJSON([url.path, "--config", fixture.configURL.path])
            #expect(status == 4)
            #expect(json["outcome"] as? String == "unreadable")
            #expect((json["error"] as? String)?.contains(expected) == true, "\(name): \(json)")
        }
        // libjpeg decodes a JPEG cut mid-scan (rows filled in): verify says so and carries on,
        // never calling it unreadable. Whether the mark survives in the rows that are left
        // depends on the image (the tile repeats); if it does, it must trace to the right job.
        let cut = fixture.root.appendingPathComponent("truncated.jpg")
        try jpegData.prefix(jpegData.count / 3).write(to: cut)
        let (cutStatus, cutJSON) = try verifyJSON([cut.path, "--config", fixture.configURL.path])
        #expect([0, 1].contains(cutStatus), "\(cutJSON)")
        if cutStatus == 0 { #expect(cutJSON["outcome"] as? String == "resolved", "\(cutJSON)") }
        #expect((cutJSON["warnings"] as? [String])?.first?.contains("truncated") == true, "\(cutJSON)")
        let whole = fixture.root.appendingPathComponent("whole.jpg")
        try jpegData.write(to: whole)
        #expect((try verifyJSON([whole.path, "--config", fixture.configURL.path]).object["warnings"] as? [String])?.isEmpty == true)
        // A directory is not an image either.
        let (status, json) = try verifyJSON([fixture.root.path, "--key", fixture.watermarkKeyFile.path])
        #expect(status == 4)
        #expect((json["error"] as? String)?.contains("not a regular file") == true)
    }

    @Test("in process: outcome codes are distinct, a damaged ledger line does not stop the lookup")
    func inProcess() throws {
        #expect(Set(ImageVerification.Outcome.allCases.map(\.exitCode)).count == ImageVerification.Outcome.allCases.count)
        let fixture = try delivered()
        defer { fixture.remove() }
        let segment = try #require(try FileManager.default.contentsOfDirectory(at: fixture.ledger, includingPropertiesForKeys: nil)
            .first { $0.pathExtension == "jsonl" })
        // Damage line 1 (image 0's event); image 1's event on line 2 stays traceable.
        var lines = try String(contentsOf: segment, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[0] = lines[0].replacingOccurrences(of: "\"amount\":", with: "\"amount\":1")
        try (lines.joined(separator: "\n") + "\n").write(to: segment, atomically: false, encoding: .utf8)
        let path = fixture.spool.appendingPathComponent("out/verify-job-1.png").path
        let inspector = ImageInspector(watermark: fixture.watermark)
        let result = ImageVerification.verify(file: path, ledger: .directory(fixture.ledger), inspector: inspector)
        #expect(result.outcome == .resolved)
        #expect(result.match?.event.imageIndex == 1)
        #expect(result.match?.segmentLine == 2)
        #expect(result.ledger.skippedLines == 1)
        #expect(result.text.contains("1 damaged lines skipped"))
        let damaged = ImageVerification.verify(file: fixture.spool.appendingPathComponent("out/verify-job-0.png").path,
                                               ledger: .directory(fixture.ledger), inspector: inspector)
        #expect(damaged.outcome == .notInLedger)
        #expect(damaged.report?.watermark != nil)
    }

    @Test("keys: no key is exit 64; a mark under another key is no mark; a rotated-out key still reads through previous_key_files")
    func keys() throws {
        let fixture = try delivered()
        defer { fixture.remove() }
        let image = fixture.spool.appendingPathComponent("out/verify-job-0.png").path
        let environment = ["TWINRENDER_CONFIG": fixture.root.appendingPathComponent("absent.toml").path]
        let noKey = try TwinRenderBinary.run(["verify", image, "--ledger", fixture.ledger.path], environment: environment)
        #expect(noKey.status == 64, "\(noKey.output)")
        #expect(noKey.output.contains("no watermark key"), "\(noKey.output)")

        // Another installation's key reads nothing in this installation's deliveries.
        let other = fixture.root.appendingPathComponent("other.key").path
        try WatermarkKey.generate().write(to: other)
        let (foreignStatus, foreign) = try verifyJSON([image, "--ledger", fixture.ledger.path, "--key", other])
        #expect(foreignStatus == 1)
        #expect(foreign["outcome"] as? String == "no_watermark")

        // Rotation: the current key is new, the delivery's key is listed as previous.
        let config = try String(contentsOf: fixture.configURL, encoding: .utf8).replacingOccurrences(
            of: "key_file = \"keys/watermark.key\"", with: "key_file = \"other.key\"\nprevious_key_files = [\"keys/watermark.key\"]")
        let rotated = fixture.root.appendingPathComponent("rotated.toml")
        try config.write(to: rotated, atomically: true, encoding: .utf8)
        let (status, json) = try verifyJSON([image, "--config", rotated.path])
        #expect(status == 0, "\(json)")
        let mark = try #require(json["watermark"] as? [String: Any])
        #expect(mark["key"] as? String == fixture.watermarkKey.identifier)

        // A key file others may read is refused, with the fix named.
        chmod(other, 0o644)
        let open = try TwinRenderBinary.run(["verify", image, "--key", other])
        #expect(open.status == 64)
        #expect(open.output.contains("chmod 600"), "\(open.output)")
    }
}
