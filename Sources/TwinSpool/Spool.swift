// Role: the directory queue: scanning `incoming/` and claiming jobs. Endings, recovery and
// submission live in the `Spool+*.swift` extensions.
// Reference: Postfix's queue manager (`qmgr_active.c`, `mail_open_ok.c`) and notqmail
// `INTERNALS.md`: a job's state is its directory, a state change is a `rename(2)`, ENOENT on a
// claim means another claimer won.
//
// State machine (README "Spool"):
//   tmp → incoming → active → done | failed | rejected;  active → incoming (release, retry,
//   deferJob, recover);  incoming → rejected (not a job, duplicate id).
// The claim is one step under the spool-wide lock `state/claim.lock`: check that no other file
// with the same id is in `active/` (else `spool.duplicate_id`), reject other `incoming/` files
// with the same id, open and `flock` the file, rename it into `active/` (the commit point).
// Crash points: before the rename nothing changed; after it, the file sits in `active/` with no
// live lock holder, so `recover` (at start and periodically, on any process) requeues it with the
// attempt counted, or fails it after `maxAttempts`.
//
// Failure modes: symlinks, FIFOs, devices, oversized files, names that are not valid job names
// (including names that are not UTF-8) are moved to `rejected/` with a reason, never followed,
// read whole or deleted. A failed reason write or move throws `SpoolError` (`isTransient` for a
// full or failing disk) and leaves the file where it was.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#endif

/// The directory queue shared by every render process and host on one file system.
public final class Spool: Sendable {
    /// The spool's directories.
    public let layout: SpoolLayout
    /// This host's name, as written into active names and reasons.
    public let host: String
    /// This process's id, as written into active and staging names (for people; liveness is
    /// proven by the claim's `flock`, never by the pid).
    public let pid: Int32
    /// Job files larger than this are refused.
    public let maxJobBytes: Int
    /// Who opened the spool.
    public let access: SpoolAccess
    /// Whether `recover` requeues dead claims of other hosts too (false for spools on NFS
    /// mounted without working locks; see SpoolLayout).
    public let recoverOtherHosts: Bool
    /// Whether a job id that already ended (done, failed, rejected) may be claimed again when it
    /// is dropped again. True keeps the established behaviour: the re-drop is rendered again and
    /// the ledger's idempotent event ids keep it from being charged twice.
    public let redeliverEndedJobs: Bool
    /// Directory modes the daemon changed at start (log them).
    public let permissionFixes: [PermissionFix]
    /// The clock for not-before times and age limits.
    let clock: @Sendable () -> Date
    let spoolLock: SpoolLock

    /// Opens the spool at `root`. The daemon (`access: .daemon`) creates missing directories and
    /// fixes or refuses their modes (see SpoolLayout); a writer only checks `tmp/` and `incoming/`.
    public init(root: URL, host: String, pid: Int32 = getpid(), maxJobBytes: Int = 64 * 1024,
                access: SpoolAccess = .daemon, recoverOtherHosts: Bool = true, redeliverEndedJobs: Bool = true,
                clock: @escaping @Sendable () -> Date = { Date() }) throws {
        do { try HostName.validate(host) } catch { throw SpoolError(error.description) }
        self.layout = SpoolLayout(root: root)
        self.host = host
        self.pid = pid
        self.maxJobBytes = maxJobBytes
        self.access = access
        self.recoverOtherHosts = recoverOtherHosts
        self.redeliverEndedJobs = redeliverEndedJobs
        self.clock = clock
        self.spoolLock = SpoolLock(path: layout.claimLock.path)
        self.permissionFixes = try layout.prepare(access: access)
    }

    // MARK: Scanning

    /// The jobs in `incoming/` that may be claimed now, in claim order (priority, then arrival).
    /// Hidden files (leading `.`) are skipped: they are a writer's business. Deferred jobs whose
    /// not-before time has not come are left out.
    public func pending() throws -> [PendingJob] {
        let dir = layout.incoming.path
        let now = Int64(clock().timeIntervalSince1970.rounded(.down))
        var jobs: [PendingJob] = []
        for raw in try SpoolFiles.names(in: dir) where !raw.isHidden {
            guard let info = try SpoolFiles.lstatEntry(dir, raw) else { continue }
            let parsed = raw.string.flatMap(JobFileName.Incoming.init)
            if let parsed, parsed.notBefore > now { continue }
            var priority = 0
            if parsed != nil, SpoolFiles.type(info) == S_IFREG, Int(info.st_size) <= maxJobBytes,
               let bytes = try? DurableFile.readRegularFile(SpoolFiles.display(dir, raw), limit: maxJobBytes) {
                priority = Self.priority(in: Data(bytes))
            }
            jobs.append(PendingJob(fileName: raw.printable, id: parsed?.id, attempts: parsed?.attempts ?? 0, priority: priority,
                                   arrival: SpoolFiles.date(info.st_mtim), deferrals: parsed?.deferrals ?? 0, rawName: raw))
        }
        return jobs.sorted(by: spoolOrder)
    }

    /// The earliest not-before time of a deferred job in `incoming/` (when to scan again), or nil.
    public func nextDeferredTime() throws -> Date? {
        let times = try SpoolFiles.names(in: layout.incoming.path).compactMap { raw -> Int64? in
            guard let parsed = raw.string.flatMap(JobFileName.Incoming.init), parsed.deferrals > 0 else { return nil }
            return parsed.notBefore
        }
        return times.min().map { Date(timeIntervalSince1970: TimeInterval($0)) }
    }

    /// The `priority` field of a job file, leniently (the full validation happens after the claim).
    static func priority(in data: Data) -> Int {
        struct Priority: Decodable { var priority: Int? }
        guard let value = (try? JSONDecoder().decode(Priority.self, from: data))?.priority, abs(value) <= 1_000_000 else { return 0 }
        return value
    }

    // MARK: Claiming

    /// Claims the first pending job this process can win. Files that cannot be jobs, and
    /// duplicates of a job id in flight, are moved to `rejected/` on the way (reported through
    /// `onRejected`). Returns nil when nothing is left. A file that cannot be moved aside (disk
    /// full) is skipped so the other jobs still run; the first such error is thrown when no job
    /// was claimed.
    public func claimNext(onRejected: (JobReason) -> Void = { _ in }) throws -> ClaimedJob? {
        var firstError: SpoolError?
        for job in try pending() {
            do {
                switch try claim(job, onRejected: onRejected) {
                case .claimed(let claimed): return claimed
                case .lost: continue
                case .rejected(let reason): onRejected(reason)
                }
            } catch let error as SpoolError {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return nil
    }

    /// Claims one pending job (see the file header for the steps). Other `incoming/` files with
    /// the same id are rejected as duplicates and reported through `onRejected`.
    public func claim(_ job: PendingJob, onRejected: (JobReason) -> Void = { _ in }) throws -> ClaimOutcome {
        guard access == .daemon else { throw SpoolError("a spool opened for writing cannot claim jobs") }
        var siblings: [JobReason] = []
        let outcome = try spoolLock.withLock { try claimLocked(job.rawName, siblings: &siblings) }
        siblings.forEach(onRejected)
        return outcome
    }

    /// The claim, under the spool lock.
    private func claimLocked(_ raw: RawName, siblings: inout [JobReason]) throws -> ClaimOutcome {
        let dir = layout.incoming.path
        guard let info = try SpoolFiles.lstatEntry(dir, raw) else { return .lost }
        guard let parsed = raw.string.flatMap(JobFileName.Incoming.init) else {
            return .rejected(try moveAside(dir, raw, id: raw.quarantineStem, code: "job.invalid_name",
                message: "file name '\(raw.printable)' is not '<id>.json' with an id of 1-64 letters, digits, '.', '_' or '-' (or not UTF-8)",
                attempts: 0, into: layout.rejected))
        }
        if parsed.notBefore > Int64(clock().timeIntervalSince1970.rounded(.down)) { return .lost }
        if let (code, message) = entryProblem(info) {
            return .rejected(try moveAside(dir, raw, id: parsed.id, code: code, message: message, attempts: parsed.attempts, into: layout.rejected))
        }
        if let owner = try activeEntry(for: parsed.id) {
            return .rejected(try moveAside(dir, raw, id: parsed.id, code: "spool.duplicate_id",
                message: "job id '\(parsed.id)' is already being rendered (active/\(owner)); a job id runs once at a time, so this copy was not claimed",
                attempts: parsed.attempts, into: layout.rejected))
        }
        if !redeliverEndedJobs, let final = try endedEntry(for: parsed.id) {
            return .rejected(try moveAside(dir, raw, id: parsed.id, code: "spool.already_ended",
                message: "job id '\(parsed.id)' already ended (\(final)); this spool does not redeliver ended jobs", attempts: parsed.attempts, into: layout.rejected))
        }
        guard let fd = try openLocked(dir, raw, expecting: info) else { return .lost }
        let lock = JobLock(fd: fd)
        let active = JobFileName.Active(id: parsed.id, attempt: parsed.attempts + 1, host: host, pid: pid, deferrals: parsed.deferrals)
        guard try SpoolFiles.rename(dir, raw, layout.active.path, RawName(active.name)) else { return .lost }
        try SpoolFiles.fsyncDirectory(layout.active.path)
        try SpoolFiles.fsyncDirectory(dir)
        // Best effort: a sibling left behind is rejected by the next claim (its id is active now).
        siblings = (try? rejectSiblings(of: parsed.id)) ?? []
        return try readClaimed(active, lock: lock, arrival: SpoolFiles.date(info.st_mtim), undo: raw)
    }

    /// Opens an `incoming/` entry and takes its `flock`; nil when it vanished, was replaced since
    /// `lstat`, or someone else holds the lock.
    private func openLocked(_ dir: String, _ raw: RawName, expecting info: stat) throws -> Int32? {
        guard let fd = try SpoolFiles.openEntry(dir, raw) else { return nil }
        var opened = stat()
        let locked: Bool
        do {
            locked = try fstat(fd, &opened) == 0 && SpoolFiles.sameFile(opened, info) && SpoolFiles.type(opened) == S_IFREG
                && SpoolFiles.tryLock(fd: fd, path: SpoolFiles.display(dir, raw))
        } catch {
            close(fd)
            throw error
        }
        guard locked else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Reads a just-claimed file through its locked descriptor; an unreadable file is rejected.
    /// A transient failure (EIO, ENOMEM, ...) undoes the claim (back to `incoming/<undo>`, no
    /// attempt counted) and throws.
    private func readClaimed(_ active: JobFileName.Active, lock: JobLock, arrival: Date, undo: RawName) throws -> ClaimOutcome {
        let path = layout.active.path + "/" + active.name
        let url = URL(fileURLWithPath: path)
        do {
            let data = try lock.withDescriptor { fd -> Data in
                let data = try SpoolFiles.readAll(fd: fd, path: path, limit: maxJobBytes)
                guard fsync(fd) == 0 else { throw SpoolError.system("fsync", path) }
                return data
            } ?? Data()
            return .claimed(ClaimedJob(id: active.id, attempt: active.attempt, deferrals: active.deferrals,
                                       activeURL: url, data: data, arrival: arrival, lock: lock))
        } catch let error as SpoolError {
            defer { lock.release() }
            if error.isTransient {
                _ = try SpoolFiles.rename(layout.active.path, RawName(active.name), layout.incoming.path, undo)
                throw error
            }
            return .rejected(try moveAside(layout.active.path, RawName(active.name), id: active.id, code: "job.unreadable",
                message: "job file cannot be read: \(error.description)", attempts: 0, into: layout.rejected))
        }
    }

    /// Why an `incoming/` entry cannot be a job, judged from its `lstat`; nil when it may be one.
    func entryProblem(_ info: stat) -> (code: String, message: String)? {
        switch SpoolFiles.type(info) {
        case S_IFLNK: return ("job.symlink", "job file is a symbolic link; write the job itself into the spool")
        case S_IFREG: break
        default: return ("job.not_regular_file", "job file is not a regular file (a FIFO, device, socket or directory)")
        }
        guard Int(info.st_size) <= maxJobBytes else {
            return ("job.too_large", "job file is \(info.st_size) bytes; the limit is \(maxJobBytes) (spool.max_job_bytes)")
        }
        return nil
    }
}
