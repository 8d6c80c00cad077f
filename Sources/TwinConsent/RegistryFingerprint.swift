// Role: a cheap change detector for the registry log, so the daemon re-reads it only when it
// changed.
// Reference: the stat-based change checks of Postfix's table lookups.
// Failure modes: none thrown; a missing or unreadable log gives a fixed fingerprint ("absent"),
// which the next load then reports properly.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The identity of the registry log as the file system sees it.
public enum RegistryFingerprint {
    /// Device, inode, size and modification time (nanoseconds) of `<directory>/log.jsonl`.
    /// Every append changes the size and mtime; replacing the file changes the inode.
    public static func compute(directory: URL) -> String {
        var info = stat()
        guard lstat(RegistryLog.url(directory).path, &info) == 0 else { return "absent" }
        return "\(info.st_dev) \(info.st_ino) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
    }
}
