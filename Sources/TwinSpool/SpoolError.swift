// Role: the one error type spool operations throw.
// Reference: swift-service-lifecycle's public error structs (a description plus the underlying
// cause); TwinBase `SystemCallError` for errno classification.
// Failure modes: an error that comes from a failed system call keeps that `SystemCallError`, so
// the daemon can tell a full or failing disk (`isTransient`: ENOSPC, EIO, EACCES, ...) from a
// broken spool. Job-level problems (a damaged file in `incoming/`) are not errors: the file is
// moved to `rejected/` with a `JobReason`.

import Foundation
import TwinBase

/// An error from a spool operation.
public struct SpoolError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, with the path and the system error text where there is one.
    public let description: String
    /// The failed system call behind this error, when there is one.
    public let systemCall: SystemCallError?

    /// Whether the error is about the environment (disk full, I/O error, permissions, too many
    /// open files) and may clear by itself: the daemon should back off and keep the job queued
    /// (see `Spool.deferJob`) instead of counting an attempt.
    public var isTransient: Bool { systemCall?.isTransient ?? false }

    init(_ description: String, systemCall: SystemCallError? = nil) {
        self.description = description
        self.systemCall = systemCall
    }

    /// Wraps a failed system call, optionally with context (`"cannot write the reason for x"`).
    init(_ error: SystemCallError, context: String? = nil) {
        self.description = context.map { "\($0): \(error.description)" } ?? error.description
        self.systemCall = error
    }

    /// A failed system call on `path` with the current errno.
    static func system(_ operation: String, _ path: String, errno code: Int32 = errno) -> SpoolError {
        SpoolError(SystemCallError(operation, path, errno: code))
    }
}
