import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Small POSIX helpers for registry files. Reads check the path with lstat first (a regular file,
// not a symlink, below a size limit), so a damaged or hostile registry entry is reported instead of
// followed or read without bound. Writes go to a temporary file in the same directory, are fsynced
// and renamed into place, so readers see either the old or the new record, never half of one.

/// Reads a regular file of at most `limit` bytes.
func readRegularFile(_ url: URL, limit: Int) throws -> [UInt8] {
    var info = stat()
    guard lstat(url.path, &info) == 0 else {
        throw ConsentError.notFound("\(url.path): \(String(cString: strerror(errno)))")
    }
    guard info.st_mode & S_IFMT == S_IFREG else {
        throw ConsentError.malformedFile("\(url.path) is not a regular file")
    }
    guard Int(info.st_size) <= limit else {
        throw ConsentError.malformedFile("\(url.path) is \(info.st_size) bytes, more than the \(limit)-byte limit")
    }
    let fd = open(url.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else { throw ConsentError.io("cannot open \(url.path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n < 0 {
            if errno == EINTR { continue }
            throw ConsentError.io("cannot read \(url.path): \(String(cString: strerror(errno)))")
        }
        if n == 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
        guard bytes.count <= limit else { throw ConsentError.malformedFile("\(url.path) grew past the \(limit)-byte limit") }
    }
    return bytes
}

/// Creates `url` with `mode`, failing if it exists.
func writeNewFile(_ url: URL, contents: [UInt8], mode: mode_t) throws {
    let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else {
        if errno == EEXIST { throw ConsentError.alreadyExists("\(url.path) already exists") }
        throw ConsentError.io("cannot create \(url.path): \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    try writeAll(fd, contents, path: url.path)
    guard fsync(fd) == 0 else { throw ConsentError.io("cannot fsync \(url.path): \(String(cString: strerror(errno)))") }
}

/// Replaces (or creates) `url` atomically: write a temporary sibling, fsync, rename.
func writeAtomically(_ url: URL, contents: [UInt8]) throws {
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp")
    try writeNewFile(temporary, contents: contents, mode: 0o644)
    guard rename(temporary.path, url.path) == 0 else {
        let message = String(cString: strerror(errno))
        unlink(temporary.path)
        throw ConsentError.io("cannot rename \(temporary.path) to \(url.path): \(message)")
    }
}

func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw ConsentError.io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        offset += n
    }
}

/// Names of the `*.json` files directly in `directory` (sorted), or none when it does not exist.
func jsonFileNames(in directory: URL) throws -> [String] {
    guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
    return try FileManager.default.contentsOfDirectory(atPath: directory.path)
        .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
        .sorted()
}
