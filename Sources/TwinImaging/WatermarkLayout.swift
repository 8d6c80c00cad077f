// Role: the keyed spatial layout of the watermark: 64x64 tile, 2x2-pixel cells, the key's
// sync/code cell assignment and signs, and bilinear spreading.
// Reference: spread-spectrum tiling as in Kutter (SPIE 1998), keyed as in Cox et al.
// ("Secure spread spectrum watermarking", 1997); parameters measured in docs/watermark.md.
// Failure modes: none: deterministic tables drawn from the key's stream.

/// The keyed spatial layout of the invisible watermark: a 64x64-pixel tile, repeated over the
/// image from its top-left corner, made of 32x32 cells of 2x2 pixels. A permutation drawn from
/// the key (`WatermarkKey.stream`) assigns 256 cells to the synchronisation pattern and the
/// other 768 to the 282 code bits, and gives each cell its own sign (the sync pattern's values,
/// and the data cells' spreading signs, so data never looks like sync). Each cell's value
/// is spread over pixels with a separable bilinear kernel (weights 1/4, 3/4, 3/4, 1/4 over four
/// pixels), which keeps the mark in the band that survives JPEG and resampling.
struct WatermarkLayout: Sendable {
    /// Tile side in pixels.
    static let tile = 64
    /// Cell side in pixels.
    static let cellSize = 2
    /// Cells per tile side.
    static let cells = tile / cellSize
    /// Number of synchronisation cells.
    static let syncCells = 256
    /// Kernel spreading one cell over 4 pixels along each axis, starting one pixel before the cell.
    static let kernel: [Double] = [0.25, 0.75, 0.75, 0.25]

    /// Per cell (row-major over 32x32): code bit index, or -1 for a sync cell.
    let bitOfCell: [Int]
    /// Per cell: +1 / -1 sign (the sync value for sync cells, the spreading sign for data cells).
    let signOfCell: [Double]
    /// The sync pattern alone, rendered over one tile (64x64 pixels, row-major).
    let syncTile: [Double]

    /// The identifier of the key the layout was drawn from.
    let keyIdentifier: String

    /// The layout of `key` drawn for `purpose` (the fine layer's by default; the coarse layer
    /// draws its own): the same key and purpose always give the same layout.
    init(key: WatermarkKey, purpose: String = "layout v2") {
        keyIdentifier = key.identifier
        var random = key.stream(purpose: purpose)
        var order = Array(0..<(Self.cells * Self.cells))
        for index in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(index, random.next(below: index + 1))
        }
        var bitOfCell = [Int](repeating: -1, count: order.count)
        var signOfCell = [Double](repeating: 1, count: order.count)
        for (rank, cell) in order.enumerated() {
            bitOfCell[cell] = rank < Self.syncCells ? -1 : (rank - Self.syncCells) % PayloadCode.codedBits
            signOfCell[cell] = random.next() & 1 == 0 ? -1 : 1
        }
        self.bitOfCell = bitOfCell
        self.signOfCell = signOfCell
        syncTile = Self.render(cellValues: (0..<order.count).map { bitOfCell[$0] < 0 ? signOfCell[$0] : 0 })
    }

    /// Renders per-cell values into one 64x64 pixel tile with the bilinear kernel (cyclic).
    static func render(cellValues: [Double]) -> [Double] {
        var tilePixels = [Double](repeating: 0, count: tile * tile)
        for cellY in 0..<cells {
            for cellX in 0..<cells {
                let value = cellValues[cellY * cells + cellX]
                if value == 0 { continue }
                for (ky, wy) in kernel.enumerated() {
                    let y = (cellY * cellSize - 1 + ky + tile) % tile
                    for (kx, wx) in kernel.enumerated() {
                        let x = (cellX * cellSize - 1 + kx + tile) % tile
                        tilePixels[y * tile + x] += value * wy * wx
                    }
                }
            }
        }
        return tilePixels
    }

    /// The full tile (sync + data) carrying `payload`, normalised to unit RMS.
    func tile(for payload: UInt64) -> [Double] {
        let coded = PayloadCode.encode(payload)
        let values = (0..<bitOfCell.count).map { cell -> Double in
            let bit = bitOfCell[cell]
            return bit < 0 ? signOfCell[cell] : signOfCell[cell] * (coded[bit] == 1 ? 1 : -1)
        }
        var pixels = Self.render(cellValues: values)
        let rms = (pixels.reduce(0) { $0 + $1 * $1 } / Double(pixels.count)).squareRoot()
        for index in pixels.indices { pixels[index] /= rms }
        return pixels
    }

    /// Matched-filter estimate of every cell's value from a folded tile (64x64, row-major) that
    /// has been aligned so the tile origin is at pixel (0, 0).
    func cellEstimates(folded: [Double]) -> [Double] {
        let tile = Self.tile
        var estimates = [Double](repeating: 0, count: Self.cells * Self.cells)
        for cellY in 0..<Self.cells {
            for cellX in 0..<Self.cells {
                var sum = 0.0
                for (ky, wy) in Self.kernel.enumerated() {
                    let y = (cellY * Self.cellSize - 1 + ky + tile) % tile
                    for (kx, wx) in Self.kernel.enumerated() {
                        sum += folded[y * tile + (cellX * Self.cellSize - 1 + kx + tile) % tile] * wy * wx
                    }
                }
                estimates[cellY * Self.cells + cellX] = sum
            }
        }
        return estimates
    }

    /// Soft code-bit values (positive = 1) from cell estimates.
    func softBits(cellEstimates: [Double]) -> [Double] {
        var soft = [Double](repeating: 0, count: PayloadCode.codedBits)
        for (cell, bit) in bitOfCell.enumerated() where bit >= 0 {
            soft[bit] += cellEstimates[cell] * signOfCell[cell]
        }
        return soft
    }
}
