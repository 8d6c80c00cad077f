// Role: SIGTERM/SIGINT that arrive while the daemon is still starting (loading the model,
// recovering the spool), before swift-service-lifecycle has installed its handlers. Without this
// the default action kills the process (exit 143) half-way through start-up; with it the request
// is remembered and the daemon stops cleanly (exit 0) right before it would start serving.
// Reference: signal(7) — the handler only stores to a lock-free atomic (async-signal-safe).
// Failure modes: none; a signal in the microseconds between the check and the service group's
// own handlers is handled by the service group.

import Foundation
import Synchronization

/// Remembers a stop request received during start-up.
enum EarlyStop {
    private static let requested = Atomic<Bool>(false)

    /// Installs the start-up handlers for SIGTERM and SIGINT.
    static func install() {
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber) { _ in EarlyStop.requested.store(true, ordering: .relaxed) }
        }
    }

    /// Whether a stop was requested since `install`.
    static var wasRequested: Bool { requested.load(ordering: .relaxed) }
}
