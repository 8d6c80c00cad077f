import Foundation

/// A file waiting in `incoming/`, as seen by one scan. Claiming it may still lose a race.
public struct PendingJob: Sendable, Equatable {
    /// The file name in `incoming/`.
    public let fileName: String
    /// The job id (file name stem, without an attempt suffix); nil when the name is not a valid job name.
    public let id: String?
    /// Attempts already made on this job.
    public let attempts: Int
    /// The job's `priority` field (higher first); 0 when absent or unreadable.
    public let priority: Int
    /// Arrival time: the file's modification time (kept across renames, so a requeued job keeps its place).
    public let arrival: Date
}

/// Orders pending jobs: higher priority first, then earlier arrival, then name.
public func spoolOrder(_ a: PendingJob, _ b: PendingJob) -> Bool {
    if a.priority != b.priority { return a.priority > b.priority }
    if a.arrival != b.arrival { return a.arrival < b.arrival }
    return a.fileName < b.fileName
}
