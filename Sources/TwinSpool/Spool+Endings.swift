// Role: how a claimed job leaves `active/`: to `done/`, `failed/` or `rejected/` (final), or back
// to `incoming/` (release, retry, deferJob); and the shared "move aside with a reason" step.
// Reference: notqmail `INTERNALS.md` §2–6 (reason first, then the rename that commits);
// river's fencing: an ending first checks that the file at the active path is still the one
// this claim locked.
// Failure modes and crash points: a final ending writes the reason/result atomically, then
// renames the job (the commit point). A crash between the two leaves the job in `active/`
// without a live lock: `recover` requeues it (the attempt counted) and the ending is redone; the
// stray reason is overwritten because the stem is chosen again the same way. A move back to
// `incoming/` is one rename with no other write, so it works on a full disk, and a crash leaves
// the job either still in `active/` (recovered as above) or requeued. Every failure throws
// `SpoolError` (transient for ENOSPC/EIO/...) with the job left where it was and still held.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#endif

extension Spool {
    // MARK: Final endings

    /// Moves a finished job to `done/`, with an optional result record (`<id>.result.json`).
    public func complete(_ job: ClaimedJob, result: Data? = nil) throws {
        try checkHeld(job)
        let stem = try finalStem(for: job.id, in: layout.done)
        if let result {
            try SpoolFiles.replace(result, at: layout.done.path + "/\(stem).result.json")
        }
        try finish(job, into: layout.done, stem: stem)
    }

    /// Moves a job to `failed/` next to its reason.
    @discardableResult
    public func fail(_ job: ClaimedJob, code: String, message: String) throws -> JobReason {
        try checkHeld(job)
        let reason = try moveAside(layout.active.path, job.activeName, id: job.id, code: code, message: message,
                                   attempts: job.attempt, into: layout.failed)
        job.lock.release()
        return reason
    }

    /// Moves a job to `rejected/` next to its reason.
    @discardableResult
    public func reject(_ job: ClaimedJob, code: String, message: String) throws -> JobReason {
        try checkHeld(job)
        let reason = try moveAside(layout.active.path, job.activeName, id: job.id, code: code, message: message,
                                   attempts: job.attempt, into: layout.rejected)
        job.lock.release()
        return reason
    }

    // MARK: Back to incoming

    /// Puts a job back in `incoming/` as it was before this claim (shutdown before it finished):
    /// the interrupted attempt is not counted and no not-before time is set.
    public func release(_ job: ClaimedJob) throws {
        try requeue(job, as: JobFileName.Incoming(id: job.id, attempts: job.attempt - 1))
    }

    /// Puts a job back in `incoming/` counting this attempt (the render failed and may succeed
    /// on another try), or moves it to `failed/` when `maxAttempts` is reached.
    /// Returns the reason when the job failed for good.
    public func retry(_ job: ClaimedJob, maxAttempts: Int, code: String, message: String) throws -> JobReason? {
        if job.attempt >= maxAttempts {
            return try fail(job, code: code, message: "\(message) (attempt \(job.attempt) of \(maxAttempts))")
        }
        try requeue(job, as: JobFileName.Incoming(id: job.id, attempts: job.attempt))
        return nil
    }

    /// Returns a job to `incoming/` after a transient error (disk full, registry or ledger
    /// unreadable) WITHOUT counting an attempt; it is not claimable before `notBefore` (kept in
    /// its name, so it survives restarts; its mtime, hence its place in the queue, is kept).
    /// `job.deferrals + 1` is recorded for the next claim, so the caller's backoff can grow.
    /// `code` and `message` only go into the returned reason (for the log). One rename, no
    /// other write: it works on a full disk.
    @discardableResult
    public func deferJob(_ job: ClaimedJob, code: String, message: String, notBefore: Date) throws -> JobReason {
        let seconds = Int64(notBefore.timeIntervalSince1970.rounded(.up))
        let until = min(max(seconds, 0), UTCTimestamp.maxSeconds)
        let deferrals = min(job.deferrals + 1, JobFileName.maxAttempts)
        try requeue(job, as: JobFileName.Incoming(id: job.id, attempts: job.attempt - 1, deferrals: deferrals, notBefore: until))
        return JobReason(code: code, message: "\(message) (deferred \(deferrals) times; not before \(UTCTimestamp(secondsSinceEpoch: until)))",
                         job: job.id, host: host, attempts: job.attempt - 1, at: clock())
    }

    /// Renames a held job back into `incoming/` and releases its lock, under the spool lock.
    /// A file of the same id that was dropped into `incoming/` meanwhile is rejected as a
    /// duplicate first, so the rename never replaces it.
    private func requeue(_ job: ClaimedJob, as target: JobFileName.Incoming) throws {
        try checkHeld(job)
        try spoolLock.withLock {
            _ = try rejectSiblings(of: job.id)
            guard try SpoolFiles.rename(layout.active.path, job.activeName, layout.incoming.path, RawName(target.name)) else {
                throw SpoolError("job file vanished from active/ before it could be requeued: \(job.activeURL.path)")
            }
            // Released inside the spool lock, so the next claimer never finds the file locked.
            job.lock.release()
            try SpoolFiles.fsyncDirectory(layout.incoming.path)
            try SpoolFiles.fsyncDirectory(layout.active.path)
        }
    }

    /// Renames a held job into a final directory as `<stem>.json`, fsyncs, releases the lock.
    private func finish(_ job: ClaimedJob, into directory: URL, stem: String) throws {
        guard try SpoolFiles.rename(layout.active.path, job.activeName, directory.path, RawName("\(stem).json")) else {
            throw SpoolError("job file vanished from active/ before it could be moved: \(job.activeURL.path)")
        }
        try SpoolFiles.fsyncDirectory(directory.path)
        try SpoolFiles.fsyncDirectory(layout.active.path)
        job.lock.release()
    }

    /// Throws unless this claim still holds its lock and the file at the active path is the
    /// file it locked (the fencing check: nobody requeued or replaced it meanwhile).
    func checkHeld(_ job: ClaimedJob) throws {
        guard access == .daemon else { throw SpoolError("a spool opened for writing cannot end jobs") }
        let same = job.lock.withDescriptor { fd -> Bool in
            var held = stat(), there = stat()
            return fstat(fd, &held) == 0 && lstat(job.activeURL.path, &there) == 0 && SpoolFiles.sameFile(held, there)
        }
        guard let same else { throw SpoolError("job '\(job.id)' was already ended or released by this process") }
        guard same else { throw SpoolError("job '\(job.id)' is no longer at \(job.activeURL.path): another process took it over; not touching it") }
    }

    // MARK: Moving aside

    /// Writes `<stem>.reason.json` into `directory`, then renames `from/name` to `<stem>.json`
    /// there. Used for every failed or rejected file, claimed or not.
    func moveAside(_ from: String, _ name: RawName, id: String, code: String, message: String,
                   attempts: Int, into directory: URL) throws -> JobReason {
        let reason = JobReason(code: code, message: message, job: id, host: host, attempts: attempts, at: clock())
        let stem = try finalStem(for: id, in: directory)
        do {
            try SpoolFiles.replace(reason.encoded(), at: directory.path + "/\(stem).reason.json")
        } catch let error as SpoolError {
            guard let call = error.systemCall else { throw error }
            throw SpoolError(call, context: "cannot write the reason for \(SpoolFiles.display(from, name))")
        }
        guard try SpoolFiles.rename(from, name, directory.path, RawName("\(stem).json")) else {
            throw SpoolError("file vanished before it could be moved to \(directory.lastPathComponent)/: \(SpoolFiles.display(from, name))")
        }
        try SpoolFiles.fsyncDirectory(directory.path)
        try SpoolFiles.fsyncDirectory(from)
        return reason
    }

    /// `<id>` or, when a job file of that name is already there (a re-dropped id), `<id>.<n>`.
    func finalStem(for id: String, in directory: URL) throws -> String {
        var stem = id
        var n = 1
        while try SpoolFiles.lstatEntry(directory.path, RawName("\(stem).json")) != nil {
            n += 1
            stem = "\(id).\(n)"
        }
        return stem
    }

    // MARK: Duplicates

    /// The `active/` name holding job `id`, if any (any host, alive or not: a dead claim is
    /// recovered and rerun, so the id is still in flight).
    func activeEntry(for id: String) throws -> String? {
        try SpoolFiles.names(in: layout.active.path).lazy.compactMap(\.string).first { JobFileName.Active($0)?.id == id }
    }

    /// Where job `id` ended (`done/<id>.json`, ...), if it did.
    func endedEntry(for id: String) throws -> String? {
        for dir in [layout.done, layout.failed, layout.rejected] where try SpoolFiles.lstatEntry(dir.path, RawName("\(id).json")) != nil {
            return "\(dir.lastPathComponent)/\(id).json"
        }
        return nil
    }

    /// Moves every `incoming/` file of job `id` to `rejected/` as `spool.duplicate_id` (called
    /// under the spool lock while the id is in `active/`).
    func rejectSiblings(of id: String) throws -> [JobReason] {
        var reasons: [JobReason] = []
        for raw in try SpoolFiles.names(in: layout.incoming.path) {
            guard let name = raw.string, let parsed = JobFileName.Incoming(name), parsed.id == id else { continue }
            reasons.append(try moveAside(layout.incoming.path, raw, id: id, code: "spool.duplicate_id",
                message: "job id '\(id)' is already in flight (claimed by \(host)); a job id runs once at a time, so this copy (incoming/\(name)) was not claimed",
                attempts: parsed.attempts, into: layout.rejected))
        }
        return reasons
    }
}
