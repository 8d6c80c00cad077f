/// Errors thrown by `TwinConsent` when reading or writing the consent registry.
///
/// Job-level consent refusals are not errors: they are `ConsentDecision.denied` values.
/// A `ConsentError` means bad input (a malformed flag, file or key) or an I/O failure; its
/// `description` says which file or value and why. Two errors compare equal when they are of the
/// same kind, so tests can match on the static members (`#expect(throws: ConsentError.notFound)`).
public struct ConsentError: Error, Equatable, CustomStringConvertible, Sendable {
    private enum Kind: Sendable {
        case invalidValue
        case malformedFile
        case notFound
        case alreadyExists
        case keyNotRegistered
        case notAuthorized
        case io
    }

    private let kind: Kind
    /// A sentence naming the offending value or file and what is wrong with it.
    public let description: String

    private init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    public static func == (lhs: ConsentError, rhs: ConsentError) -> Bool { lhs.kind == rhs.kind }

    /// A flag or field has a value outside its allowed form or range.
    public static let invalidValue = ConsentError(.invalidValue, "invalid value")
    /// A registry, key or job file could not be parsed.
    public static let malformedFile = ConsentError(.malformedFile, "malformed file")
    /// A party, twin, grant or file named by the caller does not exist.
    public static let notFound = ConsentError(.notFound, "not found")
    /// The registry already holds a different record under that id.
    public static let alreadyExists = ConsentError(.alreadyExists, "already exists")
    /// A private key does not belong to any registered party.
    public static let keyNotRegistered = ConsentError(.keyNotRegistered, "key not registered")
    /// The signing party may not sign this record (e.g. an agency signing a grant).
    public static let notAuthorized = ConsentError(.notAuthorized, "not authorized")
    /// A file-system call failed.
    public static let io = ConsentError(.io, "i/o error")

    static func invalidValue(_ message: String) -> ConsentError { ConsentError(.invalidValue, message) }
    static func malformedFile(_ message: String) -> ConsentError { ConsentError(.malformedFile, message) }
    static func notFound(_ message: String) -> ConsentError { ConsentError(.notFound, message) }
    static func alreadyExists(_ message: String) -> ConsentError { ConsentError(.alreadyExists, message) }
    static func keyNotRegistered(_ message: String) -> ConsentError { ConsentError(.keyNotRegistered, message) }
    static func notAuthorized(_ message: String) -> ConsentError { ConsentError(.notAuthorized, message) }
    static func io(_ message: String) -> ConsentError { ConsentError(.io, message) }
}
