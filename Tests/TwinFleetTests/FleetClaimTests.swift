// Role: claiming on a real PostgreSQL: order (priority, then arrival), SKIP LOCKED (a row another
// transaction holds is passed over, not waited for), concurrent claimers never sharing a job,
// repeated submissions, deferred jobs.
// Reference: FleetQueue.claim, FleetStatements.ClaimStatement.
// Failure modes covered: two claimers getting one job, a claimer blocking on a locked row, a
// resubmission with other bytes accepted, a deferred job claimed early.

import Foundation
import PostgresNIO
import Testing
@testable import TwinFleet

@Suite(.enabled(if: FleetTestDatabase.isConfigured, FleetTestDatabase.skipReason), .serialized)
struct FleetClaimTests {
    @Test func claimsByPriorityThenArrival() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "render-1")
            for (id, priority) in [("low-a", 0), ("high-a", 5), ("low-b", 0), ("high-b", 5), ("urgent", 9), ("neg", -3)] {
                #expect(try await queue.submit(id: id, spec: jobBytes(id), priority: priority))
            }
            var order = [String]()
            while let claim = try await queue.claim() {
                order.append(claim.job)
                #expect(claim.generation == 1 && claim.attempt == 1 && claim.host == "render-1")
                #expect(claim.spec == jobBytes(claim.job))
            }
            #expect(order == ["urgent", "high-a", "high-b", "low-a", "low-b", "neg"])
        }
    }

    @Test func lockedRowIsSkippedNotWaitedFor() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "render-1")
            try await queue.submit(id: "first", spec: jobBytes("first"), priority: 1)
            try await queue.submit(id: "second", spec: jobBytes("second"), priority: 0)
            // Another transaction holds the first job's row; the claim must pass over it at once.
            let started = ContinuousClock.now
            let claimed = try await database.transaction("hold a row") { connection in
                try await connection.query("SELECT id FROM jobs WHERE id = 'first' FOR UPDATE", logger: FleetTestDatabase.logger)
                return try await queue.claim()?.job
            }
            #expect(claimed == "second")
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(try await queue.claim()?.job == "first")
            #expect(try await queue.claim() == nil)
        }
    }

    @Test func concurrentClaimersNeverShareAJob() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let jobs = (0..<120).map { String(format: "job-%03d", $0) }
            let submitter = FleetQueue(database: database, host: "submitter")
            for id in jobs { try await submitter.submit(id: id, spec: jobBytes(id), priority: 0) }
            let claims = try await withThrowingTaskGroup(of: [FleetClaim].self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        let queue = FleetQueue(database: database, host: "render-\(worker % 3)")
                        var mine = [FleetClaim]()
                        while let claim = try await queue.claim() { mine.append(claim) }
                        return mine
                    }
                }
                var all = [FleetClaim]()
                for try await mine in group { all += mine }
                return all
            }
            #expect(claims.count == jobs.count)
            #expect(Set(claims.map(\.job)) == Set(jobs))
            let generations: Int = try await database.value("SELECT max(generation)::integer FROM jobs")
            #expect(generations == 1)
            let leased: Int = try await database.value("SELECT count(*)::integer FROM jobs WHERE state = 'leased'")
            #expect(leased == jobs.count)
        }
    }

    @Test func resubmissionIsIdempotentAndOtherBytesAreRefused() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "render-1")
            #expect(try await queue.submit(id: "dup", spec: jobBytes("dup"), priority: 0))
            #expect(try await queue.submit(id: "dup", spec: jobBytes("dup"), priority: 0) == false)
            await #expect(throws: FleetError.self) {
                try await queue.submit(id: "dup", spec: Array("other".utf8), priority: 0)
            }
            let count: Int = try await database.value("SELECT count(*)::integer FROM jobs")
            #expect(count == 1)
        }
    }

    @Test func deferredJobWaitsAndReleasedJobReturnsAtOnce() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "render-1")
            try await queue.submit(id: "later", spec: jobBytes("later"), priority: 0)
            let claim = try #require(try await queue.claim())
            #expect(try await queue.end(claim, .deferred(code: "disk.full", reason: "no space", retryAfter: .seconds(60))) == "queued")
            #expect(try await queue.claim() == nil)
            _ = try await database.rows("UPDATE jobs SET not_before = clock_timestamp() - interval '1 second'")
            let again = try #require(try await queue.claim())
            #expect(again.generation == 2 && again.attempt == 1)   // a deferral is not an attempt
            #expect(try await queue.end(again, .released) == "queued")
            #expect(try await queue.claim()?.generation == 3)
        }
    }
}

@Suite(.enabled(if: FleetTestDatabase.isConfigured, FleetTestDatabase.skipReason), .serialized)
struct FleetClaimRecoveryTests {
    @Test func aClaimWhoseReplyWasLostIsFoundAgainByItsToken() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let queue = FleetQueue(database: database, host: "render-1")
            for id in ["a", "b"] { try await queue.submit(id: id, spec: jobBytes(id), priority: 0) }
            let lost = try #require(try await queue.claim(token: "attempt-1"))   // its reply "never arrived"
            let recovered = try #require(try await queue.claim(token: "attempt-1", recovering: true))
            #expect(recovered == lost)
            let other = try #require(try await queue.claim(token: "attempt-2", recovering: true))
            #expect(other.job != lost.job)
            // Another host's token does not recover this host's claim.
            #expect(try await FleetQueue(database: database, host: "render-2").claim(token: "attempt-1", recovering: true) == nil)
        }
    }
}
