// Role: the one 8-bit RGB image type: what the renderer produces and the label, watermark and
// codecs read and modify, so no pixel copy is needed between TwinInference and TwinImaging.
// Reference: interleaved row-major sRGB, as libpng's and libjpeg's RGB formats.
// Failure modes: sizes that disagree with the buffer or exceed `maximumDimension` throw
// `InvalidImageError`.

/// Why an `RGBImage` could not be made.
public struct InvalidImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What disagrees.
    public let detail: String
    public var description: String { "invalid image: \(detail)" }
}

/// An 8-bit sRGB image: `pixels` holds `width * height * 3` bytes, row-major, R G B per pixel.
///
/// The renderer's output, what the watermark and label modify in place, and what the PNG and
/// JPEG codecs read and write.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels (at least 1).
    public let width: Int
    /// Height in pixels (at least 1).
    public let height: Int
    /// Interleaved RGB bytes, `width * height * 3` of them.
    public var pixels: [UInt8]

    /// Largest width or height an `RGBImage` may have. Decoders of untrusted files apply the
    /// tighter `ImagingLimits.maximumDimension` and `maximumPixels` before allocating.
    public static let maximumDimension = 16_384

    /// Wraps `pixels`; throws `InvalidImageError` when the sizes do not agree.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(InvalidImageError) {
        guard width >= 1, height >= 1, width <= Self.maximumDimension, height <= Self.maximumDimension else {
            throw InvalidImageError(detail: "size \(width)x\(height) outside 1...\(Self.maximumDimension)")
        }
        guard pixels.count == width * height * 3 else {
            throw InvalidImageError(detail: "\(pixels.count) bytes for \(width)x\(height) RGB (expected \(width * height * 3))")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Wraps pixels a producer made for exactly this size (e.g. the renderer's decoder output);
    /// a size mismatch there is a programming error and traps.
    public init(width: Int, height: Int, producedPixels pixels: [UInt8]) {
        precondition(width >= 1 && height >= 1 && width <= Self.maximumDimension && height <= Self.maximumDimension
                     && pixels.count == width * height * 3, "RGBImage: pixel count does not match size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A `width` x `height` image filled with one colour.
    public init(width: Int, height: Int, fill: (red: UInt8, green: UInt8, blue: UInt8)) throws(InvalidImageError) {
        var pixels = [UInt8](repeating: 0, count: max(0, width * height * 3))
        for index in stride(from: 0, to: pixels.count, by: 3) {
            pixels[index] = fill.red
            pixels[index + 1] = fill.green
            pixels[index + 2] = fill.blue
        }
        try self.init(width: width, height: height, pixels: pixels)
    }
}
