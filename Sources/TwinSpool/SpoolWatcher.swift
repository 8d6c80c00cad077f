// Role: wakes idle workers when something lands in `incoming/`.
// Reference: inotify(7); Postfix's `qmgr` trigger (a wake-up only, the scan decides).
// Failure modes: inotify can miss events (queue overflow, network file systems) or be missing
// (`init` throws; the daemon falls back to rescans only), so it only makes the daemon react
// sooner: the periodic rescan stays the source of truth.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Wakes a waiter when something lands in `incoming/` (inotify `IN_MOVED_TO`, `IN_CLOSE_WRITE`).
/// inotify can miss events (queue overflow, network file systems), so it only makes the daemon
/// react sooner: the periodic rescan stays the source of truth.
public final class SpoolWatcher: Sendable {
    private let fd: Int32

    /// Starts watching `directory`. Throws when inotify is unavailable.
    public init(directory: URL) throws {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw SpoolError.system("inotify_init1", directory.path) }
        let mask = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE)
        guard inotify_add_watch(fd, directory.path, mask) >= 0 else {
            let code = errno
            close(fd)
            throw SpoolError.system("inotify_add_watch", directory.path, errno: code)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Blocks until an event arrives or `timeoutMilliseconds` pass; drains pending events.
    /// Returns true when there were events (or the queue overflowed).
    public func wait(timeoutMilliseconds: Int32) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, timeoutMilliseconds)
        guard ready > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 8192)
        while read(fd, &buffer, buffer.count) > 0 {}
        return true
    }
}
