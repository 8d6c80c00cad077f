// Role: reads a PNG or JPEG for `twinrender verify`: decodes it (under `ImagingLimits`), detects
// the invisible watermark and reports the XMP and text metadata and whether a PNG carries a C2PA
// manifest (`caBX` chunk).
// Reference: the PNG/JPEG codecs and `XMPPacket` of this module; the report is `Codable` for
// `verify --json`.
// Failure modes: unknown formats, malformed files and inputs over a limit throw `ImagingError`
// with the reason; a missing watermark is a `nil` field, not an error.

import Foundation

/// What `ImageInspector` found in an image file: format, size, invisible watermark and the
/// provenance metadata it carries. `twinrender verify` prints this and adds the ledger lookup
/// for `watermark.payload`.
public struct ImageReport: Sendable, Equatable, Codable {
    /// The watermark part of a report.
    public struct Watermark: Sendable, Equatable, Codable {
        /// Payload as 16 hex digits (the ledger key).
        public var payloadHex: String
        /// Payload as a number.
        public var payload: UInt64
        /// 1 - bitErrors / codedBits.
        public var confidence: Double
        /// Code bits read wrongly (corrected by the code).
        public var bitErrors: Int
        /// Code bits carried.
        public var codedBits: Int
        /// Estimated scale relative to the marked original.
        public var scale: Double
        /// Estimated rotation relative to the marked original, degrees (after the quarter turns).
        public var rotationDegrees: Double
        /// Clockwise quarter turns the image went through since it was marked.
        public var quarterTurns: Int
        /// Whether the image was mirrored since it was marked.
        public var mirrored: Bool
        /// Identifier of the watermark key that read the mark.
        public var keyIdentifier: String
        /// Sync correlation peak, standard deviations above its mean.
        public var syncScore: Double
        /// Payload hypotheses tested before this one matched (this one included).
        public var hypothesesTried: Int
    }

    /// "png" or "jpeg".
    public var format: String
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// The decoded invisible watermark, nil if none was found.
    public var watermark: Watermark?
    /// Whether the XMP says the image is AI-generated (IPTC trainedAlgorithmicMedia).
    public var declaredAIGenerated: Bool
    /// Simple XMP properties by qualified name (empty when there is no XMP, e.g. JPEG).
    public var xmp: [String: String]
    /// PNG text entries other than XMP, by keyword.
    public var text: [String: String]
    /// True when the XMP payload and the pixel watermark are both present and disagree.
    public var payloadMismatch: Bool
    /// Milliseconds spent decoding the watermark.
    public var detectMilliseconds: Double
    /// Size of the PNG's C2PA manifest store (its `caBX` chunk's data), nil when it has none
    /// (`C2PAValidator` checks it).
    public var c2paManifestBytes: Int?
}

/// Reads a PNG or JPEG file and reports its watermark and provenance metadata.
public struct ImageInspector: Sendable {
    private let watermark: InvisibleWatermark

    /// An inspector using `watermark`'s keys and detection settings.
    public init(watermark: InvisibleWatermark) {
        self.watermark = watermark
    }

    /// Decodes `data` (PNG or JPEG, told apart by signature). Throws `ImagingError`
    /// (`malformedPNG`, `malformedJPEG` or `unsupportedFormat`) with a specific reason.
    public static func decode(_ data: Data) throws -> DecodedImage {
        if data.starts(with: PNGChunks.signature) { return try PNGCodec.decode(data) }
        if data.starts(with: [0xFF, 0xD8]) { return try JPEGCodec.decode(data) }
        throw ImagingError.unsupportedFormat(
            data.isEmpty ? "empty file" : "neither PNG nor JPEG signature (first bytes \(data.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")))")
    }

    /// Decodes `data` and reports format, size, watermark and metadata.
    public func inspect(data: Data) throws -> ImageReport {
        let decoded = try Self.decode(data)
        let start = DispatchTime.now().uptimeNanoseconds
        let detection = watermark.detect(in: decoded.image)
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let xmp = try decoded.xmp.map { try XMPPacket.properties(of: $0) } ?? [:]
        var text: [String: String] = [:]
        for entry in decoded.textEntries where entry.keyword != XMPPacket.keyword { text[entry.keyword] = entry.text }
        let mark = detection.map {
            ImageReport.Watermark(
                payloadHex: ProvenanceMetadata.hex($0.payload), payload: $0.payload, confidence: $0.confidence,
                bitErrors: $0.bitErrors, codedBits: $0.codedBits, scale: $0.scale, rotationDegrees: $0.rotationDegrees,
                quarterTurns: $0.quarterTurns, mirrored: $0.mirrored, keyIdentifier: $0.keyIdentifier,
                syncScore: $0.syncScore, hypothesesTried: $0.hypothesesTried)
        }
        let declared = xmp["twinrender:WatermarkPayload"]
        return ImageReport(
            format: decoded.format.rawValue, width: decoded.image.width, height: decoded.image.height,
            watermark: mark,
            declaredAIGenerated: xmp["Iptc4xmpExt:DigitalSourceType"] == XMPPacket.trainedAlgorithmicMedia,
            xmp: xmp, text: text,
            payloadMismatch: declared != nil && mark != nil && declared != mark?.payloadHex,
            detectMilliseconds: milliseconds,
            c2paManifestBytes: decoded.format == .png ? try PNGChunks.locations(of: PNGChunks.c2paChunkType, in: Array(data)).first?.data.count : nil)
    }
}
