// Role: the errors TwinLedger throws. Every error names what was wrong and where (file and line
// for damaged segments), so an operator can act on the message alone.

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
        case conflictingEvent(eventID: String, field: String)
        case quotaExhausted(grant: String, quota: Int)
        case amountOverflow(String)
        case io(path: String, operation: String, errno: Int32)
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// A draft field is missing or malformed; `reason` names the field.
    public static func invalidDraft(_ reason: String) -> LedgerError { LedgerError(.invalidDraft(reason)) }

    /// The host name cannot name a segment file (allowed: `A-Z a-z 0-9 . _ -`, not starting with `.`).
    public static func invalidHost(_ host: String) -> LedgerError { LedgerError(.invalidHost(host)) }

    /// Another process holds this host's segment open for appending.
    public static func segmentLocked(_ path: String) -> LedgerError { LedgerError(.segmentLocked(path)) }

    /// A complete line of a segment fails its checks; appending to or reading that chain would hide it.
    public static func damagedSegment(file: String, line: Int, reason: String) -> LedgerError {
        LedgerError(.damagedSegment(file: file, line: line, reason: reason))
    }

    /// The event id is already in the ledger with different content (a non-deterministic re-render,
    /// or two jobs with the same id).
    public static func conflictingEvent(eventID: String, field: String) -> LedgerError {
        LedgerError(.conflictingEvent(eventID: eventID, field: field))
    }

    /// Appending would deliver more images under `grant` than its `quota` allows.
    public static func quotaExhausted(grant: String, quota: Int) -> LedgerError {
        LedgerError(.quotaExhausted(grant: grant, quota: quota))
    }

    /// A statement total does not fit in 64-bit minor units.
    public static func amountOverflow(_ what: String) -> LedgerError { LedgerError(.amountOverflow(what)) }

    /// A system call failed.
    public static func io(path: String, operation: String, errno: Int32) -> LedgerError {
        LedgerError(.io(path: path, operation: operation, errno: errno))
    }

    public var description: String {
        switch code {
        case .invalidDraft(let reason): return "invalid royalty event: \(reason)"
        case .invalidHost(let host): return "invalid host name for a ledger segment: \(host.debugDescription)"
        case .segmentLocked(let path): return "ledger segment \(path) is locked by another process"
        case .damagedSegment(let file, let line, let reason): return "\(file):\(line): \(reason)"
        case .conflictingEvent(let id, let field):
            return "event \(id) is already in the ledger with a different \(field)"
        case .quotaExhausted(let grant, let quota): return "grant \(grant) has used its quota of \(quota) images"
        case .amountOverflow(let what): return "amount overflow in \(what)"
        case .io(let path, let operation, let errno):
            return "\(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }
}
