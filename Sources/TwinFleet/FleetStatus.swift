// Role: the fleet view `twinrender status` shows in fleet mode, read in one snapshot
// (REPEATABLE READ, read only): hosts with their last heartbeat, current leases, queue depth per
// state, parked jobs with their reason, and throughput per host (images and jobs committed in the
// last `window`), all measured with the database's clock so host clock skew does not matter.
// Reference: OpenCue's cuebot host and frame views; river's queue stats.
// Failure modes: a database outage is `databaseUnavailable`; nothing is written.

import Foundation
import PostgresNIO

/// A snapshot of the fleet.
public struct FleetStatus: Sendable, Codable, Equatable {
    /// One render host, by its last heartbeat.
    public struct Host: Sendable, Codable, Equatable {
        public let name: String
        public let pid: Int
        public let workers: Int
        /// Seconds since its last heartbeat.
        public let heartbeatAgeSeconds: Double
        /// Leases it holds now.
        public let leases: Int
        /// Images it committed within the window.
        public let imagesInWindow: Int
        /// Jobs it delivered within the window.
        public let jobsInWindow: Int
    }

    /// One lease held now.
    public struct Lease: Sendable, Codable, Equatable {
        public let job: String
        public let holder: String
        public let generation: Int64
        /// Seconds until it expires (negative: expired, waiting for the rescuer).
        public let expiresInSeconds: Double
        public let attempt: Int
    }

    /// A job parked as poison, with why.
    public struct Parked: Sendable, Codable, Equatable {
        public let job: String
        public let code: String
        public let reason: String
        public let failedHosts: [String]
    }

    /// The schema version.
    public let schemaVersion: Int
    /// Jobs per state (every state present, zero included).
    public let states: [String: Int]
    /// Queued jobs that are claimable now (not deferred).
    public let ready: Int
    public let hosts: [Host]
    public let leases: [Lease]
    public let parked: [Parked]
    /// The throughput window, seconds.
    public let windowSeconds: Double

    static let allStates = ["queued", "leased", "delivered", "rejected", "failed", "parked"]

    /// Reads the snapshot; throughput counts the last `window`, at most `maxLeases` leases are listed.
    public static func read(_ database: FleetDatabase, window: Duration = .seconds(600), maxLeases: Int = 50) async throws -> FleetStatus {
        let windowSeconds = window.seconds
        let version = try await FleetSchema.version(of: database)
        return try await database.transaction("read fleet status") { connection in
            let logger = database.logger
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            var states = Dictionary(uniqueKeysWithValues: allStates.map { ($0, 0) })
            for try await (state, count) in try await connection.query(
                "SELECT state, count(*)::integer FROM jobs GROUP BY state", logger: logger).decode((String, Int).self) {
                states[state] = count
            }
            let ready = try await connection.query("""
                SELECT count(*)::integer FROM jobs WHERE state = 'queued' AND (not_before IS NULL OR not_before <= clock_timestamp())
                """, logger: logger).collect().first?.decode(Int.self) ?? 0
            var hosts = [Host]()
            for try await (name, pid, workers, age, leases, images, jobs) in try await connection.query("""
                SELECT h.name, h.pid, h.workers, extract(epoch FROM clock_timestamp() - h.last_heartbeat)::float8,
                  (SELECT count(*)::integer FROM jobs j WHERE j.state = 'leased' AND j.lease_holder = h.name),
                  (SELECT count(*)::integer FROM royalty_events e WHERE e.host = h.name
                     AND e.committed_at > clock_timestamp() - \(windowSeconds) * interval '1 second'),
                  (SELECT count(*)::integer FROM jobs j WHERE j.state = 'delivered' AND j.delivered_by = h.name
                     AND j.delivered_at > clock_timestamp() - \(windowSeconds) * interval '1 second')
                FROM hosts h ORDER BY h.name
                """, logger: logger).decode((String, Int, Int, Double, Int, Int, Int).self) {
                hosts.append(Host(name: name, pid: pid, workers: workers, heartbeatAgeSeconds: age, leases: leases,
                                  imagesInWindow: images, jobsInWindow: jobs))
            }
            var leases = [Lease]()
            for try await (job, holder, generation, expires, attempt) in try await connection.query("""
                SELECT id, lease_holder, generation, extract(epoch FROM lease_expires - clock_timestamp())::float8, attempts
                FROM jobs WHERE state = 'leased' ORDER BY lease_expires, id LIMIT \(maxLeases)
                """, logger: logger).decode((String, String, Int64, Double, Int).self) {
                leases.append(Lease(job: job, holder: holder, generation: generation, expiresInSeconds: expires, attempt: attempt))
            }
            var parked = [Parked]()
            for try await (job, code, reason, failedHosts) in try await connection.query("""
                SELECT id, coalesce(reason_code, ''), coalesce(reason, ''), failed_hosts FROM jobs
                WHERE state = 'parked' ORDER BY updated_at DESC, id LIMIT 50
                """, logger: logger).decode((String, String, String, [String]).self) {
                parked.append(Parked(job: job, code: code, reason: reason, failedHosts: failedHosts))
            }
            return FleetStatus(schemaVersion: version, states: states, ready: ready, hosts: hosts, leases: leases,
                               parked: parked, windowSeconds: windowSeconds)
        }
    }

    /// The human-readable view.
    public var text: String {
        var lines = ["fleet (schema v\(schemaVersion))"]
        lines.append("jobs: " + Self.allStates.map { "\($0) \(states[$0] ?? 0)" }.joined(separator: ", ") + " (ready now \(ready))")
        lines.append("hosts: \(hosts.count)")
        for host in hosts {
            let perMinute = windowSeconds > 0 ? Double(host.imagesInWindow) * 60 / windowSeconds : 0
            lines.append("  \(host.name)  pid \(host.pid)  workers \(host.workers)  heartbeat \(Self.decimal(host.heartbeatAgeSeconds))s ago"
                         + "  leases \(host.leases)  \(host.imagesInWindow) images / \(host.jobsInWindow) jobs in the last"
                         + " \(Self.decimal(windowSeconds / 60)) min (\(Self.decimal(perMinute)) images/min)")
        }
        if !leases.isEmpty { lines.append("leases:") }
        for lease in leases {
            lines.append("  \(lease.job)  \(lease.holder)  generation \(lease.generation)  attempt \(lease.attempt)"
                         + "  expires in \(Self.decimal(lease.expiresInSeconds))s")
        }
        if !parked.isEmpty { lines.append("parked:") }
        for job in parked {
            lines.append("  \(job.job)  \(job.code)  \(job.reason)  (hosts: \(job.failedHosts.joined(separator: ", ")))")
        }
        return lines.joined(separator: "\n")
    }

    private static func decimal(_ value: Double) -> String { String(format: "%.1f", value) }
}
