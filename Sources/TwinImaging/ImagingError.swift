/// Errors thrown by `TwinImaging`. Each case carries a specific, human-readable detail.
public struct ImagingError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable {
        case invalidImage
        case malformedPNG
        case malformedJPEG
        case unsupportedFormat
        case encodingFailed
        case invalidArgument
    }

    private let kind: Kind
    /// What exactly went wrong.
    public let detail: String

    private init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// Pixel buffer and size disagree, or the size is out of range.
    public static func invalidImage(_ detail: String) -> ImagingError { .init(.invalidImage, detail) }
    /// The bytes are not a PNG this module can read.
    public static func malformedPNG(_ detail: String) -> ImagingError { .init(.malformedPNG, detail) }
    /// The bytes are not a JPEG this module can read.
    public static func malformedJPEG(_ detail: String) -> ImagingError { .init(.malformedJPEG, detail) }
    /// The bytes are neither PNG nor JPEG.
    public static func unsupportedFormat(_ detail: String) -> ImagingError { .init(.unsupportedFormat, detail) }
    /// libpng or libjpeg refused to encode.
    public static func encodingFailed(_ detail: String) -> ImagingError { .init(.encodingFailed, detail) }
    /// A parameter is out of its documented range.
    public static func invalidArgument(_ detail: String) -> ImagingError { .init(.invalidArgument, detail) }

    /// Compares kinds only, so callers can write `error.isSameKind(as: .malformedPNG(""))`.
    public func isSameKind(as other: ImagingError) -> Bool { kind == other.kind }

    public var description: String {
        switch kind {
        case .invalidImage: "invalid image: \(detail)"
        case .malformedPNG: "malformed PNG: \(detail)"
        case .malformedJPEG: "malformed JPEG: \(detail)"
        case .unsupportedFormat: "unsupported image format: \(detail)"
        case .encodingFailed: "encoding failed: \(detail)"
        case .invalidArgument: "invalid argument: \(detail)"
        }
    }
}
