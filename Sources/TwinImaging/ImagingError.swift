// Role: the one error type of TwinImaging (decoding, encoding, watermark keys and arguments, label
// arguments).
// Reference: swift-service-lifecycle's `ServiceRunnerError.swift` (a struct over a private enum,
// built through static members).
// Failure modes: none of its own; every `detail` names what was wrong, and `limitExceeded` names
// the `ImagingLimits` constant and the value that passed it.

/// Errors thrown by `TwinImaging`. Each case carries a specific, human-readable detail.
public struct ImagingError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable {
        case malformedPNG
        case malformedJPEG
        case unsupportedFormat
        case encodingFailed
        case invalidArgument
        case limitExceeded
        case watermarkKey
    }

    private let kind: Kind
    /// What exactly went wrong.
    public let detail: String

    private init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

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

    /// A watermark key file is missing, unreadable, malformed or readable by others
    /// (`WatermarkKey`).
    public static func watermarkKey(_ detail: String) -> ImagingError { .init(.watermarkKey, detail) }

    /// The input passes one of the `ImagingLimits`: `what` (e.g. "PNG IHDR pixel count") is
    /// `value`, more than `ImagingLimits.<limit>` = `maximum`.
    public static func limitExceeded(_ limit: String, value: Int, maximum: Int, what: String) -> ImagingError {
        .init(.limitExceeded, "\(what) is \(value), more than ImagingLimits.\(limit) = \(maximum)")
    }

    /// Compares kinds only, so callers can write `error.isSameKind(as: .malformedPNG(""))`.
    public func isSameKind(as other: ImagingError) -> Bool { kind == other.kind }

    /// The kind and the detail, e.g. `malformed PNG: CRC mismatch in chunk IDAT at byte 33`.
    public var description: String {
        switch kind {
        case .malformedPNG: "malformed PNG: \(detail)"
        case .malformedJPEG: "malformed JPEG: \(detail)"
        case .unsupportedFormat: "unsupported image format: \(detail)"
        case .encodingFailed: "encoding failed: \(detail)"
        case .invalidArgument: "invalid argument: \(detail)"
        case .limitExceeded: "input limit exceeded: \(detail)"
        case .watermarkKey: "watermark key: \(detail)"
        }
    }
}
