// Role: reads a JPEG's marker structure in Swift before libjpeg sees it: the frame header (size,
// components) and the number of scans, so `JPEGCodec.decode` can refuse a decompression or scan
// bomb before `jpeg_read_header` / `jpeg_start_decompress` allocate anything.
// Reference: ITU T.81 (JPEG) §B.1.1.2-B.1.1.5 (markers, fill bytes, entropy-coded segments with
// stuffed zero bytes), §B.2.2 (frame header), §B.2.3 (scan header); libjpeg's `jdmarker.c`
// `next_marker` / `read_markers`, which this follows so both find the same first frame header.
// Failure modes: a missing SOI, a second SOI or SOF, SOS before SOF, a truncated or too-short
// segment and a zero size throw `ImagingError.malformedJPEG`; a frame over `maximumDimension` /
// `maximumPixels` or more than `maximumJPEGScans` scans throw `ImagingError.limitExceeded`.

/// The parts of a JPEG's marker structure the decoder's limits need.
struct JPEGMarkers {
    /// Frame width in pixels (SOF `X`).
    var width = 0
    /// Frame height in pixels (SOF `Y`).
    var height = 0
    /// Number of image components (SOF `Nf`).
    var components = 0
    /// Number of SOS markers before EOI (or the end of the data).
    var scans = 0

    /// Reads the markers of `bytes` up to EOI and applies `ImagingLimits`.
    static func read(_ bytes: [UInt8]) throws -> JPEGMarkers {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else {
            throw ImagingError.malformedJPEG("missing JPEG SOI marker")
        }
        var markers = JPEGMarkers()
        var offset = 2
        while let (marker, start) = nextMarker(bytes, from: offset) {
            switch marker {
            case 0xD9: return try markers.finished()
            case 0xD8: throw ImagingError.malformedJPEG("second SOI marker at byte \(start - 2)")
            case 0x01, 0xD0...0xD7: offset = start  // parameterless
            default:
                guard start + 2 <= bytes.count else { return try markers.finished() }
                let length = Int(bytes[start]) << 8 | Int(bytes[start + 1])
                guard length >= 2 else {
                    throw ImagingError.malformedJPEG("marker 0x\(hex(marker)) at byte \(start - 2) has length \(length)")
                }
                let segment = start..<min(bytes.count, start + length)
                try markers.apply(marker, bytes[segment], at: start - 2)
                offset = segment.upperBound
                if marker == 0xDA { offset = entropyCodedEnd(bytes, from: offset) }
            }
        }
        return try markers.finished()
    }

    /// Records a frame or scan header.
    private mutating func apply(_ marker: UInt8, _ segment: ArraySlice<UInt8>, at position: Int) throws {
        if Self.isFrameHeader(marker) {
            guard components == 0 else { throw ImagingError.malformedJPEG("second frame header (SOF) at byte \(position)") }
            guard segment.count >= 8 else { throw ImagingError.malformedJPEG("truncated frame header at byte \(position)") }
            let base = segment.startIndex
            height = Int(segment[base + 3]) << 8 | Int(segment[base + 4])
            width = Int(segment[base + 5]) << 8 | Int(segment[base + 6])
            components = max(1, Int(segment[base + 7]))
            guard width >= 1, height >= 1 else {
                throw ImagingError.malformedJPEG("frame size \(width)x\(height) is empty (DNL is not supported)")
            }
            try ImagingLimits.require(max(width, height), atMost: ImagingLimits.maximumDimension,
                                      "maximumDimension", what: "JPEG frame side (\(width)x\(height))")
            try ImagingLimits.require(width * height, atMost: ImagingLimits.maximumPixels,
                                      "maximumPixels", what: "JPEG frame pixel count (\(width)x\(height))")
        } else if marker == 0xDA {
            guard components > 0 else { throw ImagingError.malformedJPEG("scan (SOS) before any frame header at byte \(position)") }
            scans += 1
            try ImagingLimits.require(scans, atMost: ImagingLimits.maximumJPEGScans, "maximumJPEGScans", what: "JPEG scan count")
        }
    }

    private func finished() throws -> JPEGMarkers {
        guard components > 0 else { throw ImagingError.malformedJPEG("no frame header (SOF) before the end of the image") }
        return self
    }

    /// SOF0...SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    private static func isFrameHeader(_ marker: UInt8) -> Bool {
        (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
    }

    /// The next marker at or after `offset`, as libjpeg's `next_marker` finds it: skip bytes up to
    /// an 0xFF, skip fill 0xFF bytes, ignore a stuffed 0xFF 0x00. Returns the marker code and the
    /// offset just after it, or nil at the end of the data.
    private static func nextMarker(_ bytes: [UInt8], from offset: Int) -> (UInt8, Int)? {
        var index = offset
        while let ff = bytes[index...].firstIndex(of: 0xFF) {
            index = ff + 1
            while index < bytes.count, bytes[index] == 0xFF { index += 1 }
            guard index < bytes.count else { return nil }
            if bytes[index] != 0 { return (bytes[index], index + 1) }
            index += 1
        }
        return nil
    }

    /// The offset of the first marker after an entropy-coded segment that is not RST0-7 (where
    /// libjpeg's entropy decoder stops).
    private static func entropyCodedEnd(_ bytes: [UInt8], from offset: Int) -> Int {
        var index = offset
        while let (marker, after) = nextMarker(bytes, from: index) {
            if (0xD0...0xD7).contains(marker) { index = after; continue }
            return after - 2  // the 0xFF just before the marker code
        }
        return bytes.count
    }

    private static func hex(_ value: UInt8) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }
}
