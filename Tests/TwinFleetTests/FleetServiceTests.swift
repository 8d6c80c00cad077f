// Role: the fleet's long-running helpers on a real PostgreSQL: LISTEN/NOTIFY wake-ups (a submit
// wakes a listener; a listener whose connection is killed reconnects and wakes again), the lease
// keeper (renews during work, reports a lost lease), the ingest service (exactly once, also
// after a crash between insert and rename, and with two ingesters racing), and the status view.
// Reference: FleetWakeups, FleetLeaseKeeper, FleetIngest, FleetStatus.
// Failure modes covered: a notification lost with a dropped connection, a render outliving its
// lease unnoticed, a dropped file inserted twice or lost, a status view that miscounts.

import Foundation
import Testing
import TwinBase
@testable import TwinFleet

/// Counts calls, for wake-ups and callbacks.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }

    /// Waits until `count` reaches `target` or `timeout` passes; returns whether it did.
    func wait(for target: Int, timeout: Duration = .seconds(10)) async -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if count >= target { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return count >= target
    }
}

private func makeDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-ingest-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func names(_ url: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
}

@Suite(.enabled(if: FleetTestDatabase.isConfigured, FleetTestDatabase.skipReason), .serialized)
struct FleetServiceTests {
    @Test func notifyWakesAListenerAndItReconnectsAfterItsConnectionIsKilled() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let wakes = Counter(), connects = Counter()
            let listener = Task {
                await FleetWakeups(database: database, maxBackoff: .milliseconds(200)).run(
                    onWake: { wakes.increment() }, onConnectionChange: { if $0 { connects.increment() } })
            }
            defer { listener.cancel() }
            #expect(await connects.wait(for: 1))
            let before = wakes.count   // 1: the catch-up wake-up after connecting
            let queue = FleetQueue(database: database, host: "render-1")
            try await queue.submit(id: "wake-me", spec: jobBytes("wake-me"), priority: 0)
            #expect(await wakes.wait(for: before + 1))

            // The server ends the listening session (as a restart would); the listener comes back.
            _ = try await database.rows("""
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'
                """)
            #expect(await connects.wait(for: 2))
            let afterReconnect = wakes.count
            try await queue.submit(id: "wake-again", spec: jobBytes("wake-again"), priority: 0)
            #expect(await wakes.wait(for: afterReconnect + 1))
        }
    }

    @Test func leaseKeeperRenewsDuringWorkAndReportsALostLease() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "render-1", leaseDuration: .seconds(6))
            try await queue.submit(id: "long", spec: jobBytes("long"), priority: 0)
            let claim = try #require(try await queue.claim())
            let lost = Counter()
            let expiresSQL = "SELECT extract(epoch FROM lease_expires)::float8 FROM jobs WHERE id = 'long'"
            let claimedUntil: Double = try await database.value(expiresSQL)
            let started = ContinuousClock.now
            let renewals = Counter()
            try await FleetLeaseKeeper.keeping(claim, queue: queue, onLost: { _ in lost.increment() }) {
                // The work outlives its lease (at least 9 s against 6 s) and ends right after a
                // renewal the test has seen land; how long a loaded host takes per statement does
                // not matter, only that the keeper renews (bounded at 60 s).
                var seen = claimedUntil
                while ContinuousClock.now - started < .seconds(60) {
                    try await Task.sleep(for: .milliseconds(200))
                    let expires: Double = try await database.value(expiresSQL)
                    guard expires > seen else { continue }
                    renewals.increment()
                    seen = expires
                    if renewals.count >= 2 && ContinuousClock.now - started >= .seconds(9) {
                        #expect(try await queue.reclaimExpired().isEmpty)   // just renewed: not expired
                        return
                    }
                }
            }
            #expect(lost.count == 0)
            #expect(renewals.count >= 2)
            try await queue.renew(claim)   // still ours

            // Another host takes the job over (as after a partition): the keeper notices.
            _ = try await database.rows("UPDATE jobs SET generation = generation + 1, lease_holder = 'render-2'")
            try await FleetLeaseKeeper.keeping(claim, queue: queue, onLost: { _ in lost.increment() }) {
                _ = await lost.wait(for: 1, timeout: .seconds(30))   // returns as soon as it is noticed
            }
            #expect(lost.count == 1)
        }
    }

    @Test func ingestMovesEachFileIntoTheQueueExactlyOnce() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let root = makeDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let queue = FleetQueue(database: database, host: "ingest-1")
            let ingest = try FleetIngest(queue: queue, root: root, maxJobBytes: 1024)
            let incoming = root.appendingPathComponent("incoming")
            try Data("{\"id\":\"a\",\"priority\":7}".utf8).write(to: incoming.appendingPathComponent("a.json"))
            try Data("{\"id\":\"b\"}".utf8).write(to: incoming.appendingPathComponent("b.json"))
            try Data("x".utf8).write(to: incoming.appendingPathComponent("bad name!.json"))
            try Data(repeating: 32, count: 2048).write(to: incoming.appendingPathComponent("huge.json"))
            try Data("partial".utf8).write(to: incoming.appendingPathComponent(".c.json.tmp"))

            let first = try await ingest.scan()
            #expect(first.queued == ["a", "b"] && first.alreadyQueued.isEmpty)
            #expect(first.rejected == ["bad name!.json": "job.invalid_name", "huge.json": "job.unreadable"])
            #expect(names(incoming) == [".c.json.tmp"])
            #expect(names(root.appendingPathComponent("ingested")) == ["a.json", "b.json"])
            #expect(names(root.appendingPathComponent("rejected")).count == 4)   // two files and their reasons
            let priority: Int = try await database.value("SELECT priority FROM jobs WHERE id = 'a'")
            #expect(priority == 7)

            // A crash after the insert, before the rename: the file is still there; the next scan
            // finds it already queued and only moves it.
            try Data("{\"id\":\"b\"}".utf8).write(to: incoming.appendingPathComponent("b.json"))
            let again = try await ingest.scan()
            #expect(again.queued.isEmpty && again.alreadyQueued == ["b"])
            // The same id with other bytes is refused, not merged.
            try Data("{\"id\":\"a\",\"count\":2}".utf8).write(to: incoming.appendingPathComponent("a.json"))
            #expect(try await ingest.scan().rejected == ["a.json": "spool.duplicate_id"])
            let rows: Int = try await database.value("SELECT count(*)::integer FROM jobs")
            #expect(rows == 2)
        }
    }

    @Test func twoIngestersOnOneDirectoryInsertEachJobOnce() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let root = makeDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let ids = (0..<60).map { "drop-\($0)" }
            let a = try FleetIngest(queue: FleetQueue(database: database, host: "ingest-a"), root: root)
            let b = try FleetIngest(queue: FleetQueue(database: database, host: "ingest-b"), root: root)
            for id in ids { try Data(jobBytes(id)).write(to: root.appendingPathComponent("incoming/\(id).json")) }
            async let scanA = a.scan()
            async let scanB = b.scan()
            let (resultA, resultB) = try await (scanA, scanB)
            #expect(Set(resultA.queued).isDisjoint(with: resultB.queued))
            #expect(Set(resultA.queued + resultB.queued) == Set(ids))
            #expect(resultA.rejected.isEmpty && resultB.rejected.isEmpty)
            #expect(names(root.appendingPathComponent("incoming")).isEmpty)
            #expect(names(root.appendingPathComponent("ingested")).count == ids.count)
            let rows: Int = try await database.value("SELECT count(*)::integer FROM jobs")
            #expect(rows == ids.count)
        }
    }

    @Test func statusShowsHostsLeasesStatesAndThroughput() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let a = FleetQueue(database: database, host: "render-a")
            let b = FleetQueue(database: database, host: "render-b", maxFailedHosts: 1)
            try await a.heartbeat(workers: 2, pid: 100, startedAt: Date())
            try await b.heartbeat(workers: 1, pid: 200, startedAt: Date())
            for id in ["j1", "j2", "j3", "j4"] { try await a.submit(id: id, spec: jobBytes(id), priority: 0) }
            _ = try await a.commit(delivery(try #require(try await a.claim()), count: 3), key: hostKey("render-a"))
            let held = try #require(try await a.claim())
            let poison = try #require(try await b.claim())
            try await b.end(poison, .failed(code: "render.crash", reason: "boom"))

            let status = try await FleetStatus.read(database)
            #expect(status.schemaVersion == FleetSchema.currentVersion)
            #expect(status.states == ["queued": 1, "leased": 1, "delivered": 1, "rejected": 0, "failed": 0, "parked": 1])
            #expect(status.ready == 1)
            #expect(status.hosts.map(\.name) == ["render-a", "render-b"])
            #expect(status.hosts[0].imagesInWindow == 3 && status.hosts[0].jobsInWindow == 1 && status.hosts[0].leases == 1)
            #expect(status.hosts[0].workers == 2 && status.hosts[0].heartbeatAgeSeconds < 60)
            #expect(status.leases.map(\.job) == [held.job] && status.leases[0].expiresInSeconds > 0)
            #expect(status.parked.map(\.job) == [poison.job] && status.parked[0].failedHosts == ["render-b"])
            #expect(status.text.contains("render-a") && status.text.contains("parked:"))
        }
    }

    @Test func benchmarkDeliversEveryJobOnceAndMeasuresIt() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let result = try await FleetBenchmark.run(database: database, jobs: 60, workers: 4, hosts: 2, grants: 3)
            #expect(result.jobsPerSecond > 0 && result.seconds > 0)
            #expect(result.claimMedianMilliseconds > 0 && result.commitMedianMilliseconds > 0)
            let events: Int = try await database.value("SELECT count(DISTINCT job)::integer FROM royalty_events")
            let chains: [Int64] = try await database.rows("SELECT seq FROM ledger_heads ORDER BY host").map { try $0.decode(Int64.self) }
            #expect(events == 60 && chains.reduce(0, +) == 60)
            let quotas: [Int] = try await database.rows("SELECT delivered FROM grant_quota ORDER BY grant_uid").map { try $0.decode(Int.self) }
            #expect(quotas == [20, 20, 20])
        }
    }

    @Test func diagnoseSaysWhyTheServerRefuses() async throws {
        try await FleetTestDatabase.withDatabase { database, url in
            #expect(await database.diagnose() == nil)
            let missing = FleetDatabase(url: url.with(database: "no_such_database_here"), logger: FleetTestDatabase.logger)
            let reason = try #require(await missing.diagnose())
            #expect(reason.contains("no_such_database_here") && reason.contains("does not exist"), "\(reason)")
        }
    }
}
