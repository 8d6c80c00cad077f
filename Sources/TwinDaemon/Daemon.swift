import Foundation
import Logging
import ServiceLifecycle
import TwinInference
import TwinLedger
import TwinSpool

/// The twinrender daemon: loads the model once, recovers this host's interrupted jobs, then runs
/// the workers and the background services in one `ServiceGroup` until SIGTERM/SIGINT (or, with
/// `once`, until the queue is drained).
///
/// Start-up order: config → status log → spool (+ recovery) → model (hash-verified) → ledger →
/// `READY=1`. Any failure before `READY=1` throws a `DaemonStartError` naming what failed; nothing
/// is claimed before then.
public final class Daemon {
    private let config: DaemonConfig
    private let configPath: String?
    private let once: Bool
    private let notifier: SystemdNotifier
    private let sink: JSONLinesLogHandler.Sink
    private let logger: Logger

    /// Prepares the status log; does not touch the spool yet.
    public init(config: DaemonConfig, configPath: String?, once: Bool, notifier: SystemdNotifier = SystemdNotifier(), logToStderr: Bool = true) throws {
        self.config = config
        self.configPath = configPath
        self.once = once
        self.notifier = notifier
        self.sink = try JSONLinesLogHandler.Sink(fileURL: config.logDirectory.appendingPathComponent("status.jsonl"), stderr: logToStderr)
        let sink = self.sink
        let host = config.host
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        self.logger = Logger(label: "twinrender") { _ in JSONLinesLogHandler(sink: sink, host: host, level: level) }
    }

    /// Runs until shutdown. Returns normally after a graceful stop.
    public func run() async throws {
        let log = StatusLog(logger: logger)
        let spool = try Spool(root: config.spoolDirectory, host: config.host, maxJobBytes: config.maxJobBytes)
        let recovery = try spool.recover(maxAttempts: config.maxAttempts)
        for item in recovery.requeued {
            log.event("job.requeued", level: .warning, job: item.id, ["attempts": .int(item.attempts), "reason": .string("interrupted by a previous stop or crash of this host")])
        }
        for reason in recovery.failed {
            log.event("job.failed", level: .error, job: reason.job, ["code": .string(reason.code), "reason": .string(reason.message)])
        }
        removeStalePartials(spool: spool)

        let started = Date()
        let model: TwinModel
        do {
            model = try TwinModel.load(directory: config.modelDirectory)
        } catch {
            log.event("daemon.start_failed", level: .critical, ["error": .string(error.description)])
            throw DaemonStartError("model: \(error.description)")
        }
        for (twin, why) in model.disabledTwins.sorted(by: { $0.key < $1.key }) {
            log.event("model.twin_disabled", level: .error, ["twin": .string(twin), "reason": .string(why)])
        }
        let ledger: RoyaltyLedger
        do {
            ledger = try RoyaltyLedger(directory: config.ledgerDirectory, host: config.host)
        } catch {
            log.event("daemon.start_failed", level: .critical, ["error": .string("\(error)")])
            throw DaemonStartError("ledger: \(error)")
        }
        if let torn = ledger.recovery {
            log.event("ledger.torn_tail", level: .warning, ["file": .string(torn.tornFile.path), "bytes": .int(torn.byteCount)])
        }

        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: config.consentRegistryDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            log.event("daemon.start_failed", level: .critical, ["error": .string("no consent registry at \(config.consentRegistryDirectory.path)")])
            throw DaemonStartError("consent.registry: \(config.consentRegistryDirectory.path) does not exist (create it with `twinrender keygen` / `party add`)")
        }
        let stats = DaemonStats()
        let context = try PipelineContext(config: config, spool: spool, model: model, ledger: ledger, log: log, stats: stats)
        for reason in recovery.failed { try? context.reservations.release(job: reason.job) }
        // Reservations of jobs that are no longer in the spool (their process died after the job
        // left active/, or the job was removed by hand) would hold their images forever.
        do {
            let stale = try context.reservations.prune(keepingJobs: { try spool.idsInFlight() })
            for reservation in stale {
                log.event("consent.reservation_pruned", level: .notice, job: reservation.job,
                          ["grant": .string(reservation.grant), "count": .int(reservation.count)])
            }
        } catch {
            log.event("spool.error", level: .error, ["error": .string("cannot prune quota reservations: \(error)")])
        }
        let reporter = StatusReporter(spool: spool, stats: stats, log: log, notifier: notifier, modelName: model.name)
        reporter.pruneStaleStateFiles()
        let wake = WakeSignal()
        let workers = (0..<config.workers).map { Worker(index: $0, context: context, wake: wake, once: once) }

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: WorkerPoolService(workers: workers), successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: RescanService(interval: config.rescanInterval, wake: wake)),
            .init(service: HeartbeatService(reporter: reporter, interval: config.heartbeatInterval)),
            .init(service: ReloadService(reload: { [config, configPath, notifier] in
                Self.reload(current: config, path: configPath, context: context, notifier: notifier, log: log)
            })),
        ]
        do {
            services.append(.init(service: SpoolWatchService(watcher: try SpoolWatcher(directory: spool.layout.incoming), wake: wake)))
        } catch {
            log.event("spool.inotify_unavailable", level: .warning, ["error": .string("\(error)"), "fallback": .string("rescan only")])
        }
        if let interval = notifier.watchdogInterval {
            services.append(.init(service: WatchdogService(notifier: notifier, interval: interval)))
        }

        log.event("daemon.ready", [
            "model": .string(model.name), "twins": .array(model.twinIDs.map { .string($0) }),
            "workers": .int(config.workers), "threads_per_worker": .int(config.blasThreads),
            "load_seconds": .double((Date().timeIntervalSince(started) * 1000).rounded() / 1000),
            "spool": .string(spool.layout.root.path), "pid": .int(Int(spool.pid)),
        ])
        notifier.ready(status: "model \(model.name) loaded; \(spool.counts()["incoming"] ?? 0) jobs waiting")

        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger))
        try await group.run()

        notifier.stopping()
        reporter.write(reporter.snapshot(running: false))
        log.event("daemon.stopped", ["jobs_delivered": .int(stats.jobsDelivered), "images_delivered": .int(stats.imagesDelivered)])
    }

    /// SIGHUP: re-read the config; apply what can change live (render settings, log level),
    /// warn about what needs a restart, and drop the cached consent registry.
    static func reload(current: DaemonConfig, path: String?, context: PipelineContext, notifier: SystemdNotifier, log: StatusLog) {
        notifier.reloading()
        defer { notifier.ready(status: "configuration reloaded") }
        guard let path else { return }
        do {
            let fresh = try DaemonConfig.load(path: path)
            context.settings.set(RenderSettings(config: fresh))
            var restartNeeded: [String] = []
            if fresh.spoolDirectory != current.spoolDirectory { restartNeeded.append("spool.directory") }
            if fresh.modelDirectory != current.modelDirectory { restartNeeded.append("model.directory") }
            if fresh.ledgerDirectory != current.ledgerDirectory { restartNeeded.append("ledger.directory") }
            if fresh.workers != current.workers { restartNeeded.append("workers.count") }
            if fresh.host != current.host { restartNeeded.append("host") }
            _ = try context.registry.current()
            log.event("config.reloaded", ["restart_needed_for": .array(restartNeeded.map { .string($0) })])
        } catch {
            log.event("config.reload_failed", level: .error, ["error": .string("\(error)"), "kept": .string("previous configuration")])
        }
    }

    /// Deletes staged images (`out/.<name>.<host>.<pid>.partial`) left by dead processes of this host:
    /// they have no ledger event, so they were never delivered.
    private func removeStalePartials(spool: Spool) {
        let out = spool.layout.out
        let names = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".partial") {
            let parts = name.dropLast(8).split(separator: ".")
            guard parts.count >= 3, String(parts[parts.count - 2]) == spool.host, let pid = Int32(parts[parts.count - 1]),
                  kill(pid, 0) != 0 else { continue }
            unlink(out.appendingPathComponent(name).path)
        }
    }
}

/// Start-up failed before any job was claimed.
public struct DaemonStartError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
