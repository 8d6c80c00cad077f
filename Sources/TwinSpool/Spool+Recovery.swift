// Role: putting the spool right after crashes: requeue `active/` jobs whose owner died, clean
// stale `tmp/` files, and own the names of images staged in `out/` (and delivered there) so the
// daemon never builds or parses them.
// Reference: river's "rescuer" (reclaims expired leases); Postfix's queue cleanup of stale
// temporary files.
// Failure modes: liveness is the claim's `flock` (JobLock), never the pid: a job is requeued
// only when its lock can be taken, so a reused pid (an unrelated live process, or this very
// daemon restarted in a container with the same pid) neither blocks recovery nor fakes a live
// owner. Safe to run at start and periodically from any process or host sharing the spool. A
// failed move throws `SpoolError` and leaves the file for the next run.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#endif

/// An image staged in `out/` by this host (`out/.<job>-<index>.png~<host>~<pid>.partial`).
public struct StagedImage: Sendable, Equatable {
    /// The staged file.
    public let url: URL
    /// The image's final name (`<job>-<index>.png`).
    public let image: String
    /// The job the image belongs to.
    public let job: String
    /// The image's index in its job.
    public let index: Int
    /// Where the image is delivered (`out/<image>`).
    public let finalURL: URL
    /// The host that staged it.
    public let host: String
    /// The process that staged it (for people: not proof of anything).
    public let pid: Int32
}

extension Spool {
    /// What `recover` did.
    public struct Recovery: Sendable {
        /// Jobs put back in `incoming/`, with the attempts made so far.
        public var requeued: [(id: String, attempts: Int)] = []
        /// Jobs moved to `failed/` after `maxAttempts`.
        public var failed: [JobReason] = []
        /// Files in `active/` that were not jobs (bad name, not a regular file), moved to `rejected/`.
        public var rejected: [JobReason] = []
    }

    /// Returns jobs in `active/` whose owner is gone (their `flock` can be taken) to `incoming/`,
    /// counting the interrupted attempt; after `maxAttempts` they go to `failed/`
    /// (`job.max_attempts`). Claims of live processes, on this host or another, are left alone;
    /// other hosts' dead claims are recovered too unless `recoverOtherHosts` is false. Safe to
    /// call periodically.
    public func recover(maxAttempts: Int) throws -> Recovery {
        guard access == .daemon else { throw SpoolError("a spool opened for writing cannot recover jobs") }
        var recovery = Recovery()
        for raw in try SpoolFiles.names(in: layout.active.path) where !raw.isHidden {
            let entry = raw.string.flatMap(JobFileName.Active.init)
            if let entry, entry.host != host, !recoverOtherHosts { continue }
            guard let lock = try lockOrphan(raw) else { continue }
            defer { lock.release() }
            try spoolLock.withLock { try recoverOrphan(raw, entry, maxAttempts: maxAttempts, into: &recovery) }
        }
        return recovery
    }

    /// Takes the lock of an `active/` entry whose owner is dead; nil when it is alive or gone.
    /// A non-regular entry gets a lock on nothing (it cannot be a claim).
    private func lockOrphan(_ raw: RawName) throws -> JobLock? {
        let dir = layout.active.path
        guard let info = try SpoolFiles.lstatEntry(dir, raw) else { return nil }
        guard SpoolFiles.type(info) == S_IFREG else { return JobLock(fd: -1) }
        guard let fd = try SpoolFiles.openEntry(dir, raw) else { return nil }
        let lock = JobLock(fd: fd)
        return try SpoolFiles.tryLock(fd: fd, path: SpoolFiles.display(dir, raw)) ? lock : nil
    }

    /// Requeues, fails or rejects one orphan (under the spool lock).
    private func recoverOrphan(_ raw: RawName, _ entry: JobFileName.Active?, maxAttempts: Int, into recovery: inout Recovery) throws {
        let dir = layout.active.path
        guard let info = try SpoolFiles.lstatEntry(dir, raw) else { return }
        guard let entry, SpoolFiles.type(info) == S_IFREG else {
            recovery.rejected.append(try moveAside(dir, raw, id: raw.quarantineStem, code: "spool.invalid_active_entry",
                message: "active/\(raw.printable) is not a claimed job file (bad name or not a regular file); moved aside", attempts: 0, into: layout.rejected))
            return
        }
        if entry.attempt >= maxAttempts {
            recovery.failed.append(try moveAside(dir, raw, id: entry.id, code: "job.max_attempts",
                message: "the render was interrupted \(entry.attempt) times (last by process \(entry.pid) on \(entry.host)); giving up after max_attempts = \(maxAttempts)",
                attempts: entry.attempt, into: layout.failed))
            return
        }
        _ = try rejectSiblings(of: entry.id)
        let target = JobFileName.Incoming(id: entry.id, attempts: entry.attempt)
        guard try SpoolFiles.rename(dir, raw, layout.incoming.path, RawName(target.name)) else { return }
        try SpoolFiles.fsyncDirectory(layout.incoming.path)
        try SpoolFiles.fsyncDirectory(dir)
        recovery.requeued.append((entry.id, entry.attempt))
    }

    // MARK: Temporary files

    /// Removes files in `tmp/` (a writer's abandoned staging) and our own atomic-write
    /// temporaries (`.*.tmp`) in `done/`, `failed/` and `rejected/` whose last change (the later
    /// of mtime and ctime, so a copied old mtime does not count) is older than `age` seconds.
    /// Directories are left alone. Returns how many were removed (log it).
    @discardableResult
    public func cleanTemporaryFiles(olderThan age: TimeInterval = 3600) throws -> Int {
        guard access == .daemon else { throw SpoolError("a spool opened for writing cannot clean tmp/") }
        let cutoff = clock().addingTimeInterval(-age)
        var removed = 0
        let places: [(dir: URL, all: Bool)] = [(layout.tmp, true), (layout.done, false), (layout.failed, false), (layout.rejected, false)]
        for (dir, all) in places {
            for raw in try SpoolFiles.names(in: dir.path) {
                guard all || (raw.isHidden && raw.string?.hasSuffix(".tmp") == true),
                      let info = try SpoolFiles.lstatEntry(dir.path, raw), SpoolFiles.type(info) != S_IFDIR,
                      max(SpoolFiles.date(info.st_mtim), SpoolFiles.date(info.st_ctim)) < cutoff else { continue }
                if try SpoolFiles.unlinkEntry(dir.path, raw) { removed += 1 }
            }
        }
        return removed
    }

    // MARK: Staged images

    /// Where this process stages image `index` of `job` before delivery:
    /// `out/.<job>-<index>.png~<host>~<pid>.partial`.
    public func stagingImageURL(job: String, index: Int) -> URL { stagingURL(forImage: Self.imageName(job: job, index: index)) }

    /// Where image `index` of `job` is delivered: `out/<job>-<index>.png`.
    public func finalImageURL(job: String, index: Int) -> URL { finalURL(forImage: Self.imageName(job: job, index: index)) }

    /// Where this process stages image `name` before delivery: `out/.<name>~<host>~<pid>.partial`.
    public func stagingURL(forImage name: String) -> URL {
        precondition(Self.isImageName(name), "image name '\(name)' must be a plain file name without '/', '~' or a leading '.'")
        return layout.out.appendingPathComponent(JobFileName.Staged(image: name, host: host, pid: pid).name)
    }

    /// Where image `name` is delivered: `out/<name>`.
    public func finalURL(forImage name: String) -> URL {
        precondition(Self.isImageName(name), "image name '\(name)' must be a plain file name without '/', '~' or a leading '.'")
        return layout.out.appendingPathComponent(name)
    }

    /// This host's staged images whose process holds no claim in `active/` any more: left by a
    /// crash (or a reused pid), they belong to no running job. An image is staged only while its
    /// job is claimed, so a process with no locked `active/` file has no live staged image. The
    /// daemon delivers one whose royalty event was committed with the same bytes and deletes the
    /// rest. Staged names the spool did not make (no `<job>-<index>.png` image) are not listed.
    public func stagedLeftovers() throws -> [StagedImage] {
        let live = try liveClaimers()
        return try stagedFiles().filter { $0.host == host && !live.contains($0.pid) }
    }

    /// Staged files of image `index` of `job` from any process or host: a job id is claimed once
    /// at a time, so while this process holds the job they are all left by earlier attempts. The
    /// daemon may deliver one whose bytes match a committed event instead of rendering again.
    public func stagedImages(job: String, index: Int) throws -> [URL] {
        try stagedFiles().filter { $0.job == job && $0.index == index }.map(\.url)
    }

    /// Every staged image file in `out/` whose name parses (any host; the legacy
    /// `.<image>.<host>.<pid>.partial` form for this host only).
    private func stagedFiles() throws -> [StagedImage] {
        let out = layout.out.path
        return try SpoolFiles.names(in: out).compactMap { raw -> StagedImage? in
            guard let name = raw.string, let staged = JobFileName.Staged(name, legacyHost: host),
                  let (job, index) = Self.parseImageName(staged.image),
                  let info = try SpoolFiles.lstatEntry(out, raw), SpoolFiles.type(info) == S_IFREG else { return nil }
            return StagedImage(url: layout.out.appendingPathComponent(name), image: staged.image, job: job, index: index,
                               finalURL: layout.out.appendingPathComponent(staged.image), host: staged.host, pid: staged.pid)
        }
    }

    /// Pids of this host that hold a live claim (a locked file) in `active/`.
    private func liveClaimers() throws -> Set<Int32> {
        var live = Set<Int32>()
        for raw in try SpoolFiles.names(in: layout.active.path) {
            guard let entry = raw.string.flatMap(JobFileName.Active.init), entry.host == host, !live.contains(entry.pid),
                  let fd = try SpoolFiles.openEntry(layout.active.path, raw) else { continue }
            defer { close(fd) }
            if try !SpoolFiles.tryLock(fd: fd, path: SpoolFiles.display(layout.active.path, raw)) { live.insert(entry.pid) }
        }
        return live
    }

    /// The `out/` name of image `index` of job `job`: `<job>-<index>.png`.
    public static func imageName(job: String, index: Int) -> String { "\(job)-\(index).png" }

    /// The job and index of an `imageName(job:index:)` name; nil for any other name.
    public static func parseImageName(_ name: String) -> (job: String, index: Int)? {
        guard name.hasSuffix(".png"), let dash = name.lastIndex(of: "-") else { return nil }
        let job = String(name[..<dash])
        let digits = name[name.index(after: dash)...].dropLast(4)
        guard JobFileName.isValidID(job), !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let index = Int(digits), imageName(job: job, index: index) == name else { return nil }
        return (job, index)
    }

    static func isImageName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.contains("/") && !name.contains("~") && !name.utf8.contains(0)
    }
}
