// Role: the perceptual fingerprint of a delivered image, recorded in its royalty event, so that
// `verify` can tell an edited copy of that image from a different picture that carries its
// watermark (a mark copied or transplanted onto another image).
// Reference: block-mean ("average hash") image fingerprints as in Yang, Gu & Niu, "Block mean
// value based image perceptual hashing" (IIH-MSP 2006), kept as grey levels rather than bits so
// the comparison can register a copy (FingerprintMatcher.swift) before correlating it.
// Failure modes: `init?(encoded:)` returns nil for text that is not a well-formed fingerprint
// (wrong prefix, size fields, base64 or length); computing one never fails.

import Foundation
import TwinBase

/// A 64x64 grid of mean luma values (6-bit: grey level / 4) over an image, with the image's size.
///
/// Computed with integer arithmetic only (Rec. 601 luma in thousandths, cell means rounded half
/// up, cell bounds `i * width / 64`), so the same pixels always give the same fingerprint on any
/// machine: it is part of a signed ledger line. Six bits per cell lose at most 2 grey levels,
/// well under what a re-encoded copy changes; 64 cells per side keep the detail that tells two
/// renders of the same pose apart (docs/watermark.md, "Copy or transplant").
public struct ImageFingerprint: Sendable, Equatable {
    /// Cells per side of the grid.
    public static let gridSide = 64
    /// Prefix of the text form; names the format version.
    public static let textPrefix = "fp1:"

    /// Width of the fingerprinted image in pixels.
    public let width: Int
    /// Height of the fingerprinted image in pixels.
    public let height: Int
    /// Mean luma of each cell divided by 4 and rounded (0...63), row-major, `gridSide * gridSide` values.
    public let cells: [UInt8]

    /// The fingerprint of `image`. Images smaller than the grid repeat pixels across cells.
    public init(of image: RGBImage) {
        let side = Self.gridSide
        var cells = [UInt8](repeating: 0, count: side * side)
        for row in 0..<side {
            let y0 = row * image.height / side, y1 = max(y0 + 1, (row + 1) * image.height / side)
            for column in 0..<side {
                let x0 = column * image.width / side, x1 = max(x0 + 1, (column + 1) * image.width / side)
                var sum = 0
                for y in y0..<y1 {
                    var offset = (y * image.width + x0) * 3
                    for _ in x0..<x1 {
                        sum += 299 * Int(image.pixels[offset]) + 587 * Int(image.pixels[offset + 1]) + 114 * Int(image.pixels[offset + 2])
                        offset += 3
                    }
                }
                // sum / (1000 n) is the mean grey level; a quarter of it, rounded half up, capped at 63.
                let quarter = 4000 * (y1 - y0) * (x1 - x0)
                cells[row * side + column] = UInt8(min(63, (sum + quarter / 2) / quarter))
            }
        }
        self.width = image.width
        self.height = image.height
        self.cells = cells
    }

    /// Parses the text form written by ``encoded``.
    public init?(encoded text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "fp1" else { return nil }
        let size = parts[1].split(separator: "x", omittingEmptySubsequences: false)
        guard size.count == 2, let width = Int(size[0]), let height = Int(size[1]),
              (1...RGBImage.maximumDimension).contains(width), (1...RGBImage.maximumDimension).contains(height),
              String(width) == size[0], String(height) == size[1],
              let bytes = Data(base64Encoded: String(parts[2])), bytes.count == Self.gridSide * Self.gridSide * 3 / 4,
              bytes.base64EncodedString() == parts[2] else { return nil }
        self.width = width
        self.height = height
        self.cells = Self.unpack([UInt8](bytes))
    }

    /// `fp1:<width>x<height>:<base64 of the 4096 six-bit cells, packed four to three bytes>`
    /// (about 4,110 characters of printable ASCII, no spaces): the form stored in the royalty event.
    public var encoded: String {
        "\(Self.textPrefix)\(width)x\(height):\(Data(Self.pack(cells)).base64EncodedString())"
    }

    /// Mean grey level of each cell as recorded (0, 4, ..., 252).
    var grey: [Double] { cells.map { 4 * Double($0) } }

    /// Four 6-bit values to three bytes, most significant bits first.
    private static func pack(_ values: [UInt8]) -> [UInt8] {
        stride(from: 0, to: values.count, by: 4).flatMap { i -> [UInt8] in
            let word = UInt32(values[i]) << 18 | UInt32(values[i + 1]) << 12 | UInt32(values[i + 2]) << 6 | UInt32(values[i + 3])
            return [UInt8(word >> 16), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)]
        }
    }

    private static func unpack(_ bytes: [UInt8]) -> [UInt8] {
        stride(from: 0, to: bytes.count, by: 3).flatMap { i -> [UInt8] in
            let word = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            return [UInt8(word >> 18), UInt8(word >> 12 & 63), UInt8(word >> 6 & 63), UInt8(word & 63)]
        }
    }
}
