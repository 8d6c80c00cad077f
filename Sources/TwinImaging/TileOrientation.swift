// Role: the eight turns and mirrors of the square watermark tile (the dihedral group D4), undone
// on a folded tile so mirrored and quarter-turned copies read like the original.
// Reference: the symmetry group of the square lattice; the tile's 2x2-pixel cells and symmetric
// spreading kernel map onto themselves under x -> -x and transposition (mod 64), so the undone
// tile is the original tile shifted, which the sync correlation finds.
// Failure modes: none: a permutation of 64x64 values.

/// One of the eight ways a square picture can be turned and mirrored: first mirrored left to
/// right (`mirrored`), then turned clockwise by `quarterTurns` x 90°.
struct TileOrientation: Sendable, Equatable {
    /// Clockwise quarter turns after the mirror (0...3).
    let quarterTurns: Int
    /// Whether the picture was mirrored left to right first.
    let mirrored: Bool

    /// All eight, the untransformed one first, then the most common edits (mirrors, half turn).
    static let all: [TileOrientation] = [
        .init(quarterTurns: 0, mirrored: false), .init(quarterTurns: 0, mirrored: true),
        .init(quarterTurns: 2, mirrored: false), .init(quarterTurns: 2, mirrored: true),
        .init(quarterTurns: 1, mirrored: false), .init(quarterTurns: 3, mirrored: false),
        .init(quarterTurns: 1, mirrored: true), .init(quarterTurns: 3, mirrored: true),
    ]

    /// Where the transform sends the pixel vector (x, y) (y pointing down): mirror x -> -x, then
    /// each clockwise quarter turn (x, y) -> (-y, x).
    func apply(_ x: Int, _ y: Int) -> (x: Int, y: Int) {
        var point = (x: mirrored ? -x : x, y: y)
        for _ in 0..<quarterTurns { point = (x: -point.y, y: point.x) }
        return point
    }

    /// A folded tile of a picture that went through this transform, brought back to the
    /// original orientation (up to a translation): `undone(q) = folded(A q)`, indices mod 64.
    func undo(_ folded: [Double]) -> [Double] {
        if quarterTurns == 0, !mirrored { return folded }
        let tile = WatermarkLayout.tile, mask = tile - 1
        var undone = [Double](repeating: 0, count: folded.count)
        for y in 0..<tile {
            for x in 0..<tile {
                let source = apply(x, y)
                undone[y * tile + x] = folded[(source.y & mask) * tile + (source.x & mask)]
            }
        }
        return undone
    }
}
