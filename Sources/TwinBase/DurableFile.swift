// Role: the durable file operations every stage needs, written once: create-exclusive and fsync,
// replace atomically (temporary sibling, fsync, rename, fsync the directory), fsync a directory,
// read a bounded regular file without following symlinks, and list a directory.
// Reference: the rename-based commit protocol of Postfix/qmail queues; POSIX rename(2) atomicity.
// Failure modes: every failed system call throws `SystemCallError` with the operation, the path
// and errno (so callers can tell ENOSPC/EIO/EACCES, which are transient, from the rest). A failed
// write removes the partial file; nothing here leaves a half-written file under a final name.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which, on what, and errno.
public struct SystemCallError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The call, e.g. `open`, `write`, `fsync`, `rename`.
    public let operation: String
    /// The path it was applied to.
    public let path: String
    /// errno after the call.
    public let code: Int32

    /// Captures the current errno.
    public init(_ operation: String, _ path: String, errno code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// The failure is about the environment (disk full, I/O error, permissions, too many files)
    /// and may clear by itself, so work that hit it should be retried later, not abandoned.
    public var isTransient: Bool { [ENOSPC, EDQUOT, EIO, EACCES, EPERM, EROFS, EMFILE, ENFILE, ENOMEM, EAGAIN, EBUSY].contains(code) }

    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// Durable, bounded file operations on paths.
public enum DurableFile {
    /// Creates `path` (which must not exist) with `mode`, writes `bytes`, fsyncs. On failure the
    /// partial file is removed.
    public static func writeNew<Bytes: Collection<UInt8>>(_ bytes: Bytes, to path: String, mode: mode_t = 0o644) throws(SystemCallError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemCallError("create", path) }
        do throws(SystemCallError) {
            try writeAll(fd: fd, Array(bytes), path: path)
            guard fsync(fd) == 0 else { throw SystemCallError("fsync", path) }
            close(fd)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
    }

    /// Replaces (or creates) `path` atomically: a temporary sibling is written with `mode` and
    /// fsynced, renamed over `path`, and the directory fsynced. Readers see the old or the new
    /// contents, never a mix.
    public static func replace<Bytes: Collection<UInt8>>(_ bytes: Bytes, at path: String, mode: mode_t = 0o644) throws(SystemCallError) {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temporary = "\(directory.isEmpty ? "." : directory)/.\(name).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        try writeNew(bytes, to: temporary, mode: mode)
        guard rename(temporary, path) == 0 else {
            let failure = SystemCallError("rename to \(path)", temporary)
            unlink(temporary)
            throw failure
        }
        try fsyncDirectory(directory.isEmpty ? "." : directory)
    }

    /// fsyncs a directory, making renames and creations in it durable.
    public static func fsyncDirectory(_ path: String) throws(SystemCallError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError("open", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemCallError("fsync", path) }
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    public static func writeAll(fd: Int32, _ bytes: [UInt8], path: String) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("write", path)
            }
            offset += n
        }
    }

    /// What `readRegularFile` found wrong with a file that exists.
    public enum ReadProblem: Error, Equatable, Sendable, CustomStringConvertible {
        /// A symlink, directory, FIFO or device.
        case notRegular(path: String)
        /// Larger than the limit.
        case tooLarge(path: String, size: Int, limit: Int)
        /// The system call failed.
        case system(SystemCallError)

        public var description: String {
            switch self {
            case .notRegular(let path): return "\(path) is not a regular file"
            case .tooLarge(let path, let size, let limit): return "\(path) is \(size) bytes, more than the \(limit)-byte limit"
            case .system(let error): return error.description
            }
        }
    }

    /// Reads a regular file of at most `limit` bytes without following a symlink or blocking on
    /// a FIFO.
    public static func readRegularFile(_ path: String, limit: Int) throws(ReadProblem) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ELOOP { throw .notRegular(path: path) }
            throw .system(SystemCallError("open", path))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system(SystemCallError("fstat", path)) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notRegular(path: path) }
        guard Int(info.st_size) <= limit else { throw .tooLarge(path: path, size: Int(info.st_size), limit: limit) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(SystemCallError("read", path))
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            guard bytes.count <= limit else { throw .tooLarge(path: path, size: bytes.count, limit: limit) }
        }
        return bytes
    }

    /// Names in a directory (no `.`/`..`), as raw bytes so that names which are not valid UTF-8
    /// are seen too; nil when the directory does not exist.
    public static func rawNames(in directory: String) throws(SystemCallError) -> [[UInt8]]? {
        guard let dir = opendir(directory) else {
            if errno == ENOENT { return nil }
            throw SystemCallError("opendir", directory)
        }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [46] && name != [46, 46] { names.append(name) }
        }
        return names
    }

    /// Runs `body` holding an exclusive `flock` on the lock file `path` (created with `mode`,
    /// never through a symlink), waiting for it; the kernel drops the lock if the process dies.
    public static func withExclusiveLock<T>(_ path: String, mode: mode_t = 0o644, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw SystemCallError("open", path) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw SystemCallError("flock", path) }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Creates `path` (and missing parents) and sets its mode to exactly `mode` (umask ignored).
    public static func makeDirectory(_ path: String, mode: mode_t) throws(SystemCallError) {
        if mkdir(path, mode) != 0 {
            guard errno == EEXIST || errno == ENOENT else { throw SystemCallError("mkdir", path) }
            if errno == ENOENT {
                let parent = (path as NSString).deletingLastPathComponent
                guard !parent.isEmpty, parent != path else { throw SystemCallError("mkdir", path) }
                try makeDirectory(parent, mode: 0o755)
                guard mkdir(path, mode) == 0 || errno == EEXIST else { throw SystemCallError("mkdir", path) }
            }
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw SystemCallError("lstat", path) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw SystemCallError("mkdir", path, errno: ENOTDIR) }
        if info.st_mode & 0o7777 != mode, chmod(path, mode) != 0 { throw SystemCallError("chmod", path) }
    }
}
