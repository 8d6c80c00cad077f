// Role: the fleet worker loop on a real PostgreSQL: several hosts × workers drain a queue with
// every job delivered exactly once and every chain verifying; the server killing every
// connection again and again mid-run (as a restart does) loses and doubles nothing; a worker
// whose lease is taken over during its work is fenced; idle workers are woken by NOTIFY well
// before their poll interval.
// Reference: FleetWorker.swift, FleetHousekeeping.
// Failure modes covered: a commit lost or doubled across reconnects, a fenced worker writing,
// a wake-up that never comes.

import Crypto
import Foundation
import Testing
@testable import TwinFleet
import TwinLedger

/// Records worker events.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var delivered: [String] = []
    private(set) var fenced: [String] = []
    private(set) var failures: [String] = []
    private(set) var outages = 0
    func record(_ event: FleetWorkerEvent) {
        lock.withLock {
            switch event {
            case .delivered(let claim, _): delivered.append(claim.job)
            case .fenced(let claim, _): fenced.append(claim.job)
            case .failed(_, let why): failures.append(why)
            case .databaseUnavailable: outages += 1
            case .claimed, .ended: break
            }
        }
    }
    var snapshot: (delivered: [String], fenced: [String], failures: [String], outages: Int) {
        lock.withLock { (delivered, fenced, failures, outages) }
    }
}

private func noOpDelivery(_ claim: FleetClaim, images: Int = 2) -> FleetWorkResult {
    .deliver(drafts: (0..<images).map { sampleDraft(job: claim.job, image: $0) }, quotas: ["grant-1": nil], afterCommit: { _ in })
}

@Suite(.enabled(if: FleetTestDatabase.isConfigured, FleetTestDatabase.skipReason), .serialized)
struct FleetWorkerTests {
    @Test func hostsAndWorkersDrainTheQueueExactlyOnce() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let ids = (0..<48).map { "job-\($0)" }
            let submitter = FleetQueue(database: database, host: "submitter")
            for id in ids { try await submitter.submit(id: id, spec: jobBytes(id), priority: 0) }
            let log = EventLog()
            let hosts = ["render-1", "render-2", "render-3"]
            await withTaskGroup(of: Void.self) { group in
                for host in hosts {
                    for _ in 0..<2 {
                        group.addTask {
                            let worker = FleetWorker(queue: FleetQueue(database: database, host: host), key: hostKey(host),
                                                     pollInterval: .milliseconds(200), wake: FleetWakeSignal())
                            await worker.run(untilEmpty: true, onEvent: log.record) { claim, _ in noOpDelivery(claim) }
                        }
                    }
                }
            }
            let result = log.snapshot
            #expect(result.delivered.sorted() == ids.sorted())
            #expect(result.fenced.isEmpty && result.failures.isEmpty)
            let events: Int = try await database.value("SELECT count(*)::integer FROM royalty_events")
            let quota: Int = try await database.value("SELECT delivered FROM grant_quota")
            #expect(events == ids.count * 2 && quota == ids.count * 2)
            let verification = try await FleetLedger(database: database).verify(hostKeys: registeredKeys(hosts))
            #expect(verification.isValid, "\(verification.ledger.problems) \(verification.inconsistencies)")
        }
    }

    @Test func connectionsKilledMidRunLoseAndDoubleNothing() async throws {
        try await FleetTestDatabase.withDatabase(deadline: .seconds(5)) { database, _ in
            let ids = (0..<80).map { "job-\($0)" }
            let submitter = FleetQueue(database: database, host: "submitter")
            for id in ids { try await submitter.submit(id: id, spec: jobBytes(id), priority: 0) }
            let log = EventLog()
            let killer = Task {
                // Every 150 ms the server ends every other session of this database, as a restart would.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(150))
                    _ = try? await database.rows("""
                        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid()
                        """)
                }
            }
            await withTaskGroup(of: Void.self) { group in
                for host in ["render-1", "render-2"] {
                    for _ in 0..<2 {
                        group.addTask {
                            let worker = FleetWorker(queue: FleetQueue(database: database, host: host), key: hostKey(host),
                                                     pollInterval: .milliseconds(100), wake: FleetWakeSignal())
                            await worker.run(untilEmpty: true, onEvent: log.record) { claim, _ in
                                try await Task.sleep(for: .milliseconds(20))
                                return noOpDelivery(claim)
                            }
                        }
                    }
                }
            }
            killer.cancel()
            _ = await killer.result
            let result = log.snapshot
            #expect(result.outages > 0, "the killer never hit a worker: the test proves nothing")
            #expect(Set(result.delivered) == Set(ids) && result.delivered.count == ids.count)
            let events: Int = try await database.value("SELECT count(*)::integer FROM royalty_events")
            let quota: Int = try await database.value("SELECT delivered FROM grant_quota")
            let delivered: Int = try await database.value("SELECT count(*)::integer FROM jobs WHERE state = 'delivered'")
            #expect(events == ids.count * 2 && quota == ids.count * 2 && delivered == ids.count)
            let verification = try await FleetLedger(database: database).verify(hostKeys: registeredKeys(["render-1", "render-2"]))
            #expect(verification.isValid, "\(verification.ledger.problems) \(verification.inconsistencies)")
        }
    }

    @Test func aWorkerWhoseLeaseIsTakenOverIsFenced() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            try await FleetQueue(database: database, host: "submitter").submit(id: "taken", spec: jobBytes("taken"), priority: 0)
            let log = EventLog()
            let worker = FleetWorker(queue: FleetQueue(database: database, host: "render-1", leaseDuration: .milliseconds(600)),
                                     key: hostKey("render-1"), pollInterval: .milliseconds(100), wake: FleetWakeSignal())
            await worker.run(untilEmpty: true, onEvent: log.record) { claim, context in
                // Meanwhile another host got the job (the rescuer gave it away while we were paused).
                _ = try await database.rows("UPDATE jobs SET generation = generation + 1, lease_holder = 'render-2'")
                for _ in 0..<50 where !context.isLeaseLost { try await Task.sleep(for: .milliseconds(50)) }
                return noOpDelivery(claim)
            }
            #expect(log.snapshot.fenced == ["taken"] && log.snapshot.delivered.isEmpty)
            let events: Int = try await database.value("SELECT count(*)::integer FROM royalty_events")
            #expect(events == 0)
        }
    }

    @Test func notifyWakesAnIdleWorkerBeforeItsPoll() async throws {
        try await FleetTestDatabase.withDatabase { database, _ in
            let log = EventLog()
            let wake = FleetWakeSignal()
            let listener = Task { await FleetWakeups(database: database).run(onWake: { wake.signal() }) }
            let stop = Counter()
            let worker = Task {
                await FleetWorker(queue: FleetQueue(database: database, host: "render-1"), key: hostKey("render-1"),
                                  pollInterval: .seconds(30), wake: wake)
                    .run(shouldStop: { stop.count > 0 }, onEvent: log.record) { claim, _ in
                        stop.increment()
                        return noOpDelivery(claim, images: 1)
                    }
            }
            try await Task.sleep(for: .milliseconds(500))   // the worker is idle, waiting up to 30 s
            let submitted = ContinuousClock.now
            try await FleetQueue(database: database, host: "submitter").submit(id: "ping", spec: jobBytes("ping"), priority: 0)
            _ = await worker.value
            #expect(ContinuousClock.now - submitted < .seconds(10))
            #expect(log.snapshot.delivered == ["ping"])
            listener.cancel()
            _ = await listener.value
        }
    }
}
