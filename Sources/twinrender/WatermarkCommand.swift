// Role: `twinrender watermark`: make the installation's watermark key, and embed or detect the
// invisible mark on PNG/JPEG files (for benchmarks and operators' checks), outside the pipeline.
// Reference: docs/watermark.md ("Keys").
// Failure modes: unreadable or too small images, and missing or too open key files, exit with one
// line; `keygen` never overwrites a key.

import ArgumentParser
import Foundation
import TwinDaemon
import TwinImaging

/// `twinrender watermark keygen|embed|detect`: the installation key and the invisible watermark
/// on its own, for `scripts/watermark-bench` and for checking files by hand. Logic lives in
/// `TwinImaging`.
struct WatermarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watermark",
        abstract: "Make the watermark key; embed or detect the invisible 64-bit watermark in PNG/JPEG files.",
        subcommands: [WatermarkKeygenCommand.self, WatermarkEmbedCommand.self, WatermarkDetectCommand.self])
}

/// `twinrender watermark keygen --out FILE`.
struct WatermarkKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create a new secret watermark key file (mode 0600); refuses to overwrite one.",
        discussion: """
        Every render host of an installation marks with the same key (watermark.key_file); whoever \
        holds it can read and write marks that verify traces. To rotate, make a new key, make it \
        watermark.key_file and list the old one in watermark.previous_key_files.
        """)

    @Option(help: "Key file to create.")
    var out: String

    func run() throws {
        let key = WatermarkKey.generate()
        do {
            try key.write(to: out)
        } catch let error as ImagingError {
            throw ValidationError(error.description)
        }
        print("\(out): watermark key \(key.identifier)")
    }
}

/// `twinrender watermark embed IN OUT --payload HEX --key FILE [--label]`.
struct WatermarkEmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed", abstract: "Mark IN (PNG or JPEG) with a 64-bit payload and write OUT as PNG.")

    @Argument(help: "Input image (PNG or JPEG).")
    var input: String

    @Argument(help: "Output PNG.")
    var output: String

    @Option(help: "Payload, 1 to 16 hex digits.")
    var payload: String

    @Option(help: "Watermark key file (mode 0600).")
    var key: String

    @Flag(help: "Also draw the visible AI-generated label (before marking).")
    var label = false

    @Option(help: "Target PSNR of the fine layer in dB (default 40.5; 43 with --coarse).")
    var psnr: Double?

    @Flag(help: "Also embed the coarse layer (for strong compression and thumbnails; docs/watermark.md, \"Coarse layer\").")
    var coarse = false

    @Option(help: "With --coarse: PSNR of the coarse layer in dB, on the half-size image (default 41.5).")
    var coarsePSNR: Double?

    @Flag(help: "Make the mark's strength follow the picture's texture (the perceptual-mask experiment; the daemon does not use it).")
    var masked = false

    @Flag(help: "Print a JSON line: psnr, embed milliseconds.")
    var json = false

    func run() throws {
        guard payload.count <= 16, let value = UInt64(payload, radix: 16) else {
            throw ValidationError("--payload must be 1 to 16 hex digits, got '\(payload)'")
        }
        let markKey = try WatermarkFiles.key(key)
        var image = try WatermarkFiles.read(input).image
        if label { try AILabel().draw(on: &image) }
        var settings = coarse ? InvisibleWatermark.Configuration.withCoarseLayer : InvisibleWatermark.Configuration()
        if let psnr {
            settings.targetPSNR = psnr
            settings.minimumPSNR = min(settings.minimumPSNR, psnr)
        }
        if let coarsePSNR { settings.coarsePSNR = coarsePSNR }
        settings.perceptualMask = masked
        let watermark = InvisibleWatermark(key: markKey, configuration: settings)
        let start = DispatchTime.now().uptimeNanoseconds
        let achieved = try watermark.embed(into: &image, payload: value)
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        try PNGCodec.encode(image, metadata: nil).write(to: URL(fileURLWithPath: output))
        if json {
            print(#"{"file":\#(WatermarkFiles.quote(output)),"psnr":\#(achieved),"embed_ms":\#(milliseconds)}"#)
        } else {
            print("\(output): payload \(ProvenanceMetadata.hex(value)), PSNR \(String(format: "%.2f", achieved)) dB")
        }
    }
}

/// `twinrender watermark detect IMG... [--json]`.
struct WatermarkDetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Look for the watermark in each image; exit status 1 if any image has none.",
        discussion: "With --json, prints one JSON object per line: file, found, payload, report.")

    @Argument(help: "Images (PNG or JPEG).")
    var images: [String]

    @Option(name: .customLong("key"), help: "Watermark key file (repeatable: current and previous keys; default: the config's watermark keys).")
    var keys: [String] = []

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print one JSON line per image.")
    var json = false

    func run() throws {
        let inspector: ImageInspector
        do {
            inspector = ImageInspector(watermark: try WatermarkKeys.resolve(keyOptions: keys, configPath: options.path))
        } catch {
            throw ValidationError("\(error)")
        }
        var missing = false
        for path in images {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw ValidationError("cannot read \(path): \(error.localizedDescription)")
            }
            do {
                let report = try inspector.inspect(data: data)
                missing = missing || report.watermark == nil
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    print(String(decoding: try encoder.encode(WatermarkFiles.Line(file: path, report: report)), as: UTF8.self))
                } else if let mark = report.watermark {
                    print("\(path): payload \(mark.payloadHex) (confidence \(String(format: "%.3f", mark.confidence)), scale \(String(format: "%.3f", mark.scale)), rotation \(String(format: "%.2f", mark.rotationDegrees))°, \(mark.quarterTurns) quarter turns\(mark.mirrored ? ", mirrored" : ""), key \(mark.keyIdentifier))")
                } else {
                    print("\(path): no watermark found")
                }
            } catch let error as ImagingError {
                missing = true
                if json {
                    print(#"{"error":\#(WatermarkFiles.quote(error.description)),"file":\#(WatermarkFiles.quote(path))}"#)
                } else {
                    print("\(path): \(error)")
                }
            }
        }
        if missing { throw ExitCode(1) }
    }
}

/// File helpers shared by the watermark subcommands.
enum WatermarkFiles {
    /// One `detect --json` line.
    struct Line: Encodable {
        var file: String
        var report: ImageReport
    }

    /// Loads a watermark key file, turning failures into clean validation errors.
    static func key(_ path: String) throws -> WatermarkKey {
        do {
            return try WatermarkKey.load(from: path)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Reads and decodes a PNG or JPEG, turning failures into clean validation errors.
    static func read(_ path: String) throws -> DecodedImage {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription)")
        }
        do {
            return try ImageInspector.decode(data)
        } catch let error as ImagingError {
            throw ValidationError("\(path): \(error)")
        }
    }

    /// `text` as a JSON string literal.
    static func quote(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
