// Role: the newest registry head this host has seen, kept durably (the daemon's
// `<spool>/state/registry-head.json`), so a registry log rolled back to an older copy or forked
// is refused even across restarts.
// Reference: TUF §5: a client persists the newest metadata version it has trusted.
// Failure modes: a damaged head file throws `malformedFile` (fail closed: the daemon cannot tell a
// rollback from a fresh start, so it must not guess); write failures throw `io`. Updates take an
// exclusive `flock` on `<file>.lock` and never move the head backwards.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#endif

/// A durable record of the newest `RegistryHead` seen.
public final class RegistryHeadStore: Sendable {
    /// The head file (`{"hash":"…","seq":N}`).
    public let file: URL

    /// Uses `file` (created on the first `record`; its directory must exist).
    public init(file: URL) { self.file = file }

    /// The remembered head, or nil when none was recorded yet.
    public func read() throws -> RegistryHead? {
        let bytes: [UInt8]
        do throws(DurableFile.ReadProblem) {
            bytes = try DurableFile.readRegularFile(file.path, limit: 4096)
        } catch {
            if case .system(let failure) = error, failure.code == ENOENT { return nil }
            throw ConsentError.read(error)
        }
        do {
            let head = try JSONDecoder().decode(RegistryHead.self, from: Data(bytes))
            try validateSHA256Hex(head.hash, field: "head hash")
            guard head.seq >= 0 else { throw ConsentError.malformedFile("negative seq") }
            return head
        } catch {
            throw ConsentError.malformedFile("registry head file \(file.path) is damaged: \(error)")
        }
    }

    /// Remembers `head` if it is newer (a higher seq) than the one stored; returns the head now
    /// stored. Call it with the head of a registry loaded with `pinnedHead: read()`, so the new
    /// head extends the old one.
    @discardableResult
    public func record(_ head: RegistryHead) throws -> RegistryHead {
        try withRegistryLock(file.path + ".lock") { try store(head) }
    }

    private func store(_ head: RegistryHead) throws -> RegistryHead {
        if let stored = try read(), stored.seq >= head.seq { return stored }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = Array(try encoder.encode(head)) + [UInt8(ascii: "\n")]
        do throws(SystemCallError) {
            try DurableFile.replace(bytes, at: file.path)
        } catch {
            throw ConsentError.io(error)
        }
        return head
    }
}
