// Role: folds a residual onto one watermark tile through a candidate linear map and finds the
// tile's translation.
// Reference: cyclic cross-correlation via FFT (`FFT2D`) with the layout's sync pattern.
// Failure modes: none: returns the best peaks; a weak peak just fails the payload CRC later.

import Foundation

/// Folds a residual onto one watermark tile through a given linear map, and finds the
/// tile's translation by cyclic correlation with the synchronisation pattern.
struct WatermarkAligner {
    /// A translation of the folded tile and how far its sync correlation stands out.
    struct Shift {
        var offset: (x: Int, y: Int)
        /// (peak - mean) / standard deviation of the correlation surface.
        var score: Double
    }

    private let fft = FFT2D(size: WatermarkLayout.tile)
    private let syncReal: [Double]
    private let syncImaginary: [Double]

    init(layout: WatermarkLayout) {
        var real = layout.syncTile
        var imaginary = [Double](repeating: 0, count: real.count)
        fft.transform(real: &real, imaginary: &imaginary, inverse: false)
        syncReal = real
        syncImaginary = imaginary
    }

    /// Maps every residual pixel back through `inverse` (residual pixels → tile pixels, row-major
    /// 2x2) and accumulates it, bilinearly, into a 64x64 tile (modulo 64); returns the zero-mean
    /// average per tile pixel.
    static func fold(_ residual: WatermarkResidual, inverse: (Double, Double, Double, Double)) -> [Double] {
        let tile = WatermarkLayout.tile, mask = tile - 1  // tile is a power of two
        var sums = [Double](repeating: 0, count: tile * tile)
        var weights = [Double](repeating: 0, count: tile * tile)
        let (m00, m01, m10, m11) = inverse
        // Offset keeps coordinates positive so truncation equals floor.
        let reach = (abs(m00) + abs(m01) + abs(m10) + abs(m11)) * Double(residual.width + residual.height)
        let bias = Double(tile * (1 + Int(reach / Double(tile))))
        residual.values.withUnsafeBufferPointer { values in
            sums.withUnsafeMutableBufferPointer { sums in
                weights.withUnsafeMutableBufferPointer { weights in
                    for y in 0..<residual.height {
                        let row = y * residual.width
                        for x in 0..<residual.width {
                            let value = values[row + x]
                            let u = m00 * Double(x) + m01 * Double(y) + bias
                            let v = m10 * Double(x) + m11 * Double(y) + bias
                            let u0 = Int(u), v0 = Int(v)
                            let fu = u - Double(u0), fv = v - Double(v0)
                            let x0 = u0 & mask, y0 = v0 & mask
                            let x1 = (x0 + 1) & mask, y1 = (y0 + 1) & mask
                            let w00 = (1 - fu) * (1 - fv), w10 = fu * (1 - fv), w01 = (1 - fu) * fv, w11 = fu * fv
                            sums[y0 * tile + x0] += w00 * value; weights[y0 * tile + x0] += w00
                            sums[y0 * tile + x1] += w10 * value; weights[y0 * tile + x1] += w10
                            sums[y1 * tile + x0] += w01 * value; weights[y1 * tile + x0] += w01
                            sums[y1 * tile + x1] += w11 * value; weights[y1 * tile + x1] += w11
                        }
                    }
                }
            }
        }
        var folded = zip(sums, weights).map { $1 > 0 ? $0 / $1 : 0 }
        let mean = folded.reduce(0, +) / Double(folded.count)
        for index in folded.indices { folded[index] -= mean }
        return folded
    }

    /// The `count` highest, mutually non-adjacent peaks of the cyclic correlation with the sync
    /// pattern, best first.
    func syncPeaks(_ folded: [Double], count: Int) -> [Shift] {
        let tile = WatermarkLayout.tile
        var real = folded
        var imaginary = [Double](repeating: 0, count: folded.count)
        fft.transform(real: &real, imaginary: &imaginary, inverse: false)
        for index in real.indices {
            // F · conj(S)
            let r = real[index] * syncReal[index] + imaginary[index] * syncImaginary[index]
            let i = imaginary[index] * syncReal[index] - real[index] * syncImaginary[index]
            real[index] = r
            imaginary[index] = i
        }
        fft.transform(real: &real, imaginary: &imaginary, inverse: true)
        let mean = real.reduce(0, +) / Double(real.count)
        let deviation = (real.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(real.count)).squareRoot()
        guard deviation > 0 else { return [] }
        var surface = real
        var peaks: [Shift] = []
        for _ in 0..<count {
            guard let best = surface.indices.max(by: { surface[$0] < surface[$1] }) else { break }
            let bx = best % tile, by = best / tile
            peaks.append(Shift(offset: (bx, by), score: (surface[best] - mean) / deviation))
            for dy in -1...1 {
                for dx in -1...1 { surface[((by + dy + tile) % tile) * tile + (bx + dx + tile) % tile] = -.infinity }
            }
        }
        return peaks
    }

    /// The folded tile shifted so that the tile origin found by `syncPeaks` is at (0, 0).
    func align(_ folded: [Double], by offset: (x: Int, y: Int)) -> [Double] {
        let tile = WatermarkLayout.tile
        var aligned = [Double](repeating: 0, count: folded.count)
        for y in 0..<tile {
            for x in 0..<tile { aligned[y * tile + x] = folded[((y + offset.y) % tile) * tile + (x + offset.x) % tile] }
        }
        return aligned
    }
}
