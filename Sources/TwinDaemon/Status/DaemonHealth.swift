// Role: whether the daemon is healthy or degraded, and why. A transient fault (disk full, I/O
// error, unreadable registry, damaged ledger, unwritable audit log) marks a condition degraded;
// the status file, `STATUS=` and heartbeats show it; the first success after it clears it. Each
// consecutive fault doubles the backoff before the affected job is tried again (1 s up to 5 min,
// ±50 % jitter so several daemons do not retry in step).
// Reference: exponential backoff with "full jitter" (AWS Architecture Blog, 2015), here bounded.
// Failure modes: none; all state is in memory and guarded by a lock.

import Foundation
import Logging

/// Degraded conditions of one daemon.
final class DaemonHealth: @unchecked Sendable {
    /// One degraded condition.
    struct Condition: Sendable, Equatable {
        var code: String
        var reason: String
        var since: Date
        var failures: Int
    }

    private let lock = NSLock()
    private var conditions: [String: Condition] = [:]
    private let log: StatusLog

    /// Shortest and longest backoff.
    static let backoffRange: ClosedRange<TimeInterval> = 1...300

    init(log: StatusLog) { self.log = log }

    /// Marks `name` degraded (or counts one more failure) and returns how long a job that has
    /// been deferred `deferrals` times already should wait before its next try. Logs
    /// `daemon.degraded` when the condition starts.
    func degraded(_ name: String, code: String, reason: String, deferrals: Int) -> TimeInterval {
        let isNew = lock.withLock { () -> Bool in
            var condition = conditions[name] ?? Condition(code: code, reason: reason, since: Date(), failures: 0)
            let isNew = condition.failures == 0
            condition.failures += 1
            condition.code = code
            condition.reason = reason
            conditions[name] = condition
            return isNew
        }
        if isNew {
            log.event("daemon.degraded", level: .error, ["condition": .string(name), "code": .string(code), "reason": .string(reason)])
        }
        let base = min(Self.backoffRange.upperBound, Self.backoffRange.lowerBound * pow(2, Double(min(deferrals, 20))))
        return base * Double.random(in: 0.5...1.5)
    }

    /// Clears `name`; logs `daemon.recovered` with how long it lasted, once.
    func cleared(_ name: String) {
        guard let condition = lock.withLock({ conditions.removeValue(forKey: name) }) else { return }
        log.event("daemon.recovered", level: .notice, ["condition": .string(name), "code": .string(condition.code),
                  "failures": .int(condition.failures), "seconds": .double((Date().timeIntervalSince(condition.since) * 10).rounded() / 10)])
    }

    /// The degraded conditions now, by name.
    var current: [String: Condition] { lock.withLock { conditions } }

    /// One line for `STATUS=` and the status file, or nil when healthy.
    var summary: String? {
        let now = current
        guard !now.isEmpty else { return nil }
        return "degraded: " + now.keys.sorted().map { "\($0) (\(now[$0]!.code): \(now[$0]!.reason))" }.joined(separator: "; ")
    }
}
