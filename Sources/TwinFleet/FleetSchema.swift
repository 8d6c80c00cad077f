// Role: the fleet database's schema as numbered migrations, and `migrate`, which applies the
// missing ones in order, each in its own transaction, recording each in `fleet_schema`.
// Reference: graphile/worker and riverqueue/river (versioned, forward-only migrations under an
// advisory lock); the table layout is documented in docs/fleet.md ("Schema").
// Failure modes: concurrent `migrate` calls serialise on an advisory lock, so each migration runs
// once; a failed migration rolls back whole and later ones are not tried; a database whose schema
// is newer than this binary's is refused (`schemaTooNew`), never downgraded.

import Foundation
import PostgresNIO

/// One schema version: statements applied together in one transaction.
struct Migration: Sendable {
    let version: Int
    let name: String
    let statements: [String]
}

/// The fleet schema and its migrator.
public enum FleetSchema {
    /// The newest schema version this binary knows.
    public static var currentVersion: Int { migrations.last?.version ?? 0 }

    /// The channel workers LISTEN on; a trigger notifies it (payload: the job id) whenever a job
    /// becomes `queued`.
    public static let wakeChannel = "twinrender_jobs"

    static let migrations: [Migration] = [
        Migration(version: 1, name: "queue, leases, hosts, quotas, ledger", statements: [
            """
            CREATE TABLE jobs (
              id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,64}$'),
              spec bytea NOT NULL,
              spec_sha256 text NOT NULL,
              priority integer NOT NULL DEFAULT 0,
              arrival timestamptz NOT NULL DEFAULT clock_timestamp(),
              state text NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'leased', 'delivered', 'rejected', 'failed', 'parked')),
              generation bigint NOT NULL DEFAULT 0,
              lease_holder text,
              lease_expires timestamptz,
              claim_token text,
              attempts integer NOT NULL DEFAULT 0,
              failures integer NOT NULL DEFAULT 0,
              failed_hosts text[] NOT NULL DEFAULT '{}',
              not_before timestamptz,
              reason_code text,
              reason text,
              source text NOT NULL,
              delivered_by text,
              delivered_at timestamptz,
              updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
              CHECK ((state = 'leased') = (lease_holder IS NOT NULL AND lease_expires IS NOT NULL))
            )
            """,
            "CREATE INDEX jobs_claim_order ON jobs (priority DESC, arrival, id) WHERE state = 'queued'",
            "CREATE INDEX jobs_lease_expiry ON jobs (lease_expires) WHERE state = 'leased'",
            """
            CREATE TABLE hosts (
              name text PRIMARY KEY,
              pid integer NOT NULL,
              workers integer NOT NULL,
              started_at timestamptz NOT NULL,
              last_heartbeat timestamptz NOT NULL
            )
            """,
            """
            CREATE TABLE grant_quota (
              grant_uid text PRIMARY KEY,
              max_images integer,
              delivered integer NOT NULL DEFAULT 0 CHECK (delivered >= 0)
            )
            """,
            """
            CREATE TABLE quota_reservations (
              job text NOT NULL REFERENCES jobs (id),
              grant_uid text NOT NULL REFERENCES grant_quota (grant_uid),
              images integer NOT NULL CHECK (images > 0),
              generation bigint NOT NULL,
              PRIMARY KEY (job, grant_uid)
            )
            """,
            """
            CREATE TABLE ledger_heads (
              host text PRIMARY KEY,
              seq bigint NOT NULL,
              hash text NOT NULL,
              size bigint NOT NULL,
              head text
            )
            """,
            """
            CREATE TABLE royalty_events (
              position bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
              event_id text PRIMARY KEY,
              host text NOT NULL REFERENCES ledger_heads (host),
              seq bigint NOT NULL,
              job text NOT NULL REFERENCES jobs (id),
              image_index integer NOT NULL,
              grant_uid text NOT NULL,
              output_sha256 text NOT NULL,
              generation bigint NOT NULL,
              line text NOT NULL,
              committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
              UNIQUE (host, seq),
              UNIQUE (job, image_index)
            )
            """,
            """
            CREATE FUNCTION twinrender_notify_queued() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('twinrender_jobs', NEW.id); RETURN NULL; END $$
            """,
            """
            CREATE TRIGGER jobs_notify_queued AFTER INSERT OR UPDATE OF state ON jobs
              FOR EACH ROW WHEN (NEW.state = 'queued') EXECUTE FUNCTION twinrender_notify_queued()
            """,
        ]),
    ]

    /// Applies every migration the database lacks; returns the versions applied now (empty when
    /// the schema was already current: running it again changes nothing).
    /// - Throws: `FleetError.schemaTooNew`, `databaseUnavailable`, `query`.
    @discardableResult
    public static func migrate(_ database: FleetDatabase) async throws -> [Int] {
        var applied = [Int]()
        for migration in migrations {
            let done = try await database.transaction("migrate to version \(migration.version)") { connection in
                let logger = database.logger
                // Serialises concurrent migrators (released at commit); the key is "twinrend" in ASCII.
                try await connection.query("SELECT pg_advisory_xact_lock(8390876174420143716)", logger: logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS fleet_schema (
                      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                let found = try await connection.query("SELECT coalesce(max(version), 0) FROM fleet_schema", logger: logger)
                    .collect().first?.decode(Int.self) ?? 0
                if found > currentVersion { throw FleetError.schemaTooNew(found: found, known: currentVersion) }
                if found >= migration.version { return false }
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO fleet_schema (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                return true
            }
            if done { applied.append(migration.version) }
        }
        return applied
    }

    /// The schema version the database is at (0 before the first migration).
    public static func version(of database: FleetDatabase) async throws -> Int {
        try await database.connection("read schema version") { connection in
            let exists = try await connection.query("SELECT to_regclass('fleet_schema') IS NOT NULL", logger: database.logger)
                .collect().first?.decode(Bool.self) ?? false
            guard exists else { return 0 }
            return try await connection.query("SELECT coalesce(max(version), 0) FROM fleet_schema", logger: database.logger)
                .collect().first?.decode(Int.self) ?? 0
        }
    }
}
