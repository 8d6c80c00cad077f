// Role: the record of why a job ended in `failed/` or `rejected/` (or was deferred).
// Reference: Postfix's defer/bounce logs (a code for machines, a sentence for people).
// Failure modes: encoding cannot fail (strings, integers, a date); writing it is the caller's
// business (`Spool.moveAside`, which throws a classifiable `SpoolError`).

import Foundation

/// Why a job ended in `failed/` or `rejected/`: a machine-readable code (`job.malformed_json`,
/// `consent.expired`, `job.max_attempts`, …) and a sentence for people. Written next to the job
/// as `<id>.reason.json`.
public struct JobReason: Codable, Sendable, Equatable {
    /// Machine-readable code, dotted, lowercase.
    public var code: String
    /// A human sentence saying what was wrong and, where possible, how to fix it.
    public var message: String
    /// The job id.
    public var job: String
    /// The host that decided.
    public var host: String
    /// Attempts made (0 when the job was refused before any render).
    public var attempts: Int
    /// When the decision was made (UTC).
    public var at: Date

    /// A reason decided now (or `at`).
    public init(code: String, message: String, job: String, host: String, attempts: Int, at: Date = Date()) {
        self.code = code
        self.message = message
        self.job = job
        self.host = host
        self.attempts = attempts
        self.at = at
    }

    /// JSON encoding with sorted keys and ISO 8601 dates.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        do {
            return try encoder.encode(self)
        } catch {
            preconditionFailure("JobReason holds only strings, integers and a date; encoding cannot fail: \(error)")
        }
    }
}
