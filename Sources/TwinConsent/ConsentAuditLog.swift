import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An append-only JSON-lines log of every consent decision.
///
/// One line per decision: `{"code","decision","grant","grantSHA256","job","licensee","message",
/// "phase","time","twin"}` (sorted keys; `grant`, `grantSHA256` and `code` are null where they do
/// not apply). Each line is written with one `write` on an `O_APPEND` descriptor under an exclusive
/// `flock`, so lines from several processes never interleave.
public final class ConsentAuditLog: Sendable {
    /// When in a job's life the decision was made.
    public enum Phase: String, Codable, Sendable {
        /// When the job was claimed from the spool.
        case claim
        /// Right before the image is delivered.
        case delivery
    }

    /// One log line.
    public struct Entry: Codable, Equatable, Sendable {
        public let time: String
        public let phase: Phase
        public let job: String
        public let twin: String
        public let licensee: String
        public let grant: String?
        public let grantSHA256: String?
        /// `allow` or `deny`.
        public let decision: String
        public let code: String?
        public let message: String?
    }

    /// The log file.
    public let file: URL

    /// Appends to `file` (created on first use; its directory must exist).
    public init(file: URL) { self.file = file }

    /// Appends the line for `decision` on `request`; returns the entry written.
    @discardableResult
    public func append(_ decision: ConsentDecision, for request: ConsentRequest, phase: Phase, at date: Date) throws -> Entry {
        let entry = Entry(
            time: UTCDate.format(date), phase: phase, job: request.job, twin: request.twin, licensee: request.licensee,
            grant: decision.grant?.uid ?? decision.denial?.grantUID, grantSHA256: decision.grant?.sha256,
            decision: decision.grant == nil ? "deny" : "allow", code: decision.denial?.code.rawValue,
            message: decision.denial?.message)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = Array(try encoder.encode(entry)) + [UInt8(ascii: "\n")]

        let fd = open(file.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ConsentError.io("cannot open audit log \(file.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw ConsentError.io("cannot lock \(file.path): \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        try writeAll(fd, line, path: file.path)
        return entry
    }

    /// Reads every entry (for tests and tools).
    public func entries() throws -> [Entry] {
        guard FileManager.default.fileExists(atPath: file.path) else { return [] }
        let bytes = try readRegularFile(file, limit: 1 << 30)
        return try bytes.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(Entry.self, from: Data($0)) }
    }
}
