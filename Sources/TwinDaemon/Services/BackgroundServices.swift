// Role: the daemon's long-running services besides the workers: inotify wake-ups, periodic
// rescans, heartbeats, the systemd watchdog and SIGHUP reloads, each a swift-service-lifecycle
// `Service` that ends on graceful shutdown.
// Reference: swift-service-lifecycle (Service, cancelWhenGracefulShutdown, UnixSignals).
// Failure modes: a failed sleep or a closed signal stream ends that service only; inotify that
// cannot start falls back to rescans (`spool.inotify_unavailable`).

import Foundation
import ServiceLifecycle
import TwinSpool
import UnixSignals

/// Wakes workers when inotify reports a new file in `incoming/`. The blocking `poll` runs on its
/// own thread in slices of 250 ms so that shutdown is noticed promptly.
struct SpoolWatchService: Service {
    let watcher: SpoolWatcher
    let wake: WakeSignal

    func run() async throws {
        let stop = Locked(false)
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                _ = await runOnThread(name: "inotify") {
                    while !stop.get() {
                        if watcher.wait(timeoutMilliseconds: 250) { wake.signal() }
                    }
                    return true
                }
            } onCancel: { stop.set(true) }
        } onGracefulShutdown: { stop.set(true) }
    }
}

/// Rescans the spool every `interval`: the source of truth when inotify misses events.
struct RescanService: Service {
    let interval: Double
    let wake: WakeSignal

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
            wake.signal()
        }
    }
}

/// Every heartbeat interval: a `heartbeat` status line, the state file, and systemd's STATUS=.
struct HeartbeatService: Service {
    let reporter: StatusReporter
    let interval: Double

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            reporter.heartbeat()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
        }
    }
}

/// Sends `WATCHDOG=1` at half of systemd's `WatchdogSec`.
struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let interval: Duration

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            notifier.watchdog()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// SIGHUP: reload the config's live settings and the consent registry, without dropping work.
struct ReloadService: Service {
    let reload: @Sendable () -> Void

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            reload()
        }
    }
}
