// Role: deterministic synthetic renders (figure on a flat background) for the imaging tests.
// Reference: the procedural images of scripts/dataset/ (what scripts/watermark-bench uses).
// Failure modes: none; the buffer size is a precondition.

import TwinBase
@testable import TwinImaging

/// Deterministic stand-ins for twinrender renders: a figure (head, torso, legs) on a flat studio
/// background, the hard case for frequency-domain marks. (`scripts/watermark-bench` uses the
/// procedural dataset images of `scripts/dataset/` or real renders instead.)
enum SyntheticRender {
    static func make(seed: UInt64, size: Int = 128) -> RGBImage {
        var random = SplitMix64(seed: seed)
        func uniform(_ range: ClosedRange<Double>) -> Double {
            range.lowerBound + (range.upperBound - range.lowerBound) * Double(random.next() >> 11) / Double(1 << 53)
        }
        let background = (uniform(150...245), uniform(150...245), uniform(150...245))
        let skin = (uniform(120...230), uniform(90...190), uniform(70...160))
        let cloth = (uniform(20...230), uniform(20...230), uniform(20...230))
        let legs = (uniform(20...120), uniform(20...120), uniform(30...140))
        let cx = uniform(0.4...0.6) * Double(size), scale = Double(size) / 128
        let stripe = uniform(3...9) * scale
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                let fx = Double(x) + 0.5, fy = Double(y) + 0.5
                var colour = background
                let headDx = (fx - cx) / (11 * scale), headDy = (fy - 26 * scale) / (14 * scale)
                let torsoDx = (fx - cx) / (24 * scale), torsoDy = (fy - 64 * scale) / (26 * scale)
                if headDx * headDx + headDy * headDy <= 1 {
                    let shade = 1 - 0.25 * headDx
                    colour = (skin.0 * shade, skin.1 * shade, skin.2 * shade)
                } else if torsoDx * torsoDx + torsoDy * torsoDy <= 1 {
                    let band = Int(fy / stripe) % 2 == 0 ? 1.0 : 0.82
                    colour = (cloth.0 * band, cloth.1 * band, cloth.2 * band)
                } else if fy > 84 * scale, fy < 124 * scale, abs(abs(fx - cx) - 8 * scale) < 5 * scale {
                    colour = legs
                }
                let base = (y * size + x) * 3
                pixels[base] = UInt8(min(255, colour.0.rounded()))
                pixels[base + 1] = UInt8(min(255, colour.1.rounded()))
                pixels[base + 2] = UInt8(min(255, colour.2.rounded()))
            }
        }
        guard let image = try? RGBImage(width: size, height: size, pixels: pixels) else {
            preconditionFailure("SyntheticRender built \(pixels.count) bytes for \(size)x\(size)")
        }
        return image
    }
}
