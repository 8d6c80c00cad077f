/// Walks the chunks of a PNG file in Swift, checking lengths and CRCs, and extracts its text
/// entries (`tEXt` and uncompressed `iTXt`). Follows the PNG specification (ISO/IEC 15948),
/// sections 5.3 (chunk layout) and 11.3.4 (textual information).
///
/// Failure modes: a truncated file, a chunk length past the end, a CRC mismatch, a missing
/// IHDR/IEND or a malformed text chunk all throw `ImagingError.malformedPNG` naming the chunk.
enum PNGChunks {
    /// The 8-byte PNG signature.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// One text entry: keyword and value (decoded from Latin-1 for tEXt, UTF-8 for iTXt).
    struct TextEntry: Equatable {
        var keyword: String
        var text: String
    }

    /// Result of a chunk walk.
    struct Summary {
        var width: Int
        var height: Int
        var chunkTypes: [String]
        var texts: [TextEntry]
    }

    /// Validates the chunk structure of `bytes` and returns size, chunk order and text entries.
    static func walk(_ bytes: [UInt8]) throws -> Summary {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else {
            throw ImagingError.malformedPNG("missing PNG signature")
        }
        var offset = 8
        var summary = Summary(width: 0, height: 0, chunkTypes: [], texts: [])
        var sawEnd = false
        while offset < bytes.count {
            guard bytes.count - offset >= 12 else {
                throw ImagingError.malformedPNG("truncated chunk header at byte \(offset)")
            }
            let length = Int(readUInt32(bytes, offset))
            let typeBytes = Array(bytes[(offset + 4)..<(offset + 8)])
            guard typeBytes.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
                throw ImagingError.malformedPNG("invalid chunk type at byte \(offset)")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard length <= 0x7FFF_FFFF, length <= bytes.count - offset - 12 else {
                throw ImagingError.malformedPNG("chunk \(type) at byte \(offset) runs past the end of the file")
            }
            let dataStart = offset + 8
            let data = bytes[dataStart..<(dataStart + length)]
            let storedCRC = readUInt32(bytes, dataStart + length)
            guard CRC32.checksum(bytes[(offset + 4)..<(dataStart + length)]) == storedCRC else {
                throw ImagingError.malformedPNG("CRC mismatch in chunk \(type) at byte \(offset)")
            }
            if summary.chunkTypes.isEmpty {
                guard type == "IHDR", length == 13 else { throw ImagingError.malformedPNG("first chunk is not a 13-byte IHDR") }
                summary.width = Int(readUInt32(bytes, dataStart))
                summary.height = Int(readUInt32(bytes, dataStart + 4))
            }
            summary.chunkTypes.append(type)
            switch type {
            case "tEXt": summary.texts.append(try parseText(data))
            case "iTXt": if let entry = try parseInternationalText(data) { summary.texts.append(entry) }
            default: break
            }
            offset = dataStart + length + 4
            if type == "IEND" { sawEnd = true; break }
        }
        guard sawEnd else { throw ImagingError.malformedPNG("no IEND chunk (file truncated?)") }
        return summary
    }

    private static func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    private static func parseText(_ data: ArraySlice<UInt8>) throws -> TextEntry {
        guard let zero = data.firstIndex(of: 0), zero > data.startIndex, zero - data.startIndex <= 79 else {
            throw ImagingError.malformedPNG("tEXt chunk without a 1-79 byte keyword")
        }
        return TextEntry(keyword: latin1(data[data.startIndex..<zero]), text: latin1(data[(zero + 1)...]))
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
        guard let text = String(validating: data[(translatedEnd + 1)...], as: UTF8.self) else {
            throw ImagingError.malformedPNG("iTXt chunk text is not valid UTF-8")
        }
        return TextEntry(keyword: latin1(data[data.startIndex..<zero]), text: text)
    }

    private static func latin1(_ bytes: ArraySlice<UInt8>) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
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
