// Role: images reserved by jobs in flight, shared by every worker and daemon on the host, so
// parallel jobs never overshoot a grant's max images.
// Reference: docs/consent-registry.md, "Quotas across workers and daemons".
// Failure modes: a damaged state file throws `malformedFile` (fail closed); lock and write
// failures throw `io`.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Images reserved by jobs in flight, shared by every worker and daemon process on the host (or on
/// a shared file system with working `flock`).
///
/// State lives in one JSON file (`{"reservations":[{"job","grant","count","reservedAt"}]}`); each
/// operation takes an exclusive `flock` on a sibling `<file>.lock`, reads the file, changes it, and
/// replaces it atomically (temporary file + rename) before unlocking. So a check of
/// delivered + reserved + count ≤ max images and the reservation that follows are one atomic step.
///
/// Protocol for the daemon: `ConsentRegistry.authorize` when a job is claimed and again right
/// before delivery (same job id: the reservation is reused, not doubled); write the royalty event;
/// then `release(job:)`. Between the ledger write and the release the images count twice, which
/// errs on the safe side. If a process dies holding a reservation, the reservation stays (again the
/// safe side) until `release(job:)` is called for that job (when the requeued job finishes) or
/// `prune(keepingJobs:)` drops it because its job is no longer in the spool.
public final class QuotaReservations: Sendable {
    /// One job's reservation.
    public struct Reservation: Codable, Equatable, Sendable {
        /// Job id.
        public let job: String
        /// Grant uid the images count against.
        public let grant: String
        /// Number of images.
        public let count: Int
        /// When first reserved, `YYYY-MM-DDTHH:MM:SSZ`.
        public let reservedAt: String
    }

    struct State: Codable {
        var reservations: [Reservation]
    }

    /// The reservations file.
    public let file: URL

    /// Uses `file` (created on first reservation; its directory must exist).
    public init(file: URL) { self.file = file }

    /// Reserves `count` images of `grant` for `job` if `delivered` + everything reserved by other
    /// jobs + `count` ≤ `grant.terms.maxImages`. Idempotent per job: a job that already holds a
    /// reservation gets it replaced (never counted twice). Returns whether the job now holds it.
    public func reserve(grant: Grant, job: String, count: Int, delivered: Int, at date: Date = Date()) throws -> Bool {
        try withLockedState { state in
            let others = state.reservations.filter { $0.grant == grant.uid && $0.job != job }.reduce(0) { $0 + $1.count }
            guard delivered + others + count <= grant.terms.maxImages else { return false }
            state.reservations.removeAll { $0.job == job }
            state.reservations.append(Reservation(job: job, grant: grant.uid, count: count, reservedAt: UTCDate.format(date)))
            return true
        }
    }

    /// Drops `job`'s reservation, if any.
    public func release(job: String) throws {
        try withLockedState { state in state.reservations.removeAll { $0.job == job } }
    }

    /// Drops every reservation whose job is not in the set `liveJobs` returns (e.g. the ids of
    /// the jobs in the spool's `incoming/` and `active/`) and returns what was dropped. The set is
    /// listed while the lock is held, so a job claimed and reserved by another process meanwhile
    /// keeps its reservation. Reservations left by a crashed process otherwise hold their images
    /// until the job finishes.
    @discardableResult
    public func prune(keepingJobs liveJobs: () throws -> Set<String>) throws -> [Reservation] {
        try withLockedState { state in
            let liveJobs = try liveJobs()
            let stale = state.reservations.filter { !liveJobs.contains($0.job) }
            state.reservations.removeAll { !liveJobs.contains($0.job) }
            return stale
        }
    }

    /// All current reservations, sorted by job.
    public func all() throws -> [Reservation] {
        try withLockedState { state in state.reservations }
    }

    /// Runs `body` on the current state under the exclusive lock, writing the state back if it
    /// changed.
    func withLockedState<T>(_ body: (inout State) throws -> T) throws -> T {
        try withRegistryLock(file.path + ".lock") { try lockedState(body) }
    }

    private func lockedState<T>(_ body: (inout State) throws -> T) throws -> T {

        var state = State(reservations: [])
        if FileManager.default.fileExists(atPath: file.path) {
            let bytes = try readRegularFile(file, limit: 64 << 20)
            do {
                state = try JSONDecoder().decode(State.self, from: Data(bytes))
            } catch {
                throw ConsentError.malformedFile("quota reservations file \(file.path) is damaged: \(error)")
            }
        }
        let before = state.reservations
        let result = try body(&state)
        if state.reservations != before {
            state.reservations.sort { $0.job < $1.job }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let bytes = Array(try encoder.encode(state))
            do throws(SystemCallError) {
                try DurableFile.replace(bytes, at: file.path)
            } catch {
                throw ConsentError.io(error)
            }
        }
        return result
    }
}
