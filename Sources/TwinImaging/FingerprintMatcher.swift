// Role: decides whether an image is a copy of the image an `ImageFingerprint` was taken of —
// cropped, scaled, mirrored, turned, slightly rotated, re-encoded or colour-edited — or a
// different picture. It registers the candidate against the fingerprint's grid (8 mirror/turn
// orientations, a few scale and rotation hypotheses, every translation) on the cell means, then
// compares the detail (cells minus their neighbourhood mean) at that registration: renders of
// one pose share their layout, not their detail.
// Reference: normalised cross-correlation template matching (Lewis, "Fast normalized
// cross-correlation", Vision Interface 1995), coarse-to-fine over 16x16, 32x32 and 64x64 grids.
// Failure modes: none. A candidate with too little structure to compare (nearly flat, or
// covering too little of the grid) gives no match at all (nil: undetermined), never a verdict.

import Foundation
import TwinBase

/// What the watermark detector learnt about how a copy was transformed, used to narrow the
/// search; any field may be unknown.
public struct FingerprintGeometryHint: Sendable, Equatable {
    /// Candidate pixels per original pixel (both axes), as the watermark's lattice gave it.
    public var scale: Double?
    /// Rotation of the candidate against the original, degrees (either sign is tried).
    public var rotationDegrees: Double?

    /// A hint with the given fields.
    public init(scale: Double? = nil, rotationDegrees: Double? = nil) {
        self.scale = scale
        self.rotationDegrees = rotationDegrees
    }
}

/// The best registration of a candidate image against a fingerprint.
public struct FingerprintMatch: Sendable, Equatable {
    /// Pearson correlation of the *detail* (each cell minus its 5x5 neighbourhood mean) between
    /// the candidate and the original at the best registration, on the grid named by
    /// ``comparedGrid`` (-1...1; 0 when the candidate is flat there). The picture's layout alone
    /// (a figure on a background) is shared by many renders; the detail is not.
    public var correlation: Double
    /// Correlation of the plain 32x32 cell means at the same registration (the layout).
    public var layoutCorrelation: Double
    /// Cells per side of the grid the detail was compared on: 64, or 32 for a copy kept under
    /// ``FingerprintMatcher/fineScale`` of the original's size (too few pixels for 64).
    public var comparedGrid: Int
    /// Fraction of the original's grid that the candidate covers at the best registration (0...1).
    public var overlap: Double
    /// Quarter turns that bring the candidate back to the original's orientation.
    public var quarterTurns: Int
    /// Whether the candidate was mirrored left to right (undone before the turns).
    public var mirrored: Bool
    /// Candidate pixels per original pixel along the original's x and y axes.
    public var scaleX: Double
    public var scaleY: Double
    /// Rotation tried at the best registration, degrees.
    public var rotationDegrees: Double

    /// What the comparison says about the candidate.
    public enum Verdict: String, Sendable {
        /// An edited copy of the fingerprinted image.
        case copy
        /// A different picture.
        case different
        /// Between the two thresholds (e.g. another render of the same pose kept as a thumbnail):
        /// the comparison cannot tell.
        case undetermined
    }

    /// The detail correlation from which a candidate compared on ``comparedGrid`` is a copy.
    public var copyCorrelation: Double {
        comparedGrid == ImageFingerprint.gridSide ? FingerprintMatcher.copyCorrelation : FingerprintMatcher.coarseCopyCorrelation
    }

    /// Copy from ``copyCorrelation`` (over at least ``FingerprintMatcher/minimumOverlap`` of the
    /// original), different under ``FingerprintMatcher/differentCorrelation``, undetermined between.
    public var verdict: Verdict {
        if correlation >= copyCorrelation && overlap >= FingerprintMatcher.minimumOverlap { return .copy }
        return correlation < FingerprintMatcher.differentCorrelation ? .different : .undetermined
    }

    /// Whether ``verdict`` is ``Verdict/copy``.
    public var isCopy: Bool { verdict == .copy }
}

/// Registers images against fingerprints; see the file header.
public struct FingerprintMatcher: Sendable {
    /// Detail correlation on the 64x64 grid from which a candidate counts as a copy. Measured by
    /// `scripts/fingerprint-bench` (docs/watermark.md, "Copy or transplant"): edited copies
    /// score above it, photographs far below, other renders of the same pose up to about 0.86.
    public static let copyCorrelation = 0.86
    /// The same on the 32x32 grid, for copies kept under ``fineScale`` (thumbnails, whose detail
    /// is coarser and closer between renders of one pose).
    public static let coarseCopyCorrelation = 0.90
    /// Detail correlation under which a candidate is a different picture (either grid).
    public static let differentCorrelation = 0.80
    /// Candidate pixels per original pixel from which the 64x64 grid is compared.
    public static let fineScale = 0.45
    /// Smallest fraction of the original a copy must still show (a crop to a fifth of the area
    /// is too little to say what picture it was).
    public static let minimumOverlap = 0.20
    /// Cell-mean spread (standard deviation, grey levels) a candidate needs before it can be
    /// compared at all: below it the picture is nearly flat (a decoder's filler, a blank card),
    /// and a low correlation would say nothing about whether it is a copy.
    public static let minimumStructure = 3.0

    /// A matcher.
    public init() {}

    /// The best registration of `candidate` against `fingerprint` (`hint` narrows scale and
    /// rotation), or nil when the two cannot be compared: the candidate, or every part of the
    /// original it could overlap, is too flat.
    public func match(_ candidate: RGBImage, against fingerprint: ImageFingerprint,
                      hint: FingerprintGeometryHint = FingerprintGeometryHint()) -> FingerprintMatch? {
        let fine = Grid(fingerprint), medium = fine.pooled(), coarse = medium.pooled()
        let upright = LumaPlane(candidate)
        let planes = Orientation.all.map { upright.oriented($0) }
        func cell(_ side: Int) -> (Double, Double) { (Double(fingerprint.width) / Double(side), Double(fingerprint.height) / Double(side)) }

        // 1. Every orientation and scale hypothesis on the 16x16 means; keep the six best.
        var found: [(score: Registration, hypothesis: Hypothesis)] = []
        var structure = 0.0
        for (orientation, plane) in zip(Orientation.all, planes) {
            for hypothesis in hypotheses(plane: plane, fingerprint: fingerprint, hint: hint, orientation: orientation) {
                let (w, h) = cell(16)
                let sampled = plane.sample(hypothesis, cellWidth: w, cellHeight: h, phaseX: 0, phaseY: 0)
                structure = max(structure, sampled.spread)
                if let score = sampled.bestRegistration(against: coarse, around: nil) { found.append((score, hypothesis)) }
            }
        }
        guard structure >= Self.minimumStructure else { return nil }

        // 2. Refine scale and half-cell phase of each on the 32x32 grid, choosing by the detail
        // (the layout hardly changes with a 2 % scale error; the detail does).
        let mediumDetail = medium.detail()
        var refined: [(score: Registration, hypothesis: Hypothesis, detail: Double, plane: LumaPlane)] = []
        for (coarseScore, hypothesis) in found.sorted(by: { $0.score.correlation > $1.score.correlation }).prefix(6) {
            let plane = planes[Orientation.all.firstIndex(of: hypothesis.orientation)!]
            var best: (score: Registration, detail: Double, hypothesis: Hypothesis)?
            for factorX in [0.98, 1.0, 1.02] {
                for factorY in [0.98, 1.0, 1.02] {
                    var candidate = hypothesis
                    candidate.scaleX *= factorX
                    candidate.scaleY *= factorY
                    for phase in Self.phases {
                        let (w, h) = cell(32)
                        let sampled = plane.sample(candidate, cellWidth: w, cellHeight: h, phaseX: phase.x, phaseY: phase.y)
                        let around = (x: 2 * coarseScore.offsetX, y: 2 * coarseScore.offsetY, radius: 2)
                        guard var score = sampled.bestRegistration(against: medium, around: around),
                              let detail = sampled.detail().bestRegistration(
                                against: mediumDetail, around: (x: score.offsetX, y: score.offsetY, radius: 1)) else { continue }
                        if best == nil || detail.correlation > best!.detail {
                            score.phaseX = phase.x
                            score.phaseY = phase.y
                            score.offsetX = detail.offsetX
                            score.offsetY = detail.offsetY
                            best = (score, detail.correlation, candidate)
                        }
                    }
                }
            }
            if let best { refined.append((best.score, best.hypothesis, best.detail, plane)) }
        }

        // 3. Compare the detail at every registration found, on the finest grid the copy supports
        // (the best layout is not always the right one: a figure is nearly symmetric). The
        // unrefined layout registrations are compared too, over a wider window: on a smooth
        // picture the 32x32 detail is too faint to choose the refinement by.
        var starts: [(layout: Registration, hypothesis: Hypothesis, plane: LumaPlane, cellsOf32: Int, slack: Int)] =
            refined.sorted(by: { $0.detail > $1.detail }).prefix(3).map { ($0.score, $0.hypothesis, $0.plane, 1, 1) }
        for (coarseScore, hypothesis) in found.sorted(by: { $0.score.correlation > $1.score.correlation }).prefix(3) {
            starts.append((coarseScore, hypothesis, planes[Orientation.all.firstIndex(of: hypothesis.orientation)!], 2, 2))
        }
        var result: FingerprintMatch?
        for (layout, hypothesis, plane, cellsOf32, slack) in starts {
            let side = min(hypothesis.scaleX, hypothesis.scaleY) >= Self.fineScale ? ImageFingerprint.gridSide : 32
            let reference = (side == 64 ? fine : medium).detail()
            let factor = side / 32 * cellsOf32
            let (w, h) = cell(side)
            for phase in side == 64 || cellsOf32 > 1 ? Self.phases : [(x: layout.phaseX, y: layout.phaseY)] {
                let sampled = plane.sample(hypothesis, cellWidth: w, cellHeight: h, phaseX: phase.x, phaseY: phase.y).detail()
                let around = (x: factor * layout.offsetX, y: factor * layout.offsetY, radius: factor + slack)
                guard let score = sampled.bestRegistration(against: reference, around: around) else { continue }
                if result == nil || score.correlation > result!.correlation {
                    result = FingerprintMatch(
                        correlation: score.correlation, layoutCorrelation: layout.correlation, comparedGrid: side,
                        overlap: layout.overlap, quarterTurns: hypothesis.orientation.quarterTurns,
                        mirrored: hypothesis.orientation.mirrored, scaleX: hypothesis.scaleX, scaleY: hypothesis.scaleY,
                        rotationDegrees: hypothesis.rotationDegrees)
                }
            }
        }
        return result
    }

    /// Half-cell grid phases tried when sampling a candidate.
    private static let phases: [(x: Double, y: Double)] = [(0, 0), (0.5, 0), (0, 0.5), (0.5, 0.5)]

    /// Scale and rotation hypotheses for one orientation: the hint's scale, the candidate's size
    /// against the original's (a resize, with or without an aspect change), each axis alone (a
    /// crop along the other), and no scaling; the hint's rotation (both signs) and none.
    private func hypotheses(plane: LumaPlane, fingerprint: ImageFingerprint, hint: FingerprintGeometryHint,
                            orientation: Orientation) -> [Hypothesis] {
        let ratioX = Double(plane.width) / Double(fingerprint.width)
        let ratioY = Double(plane.height) / Double(fingerprint.height)
        var scales: [(Double, Double)] = [(1, 1), (ratioX, ratioY), (ratioX, ratioX), (ratioY, ratioY)]
        if let scale = hint.scale, scale > 0 { scales.insert((scale, scale), at: 0) }
        var distinct: [(Double, Double)] = []
        for scale in scales where !distinct.contains(where: { abs($0.0 / scale.0 - 1) < 0.015 && abs($0.1 / scale.1 - 1) < 0.015 }) {
            distinct.append(scale)
        }
        var rotations = [0.0]
        if let degrees = hint.rotationDegrees, abs(degrees) >= 0.25 { rotations += [degrees, -degrees] }
        return distinct.flatMap { scale in
            rotations.map { Hypothesis(orientation: orientation, scaleX: scale.0, scaleY: scale.1, rotationDegrees: $0) }
        }
    }
}

/// A mirror and a number of clockwise quarter turns.
struct Orientation: Sendable, Equatable {
    var mirrored: Bool
    var quarterTurns: Int

    static let all: [Orientation] = [false, true].flatMap { mirrored in (0..<4).map { Orientation(mirrored: mirrored, quarterTurns: $0) } }
}

/// One guess at how the original maps onto the (re-oriented) candidate; translation is searched.
struct Hypothesis: Sendable {
    var orientation: Orientation
    var scaleX: Double
    var scaleY: Double
    var rotationDegrees: Double
}

/// Best translation of a sampled candidate against a reference grid.
struct Registration {
    var correlation: Double
    var overlap: Double
    /// Reference cell index minus candidate cell index at the best translation.
    var offsetX: Int
    var offsetY: Int
    /// Grid phase the candidate was sampled at (filled in by the caller that tried several).
    var phaseX = 0.0
    var phaseY = 0.0
}

/// A grid of cell values with a validity mask (cells outside the candidate, and flat ones, are
/// invalid).
struct Grid {
    var width: Int
    var height: Int
    var values: [Double]
    var valid: [Bool]
    /// Cells whose value is known even where `valid` is false (flat cells of a sampled candidate):
    /// they still count in the neighbourhood means of `detail`, so a cell's detail is computed
    /// from the same neighbours as the fingerprint's. Nil: `valid`.
    var known: [Bool]?

    init(width: Int, height: Int, values: [Double], valid: [Bool], known: [Bool]? = nil) {
        self.width = width; self.height = height; self.values = values; self.valid = valid; self.known = known
    }

    init(_ fingerprint: ImageFingerprint) {
        let side = ImageFingerprint.gridSide
        self.init(width: side, height: side, values: fingerprint.grey, valid: Array(repeating: true, count: side * side))
    }

    /// Each valid cell minus the mean of the known cells in its 5x5 neighbourhood (a cell with
    /// fewer than 9 known neighbours there becomes invalid): the grid's detail, without its layout.
    func detail() -> Grid {
        var out = self
        let neighbours = known ?? valid
        for y in 0..<height {
            for x in 0..<width where valid[y * width + x] {
                var sum = 0.0, count = 0
                for ny in max(0, y - 2)...min(height - 1, y + 2) {
                    for nx in max(0, x - 2)...min(width - 1, x + 2) where neighbours[ny * width + nx] {
                        sum += values[ny * width + nx]
                        count += 1
                    }
                }
                if count < 9 { out.valid[y * width + x] = false; continue }
                out.values[y * width + x] = values[y * width + x] - sum / Double(count)
            }
        }
        return out
    }

    /// Standard deviation of the valid cells' values (0 with fewer than two).
    var spread: Double {
        let kept = zip(values, valid).filter(\.1).map(\.0)
        guard kept.count >= 2 else { return 0 }
        let mean = kept.reduce(0, +) / Double(kept.count)
        return (kept.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(kept.count)).squareRoot()
    }

    /// 2x2 cell means: the coarse grid.
    func pooled() -> Grid {
        let w = width / 2, h = height / 2
        var values = [Double](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let i = 2 * y * width + 2 * x
                values[y * w + x] = (self.values[i] + self.values[i + 1] + self.values[i + width] + self.values[i + width + 1]) / 4
            }
        }
        return Grid(width: w, height: h, values: values, valid: Array(repeating: true, count: w * h))
    }

    /// The translation of `self` (a sampled candidate) against `reference` with the highest
    /// correlation, over every offset with enough overlap, or within `around.radius` cells of
    /// `around`.
    func bestRegistration(against reference: Grid, around: (x: Int, y: Int, radius: Int)?) -> Registration? {
        let validCount = valid.reduce(0) { $0 + ($1 ? 1 : 0) }
        let referenceArea = reference.width * reference.height
        let needed = max(referenceArea / 16, Int(0.3 * Double(min(validCount, referenceArea))))
        let xRange = around.map { ($0.x - $0.radius)...($0.x + $0.radius) } ?? (1 - width)...(reference.width - 1)
        let yRange = around.map { ($0.y - $0.radius)...($0.y + $0.radius) } ?? (1 - height)...(reference.height - 1)
        var best: Registration?
        for dy in yRange {
            let rows = max(0, dy)..<min(reference.height, height + dy)
            guard !rows.isEmpty, rows.count * reference.width >= needed else { continue }
            for dx in xRange {
                let columns = max(0, dx)..<min(reference.width, width + dx)
                guard !columns.isEmpty, rows.count * columns.count >= needed else { continue }
                var n = 0.0, sumR = 0.0, sumC = 0.0, sumRR = 0.0, sumCC = 0.0, sumRC = 0.0
                values.withUnsafeBufferPointer { candidate in
                    valid.withUnsafeBufferPointer { mask in
                        reference.values.withUnsafeBufferPointer { original in
                            for y in rows {
                                let own = (y - dy) * width - dx, theirs = y * reference.width
                                for x in columns where mask[own + x] {
                                    let r = original[theirs + x], c = candidate[own + x]
                                    n += 1; sumR += r; sumC += c; sumRR += r * r; sumCC += c * c; sumRC += r * c
                                }
                            }
                        }
                    }
                }
                guard n >= Double(needed) else { continue }
                let varR = sumRR - sumR * sumR / n, varC = sumCC - sumC * sumC / n
                // The original under one grey level of spread there is a flat patch: nothing to
                // correlate with. A flat candidate over a structured original correlates 0.
                guard varR >= n else { continue }
                guard varC >= n else {
                    if best == nil || best!.correlation < 0 {
                        best = Registration(correlation: 0, overlap: n / Double(referenceArea), offsetX: dx, offsetY: dy)
                    }
                    continue
                }
                let correlation = (sumRC - sumR * sumC / n) / (varR * varC).squareRoot()
                if best == nil || correlation > best!.correlation {
                    best = Registration(correlation: correlation, overlap: n / Double(referenceArea), offsetX: dx, offsetY: dy)
                }
            }
        }
        return best
    }
}

/// Candidate luma (Rec. 601) with summed-area tables for box means and variances.
struct LumaPlane {
    let width: Int
    let height: Int
    let luma: [Double]
    /// (width + 1) x (height + 1) summed-area tables of the luma and of its square.
    private let integral: [Double]
    private let squares: [Double]

    init(_ image: RGBImage) {
        var luma = [Double](repeating: 0, count: image.width * image.height)
        for i in 0..<luma.count {
            luma[i] = 0.299 * Double(image.pixels[3 * i]) + 0.587 * Double(image.pixels[3 * i + 1]) + 0.114 * Double(image.pixels[3 * i + 2])
        }
        self.init(width: image.width, height: image.height, luma: luma)
    }

    private init(width: Int, height: Int, luma: [Double]) {
        self.width = width
        self.height = height
        self.luma = luma
        var integral = [Double](repeating: 0, count: (width + 1) * (height + 1))
        var squares = integral
        for y in 0..<height {
            var row = 0.0, rowSquares = 0.0
            for x in 0..<width {
                let value = luma[y * width + x]
                row += value
                rowSquares += value * value
                integral[(y + 1) * (width + 1) + x + 1] = integral[y * (width + 1) + x + 1] + row
                squares[(y + 1) * (width + 1) + x + 1] = squares[y * (width + 1) + x + 1] + rowSquares
            }
        }
        self.integral = integral
        self.squares = squares
    }

    /// The plane with the mirror undone first, then the quarter turns (counter-clockwise, undoing
    /// clockwise turns of the copy).
    func oriented(_ orientation: Orientation) -> LumaPlane {
        var w = width, h = height, values = luma
        if orientation.mirrored {
            var out = values
            for y in 0..<h { for x in 0..<w { out[y * w + x] = values[y * w + (w - 1 - x)] } }
            values = out
        }
        for _ in 0..<orientation.quarterTurns {
            // Counter-clockwise quarter turn: new (x, y) = old (w - 1 - y, x), new size h x w.
            var out = [Double](repeating: 0, count: w * h)
            for y in 0..<w { for x in 0..<h { out[y * h + x] = values[x * w + (w - 1 - y)] } }
            values = out
            swap(&w, &h)
        }
        return LumaPlane(width: w, height: h, luma: values)
    }

    /// Box mean and variance over [x0, x1) x [y0, y1) clipped to the plane, and the fraction of
    /// the box inside it.
    private func box(x0: Double, y0: Double, x1: Double, y1: Double) -> (mean: Double, variance: Double, inside: Double) {
        let cx0 = max(0, x0), cy0 = max(0, y0), cx1 = min(Double(width), x1), cy1 = min(Double(height), y1)
        guard cx1 > cx0, cy1 > cy0 else { return (0, 0, 0) }
        let area = (cx1 - cx0) * (cy1 - cy0)
        func total(_ table: [Double]) -> Double {
            Self.at(table, cx1, cy1, width) - Self.at(table, cx0, cy1, width) - Self.at(table, cx1, cy0, width) + Self.at(table, cx0, cy0, width)
        }
        let mean = total(integral) / area
        return (mean, max(0, total(squares) / area - mean * mean), area / ((x1 - x0) * (y1 - y0)))
    }

    /// A summed-area table at a fractional corner, bilinearly interpolated.
    private static func at(_ table: [Double], _ x: Double, _ y: Double, _ width: Int) -> Double {
        let height = table.count / (width + 1) - 1
        let ix = min(Int(x), width - 1), iy = min(Int(y), height - 1)
        let fx = x - Double(ix), fy = y - Double(iy)
        let stride = width + 1
        let a = table[iy * stride + ix], b = table[iy * stride + ix + 1]
        let c = table[(iy + 1) * stride + ix], d = table[(iy + 1) * stride + ix + 1]
        return a * (1 - fx) * (1 - fy) + b * fx * (1 - fy) + c * (1 - fx) * fy + d * fx * fy
    }

    /// The candidate resampled onto cells of the original's size (`cellWidth` x `cellHeight`
    /// original pixels) under `hypothesis`, the grid starting `phase` cells before the candidate's
    /// inverse-mapped bounding box. Cells whose box lies mostly outside the candidate are invalid,
    /// and so are perfectly flat ones (luma spread under half a grey level): the filler a decoder
    /// puts where a truncated file ends, or a solid box pasted over the picture, says nothing
    /// about which picture is underneath (a marked image is never that flat: the mark is texture).
    func sample(_ hypothesis: Hypothesis, cellWidth: Double, cellHeight: Double, phaseX: Double, phaseY: Double) -> Grid {
        let angle = hypothesis.rotationDegrees * .pi / 180
        let cosA = cos(angle), sinA = sin(angle)
        let centreX = Double(width) / 2, centreY = Double(height) / 2
        // Original-frame position p (relative to the candidate's centre) -> candidate pixel q.
        func forward(_ px: Double, _ py: Double) -> (Double, Double) {
            let sx = hypothesis.scaleX * px, sy = hypothesis.scaleY * py
            return (cosA * sx - sinA * sy + centreX, sinA * sx + cosA * sy + centreY)
        }
        func inverse(_ qx: Double, _ qy: Double) -> (Double, Double) {
            let dx = qx - centreX, dy = qy - centreY
            return ((cosA * dx + sinA * dy) / hypothesis.scaleX, (-sinA * dx + cosA * dy) / hypothesis.scaleY)
        }
        let corners = [inverse(0, 0), inverse(Double(width), 0), inverse(0, Double(height)), inverse(Double(width), Double(height))]
        let minX = corners.map(\.0).min()! - phaseX * cellWidth, maxX = corners.map(\.0).max()!
        let minY = corners.map(\.1).min()! - phaseY * cellHeight, maxY = corners.map(\.1).max()!
        let columns = max(1, min(4096, Int(((maxX - minX) / cellWidth).rounded(.up))))
        let rows = max(1, min(4096, Int(((maxY - minY) / cellHeight).rounded(.up))))
        var values = [Double](repeating: 0, count: columns * rows)
        var valid = [Bool](repeating: false, count: columns * rows)
        var known = [Bool](repeating: false, count: columns * rows)
        let halfX = hypothesis.scaleX * cellWidth / 2, halfY = hypothesis.scaleY * cellHeight / 2
        for row in 0..<rows {
            for column in 0..<columns {
                let (qx, qy) = forward(minX + (Double(column) + 0.5) * cellWidth, minY + (Double(row) + 0.5) * cellHeight)
                let box = box(x0: qx - halfX, y0: qy - halfY, x1: qx + halfX, y1: qy + halfY)
                if box.inside >= 0.6 {
                    // Quantised like the fingerprint's cells (4 grey levels), so like is compared
                    // with like: on a smooth picture the recorded detail is mostly that rounding.
                    values[row * columns + column] = 4 * (box.mean / 4).rounded()
                    known[row * columns + column] = true
                    // Flat cells (a decoder's fill of a truncated file looks like this) are not
                    // compared themselves.
                    valid[row * columns + column] = box.variance >= 0.25
                }
            }
        }
        return Grid(width: columns, height: rows, values: values, valid: valid, known: known)
    }
}
