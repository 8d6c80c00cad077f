// Role: the renderer's output as TwinBase's `RGBImage`: the conversion from planar float decoder
// output (clamp to [0, 1], x255, round half to even).
// Reference: make_fixtures.render's pixels, (img.clamp(0, 1) * 255).round() (PyTorch rounds half
// to even).
// Failure modes: a pixel count that does not match the size is a programming error
// (`precondition` in `RGBImage.init(width:height:producedPixels:)`).

import TwinBase

extension RGBImage {
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
        return RGBImage(width: rgb.w, height: rgb.h, producedPixels: px)
    }
}
