// Role: tests of the `[queue]` table: the default (directory spool), the fleet backend with its
// URL and limits, and the errors naming the key.
// Reference: QueueConfig.swift; README "Fleet mode".
// Failure modes covered: a postgres backend without a URL, a URL on the directory backend, an
// unknown backend, out-of-range limits, an unknown key in the table.

import Foundation
import Testing
@testable import TwinDaemon

@Suite("Queue config")
struct QueueConfigTests {
    static let base = URL(fileURLWithPath: "/etc/twinrender")

    @Test("without [queue] the daemon uses the directory spool")
    func defaultIsDirectory() throws {
        let config = try DaemonConfig.parse("", baseDirectory: Self.base)
        #expect(config.queue == QueueConfig())
        #expect(config.queue.backend == .directory && config.queue.url == nil && config.queue.leaseSeconds == 30)
    }

    @Test("the shipped example keeps the directory backend")
    func exampleConfig() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Config/twinrender.toml").standardizedFileURL
        #expect(try DaemonConfig.load(path: url.path).queue == QueueConfig())
    }

    @Test("the postgres backend with its url and limits")
    func postgres() throws {
        let config = try DaemonConfig.parse("""
            [queue]
            backend = "postgres"
            url = "postgres:///fleet?host=/run/pg&user=twin"
            lease_seconds = 12.5
            poll_interval_seconds = 1
            max_failed_hosts = 2
            ingest_directory = "drop"
            """, baseDirectory: Self.base)
        #expect(config.queue.backend == .postgres && config.queue.url == "postgres:///fleet?host=/run/pg&user=twin")
        #expect(config.queue.leaseSeconds == 12.5 && config.queue.pollInterval == 1 && config.queue.maxFailedHosts == 2)
        #expect(config.queue.ingestDirectory?.path == "/etc/twinrender/drop")
    }

    @Test("errors name the key", arguments: [
        ("[queue]\nbackend = \"postgres\"\n", "queue.url"),
        ("[queue]\nurl = \"postgres:///x?host=/s\"\n", "queue.url"),
        ("[queue]\nbackend = \"mongodb\"\n", "queue.backend"),
        ("[queue]\nbackend = \"postgres\"\nurl = \"postgres:///x?host=/s\"\nlease_seconds = 0\n", "queue.lease_seconds"),
        ("[queue]\nmax_failed_hosts = 0\n", "queue.max_failed_hosts"),
        ("[queue]\nbackend = 3\n", "queue.backend"),
        ("[queue]\nleases = 3\n", "queue.leases"),
    ])
    func errors(_ text: String, _ key: String) {
        #expect {
            try DaemonConfig.parse(text, baseDirectory: Self.base)
        } throws: { error in
            "\(error)".contains(key)
        }
    }
}
