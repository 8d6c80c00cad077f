// Role: wake-ups for idle workers through LISTEN/NOTIFY: one pooled connection LISTENs on
// `FleetSchema.wakeChannel` (the `jobs_notify_queued` trigger notifies it whenever a job becomes
// `queued`), and every notification calls `onWake`. Polling stays the source of truth: a
// notification only makes a worker look sooner.
// Reference: SQL NOTIFY semantics (delivered on commit, to sessions listening at that moment);
// river's and graphile/worker's "LISTEN to wake, poll to be sure".
// Failure modes: a database restart or a dropped connection ends the notification stream; the
// listener reconnects with capped exponential backoff (0.1 s doubling to `maxBackoff`) and calls
// `onWake` once right after every (re)connection, since anything queued while it was not
// listening sent its notification to nobody. It never throws; it ends when its task is cancelled.

import Foundation
import Logging
import PostgresNIO

/// LISTEN/NOTIFY wake-ups with reconnect.
public struct FleetWakeups: Sendable {
    /// The database.
    public let database: FleetDatabase
    /// The longest wait between reconnection attempts.
    public let maxBackoff: Duration

    /// Wake-ups from `database`.
    public init(database: FleetDatabase, maxBackoff: Duration = .seconds(5)) {
        self.database = database; self.maxBackoff = maxBackoff
    }

    /// Listens until the task is cancelled, calling `onWake` for every notification and once
    /// after every (re)connection; `onConnectionChange(true/false)` reports the listener's state.
    public func run(onWake: @escaping @Sendable () -> Void,
                    onConnectionChange: @escaping @Sendable (Bool) -> Void = { _ in }) async {
        var backoff = Duration.milliseconds(100)
        let logger = database.logger
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    try await connection.listen(on: FleetSchema.wakeChannel) { notifications in
                        backoff = .milliseconds(100)
                        onConnectionChange(true)
                        onWake()
                        for try await _ in notifications { onWake() }
                    }
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning("fleet.listen_lost", metadata: [
                    "error": "\(FleetDatabase.classify(error, what: "listen", url: database.url))",
                    "retry_in_seconds": "\(backoff)",
                ])
            }
            onConnectionChange(false)
            if Task.isCancelled { break }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, maxBackoff)
        }
    }
}
