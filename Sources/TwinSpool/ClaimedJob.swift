// Role: a job this process owns, and what a claim attempt came to.
// Reference: riverqueue/river job rows (attempt, owner, lease held for the work's duration).
// Failure modes: the claim's `flock` lives in `lock`; every ending (complete, fail, reject,
// release, retry, deferJob) moves the file first and then releases it. A `ClaimedJob` whose
// last copy is dropped without an ending releases the lock too, so the job becomes recoverable
// (the interrupted attempt is counted) instead of stuck.

import Foundation

/// A job this process owns: its file sits in `active/` under a name carrying this host and pid,
/// and this value holds the `flock` that proves the claim is alive.
public struct ClaimedJob: Sendable {
    /// The job id.
    public let id: String
    /// This attempt's number, from 1 (attempts counted before this claim, plus one).
    public let attempt: Int
    /// How many times in a row the job was deferred for transient errors (`Spool.deferJob`);
    /// reset by a counted attempt (`retry`). The daemon's backoff grows with it.
    public let deferrals: Int
    /// The file in `active/`.
    public let activeURL: URL
    /// The job file's bytes (at most the spool's size limit).
    public let data: Data
    /// When the job arrived in the spool (the file's mtime, kept by every rename).
    public let arrival: Date
    /// The claim's lock on the active file.
    let lock: JobLock

    /// Whether this process still holds the claim (false after an ending).
    public var isHeld: Bool { lock.isHeld }

    /// The active file's name.
    var activeName: RawName { RawName(activeURL.lastPathComponent) }
}

/// What a claim attempt came to.
public enum ClaimOutcome: Sendable {
    /// This process owns the job now.
    case claimed(ClaimedJob)
    /// Another claimer took the file first, or it is deferred and not claimable yet.
    case lost
    /// The file could not be a job (symlink, not a regular file, too large, unreadable, bad
    /// name) or duplicates a job id already in flight (`spool.duplicate_id`), and was moved to
    /// `rejected/` with this reason.
    case rejected(JobReason)
}
