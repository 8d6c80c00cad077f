// Role: the spool-specific file operations the state machine is built on, over TwinBase
// `DurableFile`: names as raw bytes (so a name that is not UTF-8 can still be moved aside),
// `rename` that reports a lost race, `renameNoReplace`, `lstat`, `flock` helpers.
// Reference: Postfix `mail_open_ok.c` (lstat before open, regular files only) and the
// rename-based queue of notqmail `INTERNALS.md`.
// Failure modes: every failed call throws `SpoolError` carrying the `SystemCallError` (errno), so
// ENOSPC/EIO/EACCES stay classifiable as transient. ENOENT on a rename or open means another
// claimer moved the file first and is reported as `false`/nil, not thrown.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#endif

/// A directory entry's name as the file system holds it: bytes, not necessarily UTF-8.
struct RawName: Hashable, Sendable {
    /// The name's bytes (no NUL, no `/`).
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(_ string: String) { self.bytes = Array(string.utf8) }

    /// The name as a string when it is valid UTF-8; nil otherwise.
    var string: String? { String(validating: bytes, as: UTF8.self) }

    /// Hidden names (leading `.`) belong to whoever wrote them.
    var isHidden: Bool { bytes.first == UInt8(ascii: ".") }

    /// The name made safe for messages and logs: printable ASCII kept, every other byte `\xNN`.
    var printable: String {
        var text = ""
        for byte in bytes.prefix(160) {
            if byte >= 0x20 && byte < 0x7f && byte != UInt8(ascii: "\\") {
                text.append(Character(Unicode.Scalar(byte)))
            } else {
                text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return bytes.count > 160 ? text + "..." : text
    }

    /// A stable, safe stem for a file whose name is not a valid job name (FNV-1a of the bytes).
    var quarantineStem: String {
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
        return "invalid-" + String(hash, radix: 16)
    }
}

/// Thin, checked wrappers around the POSIX calls of the spool's state machine.
enum SpoolFiles {
    /// Runs `body` with the NUL-terminated path `directory/name`.
    static func withPath<T>(_ directory: String, _ name: RawName, _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        var bytes = Array(directory.utf8)
        bytes.append(UInt8(ascii: "/"))
        bytes.append(contentsOf: name.bytes)
        bytes.append(0)
        return try bytes.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    /// `directory/name` for messages.
    static func display(_ directory: String, _ name: RawName) -> String { directory + "/" + name.printable }

    /// Names in `directory`, raw; an absent directory throws (the spool must have it).
    static func names(in directory: String) throws -> [RawName] {
        do {
            guard let names = try DurableFile.rawNames(in: directory) else { throw SpoolError.system("opendir", directory, errno: ENOENT) }
            return names.map(RawName.init)
        } catch let error as SystemCallError {
            throw SpoolError(error)
        }
    }

    /// `lstat` of an entry; nil when it does not exist.
    static func lstatEntry(_ directory: String, _ name: RawName) throws -> stat? {
        var info = stat()
        let rc = withPath(directory, name) { lstat($0, &info) }
        if rc == 0 { return info }
        if errno == ENOENT { return nil }
        throw SpoolError.system("lstat", display(directory, name))
    }

    /// Renames `from/fromName` to `to/toName` (replacing). Returns false when the source no
    /// longer exists (another process moved it first); throws on any other failure.
    static func rename(_ from: String, _ fromName: RawName, _ to: String, _ toName: RawName) throws -> Bool {
        let rc = withPath(from, fromName) { source in withPath(to, toName) { Glibc.rename(source, $0) } }
        if rc == 0 { return true }
        if errno == ENOENT { return false }
        throw SpoolError.system("rename to \(display(to, toName))", display(from, fromName))
    }

    /// Moves a file without replacing an existing target: `link(2)` (EEXIST when the target
    /// exists) then `unlink(2)` of the source. Returns false when the target exists.
    static func renameNoReplace(_ from: String, _ to: String) throws -> Bool {
        if link(from, to) != 0 {
            if errno == EEXIST { return false }
            throw SpoolError.system("link to \(to)", from)
        }
        guard unlink(from) == 0 else { throw SpoolError.system("unlink", from) }
        return true
    }

    /// Removes an entry; false when it was already gone.
    static func unlinkEntry(_ directory: String, _ name: RawName) throws -> Bool {
        if withPath(directory, name, { unlink($0) }) == 0 { return true }
        if errno == ENOENT { return false }
        throw SpoolError.system("unlink", display(directory, name))
    }

    /// fsyncs a directory whose entries changed.
    static func fsyncDirectory(_ path: String) throws {
        do { try DurableFile.fsyncDirectory(path) } catch { throw SpoolError(error) }
    }

    /// Writes `data` atomically to `path` (temporary sibling, fsync, rename, fsync the directory).
    static func replace(_ data: Data, at path: String, mode: mode_t = 0o640) throws {
        do { try DurableFile.replace(data, at: path, mode: mode) } catch { throw SpoolError(error) }
    }

    /// Opens an entry read-only without following a symlink or blocking on a FIFO; nil when it
    /// no longer exists.
    static func openEntry(_ directory: String, _ name: RawName) throws -> Int32? {
        let fd = withPath(directory, name) { open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        if fd >= 0 { return fd }
        if errno == ENOENT { return nil }
        throw SpoolError.system("open", display(directory, name))
    }

    /// Tries to take an exclusive `flock` without waiting: true when taken, false when another
    /// open file description holds it.
    static func tryLock(fd: Int32, path: String) throws -> Bool {
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK { return false }
            throw SpoolError.system("flock", path)
        }
        return true
    }

    /// Reads all of an open regular file, refusing more than `limit` bytes.
    static func readAll(fd: Int32, path: String, limit: Int) throws -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw SpoolError.system("read", path)
            }
            if n == 0 { return data }
            data.append(contentsOf: buffer[0..<n])
            guard data.count <= limit else { throw SpoolError("\(path) grew past the \(limit)-byte limit while being read") }
        }
    }

    /// Whether two `stat` results are the same file.
    static func sameFile(_ a: stat, _ b: stat) -> Bool { a.st_dev == b.st_dev && a.st_ino == b.st_ino }

    /// A `stat` time as a `Date`.
    static func date(_ time: timespec) -> Date {
        Date(timeIntervalSince1970: TimeInterval(time.tv_sec) + TimeInterval(time.tv_nsec) / 1e9)
    }

    /// The file type bits of a `stat`.
    static func type(_ info: stat) -> mode_t { info.st_mode & S_IFMT }
}
