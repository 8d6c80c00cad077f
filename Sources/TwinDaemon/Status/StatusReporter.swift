// Role: heartbeats, the state file and systemd's STATUS= line, built from the spool, the counters
// and the daemon's health.
// Failure modes: a state file that cannot be written is a `state.write_failed` line.

import Foundation
import TwinBase
import Logging
import TwinSpool

/// Builds heartbeats and the state file from the spool and the daemon's counters.
final class StatusReporter: Sendable {
    let spool: Spool
    let stats: DaemonStats
    let log: StatusLog
    let notifier: SystemdNotifier
    let modelName: String
    let health: DaemonHealth

    init(spool: Spool, stats: DaemonStats, health: DaemonHealth, log: StatusLog, notifier: SystemdNotifier, modelName: String) {
        self.spool = spool
        self.health = health
        self.stats = stats
        self.log = log
        self.notifier = notifier
        self.modelName = modelName
    }

    var stateFile: URL { spool.layout.state.appendingPathComponent("\(spool.host)-\(spool.pid).json") }

    /// Logs a heartbeat, rewrites the state file, updates systemd's status line.
    func heartbeat() {
        let state = snapshot(running: true)
        log.event("heartbeat", [
            "queue": .dictionary(state.queue.mapValues { .int($0) }),
            "jobs_per_min": .double((state.jobsPerMinute * 100).rounded() / 100),
            "images_per_min": .double((state.imagesPerMinute * 100).rounded() / 100),
            "rss_bytes": .int(state.rssBytes),
            "in_progress": .int(state.inProgress.count),
            "degraded": .dictionary((state.degraded ?? [:]).mapValues { .string($0) }),
        ])
        write(state)
        let current = state.inProgress.first.map { "; rendering \($0.job) image \(($0.image ?? 0) + 1)/\($0.images ?? 1) step \($0.step ?? 0)/\($0.steps ?? 0)" } ?? "; idle"
        notifier.status((health.summary.map { $0 + "; " } ?? "") + "queue \(state.queue["incoming"] ?? 0) waiting, \(state.queue["active"] ?? 0) active\(current)")
    }

    /// The state as of now.
    func snapshot(running: Bool) -> DaemonState {
        let (inProgress, delivered, failed) = stats.snapshot()
        let throughput = stats.throughput()
        let memory = memoryUsage()
        let now = Date()
        return DaemonState(
            host: spool.host, pid: spool.pid, running: running, startedAt: stats.startedAt, updatedAt: now, model: modelName,
            queue: spool.counts(),
            inProgress: inProgress.map { .init(job: $0.job, attempt: $0.attempt, image: $0.image, images: $0.images, step: $0.step, steps: $0.steps,
                                              startedAt: $0.startedAt, elapsedSeconds: now.timeIntervalSince($0.startedAt)) },
            lastDelivered: delivered.map { .init(job: $0.job, images: $0.images, at: $0.at, seconds: $0.seconds) },
            lastFailed: failed.map { .init(job: $0.job, at: $0.at, code: $0.code, seconds: $0.seconds) },
            jobsDelivered: stats.jobsDelivered, imagesDelivered: stats.imagesDelivered, jobsFailed: stats.jobsFailed,
            jobsRejected: stats.jobsRejected, jobsPerMinute: throughput.jobs, imagesPerMinute: throughput.images,
            degraded: health.current.isEmpty ? nil : health.current.mapValues { "\($0.code): \($0.reason)" },
            rssBytes: memory.rss, peakRssBytes: memory.peak)
    }

    /// Writes the state file atomically (temp file in the same directory, then rename).
    func write(_ state: DaemonState) {
        guard let data = try? state.encoded() else { return }
        let temp = spool.layout.state.appendingPathComponent(".\(spool.host)-\(spool.pid).json.tmp")
        do {
            try data.write(to: temp)
            guard rename(temp.path, stateFile.path) == 0 else { throw SystemCallError("rename", temp.path) }
        } catch {
            log.event("state.write_failed", level: .warning, ["error": .string("\(error)")])
        }
    }

    /// Removes state files of this host's processes that no longer run (kept: the newest one, so
    /// `status` still shows the last run after a stop).
    func pruneStaleStateFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: spool.layout.state.path)) ?? []
        for name in names where name.hasPrefix("\(spool.host)-") && name.hasSuffix(".json") {
            let pidText = name.dropFirst(spool.host.count + 1).dropLast(5)
            guard let pid = Int32(pidText), pid != spool.pid, kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(spool.layout.state.appendingPathComponent(name).path)
        }
    }
}
