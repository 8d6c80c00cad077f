// Role: the prepared statements on the hot path (claim, renew, heartbeat): parsed once per
// connection by the server, then only bound and executed.
// Reference: postgres-nio `PostgresPreparedStatement`; river's claim query.
// Failure modes: a decode mismatch is a schema bug and surfaces as `FleetError.query`.

import Foundation
import PostgresNIO

/// Claims the next ready job for `host`: one statement, so the row lock lasts only as long as it.
struct ClaimStatement: PostgresPreparedStatement {
    static let sql = """
        WITH next AS (
          SELECT id FROM jobs
          WHERE state = 'queued' AND (not_before IS NULL OR not_before <= clock_timestamp())
          ORDER BY priority DESC, arrival, id
          LIMIT 1 FOR UPDATE SKIP LOCKED)
        UPDATE jobs j SET state = 'leased', generation = j.generation + 1, lease_holder = $1,
          lease_expires = clock_timestamp() + $2 * interval '1 second', attempts = j.attempts + 1,
          not_before = NULL, updated_at = clock_timestamp()
        FROM next WHERE j.id = next.id
        RETURNING j.id, j.generation, j.spec, j.attempts
        """
    typealias Row = (String, Int64, Data, Int)
    var host: String
    var leaseSeconds: Double

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(host)
        bindings.append(leaseSeconds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Extends a lease, only while the claim (holder + generation) is still current.
struct RenewStatement: PostgresPreparedStatement {
    static let sql = """
        UPDATE jobs SET lease_expires = clock_timestamp() + $4 * interval '1 second'
        WHERE id = $1 AND generation = $2 AND lease_holder = $3 AND state = 'leased'
        RETURNING id
        """
    typealias Row = String
    var job: String
    var generation: Int64
    var host: String
    var leaseSeconds: Double

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(job)
        bindings.append(generation)
        bindings.append(host)
        bindings.append(leaseSeconds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(String.self) }
}

/// Upserts the host's row with the current time as its heartbeat.
struct HeartbeatStatement: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO hosts (name, pid, workers, started_at, last_heartbeat) VALUES ($1, $2, $3, $4, clock_timestamp())
        ON CONFLICT (name) DO UPDATE SET pid = EXCLUDED.pid, workers = EXCLUDED.workers,
          started_at = EXCLUDED.started_at, last_heartbeat = EXCLUDED.last_heartbeat
        """
    typealias Row = ()
    var host: String
    var pid: Int
    var workers: Int
    var startedAt: Date

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(host)
        bindings.append(pid)
        bindings.append(workers)
        bindings.append(startedAt)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { () }
}
