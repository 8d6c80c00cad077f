// Role: closed-loop embedding of the invisible watermark (projected gradient steps on the
// detector), checked against rounding and JPEG before delivery.
// Reference: informed embedding ("watermarking with side information", Cox et al., Digital
// Watermarking and Steganography); docs/watermark.md has the measurements.
// Failure modes: none thrown; the `Outcome` says whether the final read-back (rounded 8-bit image
// and simulated JPEG) passed, and the caller decides what an unverified mark means.

import Foundation
import TwinBase

/// Closed-loop ("informed") embedding of the watermark.
///
/// The embedder knows the image it marks, so it can see what the detector will see. It starts
/// from the plain mark (the payload's tile, repeated, at the configured PSNR) and improves it by
/// a few steps of projected gradient descent on the detector itself: the marked luma goes
/// through the detector's features (`WatermarkFeatures`), is folded onto one tile at the known
/// geometry (scale 1, no rotation, origin at (0, 0)) and turned into cell estimates and soft code
/// bits; a smooth hinge on every code bit's and every sync cell's margin (relative to the median
/// margin) is differentiated back to the pixels, a step is taken against it, and the change is
/// scaled back to the same mean squared error, so the PSNR stays where it was. This cancels the
/// picture's own interference with the mark (the decoder's blocky artefacts in a grey background,
/// say, which the plain mark loses to) and moves strength to where the detector reads it.
///
/// With `perceptualMask` (an experiment, off by default) the mark is `weights ⊙ u`, the weights from the original's
/// texture (`PerceptualMask`): the plain mark starts scaled by them and every step moves the mark
/// by `weights²` times the gradient, then back to the same energy. The closed loop alone would pull
/// energy onto flat backgrounds (the detector's whitening counts them most), where it shows as
/// grain; the parametrisation keeps it in the texture.
///
/// Then the result is checked the way it will be read: the rounded 8-bit image, and a copy
/// quantised like JPEG at quality 50 (`JPEGSimulation`), must both decode to the payload at the
/// known geometry, with the sync peak at the origin and few raw code-bit errors. If not, more
/// steps are taken with the JPEG copy in the loss too (its gradient passed straight through the
/// quantiser), and in the last round the mark is made stronger, down to `minimumPSNR`.
///
/// Everything is IEEE double arithmetic (+, -, *, /, rounding; `pow` only for the PSNR
/// conversions) in a fixed order on one thread, so the same image and payload give the same
/// bytes every time, which the daemon relies on when it re-renders after a crash.
struct WatermarkEmbedder {
    let layout: WatermarkLayout
    /// PSNR of the mark before any escalation, dB.
    let targetPSNR: Double
    /// Lowest PSNR the last round may go down to, dB (at most `targetPSNR`).
    let minimumPSNR: Double
    /// False: just the plain mark at `targetPSNR`, as before the closed loop existed (for
    /// comparisons in tests).
    var closedLoop = true
    /// True: the mark's amplitude follows the picture's texture (`PerceptualMask`) at the same
    /// energy; false (the default): uniform amplitude before the closed loop.
    var perceptualMask = false

    /// Gradient steps on the untouched image.
    static let iterations = 3
    /// Further steps (untouched + JPEG copy) per round while the check fails.
    static let extraIterations = 3
    /// Rounds of further steps; the last one runs at `minimumPSNR`.
    static let rounds = 3
    /// Step length as a fraction of the mark's RMS.
    static let stepSize = 0.3
    /// Weight of the sync cells' loss next to the code bits'.
    static let syncWeight = 0.5
    /// Margin (in median margins) below which a bit or sync cell is pulled up.
    static let marginTarget = 1.0
    /// Sharpness of the smooth hinge.
    static let sharpness = 3.0
    /// JPEG quality of the simulated copy.
    static let simulatedQuality = 50
    /// Largest raw code-bit error rate accepted on the untouched image.
    static let maximumErrorRate = 0.04
    /// Largest raw code-bit error rate accepted on the JPEG copy.
    static let maximumSimulatedErrorRate = 0.12

    /// What the closed loop did.
    struct Outcome: Equatable {
        /// PSNR of the marked image against the original, dB.
        var psnr: Double
        /// Gradient steps taken in all.
        var steps: Int
        /// Whether the final check passed.
        var verified: Bool
        /// Raw code-bit error rate of the final check on the untouched image.
        var errorRate: Double
        /// Raw code-bit error rate of the final check on the JPEG copy.
        var simulatedErrorRate: Double
    }

    /// Marks `image` in place (its sides must be at least one tile).
    @discardableResult
    func embed(into image: inout RGBImage, payload: UInt64) -> Outcome {
        var state = State(image: image, payload: payload, layout: layout, masked: perceptualMask)
        var budget = Self.meanSquaredError(psnr: targetPSNR)
        state.start(budget: budget)
        var steps = 0
        guard closedLoop else {
            return finish(&image, pixels: state.rendered(), steps: 0, check: (false, .nan, .nan))
        }
        for _ in 0..<Self.iterations {
            state.step(budget: budget, simulateJPEG: false)
            steps += 1
        }
        var pixels = state.rendered()
        var check = state.check(pixels)
        var round = 0
        while !check.passed, round < Self.rounds {
            round += 1
            if round == Self.rounds, minimumPSNR < targetPSNR {
                let stronger = Self.meanSquaredError(psnr: minimumPSNR)
                state.rescale(from: budget, to: stronger)
                budget = stronger
            }
            for _ in 0..<Self.extraIterations {
                state.step(budget: budget, simulateJPEG: true)
                steps += 1
            }
            pixels = state.rendered()
            check = state.check(pixels)
        }
        return finish(&image, pixels: pixels, steps: steps, check: check)
    }

    private func finish(_ image: inout RGBImage, pixels: [UInt8], steps: Int,
                        check: (passed: Bool, errorRate: Double, simulatedErrorRate: Double)) -> Outcome {
        let psnr = Self.psnr(pixels, image.pixels)
        image.pixels = pixels
        return Outcome(psnr: psnr, steps: steps, verified: check.passed,
                       errorRate: check.errorRate, simulatedErrorRate: check.simulatedErrorRate)
    }

    /// PSNR (dB) of `marked` against `original`, both interleaved bytes of one size.
    static func psnr(_ marked: [UInt8], _ original: [UInt8]) -> Double {
        var squaredError = 0.0
        for index in 0..<marked.count {
            let difference = Double(marked[index]) - Double(original[index])
            squaredError += difference * difference
        }
        let mse = squaredError / Double(marked.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    /// Mean squared error (per channel) of a mark at `psnr` dB.
    static func meanSquaredError(psnr: Double) -> Double { 255 * 255 / pow(10, psnr / 10) }

    /// -d(loss)/d(margin) of a smooth hinge on margins relative to their median magnitude: about
    /// `sharpness / median` for margins well under `marginTarget` medians (wrong signs included),
    /// falling off above. A rational logistic, 1/2 + x / (2 (1 + |x|)): no transcendental
    /// functions, so no libm differences between machines.
    static func pull(_ margins: [Double]) -> [Double] {
        let magnitudes = margins.map(abs).sorted()
        let median = magnitudes.isEmpty ? 0 : magnitudes[magnitudes.count / 2]
        guard median > 0 else { return margins.map { _ in 0 } }
        return margins.map { margin in
            let x = sharpness * (marginTarget - margin / median)
            return sharpness * (0.5 + 0.5 * x / (1 + abs(x))) / median
        }
    }

    /// The image, the payload, the mark being optimised and the buffers for it.
    private struct State {
        let layout: WatermarkLayout
        let payload: UInt64
        let width: Int
        let height: Int
        /// Original pixels as doubles (R, G, B interleaved).
        let original: [Double]
        /// ±1 per code bit.
        let codeSigns: [Double]
        /// Expected sign of every cell's estimate (sync value, or spreading sign times code bit).
        let cellSigns: [Double]
        /// The sync cells, in layout order.
        let syncCells: [Int]
        /// Pixels folded onto each tile position.
        let counts: [Double]
        let aligner: WatermarkAligner
        /// Amplitude weight per pixel (`PerceptualMask`), or nil for a uniform mark. The mark is
        /// `weights ⊙ u` for a free `u`, so a gradient step on `u` moves the mark by `weights²`
        /// times the gradient: the loop cannot pull energy back onto flat areas.
        let weights: [Double]?
        /// The luma change being optimised, row-major.
        var mark: [Double]
        // Buffers reused by every step.
        var features: WatermarkFeatures
        var luma: [Double]
        var slope: [Double]
        var quantised: [Double]
        var spread: [Double]
        var lumaGradient: [Double]
        var total: [Double]

        init(image: RGBImage, payload: UInt64, layout: WatermarkLayout, masked: Bool) {
            self.layout = layout
            self.payload = payload
            width = image.width
            height = image.height
            original = image.pixels.map(Double.init)
            let coded = PayloadCode.encode(payload)
            codeSigns = coded.map { $0 == 1 ? 1 : -1 }
            cellSigns = layout.bitOfCell.indices.map { cell in
                let bit = layout.bitOfCell[cell]
                return bit < 0 ? layout.signOfCell[cell] : layout.signOfCell[cell] * (coded[bit] == 1 ? 1 : -1)
            }
            syncCells = layout.bitOfCell.indices.filter { layout.bitOfCell[$0] < 0 }
            let tile = WatermarkLayout.tile
            var counts = [Double](repeating: 0, count: tile * tile)
            for y in 0..<image.height {
                for x in 0..<image.width { counts[(y % tile) * tile + x % tile] += 1 }
            }
            self.counts = counts
            aligner = WatermarkAligner(layout: layout)
            weights = masked
                ? PerceptualMask.weights(luma: WatermarkResidual.luma(of: image), width: image.width, height: image.height)
                : nil
            let count = image.width * image.height
            mark = [Double](repeating: 0, count: count)
            features = WatermarkFeatures(width: image.width, height: image.height)
            luma = mark
            slope = mark
            quantised = mark
            spread = mark
            lumaGradient = mark
            total = mark
        }

        /// The plain mark: the payload's tile repeated, at `budget` mean squared error.
        mutating func start(budget: Double) {
            var tilePixels = layout.tile(for: payload)
            let strength = budget.squareRoot()
            for index in tilePixels.indices { tilePixels[index] *= strength }
            Self.tiled(tilePixels, into: &mark, width: width, height: height)
            guard let weights else { return }
            var energy = 0.0
            for index in mark.indices {
                mark[index] *= weights[index]
                energy += mark[index] * mark[index]
            }
            guard energy > 0 else { return }
            let factor = (budget * Double(mark.count) / energy).squareRoot()
            for index in mark.indices { mark[index] *= factor }
        }

        mutating func rescale(from old: Double, to new: Double) {
            let factor = (new / old).squareRoot()
            for index in mark.indices { mark[index] *= factor }
        }

        /// One projected gradient step on the untouched image (and on the JPEG copy).
        mutating func step(budget: Double, simulateJPEG: Bool) {
            markedLuma()
            var total = [Double](), more = [Double]()
            swap(&total, &self.total)
            swap(&more, &lumaGradient)
            defer {
                swap(&total, &self.total)
                swap(&more, &lumaGradient)
            }
            gradient(of: luma, into: &total)
            if simulateJPEG {
                JPEGSimulation.apply(luma, into: &quantised, width: width, height: height,
                                     quality: WatermarkEmbedder.simulatedQuality)
                gradient(of: quantised, into: &more)
                for index in total.indices { total[index] += more[index] }
            }
            var squared = 0.0
            for index in total.indices {
                total[index] *= slope[index]
                if let weights { total[index] *= weights[index] * weights[index] }
                squared += total[index] * total[index]
            }
            guard squared > 0 else { return }
            let step = WatermarkEmbedder.stepSize * (budget * Double(total.count) / squared).squareRoot()
            var energy = 0.0
            for index in mark.indices {
                mark[index] -= step * total[index]
                energy += mark[index] * mark[index]
            }
            guard energy > 0 else { return }
            let factor = (budget * Double(mark.count) / energy).squareRoot()
            for index in mark.indices { mark[index] *= factor }
        }

        /// `luma` = luma of the marked image before rounding (channels clamped to 0...255), and
        /// `slope` = d(luma)/d(mark) (less where channels saturate).
        mutating func markedLuma() {
            let count = mark.count
            original.withUnsafeBufferPointer { original in
                mark.withUnsafeBufferPointer { mark in
                    luma.withUnsafeMutableBufferPointer { luma in
                        slope.withUnsafeMutableBufferPointer { slope in
                            for index in 0..<count {
                                var value = 0.0, derivative = 0.0
                                let delta = mark[index]
                                let red = original[index * 3] + delta
                                let green = original[index * 3 + 1] + delta
                                let blue = original[index * 3 + 2] + delta
                                if red >= 255 { value += 0.299 * 255 } else if red > 0 { value += 0.299 * red; derivative += 0.299 }
                                if green >= 255 { value += 0.587 * 255 } else if green > 0 { value += 0.587 * green; derivative += 0.587 }
                                if blue >= 255 { value += 0.114 * 255 } else if blue > 0 { value += 0.114 * blue; derivative += 0.114 }
                                luma[index] = value
                                slope[index] = derivative
                            }
                        }
                    }
                }
            }
        }

        /// Features of `luma` (kept in `features`), folded at the known geometry (zero mean),
        /// and the cell estimates.
        mutating func estimates(of luma: [Double]) -> (folded: [Double], cells: [Double]) {
            features.compute(luma: luma)
            let tile = WatermarkLayout.tile
            var sums = [Double](repeating: 0, count: tile * tile)
            let width = width, height = height
            features.values.withUnsafeBufferPointer { values in
                sums.withUnsafeMutableBufferPointer { sums in
                    for y in 0..<height {
                        let to = sums.baseAddress! + (y & (tile - 1)) * tile
                        let from = values.baseAddress! + y * width
                        var x = 0
                        while x < width {
                            for offset in 0..<min(tile, width - x) { to[offset] += from[x + offset] }
                            x += tile
                        }
                    }
                }
            }
            var mean = 0.0
            for index in sums.indices {
                sums[index] = counts[index] > 0 ? sums[index] / counts[index] : 0
                mean += sums[index]
            }
            mean /= Double(sums.count)
            for index in sums.indices { sums[index] -= mean }
            return (sums, layout.cellEstimates(folded: sums))
        }

        /// d(loss)/d(luma) at `luma`, for the margins of every code bit and sync cell.
        mutating func gradient(of luma: [Double], into result: inout [Double]) {
            let cells = estimates(of: luma).cells
            let soft = layout.softBits(cellEstimates: cells)
            let bitPull = WatermarkEmbedder.pull(soft.indices.map { codeSigns[$0] * soft[$0] })
            let syncPull = WatermarkEmbedder.pull(syncCells.map { cellSigns[$0] * cells[$0] })
            // d(loss)/d(cell estimate).
            var cellGradient = [Double](repeating: 0, count: cells.count)
            for cell in cells.indices {
                let bit = layout.bitOfCell[cell]
                if bit >= 0 { cellGradient[cell] = -bitPull[bit] * codeSigns[bit] * layout.signOfCell[cell] }
            }
            for (rank, cell) in syncCells.enumerated() {
                cellGradient[cell] = -WatermarkEmbedder.syncWeight * syncPull[rank] * cellSigns[cell]
            }
            // Back through the matched filter (its transpose renders cells) and the fold (mean
            // removal, then the average over each tile position).
            var tileGradient = WatermarkLayout.render(cellValues: cellGradient)
            let mean = tileGradient.reduce(0, +) / Double(tileGradient.count)
            for index in tileGradient.indices {
                tileGradient[index] = counts[index] > 0 ? (tileGradient[index] - mean) / counts[index] : 0
            }
            Self.tiled(tileGradient, into: &spread, width: width, height: height)
            features.backward(spread, into: &result)
        }

        /// A 64x64 tile repeated over `width` x `height` from the top-left corner.
        static func tiled(_ tilePixels: [Double], into output: inout [Double], width: Int, height: Int) {
            let tile = WatermarkLayout.tile
            tilePixels.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { output in
                    for y in 0..<height {
                        let from = source.baseAddress! + (y & (tile - 1)) * tile
                        let to = output.baseAddress! + y * width
                        var x = 0
                        while x < width {
                            for offset in 0..<min(tile, width - x) { to[x + offset] = from[offset] }
                            x += tile
                        }
                    }
                }
            }
        }

        /// The marked image, rounded to 8 bits.
        func rendered() -> [UInt8] {
            var pixels = [UInt8](repeating: 0, count: original.count)
            original.withUnsafeBufferPointer { original in
                mark.withUnsafeBufferPointer { mark in
                    pixels.withUnsafeMutableBufferPointer { pixels in
                        for index in 0..<mark.count {
                            for channel in 0..<3 {
                                let value = (original[index * 3 + channel] + mark[index]).rounded()
                                pixels[index * 3 + channel] = UInt8(min(255, max(0, value)))
                            }
                        }
                    }
                }
            }
            return pixels
        }

        /// Whether `pixels`, and a JPEG copy of them, decode to the payload at the known geometry.
        mutating func check(_ pixels: [UInt8]) -> (passed: Bool, errorRate: Double, simulatedErrorRate: Double) {
            for index in luma.indices {
                luma[index] = 0.299 * Double(pixels[index * 3]) + 0.587 * Double(pixels[index * 3 + 1])
                    + 0.114 * Double(pixels[index * 3 + 2])
            }
            let untouched = read(luma)
            JPEGSimulation.apply(luma, into: &quantised, width: width, height: height,
                                 quality: WatermarkEmbedder.simulatedQuality)
            let compressed = read(quantised)
            let passed = untouched.decoded && compressed.decoded
                && untouched.errorRate <= WatermarkEmbedder.maximumErrorRate
                && compressed.errorRate <= WatermarkEmbedder.maximumSimulatedErrorRate
            return (passed, untouched.errorRate, compressed.errorRate)
        }

        /// Reads `luma` like the detector at the known geometry: the sync peak must be at the
        /// origin and the code must decode to the payload.
        mutating func read(_ luma: [Double]) -> (decoded: Bool, errorRate: Double) {
            let (folded, cells) = estimates(of: luma)
            let soft = layout.softBits(cellEstimates: cells)
            let errors = soft.indices.filter { soft[$0] * codeSigns[$0] <= 0 }.count
            let errorRate = Double(errors) / Double(soft.count)
            guard let peak = aligner.syncPeaks(folded, count: 1).first, peak.offset.x == 0, peak.offset.y == 0 else {
                return (false, errorRate)
            }
            return (PayloadCode.decode(soft: soft) == payload, errorRate)
        }
    }
}
