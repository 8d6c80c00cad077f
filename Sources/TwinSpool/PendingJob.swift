// Role: a file waiting in `incoming/` as one scan saw it, and the claim order.
// Reference: Postfix `qmgr_active.c` (scan, then claim; a scan is only a hint).
// Failure modes: a scan is stale the moment it returns; claiming may lose a race (`.lost`).
// Entries whose name does not parse are listed with `id == nil` so the claim rejects them.

import Foundation

/// A file waiting in `incoming/`, as seen by one scan. Claiming it may still lose a race.
public struct PendingJob: Sendable, Equatable {
    /// The file name in `incoming/`, printable (bytes that are not printable ASCII as `\xNN`).
    public let fileName: String
    /// The job id (file name stem, without an attempt suffix); nil when the name is not a valid job name.
    public let id: String?
    /// Attempts already made on this job.
    public let attempts: Int
    /// The job's `priority` field (higher first); 0 when absent or unreadable.
    public let priority: Int
    /// Arrival time: the file's modification time (kept across renames, so a requeued job keeps its place).
    public let arrival: Date
    /// Transient deferrals so far (see `Spool.deferJob`).
    public let deferrals: Int
    /// The name as the file system holds it.
    let rawName: RawName
}

/// Orders pending jobs: higher priority first, then earlier arrival, then name.
public func spoolOrder(_ a: PendingJob, _ b: PendingJob) -> Bool {
    if a.priority != b.priority { return a.priority > b.priority }
    if a.arrival != b.arrival { return a.arrival < b.arrival }
    return a.rawName.bytes.lexicographicallyPrecedes(b.rawName.bytes)
}
