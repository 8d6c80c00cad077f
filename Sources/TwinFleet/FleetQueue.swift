// Role: the job queue on the fleet database: submit, claim (one short transaction), lease renewal,
// the end states other than delivery, and the rescuer that reclaims expired leases and parks
// poison jobs. Delivery, the commit point, is `FleetCommit`.
// Reference: riverqueue/river and graphile/worker (`SELECT … FOR UPDATE SKIP LOCKED`, a lease with
// owner, expiry and a generation used as fencing token); the state machine is in docs/fleet.md.
// Failure modes: every write that ends or extends a claim is conditioned on (state = leased,
// holder, generation) and throws `staleLease` when the claim is no longer current, so a host that
// lost its lease changes nothing. A claim takes no row lock beyond its own statement; a crashed
// host's lease simply expires. Database outages surface as the transient `databaseUnavailable`.

import Crypto
import Foundation
import PostgresNIO

/// A job this host claimed: its order bytes and the fencing token every later write must present.
public struct FleetClaim: Sendable, Hashable {
    /// The job id.
    public let job: String
    /// The claim's generation (fencing token): bumped by every claim of the job.
    public let generation: Int64
    /// The job file's bytes as submitted.
    public let spec: [UInt8]
    /// Claims of this job so far, this one included.
    public let attempt: Int
    /// Failures counted against the job before this claim (render failures and lost leases).
    public let failures: Int
    /// The host holding the lease.
    public let host: String
    /// When the job was queued (the images' creation time, so a re-render reproduces them).
    public let arrival: Date
}

/// How a job ended or went back, other than delivery.
public enum FleetEnding: Sendable, Hashable {
    /// Refused for good (invalid job, consent denied): `rejected` with its reason.
    case rejected(code: String, reason: String)
    /// Failed on this host (render error): counted against the job; after failing on
    /// `maxFailedHosts` distinct hosts, or `maxFailures` times in all, it is `parked` with the
    /// reason, else queued again.
    case failed(code: String, reason: String)
    /// A transient fault (disk full, database hiccup): queued again, not claimed before `retryAfter`
    /// passes, no failure counted.
    case deferred(code: String, reason: String, retryAfter: Duration)
    /// Shutdown: queued again at once, no failure counted.
    case released
}

/// Queue operations for one render host.
public struct FleetQueue: Sendable {
    /// The database.
    public let database: FleetDatabase
    /// This host's name (lease holder, ledger chain).
    public let host: String
    /// How long a claim or renewal holds the lease.
    public let leaseDuration: Duration
    /// Distinct hosts a job may fail on (render failure or an expired lease) before it is parked.
    public let maxFailedHosts: Int
    /// Failures in all (on any hosts, the same one included) before a job is parked.
    public let maxFailures: Int

    /// Queue access for `host`. Lease and poison limits are the `[queue]` config's.
    public init(database: FleetDatabase, host: String, leaseDuration: Duration = .seconds(30), maxFailedHosts: Int = 3,
                maxFailures: Int = 5) {
        precondition(leaseDuration > .zero && maxFailedHosts >= 1 && maxFailures >= 1, "lease and poison limits must be positive")
        self.database = database; self.host = host
        self.leaseDuration = leaseDuration; self.maxFailedHosts = maxFailedHosts; self.maxFailures = maxFailures
    }

    /// Queues a job (bytes as a job file holds them) with its claim priority. Returns false, changing
    /// nothing, when the id is already queued or done with the same bytes (a repeated submission);
    /// - Throws: `FleetError.conflictingEvent`-style refusal as `query` when the id exists with other bytes.
    @discardableResult
    public func submit(id: String, spec: [UInt8], priority: Int, source: String = "submit") async throws -> Bool {
        let digest = SHA256.hash(data: spec).map { String(format: "%02x", $0) }.joined()
        let data = Data(spec)
        return try await database.connection("submit \(id)") { connection in
            let inserted = try await connection.query("""
                INSERT INTO jobs (id, spec, spec_sha256, priority, source) VALUES (\(id), \(data), \(digest), \(priority), \(source))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """, logger: database.logger).collect()
            if !inserted.isEmpty { return true }
            let existing = try await connection.query("SELECT spec_sha256 FROM jobs WHERE id = \(id)", logger: database.logger)
                .collect().first?.decode(String.self)
            guard existing == digest else {
                throw FleetError.query("job id \(id) is already queued with different content (spool.duplicate_id)")
            }
            return false
        }
    }

    /// Claims the next job: highest priority, then earliest arrival, then id; skips rows other
    /// claimers hold locked, so concurrent claimers never get the same job. Nil when none is ready.
    /// `token` names the attempt: calling again with the same token and `recovering` after a
    /// transient failure (the claim may have committed with its reply lost) first returns the
    /// job that attempt leased, so no job is left leased to a worker that does not know it holds it.
    public func claim(token: String = UUID().uuidString, recovering: Bool = false) async throws -> FleetClaim? {
        let statement = ClaimStatement(host: host, leaseSeconds: leaseDuration.seconds, token: token)
        let host = self.host
        return try await database.connection("claim") { connection in
            var claimed: FleetClaim?
            if recovering {
                for try await (job, generation, spec, attempt, failures, arrival) in try await connection.query("""
                    SELECT id, generation, spec, attempts, failures, arrival FROM jobs
                    WHERE claim_token = \(token) AND state = 'leased' AND lease_holder = \(host)
                    """, logger: database.logger).decode((String, Int64, Data, Int, Int, Date).self) {
                    claimed = FleetClaim(job: job, generation: generation, spec: Array(spec), attempt: attempt, failures: failures,
                                         host: host, arrival: arrival)
                }
            }
            if let claimed { return claimed }
            for try await (job, generation, spec, attempt, failures, arrival) in try await connection.execute(statement, logger: database.logger) {
                claimed = FleetClaim(job: job, generation: generation, spec: Array(spec), attempt: attempt, failures: failures,
                                     host: host, arrival: arrival)
            }
            return claimed
        }
    }

    /// Extends the claim's lease by `leaseDuration` from now.
    /// - Throws: `staleLease` when the lease was lost (expired and reclaimed, or claimed again).
    public func renew(_ claim: FleetClaim) async throws {
        let statement = RenewStatement(job: claim.job, generation: claim.generation, host: claim.host,
                                       leaseSeconds: leaseDuration.seconds)
        let renewed = try await database.connection("renew \(claim.job)") { connection in
            var count = 0
            for try await _ in try await connection.execute(statement, logger: database.logger) { count += 1 }
            return count
        }
        if renewed == 0 { throw FleetError.staleLease(job: claim.job, generation: claim.generation) }
    }

    /// Ends or returns the claim (see ``FleetEnding``); returns the job's new state.
    /// - Throws: `staleLease` when the claim is no longer current (nothing is changed).
    @discardableResult
    public func end(_ claim: FleetClaim, _ ending: FleetEnding) async throws -> String {
        let (job, generation, holder, maxHosts, maxFailures) = (claim.job, claim.generation, claim.host, maxFailedHosts, maxFailures)
        let state: String? = try await database.transaction("end \(job)") { connection in
            let logger = database.logger
            let rows: [PostgresRow]
            switch ending {
            case .rejected(let code, let reason):
                rows = try await connection.query("""
                    UPDATE jobs SET state = 'rejected', reason_code = \(code), reason = \(reason), lease_holder = NULL,
                      lease_expires = NULL, updated_at = clock_timestamp()
                    WHERE id = \(job) AND state = 'leased' AND lease_holder = \(holder) AND generation = \(generation)
                    RETURNING state
                    """, logger: logger).collect()
            case .failed(let code, let reason):
                rows = try await connection.query("""
                    UPDATE jobs SET failures = failures + 1,
                      failed_hosts = CASE WHEN \(holder) = ANY (failed_hosts) THEN failed_hosts ELSE failed_hosts || \(holder) END,
                      state = CASE WHEN cardinality(CASE WHEN \(holder) = ANY (failed_hosts) THEN failed_hosts
                                   ELSE failed_hosts || \(holder) END) >= \(maxHosts) OR failures + 1 >= \(maxFailures)
                              THEN 'parked' ELSE 'queued' END,
                      reason_code = \(code), reason = \(reason), lease_holder = NULL, lease_expires = NULL,
                      updated_at = clock_timestamp()
                    WHERE id = \(job) AND state = 'leased' AND lease_holder = \(holder) AND generation = \(generation)
                    RETURNING state
                    """, logger: logger).collect()
            case .deferred(let code, let reason, let retryAfter):
                let seconds = retryAfter.seconds
                rows = try await connection.query("""
                    UPDATE jobs SET state = 'queued', attempts = attempts - 1, reason_code = \(code), reason = \(reason),
                      not_before = clock_timestamp() + \(seconds) * interval '1 second', lease_holder = NULL,
                      lease_expires = NULL, updated_at = clock_timestamp()
                    WHERE id = \(job) AND state = 'leased' AND lease_holder = \(holder) AND generation = \(generation)
                    RETURNING state
                    """, logger: logger).collect()
            case .released:
                rows = try await connection.query("""
                    UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_holder = NULL, lease_expires = NULL,
                      updated_at = clock_timestamp()
                    WHERE id = \(job) AND state = 'leased' AND lease_holder = \(holder) AND generation = \(generation)
                    RETURNING state
                    """, logger: logger).collect()
            }
            guard let state = try rows.first?.decode(String.self) else { return nil }
            if state != "queued" {
                try await connection.query("DELETE FROM quota_reservations WHERE job = \(job)", logger: logger)
            }
            return state
        }
        guard let state else { throw FleetError.staleLease(job: job, generation: generation) }
        return state
    }

    /// The rescuer: every lease that expired goes back to `queued` with the holder counted as a
    /// failed host (and a failure), or to `parked` (`lease.expired_on_hosts`) once `maxFailedHosts`
    /// distinct hosts lost it or it failed `maxFailures` times. Any host may run it; returns the
    /// jobs moved and their new state.
    @discardableResult
    public func reclaimExpired() async throws -> [(job: String, state: String)] {
        let (maxHosts, maxFailures) = (maxFailedHosts, maxFailures)
        return try await database.transaction("reclaim expired leases") { connection in
            let rows = try await connection.query("""
                WITH expired AS (
                  SELECT id, CASE WHEN lease_holder = ANY (failed_hosts) THEN failed_hosts
                                  ELSE failed_hosts || lease_holder END AS hosts, lease_holder
                  FROM jobs WHERE state = 'leased' AND lease_expires < clock_timestamp()
                  FOR UPDATE SKIP LOCKED)
                UPDATE jobs j SET failed_hosts = e.hosts, failures = j.failures + 1,
                  state = CASE WHEN cardinality(e.hosts) >= \(maxHosts) OR j.failures + 1 >= \(maxFailures)
                          THEN 'parked' ELSE 'queued' END,
                  reason_code = CASE WHEN cardinality(e.hosts) >= \(maxHosts) OR j.failures + 1 >= \(maxFailures)
                                THEN 'lease.expired_on_hosts' ELSE 'lease.expired' END,
                  reason = 'lease of ' || e.lease_holder || ' expired (hosts that lost it: ' || array_to_string(e.hosts, ', ') || ')',
                  lease_holder = NULL, lease_expires = NULL, updated_at = clock_timestamp()
                FROM expired e WHERE j.id = e.id
                RETURNING j.id, j.state
                """, logger: database.logger).collect()
            var moved = [(job: String, state: String)]()
            for row in rows {
                let (id, state) = try row.decode((String, String).self)
                moved.append((id, state))
                if state == "parked" {
                    try await connection.query("DELETE FROM quota_reservations WHERE job = \(id)", logger: database.logger)
                }
            }
            return moved
        }
    }

    /// Records this host's heartbeat (`workers` is its worker count; `pid` its process id).
    public func heartbeat(workers: Int, pid: Int, startedAt: Date) async throws {
        let statement = HeartbeatStatement(host: host, pid: pid, workers: workers, startedAt: startedAt)
        _ = try await database.connection("heartbeat") { connection in
            try await connection.execute(statement, logger: database.logger)
        }
    }
}

extension Duration {
    /// Whole and fractional seconds, for SQL intervals.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
