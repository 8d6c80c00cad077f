// Role: the errors TwinLedger throws. Every error names what was wrong and where (file and line
// for damaged segments), so an operator can act on the message alone.
// Reference: swift-service-lifecycle's public error style (a struct wrapping a private enum,
// exposed as static members).
// Failure modes: none (values only); `description` never fails.

import TwinBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the royalty ledger: bad input, a damaged or locked segment, or an I/O failure.
public struct LedgerError: Error, Equatable, CustomStringConvertible {
    private enum Code: Equatable {
        case invalidDraft(String)
        case invalidHost(String)
        case segmentLocked(String)
        case damagedSegment(file: String, line: Int, reason: String)
        case damaged(file: String, reason: String)
        case conflictingEvent(eventID: String, field: String)
        case quotaExhausted(grant: String, quota: Int)
        case amountOverflow(String)
        case unverifiedLedger(problem: String, problemCount: Int)
        case signingFailed(String)
        case io(path: String, operation: String, errno: Int32)
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// A draft field is missing or malformed; `reason` names the field.
    public static func invalidDraft(_ reason: String) -> LedgerError { LedgerError(.invalidDraft(reason)) }

    /// The host name breaks TwinBase's `HostName` rule, so it cannot name a segment file.
    public static func invalidHost(_ host: String) -> LedgerError { LedgerError(.invalidHost(host)) }

    /// Another process holds this host's segment open for appending.
    public static func segmentLocked(_ path: String) -> LedgerError { LedgerError(.segmentLocked(path)) }

    /// A segment is damaged where committed events are (a bad complete line, a segment shorter than
    /// its signed head, a missing segment or head): opening or reading it would hide the damage.
    /// `line` is 1-based; 0 means the file as a whole.
    public static func damagedSegment(file: String, line: Int, reason: String) -> LedgerError {
        LedgerError(.damagedSegment(file: file, line: line, reason: reason))
    }

    /// The open segment changed under the writer (deleted, replaced, truncated or extended by someone
    /// else), or a failed write could not be undone. The ledger refuses every further append until it
    /// is reopened; the daemon logs `ledger.damaged` and requeues the job.
    public static func damaged(file: String, reason: String) -> LedgerError {
        LedgerError(.damaged(file: file, reason: reason))
    }

    /// The event id is already in the ledger (in any host's segment) with different content: two
    /// different deliveries claim the same job id and image index.
    public static func conflictingEvent(eventID: String, field: String) -> LedgerError {
        LedgerError(.conflictingEvent(eventID: eventID, field: field))
    }

    /// Appending would deliver more images under `grant` than its `quota` allows.
    public static func quotaExhausted(grant: String, quota: Int) -> LedgerError {
        LedgerError(.quotaExhausted(grant: grant, quota: quota))
    }

    /// A statement total does not fit in 64-bit minor units.
    public static func amountOverflow(_ what: String) -> LedgerError { LedgerError(.amountOverflow(what)) }

    /// A statement was asked of a ledger that does not verify; `problem` is the first problem found.
    public static func unverifiedLedger(problem: String, problemCount: Int) -> LedgerError {
        LedgerError(.unverifiedLedger(problem: problem, problemCount: problemCount))
    }

    /// The host key could not sign (swift-crypto reported `reason`).
    public static func signingFailed(_ reason: String) -> LedgerError { LedgerError(.signingFailed(reason)) }

    /// A system call failed.
    public static func io(path: String, operation: String, errno: Int32) -> LedgerError {
        LedgerError(.io(path: path, operation: operation, errno: errno))
    }

    /// `io` for a failed TwinBase system call.
    static func io(_ error: SystemCallError) -> LedgerError {
        LedgerError(.io(path: error.path, operation: error.operation, errno: error.code))
    }

    /// A segment is damaged: it changed under the running writer (deleted, truncated, replaced),
    /// a failed write could not be undone, or a reader found a line or length it cannot trust.
    /// Nothing about the job being processed is wrong; an operator must restore the segment.
    public var isDamage: Bool {
        switch code {
        case .damaged, .damagedSegment: return true
        default: return false
        }
    }

    /// A new event was refused because its grant's quota is used up.
    public var isQuotaExhausted: Bool {
        if case .quotaExhausted = code { return true }
        return false
    }

    /// The failure is about the environment (disk full, I/O error, permissions) and may clear by
    /// itself: retry the job later instead of failing it. See `SystemCallError.isTransient`.
    public var isTransient: Bool {
        if case .io(let path, let operation, let errno) = code {
            return SystemCallError(operation, path, errno: errno).isTransient
        }
        return false
    }

    public var description: String {
        switch code {
        case .invalidDraft(let reason): return "invalid royalty event: \(reason)"
        case .invalidHost(let host): return "invalid host name for a ledger segment: \(host.debugDescription)"
        case .segmentLocked(let path): return "ledger segment \(path) is locked by another process"
        case .damagedSegment(let file, let line, let reason): return "\(file):\(line): \(reason)"
        case .damaged(let file, let reason): return "ledger segment \(file) is damaged: \(reason); appending stopped"
        case .conflictingEvent(let id, let field):
            return "event \(id) is already in the ledger with a different \(field)"
        case .quotaExhausted(let grant, let quota): return "grant \(grant) has used its quota of \(quota) images"
        case .amountOverflow(let what): return "amount overflow in \(what)"
        case .unverifiedLedger(let problem, let count):
            return "the ledger does not verify (\(count) problem\(count == 1 ? "" : "s"), first: \(problem)); no statement is built from it"
        case .signingFailed(let reason): return "cannot sign with the host key: \(reason)"
        case .io(let path, let operation, let errno):
            return "\(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }
}
