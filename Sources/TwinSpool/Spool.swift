import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The directory queue. Follows Postfix's queue manager and notqmail's INTERNALS: a job's state
/// is its directory, a state change is a `rename(2)`, ENOENT on a claim means another claimer won.
///
/// State machine (see README "Spool"): `tmp → incoming → active → done | failed | rejected`,
/// and `active → incoming` on requeue. The claim rename is the single commit point of a claim;
/// after a crash at any instant the file is in exactly one directory, and `recover` returns
/// this host's orphans in `active/` to `incoming/` with their attempt count.
///
/// Failure modes handled here: symlinks, non-regular files, oversized files and invalid names in
/// `incoming/` are moved to `rejected/` with a reason, never followed, read whole or deleted.
public final class Spool: Sendable {
    /// The spool's directories.
    public let layout: SpoolLayout
    /// This host's name, as written into active names and reasons.
    public let host: String
    /// This process's id, as written into active names.
    public let pid: Int32
    /// Job files larger than this are refused.
    public let maxJobBytes: Int

    /// Opens (and creates if needed) the spool at `root`.
    public init(root: URL, host: String, pid: Int32 = getpid(), maxJobBytes: Int = 64 * 1024) throws {
        guard JobFileName.isValidHost(host) else { throw SpoolError("invalid host name '\(host)' (empty, '~' or '/')") }
        self.layout = SpoolLayout(root: root)
        self.host = host
        self.pid = pid
        self.maxJobBytes = maxJobBytes
        try layout.create()
    }

    // MARK: Scanning

    /// The jobs now in `incoming/`, in claim order (priority, then arrival). Hidden files
    /// (leading `.`) are skipped: they are a writer's business.
    public func pending() throws -> [PendingJob] {
        let dir = layout.incoming.path
        var jobs: [PendingJob] = []
        for name in try FileOps.names(in: dir) where !name.hasPrefix(".") {
            guard let st = FileOps.lstatEntry(dir + "/" + name) else { continue }
            let arrival = Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec) + TimeInterval(st.st_mtim.tv_nsec) / 1e9)
            let parsed = JobFileName.Incoming(name)
            var priority = 0
            if parsed != nil, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) <= maxJobBytes,
               let data = try? FileOps.readRegularFile(dir + "/" + name, limit: maxJobBytes) {
                priority = Self.priority(in: data)
            }
            jobs.append(PendingJob(fileName: name, id: parsed?.id, attempts: parsed?.attempts ?? 0, priority: priority, arrival: arrival))
        }
        return jobs.sorted(by: spoolOrder)
    }

    /// The `priority` field of a job file, leniently (the full validation happens after the claim).
    static func priority(in data: Data) -> Int {
        struct Priority: Decodable { var priority: Int? }
        guard let value = (try? JSONDecoder().decode(Priority.self, from: data))?.priority, abs(value) <= 1_000_000 else { return 0 }
        return value
    }

    // MARK: Claiming

    /// Claims the first pending job this process can win. Files that cannot be jobs are moved
    /// to `rejected/` on the way (reported through `onRejected`). Returns nil when nothing is left.
    public func claimNext(onRejected: (JobReason) -> Void = { _ in }) throws -> ClaimedJob? {
        for job in try pending() {
            switch try claim(job) {
            case .claimed(let claimed): return claimed
            case .lost: continue
            case .rejected(let reason): onRejected(reason)
            }
        }
        return nil
    }

    /// Claims one pending job: rename into `active/` (the commit point), fsync the file and both
    /// directories, then read it without following links and within the size limit.
    public func claim(_ job: PendingJob) throws -> ClaimOutcome {
        let from = layout.incoming.path + "/" + job.fileName
        let id = job.id ?? Self.quarantineID(for: job.fileName)
        let active = JobFileName.Active(id: id, attempt: job.attempts + 1, host: host, pid: pid)
        let to = layout.active.path + "/" + active.name
        guard try FileOps.rename(from, to) else { return .lost }
        try FileOps.fsync(path: layout.active.path)
        try FileOps.fsync(path: layout.incoming.path)
        let activeURL = URL(fileURLWithPath: to)

        guard job.id != nil else {
            return .rejected(try reject(activeURL: activeURL, id: id, code: "job.invalid_name",
                message: "file name '\(Self.printable(job.fileName))' is not '<id>.json' with an id of 1-64 letters, digits, '.', '_' or '-'", attempts: 0))
        }
        guard let st = FileOps.lstatEntry(to) else { throw SpoolError("claimed file vanished: \(to)") }
        if (st.st_mode & S_IFMT) == S_IFLNK {
            return .rejected(try reject(activeURL: activeURL, id: id, code: "job.symlink", message: "job file is a symbolic link; write the job itself into the spool", attempts: 0))
        }
        if (st.st_mode & S_IFMT) != S_IFREG {
            return .rejected(try reject(activeURL: activeURL, id: id, code: "job.not_regular_file", message: "job file is not a regular file", attempts: 0))
        }
        if Int(st.st_size) > maxJobBytes {
            return .rejected(try reject(activeURL: activeURL, id: id, code: "job.too_large",
                message: "job file is \(st.st_size) bytes; the limit is \(maxJobBytes)", attempts: 0))
        }
        let data: Data
        do {
            data = try FileOps.readRegularFile(to, limit: maxJobBytes)
            try FileOps.fsync(path: to)
        } catch {
            return .rejected(try reject(activeURL: activeURL, id: id, code: "job.unreadable", message: "job file cannot be read: \(error)", attempts: 0))
        }
        let arrival = Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec) + TimeInterval(st.st_mtim.tv_nsec) / 1e9)
        return .claimed(ClaimedJob(id: id, attempt: active.attempt, activeURL: activeURL, data: data, arrival: arrival))
    }

    // MARK: Finishing

    /// Moves a finished job to `done/`, with an optional result record (`<id>.result.json`).
    public func complete(_ job: ClaimedJob, result: Data? = nil) throws {
        let stem = try finalStem(for: job.id, in: layout.done)
        if let result {
            try FileOps.writeAtomically(result, to: layout.done.path + "/\(stem).result.json", stagingDirectory: layout.tmp.path)
        }
        try move(job.activeURL.path, to: layout.done.path + "/\(stem).json")
    }

    /// Moves a job to `failed/` next to its reason.
    public func fail(_ job: ClaimedJob, code: String, message: String) throws -> JobReason {
        try reject(activeURL: job.activeURL, id: job.id, code: code, message: message, attempts: job.attempt, into: layout.failed)
    }

    /// Moves a job to `rejected/` next to its reason.
    public func reject(_ job: ClaimedJob, code: String, message: String) throws -> JobReason {
        try reject(activeURL: job.activeURL, id: job.id, code: code, message: message, attempts: job.attempt, into: layout.rejected)
    }

    /// Puts a job back in `incoming/` as it was before this claim (shutdown before it finished):
    /// the interrupted attempt is not counted.
    public func release(_ job: ClaimedJob) throws {
        let name = JobFileName.Incoming(id: job.id, attempts: job.attempt - 1).name
        try move(job.activeURL.path, to: layout.incoming.path + "/" + name)
    }

    /// Puts a job back in `incoming/` counting this attempt (the render failed and may succeed
    /// on another try), or moves it to `failed/` when `maxAttempts` is reached.
    /// Returns the reason when the job failed for good.
    public func retry(_ job: ClaimedJob, maxAttempts: Int, code: String, message: String) throws -> JobReason? {
        if job.attempt >= maxAttempts {
            return try fail(job, code: code, message: "\(message) (attempt \(job.attempt) of \(maxAttempts))")
        }
        let name = JobFileName.Incoming(id: job.id, attempts: job.attempt).name
        try move(job.activeURL.path, to: layout.incoming.path + "/" + name)
        return nil
    }

    /// Whether a job with this id already finished (done, failed or rejected) or waits/runs now.
    public func knows(id: String) throws -> Bool {
        for dir in [layout.done, layout.failed, layout.rejected] where FileOps.lstatEntry(dir.path + "/\(id).json") != nil {
            return true
        }
        if try FileOps.names(in: layout.incoming.path).contains(where: { JobFileName.Incoming($0)?.id == id }) { return true }
        return try FileOps.names(in: layout.active.path).contains(where: { JobFileName.Active($0)?.id == id })
    }

    /// Ids of the jobs waiting in `incoming/` or claimed in `active/` by any host. Read `active/`
    /// first: a job moves from `incoming/` to `active/` when claimed, so it is seen in one of them.
    public func idsInFlight() throws -> Set<String> {
        var ids = Set(try FileOps.names(in: layout.active.path).compactMap { JobFileName.Active($0)?.id })
        ids.formUnion(try FileOps.names(in: layout.incoming.path).compactMap { JobFileName.Incoming($0)?.id })
        return ids
    }

    // MARK: Recovery

    /// What `recover` did.
    public struct Recovery: Sendable {
        /// Jobs put back in `incoming/`, with the attempts made so far.
        public var requeued: [(id: String, attempts: Int)] = []
        /// Jobs moved to `failed/` after `maxAttempts`.
        public var failed: [JobReason] = []
    }

    /// Returns this host's orphaned jobs in `active/` (their process is gone) to `incoming/`,
    /// counting the interrupted attempt; after `maxAttempts` they go to `failed/`. Jobs of other
    /// hosts, and of live processes on this host, are left alone.
    public func recover(maxAttempts: Int) throws -> Recovery {
        var recovery = Recovery()
        for name in try FileOps.names(in: layout.active.path) {
            guard let entry = JobFileName.Active(name), entry.host == host, entry.pid != pid, !Self.isAlive(entry.pid) else { continue }
            let path = layout.active.path + "/" + name
            if entry.attempt >= maxAttempts {
                let reason = try reject(activeURL: URL(fileURLWithPath: path), id: entry.id, code: "job.max_attempts",
                    message: "the render was interrupted \(entry.attempt) times (last by process \(entry.pid) on \(entry.host)); giving up after max_attempts = \(maxAttempts)",
                    attempts: entry.attempt, into: layout.failed)
                recovery.failed.append(reason)
            } else {
                let target = layout.incoming.path + "/" + JobFileName.Incoming(id: entry.id, attempts: entry.attempt).name
                guard try FileOps.rename(path, target) else { continue }
                recovery.requeued.append((entry.id, entry.attempt))
            }
        }
        if !recovery.requeued.isEmpty {
            try FileOps.fsync(path: layout.incoming.path)
            try FileOps.fsync(path: layout.active.path)
        }
        return recovery
    }

    /// Whether a process with this pid exists on this host.
    static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    // MARK: Submitting

    /// Writes a job atomically: stage in `tmp/`, fsync, rename into `incoming/<id>.json` without
    /// replacing anything, fsync `incoming/`. Refuses an id the spool already knows.
    public func submit(_ data: Data, id: String) throws {
        guard JobFileName.isValidID(id) else { throw SpoolError("invalid job id '\(Self.printable(id))'") }
        guard data.count <= maxJobBytes else { throw SpoolError("job is \(data.count) bytes; the limit is \(maxJobBytes)") }
        guard try !knows(id: id) else { throw SpoolError("a job with id '\(id)' is already in the spool") }
        let staging = layout.tmp.path + "/\(id).\(pid).\(UInt32.random(in: 0...UInt32.max)).json"
        try FileOps.writeNew(data, to: staging)
        guard try FileOps.renameNoReplace(staging, layout.incoming.path + "/\(id).json") else {
            unlink(staging)
            throw SpoolError("a job with id '\(id)' is already in incoming/")
        }
        try FileOps.fsync(path: layout.incoming.path)
    }

    // MARK: Counts

    /// Number of job files per queue directory (reason and result files not counted), and images in `out/`.
    public func counts() -> [String: Int] {
        var counts: [String: Int] = [:]
        for (name, url) in layout.queueDirectories {
            let names = (try? FileOps.names(in: url.path)) ?? []
            counts[name] = names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".reason.json") && !$0.hasSuffix(".result.json") }.count
        }
        return counts
    }

    // MARK: Internals

    private func reject(activeURL: URL, id: String, code: String, message: String, attempts: Int, into directory: URL? = nil) throws -> JobReason {
        let directory = directory ?? layout.rejected
        let reason = JobReason(code: code, message: message, job: id, host: host, attempts: attempts)
        let stem = try finalStem(for: id, in: directory)
        try FileOps.writeAtomically(reason.encoded(), to: directory.path + "/\(stem).reason.json", stagingDirectory: layout.tmp.path)
        try move(activeURL.path, to: directory.path + "/\(stem).json")
        return reason
    }

    /// `<id>` or, when a file of that name is already there (a resubmitted id), `<id>.<n>`.
    private func finalStem(for id: String, in directory: URL) throws -> String {
        var stem = id
        var n = 1
        while FileOps.lstatEntry(directory.path + "/\(stem).json") != nil {
            n += 1
            stem = "\(id).\(n)"
        }
        return stem
    }

    private func move(_ from: String, to: String) throws {
        guard try FileOps.rename(from, to) else { throw SpoolError("job file vanished before it could be moved: \(from)") }
        try FileOps.fsync(path: (to as NSString).deletingLastPathComponent)
        try FileOps.fsync(path: (from as NSString).deletingLastPathComponent)
    }

    /// A stable id for a file whose name is not a valid job name.
    static func quarantineID(for name: String) -> String {
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in name.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100000001b3
        }
        return "invalid-" + String(hash, radix: 16)
    }

    /// A file name made safe for messages (control and non-ASCII bytes escaped).
    static func printable(_ s: String) -> String {
        String(s.unicodeScalars.prefix(120).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined())
    }
}
