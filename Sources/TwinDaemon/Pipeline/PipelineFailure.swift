// Role: how the pipeline classifies what went wrong with a job, so each kind ends the right way:
// a refusal is final (`rejected/`), a render failure counts an attempt, and a transient fault of
// the environment (disk full, I/O error, permissions, a store that is down, an unwritable audit
// log, a damaged ledger) puts the job back with backoff and counts no attempt.
// Failure modes: an error of unknown type is treated as a render failure (an attempt counts).

import Foundation
import TwinBase
import TwinConsent
import TwinLedger
import TwinSpool

/// A classified pipeline failure.
struct PipelineFailure: Error, CustomStringConvertible {
    /// How the job ends.
    enum Kind {
        /// Put back without counting an attempt; retried after a backoff.
        case transient
        /// Counts an attempt; `failed/` after `spool.max_attempts`.
        case attempt
        /// Straight to `failed/` (deterministic: another attempt fails the same way).
        case permanent
    }

    let kind: Kind
    /// Reason code, e.g. `ledger.append_failed`.
    let code: String
    /// What happened, with the real cause (errno text).
    let message: String

    var description: String { "\(code): \(message)" }

    /// Classifies `error`, met while doing `code`'s step.
    static func classify(_ error: any Error, code: String, context what: String) -> PipelineFailure {
        if let failure = error as? PipelineFailure { return failure }
        let message = "\(what): \(error)"
        return PipelineFailure(kind: isTransient(error) ? .transient : .attempt, code: code, message: message)
    }

    /// Whether `error` is a fault of the environment that may clear by itself.
    static func isTransient(_ error: any Error) -> Bool {
        switch error {
        case let e as SystemCallError: return e.isTransient
        case let e as SpoolError: return e.isTransient
        case let e as ConsentError: return e == ConsentError.io
        case let e as LedgerError: return e.isDamage || e.isTransient
        default: return false
        }
    }
}
