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

/// A 32x32 grid of mean luma values (8-bit) over an image, with the image's size.
///
/// Computed with integer arithmetic only (Rec. 601 luma in thousandths, cell means rounded half
/// up, cell bounds `i * width / 32`), so the same pixels always give the same fingerprint on any
/// machine: it is part of a signed ledger line and a crash re-render must reproduce it.
public struct ImageFingerprint: Sendable, Equatable {
    /// Cells per side of the grid.
    public static let gridSide = 32
    /// Prefix of the text form; names the format version.
    public static let textPrefix = "fp1:"

    /// Width of the fingerprinted image in pixels.
    public let width: Int
    /// Height of the fingerprinted image in pixels.
    public let height: Int
    /// Mean luma of each cell, row-major, `gridSide * gridSide` values.
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
                let count = 1000 * (y1 - y0) * (x1 - x0)
                cells[row * side + column] = UInt8((sum + count / 2) / count)
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
              let bytes = Data(base64Encoded: String(parts[2])), bytes.count == Self.gridSide * Self.gridSide,
              bytes.base64EncodedString() == parts[2] else { return nil }
        self.width = width
        self.height = height
        self.cells = [UInt8](bytes)
    }

    /// `fp1:<width>x<height>:<base64 of the 1024 cell values>` (1,370 to 1,380 characters of
    /// printable ASCII, no spaces): the form stored in the royalty event.
    public var encoded: String {
        "\(Self.textPrefix)\(width)x\(height):\(Data(cells).base64EncodedString())"
    }
}
