// Role: the decoders' input limits (`ImagingLimits`) against hostile files built here in code:
// a tiny PNG declaring a huge image, huge and numerous text chunks, a huge XMP packet, JPEGs
// declaring huge frames or thousands of scans, oversized files. Every check asserts the specific
// `ImagingError.limitExceeded` (which names the limit); none depends on timing.
// Reference: PNG (ISO/IEC 15948) §5.3 chunk layout and CRC; ITU T.81 §B.2.2-B.2.3 SOF and SOS.
// Failure modes: a decoder that allocates before checking would make these tests slow or OOM;
// one that checks the wrong thing fails the error assertions.
import Foundation
import TwinBase
import Testing
@testable import TwinImaging

/// Hostile-file builders.
enum Hostile {
    /// One PNG chunk with its length and correct CRC.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(CRC32.checksum(body))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// A PNG whose IHDR declares `width` x `height` 8-bit RGB, with `chunks` before a tiny IDAT.
    static func png(width: UInt32, height: UInt32, chunks: [[UInt8]] = []) -> Data {
        let header = bigEndian(width) + bigEndian(height) + [8, 2, 0, 0, 0]
        let idat: [UInt8] = [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]  // zlib stream of nothing
        return Data(PNGChunks.signature + chunk("IHDR", header) + chunks.joined() + chunk("IDAT", idat) + chunk("IEND", []))
    }

    /// An uncompressed iTXt chunk carrying `text` under `keyword`.
    static func iTXt(_ keyword: String, _ text: [UInt8]) -> [UInt8] {
        chunk("iTXt", Array(keyword.utf8) + [0, 0, 0, 0, 0] + text)
    }

    /// A valid small baseline JPEG.
    static func jpeg() throws -> [UInt8] {
        [UInt8](try JPEGCodec.encode(try RGBImage(width: 16, height: 16, fill: (red: 10, green: 200, blue: 30)), quality: 80))
    }

    /// `bytes` with the SOF0 frame size replaced.
    static func jpeg(_ bytes: [UInt8], width: Int, height: Int) throws -> [UInt8] {
        var out = bytes
        let sof = try #require((0..<(out.count - 1)).first { out[$0] == 0xFF && out[$0 + 1] == 0xC0 })
        out[(sof + 5)...(sof + 8)] = [UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF)]
        return out
    }

    /// The error `body` throws, if it is an `ImagingError`.
    static func error(_ body: () throws -> Void) -> ImagingError? {
        do { try body(); return nil } catch let error as ImagingError { return error } catch { return nil }
    }
}

/// True when `error` is `limitExceeded` naming `limit`.
func isLimit(_ error: ImagingError?, _ limit: String) -> Bool {
    guard let error else { return false }
    return error.isSameKind(as: .limitExceeded("", value: 0, maximum: 0, what: "")) && error.detail.contains("ImagingLimits.\(limit) ")
}

@Suite struct PNGLimitTests {
    @Test func hugeIHDRIsRefusedBeforeDecoding() throws {
        let bomb = Hostile.png(width: 16384, height: 16384)
        #expect(bomb.count < 200)
        let error = Hostile.error { _ = try PNGCodec.decode(bomb) }
        #expect(isLimit(error, "maximumDimension"))
        #expect(error?.description == "input limit exceeded: PNG IHDR side (16384x16384) is 16384, more than ImagingLimits.maximumDimension = 8192")
        #expect(isLimit(Hostile.error { _ = try ImageInspector(watermark: InvisibleWatermark(key: .test)).inspect(data: bomb) }, "maximumDimension"))
    }

    @Test func pixelCountIsLimitedBelowTheSideLimit() {
        let wide = Hostile.png(width: 8192, height: 4096)
        #expect(isLimit(Hostile.error { _ = try PNGCodec.decode(wide) }, "maximumPixels"))
        #expect(isLimit(Hostile.error { _ = try PNGCodec.decode(Hostile.png(width: UInt32.max, height: 1)) }, "maximumDimension"))
        // Exactly at the limits the chunk walk accepts the header (libpng then finds no pixels).
        #expect((try? PNGChunks.walk([UInt8](Hostile.png(width: 4096, height: 4096))))?.width == 4096)
    }

    @Test func hugeXMPChunkIsRefused() {
        // 12 MiB of XMP. The chunk's CRC is left zero (computing it in a debug build takes
        // seconds): the size limit is checked before the CRC, which this also proves.
        let packet = [UInt8](repeating: UInt8(ascii: "x"), count: 12 << 20)
        let data = Array(XMPPacket.keyword.utf8) + [0, 0, 0, 0, 0] + packet
        let chunk = Hostile.bigEndian(UInt32(data.count)) + Array("iTXt".utf8) + data + [0, 0, 0, 0]
        let file = Hostile.png(width: 8, height: 8, chunks: [chunk])
        let error = Hostile.error { _ = try PNGCodec.decode(file) }
        #expect(isLimit(error, "maximumTextChunkBytes"))
        #expect(error?.detail == "PNG iTXt chunk at byte 33 length is 12582934, more than ImagingLimits.maximumTextChunkBytes = 266240")
    }

    @Test func xmpPacketJustOverItsLimitIsRefused() {
        let packet = [UInt8](repeating: UInt8(ascii: " "), count: ImagingLimits.maximumXMPBytes + 1)
        let file = Hostile.png(width: 8, height: 8, chunks: [Hostile.iTXt(XMPPacket.keyword, packet)])
        #expect(isLimit(Hostile.error { _ = try PNGCodec.decode(file) }, "maximumXMPBytes"))
        let text = Hostile.png(width: 8, height: 8, chunks: [Hostile.chunk("tEXt", Array(XMPPacket.keyword.utf8) + [0] + packet)])
        #expect(isLimit(Hostile.error { _ = try PNGCodec.decode(text) }, "maximumXMPBytes"))
        let string = String(repeating: "<a>", count: ImagingLimits.maximumXMPBytes / 3 + 1)
        #expect(isLimit(Hostile.error { _ = try XMPPacket.properties(of: string) }, "maximumXMPBytes"))
    }

    @Test func textChunkCountAndZTXtSizeAreLimited() {
        let many = (0...ImagingLimits.maximumTextChunks).map { Hostile.chunk("tEXt", Array("k\($0)".utf8) + [0, 0x41]) }
        #expect(isLimit(Hostile.error { _ = try PNGCodec.decode(Hostile.png(width: 8, height: 8, chunks: many)) }, "maximumTextChunks"))
        let zTXt = Hostile.chunk("zTXt", Array("Comment".utf8) + [0, 0] + [UInt8](repeating: 0, count: ImagingLimits.maximumTextChunkBytes))
        #expect(isLimit(Hostile.error { _ = try PNGCodec.decode(Hostile.png(width: 8, height: 8, chunks: [zTXt])) }, "maximumTextChunkBytes"))
    }

    @Test func totalTextAndCompressedTextAreLimited() {
        let big = (0..<5).map { Hostile.chunk("tEXt", Array("k\($0)".utf8) + [0] + [UInt8](repeating: 0xE9, count: 210_000)) }
        let error = Hostile.error { _ = try PNGCodec.decode(Hostile.png(width: 8, height: 8, chunks: big)) }
        #expect(isLimit(error, "maximumTextBytes"))
        #expect(error?.detail.hasPrefix("PNG text chunk bytes up to PNG tEXt chunk at byte 840093 is 1050015") == true)
        let zlibEmpty: [UInt8] = [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]
        let zTXt = (0...ImagingLimits.maximumCompressedTextChunks).map { Hostile.chunk("zTXt", Array("k\($0)".utf8) + [0, 0] + zlibEmpty) }
        #expect(isLimit(Hostile.error { _ = try PNGCodec.decode(Hostile.png(width: 8, height: 8, chunks: zTXt)) }, "maximumCompressedTextChunks"))
        let iTXt = (0...ImagingLimits.maximumCompressedTextChunks).map { Hostile.chunk("iTXt", Array("k\($0)".utf8) + [0, 1, 0, 0, 0] + zlibEmpty) }
        #expect(isLimit(Hostile.error { _ = try PNGCodec.decode(Hostile.png(width: 8, height: 8, chunks: iTXt)) }, "maximumCompressedTextChunks"))
        // Within the limits, Latin-1 text decodes (0xE9 is é) and compressed iTXt is skipped.
        let fine = Hostile.png(width: 1, height: 1, chunks: [Hostile.chunk("tEXt", Array("Comment".utf8) + [0, 0x63, 0x61, 0x66, 0xE9])] + Array(iTXt.prefix(4)))
        #expect((try? PNGChunks.walk([UInt8](fine)))?.texts == [PNGChunks.TextEntry(keyword: "Comment", text: "café")])
    }

    @Test func chunkCountAndFileSizeAreLimited() {
        let empty = [UInt8](Hostile.chunk("teSt", []))
        let flood = [[UInt8]](repeating: empty, count: ImagingLimits.maximumPNGChunks)
        #expect(isLimit(Hostile.error { _ = try PNGCodec.decode(Hostile.png(width: 8, height: 8, chunks: flood)) }, "maximumPNGChunks"))
        let big = Data(PNGChunks.signature) + Data(count: ImagingLimits.maximumFileBytes)
        #expect(isLimit(Hostile.error { _ = try PNGCodec.decode(big) }, "maximumFileBytes"))
        #expect(isLimit(Hostile.error { _ = try ImageInspector.decode(big) }, "maximumFileBytes"))
    }
}

@Suite struct XMPReaderTests {
    @Test func entitiesAreReplacedInOnePass() throws {
        let packet = #"<x:xmpmeta><rdf:Description a="&amp;lt; &quot;q&quot; &unknown; &#38;"><b>x &gt; y &amp; z</b></rdf:Description></x:xmpmeta>"#
        let properties = try XMPPacket.properties(of: packet)
        #expect(properties["a"] == #"&lt; "q" &unknown; &#38;"#)
        #expect(properties["b"] == "x > y & z")
    }

    @Test func hostilePacketsAtTheSizeLimitAreRead() throws {
        let limit = ImagingLimits.maximumXMPBytes
        for unit in ["<rdf:li>", "<a>", "<rdf:li>x</rdf:li>", "<", "=", " b=\"&lt;\""] {
            let packet = "<a" + String(repeating: unit, count: (limit - 3) / unit.utf8.count) + ">"
            #expect(packet.utf8.count <= limit)
            _ = try XMPPacket.properties(of: packet)
        }
    }
}

@Suite struct JPEGLimitTests {
    @Test func hugeFrameIsRefusedBeforeLibjpeg() throws {
        let valid = try Hostile.jpeg()
        #expect((try? JPEGCodec.decode(Data(valid)))?.image.width == 16)
        let side = Hostile.error { _ = try JPEGCodec.decode(Data(try Hostile.jpeg(valid, width: 65_000, height: 65_000))) }
        #expect(isLimit(side, "maximumDimension"))
        #expect(side?.detail == "JPEG frame side (65000x65000) is 65000, more than ImagingLimits.maximumDimension = 8192")
        let pixels = Hostile.error { _ = try JPEGCodec.decode(Data(try Hostile.jpeg(valid, width: 8000, height: 8000))) }
        #expect(isLimit(pixels, "maximumPixels"))
        let empty = Hostile.error { _ = try JPEGCodec.decode(Data(try Hostile.jpeg(valid, width: 16, height: 0))) }
        #expect(empty?.isSameKind(as: .malformedJPEG("")) == true)
    }

    @Test func scanBombIsRefused() throws {
        let valid = try Hostile.jpeg()
        let sos = try #require((0..<(valid.count - 1)).first { valid[$0] == 0xFF && valid[$0 + 1] == 0xDA })
        let header = Array(valid[sos..<(sos + 2 + (Int(valid[sos + 2]) << 8 | Int(valid[sos + 3])))])
        let scans = [[UInt8]](repeating: header + [0x00], count: ImagingLimits.maximumJPEGScans)
        let bomb = Array(valid.dropLast(2)) + scans.joined() + [0xFF, 0xD9]
        #expect(isLimit(Hostile.error { _ = try JPEGCodec.decode(Data(bomb)) }, "maximumJPEGScans"))
    }

    @Test func markerStructureErrorsAreSpecific() throws {
        let valid = try Hostile.jpeg()
        let twoSOI = Hostile.error { _ = try JPEGCodec.decode(Data([0xFF, 0xD8] + valid)) }
        #expect(twoSOI?.detail == "second SOI marker at byte 2")
        let noFrame = Hostile.error { _ = try JPEGCodec.decode(Data([0xFF, 0xD8, 0xFF, 0xD9])) }
        #expect(noFrame?.detail == "no frame header (SOF) before the end of the image")
        let big = Data([0xFF, 0xD8]) + Data(count: ImagingLimits.maximumFileBytes)
        #expect(isLimit(Hostile.error { _ = try JPEGCodec.decode(big) }, "maximumFileBytes"))
    }

    @Test func fuzzSeedCorpusDecodes() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/corpus/imaging").standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
        #expect(files.count >= 5)
        for file in files {
            let decoded = try ImageInspector.decode(try Data(contentsOf: corpus.appendingPathComponent(file)))
            #expect(decoded.image.width >= 3, "\(file)")
        }
    }
}
