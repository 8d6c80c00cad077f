// Role: the heartbeat that keeps a claim's lease alive while its render runs: renews it every
// `interval` (a third of the lease by default) alongside the work, and says when the lease is lost
// so the render can stop early (its commit would be refused by the fencing token anyway).
// Reference: river's job heartbeat; Kleppmann, "How to do distributed locking" (a lease alone is
// not safety: the fencing token at the commit is; renewal only keeps healthy work from expiring).
// Failure modes: `staleLease` on a renewal means the lease is gone: `onLost` is called once and
// renewing stops. A transient database error is retried at the next tick; when renewals have
// failed for longer than the lease itself, the lease must be assumed lost (another host may
// have reclaimed it) and `onLost` is called. The work is never cancelled by the keeper itself.

import Foundation

/// Keeps a lease alive around a piece of work.
public enum FleetLeaseKeeper {
    /// Runs `work` while renewing `claim` through `queue` every `interval` (default: a third of the
    /// lease); `onLost` is called at most once, when the lease is lost, with the reason.
    public static func keeping<T: Sendable>(_ claim: FleetClaim, queue: FleetQueue, every interval: Duration? = nil,
                                            onLost: @escaping @Sendable (FleetError) -> Void,
                                            _ work: @Sendable () async throws -> T) async throws -> T {
        let tick = interval ?? queue.leaseDuration / 3
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var lastRenewal = ContinuousClock.now
                while !Task.isCancelled {
                    do { try await Task.sleep(for: tick) } catch { return }
                    do {
                        try await queue.renew(claim)
                        lastRenewal = .now
                    } catch let error as FleetError where error.isTransient && ContinuousClock.now - lastRenewal < queue.leaseDuration {
                        continue
                    } catch let error as FleetError {
                        if Task.isCancelled { return }
                        onLost(error.isStaleLease ? error : .staleLease(job: claim.job, generation: claim.generation))
                        return
                    } catch {
                        if Task.isCancelled { return }
                        onLost(.staleLease(job: claim.job, generation: claim.generation))
                        return
                    }
                }
            }
            defer { group.cancelAll() }
            return try await work()
        }
    }
}
