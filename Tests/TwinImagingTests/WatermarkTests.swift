// Role: tests of watermark embedding and detection, untouched and under `Attack`s.
// Reference: InvisibleWatermark.swift; docs/watermark.md for the measured robustness.
// Failure modes: a mark that does not survive a listed manipulation fails an expectation.
import TwinBase
import Testing
@testable import TwinImaging

@Suite struct WatermarkTests {
    let watermark = InvisibleWatermark(key: .test)

    private func marked(seed: UInt64, payload: UInt64, size: Int = 128) throws -> (RGBImage, Double) {
        var image = SyntheticRender.make(seed: seed, size: size)
        let psnr = try watermark.embed(into: &image, payload: payload)
        return (image, psnr)
    }

    @Test func embedKeepsPSNRAboveFortyAndReadsBack() throws {
        for seed: UInt64 in [1, 2, 3] {
            let payload = seed &* 0x9E37_79B9_7F4A_7C15
            let (image, psnr) = try marked(seed: seed, payload: payload)
            #expect(psnr >= 40, "PSNR \(psnr) dB")
            let detection = try #require(watermark.detect(in: image))
            #expect(detection.payload == payload)
            #expect(detection.bitErrors < 10)
        }
    }

    @Test func worksAt256AndOnFlatImages() throws {
        let (large, _) = try marked(seed: 9, payload: 42, size: 256)
        #expect(watermark.detect(in: large)?.payload == 42)
        var flat = try RGBImage(width: 128, height: 128, fill: (200, 200, 200))
        try watermark.embed(into: &flat, payload: 0xFFFF_FFFF_FFFF_FFFF)
        #expect(watermark.detect(in: flat)?.payload == 0xFFFF_FFFF_FFFF_FFFF)
    }

    @Test(arguments: [Attack.jpeg75, .noise5, .brightness120, .crop5Kept, .crop5Rescaled, .rotate2, .resizeHalfAndBack])
    func survives(_ attack: Attack) throws {
        let payload: UInt64 = 0xDEAD_BEEF_0BAD_F00D
        let (image, _) = try marked(seed: 21, payload: payload)
        let attacked = try attack.apply(image, seed: 5)
        let detection = watermark.detect(in: attacked)
        #expect(detection?.payload == payload, "lost after \(attack)")
    }

    @Test(arguments: [Attack.mirror, .flipVertical, .turn90, .turn180, .turn270, .mirrorTurn90JPEG75])
    func survivesTurnsAndMirrors(_ attack: Attack) throws {
        let payload: UInt64 = 0x0123_4567_89AB_CDEF
        let (image, _) = try marked(seed: 22, payload: payload)
        let detection = try #require(watermark.detect(in: try attack.apply(image)), "lost after \(attack)")
        #expect(detection.payload == payload)
        // A vertical flip is a mirror and a half turn; the detector names the same transform.
        #expect(detection.quarterTurns == attack.orientation.quarterTurns, "\(attack)")
        #expect(detection.mirrored == attack.orientation.mirrored, "\(attack)")
    }

    @Test(arguments: [Attack.rotate15, .rotateMinus10JPEG75, .upscale137JPEG85, .upscale2, .downscale075, .stretch120, .squash80, .crop4x5])
    func survivesScalingStretchingAndRotation(_ attack: Attack) throws {
        let payload: UInt64 = 0xFEED_FACE_CAFE_BEEF
        let (image, _) = try marked(seed: 23, payload: payload, size: 192)
        let detection = watermark.detect(in: try attack.apply(image))
        #expect(detection?.payload == payload, "lost after \(attack)")
    }

    @Test func absentFromUnmarkedImages() throws {
        var random = SplitMix64(seed: 77)
        for seed: UInt64 in 100..<115 {
            #expect(watermark.detect(in: SyntheticRender.make(seed: seed)) == nil)
        }
        let noise = try RGBImage(width: 128, height: 128, pixels: (0..<(128 * 128 * 3)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        #expect(watermark.detect(in: noise) == nil)
        #expect(watermark.detect(in: try RGBImage(width: 128, height: 128, fill: (255, 255, 255))) == nil)
        #expect(watermark.detect(in: try RGBImage(width: 128, height: 128, fill: (0, 0, 0))) == nil)
    }

    @Test func rejectsTinyImages() throws {
        var tiny = try RGBImage(width: 32, height: 200, fill: (128, 128, 128))
        #expect(throws: ImagingError.self) { try watermark.embed(into: &tiny, payload: 1) }
        #expect(watermark.detect(in: tiny) == nil)
    }
}
