// Role: the durable, append-only JSON-lines log of every consent decision.
// Reference: docs/consent-registry.md, "Audit log".
// Failure modes: `append` throws `io` when the line cannot be written and fsynced; the daemon
// must then fail closed (no delivery without an audit line). `entries` throws on a damaged line.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An append-only JSON-lines log of every consent decision.
///
/// One line per decision: `{"code","decision","grant","grantSHA256","job","licensee","message",
/// "orderSHA256","orderSigner","phase","time","twin"}` (sorted keys; keys that do not apply are
/// left out). Each line is written with one `write` on an `O_APPEND` descriptor under an exclusive
/// `flock` and fsynced before `append` returns, so lines from several processes never interleave
/// and a returned `append` survives a crash.
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
        /// Party id of the licensee that signed the order, when the job was a signed order.
        public let orderSigner: String?
        /// SHA-256 of the signed order bytes, when the job was a signed order.
        public let orderSHA256: String?
    }

    /// The log file.
    public let file: URL

    /// Appends to `file` (created on first use; its directory must exist).
    public init(file: URL) { self.file = file }

    /// Appends the line for `decision` on `request`, durably (fsync); returns the entry written.
    /// Throws `ConsentError.io` when it cannot: the caller must not deliver.
    @discardableResult
    public func append(
        _ decision: ConsentDecision, for request: ConsentRequest, phase: Phase, at date: Date, orderSigner: String? = nil,
        orderSHA256: String? = nil
    ) throws -> Entry {
        let entry = Entry(
            time: UTCDate.format(date), phase: phase, job: request.job, twin: request.twin, licensee: request.licensee,
            grant: decision.grant?.uid ?? decision.denial?.grantUID, grantSHA256: decision.grant?.sha256,
            decision: decision.grant == nil ? "deny" : "allow", code: decision.denial?.code.rawValue,
            message: decision.denial?.message, orderSigner: orderSigner, orderSHA256: orderSHA256)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = Array(try encoder.encode(entry)) + [UInt8(ascii: "\n")]

        try write(line)
        return entry
    }

    /// Appends a refusal that came before any grant was considered (an order whose signature,
    /// signer or expiry is wrong), durably; `code` is the job's reason code (`job.order_*`).
    @discardableResult
    public func appendRefusal(
        job: String, twin: String, licensee: String, code: String, message: String, phase: Phase, at date: Date,
        orderSigner: String? = nil
    ) throws -> Entry {
        let entry = Entry(
            time: UTCDate.format(date), phase: phase, job: job, twin: twin, licensee: licensee, grant: nil, grantSHA256: nil,
            decision: "deny", code: code, message: message, orderSigner: orderSigner, orderSHA256: nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try write(Array(try encoder.encode(entry)) + [UInt8(ascii: "\n")])
        return entry
    }

    private func write(_ line: [UInt8]) throws {
        let created = access(file.path, F_OK) != 0
        let fd = open(file.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ConsentError.io(SystemCallError("open", file.path)) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw ConsentError.io(SystemCallError("flock", file.path)) }
        }
        defer { flock(fd, LOCK_UN) }
        do throws(SystemCallError) {
            try DurableFile.writeAll(fd: fd, line, path: file.path)
            guard fsync(fd) == 0 else { throw SystemCallError("fsync", file.path) }
            if created { try DurableFile.fsyncDirectory(file.deletingLastPathComponent().path) }
        } catch {
            throw ConsentError.io(error)
        }
    }

    /// Reads every entry (for tests and tools).
    public func entries() throws -> [Entry] {
        guard FileManager.default.fileExists(atPath: file.path) else { return [] }
        let bytes = try readRegularFile(file, limit: 1 << 30)
        return try bytes.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(Entry.self, from: Data($0)) }
    }
}
