// Role: a deterministic plain-Swift model of baseline JPEG on the luma plane, used by the embedder
// to harden the mark against JPEG.
// Reference: ITU T.81 Annex K luminance table and IJG quality scaling; orthonormal DCT-II.
// Failure modes: none: pure arithmetic on a valid plane (sizes are preconditions).

/// Baseline-JPEG quantisation of a luma plane, in plain Swift: 8x8 blocks from the top-left
/// corner (edge blocks padded by replication, as libjpeg does), orthonormal DCT-II, the IJG
/// luminance table scaled to a quality, rounding, inverse DCT. No chroma, no integer DCT, no
/// clamping to 8 bits: a cheap, deterministic stand-in for what JPEG does to the watermark,
/// which lives in the luma. `WatermarkEmbedder` uses it to check (and strengthen) a mark against
/// JPEG before the image leaves the daemon; only +, -, *, / and constant tables are used, so the
/// result is the same on every machine.
enum JPEGSimulation {
    /// The IJG (JPEG Annex K) luminance quantisation table at quality 50, row-major.
    static let baseTable: [Double] = [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ]

    /// cos(j·π/16) for j = 0...8.
    private static let cosines: [Double] = [
        1, 0.98078528040323044913, 0.92387953251128675613, 0.83146961230254523708,
        0.70710678118654752440, 0.55557023301960222474, 0.38268343236508977173,
        0.19509032201612826785, 0,
    ]

    /// The orthonormal 8-point DCT-II matrix, basis[k * 8 + n].
    static let basis: [Double] = (0..<64).map { index in
        let k = index / 8, n = index % 8
        var m = ((2 * n + 1) * k) % 32
        var sign = 1.0
        if m > 16 { m = 32 - m }
        if m > 8 { m = 16 - m; sign = -1 }
        let scale = k == 0 ? 0.35355339059327376220 : 0.5
        return scale * sign * cosines[m]
    }

    /// The IJG luminance table scaled to `quality` 1...100 (libjpeg's `jpeg_quality_scaling`).
    static func table(quality: Int) -> [Double] {
        let quality = min(100, max(1, quality))
        let scale = quality < 50 ? 5000 / quality : 200 - 2 * quality
        return baseTable.map { Double(min(255, max(1, (Int($0) * scale + 50) / 100))) }
    }

    /// `luma` (row-major, 0...255) after JPEG quantisation at `quality`.
    static func apply(_ luma: [Double], width: Int, height: Int, quality: Int) -> [Double] {
        var output = [Double](repeating: 0, count: luma.count)
        apply(luma, into: &output, width: width, height: height, quality: quality)
        return output
    }

    /// `apply`, writing into `output` (`width * height` values).
    static func apply(_ luma: [Double], into output: inout [Double], width: Int, height: Int, quality: Int) {
        precondition(luma.count == width * height && output.count == luma.count)
        let steps = table(quality: quality)
        let inverseSteps = steps.map { 1 / $0 }
        var scratch = [Double](repeating: 0, count: 128)
        basis.withUnsafeBufferPointer { c in
            steps.withUnsafeBufferPointer { steps in
                inverseSteps.withUnsafeBufferPointer { inverseSteps in
                    luma.withUnsafeBufferPointer { luma in
                        output.withUnsafeMutableBufferPointer { output in
                            scratch.withUnsafeMutableBufferPointer { scratch in
                                let block = scratch.baseAddress!, temporary = scratch.baseAddress! + 64
                                for blockY in stride(from: 0, to: height, by: 8) {
                                    for blockX in stride(from: 0, to: width, by: 8) {
                                        for y in 0..<8 {
                                            let row = min(height - 1, blockY + y) * width
                                            for x in 0..<8 { block[y * 8 + x] = luma[row + min(width - 1, blockX + x)] - 128 }
                                        }
                                        // coefficients = C · block · Cᵀ
                                        for k in 0..<8 {
                                            for x in 0..<8 {
                                                var sum = 0.0
                                                for n in 0..<8 { sum += c[k * 8 + n] * block[n * 8 + x] }
                                                temporary[k * 8 + x] = sum
                                            }
                                        }
                                        for k in 0..<8 {
                                            for l in 0..<8 {
                                                var sum = 0.0
                                                for n in 0..<8 { sum += temporary[k * 8 + n] * c[l * 8 + n] }
                                                block[k * 8 + l] = (sum * inverseSteps[k * 8 + l]).rounded() * steps[k * 8 + l]
                                            }
                                        }
                                        // pixels = Cᵀ · coefficients · C
                                        for n in 0..<8 {
                                            for l in 0..<8 {
                                                var sum = 0.0
                                                for k in 0..<8 { sum += c[k * 8 + n] * block[k * 8 + l] }
                                                temporary[n * 8 + l] = sum
                                            }
                                        }
                                        for y in 0..<min(8, height - blockY) {
                                            for x in 0..<min(8, width - blockX) {
                                                var sum = 0.0
                                                for l in 0..<8 { sum += temporary[y * 8 + l] * c[l * 8 + x] }
                                                output[(blockY + y) * width + blockX + x] = sum + 128
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
