// Role: the proof that the process which claimed an `active/` job is alive: an exclusive `flock`
// on the job file, held through an open file descriptor for as long as the claim lasts.
// Reference: flock(2); riverqueue/river and OpenCue leases (an owner that can be checked, not a
// pid that can be reused).
// Failure modes: the kernel drops the lock when the process dies (crash, SIGKILL, OOM), so
// `Spool.recover` can take it and requeue the job; a reused pid cannot hold it. Dropping the last
// reference to a `JobLock` also closes the descriptor (the job becomes recoverable), so a job
// value forgotten on some exit path never blocks its job forever. On NFS, see SpoolLayout.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An open descriptor holding an exclusive `flock`; closed by `release()` or on deinit.
final class JobLock: @unchecked Sendable {
    // `fd` is guarded by `mutex`.
    private let mutex = NSLock()
    private var fd: Int32

    /// Takes ownership of `fd`, which already holds the lock.
    init(fd: Int32) { self.fd = fd }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Whether the descriptor is still open (the lock still held).
    var isHeld: Bool {
        mutex.lock()
        defer { mutex.unlock() }
        return fd >= 0
    }

    /// Runs `body` with the descriptor, or returns nil when the lock was released already.
    func withDescriptor<T>(_ body: (Int32) throws -> T) rethrows -> T? {
        mutex.lock()
        defer { mutex.unlock() }
        return fd >= 0 ? try body(fd) : nil
    }

    /// Closes the descriptor, releasing the lock. Idempotent.
    func release() {
        mutex.lock()
        defer { mutex.unlock() }
        if fd >= 0 { close(fd) }
        fd = -1
    }
}

/// The spool-wide lock (`state/claim.lock`) that serialises every move into or out of `active/`
/// across threads, processes and hosts sharing the spool, so the check "is this id already in
/// flight?" and the claim rename are one step.
struct SpoolLock {
    let path: String

    /// Runs `body` holding an exclusive `flock` on the lock file (waiting for it).
    func withLock<T>(_ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw SpoolError.system("open", path) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw SpoolError.system("flock", path) }
        }
        return try body()
    }
}
