// Role: the optional second, coarse layer of the invisible watermark: the same keyed tile design
// at twice the scale (a 128-pixel tile of 4x4-pixel cells, its own layout from the key), which
// keeps the payload where strong compression and thumbnails remove the fine layer's band.
// Reference: multi-scale spread-spectrum marking (one mark per band); docs/watermark.md,
// "Coarse layer", has the measurements and the PSNR budget.
// Failure modes: images under 128x128 (whose half would be under one fine tile) get no coarse
// layer; the embedder never throws here and is deterministic (integer halving, fixed-order
// double arithmetic, no libm).

import TwinBase

/// The coarse layer: embedded by marking the image's 2x2-box half with the fine machinery under
/// the coarse layout and adding the change back, upsampled bilinearly; read by running the
/// detector under the coarse layout on the half of the image (and on the image itself, where a
/// 0.5x thumbnail shows the coarse tile at the fine tile's size).
enum CoarseWatermarkLayer {
    /// The key-stream purpose of the coarse layout (independent of the fine layout's).
    static let layoutPurpose = "coarse layout v1"
    /// Smallest image side that carries a coarse layer (its half must hold one 64-pixel tile).
    static let minimumSide = 2 * WatermarkLayout.tile

    /// The 2x2-box half of `image` (odd last row or column dropped), rounded to bytes.
    static func half(of image: RGBImage) -> RGBImage {
        let width = image.width / 2, height = image.height / 2
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        image.pixels.withUnsafeBufferPointer { source in
            for y in 0..<height {
                let top = 2 * y * image.width * 3, bottom = top + image.width * 3
                for x in 0..<width {
                    for channel in 0..<3 {
                        let left = 6 * x + channel
                        let sum = Int(source[top + left]) + Int(source[top + left + 3])
                            + Int(source[bottom + left]) + Int(source[bottom + left + 3])
                        pixels[(y * width + x) * 3 + channel] = UInt8((sum + 2) / 4)
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, producedPixels: pixels)
    }

    /// Adds `marked - half` (the coarse mark on the half image), upsampled 2x bilinearly with
    /// clamped edges (weights 3/4, 1/4 per axis), to `image`, rounding and clipping to bytes.
    static func addUpsampledChange(from half: RGBImage, to marked: RGBImage, into image: inout RGBImage) {
        let halfWidth = half.width, halfHeight = half.height
        var change = [Double](repeating: 0, count: halfWidth * halfHeight * 3)
        for index in 0..<change.count { change[index] = Double(marked.pixels[index]) - Double(half.pixels[index]) }
        // Each full-resolution pixel x sits between half pixels (x - 1) / 2 and (x + 1) / 2.
        func taps(_ position: Int, _ count: Int) -> (Int, Int) {
            let centre = min(position / 2, count - 1)
            let neighbour = position % 2 == 0 ? max(centre - 1, 0) : min(centre + 1, count - 1)
            return (centre, neighbour)
        }
        let width = image.width
        for y in 0..<image.height {
            let (rowNear, rowFar) = taps(y, halfHeight)
            for x in 0..<width {
                let (columnNear, columnFar) = taps(x, halfWidth)
                for channel in 0..<3 {
                    func at(_ row: Int, _ column: Int) -> Double { change[(row * halfWidth + column) * 3 + channel] }
                    let value = 0.5625 * at(rowNear, columnNear) + 0.1875 * at(rowNear, columnFar)
                        + 0.1875 * at(rowFar, columnNear) + 0.0625 * at(rowFar, columnFar)
                    let index = (y * width + x) * 3 + channel
                    let result = (Double(image.pixels[index]) + value).rounded()
                    image.pixels[index] = UInt8(max(0, min(255, result)))
                }
            }
        }
    }
}
