// Role: how one claimed job ended in this process (for statistics and the worker loop).
// Failure modes: none (values only).

/// How one claimed job ended in this process.
enum JobOutcome: Sendable, Equatable {
    /// Every image is in `out/` with its royalty event; the job is in `done/`.
    case delivered(images: Int)
    /// Refused (invalid job or no consent); the job is in `rejected/`.
    case rejected(code: String)
    /// The render failed; the job is back in `incoming/` with this attempt counted.
    case requeued(code: String)
    /// The render failed for the last allowed time; the job is in `failed/`.
    case failed(code: String)
    /// A transient fault (disk full, store down): the job is back in `incoming/`, its attempt not
    /// counted, and waits for a backoff.
    case deferred(code: String)
    /// Shutdown stopped the render; the job is back in `incoming/` as it was.
    case released
}
