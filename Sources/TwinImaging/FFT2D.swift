// Role: radix-2 complex FFT over square power-of-two grids, for the watermark detector's
// correlations.
// Reference: Cooley-Tukey radix-2 decimation in time (bit-reversed input order), row-column 2-D
// decomposition.
// Failure modes: a size that is not a power of two is a programming error (`precondition`); no
// other failure.

import Foundation

/// In-place radix-2 complex FFT over square power-of-two grids, split real/imaginary storage.
/// Rows are transformed, the grid transposed, rows transformed again and transposed back, so
/// every butterfly pass runs over contiguous memory. Used by the watermark detector for
/// autocorrelation and cyclic cross-correlation.
struct FFT2D {
    /// Side length (a power of two).
    let size: Int
    private let cosines: [Double]
    private let sines: [Double]
    private let bitReversed: [Int]

    init(size: Int) {
        precondition(size >= 2 && size & (size - 1) == 0, "FFT size must be a power of two")
        self.size = size
        cosines = (0..<(size / 2)).map { cos(-2 * Double.pi * Double($0) / Double(size)) }
        sines = (0..<(size / 2)).map { sin(-2 * Double.pi * Double($0) / Double(size)) }
        let bits = size.trailingZeroBitCount
        bitReversed = (0..<size).map { index in
            var reversed = 0
            for bit in 0..<bits where index & (1 << bit) != 0 { reversed |= 1 << (bits - 1 - bit) }
            return reversed
        }
    }

    /// Transforms the `size * size` grid (row-major) forward, or backward without the 1/N² scale.
    /// `nonZeroRows`: rows at or past it are known to be zero on input (skipped in the first pass).
    func transform(real: inout [Double], imaginary: inout [Double], inverse: Bool, nonZeroRows: Int? = nil) {
        precondition(real.count == size * size && imaginary.count == size * size)
        let rows = min(size, nonZeroRows ?? size)
        real.withUnsafeMutableBufferPointer { re in
            imaginary.withUnsafeMutableBufferPointer { im in
                cosines.withUnsafeBufferPointer { cosines in
                    sines.withUnsafeBufferPointer { sines in
                        bitReversed.withUnsafeBufferPointer { reversed in
                            let pass = Pass(size: size, cosines: cosines, sines: sines, reversed: reversed, sign: inverse ? -1 : 1)
                            for row in 0..<rows { pass.run(re.baseAddress! + row * size, im.baseAddress! + row * size) }
                            transpose(re)
                            transpose(im)
                            for row in 0..<size { pass.run(re.baseAddress! + row * size, im.baseAddress! + row * size) }
                            transpose(re)
                            transpose(im)
                        }
                    }
                }
            }
        }
    }

    private func transpose(_ grid: UnsafeMutableBufferPointer<Double>) {
        for y in 0..<size {
            for x in (y + 1)..<size { grid.swapAt(y * size + x, x * size + y) }
        }
    }

    /// One contiguous 1-D transform of `size` points.
    private struct Pass {
        let size: Int
        let cosines: UnsafeBufferPointer<Double>
        let sines: UnsafeBufferPointer<Double>
        let reversed: UnsafeBufferPointer<Int>
        let sign: Double

        func run(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>) {
            for index in 0..<size {
                let other = reversed[index]
                if other > index {
                    swap(&re[index], &re[other])
                    swap(&im[index], &im[other])
                }
            }
            var half = 1
            while half < size {
                let step = size / (half * 2)
                var blockStart = 0
                while blockStart < size {
                    for k in 0..<half {
                        let wr = cosines[k * step], wi = sign * sines[k * step]
                        let a = blockStart + k, b = a + half
                        let tr = re[b] * wr - im[b] * wi
                        let ti = re[b] * wi + im[b] * wr
                        re[b] = re[a] - tr
                        im[b] = im[a] - ti
                        re[a] += tr
                        im[a] += ti
                    }
                    blockStart += half * 2
                }
                half *= 2
            }
        }
    }
}
