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
        }
    }

    private func jpeg(_ image: RGBImage, quality: Int) throws -> RGBImage {
        try JPEGCodec.decode(try JPEGCodec.encode(image, quality: quality)).image
    }

    private func map(_ image: RGBImage, _ transform: (Double) -> Double) throws -> RGBImage {
        try RGBImage(width: image.width, height: image.height, pixels: image.pixels.map { UInt8(transform(Double($0))) })
    }

    private func crop(_ image: RGBImage, fraction: Double) throws -> RGBImage {
        let dx = Int((Double(image.width) * fraction).rounded()), dy = Int((Double(image.height) * fraction).rounded())
        let width = image.width - 2 * dx, height = image.height - 2 * dy
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
