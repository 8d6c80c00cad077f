// Role: wakes idle workers when something may be claimable (inotify, a rescan, housekeeping).
// Failure modes: none; a lost wake-up is covered by the next rescan.

import Foundation

/// Wakes idle workers: signalled by the inotify watcher, the rescan ticker and shutdown.
/// A waiter that arrives after a signal it has not seen returns at once (generation counter),
/// so no wake-up is lost between a scan and the wait.
final class WakeSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var generation: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextID: UInt64 = 0

    /// The current generation; pass it to `wait(after:)`.
    var current: UInt64 { lock.withLock { generation } }

    /// Wakes every waiter.
    func signal() {
        let woken = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            generation += 1
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns once the generation moves past `seen`, or the task is cancelled.
    func wait(after seen: UInt64) async {
        let id = lock.withLock { () -> UInt64 in nextID += 1; return nextID }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = lock.withLock { () -> Bool in
                    if generation != seen || Task.isCancelled { return true }
                    waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = lock.withLock { waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

/// Runs blocking work on its own thread (renders take seconds; they must not hold a thread of
/// Swift's cooperative pool).
func runOnThread<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }
}
