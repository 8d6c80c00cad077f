// Role: the `[queue]` table of `twinrender.toml`: which queue the daemon and the CLI use — the
// directory spool (the embedded default for one host) or the fleet database (PostgreSQL) — and
// the fleet's lease and poison-job limits.
// Reference: README "Fleet mode"; docs/fleet.md.
// Failure modes: an unknown backend, a `postgres` backend without `url`, a `url` with the
// directory backend, or an out-of-range number throws `ConfigError` naming the key (the URL's
// form is checked by TwinFleet when it is opened).

import Foundation

/// `[queue]`: where jobs wait and who holds them.
public struct QueueConfig: Sendable, Equatable {
    /// The queue implementations.
    public enum Backend: String, Sendable, Equatable {
        /// `spool.directory`: claim by rename, one host (or hosts on one shared directory).
        case directory
        /// `queue.url`: the fleet database; leases, quotas and the ledger live in PostgreSQL.
        case postgres
    }

    /// `queue.backend`: `directory` or `postgres`. Default `directory`.
    public var backend: Backend = .directory
    /// `queue.url`: the fleet database, `postgres://USER@HOST:PORT/DB` or
    /// `postgres:///DB?host=/socket/dir&user=USER`. Required with `postgres`; default none.
    public var url: String?
    /// `queue.lease_seconds`: how long a claim holds a job without renewal; the heartbeat renews
    /// it every third of this. Default 30.
    public var leaseSeconds: Double = 30
    /// `queue.poll_interval_seconds`: idle workers look at the queue at least this often
    /// (LISTEN/NOTIFY wakes them sooner). Default 2.
    public var pollInterval: Double = 2
    /// `queue.max_failed_hosts`: distinct hosts a job may fail on (a render failure or a lost
    /// lease) before it is parked as poison. Default 3.
    public var maxFailedHosts = 3
    /// `queue.ingest_directory`: a shared directory whose `incoming/` job files the ingest
    /// service moves into the database. Default none (no ingest).
    public var ingestDirectory: URL?
    /// `queue.output_directory`: where a fleet host stages and delivers its images (shared
    /// storage, so every host's deliveries land in one place). Default the spool's `out/`.
    public var outputDirectory: URL?

    public init() {}

    /// Reads `[queue]` through `reader` (the caller rejects unknown keys afterwards).
    static func read(_ reader: inout ConfigReader) throws -> QueueConfig {
        var queue = QueueConfig()
        if let name = try reader.string("queue.backend") {
            guard let backend = Backend(rawValue: name) else {
                throw ConfigError.outOfRange("queue.backend", "'\(name)' is not one of directory, postgres")
            }
            queue.backend = backend
        }
        queue.url = try reader.string("queue.url")
        switch (queue.backend, queue.url) {
        case (.postgres, nil): throw ConfigError.outOfRange("queue.url", "required when queue.backend = \"postgres\"")
        case (.directory, .some): throw ConfigError.outOfRange("queue.url", "set, but queue.backend is \"directory\"")
        default: break
        }
        queue.leaseSeconds = try reader.number("queue.lease_seconds", in: 1...3600) ?? queue.leaseSeconds
        queue.pollInterval = try reader.number("queue.poll_interval_seconds", in: 0.05...3600) ?? queue.pollInterval
        queue.maxFailedHosts = try reader.integer("queue.max_failed_hosts", in: 1...100) ?? queue.maxFailedHosts
        queue.ingestDirectory = try reader.path("queue.ingest_directory")
        queue.outputDirectory = try reader.path("queue.output_directory")
        if queue.backend == .directory, queue.outputDirectory != nil {
            throw ConfigError.outOfRange("queue.output_directory", "set, but queue.backend is \"directory\" (the spool delivers into its out/)")
        }
        return queue
    }
}
