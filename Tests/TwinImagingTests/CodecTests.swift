// Role: tests of the PNG and JPEG codecs, the XMP packet, the AI label and `ImageInspector`.
// Reference: exiftool (Debian libimage-exiftool-perl) as the external reader of the metadata.
// Failure modes: without /usr/bin/exiftool the exiftool test prints SKIPPED and passes.
import Foundation
import TwinBase
import Testing
@testable import TwinImaging

/// A fully populated metadata record for tests.
let sampleMetadata = ProvenanceMetadata(
    jobID: "job-2026-0042", imageIndex: 3, twinID: "twin-ada-7", licenseeName: "H&M <Studio> \"Nord\"",
    licenseeID: "lic-889", grantUID: "grant-5f2c", licenceStart: Date(timeIntervalSince1970: 1_767_225_600),
    licenceEnd: Date(timeIntervalSince1970: 1_798_761_599), region: "EU", mediaConstraint: "online catalogue",
    modelReleaseStatus: .limited, payload: 0x00C0_FFEE_1234_5678, modelPackageHash: "9f86d081884c7d65",
    software: "twinrender 0.1.0", creationTime: Date(timeIntervalSince1970: 1_779_000_000))

/// One value of exiftool's `-j` output: text, a number, or anything else (lists, structures).
enum ExiftoolValue: Decodable, Equatable {
    case text(String)
    case number(Double)
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .other
        }
    }
}

@Suite struct PNGCodecTests {
    @Test func roundTripsPixelsAndText() throws {
        let image = SyntheticRender.make(seed: 4)
        for level in [0, 6, 9] {
            let data = try PNGCodec.encode(image, metadata: sampleMetadata, compressionLevel: level)
            let decoded = try PNGCodec.decode(data)
            #expect(decoded.image == image)
            #expect(decoded.format == .png)
            #expect(decoded.textEntries.map(\.keyword) == [XMPPacket.keyword, "Software", "Creation Time"])
            #expect(decoded.textEntries[1].text == "twinrender 0.1.0")
            #expect(decoded.textEntries[2].text == "2026-05-17T06:40:00Z")
        }
        let small = try PNGCodec.encode(image, metadata: nil, compressionLevel: 9)
        let large = try PNGCodec.encode(image, metadata: nil, compressionLevel: 0)
        #expect(small.count < large.count)
    }

    @Test func writesColourChunksBeforeImageData() throws {
        let data = try PNGCodec.encode(SyntheticRender.make(seed: 5), metadata: sampleMetadata)
        let types = try PNGChunks.walk([UInt8](data)).chunkTypes
        let idat = try #require(types.firstIndex(of: "IDAT"))
        for type in ["gAMA", "cHRM", "sRGB"] {
            let index = try #require(types.firstIndex(of: type), "missing \(type)")
            #expect(index < idat)
        }
        #expect(types.filter { $0 == "iTXt" }.count == 2)
        #expect(types.contains("tEXt"))
    }

    @Test func xmpCarriesProvenance() throws {
        let decoded = try PNGCodec.decode(try PNGCodec.encode(SyntheticRender.make(seed: 6), metadata: sampleMetadata))
        let properties = try XMPPacket.properties(of: try #require(decoded.xmp))
        #expect(properties["Iptc4xmpExt:DigitalSourceType"] == XMPPacket.trainedAlgorithmicMedia)
        #expect(properties["twinrender:JobID"] == "job-2026-0042")
        #expect(properties["twinrender:ImageIndex"] == "3")
        #expect(properties["twinrender:WatermarkPayload"] == "00c0ffee12345678")
        #expect(properties["plus:LicenseeName"] == "H&M <Studio> \"Nord\"")
        #expect(properties["plus:RegionConstraints"] == "EU")
        #expect(properties["plus:MediaConstraints"] == "online catalogue")
        #expect(properties["plus:LicenseStartDate"] == "2026-01-01T00:00:00Z")
        #expect(properties["plus:ModelReleaseStatus"] == "http://ns.useplus.org/ldf/vocab/MR-LMR")
    }

    @Test func exiftoolReadsTheFields() throws {
        let exiftool = "/usr/bin/exiftool"
        guard FileManager.default.isExecutableFile(atPath: exiftool) else {
            print("SKIPPED exiftoolReadsTheFields: \(exiftool) not installed (Debian: libimage-exiftool-perl)")
            return
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("twinimaging-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try PNGCodec.encode(SyntheticRender.make(seed: 7), metadata: sampleMetadata).write(to: url)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exiftool)
        process.arguments = ["-j", "-n", "-XMP:all", "-PNG:all", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let json = try #require(try JSONDecoder().decode([[String: ExiftoolValue]].self, from: output).first)
        let expected: [String: String] = [
            "DigitalSourceType": XMPPacket.trainedAlgorithmicMedia, "LicenseeName": "H&M <Studio> \"Nord\"",
            "LicenseeID": "lic-889", "LicenseStartDate": "2026:01:01 00:00:00Z", "LicenseEndDate": "2026:12:31 23:59:59Z",
            "RegionConstraints": "EU", "MediaConstraints": "online catalogue", "ModelReleaseStatus": "MR-LMR",
            "JobID": "job-2026-0042", "TwinID": "twin-ada-7", "GrantUID": "grant-5f2c",
            "WatermarkPayload": "00c0ffee12345678", "ModelPackageHash": "9f86d081884c7d65",
            "CreatorTool": "twinrender 0.1.0", "Software": "twinrender 0.1.0",
        ]
        for (field, value) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(json[field] == .text(value), "\(field)")
        }
        #expect(json["SRGBRendering"] == .number(0))
        #expect(json["Gamma"].map { if case .number(let gamma) = $0 { abs(gamma - 2.2) < 0.01 } else { false } } == true)
    }

    @Test func rejectsBadArguments() {
        let image = SyntheticRender.make(seed: 8)
        #expect(throws: ImagingError.self) { try PNGCodec.encode(image, metadata: nil, compressionLevel: 10) }
        #expect(throws: InvalidImageError.self) { try RGBImage(width: 2, height: 2, pixels: [1, 2, 3]) }
        #expect(throws: InvalidImageError.self) { try RGBImage(width: 0, height: 2, pixels: []) }
    }

    @Test func malformedInputThrowsSpecificErrors() throws {
        let valid = [UInt8](try PNGCodec.encode(SyntheticRender.make(seed: 9), metadata: sampleMetadata))
        func error(_ bytes: [UInt8]) -> ImagingError? {
            do { _ = try PNGCodec.decode(Data(bytes)); return nil } catch let error as ImagingError { return error } catch { return nil }
        }
        #expect(error([])?.detail == "missing PNG signature")
        #expect(error(Array("hello, world".utf8))?.detail == "missing PNG signature")
        #expect(error(Array(valid.prefix(50)))?.isSameKind(as: .malformedPNG("")) == true)
        #expect(error(Array(valid.prefix(valid.count - 12)))?.detail == "no IEND chunk (file truncated?)")
        var badCRC = valid
        badCRC[30] ^= 0xFF  // inside IHDR
        #expect(error(badCRC)?.detail.hasPrefix("CRC mismatch in chunk IHDR") == true)
        var hugeLength = valid
        hugeLength[8...11] = [0x7F, 0xFF, 0xFF, 0xFF]
        #expect(error(hugeLength)?.detail.contains("runs past the end") == true)
    }

    @Test func corruptedFilesNeverCrash() throws {
        let valid = [UInt8](try PNGCodec.encode(SyntheticRender.make(seed: 10), metadata: sampleMetadata))
        var random = SplitMix64(seed: 99)
        for trial in 0..<300 {
            var bytes = valid
            for _ in 0..<(1 + trial % 8) { bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next()) }
            if trial % 3 == 0 { bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count)))) }
            _ = try? PNGCodec.decode(Data(bytes))
        }
        // A well-formed chunk stream whose IDAT is garbage reaches libpng, which must fail cleanly.
        let walked = try PNGChunks.walk(valid)
        #expect(walked.width == 128)
        var garbage = valid
        let idat = try #require(findChunk("IDAT", in: garbage))
        for index in (idat + 8)..<(idat + 40) { garbage[index] = 0xAB }
        let crc = CRC32.checksum(garbage[(idat + 4)..<(idat + 8 + Int(readLength(garbage, idat)))])
        let end = idat + 8 + Int(readLength(garbage, idat))
        garbage[end...(end + 3)] = [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        #expect(throws: ImagingError.self) { try PNGCodec.decode(Data(garbage)) }
    }

    private func readLength(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    private func findChunk(_ type: String, in bytes: [UInt8]) -> Int? {
        var offset = 8
        while offset + 8 <= bytes.count {
            if String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self) == type { return offset }
            offset += 12 + Int(readLength(bytes, offset))
        }
        return nil
    }
}

@Suite struct JPEGCodecTests {
    @Test func roundTripsApproximately() throws {
        let image = SyntheticRender.make(seed: 11)
        let decoded = try JPEGCodec.decode(try JPEGCodec.encode(image, quality: 95))
        #expect(decoded.format == .jpeg)
        #expect(decoded.image.width == 128 && decoded.image.height == 128)
        let meanError = zip(decoded.image.pixels, image.pixels).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(image.pixels.count)
        #expect(meanError < 3)
        #expect(throws: ImagingError.self) { try JPEGCodec.encode(image, quality: 0) }
    }

    @Test func malformedInputThrows() throws {
        let valid = [UInt8](try JPEGCodec.encode(SyntheticRender.make(seed: 12), quality: 80))
        #expect(throws: ImagingError.self) { try JPEGCodec.decode(Data()) }
        #expect(throws: ImagingError.self) { try JPEGCodec.decode(Data([0xFF, 0xD8, 0xFF, 0xD9])) }
        #expect(throws: ImagingError.self) { try JPEGCodec.decode(Data(valid.prefix(100))) }
        var random = SplitMix64(seed: 3)
        for trial in 0..<300 {
            var bytes = valid
            for _ in 0..<(1 + trial % 6) { bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next()) }
            if trial % 4 == 0 { bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count)))) }
            _ = try? JPEGCodec.decode(Data(bytes))
        }
    }
}

@Suite struct AILabelTests {
    @Test func drawsTextInTheChosenCorner() throws {
        let background = try RGBImage(width: 128, height: 128, fill: (128, 128, 128))
        for corner in AILabel.Corner.allCases {
            var configuration = AILabel.Configuration()
            configuration.corner = corner
            var image = background
            try AILabel(configuration: configuration).draw(on: &image)
            // Changed pixels fill exactly the label box in the chosen corner; some are bright text.
            var changed = 0, bright = 0
            for y in 0..<128 {
                for x in 0..<128 where image.pixels[(y * 128 + x) * 3] != 128 {
                    changed += 1
                    if image.pixels[(y * 128 + x) * 3] > 200 { bright += 1 }
                    let left = corner == .topLeft || corner == .bottomLeft, top = corner == .topLeft || corner == .topRight
                    #expect(left ? (2..<76).contains(x) : (52..<126).contains(x))
                    #expect(top ? (2..<15).contains(y) : (113..<126).contains(y))
                }
            }
            // "AI-generated": 12 glyphs of 6x11 plus 1 px padding.
            #expect(changed == 74 * 13)
            #expect(bright > 100)
        }
    }

    @Test func glyphsMatchTheFont() throws {
        var configuration = AILabel.Configuration()
        configuration.text = "I"
        configuration.corner = .topLeft
        configuration.opacity = 1
        configuration.margin = 0
        var image = try RGBImage(width: 64, height: 64, fill: (0, 0, 0))
        try AILabel(configuration: configuration).draw(on: &image)
        let rows = LabelFont.rows[Int(("I" as Unicode.Scalar).value) - 32]
        for y in 0..<LabelFont.cellHeight {
            for x in 0..<LabelFont.cellWidth {
                let ink = rows[y] >> (LabelFont.cellWidth - 1 - x) & 1 == 1
                #expect(image.pixels[((y + 1) * 64 + x + 1) * 3] == (ink ? 255 : 0))
            }
        }
        #expect(rows.contains { $0 != 0 })
    }

    @Test func rejectsBadSettings() throws {
        var image = try RGBImage(width: 64, height: 64, fill: (0, 0, 0))
        var configuration = AILabel.Configuration()
        #expect(throws: ImagingError.self) { try AILabel(configuration: configuration).draw(on: &image) }  // too wide for 64 px
        configuration.text = "KI-generiert ✓"
        #expect(throws: ImagingError.self) { try AILabel(configuration: configuration).draw(on: &image) }
        configuration.text = "AI"
        configuration.opacity = 1.5
        #expect(throws: ImagingError.self) { try AILabel(configuration: configuration).draw(on: &image) }
    }

    @Test func grantRequirementWins() {
        #expect(AILabel.isApplied(configEnabled: false, grantRequiresLabel: true))
        #expect(AILabel.isApplied(configEnabled: true, grantRequiresLabel: false))
        #expect(!AILabel.isApplied(configEnabled: false, grantRequiresLabel: false))
    }

    @Test func watermarkSurvivesOnALabelledImage() throws {
        var image = SyntheticRender.make(seed: 31)
        try AILabel().draw(on: &image)
        try InvisibleWatermark(key: .test).embed(into: &image, payload: 77)
        #expect(InvisibleWatermark(key: .test).detect(in: image)?.payload == 77)
    }
}

@Suite struct ImageInspectorTests {
    @Test func reportsWatermarkAndMetadataFromPNG() throws {
        var image = SyntheticRender.make(seed: 41)
        try InvisibleWatermark(key: .test).embed(into: &image, payload: sampleMetadata.payload)
        let report = try ImageInspector(watermark: InvisibleWatermark(key: .test)).inspect(data: try PNGCodec.encode(image, metadata: sampleMetadata))
        #expect(report.format == "png" && report.width == 128 && report.height == 128)
        #expect(report.watermark?.payloadHex == "00c0ffee12345678")
        #expect(report.declaredAIGenerated)
        #expect(!report.payloadMismatch)
        #expect(report.xmp["twinrender:TwinID"] == "twin-ada-7")
        #expect(report.text["Software"] == "twinrender 0.1.0")
    }

    @Test func reportsWatermarkFromJPEGAndAbsenceOnUnmarked() throws {
        var image = SyntheticRender.make(seed: 42)
        try InvisibleWatermark(key: .test).embed(into: &image, payload: 99)
        let jpeg = try ImageInspector(watermark: InvisibleWatermark(key: .test)).inspect(data: try JPEGCodec.encode(image, quality: 85))
        #expect(jpeg.format == "jpeg" && jpeg.watermark?.payload == 99 && !jpeg.declaredAIGenerated)
        let unmarked = try ImageInspector(watermark: InvisibleWatermark(key: .test)).inspect(data: try PNGCodec.encode(SyntheticRender.make(seed: 43), metadata: nil))
        #expect(unmarked.watermark == nil && unmarked.xmp.isEmpty)
    }

    @Test func flagsMismatchBetweenXMPAndPixels() throws {
        var image = SyntheticRender.make(seed: 44)
        try InvisibleWatermark(key: .test).embed(into: &image, payload: 1234)
        let report = try ImageInspector(watermark: InvisibleWatermark(key: .test)).inspect(data: try PNGCodec.encode(image, metadata: sampleMetadata))
        #expect(report.payloadMismatch)
    }

    @Test func unknownFormatsAreClearErrors() {
        #expect(throws: ImagingError.unsupportedFormat("empty file")) { try ImageInspector(watermark: InvisibleWatermark(key: .test)).inspect(data: Data()) }
        #expect(throws: ImagingError.self) { try ImageInspector(watermark: InvisibleWatermark(key: .test)).inspect(data: Data("GIF89a".utf8)) }
    }
}
