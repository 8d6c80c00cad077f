import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Thin, checked wrappers around the POSIX calls the spool's state machine is built on.
/// Every state change is a `rename(2)`; durability comes from `fsync` on the file and on the
/// directories whose entries changed.
enum FileOps {
    /// fsync an open file or directory by path.
    static func fsync(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SpoolError.system("open", path) }
        defer { close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw SpoolError.system("fsync", path) }
    }

    /// Renames `from` to `to`. Returns false when `from` no longer exists (someone else moved
    /// it first: the caller lost a race); throws on any other failure.
    static func rename(_ from: String, _ to: String) throws -> Bool {
        if Glibc.rename(from, to) == 0 { return true }
        if errno == ENOENT { return false }
        throw SpoolError.system("rename to \(to)", from)
    }

    /// Moves `from` to `to` without replacing an existing target: `link(2)` (fails with EEXIST
    /// when the target exists) then `unlink(2)` of the source. Returns false when the target exists.
    static func renameNoReplace(_ from: String, _ to: String) throws -> Bool {
        if link(from, to) != 0 {
            if errno == EEXIST { return false }
            throw SpoolError.system("link to \(to)", from)
        }
        guard unlink(from) == 0 else { throw SpoolError.system("unlink", from) }
        return true
    }

    /// Writes `data` to a fresh file `path` (must not exist), fsyncs it. Mode 0644.
    static func writeNew(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SpoolError.system("create", path) }
        var failure: SpoolError?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = SpoolError.system("write", path)
                    return
                }
                offset += n
            }
        }
        if failure == nil, Glibc.fsync(fd) != 0 { failure = SpoolError.system("fsync", path) }
        close(fd)
        if let failure {
            unlink(path)
            throw failure
        }
    }

    /// Writes `data` atomically to `path` through a staging file in `stagingDirectory`
    /// (same file system): write, fsync, rename over `path`, fsync the target directory.
    static func writeAtomically(_ data: Data, to path: String, stagingDirectory: String) throws {
        let staging = stagingDirectory + "/.\(ProcessInfo.processInfo.processIdentifier).\(UInt64.random(in: 0...UInt64.max)).tmp"
        try writeNew(data, to: staging)
        guard Glibc.rename(staging, path) == 0 else {
            let code = errno
            unlink(staging)
            throw SpoolError.system("rename to \(path)", staging, errno: code)
        }
        try fsync(path: (path as NSString).deletingLastPathComponent)
    }

    /// `lstat` of a path; nil when it does not exist.
    static func lstatEntry(_ path: String) -> stat? {
        var st = stat()
        return lstat(path, &st) == 0 ? st : nil
    }

    /// Names in a directory (no `.`/`..`), unsorted.
    static func names(in directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { throw SpoolError.system("opendir", directory) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Reads a regular file without following symlinks, refusing anything over `limit` bytes.
    static func readRegularFile(_ path: String, limit: Int) throws -> Data {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw SpoolError.system("open", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SpoolError.system("fstat", path) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw SpoolError("\(path): not a regular file") }
        guard Int(st.st_size) <= limit else { throw SpoolError("\(path): \(st.st_size) bytes exceeds the \(limit)-byte limit") }
        var data = Data(count: Int(st.st_size))
        var total = 0
        let capacity = data.count
        try data.withUnsafeMutableBytes { raw in
            while total < capacity {
                let n = read(fd, raw.baseAddress! + total, capacity - total)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SpoolError.system("read", path)
                }
                if n == 0 { break }
                total += n
            }
        }
        return data.prefix(total)
    }
}
