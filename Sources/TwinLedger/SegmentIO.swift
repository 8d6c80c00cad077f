// Role: what a ledger segment needs beyond TwinBase's `DurableFile`: segment naming, reading from an
// offset with pread, the identity of an open file (device, inode, size), fsync/ftruncate of an open
// descriptor, flock, and line splitting. Kept apart so the ledger logic reads as logic.
// Failure modes: every failing call throws `LedgerError.io` (from a `SystemCallError`) with the
// path, the operation and errno; a missing file reads as empty where noted.
// Reference: POSIX pread(2), fstat(2)/stat(2), flock(2); TwinBase `DurableFile` for the rest.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which file an open descriptor or a path is, and how long it is.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64
    let size: Int

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int(info.st_size)
    }

    /// Whether both name the same file (size aside).
    func isSameFile(as other: FileIdentity) -> Bool { device == other.device && inode == other.inode }
}

enum SegmentIO {
    /// File name of `host`'s segment.
    static func segmentName(host: String) -> String { host + ".jsonl" }

    /// File name next to `host`'s segment where torn tails are kept.
    static func tornName(host: String) -> String { host + ".jsonl.torn" }

    /// Name of the directory-wide append lock.
    static let appendLockName = ".append.lock"

    /// The host a segment file name belongs to, or nil when the name is not `<valid host>.jsonl`.
    static func host(fromSegmentName name: String) -> String? {
        guard name.hasSuffix(".jsonl") else { return nil }
        let host = String(name.dropLast(".jsonl".count))
        return HostName.isValid(host) ? host : nil
    }

    /// Sorted names (valid UTF-8 only) of the directory's entries; nil when it does not exist.
    static func names(in directory: URL) throws -> [String]? {
        do {
            return try DurableFile.rawNames(in: directory.path)?
                .compactMap { String(validating: $0, as: UTF8.self) }.sorted()
        } catch {
            throw LedgerError.io(error)
        }
    }

    /// Bytes of the file at `path` from `offset` to its end; empty when the file does not exist.
    static func read(path: String, from offset: Int = 0) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw LedgerError.io(SystemCallError("open", path))
        }
        defer { close(fd) }
        return try read(fd: fd, path: path, from: offset)
    }

    /// Bytes of the open file `fd` from `offset` to its end.
    static func read(fd: Int32, path: String, from offset: Int) throws -> [UInt8] {
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var position = offset
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(position)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LedgerError.io(SystemCallError("read", path))
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            position += n
        }
    }

    /// The file at `path`; nil when it does not exist.
    static func identity(path: String) throws -> FileIdentity? {
        var info = stat()
        if stat(path, &info) == 0 { return FileIdentity(info) }
        if errno == ENOENT { return nil }
        throw LedgerError.io(SystemCallError("stat", path))
    }

    /// The file open as `fd`.
    static func identity(fd: Int32, path: String) throws -> FileIdentity {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw LedgerError.io(SystemCallError("fstat", path)) }
        return FileIdentity(info)
    }

    static func sync(fd: Int32, path: String) throws {
        guard fsync(fd) == 0 else { throw LedgerError.io(SystemCallError("fsync", path)) }
    }

    static func truncate(fd: Int32, path: String, to size: Int) throws {
        guard ftruncate(fd, off_t(size)) == 0 else { throw LedgerError.io(SystemCallError("truncate", path)) }
    }

    /// Opens `path` read-write with `O_APPEND`, not following a symlink; with `create`, creates it
    /// (mode 0644) when missing.
    /// Returns nil when it does not exist and `create` is false.
    static func openForAppend(path: String, create: Bool) throws -> Int32? {
        let fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0o644)
        if fd >= 0 { return fd }
        if errno == ENOENT && !create { return nil }
        throw LedgerError.io(SystemCallError("open", path))
    }

    /// Takes an exclusive `flock` on `fd` without waiting; false when another open file holds it.
    static func tryLock(fd: Int32, path: String) throws -> Bool {
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw LedgerError.io(SystemCallError("flock", path))
    }

    /// Runs `body` holding an exclusive `flock` on `fd`, waiting at most `timeout` for it; a lock
    /// held longer (a hung or hostile process) fails with a transient `io` error (EWOULDBLOCK).
    static func withLock<T>(fd: Int32, path: String, timeout: Duration = .seconds(30), _ body: () throws -> T) throws -> T {
        let deadline = ContinuousClock.now + timeout
        var pause: UInt32 = 500   // microseconds, doubling up to 50 ms
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { throw LedgerError.io(SystemCallError("flock", path)) }
            guard ContinuousClock.now < deadline else { throw LedgerError.io(SystemCallError("flock", path, errno: EWOULDBLOCK)) }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Opens (creating, mode 0644) a lock file.
    static func openLockFile(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LedgerError.io(SystemCallError("open", path)) }
        return fd
    }

    /// `withLock` on the lock file at `path` open as `fd`, making sure the lock taken is on the file
    /// that the path names now: a lock file deleted or replaced while open would let two writers
    /// "hold" two different files, so `fd` is reopened and the lock taken again.
    static func withLockFile<T>(fd: inout Int32, path: String, timeout: Duration, _ body: () throws -> T) throws -> T {
        for _ in 0..<5 {
            let current = fd
            let result: T? = try withLock(fd: current, path: path, timeout: timeout) {
                guard let onDisk = try identity(path: path), onDisk.isSameFile(as: try identity(fd: current, path: path)) else {
                    return nil
                }
                return try body()
            }
            if let result { return result }
            close(fd)
            fd = try openLockFile(path)
        }
        throw LedgerError.io(SystemCallError("flock", path, errno: EAGAIN))
    }

    /// Ranges of the complete (newline-terminated) lines of `bytes`, without their newlines, and the
    /// offset where an unterminated tail starts (`bytes.count` when there is none).
    static func splitLines(_ bytes: [UInt8]) -> (lines: [Range<Int>], tailStart: Int) {
        var lines = [Range<Int>]()
        var start = 0
        bytes.withUnsafeBufferPointer { buffer in
            for i in buffer.indices where buffer[i] == UInt8(ascii: "\n") {
                lines.append(start..<i)
                start = i + 1
            }
        }
        return (lines, start)
    }
}
