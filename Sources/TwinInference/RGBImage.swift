// Role: the renderer's output image (8-bit RGB, interleaved) and the conversion from planar
// float decoder output (clamp to [0, 1], x255, round half to even).
// Reference: make_fixtures.render's pixels, (img.clamp(0, 1) * 255).round() (PyTorch rounds half
// to even).
// Failure modes: a pixel count that does not match the size is a programming error
// (`precondition` in `init`).

/// 8-bit RGB, interleaved, row-major, top row first.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// width * height * 3 bytes.
    public let pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBImage: pixel count does not match size")
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// Image `index` of planar float RGB (n, 3, h, w): clamp to [0, 1], x255, round to nearest.
    static func fromPlanar(_ rgb: Tensor4, index: Int) -> RGBImage {
        let plane = rgb.plane, src = rgb.image(index)
        var px = [UInt8](repeating: 0, count: plane * 3)
        px.withUnsafeMutableBufferPointer { out in
            for c in 0..<3 {
                let s = src + c * plane
                for i in 0..<plane {
                    let v = min(max(s[i], 0), 1) * 255
                    out[i * 3 + c] = UInt8(v.rounded(.toNearestOrEven))
                }
            }
        }
        return RGBImage(width: rgb.w, height: rgb.h, pixels: px)
    }
}
