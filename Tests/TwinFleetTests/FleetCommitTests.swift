// Role: the commit point on a real PostgreSQL: one transaction writes the events (unique ids,
// one host chain), consumes the grant's quota, marks the job delivered and drops its
// reservations; any refusal writes nothing; a retried commit of the same claim writes nothing
// twice; reservations keep concurrent hosts within a grant's limit.
// Reference: FleetCommit.swift.
// Failure modes covered: a partial commit, a quota overrun, a duplicate event id, a forked host
// chain under concurrent workers, a commit doubled by a retry after a lost COMMIT reply.

import Foundation
import Testing
@testable import TwinFleet
import TwinLedger

@Suite(.enabled(if: FleetTestDatabase.isConfigured, FleetTestDatabase.skipReason), .serialized)
struct FleetCommitTests {
    @Test func commitWritesEventsQuotaAndStateTogether() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "render-1")
            try await queue.submit(id: "job-1", spec: jobBytes("job-1"), priority: 0)
            let claim = try #require(try await queue.claim())
            try await queue.reserve(claim, grant: "grant-1", images: 3, limit: 10)
            let events = try await queue.commit(delivery(claim, count: 3, limit: 10), key: hostKey("render-1"))
            #expect(events.map(\.seq) == [1, 2, 3])
            #expect(events.map(\.eventID) == (0..<3).map { RoyaltyEvent.eventID(job: "job-1", imageIndex: $0) })
            #expect(events[0].prevHash == RoyaltyEvent.genesisHash && events[1].prevHash == events[0].hash)
            let delivered: Int = try await database.value("SELECT delivered FROM grant_quota WHERE grant_uid = 'grant-1'")
            #expect(delivered == 3)
            #expect(try await state(of: "job-1", in: database) == "delivered")
            let reservations: Int = try await database.value("SELECT count(*)::integer FROM quota_reservations")
            #expect(reservations == 0)
            let deliveredBy: String = try await database.value("SELECT delivered_by FROM jobs WHERE id = 'job-1'")
            #expect(deliveredBy == "render-1")
            let (seq, hash): (Int64, String) = try await database.rows("SELECT seq, hash FROM ledger_heads WHERE host = 'render-1'")
                .first!.decode((Int64, String).self)
            #expect(seq == 3 && hash == events[2].hash)
        }
    }

    @Test func retriedCommitOfTheSameClaimWritesNothingTwice() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "render-1")
            try await queue.submit(id: "job-1", spec: jobBytes("job-1"), priority: 0)
            let claim = try #require(try await queue.claim())
            let first = try await queue.commit(delivery(claim, count: 2), key: hostKey("render-1"))
            let retried = try await queue.commit(delivery(claim, count: 2), key: hostKey("render-1"))
            #expect(retried == first)
            let rows: Int = try await database.value("SELECT count(*)::integer FROM royalty_events")
            let delivered: Int = try await database.value("SELECT delivered FROM grant_quota")
            #expect(rows == 2 && delivered == 2)
        }
    }

    @Test func quotaOverrunWritesNothing() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "render-1")
            for id in ["a", "b"] { try await queue.submit(id: id, spec: jobBytes(id), priority: 0) }
            let a = try #require(try await queue.claim())
            let b = try #require(try await queue.claim())
            _ = try await queue.commit(delivery(a, count: 2, limit: 3), key: hostKey("render-1"))
            await #expect(throws: FleetError.quotaExhausted(grant: "grant-1", quota: 3)) {
                try await queue.commit(delivery(b, count: 2, limit: 3), key: hostKey("render-1"))
            }
            let rows: Int = try await database.value("SELECT count(*)::integer FROM royalty_events")
            let delivered: Int = try await database.value("SELECT delivered FROM grant_quota")
            let seq: Int64 = try await database.value("SELECT seq FROM ledger_heads WHERE host = 'render-1'")
            #expect(rows == 2 && delivered == 2 && seq == 2)
            #expect(try await state(of: "b", in: database) == "leased")   // still the worker's to end
        }
    }

    @Test func duplicateEventIDRollsTheWholeCommitBack() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "render-1")
            try await queue.submit(id: "job-1", spec: jobBytes("job-1"), priority: 0)
            let claim = try #require(try await queue.claim())
            let twice = FleetDelivery(claim: claim, drafts: [sampleDraft(job: "job-1", image: 0), sampleDraft(job: "job-1", image: 0)],
                                      quotas: ["grant-1": nil])
            await #expect(throws: FleetError.conflictingEvent(eventID: RoyaltyEvent.eventID(job: "job-1", imageIndex: 0))) {
                try await queue.commit(twice, key: hostKey("render-1"))
            }
            let rows: Int = try await database.value("SELECT count(*)::integer FROM royalty_events")
            let quota: Int = try await database.value("SELECT count(*)::integer FROM grant_quota WHERE delivered > 0")
            #expect(rows == 0 && quota == 0)
            #expect(try await state(of: "job-1", in: database) == "leased")
        }
    }

    @Test func concurrentWorkersOfOneHostKeepOneChain() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "render-1")
            let jobs = (0..<24).map { "job-\($0)" }
            for id in jobs { try await queue.submit(id: id, spec: jobBytes(id), priority: 0) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        while let claim = try await queue.claim() {
                            _ = try await queue.commit(delivery(claim, count: 2), key: hostKey("render-1"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seqs: [Int64] = try await database.rows("SELECT seq FROM royalty_events ORDER BY seq").map { try $0.decode(Int64.self) }
            #expect(seqs == Array(1...Int64(jobs.count * 2)))
            let verification = try await FleetLedger(database: database).verify(hostKeys: registeredKeys(["render-1"]))
            #expect(verification.isValid, "\(verification.ledger.problems) \(verification.inconsistencies)")
        }
    }

    @Test func reservationsKeepHostsWithinTheLimit() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let a = FleetQueue(database: database, host: "render-a")
            let b = FleetQueue(database: database, host: "render-b")
            for id in ["x", "y"] { try await a.submit(id: id, spec: jobBytes(id), priority: 0) }
            let x = try #require(try await a.claim())
            let y = try #require(try await b.claim())
            try await a.reserve(x, grant: "g", images: 3, limit: 4)
            await #expect(throws: FleetError.quotaExhausted(grant: "g", quota: 4)) {
                try await b.reserve(y, grant: "g", images: 2, limit: 4)
            }
            try await b.reserve(y, grant: "g", images: 1, limit: 4)
            // A gives its job back: its reservation goes with it only when the job leaves for good.
            #expect(try await a.end(x, .rejected(code: "consent.revoked", reason: "revoked")) == "rejected")
            try await b.reserve(y, grant: "g", images: 4, limit: 4)   // replaces y's own reservation
            let reserved: Int = try await database.value("SELECT sum(images)::integer FROM quota_reservations")
            #expect(reserved == 4)
        }
    }
}
