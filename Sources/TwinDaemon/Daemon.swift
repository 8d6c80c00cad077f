// Role: the twinrender daemon: loads the model once, recovers this host's interrupted jobs and
// deliveries, then runs the workers and the background services in one `ServiceGroup` until
// SIGTERM/SIGINT (or, with `once`, until the queue is drained).
// Reference: swift-service-lifecycle's ServiceGroup; systemd's sd_notify protocol.
// Start-up order: config → status log → spool (+ recovery) → model (hash-verified) → ledger →
// registry → C2PA signer (when configured) → staged deliveries reconciled → `READY=1`. Any failure before `READY=1` throws a
// `DaemonStartError` naming what failed and logs `daemon.start_failed`; nothing is claimed before.

import Foundation
import Logging
import ServiceLifecycle
import TwinBase
import TwinConsent
import TwinImaging
import TwinInference
import TwinLedger
import TwinSpool

/// The twinrender daemon.
public final class Daemon {
    private let config: DaemonConfig
    private let configPath: String?
    private let once: Bool
    private let notifier: SystemdNotifier
    private let sink: JSONLinesLogHandler.Sink
    private let logger: Logger
    private let log: StatusLog

    /// Prepares the status log; does not touch the spool yet.
    public init(config: DaemonConfig, configPath: String?, once: Bool, notifier: SystemdNotifier = SystemdNotifier(), logToStderr: Bool = true) throws {
        EarlyStop.install()  // before the status log exists, so a stop seen after it is never fatal
        self.config = config
        self.configPath = configPath
        self.once = once
        self.notifier = notifier
        let sink = try JSONLinesLogHandler.Sink(fileURL: config.logDirectory.appendingPathComponent("status.jsonl"), host: config.host, stderr: logToStderr)
        sink.logLevel = Logger.Level(rawValue: config.logLevel) ?? .info
        self.sink = sink
        let host = config.host
        self.logger = Logger(label: "twinrender") { _ in JSONLinesLogHandler(sink: sink, host: host) }
        self.log = StatusLog(logger: logger)
    }

    /// Runs until shutdown. Returns normally after a graceful stop.
    public func run() async throws {
        signal(SIGPIPE, SIG_IGN)  // a closed stderr must not kill the daemon; writes just fail
        let started = Date()
        let spool = try startStep("spool") { try openSpool() }
        let model = try startStep("model") { try TwinModel.load(directory: config.modelDirectory) }
        for (twin, why) in model.disabledTwins.sorted(by: { $0.key < $1.key }) {
            log.event("model.twin_disabled", level: .error, ["twin": .string(twin), "reason": .string(why)])
        }
        let ledger = try startStep("ledger") { try openLedger() }
        let trustAnchors = try startStep("consent.trust_anchors") { try openRegistry() }
        let c2pa = try startStep("provenance.certificate_chain") { try openC2PASigner() }
        let watermark = try startStep("watermark.key_file") { try WatermarkKeys.watermark(config: config) }
        let stats = DaemonStats()
        let context = PipelineContext(config: config, spool: spool, model: model, ledger: ledger, trustAnchors: trustAnchors,
                                      watermark: watermark, log: log, stats: stats, c2pa: c2pa)
        StartupReconciliation(context: context).run()
        let reporter = StatusReporter(spool: spool, stats: stats, health: context.health, log: log, notifier: notifier, modelName: model.name)
        reporter.pruneStaleStateFiles()
        let services = makeServices(context: context, reporter: reporter)

        log.event("daemon.ready", [
            "model": .string(model.name), "twins": .array(model.twinIDs.map { .string($0) }),
            "workers": .int(config.workers), "threads_per_worker": .int(config.blasThreads),
            "load_seconds": .double((Date().timeIntervalSince(started) * 1000).rounded() / 1000),
            "spool": .string(spool.layout.root.path), "pid": .int(Int(spool.pid)),
            "watermark_key": .string(watermark.keyIdentifiers[0]),
            "c2pa": .string(c2pa.map { "signing until \(UTCTimestamp($0.validity.upperBound))" } ?? "off"),
        ])
        if EarlyStop.wasRequested {
            log.event("daemon.stopped", ["reason": .string("stop requested during start-up"), "jobs_delivered": .int(0)])
            return
        }
        notifier.ready(status: "model \(model.name) loaded; \(spool.counts()["incoming"] ?? 0) jobs waiting")
        let group = ServiceGroup(configuration: .init(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
        try await group.run()

        notifier.stopping()
        reporter.write(reporter.snapshot(running: false))
        log.event("daemon.stopped", ["jobs_delivered": .int(stats.jobsDelivered), "images_delivered": .int(stats.imagesDelivered)])
    }

    /// Runs one start-up step; a failure is logged as `daemon.start_failed` and stops the start.
    private func startStep<T>(_ name: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            let message = (error as? CustomStringConvertible)?.description ?? "\(error)"
            log.event("daemon.start_failed", level: .critical, ["step": .string(name), "error": .string(message)])
            throw DaemonStartError("\(name): \(message)")
        }
    }

    /// Opens the spool and returns this host's interrupted jobs to `incoming/`.
    private func openSpool() throws -> Spool {
        let spool = try Spool(root: config.spoolDirectory, host: config.host, maxJobBytes: config.maxJobBytes)
        for fix in spool.permissionFixes {
            log.event("spool.permissions_fixed", level: .warning, ["fix": .string("\(fix)")])
        }
        try SpoolMaintenance(spool: spool, maxAttempts: config.maxAttempts, log: log).run()
        return spool
    }

    private func openLedger() throws -> RoyaltyLedger {
        let hostKey = try PartyKey.load(from: config.hostKeyFile).privateKey
        let ledger = try RoyaltyLedger(directory: config.ledgerDirectory, host: config.host, signingKey: hostKey)
        if let torn = ledger.recovery {
            log.event("ledger.torn_tail", level: .warning, ["file": .string(torn.tornFile.path), "bytes": .int(torn.byteCount)])
        }
        return ledger
    }

    /// The C2PA signer when `provenance.certificate_chain` is set: the chain must be for the host
    /// key, fit the C2PA profile now and chain to `provenance.trust_anchors` when those are set.
    private func openC2PASigner() throws -> C2PASigner? {
        guard let chain = config.c2paCertificateChainFile else { return nil }
        return try C2PASigner.load(chainFile: chain, key: PartyKey.load(from: config.hostKeyFile).privateKey,
                                   trustAnchorFiles: config.c2paTrustAnchorFiles, now: Date())
    }

    /// Loads the trust anchors and checks that the registry directory exists.
    private func openRegistry() throws -> [String] {
        let anchors = try PartyKey.loadTrustAnchors(from: config.trustAnchorFiles)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: config.consentRegistryDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DaemonStartError("consent.registry: \(config.consentRegistryDirectory.path) does not exist (create it with `twinrender registrar init` and `keygen`)")
        }
        return anchors
    }

    private func makeServices(context: PipelineContext, reporter: StatusReporter) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let wake = WakeSignal()
        let workers = (0..<config.workers).map { Worker(index: $0, context: context, wake: wake, once: once) }
        let reloader = ConfigReloader(current: config, path: configPath, context: context, sink: sink, notifier: notifier, log: log)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: WorkerPoolService(workers: workers), successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: RescanService(interval: config.rescanInterval, wake: wake)),
            .init(service: MaintenanceService(maintenance: SpoolMaintenance(spool: context.spool, maxAttempts: config.maxAttempts, log: log),
                                              interval: 60, wake: wake)),
            .init(service: HeartbeatService(reporter: reporter, interval: config.heartbeatInterval)),
            .init(service: ReloadService(reload: { reloader.reload() })),
        ]
        do {
            services.append(.init(service: SpoolWatchService(watcher: try SpoolWatcher(directory: context.spool.layout.incoming), wake: wake)))
        } catch {
            log.event("spool.inotify_unavailable", level: .warning, ["error": .string("\(error)"), "fallback": .string("rescan only")])
        }
        if let interval = notifier.watchdogInterval {
            services.append(.init(service: WatchdogService(notifier: notifier, interval: interval)))
        }
        return services
    }
}

/// Start-up failed before any job was claimed.
public struct DaemonStartError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
