import CJPEG
import Foundation

/// JPEG decoding (for `verify`) and encoding (for robustness tests and the watermark bench)
/// through libjpeg-turbo. libjpeg errors become `ImagingError`s, never a crash or `exit()`:
/// the setjmp/longjmp error handling stays inside C (`Sources/CJPEG/shim.h`).
public enum JPEGCodec {
    /// Decodes a JPEG to 8-bit RGB. Throws `ImagingError.malformedJPEG` with libjpeg's reason.
    public static func decode(_ data: Data) throws -> DecodedImage {
        guard data.count >= 4, data.prefix(2) == Data([0xFF, 0xD8]) else {
            throw ImagingError.malformedJPEG("missing JPEG SOI marker")
        }
        var result = twin_jpeg_result()
        let status = data.withUnsafeBytes { raw in
            twin_jpeg_decode_rgb(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &result)
        }
        guard status == 0, let bytes = result.data else {
            throw ImagingError.malformedJPEG("libjpeg: " + message(of: &result))
        }
        defer { free(bytes) }
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
