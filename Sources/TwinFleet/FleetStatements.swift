// Role: the prepared statements on the hot path (claim, renew, heartbeat): parsed once per
// connection by the server, then only bound and executed. Each statement is its SQL, its
// parameters in `$n` order and its row type; binding is shared (`FleetStatement`).
// Reference: postgres-nio `PostgresPreparedStatement` (parameter types are inferred from the
// bindings: `String` text, `Int`/`Int64` int8, `Double` float8, `Date` timestamptz); river's claim query.
// Failure modes: a decode mismatch is a schema bug and surfaces as `FleetError.query`.

import Foundation
import PostgresNIO

/// A prepared statement whose bindings are `parameters`, in `$1, $2, …` order.
protocol FleetStatement: PostgresPreparedStatement {
    var parameters: [any PostgresThrowingDynamicTypeEncodable] { get }
}

extension FleetStatement {
    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: parameters.count)
        for value in parameters { try bindings.append(value) }
        return bindings
    }
}

/// Claims the next ready job for `host`: one statement, so the row lock lasts only as long as it.
struct ClaimStatement: FleetStatement {
    static let sql = """
        WITH next AS (
          SELECT id FROM jobs
          WHERE state = 'queued' AND (not_before IS NULL OR not_before <= clock_timestamp())
          ORDER BY priority DESC, arrival, id
          LIMIT 1 FOR UPDATE SKIP LOCKED)
        UPDATE jobs j SET state = 'leased', generation = j.generation + 1, lease_holder = $1,
          lease_expires = clock_timestamp() + $2 * interval '1 second', claim_token = $3, attempts = j.attempts + 1,
          not_before = NULL, updated_at = clock_timestamp()
        FROM next WHERE j.id = next.id
        RETURNING j.id, j.generation, j.spec, j.attempts, j.failures, j.arrival
        """
    typealias Row = (String, Int64, Data, Int, Int, Date)
    let host: String
    let leaseSeconds: Double
    /// Names this claim attempt, so a claim whose reply was lost can be found again.
    let token: String
    var parameters: [any PostgresThrowingDynamicTypeEncodable] { [host, leaseSeconds, token] }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Extends a lease, only while the claim (holder + generation) is still current; returns the job
/// id (no row: the lease is lost).
struct RenewStatement: FleetStatement {
    static let sql = """
        UPDATE jobs SET lease_expires = clock_timestamp() + $4 * interval '1 second'
        WHERE id = $1 AND generation = $2 AND lease_holder = $3 AND state = 'leased'
        RETURNING id
        """
    typealias Row = String
    let job: String
    let generation: Int64
    let host: String
    let leaseSeconds: Double
    var parameters: [any PostgresThrowingDynamicTypeEncodable] { [job, generation, host, leaseSeconds] }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(String.self) }
}

/// Upserts the host's row with the current time as its heartbeat.
struct HeartbeatStatement: FleetStatement {
    static let sql = """
        INSERT INTO hosts (name, pid, workers, started_at, last_heartbeat) VALUES ($1, $2, $3, $4, clock_timestamp())
        ON CONFLICT (name) DO UPDATE SET pid = EXCLUDED.pid, workers = EXCLUDED.workers,
          started_at = EXCLUDED.started_at, last_heartbeat = EXCLUDED.last_heartbeat
        """
    typealias Row = ()
    let host: String
    let pid: Int
    let workers: Int
    let startedAt: Date
    var parameters: [any PostgresThrowingDynamicTypeEncodable] { [host, pid, workers, startedAt] }
    func decodeRow(_ row: PostgresRow) throws -> Row { () }
}
