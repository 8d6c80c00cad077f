// Role: tests of the watermark key: the key file's permissions and format, and that marks are
// read and written only with the key (rotation through previous keys).
// Reference: WatermarkKey.swift, InvisibleWatermark.swift; docs/watermark.md ("Keys").
// Failure modes: a key file that should be refused but loads, or a mark read under a wrong key,
// fails an expectation.
import Foundation
import TwinBase
import Testing
@testable import TwinImaging

@Suite struct WatermarkKeyTests {
    private func scratch() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wmkey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return root
    }

    @Test func keyFileIsMode0600RoundTripsAndIsNeverOverwritten() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let path = root.appendingPathComponent("watermark.key").path
        let key = WatermarkKey.generate()
        try key.write(to: path)
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try WatermarkKey.load(from: path) == key)
        #expect(try WatermarkKey.load(from: path).identifier == key.identifier)
        #expect(key.identifier.count == 16)
        #expect(throws: ImagingError.self) { try WatermarkKey.generate().write(to: path) }
        #expect(try WatermarkKey.load(from: path) == key, "the refused write left the key alone")
        #expect(WatermarkKey.generate() != WatermarkKey.generate())
    }

    @Test func loadRefusesOpenModesSymlinksWrongSizesAndGarbage() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let good = root.appendingPathComponent("good.key").path
        try WatermarkKey.generate().write(to: good)
        func refused(_ path: String, _ fragment: String) {
            do {
                _ = try WatermarkKey.load(from: path)
                Issue.record("\(path) loaded")
            } catch {
                #expect("\(error)".contains(fragment), "\(error)")
            }
        }
        for mode: mode_t in [0o640, 0o604, 0o660, 0o602] {
            let path = root.appendingPathComponent("open-\(String(mode, radix: 8)).key").path
            try WatermarkKey.generate().write(to: path)
            chmod(path, mode)
            refused(path, "chmod 600")
        }
        let link = root.appendingPathComponent("link.key").path
        symlink(good, link)
        refused(link, "symbolic link")
        refused(root.path, "not a regular file")
        refused(root.appendingPathComponent("absent.key").path, "cannot open")
        for (name, content) in [("short", Data((0..<16).map(UInt8.init)).base64EncodedString()),
                                ("long", Data((0..<33).map(UInt8.init)).base64EncodedString()),
                                ("garbage", "not base64 at all"), ("empty", "")] {
            let path = root.appendingPathComponent("\(name).key").path
            try DurableFile.writeNew(Array(content.utf8), to: path, mode: 0o600)
            refused(path, "not a watermark key")
        }
        #expect(throws: ImagingError.self) { try WatermarkKey(bytes: [UInt8](repeating: 1, count: 31)) }
    }

    @Test func layoutsAreTheKeysAndDiffer() throws {
        let a = WatermarkLayout(key: .test), b = WatermarkLayout(key: .test)
        #expect(a.bitOfCell == b.bitOfCell && a.signOfCell == b.signOfCell, "same key, same layout")
        let other = WatermarkLayout(key: try WatermarkKey(bytes: (1...32).map(UInt8.init)))
        let sameCells = zip(a.bitOfCell, other.bitOfCell).filter { $0 == $1 }.count
        #expect(sameCells < 300, "\(sameCells) of 1024 cells agree")
        #expect(a.bitOfCell.filter { $0 < 0 }.count == WatermarkLayout.syncCells)
        #expect(Set(a.bitOfCell.filter { $0 >= 0 }).count == PayloadCode.codedBits, "every code bit has cells")
    }

    @Test func onlyTheKeyReadsAMarkAndPreviousKeysStillDo() throws {
        let other = WatermarkKey.generate()
        let mine = InvisibleWatermark(key: .test)
        let theirs = InvisibleWatermark(key: other)
        for seed: UInt64 in [31, 32, 33] {
            var image = SyntheticRender.make(seed: seed)
            let payload = seed &* 0xA24B_AED4_963E_E407
            try mine.embed(into: &image, payload: payload)
            #expect(theirs.detect(in: image) == nil, "a different key read the mark")
            #expect(theirs.detect(in: try Attack.jpeg75.apply(image)) == nil)
            let rotated = InvisibleWatermark(key: other, previousKeys: [.test])
            let detection = try #require(rotated.detect(in: image))
            #expect(detection.payload == payload)
            #expect(detection.keyIdentifier == WatermarkKey.test.identifier)
            #expect(rotated.keyIdentifiers == [other.identifier, WatermarkKey.test.identifier])
            #expect(detection.hypothesesTried <= rotated.maximumHypotheses)
        }
        // Embedding uses the current key only.
        var image = SyntheticRender.make(seed: 34)
        try InvisibleWatermark(key: other, previousKeys: [.test]).embed(into: &image, payload: 5)
        #expect(mine.detect(in: image) == nil)
        #expect(theirs.detect(in: image)?.payload == 5)
    }
}
