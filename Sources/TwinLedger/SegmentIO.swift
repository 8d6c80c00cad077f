// Role: the few POSIX calls a ledger segment needs (read from an offset, append, fsync, truncate,
// lock), plus segment naming and line splitting. Kept apart so the ledger logic reads as logic.
// Failure modes: every failing call throws `LedgerError.io` with the path, the operation and errno;
// a missing file reads as empty.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum SegmentIO {
    /// File name of `host`'s segment.
    static func segmentName(host: String) -> String { host + ".jsonl" }

    /// File name next to `host`'s segment where torn tails are kept.
    static func tornName(host: String) -> String { host + ".jsonl.torn" }

    /// The host a segment file name belongs to, or nil when the name is not `<valid host>.jsonl`.
    static func host(fromSegmentName name: String) -> String? {
        guard name.hasSuffix(".jsonl") else { return nil }
        let host = String(name.dropLast(".jsonl".count))
        return isValidHost(host) ? host : nil
    }

    /// `A-Z a-z 0-9 . _ -`, 1...128 bytes, not starting with `.`.
    static func isValidHost(_ host: String) -> Bool {
        (1...128).contains(host.utf8.count) && host.utf8.first != UInt8(ascii: ".")
            && host.utf8.allSatisfy {
                (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 46 || $0 == 95 || $0 == 45
            }
    }

    /// Sorted names of the directory's entries; nil when the directory does not exist.
    static func listDirectory(_ directory: URL) throws -> [String]? {
        guard let dir = opendir(directory.path) else {
            if errno == ENOENT { return nil }
            throw LedgerError.io(path: directory.path, operation: "opendir", errno: errno)
        }
        defer { closedir(dir) }
        var names = [String]()
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Bytes of the file at `path` from `offset` to its end; empty when the file does not exist.
    static func read(path: String, from offset: Int = 0) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw LedgerError.io(path: path, operation: "open", errno: errno)
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
                throw LedgerError.io(path: path, operation: "read", errno: errno)
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            position += n
        }
    }

    /// Size in bytes of the file at `path`; nil when it does not exist.
    static func size(path: String) throws -> Int? {
        var info = stat()
        if stat(path, &info) == 0 { return Int(info.st_size) }
        if errno == ENOENT { return nil }
        throw LedgerError.io(path: path, operation: "stat", errno: errno)
    }

    /// Writes all of `bytes` to `fd` (retrying short writes and EINTR).
    static func writeAll(fd: Int32, path: String, _ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LedgerError.io(path: path, operation: "write", errno: errno)
            }
            done += n
        }
    }

    static func sync(fd: Int32, path: String) throws {
        guard fsync(fd) == 0 else { throw LedgerError.io(path: path, operation: "fsync", errno: errno) }
    }

    /// fsyncs a directory so that a file created in it survives a crash.
    static func syncDirectory(_ directory: URL) throws {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw LedgerError.io(path: directory.path, operation: "open", errno: errno) }
        defer { close(fd) }
        try sync(fd: fd, path: directory.path)
    }

    static func truncate(fd: Int32, path: String, to size: Int) throws {
        guard ftruncate(fd, off_t(size)) == 0 else {
            throw LedgerError.io(path: path, operation: "truncate", errno: errno)
        }
    }

    /// Opens `path` for appending (creating it), with `O_APPEND`.
    static func openForAppend(path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LedgerError.io(path: path, operation: "open", errno: errno) }
        return fd
    }

    /// Takes an exclusive `flock` on `fd` without waiting; false when another open file holds it.
    static func tryLock(fd: Int32, path: String) throws -> Bool {
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw LedgerError.io(path: path, operation: "flock", errno: errno)
    }

    /// Ranges of the complete (newline-terminated) lines of `bytes`, without their newlines, and the
    /// offset where an unterminated tail starts (`bytes.count` when there is none).
    static func splitLines(_ bytes: [UInt8]) -> (lines: [Range<Int>], tailStart: Int) {
        var lines = [Range<Int>]()
        var start = 0
        bytes.withUnsafeBufferPointer { buffer in
            var i = 0
            while i < buffer.count {
                if buffer[i] == UInt8(ascii: "\n") {
                    lines.append(start..<i)
                    start = i + 1
                }
                i += 1
            }
        }
        return (lines, start)
    }
}
