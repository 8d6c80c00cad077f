// Role: the image manipulations (JPEG, tone maps, crops, resampling, rotation) the watermark must
// survive, as test helpers.
// Reference: scripts/watermark-bench runs the same list with Pillow on real renders.
// Failure modes: none of their own; a manipulation that breaks the mark fails the tests using it.
import Foundation
import TwinBase
@testable import TwinImaging

/// The image manipulations of issue #6's robustness list, in Swift so `swift test` needs no
/// Python. `scripts/watermark-bench` runs the same list with Pillow on real renders.
enum Attack: CaseIterable, CustomStringConvertible {
    case jpeg90, jpeg75, jpeg50
    case resizeHalfAndBack
    case crop5Kept, crop5Rescaled
    case brightness120
    case noise5
    case rotate2
    case pngJPEGPNG
    case mirror, flipVertical, turn90, turn180, turn270, mirrorTurn90JPEG75
    case rotate15, rotateMinus10JPEG75, upscale137JPEG85, upscale2, downscale075, stretch120, squash80, crop4x5
    case jpeg30, thumbnailHalfJPEG75
    case cropScaleJPEG75

    var description: String {
        switch self {
        case .jpeg90: "JPEG 90"
        case .jpeg75: "JPEG 75"
        case .jpeg50: "JPEG 50"
        case .resizeHalfAndBack: "resize 50% and back"
        case .crop5Kept: "crop 5% per side"
        case .crop5Rescaled: "crop 5% per side, rescaled"
        case .brightness120: "brightness x1.2"
        case .noise5: "Gaussian noise sigma 5"
        case .rotate2: "rotate 2 degrees"
        case .pngJPEGPNG: "PNG -> JPEG 75 -> PNG"
        case .mirror: "mirror left-right"
        case .flipVertical: "mirror top-bottom"
        case .turn90: "turn 90 degrees clockwise"
        case .turn180: "turn 180 degrees"
        case .turn270: "turn 270 degrees clockwise"
        case .mirrorTurn90JPEG75: "mirror, turn 90 degrees, JPEG 75"
        case .rotate15: "rotate 15 degrees"
        case .rotateMinus10JPEG75: "rotate -10 degrees, JPEG 75"
        case .upscale137JPEG85: "screenshot: scale 1.37, JPEG 85"
        case .upscale2: "scale 2 (kept)"
        case .downscale075: "scale 0.75 (kept)"
        case .stretch120: "stretch width x1.2"
        case .squash80: "squeeze height x0.8"
        case .crop4x5: "crop to 4:5"
        case .jpeg30: "JPEG 30"
        case .thumbnailHalfJPEG75: "thumbnail 0.5x, JPEG 75"
        case .cropScaleJPEG75: "crop 10% per side, scale 0.8, JPEG 75"
        }
    }

    func apply(_ image: RGBImage, seed: UInt64 = 1) throws -> RGBImage {
        switch self {
        case .jpeg90: return try jpeg(image, quality: 90)
        case .jpeg75: return try jpeg(image, quality: 75)
        case .jpeg50: return try jpeg(image, quality: 50)
        case .resizeHalfAndBack:
            return try resample(try resample(image, width: image.width / 2, height: image.height / 2),
                                width: image.width, height: image.height)
        case .crop5Kept: return try crop(image, fraction: 0.05)
        case .crop5Rescaled: return try resample(try crop(image, fraction: 0.05), width: image.width, height: image.height)
        case .brightness120: return try map(image) { min(255, ($0 * 1.2).rounded()) }
        case .noise5:
            var random = SplitMix64(seed: seed)
            return try map(image) { value in
                let u1 = Double(random.next() >> 11 + 1) / Double(1 << 53), u2 = Double(random.next() >> 11) / Double(1 << 53)
                let gaussian = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
                return min(255, max(0, (value + 5 * gaussian).rounded()))
            }
        case .rotate2: return try rotate(image, degrees: 2)
        case .pngJPEGPNG:
            let png = try PNGCodec.decode(try PNGCodec.encode(image, metadata: nil)).image
            return try PNGCodec.decode(try PNGCodec.encode(try jpeg(png, quality: 75), metadata: nil)).image
        case .mirror: return try orient(image, quarterTurns: 0, mirrored: true)
        case .flipVertical: return try orient(image, quarterTurns: 2, mirrored: true)
        case .turn90: return try orient(image, quarterTurns: 1, mirrored: false)
        case .turn180: return try orient(image, quarterTurns: 2, mirrored: false)
        case .turn270: return try orient(image, quarterTurns: 3, mirrored: false)
        case .mirrorTurn90JPEG75: return try jpeg(try orient(image, quarterTurns: 1, mirrored: true), quality: 75)
        case .rotate15: return try rotate(image, degrees: 15)
        case .rotateMinus10JPEG75: return try jpeg(try rotate(image, degrees: -10), quality: 75)
        case .upscale137JPEG85: return try jpeg(try scaled(image, 1.37, 1.37), quality: 85)
        case .upscale2: return try scaled(image, 2, 2)
        case .downscale075: return try scaled(image, 0.75, 0.75)
        case .stretch120: return try scaled(image, 1.2, 1)
        case .squash80: return try scaled(image, 1, 0.8)
        case .crop4x5:
            let width = image.height * 4 / 5
            return try crop(image, left: (image.width - width) / 2, top: 0, width: width, height: image.height)
        case .jpeg30: return try jpeg(image, quality: 30)
        case .thumbnailHalfJPEG75: return try jpeg(try scaled(image, 0.5, 0.5), quality: 75)
        case .cropScaleJPEG75: return try jpeg(try scaled(try crop(image, fraction: 0.1), 0.8, 0.8), quality: 75)
        }
    }

    /// What a turn and mirror do to a picture, as `TileOrientation` names them: first mirrored
    /// left to right (when `mirrored`), then turned clockwise `quarterTurns` times.
    var orientation: (quarterTurns: Int, mirrored: Bool) {
        switch self {
        case .mirror: (0, true)
        case .flipVertical: (2, true)
        case .turn90: (1, false)
        case .turn180: (2, false)
        case .turn270: (3, false)
        case .mirrorTurn90JPEG75: (1, true)
        default: (0, false)
        }
    }

    /// Lossless mirror (left-right) followed by clockwise quarter turns.
    func orient(_ image: RGBImage, quarterTurns: Int, mirrored: Bool) throws -> RGBImage {
        var current = image
        if mirrored {
            var pixels = current.pixels
            for y in 0..<current.height {
                for x in 0..<current.width {
                    for c in 0..<3 { pixels[(y * current.width + x) * 3 + c] = current.pixels[(y * current.width + current.width - 1 - x) * 3 + c] }
                }
            }
            current = try RGBImage(width: current.width, height: current.height, pixels: pixels)
        }
        for _ in 0..<quarterTurns {
            // Clockwise: out(x, y) = in(y, H - 1 - x), out is H wide and W high.
            let width = current.height, height = current.width
            var pixels = [UInt8](repeating: 0, count: current.pixels.count)
            for y in 0..<height {
                for x in 0..<width {
                    for c in 0..<3 { pixels[(y * width + x) * 3 + c] = current.pixels[((current.height - 1 - x) * current.width + y) * 3 + c] }
                }
            }
            current = try RGBImage(width: width, height: height, pixels: pixels)
        }
        return current
    }

    private func jpeg(_ image: RGBImage, quality: Int) throws -> RGBImage {
        try JPEGCodec.decode(try JPEGCodec.encode(image, quality: quality)).image
    }

    private func map(_ image: RGBImage, _ transform: (Double) -> Double) throws -> RGBImage {
        try RGBImage(width: image.width, height: image.height, pixels: image.pixels.map { UInt8(transform(Double($0))) })
    }

    private func scaled(_ image: RGBImage, _ x: Double, _ y: Double) throws -> RGBImage {
        try resample(image, width: Int((Double(image.width) * x).rounded()), height: Int((Double(image.height) * y).rounded()))
    }

    private func crop(_ image: RGBImage, fraction: Double) throws -> RGBImage {
        let dx = Int((Double(image.width) * fraction).rounded()), dy = Int((Double(image.height) * fraction).rounded())
        return try crop(image, left: dx, top: dy, width: image.width - 2 * dx, height: image.height - 2 * dy)
    }

    private func crop(_ image: RGBImage, left dx: Int, top dy: Int, width: Int, height: Int) throws -> RGBImage {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 3)
        for y in dy..<(dy + height) {
            pixels += image.pixels[((y * image.width + dx) * 3)..<((y * image.width + dx + width) * 3)]
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Separable resampling with a triangle filter widened when shrinking (Pillow's antialiased
    /// BILINEAR), pixel centres aligned.
    private func resample(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
        func weights(from source: Int, to target: Int) -> [[(Int, Double)]] {
            let scale = Double(target) / Double(source)
            let support = max(1, 1 / scale)
            return (0..<target).map { index in
                let center = (Double(index) + 0.5) / scale - 0.5
                var taps: [(Int, Double)] = []
                for s in Int((center - support).rounded(.down))...Int((center + support).rounded(.up)) {
                    let w = max(0, 1 - abs(Double(s) - center) / support)
                    if w > 0 { taps.append((min(source - 1, max(0, s)), w)) }
                }
                let total = taps.reduce(0) { $0 + $1.1 }
                return taps.map { ($0.0, $0.1 / total) }
            }
        }
        let horizontal = weights(from: image.width, to: width), vertical = weights(from: image.height, to: height)
        var temporary = [Double](repeating: 0, count: width * image.height * 3)
        for y in 0..<image.height {
            for x in 0..<width {
                for (s, w) in horizontal[x] {
                    for c in 0..<3 { temporary[(y * width + x) * 3 + c] += w * Double(image.pixels[(y * image.width + s) * 3 + c]) }
                }
            }
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    var sum = 0.0
                    for (s, w) in vertical[y] { sum += w * temporary[(s * width + x) * 3 + c] }
                    pixels[(y * width + x) * 3 + c] = UInt8(min(255, max(0, sum.rounded())))
                }
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Rotation about the centre, same canvas, bilinear, black fill (Pillow's `rotate`).
    private func rotate(_ image: RGBImage, degrees: Double) throws -> RGBImage {
        let angle = degrees * .pi / 180, c = cos(angle), s = sin(angle)
        let cx = Double(image.width) / 2, cy = Double(image.height) / 2
        var pixels = [UInt8](repeating: 0, count: image.pixels.count)
        for y in 0..<image.height {
            for x in 0..<image.width {
                let px = Double(x) + 0.5 - cx, py = Double(y) + 0.5 - cy
                let sx = c * px - s * py + cx - 0.5, sy = s * px + c * py + cy - 0.5
                let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
                guard x0 >= 0, y0 >= 0, x0 + 1 < image.width, y0 + 1 < image.height else { continue }
                let fx = sx - Double(x0), fy = sy - Double(y0)
                for ch in 0..<3 {
                    func at(_ xx: Int, _ yy: Int) -> Double { Double(image.pixels[(yy * image.width + xx) * 3 + ch]) }
                    let value = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1))
                    pixels[(y * image.width + x) * 3 + ch] = UInt8(min(255, max(0, value.rounded())))
                }
            }
        }
        return try RGBImage(width: image.width, height: image.height, pixels: pixels)
    }
}
