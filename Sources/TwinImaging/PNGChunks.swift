// Role: walks the chunks of a PNG file in Swift before libpng sees it: checks lengths, CRCs and
// the `ImagingLimits`, and extracts the text entries (`tEXt` and uncompressed `iTXt`); locates
// and builds chunks for the C2PA manifest (`caBX`).
// Reference: PNG specification (ISO/IEC 15948) §5.3 (chunk layout), §11.2.2 (IHDR), §11.3.4
// (textual information); libpng's `png_set_user_limits` / `png_set_chunk_malloc_max` for the
// kind of limits applied.
// Failure modes: a truncated file, a chunk length past the end, a CRC mismatch, a missing
// IHDR/IEND or a malformed text chunk throw `ImagingError.malformedPNG` naming the chunk; an IHDR
// over `maximumDimension`/`maximumPixels`, a text chunk over `maximumTextChunkBytes`, an XMP
// packet over `maximumXMPBytes`, or too many chunks throw `ImagingError.limitExceeded`. Limits on
// sizes are checked before the chunk's CRC is computed or its text decoded.
enum PNGChunks {
    /// The 8-byte PNG signature.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// Chunk types that carry text.
    private static let textTypes: Set<String> = ["tEXt", "zTXt", "iTXt"]

    /// One text entry: keyword and value (decoded from Latin-1 for tEXt, UTF-8 for iTXt).
    struct TextEntry: Equatable {
        var keyword: String
        var text: String
    }

    /// Type of the chunk that carries a C2PA manifest store (JUMBF), C2PA 2.x §A.3.3 ("PNG").
    static let c2paChunkType = "caBX"

    /// Where a chunk lies in a PNG file: `offset` of its length field, `length` of the whole
    /// chunk (12 + data), its data.
    struct ChunkLocation: Equatable {
        var offset: Int
        var length: Int
        var data: Range<Int>
    }

    /// The locations of every chunk of type `type` (the file must pass `walk`).
    static func locations(of type: String, in bytes: [UInt8]) throws -> [ChunkLocation] {
        _ = try walk(bytes)
        var result: [ChunkLocation] = []
        var offset = 8
        while offset < bytes.count {
            let chunk = try readChunk(bytes, at: offset)
            if chunk.type == type { result.append(ChunkLocation(offset: chunk.offset, length: chunk.end - chunk.offset, data: chunk.data)) }
            if chunk.type == "IEND" { break }
            offset = chunk.end
        }
        return result
    }

    /// A chunk's bytes: length, type, data and CRC.
    static func chunk(type: String, data: [UInt8]) -> [UInt8] {
        precondition(type.utf8.count == 4 && data.count <= 0x7FFF_FFFF, "a PNG chunk type is four letters, its data under 2^31 bytes")
        let length = UInt32(data.count)
        let typeAndData = Array(type.utf8) + data
        let crc = CRC32.checksum(typeAndData)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            + typeAndData + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
    }

    /// Result of a chunk walk.
    struct Summary {
        var width: Int
        var height: Int
        var chunkTypes: [String]
        var texts: [TextEntry]
    }

    /// One chunk's type and where its data lies in the file.
    private struct Chunk {
        var type: String
        var offset: Int
        var data: Range<Int>
        /// Byte after the chunk's CRC.
        var end: Int { data.upperBound + 4 }
    }

    /// Validates the chunk structure of `bytes` and returns size, chunk order and text entries.
    static func walk(_ bytes: [UInt8]) throws -> Summary {
        guard bytes.count >= 8, bytes[0..<8].elementsEqual(signature) else {
            throw ImagingError.malformedPNG("missing PNG signature")
        }
        var offset = 8
        var summary = Summary(width: 0, height: 0, chunkTypes: [], texts: [])
        var text = TextBudget()
        while offset < bytes.count {
            try ImagingLimits.require(summary.chunkTypes.count + 1, atMost: ImagingLimits.maximumPNGChunks,
                                      "maximumPNGChunks", what: "PNG chunk count")
            let chunk = try readChunk(bytes, at: offset)
            if textTypes.contains(chunk.type) { try text.spend(chunk, bytes) }
            try verifyCRC(bytes, chunk)
            if summary.chunkTypes.isEmpty { try readHeader(bytes, chunk, into: &summary) }
            summary.chunkTypes.append(chunk.type)
            let data = bytes[chunk.data]
            switch chunk.type {
            case "tEXt": summary.texts.append(try parseText(data))
            case "iTXt": if let entry = try parseInternationalText(data) { summary.texts.append(entry) }
            default: break
            }
            offset = chunk.end
            if chunk.type == "IEND" { return summary }
        }
        throw ImagingError.malformedPNG("no IEND chunk (file truncated?)")
    }

    /// What the text chunks seen so far used of the text limits.
    private struct TextBudget {
        var chunks = 0
        var bytes = 0
        var compressed = 0

        /// Counts one text chunk against the limits, from its header and flags only.
        mutating func spend(_ chunk: Chunk, _ file: [UInt8]) throws {
            chunks += 1
            bytes += chunk.data.count
            let place = "PNG \(chunk.type) chunk at byte \(chunk.offset)"
            try ImagingLimits.require(chunks, atMost: ImagingLimits.maximumTextChunks, "maximumTextChunks", what: "PNG text chunk count")
            try ImagingLimits.require(chunk.data.count, atMost: ImagingLimits.maximumTextChunkBytes, "maximumTextChunkBytes", what: "\(place) length")
            try ImagingLimits.require(bytes, atMost: ImagingLimits.maximumTextBytes, "maximumTextBytes", what: "PNG text chunk bytes up to \(place)")
            // zTXt is always compressed; iTXt when the byte after the keyword's NUL is 1.
            let data = file[chunk.data]
            let keywordEnd = data.prefix(80).firstIndex(of: 0)
            let isCompressed = chunk.type == "zTXt"
                || (chunk.type == "iTXt" && keywordEnd.map { $0 + 1 < data.endIndex && data[$0 + 1] != 0 } == true)
            guard isCompressed else { return }
            compressed += 1
            try ImagingLimits.require(compressed, atMost: ImagingLimits.maximumCompressedTextChunks,
                                      "maximumCompressedTextChunks", what: "PNG compressed text chunk count")
        }
    }

    /// Reads the chunk header at `offset` and checks that the chunk fits in the file.
    private static func readChunk(_ bytes: [UInt8], at offset: Int) throws -> Chunk {
        guard bytes.count - offset >= 12 else {
            throw ImagingError.malformedPNG("truncated chunk header at byte \(offset)")
        }
        let length = Int(readUInt32(bytes, offset))
        let typeBytes = bytes[(offset + 4)..<(offset + 8)]
        guard typeBytes.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
            throw ImagingError.malformedPNG("invalid chunk type at byte \(offset)")
        }
        let type = String(decoding: typeBytes, as: UTF8.self)
        guard length <= 0x7FFF_FFFF, length <= bytes.count - offset - 12 else {
            throw ImagingError.malformedPNG("chunk \(type) at byte \(offset) runs past the end of the file")
        }
        return Chunk(type: type, offset: offset, data: (offset + 8)..<(offset + 8 + length))
    }

    private static func verifyCRC(_ bytes: [UInt8], _ chunk: Chunk) throws {
        let storedCRC = readUInt32(bytes, chunk.data.upperBound)
        guard CRC32.checksum(bytes[(chunk.offset + 4)..<chunk.data.upperBound]) == storedCRC else {
            throw ImagingError.malformedPNG("CRC mismatch in chunk \(chunk.type) at byte \(chunk.offset)")
        }
    }

    /// Reads IHDR (which must come first) and applies the size limits before anything is allocated.
    private static func readHeader(_ bytes: [UInt8], _ chunk: Chunk, into summary: inout Summary) throws {
        guard chunk.type == "IHDR", chunk.data.count == 13 else {
            throw ImagingError.malformedPNG("first chunk is not a 13-byte IHDR")
        }
        let width = Int(readUInt32(bytes, chunk.data.lowerBound))
        let height = Int(readUInt32(bytes, chunk.data.lowerBound + 4))
        guard width >= 1, height >= 1 else { throw ImagingError.malformedPNG("IHDR size \(width)x\(height) is empty") }
        try ImagingLimits.require(max(width, height), atMost: ImagingLimits.maximumDimension,
                                  "maximumDimension", what: "PNG IHDR side (\(width)x\(height))")
        try ImagingLimits.require(width * height, atMost: ImagingLimits.maximumPixels,
                                  "maximumPixels", what: "PNG IHDR pixel count (\(width)x\(height))")
        summary.width = width
        summary.height = height
    }

    private static func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    private static func parseText(_ data: ArraySlice<UInt8>) throws -> TextEntry {
        guard let zero = data.firstIndex(of: 0), zero > data.startIndex, zero - data.startIndex <= 79 else {
            throw ImagingError.malformedPNG("tEXt chunk without a 1-79 byte keyword")
        }
        let keyword = latin1(data[data.startIndex..<zero])
        try checkXMPSize(keyword, data.endIndex - zero - 1)
        return TextEntry(keyword: keyword, text: latin1(data[(zero + 1)...]))
    }

    /// Returns nil for compressed iTXt (zlib), which this reader does not inflate.
    private static func parseInternationalText(_ data: ArraySlice<UInt8>) throws -> TextEntry? {
        guard let zero = data.firstIndex(of: 0), zero > data.startIndex, zero - data.startIndex <= 79,
              data.endIndex - zero >= 3 else {
            throw ImagingError.malformedPNG("iTXt chunk without a 1-79 byte keyword and flags")
        }
        let compressed = data[zero + 1] != 0
        guard let languageEnd = data[(zero + 3)...].firstIndex(of: 0),
              let translatedEnd = data[(languageEnd + 1)...].firstIndex(of: 0) else {
            throw ImagingError.malformedPNG("iTXt chunk with unterminated language tag or translated keyword")
        }
        if compressed { return nil }
        let keyword = latin1(data[data.startIndex..<zero])
        try checkXMPSize(keyword, data.endIndex - translatedEnd - 1)
        guard let text = String(validating: data[(translatedEnd + 1)...], as: UTF8.self) else {
            throw ImagingError.malformedPNG("iTXt chunk text is not valid UTF-8")
        }
        return TextEntry(keyword: keyword, text: text)
    }

    /// An XMP packet (in `tEXt` or `iTXt`) may not exceed `ImagingLimits.maximumXMPBytes`.
    private static func checkXMPSize(_ keyword: String, _ byteCount: Int) throws {
        guard keyword == XMPPacket.keyword else { return }
        try ImagingLimits.require(byteCount, atMost: ImagingLimits.maximumXMPBytes, "maximumXMPBytes", what: "XMP packet size")
    }

    /// Latin-1 bytes as a string: ASCII as it is, 0x80...0xFF transcoded to two UTF-8 bytes.
    private static func latin1(_ bytes: ArraySlice<UInt8>) -> String {
        guard bytes.contains(where: { $0 >= 0x80 }) else { return String(decoding: bytes, as: UTF8.self) }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            if byte < 0x80 {
                utf8.append(byte)
            } else {
                utf8.append(0xC0 | byte >> 6)
                utf8.append(0x80 | byte & 0x3F)
            }
        }
        return String(decoding: utf8, as: UTF8.self)
    }
}

/// CRC-32 as used by PNG and zlib (polynomial 0xEDB88320, reflected).
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// CRC-32 of `bytes`.
    static func checksum<Bytes: Collection>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
