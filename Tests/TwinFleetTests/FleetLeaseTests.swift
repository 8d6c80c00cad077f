// Role: leases and fencing on a real PostgreSQL: renewal, expiry and reclaim by another host, a
// stale host's renew / end / commit refused (exactly one delivery), poison jobs parked after
// failing on N hosts, and the failure budget on one host.
// Reference: FleetQueue (renew, end, reclaimExpired), FleetCommit; docs/fleet.md "Lease and fencing".
// Failure modes covered: a paused host waking after losing its lease and committing anyway, a
// lease renewed by a holder that lost it, a job that crashes every host looping forever.

import Foundation
import Testing
@testable import TwinFleet
import TwinLedger

@Suite(.enabled(if: FleetTestDatabase.isConfigured, FleetTestDatabase.skipReason), .serialized)
struct FleetLeaseTests {
    @Test func renewalExtendsTheLease() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            // A 4 s lease, renewed every 1.2 s: each renewal has 2.8 s of slack on a loaded host.
            let queue = FleetQueue(database: database, host: "render-1", leaseDuration: .seconds(4))
            try await queue.submit(id: "j", spec: jobBytes("j"), priority: 0)
            let claim = try #require(try await queue.claim())
            for _ in 0..<5 {   // 6 s in all, longer than the lease: alive only because it is renewed
                try await Task.sleep(for: .milliseconds(1200))
                try await queue.renew(claim)
                #expect(try await queue.reclaimExpired().isEmpty)
            }
            #expect(try await state(of: "j", in: database) == "leased")
        }
    }

    @Test func expiredLeaseIsReclaimedByAnotherHostAndTheStaleHostIsFenced() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let a = FleetQueue(database: database, host: "render-a", leaseDuration: .milliseconds(500))
            let b = FleetQueue(database: database, host: "render-b", leaseDuration: .seconds(30))
            try await a.submit(id: "job-1", spec: jobBytes("job-1"), priority: 0)
            let stale = try #require(try await a.claim())
            #expect(try await b.claim() == nil)   // leased: nobody else gets it
            try await Task.sleep(for: .milliseconds(800))   // host A is paused past its lease
            let moved = try await b.reclaimExpired()
            #expect(moved.map(\.job) == ["job-1"] && moved.map(\.state) == ["queued"])
            let current = try #require(try await b.claim())
            #expect(current.job == "job-1" && current.generation == stale.generation + 1 && current.host == "render-b")
            #expect(current.failures == 1)

            // Host A wakes up: every write it tries is refused, nothing changes.
            await #expect(throws: FleetError.staleLease(job: "job-1", generation: stale.generation)) { try await a.renew(stale) }
            await #expect(throws: FleetError.staleLease(job: "job-1", generation: stale.generation)) {
                try await a.end(stale, .failed(code: "render.error", reason: "late"))
            }
            await #expect(throws: FleetError.staleLease(job: "job-1", generation: stale.generation)) {
                try await a.commit(delivery(stale, count: 2), key: hostKey("render-a"))
            }
            let eventsAfterStale: Int = try await database.value("SELECT count(*)::integer FROM royalty_events")
            #expect(eventsAfterStale == 0)

            let events = try await b.commit(delivery(current, count: 2), key: hostKey("render-b"))
            #expect(events.map(\.host) == ["render-b", "render-b"])
            // A's commit after B's delivery is still refused: exactly one delivery.
            await #expect(throws: FleetError.self) { try await a.commit(delivery(stale, count: 2), key: hostKey("render-a")) }
            let rows: Int = try await database.value("SELECT count(*)::integer FROM royalty_events WHERE job = 'job-1'")
            #expect(rows == 2)
            let generation: Int64 = try await database.value("SELECT min(generation) FROM royalty_events")
            #expect(generation == current.generation)
            #expect(try await state(of: "job-1", in: database) == "delivered")
        }
    }

    @Test func jobFailingOnNHostsIsParkedWithItsReason() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let hosts = ["h1", "h2", "h3"].map { FleetQueue(database: database, host: $0, maxFailedHosts: 3, maxFailures: 10) }
            try await hosts[0].submit(id: "poison", spec: jobBytes("poison"), priority: 0)
            var states = [String]()
            for queue in hosts {
                let claim = try #require(try await queue.claim())
                states.append(try await queue.end(claim, .failed(code: "render.crash", reason: "decoder crashed on \(queue.host)")))
            }
            #expect(states == ["queued", "queued", "parked"])
            #expect(try await hosts[0].claim() == nil)
            let (code, reason, failedHosts): (String, String, [String]) = try await database.rows(
                "SELECT reason_code, reason, failed_hosts FROM jobs WHERE id = 'poison'").first!.decode((String, String, [String]).self)
            #expect(code == "render.crash" && reason == "decoder crashed on h3" && failedHosts == ["h1", "h2", "h3"])
        }
    }

    @Test func repeatedFailuresOnOneHostCountOnceAsAHostButUseTheBudget() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "solo", maxFailedHosts: 2, maxFailures: 3)
            try await queue.submit(id: "flaky", spec: jobBytes("flaky"), priority: 0)
            var states = [String]()
            for _ in 0..<3 {
                let claim = try #require(try await queue.claim())
                states.append(try await queue.end(claim, .failed(code: "render.error", reason: "bad")))
            }
            #expect(states == ["queued", "queued", "parked"])
            let hosts: [String] = try await database.value("SELECT failed_hosts FROM jobs WHERE id = 'flaky'")
            #expect(hosts == ["solo"])
        }
    }

    @Test func leaseLostOnNHostsParksTheJob() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let hosts = ["h1", "h2"].map { FleetQueue(database: database, host: $0, leaseDuration: .seconds(30), maxFailedHosts: 2) }
            try await hosts[0].submit(id: "killer", spec: jobBytes("killer"), priority: 0)
            var moved = [String]()
            for queue in hosts {
                _ = try #require(try await queue.claim())
                // The host dies: its lease runs out (moved back in time rather than waited for).
                _ = try await database.rows("UPDATE jobs SET lease_expires = clock_timestamp() - interval '1 second' WHERE state = 'leased'")
                moved += try await queue.reclaimExpired().map(\.state)
            }
            #expect(moved == ["queued", "parked"])
            let code: String = try await database.value("SELECT reason_code FROM jobs WHERE id = 'killer'")
            #expect(code == "lease.expired_on_hosts")
        }
    }
}
