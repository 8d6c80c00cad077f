// Role: the one error type of the C2PA code (CBOR, JUMBF, COSE, certificates, manifest building).
// Reference: swift-service-lifecycle's `ServiceRunnerError.swift` (a struct over a private enum,
// built through static members), as `ImagingError`.
// Failure modes: none of its own; every `detail` says what was wrong and where.

/// Errors thrown by the C2PA Content Credentials code. Validation problems of a manifest are not
/// errors: `C2PAValidator` reports them as failure codes.
public struct C2PAError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable {
        case malformedCBOR
        case malformedJUMBF
        case malformedCOSE
        case certificate
        case signing
    }

    private let kind: Kind
    /// What exactly went wrong.
    public let detail: String

    private init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// Bytes that are not CBOR as this module writes it (RFC 8949, strict).
    public static func malformedCBOR(_ detail: String) -> C2PAError { .init(.malformedCBOR, detail) }
    /// Bytes that are not a JUMBF box structure (ISO/IEC 19566-5).
    public static func malformedJUMBF(_ detail: String) -> C2PAError { .init(.malformedJUMBF, detail) }
    /// A CBOR item that is not a COSE_Sign1 structure (RFC 9052).
    public static func malformedCOSE(_ detail: String) -> C2PAError { .init(.malformedCOSE, detail) }
    /// A certificate, key or PEM file that cannot be read, made or used.
    public static func certificate(_ detail: String) -> C2PAError { .init(.certificate, detail) }
    /// A manifest that cannot be built or signed for these inputs.
    public static func signing(_ detail: String) -> C2PAError { .init(.signing, detail) }

    /// Compares kinds only.
    public func isSameKind(as other: C2PAError) -> Bool { kind == other.kind }

    public var description: String {
        switch kind {
        case .malformedCBOR: "malformed CBOR: \(detail)"
        case .malformedJUMBF: "malformed JUMBF: \(detail)"
        case .malformedCOSE: "malformed COSE: \(detail)"
        case .certificate: "certificate: \(detail)"
        case .signing: "C2PA signing: \(detail)"
        }
    }
}
