// Role: one fleet worker's loop, independent of what a render is: wait for work (LISTEN/NOTIFY
// wake-ups, polling every `pollInterval` as the truth), claim, run `work` with the lease kept
// alive (FleetLeaseKeeper), then commit its delivery (the fenced transaction) or end the claim;
// and the host's housekeeping loop (heartbeat row, the rescuer for expired leases).
// Reference: riverqueue/river's producer/executor split; docs/fleet.md (state machine).
// Failure modes: a database outage makes claims, commits and endings fail as transient; each is
// retried with capped exponential backoff, never dropped: a commit retried after a lost reply is
// idempotent for its claim, an ending retried after a lost reply finds the claim gone
// (`staleLease`) and stops. A lease lost during the work (the keeper says so) cancels the work
// through `FleetWorkContext.isLeaseLost`; its commit would be refused anyway. Nothing here
// decides consent or renders: `work` does, and returns what to write.

import Crypto
import Foundation
import Logging
import TwinLedger

/// What the work made of a claim.
public enum FleetWorkResult: Sendable {
    /// Deliver: commit these events under these grant limits (the commit point). `afterCommit`
    /// runs once the commit is known to hold (e.g. rename staged images into place).
    case deliver(drafts: [RoyaltyEventDraft], quotas: [String: Int?], afterCommit: @Sendable ([RoyaltyEvent]) -> Void)
    /// End the claim another way (rejected, failed, deferred, released).
    case end(FleetEnding)
}

/// Handed to the work: whether the lease was lost meanwhile (stop early if so).
public final class FleetWorkContext: @unchecked Sendable {
    private let lock = NSLock()
    private var lost = false
    /// True once the lease keeper found the lease gone.
    public var isLeaseLost: Bool { lock.withLock { lost } }
    func markLost() { lock.withLock { lost = true } }
}

/// What a worker did, for the caller's status log.
public enum FleetWorkerEvent: Sendable {
    case claimed(FleetClaim)
    case delivered(FleetClaim, [RoyaltyEvent])
    case ended(FleetClaim, state: String)
    /// The claim was no longer ours when we tried to commit or end it (fenced).
    case fenced(FleetClaim, FleetError)
    /// The work failed or the commit was refused for a reason other than fencing.
    case failed(FleetClaim, String)
    case databaseUnavailable(String)
}

/// A wake-up signal with a generation counter (a signal between a poll and the wait is not lost).
public final class FleetWakeSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var generation: UInt64 = 0
    private var nextID: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]

    public init() {}

    /// The current generation; pass it to `wait(after:timeout:)`.
    public var current: UInt64 { lock.withLock { generation } }

    /// Wakes every waiter.
    public func signal() {
        let woken = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            generation &+= 1
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns when the generation moves past `seen`, after `timeout`, or on cancellation.
    public func wait(after seen: UInt64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.wait(after: seen) }
            await group.next()
            group.cancelAll()
        }
    }

    private func wait(after seen: UInt64) async {
        let id = lock.withLock { () -> UInt64 in nextID += 1; return nextID }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = lock.withLock { () -> Bool in
                    if generation != seen || Task.isCancelled { return true }
                    waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = lock.withLock { waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

/// One worker of a render host on the fleet queue.
public struct FleetWorker: Sendable {
    public let queue: FleetQueue
    /// The host's ledger key (raw Ed25519 private key bytes; the key type is not Sendable).
    let keyBytes: Data
    /// Idle workers look at the queue at least this often.
    public let pollInterval: Duration
    public let wake: FleetWakeSignal

    public init(queue: FleetQueue, key: Curve25519.Signing.PrivateKey, pollInterval: Duration, wake: FleetWakeSignal) {
        self.queue = queue; self.keyBytes = key.rawRepresentation; self.pollInterval = pollInterval; self.wake = wake
    }

    /// Works jobs until the task is cancelled or `shouldStop()` says so (checked between jobs).
    /// With `untilEmpty`, returns when a claim finds nothing.
    public func run(untilEmpty: Bool = false, shouldStop: @escaping @Sendable () -> Bool = { false },
                    onEvent: @escaping @Sendable (FleetWorkerEvent) -> Void,
                    work: @escaping @Sendable (FleetClaim, FleetWorkContext) async throws -> FleetWorkResult) async {
        while !Task.isCancelled && !shouldStop() {
            let seen = wake.current
            let claim: FleetClaim?
            let token = UUID().uuidString   // one per attempt: a retry finds a claim whose reply was lost
            let retry = FleetWorkContext()   // marked after the first try
            do {
                claim = try await persist("claim", onEvent) {
                    defer { retry.markLost() }
                    return try await queue.claim(token: token, recovering: retry.isLeaseLost)
                }
            } catch {
                return   // cancelled while the database was down
            }
            guard let claim else {
                if untilEmpty { return }
                await wake.wait(after: seen, timeout: pollInterval)
                continue
            }
            onEvent(.claimed(claim))
            await handle(claim, onEvent: onEvent, work: work)
        }
    }

    private func handle(_ claim: FleetClaim, onEvent: @escaping @Sendable (FleetWorkerEvent) -> Void,
                        work: @escaping @Sendable (FleetClaim, FleetWorkContext) async throws -> FleetWorkResult) async {
        let context = FleetWorkContext()
        let result: FleetWorkResult
        do {
            result = try await FleetLeaseKeeper.keeping(claim, queue: queue, onLost: { _ in context.markLost() }) {
                try await work(claim, context)
            }
        } catch {
            await end(claim, .failed(code: "work.error", reason: "\(error)"), onEvent)
            return
        }
        if context.isLeaseLost {
            onEvent(.fenced(claim, .staleLease(job: claim.job, generation: claim.generation)))
            return
        }
        switch result {
        case .end(let ending):
            await end(claim, ending, onEvent)
        case .deliver(let drafts, let quotas, let afterCommit):
            let key = keyBytes
            do {
                let events = try await persist("commit \(claim.job)", onEvent) {
                    try await queue.commit(FleetDelivery(claim: claim, drafts: drafts, quotas: quotas),
                                           key: try Curve25519.Signing.PrivateKey(rawRepresentation: key))
                }
                afterCommit(events)
                onEvent(.delivered(claim, events))
            } catch let error as FleetError where error.isStaleLease {
                onEvent(.fenced(claim, error))
            } catch let error as FleetError where error.isQuotaExhausted {
                await end(claim, .rejected(code: "consent.quota_exhausted", reason: "at commit: \(error)"), onEvent)
            } catch is CancellationError {
                return
            } catch {
                onEvent(.failed(claim, "commit: \(error)"))
                await end(claim, .failed(code: "commit.failed", reason: "\(error)"), onEvent)
            }
        }
    }

    private func end(_ claim: FleetClaim, _ ending: FleetEnding, _ onEvent: @escaping @Sendable (FleetWorkerEvent) -> Void) async {
        do {
            let state = try await persist("end \(claim.job)", onEvent) { try await queue.end(claim, ending) }
            onEvent(.ended(claim, state: state))
        } catch let error as FleetError where error.isStaleLease {
            onEvent(.fenced(claim, error))
        } catch {
            onEvent(.failed(claim, "end: \(error)"))
        }
    }

    /// Repeats `operation` while the database is unavailable (0.1 s doubling to 5 s); rethrows
    /// anything else, and `CancellationError` when cancelled while waiting.
    private func persist<T: Sendable>(_ what: String, _ onEvent: @Sendable (FleetWorkerEvent) -> Void,
                                      _ operation: @Sendable () async throws -> T) async throws -> T {
        var wait = Duration.milliseconds(100)
        while true {
            do {
                return try await operation()
            } catch let error as FleetError where error.isTransient {
                if Task.isCancelled { throw CancellationError() }
                onEvent(.databaseUnavailable("\(what): \(error)"))
                try await Task.sleep(for: wait)
                wait = min(wait * 2, .seconds(5))
            }
        }
    }
}

/// The host's housekeeping: its heartbeat row and the rescuer, every `interval`.
public struct FleetHousekeeping: Sendable {
    public let queue: FleetQueue
    public let workers: Int
    public let interval: Duration

    public init(queue: FleetQueue, workers: Int, interval: Duration) {
        self.queue = queue; self.workers = workers; self.interval = interval
    }

    /// Runs until cancelled; `onReclaimed` gets the jobs the rescuer moved, `wake` is signalled
    /// after each round that moved any (they are claimable now).
    public func run(wake: FleetWakeSignal, onReclaimed: @escaping @Sendable ([(job: String, state: String)]) -> Void = { _ in }) async {
        let started = Date()
        let pid = Int(getpid())
        while !Task.isCancelled {
            try? await queue.heartbeat(workers: workers, pid: pid, startedAt: started)
            if let moved = try? await queue.reclaimExpired(), !moved.isEmpty {
                onReclaimed(moved)
                wake.signal()
            }
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }
}
