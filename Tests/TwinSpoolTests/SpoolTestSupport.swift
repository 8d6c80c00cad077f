// Role: helpers for the spool tests: a temporary spool root, a settable clock, direct drops of
// hostile entries into `incoming/` and listings of each directory.
// Reference: swift-service-lifecycle's test kit (injected clock, helpers in one place).
// Failure modes: every temporary root is removed by `TempSpool.deinit`; a helper that cannot set
// up its fixture fails the test through `#require`/throws, never silently.

import Foundation
import Testing
import TwinBase
@testable import TwinSpool
#if canImport(Glibc)
import Glibc
#endif

/// A clock the test moves by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = Date()) { current = start }

    var now: Date {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    func advance(_ seconds: TimeInterval) {
        lock.lock()
        current = current.addingTimeInterval(seconds)
        lock.unlock()
    }

    var function: @Sendable () -> Date { { self.now } }
}

/// A spool root in a fresh temporary directory.
final class TempSpool {
    let root: URL
    let clock = TestClock()

    init() throws {
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("spool-test.XXXXXX").path
        var bytes = Array(template.utf8CString)
        guard mkdtemp(&bytes) != nil else { throw SpoolError.system("mkdtemp", template) }
        root = URL(fileURLWithPath: String(cString: bytes)).appendingPathComponent("spool")
    }

    deinit { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }

    /// A daemon-side spool on this root.
    func spool(host: String = "h1", pid: Int32 = 4242, redeliver: Bool = true, otherHosts: Bool = true) throws -> Spool {
        try Spool(root: root, host: host, pid: pid, maxJobBytes: 1024, recoverOtherHosts: otherHosts,
                  redeliverEndedJobs: redeliver, clock: clock.function)
    }

    func path(_ directory: String, _ name: String = "") -> String {
        name.isEmpty ? root.appendingPathComponent(directory).path : root.appendingPathComponent(directory).appendingPathComponent(name).path
    }

    /// Writes `contents` to `<directory>/<name>` directly (what a careless writer does).
    func drop(_ name: String, _ contents: String = #"{"priority": 0}"#, in directory: String = "incoming") throws {
        try DurableFile.writeNew(Array(contents.utf8), to: path(directory, name))
    }

    /// Writes a file whose name is raw bytes.
    func dropRaw(_ name: [UInt8], in directory: String = "incoming") throws {
        let fd = SpoolFiles.withPath(path(directory), RawName(name)) { open($0, O_WRONLY | O_CREAT | O_EXCL, 0o644) }
        try #require(fd >= 0)
        close(fd)
    }

    /// Names in a directory (non-UTF-8 names printable-escaped), sorted.
    func list(_ directory: String) throws -> [String] {
        try SpoolFiles.names(in: path(directory)).map(\.printable).sorted()
    }

    /// The reason record `<directory>/<stem>.reason.json`.
    func reason(_ directory: String, _ stem: String) throws -> JobReason {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(directory, "\(stem).reason.json")))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(JobReason.self, from: data)
    }

    func mode(_ directory: String) throws -> mode_t {
        var info = stat()
        guard lstat(path(directory), &info) == 0 else { throw SpoolError.system("lstat", path(directory)) }
        return info.st_mode & 0o7777
    }

    func mtime(_ directory: String, _ name: String) throws -> Date {
        var info = stat()
        guard lstat(path(directory, name), &info) == 0 else { throw SpoolError.system("lstat", path(directory, name)) }
        return SpoolFiles.date(info.st_mtim)
    }
}

/// Claims the next job or fails the test.
func claimOne(_ spool: Spool, rejected: ((JobReason) -> Void)? = nil) throws -> ClaimedJob {
    try #require(try spool.claimNext { rejected?($0) })
}

/// Simulates the owner's death: the kernel would close its descriptors, so drop the lock
/// without moving the file.
func crash(_ job: ClaimedJob) { job.lock.release() }
