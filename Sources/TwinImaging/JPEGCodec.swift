// Role: JPEG decoding for `verify` and encoding for robustness tests and the watermark bench.
// Reference: libjpeg-turbo's libjpeg API (`libjpeg.txt`), through the C shim `Sources/CJPEG/shim.h`.
// Failure modes: libjpeg errors become `ImagingError.malformedJPEG` with libjpeg's message (its
// setjmp/longjmp stays in C, never crossing a Swift frame); input over `ImagingLimits` (file
// size, frame size, scan count) is refused by `JPEGMarkers` before libjpeg runs.

import CJPEG
import Foundation
import TwinBase

/// JPEG decoding (for `verify`) and encoding (for robustness tests and the watermark bench)
/// through libjpeg-turbo. libjpeg errors become `ImagingError`s, never a crash or `exit()`:
/// the setjmp/longjmp error handling stays inside C (`Sources/CJPEG/shim.h`).
public enum JPEGCodec {
    /// Decodes a JPEG to 8-bit RGB. Throws `ImagingError.malformedJPEG` with libjpeg's reason,
    /// and `ImagingError.limitExceeded` for a file, frame or scan count over `ImagingLimits`
    /// (read from the markers before libjpeg allocates anything).
    public static func decode(_ data: Data) throws -> DecodedImage {
        try ImagingLimits.require(data.count, atMost: ImagingLimits.maximumFileBytes, "maximumFileBytes", what: "JPEG file size")
        let markers = try JPEGMarkers.read([UInt8](data))
        var result = twin_jpeg_result()
        let status = data.withUnsafeBytes { raw in
            twin_jpeg_decode_rgb(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &result)
        }
        guard status == 0, let bytes = result.data else {
            throw ImagingError.malformedJPEG("libjpeg: " + message(of: &result))
        }
        defer { free(bytes) }
        guard Int(result.width) == markers.width, Int(result.height) == markers.height else {
            throw ImagingError.malformedJPEG("frame header says \(markers.width)x\(markers.height), libjpeg decoded \(result.width)x\(result.height)")
        }
        let image = try RGBImage(
            width: Int(result.width), height: Int(result.height),
            pixels: Array(UnsafeBufferPointer(start: bytes, count: result.size)))
        return DecodedImage(image: image, format: .jpeg, textEntries: [])
    }

    /// Encodes `image` as baseline JPEG at `quality` 1...100 (IJG tables, 4:2:0 chroma).
    public static func encode(_ image: RGBImage, quality: Int) throws -> Data {
        guard (1...100).contains(quality) else {
            throw ImagingError.invalidArgument("JPEG quality \(quality) outside 1...100")
        }
        var result = twin_jpeg_result()
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            twin_jpeg_encode_rgb(pixels.baseAddress, UInt32(image.width), UInt32(image.height), Int32(quality), &result)
        }
        guard status == 0, let bytes = result.data else {
            throw ImagingError.encodingFailed("libjpeg: " + message(of: &result))
        }
        defer { free(bytes) }
        return Data(bytes: bytes, count: result.size)
    }

    private static func message(of result: inout twin_jpeg_result) -> String {
        withUnsafeBytes(of: &result.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
