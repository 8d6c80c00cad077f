// Role: draws the visible "AI-generated" label (bitmap font on a dark box) into a corner of a
// render.
// Reference: the label requirement of a grant (`requiresLabel`) and the EU AI Act Art. 50
// disclosure guidance; glyphs from `LabelFont`.
// Failure modes: non-ASCII text, an opacity outside 0...1, a scale below 1 or a label that does
// not fit the image throw `ImagingError.invalidArgument`; nothing is drawn then.

import TwinBase

/// Draws a small visible "AI-generated" label onto an image: white text from an embedded
/// bitmap font (`LabelFont`, 6x11 cells) on a dark box, blended at a configurable opacity into a
/// configurable corner. Draw it before embedding the invisible watermark, so the mark covers the
/// label area too.
public struct AILabel: Sendable {
    /// Which corner the label sits in.
    public enum Corner: String, Sendable, Equatable, CaseIterable {
        case topLeft, topRight, bottomLeft, bottomRight
    }

    /// Label appearance.
    public struct Configuration: Sendable, Equatable {
        /// Printable ASCII text (default "AI-generated").
        public var text: String = "AI-generated"
        /// Corner (default bottom right).
        public var corner: Corner = .bottomRight
        /// Opacity of the label, 0...1 (default 0.85): text at this opacity, box at half of it.
        public var opacity: Double = 0.85
        /// Integer pixel scale of the glyphs; nil (default) picks 1 per 256 pixels of the
        /// shorter image side, at least 1 (so 6x11-pixel letters on a 128x128 render).
        public var scale: Int? = nil
        /// Distance from the image edges, in pixels at scale 1 (default 2).
        public var margin: Int = 2

        /// Defaults.
        public init() {}
    }

    /// The appearance in use.
    public let configuration: Configuration

    /// A label with `configuration`.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Whether a label must be drawn: config can turn it on, but only the grant can demand it,
    /// and config cannot turn off a label the grant requires.
    public static func isApplied(configEnabled: Bool, grantRequiresLabel: Bool) -> Bool {
        configEnabled || grantRequiresLabel
    }

    /// Draws the label onto `image`. Throws `ImagingError.invalidArgument` for non-ASCII text,
    /// an opacity outside 0...1, a scale below 1, or a label that does not fit the image.
    public func draw(on image: inout RGBImage) throws {
        let settings = configuration
        guard (0...1).contains(settings.opacity) else {
            throw ImagingError.invalidArgument("label opacity \(settings.opacity) outside 0...1")
        }
        let glyphs = try settings.text.unicodeScalars.map { scalar -> [UInt8] in
            guard (32...126).contains(scalar.value) else {
                throw ImagingError.invalidArgument("label text must be printable ASCII, found U+\(String(scalar.value, radix: 16))")
            }
            return LabelFont.rows[Int(scalar.value) - 32]
        }
        let scale = settings.scale ?? max(1, min(image.width, image.height) / 256)
        guard scale >= 1, settings.margin >= 0 else {
            throw ImagingError.invalidArgument("label scale \(scale) and margin \(settings.margin) must be positive")
        }
        let padding = scale
        let boxWidth = glyphs.count * LabelFont.cellWidth * scale + 2 * padding
        let boxHeight = LabelFont.cellHeight * scale + 2 * padding
        let margin = settings.margin * scale
        guard boxWidth + 2 * margin <= image.width, boxHeight + 2 * margin <= image.height else {
            throw ImagingError.invalidArgument(
                "label \(boxWidth)x\(boxHeight) does not fit a \(image.width)x\(image.height) image")
        }
        let left = settings.corner == .topLeft || settings.corner == .bottomLeft ? margin : image.width - margin - boxWidth
        let top = settings.corner == .topLeft || settings.corner == .topRight ? margin : image.height - margin - boxHeight
        for y in 0..<boxHeight {
            for x in 0..<boxWidth {
                let glyphX = (x - padding) / scale, glyphY = (y - padding) / scale
                var ink = false
                if x >= padding, y >= padding, glyphY < LabelFont.cellHeight, glyphX < glyphs.count * LabelFont.cellWidth {
                    let rows = glyphs[glyphX / LabelFont.cellWidth]
                    ink = rows[glyphY] >> (LabelFont.cellWidth - 1 - glyphX % LabelFont.cellWidth) & 1 == 1
                }
                let (target, alpha) = ink ? (255.0, settings.opacity) : (0.0, settings.opacity / 2)
                let base = ((top + y) * image.width + left + x) * 3
                for channel in 0..<3 {
                    let old = Double(image.pixels[base + channel])
                    image.pixels[base + channel] = UInt8((old + (target - old) * alpha).rounded())
                }
            }
        }
    }
}
