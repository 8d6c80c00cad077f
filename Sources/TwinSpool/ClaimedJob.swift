import Foundation

/// A job this process owns: its file sits in `active/` under a name carrying this host and pid.
public struct ClaimedJob: Sendable {
    /// The job id.
    public let id: String
    /// This attempt's number, from 1.
    public let attempt: Int
    /// The file in `active/`.
    public let activeURL: URL
    /// The job file's bytes (at most the spool's size limit).
    public let data: Data
    /// When the job arrived in the spool.
    public let arrival: Date
}

/// What a claim attempt came to.
public enum ClaimOutcome: Sendable {
    /// This process owns the job now.
    case claimed(ClaimedJob)
    /// Another claimer renamed the file first.
    case lost
    /// The file could not be a job (symlink, not a regular file, too large, unreadable, bad name)
    /// and was moved to `rejected/` with this reason.
    case rejected(JobReason)
}
