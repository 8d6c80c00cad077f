// Role: the input limits every decoder in TwinImaging applies before it allocates or parses
// anything whose size the input chooses (decompression bombs, huge text chunks, XMP floods).
// Reference: libpng's `png_set_user_limits` / `png_set_chunk_malloc_max` (PNG spec ISO/IEC 15948
// §11.2.2 IHDR, §11.3.4 text chunks), libjpeg's frame header (ITU T.81 §B.2.2 SOF, §B.2.3 SOS),
// XMP Part 1 §7.3 (packet wrapper).
// Failure modes: an input over a limit throws `ImagingError.limitExceeded`, naming the limit and
// the value, after reading only headers (no pixel buffer, no inflate, no XML walk), so the
// refusal takes microseconds and a few kilobytes whatever the file declares.

/// Input limits of the PNG and JPEG decoders and the XMP reader. `twinrender verify` reads
/// untrusted files; renders are at most 512 px a side, so these leave wide room for resized or
/// re-encoded copies while bounding memory (the largest accepted image is 48 MiB of RGB).
public enum ImagingLimits {
    /// Largest file `PNGCodec.decode`, `JPEGCodec.decode` and `ImageInspector.decode` accept: 64 MiB.
    public static let maximumFileBytes = 64 << 20
    /// Largest width or height a PNG IHDR or JPEG SOF may declare: 8192.
    public static let maximumDimension = 8192
    /// Largest width x height a PNG or JPEG may declare: 16,777,216 (4096 x 4096).
    public static let maximumPixels = 4096 * 4096
    /// Largest XMP packet, in UTF-8 bytes: 256 KiB (twinrender writes about 2.5 KiB).
    public static let maximumXMPBytes = 256 << 10
    /// Largest `tEXt`, `zTXt` or `iTXt` chunk (keyword, flags, tags and text): the XMP limit plus 4 KiB.
    public static let maximumTextChunkBytes = maximumXMPBytes + (4 << 10)
    /// Most `tEXt`, `zTXt` and `iTXt` chunks in one PNG: 32.
    public static let maximumTextChunks = 32
    /// Most bytes in all text chunks of one PNG together: 1 MiB.
    public static let maximumTextBytes = 1 << 20
    /// Most compressed text chunks (`zTXt`, compressed `iTXt`) in one PNG: 4. libpng inflates
    /// each (up to its 8 MB chunk limit) although nothing here reads them.
    public static let maximumCompressedTextChunks = 4
    /// Most chunks of any type in one PNG: 65,536 (libpng writes 8 KiB IDAT chunks: 512 MiB).
    public static let maximumPNGChunks = 65_536
    /// Most scans (SOS markers) in one JPEG: 64 (a progressive JPEG from libjpeg has about 10;
    /// each scan costs a pass over the image, so thousands of empty scans are a CPU bomb).
    public static let maximumJPEGScans = 64
    /// Throws `ImagingError.limitExceeded` when `value` is over `maximum` (the constant `limit`).
    static func require(_ value: Int, atMost maximum: Int, _ limit: String, what: String) throws {
        guard value <= maximum else {
            throw ImagingError.limitExceeded(limit, value: value, maximum: maximum, what: what)
        }
    }
}
