// Role: PNG encoding (delivered renders, with provenance text chunks) and decoding (for `verify`)
// through libpng.
// Reference: libpng 1.6 simplified API (`png_image_*`) and the C shim `Sources/CPNG/shim.h`; PNG
// spec ISO/IEC 15948.
// Failure modes: libpng errors become `ImagingError.malformedPNG` / `.encodingFailed` (its longjmp
// stays in C); `PNGChunks` refuses input over `ImagingLimits` before libpng runs or the pixel
// buffer is allocated.

import CPNG
import Foundation
import TwinBase

/// An image read from a file, with the metadata that came with it.
public struct DecodedImage: Sendable, Equatable {
    /// The container format the image was read from.
    public enum Format: String, Sendable, Equatable {
        /// PNG (libpng).
        case png
        /// JPEG (libjpeg-turbo).
        case jpeg
    }

    /// The pixels, converted to 8-bit RGB.
    public var image: RGBImage
    /// Which format the bytes were.
    public var format: Format
    /// PNG `tEXt` / uncompressed `iTXt` entries as (keyword, text), in file order; empty for JPEG.
    public var textEntries: [(keyword: String, text: String)]
    /// The XMP packet, if the file carries one in `XML:com.adobe.xmp`.
    public var xmp: String? { textEntries.first { $0.keyword == XMPPacket.keyword }?.text }

    /// Same pixels, format and text entries (in order).
    public static func == (lhs: DecodedImage, rhs: DecodedImage) -> Bool {
        lhs.image == rhs.image && lhs.format == rhs.format
            && lhs.textEntries.elementsEqual(rhs.textEntries) { $0.keyword == $1.keyword && $0.text == $1.text }
    }
}

/// PNG encoding and decoding through libpng.
///
/// Encoding writes 8-bit RGB with `sRGB` (perceptual), `gAMA` (1/2.2) and `cHRM` (sRGB
/// primaries) chunks, the XMP packet in an uncompressed `iTXt` chunk, and `Software` /
/// `Creation Time` text entries. Decoding validates the chunk structure and CRCs in Swift, then
/// reads pixels with libpng's simplified API; libpng errors become `ImagingError`s, never a crash
/// (libpng's longjmp never crosses a Swift frame: see `Sources/CPNG/shim.h`).
public enum PNGCodec {
    /// Encodes `image` as PNG with provenance metadata (when given) at zlib `compressionLevel`
    /// (0 = none ... 9 = smallest; 6 is zlib's default).
    public static func encode(_ image: RGBImage, metadata: ProvenanceMetadata?, compressionLevel: Int = 6) throws -> Data {
        guard (0...9).contains(compressionLevel) else {
            throw ImagingError.invalidArgument("PNG compression level \(compressionLevel) outside 0...9")
        }
        var entries: [(key: String, value: String, international: Bool)] = []
        if let metadata {
            entries.append((XMPPacket.keyword, XMPPacket.make(metadata), true))
            entries.append(("Software", metadata.software, true))
            entries.append(("Creation Time", ProvenanceMetadata.timestamp(metadata.creationTime), false))
        }
        let cKeys = entries.map { strdup($0.key) }
        let cValues = entries.map { strdup($0.value) }
        defer {
            cKeys.forEach { free($0) }
            cValues.forEach { free($0) }
        }
        let keyPointers = cKeys.map { UnsafePointer<CChar>($0) }
        let valuePointers = cValues.map { UnsafePointer<CChar>($0) }
        let flags = entries.map { Int32($0.international ? 1 : 0) }
        var state = twin_png_state()
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            twin_png_encode_rgb(
                pixels.baseAddress, UInt32(image.width), UInt32(image.height), Int32(compressionLevel),
                keyPointers, valuePointers, flags, Int32(entries.count), &state)
        }
        guard status == 0, let bytes = state.data else {
            throw ImagingError.encodingFailed("libpng: " + message(of: &state))
        }
        defer { free(bytes) }
        return Data(bytes: bytes, count: state.size)
    }

    /// Decodes a PNG. Throws `ImagingError.malformedPNG` with a specific reason for anything that
    /// is not a well-formed PNG (bad signature, truncation, CRC mismatch, libpng failure), and
    /// `ImagingError.limitExceeded` for input over `ImagingLimits` (checked on the chunk headers,
    /// before the pixel buffer is allocated or libpng runs).
    public static func decode(_ data: Data) throws -> DecodedImage {
        try ImagingLimits.require(data.count, atMost: ImagingLimits.maximumFileBytes, "maximumFileBytes", what: "PNG file size")
        let bytes = [UInt8](data)
        let summary = try PNGChunks.walk(bytes)
        var pixels = [UInt8](repeating: 255, count: summary.width * summary.height * 3)
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var control = png_image()
            control.version = UInt32(PNG_IMAGE_VERSION)
            guard png_image_begin_read_from_memory(&control, raw.baseAddress, raw.count) != 0 else {
                failure = message(of: &control)
                png_image_free(&control)
                return
            }
            guard Int(control.width) == summary.width, Int(control.height) == summary.height else {
                failure = "IHDR size disagrees with libpng"
                png_image_free(&control)
                return
            }
            control.format = UInt32(PNG_FORMAT_RGB)
            let finished = pixels.withUnsafeMutableBytes { buffer in
                png_image_finish_read(&control, nil, buffer.baseAddress, 0, nil)
            }
            if finished == 0 { failure = message(of: &control) }
            png_image_free(&control)
        }
        if let failure { throw ImagingError.malformedPNG("libpng: " + failure) }
        return DecodedImage(
            image: try RGBImage(width: summary.width, height: summary.height, pixels: pixels),
            format: .png,
            textEntries: summary.texts.map { ($0.keyword, $0.text) })
    }

    private static func message(of state: inout twin_png_state) -> String {
        withUnsafeBytes(of: &state.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private static func message(of control: inout png_image) -> String {
        withUnsafeBytes(of: &control.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
