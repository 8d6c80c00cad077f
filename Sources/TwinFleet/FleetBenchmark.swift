// Role: the claim benchmark behind `twinrender db bench`: submit N jobs, then W concurrent
// claimers (spread over H simulated hosts, each with its own key and ledger chain) claim and
// commit one image each with a no-op render, timed per claim and per commit. The commit is the
// real one (fencing check, a limited grant's quota, signed hash-chained event, signed head,
// state), so the figure is the database cost of a delivery, not of a toy query.
// Reference: riverqueue/river's benchmark (jobs worked per second with a no-op worker).
// Failure modes: any queue error stops the run and is thrown; the benchmark checks its own
// result (every job delivered exactly once) and throws `FleetError.query` when it is not.

import Crypto
import Foundation
import TwinBase
import TwinLedger

/// What one benchmark run measured.
public struct FleetBenchmarkResult: Sendable {
    /// Wall time of the claim + commit phase.
    public let seconds: Double
    /// Jobs claimed and committed per second.
    public let jobsPerSecond: Double
    /// Median claim and commit latencies.
    public let claimMedianMilliseconds: Double
    public let commitMedianMilliseconds: Double
}

/// Claims + commits per second with a no-op render.
public enum FleetBenchmark {
    /// Runs the benchmark on a migrated, empty `database` (it leaves its jobs behind). Job `i`
    /// is delivered under grant `i % grants`: every commit under one grant waits for that grant's
    /// quota row (held until its COMMIT is durable), so one grant is the worst case.
    public static func run(database: FleetDatabase, jobs: Int, workers: Int, hosts: Int, grants: Int = 1) async throws -> FleetBenchmarkResult {
        precondition(jobs > 0 && workers > 0 && hosts > 0 && grants > 0, "a benchmark needs jobs, workers, hosts and grants")
        let submitter = FleetQueue(database: database, host: "bench-submit")
        for index in 0..<jobs {
            let id = "bench-\(index)"
            try await submitter.submit(id: id, spec: Array("{\"id\":\"\(id)\"}".utf8), priority: 0, source: "bench")
        }
        let keys = (0..<hosts).map { _ in Curve25519.Signing.PrivateKey().rawRepresentation }
        let clock = ContinuousClock()
        let started = clock.now
        let timings = try await withThrowingTaskGroup(of: [(Duration, Duration)].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    let host = worker % hosts
                    let queue = FleetQueue(database: database, host: "bench-host-\(host)")
                    let key = try Curve25519.Signing.PrivateKey(rawRepresentation: keys[host])
                    var mine = [(Duration, Duration)]()
                    while true {
                        let claimStart = clock.now
                        guard let claim = try await queue.claim() else { break }
                        let commitStart = clock.now
                        let grant = "bench-grant-\((Int(claim.job.dropFirst(6)) ?? 0) % grants)"
                        _ = try await queue.commit(FleetDelivery(claim: claim, drafts: [draft(job: claim.job, grant: grant)],
                                                                 quotas: [grant: 1_000_000]), key: key)
                        mine.append((commitStart - claimStart, clock.now - commitStart))
                    }
                    return mine
                }
            }
            var all = [(Duration, Duration)]()
            for try await mine in group { all += mine }
            return all
        }
        let seconds = (clock.now - started).seconds
        guard timings.count == jobs else {
            throw FleetError.query("benchmark: \(timings.count) of \(jobs) jobs were claimed and committed")
        }
        let delivered = try await FleetStatus.read(database).states["delivered"] ?? 0
        guard delivered == jobs else { throw FleetError.query("benchmark: \(delivered) of \(jobs) jobs are delivered") }
        return FleetBenchmarkResult(seconds: seconds, jobsPerSecond: Double(jobs) / seconds,
                                    claimMedianMilliseconds: median(timings.map { $0.0.seconds * 1000 }),
                                    commitMedianMilliseconds: median(timings.map { $0.1.seconds * 1000 }))
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

    /// The event of the one no-op image of `job`.
    private static func draft(job: String, grant: String) -> RoyaltyEventDraft {
        let digest = SHA256.hash(data: Data(job.utf8)).map { String(format: "%02x", $0) }.joined()
        return RoyaltyEventDraft(
            job: job, imageIndex: 0, twin: "bench-twin", model: "bench-model", licensee: "bench-licensee",
            orderSigner: "bench-licensee", orderSHA256: digest, grant: grant, grantHash: digest,
            purpose: "ecommerce", territory: "EU", deliveredAt: UTCTimestamp.now(), outputSHA256: digest,
            amount: 100, commissionBasisPoints: 2000, currency: "EUR", paymentDays: 30)
    }
}
