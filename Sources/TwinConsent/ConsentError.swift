// Role: the one error type of TwinConsent (bad input, I/O, a tampered or rolled-back registry).
// Reference: the struct-wrapping-a-private-enum pattern of swift-service-lifecycle's
// `ServiceRunnerError`.
// Failure modes: none of its own; every description names the file, line or value at fault.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#endif

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
        case registryTampered
        case registryRolledBack
        case badTag
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
    /// A line of the registry log was deleted, inserted, reordered or edited: its hash chain
    /// breaks. The whole registry is untrusted (nothing is allowed) until it is restored.
    public static let registryTampered = ConsentError(.registryTampered, "registry log tampered")
    /// The registry log is shorter than the newest head this host has seen, or has a different
    /// line at that position (a rollback to an older copy, or a fork).
    public static let registryRolledBack = ConsentError(.registryRolledBack, "registry log rolled back")
    /// A content tag is not one token of `a-z 0-9 -` after normalisation (the daemon maps it to
    /// `job.bad_tag`).
    public static let badTag = ConsentError(.badTag, "bad content tag")

    static func invalidValue(_ message: String) -> ConsentError { ConsentError(.invalidValue, message) }
    static func malformedFile(_ message: String) -> ConsentError { ConsentError(.malformedFile, message) }
    static func notFound(_ message: String) -> ConsentError { ConsentError(.notFound, message) }
    static func alreadyExists(_ message: String) -> ConsentError { ConsentError(.alreadyExists, message) }
    static func keyNotRegistered(_ message: String) -> ConsentError { ConsentError(.keyNotRegistered, message) }
    static func notAuthorized(_ message: String) -> ConsentError { ConsentError(.notAuthorized, message) }
    static func io(_ message: String) -> ConsentError { ConsentError(.io, message) }
    static func registryTampered(_ message: String) -> ConsentError { ConsentError(.registryTampered, message) }
    static func registryRolledBack(_ message: String) -> ConsentError { ConsentError(.registryRolledBack, message) }
    static func badTag(_ message: String) -> ConsentError { ConsentError(.badTag, message) }

    /// The refusal code for a job refused because of this error, when it is about the registry
    /// log's integrity (`consent.registry_untrusted`); nil for other errors.
    public var denialCode: ConsentCode? {
        kind == .registryTampered || kind == .registryRolledBack ? .registryUntrusted : nil
    }

    /// A failed system call as an I/O error.
    static func io(_ error: SystemCallError) -> ConsentError { ConsentError(.io, error.description) }

    /// A failed bounded read: a missing file is `notFound`, a symlink or oversized file
    /// `malformedFile`, anything else `io`.
    static func read(_ problem: DurableFile.ReadProblem) -> ConsentError {
        switch problem {
        case .system(let error) where error.code == ENOENT: return ConsentError(.notFound, error.description)
        case .system(let error): return ConsentError(.io, error.description)
        case .notRegular, .tooLarge: return ConsentError(.malformedFile, problem.description)
        }
    }
}

/// Reads a regular file of at most `limit` bytes (no symlinks), as a `ConsentError` on failure.
func readRegularFile(_ url: URL, limit: Int) throws(ConsentError) -> [UInt8] {
    do throws(DurableFile.ReadProblem) {
        return try DurableFile.readRegularFile(url.path, limit: limit)
    } catch {
        throw ConsentError.read(error)
    }
}

/// Runs `body` holding the exclusive lock file `path` (TwinBase `DurableFile.withExclusiveLock`);
/// a lock that cannot be opened or taken is `ConsentError.io`, which the daemon treats as transient.
func withRegistryLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do {
        return try DurableFile.withExclusiveLock(path, body)
    } catch let error as SystemCallError {
        throw ConsentError.io(error)
    }
}
