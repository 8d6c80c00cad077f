import Foundation
import TwinBase

/// Durable writes for delivered images.
enum FileIO {
    /// Writes `data` to a new file and fsyncs it (mode 0644).
    static func writeDurably(_ data: Data, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXFailure("create \(url.path)") }
        defer { close(fd) }
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    let failure = POSIXFailure("write \(url.path)")
                    unlink(url.path)
                    throw failure
                }
                offset += n
            }
        }
        guard fsync(fd) == 0 else {
            let failure = POSIXFailure("fsync \(url.path)")
            unlink(url.path)
            throw failure
        }
    }

    /// fsyncs a directory so renames in it are durable.
    static func fsyncDirectory(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXFailure("open \(url.path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw POSIXFailure("fsync \(url.path)") }
    }
}

/// A failed system call, with errno's text (e.g. "No space left on device").
struct POSIXFailure: Error, CustomStringConvertible {
    let description: String
    /// errno of the failed call.
    let code: Int32
    init(_ what: String) {
        code = errno
        description = "\(what): \(String(cString: strerror(code)))"
    }

    /// Disk full, I/O error, permissions: may clear by itself.
    var isTransient: Bool { SystemCallError("", "", errno: code).isTransient }
}
