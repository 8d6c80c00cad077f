// Role: estimates the linear map (scale per axis, rotation, shear) an image went through since it
// was marked, from its residual's autocorrelation, over a pyramid of 2x-downsampled levels.
// Reference: Kutter, "Watermarking resisting to translation, rotation, and scaling" (SPIE 1998);
// Lagrange-Gauss reduction of a 2-D lattice basis (Nguyen and Vallee, "The LLL Algorithm", ch. 2).
// Failure modes: none: returns candidates in order (the identity always first at level 0).

import Foundation

/// Estimates how an image was scaled, stretched and rotated since it was marked, from the
/// autocorrelation of its residual: the repeated 64-pixel tile puts peaks at every lattice
/// vector, and an edit that maps the picture by a linear map M moves the lattice to M·64·Z².
/// This is the self-referencing approach of Kutter (SPIE 1998), generalised: the strongest
/// autocorrelation peaks in an annulus (every direction) are paired and each pair is reduced to
/// the shortest basis of the lattice it generates (Lagrange-Gauss), so a diagonal or a doubled
/// vector among the peaks still gives the tile's own basis. The basis fixes M up to the eight
/// symmetries of the square, which `TileOrientation` resolves later, and translation is left to
/// the sync correlation (`WatermarkAligner`).
///
/// Large scales are read on a pyramid: level ℓ is the luma box-downsampled by 2^ℓ, so a copy
/// upscaled 4x shows the tile at about its own size on level 2.
enum WatermarkGeometry {
    /// A linear map to undo before folding, on one pyramid level: where one tile step along the
    /// tile's x and y axes lands in that level's pixels.
    struct Candidate: Equatable {
        /// The level's pixel displacement of the tile's lattice vector (64, 0).
        var axisX: SIMD2<Double>
        /// The level's pixel displacement of the tile's lattice vector (0, 64).
        var axisY: SIMD2<Double>
        /// Pyramid level: the residual it applies to was downsampled by 2^level.
        var level: Int

        /// No geometric change, at full resolution.
        static let identity = Candidate(axisX: [64, 0], axisY: [0, 64], level: 0)

        /// Scale of the copy against the original (geometric mean of the two axes).
        var scale: Double { (abs(axisX.x * axisY.y - axisX.y * axisY.x)).squareRoot() / 64 * Double(1 << level) }
        /// Rotation of the tile's x axis, radians, folded into [-45°, 45°) (the rest is a turn).
        var rotation: Double {
            var angle = atan2(axisX.y, axisX.x)
            while angle >= .pi / 4 { angle -= .pi / 2 }
            while angle < -.pi / 4 { angle += .pi / 2 }
            return angle
        }

        /// The inverse map, level pixels → tile pixels, as row-major 2x2 (m00, m01, m10, m11).
        var inverse: (Double, Double, Double, Double) {
            let det = axisX.x * axisY.y - axisY.x * axisX.y
            return (64 * axisY.y / det, -64 * axisY.x / det, -64 * axisX.y / det, 64 * axisX.x / det)
        }

        func isClose(to other: Candidate) -> Bool {
            guard level == other.level else { return false }
            // Same lattice: each axis of one is ± an axis of the other.
            func near(_ u: SIMD2<Double>, _ v: SIMD2<Double>) -> Bool {
                let tolerance = 0.3
                return (abs(u.x - v.x) < tolerance && abs(u.y - v.y) < tolerance)
                    || (abs(u.x + v.x) < tolerance && abs(u.y + v.y) < tolerance)
            }
            return (near(axisX, other.axisX) && near(axisY, other.axisY)) || (near(axisX, other.axisY) && near(axisY, other.axisX))
        }
    }

    /// Side of the largest central window whose autocorrelation is computed.
    static let window = 256
    /// Lattice bases kept per pyramid level.
    static let basesPerLevel = 2
    /// Deepest pyramid level.
    static let maximumLevel = 3
    /// Most candidates `candidates` returns: the identity and `basesPerLevel` per level.
    static let maximumCandidates = 1 + basesPerLevel * (maximumLevel + 1)
    /// Longest lag searched, as a fraction of the window's shorter side (a longer one overlaps
    /// too few pixel pairs to be measured).
    static let longestLag = 0.75
    /// Scales (tile side / 64) searched on level 0 and on deeper levels (in that level's pixels).
    static let firstLevelScales = 0.45...1.5
    static let deeperLevelScales = 0.75...1.5

    /// The pyramid levels worth searching for an image of this size: level 0, and every level
    /// whose shorter side keeps at least 128 pixels.
    static func levels(width: Int, height: Int) -> [Int] {
        [0] + (1...maximumLevel).filter { min(width, height) >> $0 >= 128 }
    }

    /// Candidates for one level's residual, best first. Level 0 starts with the identity.
    static func candidates(residual: WatermarkResidual, level: Int) -> [Candidate] {
        let acf = Autocorrelation(residual: residual, window: window)
        let scales = level == 0 ? firstLevelScales : deeperLevelScales
        let reach = min(64 * scales.upperBound, Self.longestLag * Double(acf.windowSide))
        let radii = (64 * scales.lowerBound)...reach
        var found: [Candidate] = level == 0 ? [.identity] : []
        for basis in acf.latticeBases(radii: radii).prefix(basesPerLevel) {
            let (axisX, axisY) = upright(basis.0, basis.1)
            let candidate = Candidate(axisX: axisX, axisY: axisY, level: level)
            if !found.contains(where: { $0.isClose(to: candidate) }) { found.append(candidate) }
        }
        return found
    }
}

extension WatermarkGeometry {
    /// Of ±a and ±b, the vector pointing within 45° of +x as the x axis and the one within 45° of
    /// +y (down) as the y axis, so a lattice that was not turned folds upright and the turn and
    /// mirror `TileOrientation` finds are the picture's own.
    static func upright(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> (SIMD2<Double>, SIMD2<Double>) {
        func angle(_ v: SIMD2<Double>) -> Double { atan2(v.y, v.x) }
        let options = [a, -a, b, -b]
        guard let x = options.firstIndex(where: { angle($0) >= -.pi / 4 && angle($0) < .pi / 4 }) else { return (a, b) }
        let others = x < 2 ? [b, -b] : [a, -a]
        guard let y = others.first(where: { angle($0) >= .pi / 4 && angle($0) < 3 * .pi / 4 }) else { return (options[x], others[0]) }
        return (options[x], y)
    }
}

/// Unbiased autocorrelation of the central window of a residual, computed with a zero-padded FFT.
private struct Autocorrelation {
    let size: Int
    let windowSide: Int
    let values: [Double]

    init(residual: WatermarkResidual, window: Int) {
        let central = residual.central(window)
        let width = central.width, height = central.height
        windowSide = min(width, height)
        var size = 2
        while size < 2 * max(width, height) { size *= 2 }
        self.size = size
        var mean = 0.0
        for value in central.values { mean += value }
        mean /= Double(width * height)
        var real = [Double](repeating: 0, count: size * size)
        var imaginary = [Double](repeating: 0, count: size * size)
        for y in 0..<height {
            for x in 0..<width { real[y * size + x] = central.values[y * width + x] - mean }
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

    /// Local maxima within the annulus (one half-plane: the autocorrelation is symmetric), highest
    /// first, at most `count`.
    func peaks(radii: ClosedRange<Double>, count: Int) -> [(dx: Int, dy: Int, value: Double)] {
        let reach = Int(radii.upperBound.rounded(.up))
        guard reach + 1 < size / 2 else { return [] }
        var peaks: [(dx: Int, dy: Int, value: Double)] = []
        for dy in 0...reach {
            for dx in -reach...reach where dy > 0 || dx > 0 {
                guard radii.contains(Double(dx * dx + dy * dy).squareRoot()) else { continue }
                let v = value(dx, dy)
                guard v > 0 else { continue }
                var isMaximum = true
                for ny in -1...1 {
                    for nx in -1...1 where (nx != 0 || ny != 0) && value(dx + nx, dy + ny) >= v { isMaximum = false }
                }
                if isMaximum { peaks.append((dx, dy, v)) }
            }
        }
        return Array(peaks.sorted { $0.value > $1.value }.prefix(count))
    }

    /// The lag `(dx, dy)` refined to sub-pixel precision by parabolic fits along each axis.
    func refined(_ dx: Int, _ dy: Int) -> SIMD2<Double> {
        func offset(_ minus: Double, _ center: Double, _ plus: Double) -> Double {
            let curvature = minus - 2 * center + plus
            return curvature < 0 ? max(-0.5, min(0.5, 0.5 * (minus - plus) / curvature)) : 0
        }
        let center = value(dx, dy)
        return [Double(dx) + offset(value(dx - 1, dy), center, value(dx + 1, dy)),
                Double(dy) + offset(value(dx, dy - 1), center, value(dx, dy + 1))]
    }

    /// Lattice bases from pairs of the strongest peaks, each reduced to the shortest basis of the
    /// lattice the pair generates; smallest cell first among those whose weaker axis is at least
    /// half the best one's. A basis counts only if both its vectors lie in the annulus and are
    /// themselves clear peaks.
    func latticeBases(radii: ClosedRange<Double>) -> [(SIMD2<Double>, SIMD2<Double>)] {
        let strongest = peaks(radii: radii, count: 6)
        guard let top = strongest.first else { return [] }
        var bases: [(basis: (SIMD2<Int>, SIMD2<Int>), score: Double)] = []
        for i in strongest.indices {
            for j in strongest.indices where j > i {
                var a = SIMD2(strongest[i].dx, strongest[i].dy), b = SIMD2(strongest[j].dx, strongest[j].dy)
                // Reject near-parallel pairs (sin of the angle under 0.5).
                let cross = Double(a.x * b.y - a.y * b.x)
                let lengths = (Double(a.x * a.x + a.y * a.y) * Double(b.x * b.x + b.y * b.y)).squareRoot()
                guard abs(cross) > 0.5 * lengths else { continue }
                Self.reduce(&a, &b)
                let valueA = value(a.x, a.y), valueB = value(b.x, b.y)
                guard radii.contains(Self.length(a)), radii.contains(Self.length(b)),
                      min(valueA, valueB) > 0.4 * top.value else { continue }
                let key = Self.canonical(a, b)
                if !bases.contains(where: { $0.basis == key }) { bases.append((key, min(valueA, valueB))) }
            }
        }
        // Among the clear ones, the smallest cell first: a pair of doubled vectors spans a
        // sublattice (4x the area) whose peaks are as strong as the tile's own.
        guard let best = bases.map(\.score).max() else { return [] }
        func area(_ basis: (SIMD2<Int>, SIMD2<Int>)) -> Int { abs(basis.0.x * basis.1.y - basis.0.y * basis.1.x) }
        return bases.filter { $0.score >= 0.5 * best }
            .sorted { area($0.basis) != area($1.basis) ? area($0.basis) < area($1.basis) : $0.score > $1.score }
            .map { (refined($0.basis.0.x, $0.basis.0.y), refined($0.basis.1.x, $0.basis.1.y)) }
    }

    /// Lagrange-Gauss reduction: `a` becomes a shortest lattice vector, `b` the shortest one not
    /// parallel to it.
    static func reduce(_ a: inout SIMD2<Int>, _ b: inout SIMD2<Int>) {
        func dot(_ u: SIMD2<Int>, _ v: SIMD2<Int>) -> Int { u.x * v.x + u.y * v.y }
        if dot(b, b) < dot(a, a) { swap(&a, &b) }
        while true {
            let m = Int((Double(dot(a, b)) / Double(dot(a, a))).rounded())
            if m == 0 { return }
            b &-= m &* a
            if dot(b, b) >= dot(a, a) { return }
            swap(&a, &b)
        }
    }

    static func length(_ v: SIMD2<Int>) -> Double { Double(v.x * v.x + v.y * v.y).squareRoot() }

    /// One representative of ±a, ±b in either order (the vectors in the upper half-plane, the
    /// one with the smaller angle first), so equal lattices compare equal.
    static func canonical(_ a: SIMD2<Int>, _ b: SIMD2<Int>) -> (SIMD2<Int>, SIMD2<Int>) {
        func upper(_ v: SIMD2<Int>) -> SIMD2<Int> { v.y > 0 || (v.y == 0 && v.x > 0) ? v : 0 &- v }
        let u = upper(a), w = upper(b)
        return atan2(Double(u.y), Double(u.x)) <= atan2(Double(w.y), Double(w.x)) ? (u, w) : (w, u)
    }
}
