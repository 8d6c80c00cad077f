// Role: tests of the perceptual fingerprint and the copy-or-different-picture decision: the text
// form round-trips and is strict, the integer arithmetic gives fixed values, edited copies of real
// renders (crops, scaling, aspect changes, mirror, turns, rotation, JPEG, brightness) register as
// copies, and other renders and synthetic pictures do not.
// Reference: ImageFingerprint.swift, FingerprintMatcher.swift; the real renders are HardRenders.
// Failure modes: none (a failing expectation names the edit and the correlation).

import Foundation
import Testing
import TwinBase
@testable import TwinImaging

@Suite("Image fingerprint")
struct FingerprintTests {
    @Test("text form round-trips and rejects malformed text")
    func textForm() throws {
        let image = SyntheticRender.make(seed: 3)
        let fingerprint = ImageFingerprint(of: image)
        let text = fingerprint.encoded
        #expect(text.hasPrefix("fp1:128x128:"))
        #expect(ImageFingerprint(encoded: text) == fingerprint)
        let cells = String(text.dropFirst(12))
        let malformed: [String] = [
            "", "fp1:", "fp2:128x128:" + cells, "fp1:128x:" + cells, "fp1:0128x128:" + cells,
            "fp1:128x128:" + String(cells.dropFirst(4)), "fp1:128x128:" + cells + "A", "fp1:99999x128:" + cells,
        ]
        for bad in malformed {
            #expect(ImageFingerprint(encoded: bad) == nil, "accepted \(bad.prefix(30))")
        }
    }

    @Test("cells are integer luma means with fixed bounds")
    func cellValues() throws {
        // 128x64: cells are 2x1 pixels. Left pixel of each pair white, right black: luma 127.5,
        // a quarter of it 31.875 -> 32.
        var pixels = [UInt8]()
        for _ in 0..<64 { for x in 0..<128 { pixels += Array(repeating: x % 2 == 0 ? 255 : 0, count: 3) } }
        let fingerprint = ImageFingerprint(of: try RGBImage(width: 128, height: 64, pixels: pixels))
        #expect(fingerprint.cells.count == 4096 && fingerprint.cells.allSatisfy { $0 == 32 })
        // Pure red is Rec. 601 luma 0.299 * 255 = 76.245, a quarter 19.06 -> 19; white caps at 63.
        let red = ImageFingerprint(of: try RGBImage(width: 40, height: 40, fill: (255, 0, 0)))
        #expect(red.cells.allSatisfy { $0 == 19 })
        let white = ImageFingerprint(of: try RGBImage(width: 64, height: 64, fill: (255, 255, 255)))
        #expect(white.cells.allSatisfy { $0 == 63 })
        #expect(ImageFingerprint(encoded: white.encoded) == white)
        #expect(white.encoded.count == "fp1:64x64:".count + 4096)
        #expect(red.width == 40 && red.height == 40)
    }

    @Test("edited copies of real renders are copies")
    func editedCopiesMatch() throws {
        let matcher = FingerprintMatcher()
        for (name, original) in try HardRenders.all() {
            let fingerprint = ImageFingerprint(of: original)
            for (edit, copy, hint) in try Self.edits(of: original) {
                guard let match = matcher.match(copy, against: fingerprint, hint: hint) else {
                    Issue.record("\(name) \(edit): not comparable"); continue
                }
                #expect(match.isCopy, "\(name) \(edit): correlation \(match.correlation), overlap \(match.overlap)")
            }
        }
    }

    @Test("different pictures are not copies")
    func differentPicturesDoNotMatch() throws {
        let matcher = FingerprintMatcher()
        let renders = try HardRenders.all().map(\.image)
        // Synthetic pictures with a little grain (a marked or photographed picture is never
        // perfectly flat; perfectly flat cells are left out of the comparison).
        let others = renders + (UInt64(1)...6).map { seed in
            var state = seed
            return Self.mapped(SyntheticRender.make(seed: seed)) { value in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return min(255, max(0, value + Double(Int(state >> 61)) - 3.5))
            }
        }
        for (i, original) in renders.enumerated() {
            let fingerprint = ImageFingerprint(of: original)
            for (j, other) in others.enumerated() where j != i {
                guard let match = matcher.match(other, against: fingerprint) else {
                    Issue.record("picture \(j) against render \(i): not comparable"); continue
                }
                #expect(!match.isCopy, "picture \(j) against render \(i): correlation \(match.correlation)")
            }
        }
        // A flat picture, even one with texture finer than a cell, cannot be compared: no verdict.
        var flat = try RGBImage(width: 128, height: 128, fill: (200, 200, 200))
        for i in stride(from: 0, to: flat.pixels.count, by: 7) { flat.pixels[i] = 203 }
        #expect(matcher.match(flat, against: ImageFingerprint(of: renders[0])) == nil)
    }

    @Test("the best registration undoes the mirror and the turn")
    func reportsOrientation() throws {
        let original = try HardRenders.all()[0].image
        let turned = Self.turnedClockwise(Self.mirrored(original))
        guard let match = FingerprintMatcher().match(turned, against: ImageFingerprint(of: original)) else {
            Issue.record("not comparable"); return
        }
        #expect(match.isCopy)
        #expect(match.mirrored)
        #expect(abs(match.scaleX - 1) < 0.03 && abs(match.scaleY - 1) < 0.03)
    }

    // MARK: - Edits

    /// The edits a copy goes through, each with the geometry hint the watermark would give.
    static func edits(of image: RGBImage) throws -> [(String, RGBImage, FingerprintGeometryHint)] {
        let w = image.width, h = image.height
        return [
            ("JPEG 30", try JPEGCodec.decode(JPEGCodec.encode(image, quality: 30)).image, .init(scale: 1)),
            ("crop 4:5", crop(image, x: 12, y: 0, width: 102, height: 128), .init(scale: 1)),
            ("crop 16:9", crop(image, x: 0, y: 28, width: 128, height: 72), .init(scale: 1)),
            ("crop centre 50%", crop(image, x: 32, y: 32, width: 64, height: 64), .init(scale: 1)),
            ("thumbnail 0.25x", resized(image, width: w / 4, height: h / 4), .init(scale: 0.25)),
            ("upscale 2x", resized(image, width: 2 * w, height: 2 * h), .init(scale: 2)),
            ("anisotropic 1.25 x 1", resized(image, width: w * 5 / 4, height: h), .init()),
            ("crop 80% + resize back", resized(crop(image, x: 13, y: 13, width: 102, height: 102), width: w, height: h),
             .init(scale: 1.25)),
            ("mirror", mirrored(image), .init(scale: 1)),
            ("turn 90", turnedClockwise(image), .init(scale: 1)),
            ("rotate 10 deg", rotated(image, degrees: 10), .init(scale: 1, rotationDegrees: 10)),
            ("brightness 1.2", mapped(image) { min(255, $0 * 1.2) }, .init(scale: 1)),
        ]
    }

    static func crop(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8]()
        for row in y..<(y + height) {
            let start = (row * image.width + x) * 3
            pixels += image.pixels[start..<(start + width * 3)]
        }
        return RGBImage(width: width, height: height, producedPixels: pixels)
    }

    /// Bilinear resampling (box-averaged first when shrinking by 2 or more).
    static func resized(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var source = image
        while source.width >= 2 * width, source.height >= 2 * height {
            var pixels = [UInt8]()
            for y in 0..<(source.height / 2) {
                for x in 0..<(source.width / 2) {
                    for c in 0..<3 {
                        let a = Int(source.pixels[((2 * y) * source.width + 2 * x) * 3 + c]), b = Int(source.pixels[((2 * y) * source.width + 2 * x + 1) * 3 + c])
                        let d = Int(source.pixels[((2 * y + 1) * source.width + 2 * x) * 3 + c]), e = Int(source.pixels[((2 * y + 1) * source.width + 2 * x + 1) * 3 + c])
                        pixels.append(UInt8((a + b + d + e + 2) / 4))
                    }
                }
            }
            source = RGBImage(width: source.width / 2, height: source.height / 2, producedPixels: pixels)
        }
        return warped(source, width: width, height: height) { x, y in
            ((x + 0.5) * Double(source.width) / Double(width) - 0.5, (y + 0.5) * Double(source.height) / Double(height) - 0.5)
        }
    }

    static func rotated(_ image: RGBImage, degrees: Double) -> RGBImage {
        let angle = degrees * .pi / 180, cx = Double(image.width) / 2, cy = Double(image.height) / 2
        return warped(image, width: image.width, height: image.height) { x, y in
            let dx = x - cx, dy = y - cy
            return (cos(angle) * dx + sin(angle) * dy + cx, -sin(angle) * dx + cos(angle) * dy + cy)
        }
    }

    static func mirrored(_ image: RGBImage) -> RGBImage {
        warped(image, width: image.width, height: image.height) { x, y in (Double(image.width - 1) - x, y) }
    }

    static func turnedClockwise(_ image: RGBImage) -> RGBImage {
        warped(image, width: image.height, height: image.width) { x, y in (y, Double(image.height - 1) - x) }
    }

    static func mapped(_ image: RGBImage, _ transform: (Double) -> Double) -> RGBImage {
        RGBImage(width: image.width, height: image.height, producedPixels: image.pixels.map { UInt8(transform(Double($0)).rounded()) })
    }

    /// Output pixel (x, y) takes the bilinear sample of `image` at `source(x, y)` (edge-clamped).
    static func warped(_ image: RGBImage, width: Int, height: Int, source: (Double, Double) -> (Double, Double)) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        func at(_ x: Int, _ y: Int, _ c: Int) -> Double {
            Double(image.pixels[(min(max(y, 0), image.height - 1) * image.width + min(max(x, 0), image.width - 1)) * 3 + c])
        }
        for y in 0..<height {
            for x in 0..<width {
                let (sx, sy) = source(Double(x), Double(y))
                let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down)), fx = sx - Double(x0), fy = sy - Double(y0)
                for c in 0..<3 {
                    let value = at(x0, y0, c) * (1 - fx) * (1 - fy) + at(x0 + 1, y0, c) * fx * (1 - fy)
                        + at(x0, y0 + 1, c) * (1 - fx) * fy + at(x0 + 1, y0 + 1, c) * fx * fy
                    pixels[(y * width + x) * 3 + c] = UInt8(min(255, max(0, value.rounded())))
                }
            }
        }
        return RGBImage(width: width, height: height, producedPixels: pixels)
    }
}
