// Role: estimates the scale and rotation an image went through since it was marked, from its
// residual's autocorrelation.
// Reference: Kutter, "Watermarking resisting to translation, rotation, and scaling" (SPIE 1998).
// Failure modes: none: returns candidates in order (the identity always among them).

import Foundation

/// Estimates how an image was scaled and rotated since it was marked, from the autocorrelation
/// of its residual: the repeated 64-pixel tile puts peaks at the lattice vectors (64, 0) and
/// (0, 64), moved to s·R(θ)·(64, 0) and s·R(θ)·(0, 64) by a scale s and rotation θ. This is the
/// self-referencing approach of Kutter, "Watermarking resisting to translation, rotation, and
/// scaling" (SPIE 1998). Translation is left to the sync correlation (`WatermarkAligner`).
enum WatermarkGeometry {
    /// A scale and rotation (radians) to undo before folding.
    struct Candidate: Equatable {
        var scale: Double
        var rotation: Double
    }

    /// Side of the central window whose autocorrelation is computed.
    static let window = 128

    /// Candidates in the order they should be tried: the lattice estimate when both peaks agree,
    /// then no transform, then each peak's own estimate.
    static func candidates(
        residual: WatermarkResidual, maximumRotationDegrees: Double, scaleRange: ClosedRange<Double>
    ) -> [Candidate] {
        let acf = Autocorrelation(residual: residual, window: window)
        let maximumRotation = maximumRotationDegrees * .pi / 180
        let tile = Double(WatermarkLayout.tile)
        var found: [Candidate] = []
        var estimates: [Candidate] = []
        for axisAngle in [0.0, Double.pi / 2] {
            guard let peak = acf.peak(
                radii: (tile * scaleRange.lowerBound)...(tile * scaleRange.upperBound),
                angles: (axisAngle - maximumRotation)...(axisAngle + maximumRotation))
            else { continue }
            estimates.append(Candidate(
                scale: (peak.x * peak.x + peak.y * peak.y).squareRoot() / tile,
                rotation: atan2(peak.y, peak.x) - axisAngle))
        }
        if estimates.count == 2, abs(estimates[0].scale - estimates[1].scale) < 0.03,
           abs(estimates[0].rotation - estimates[1].rotation) < 0.01 {
            found.append(Candidate(
                scale: (estimates[0].scale + estimates[1].scale) / 2,
                rotation: (estimates[0].rotation + estimates[1].rotation) / 2))
        }
        found.append(Candidate(scale: 1, rotation: 0))
        found += estimates
        var unique: [Candidate] = []
        for candidate in found where !unique.contains(where: {
            abs($0.scale - candidate.scale) < 0.004 && abs($0.rotation - candidate.rotation) < 0.002
        }) {
            unique.append(candidate)
        }
        return unique
    }
}

/// Unbiased autocorrelation of the central window of a residual, computed with a zero-padded FFT.
private struct Autocorrelation {
    let size: Int
    let values: [Double]

    init(residual: WatermarkResidual, window: Int) {
        let width = min(window, residual.width), height = min(window, residual.height)
        let left = (residual.width - width) / 2, top = (residual.height - height) / 2
        var size = 2
        while size < 2 * max(width, height) { size *= 2 }
        self.size = size
        var mean = 0.0
        for y in 0..<height { for x in 0..<width { mean += residual.values[(top + y) * residual.width + left + x] } }
        mean /= Double(width * height)
        var real = [Double](repeating: 0, count: size * size)
        var imaginary = [Double](repeating: 0, count: size * size)
        for y in 0..<height {
            for x in 0..<width { real[y * size + x] = residual.values[(top + y) * residual.width + left + x] - mean }
        }
        let fft = FFT2D(size: size)
        fft.transform(real: &real, imaginary: &imaginary, inverse: false, nonZeroRows: height)
        for index in real.indices {
            real[index] = real[index] * real[index] + imaginary[index] * imaginary[index]
            imaginary[index] = 0
        }
        fft.transform(real: &real, imaginary: &imaginary, inverse: true)
        // Divide by the number of overlapping pixel pairs at each lag.
        var values = real
        for lagY in 0..<size {
            let dy = lagY < size / 2 ? lagY : lagY - size
            for lagX in 0..<size {
                let dx = lagX < size / 2 ? lagX : lagX - size
                let overlap = (width - abs(dx)) * (height - abs(dy))
                values[lagY * size + lagX] = overlap > 0 ? real[lagY * size + lagX] / Double(overlap) : 0
            }
        }
        self.values = values
    }

    func value(_ dx: Int, _ dy: Int) -> Double {
        values[((dy % size + size) % size) * size + (dx % size + size) % size]
    }

    /// Highest lag within the annulus sector, refined to sub-pixel precision by parabolic fits.
    func peak(radii: ClosedRange<Double>, angles: ClosedRange<Double>) -> (x: Double, y: Double)? {
        let reach = Int(radii.upperBound.rounded(.up))
        guard reach < size / 2 else { return nil }
        var best: (dx: Int, dy: Int, value: Double)?
        for dy in -reach...reach {
            for dx in -reach...reach {
                let radius = (Double(dx * dx + dy * dy)).squareRoot()
                guard radii.contains(radius), angles.contains(atan2(Double(dy), Double(dx))) else { continue }
                let v = value(dx, dy)
                if best == nil || v > best!.value { best = (dx, dy, v) }
            }
        }
        guard let best, best.value > 0 else { return nil }
        func offset(_ minus: Double, _ center: Double, _ plus: Double) -> Double {
            let curvature = minus - 2 * center + plus
            return curvature < 0 ? max(-0.5, min(0.5, 0.5 * (minus - plus) / curvature)) : 0
        }
        return (Double(best.dx) + offset(value(best.dx - 1, best.dy), best.value, value(best.dx + 1, best.dy)),
                Double(best.dy) + offset(value(best.dx, best.dy - 1), best.value, value(best.dx, best.dy + 1)))
    }
}
