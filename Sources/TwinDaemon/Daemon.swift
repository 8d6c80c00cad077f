// Role: the twinrender daemon: loads the model once, recovers this host's interrupted jobs and
// deliveries, then runs the workers and the background services in one `ServiceGroup` until
// SIGTERM/SIGINT (or, with `once`, until the queue is drained).
// Reference: swift-service-lifecycle's ServiceGroup; systemd's sd_notify protocol.
// Start-up order: config → status log → spool (+ recovery) → model (hash-verified) → ledger →
// registry → C2PA signer (when configured) → watermark key → staged deliveries reconciled →
// `READY=1`. With `queue.backend = "postgres"` the jobs, leases, quotas and royalty events live
// in the fleet database instead (`queue.url`: reachable, schema current, this host's staged
// images in `queue.output_directory` settled against it); the spool directory then keeps only
// this host's state (registry head, status files). Any failure before `READY=1` throws a
// `DaemonStartError` naming what failed and logs `daemon.start_failed`; nothing is claimed before.

import Foundation
import Logging
import ServiceLifecycle
import TwinBase
import TwinConsent
import TwinFleet
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
        let reporter = StatusReporter(spool: spool, stats: stats, health: context.health, log: log, notifier: notifier, modelName: model.name)
        reporter.pruneStaleStateFiles()
        var services = commonServices(context: context, reporter: reporter)
        var queueFacts: Logger.Metadata = ["queue": .string("directory")]
        let fleet: RunningFleet?
        if config.queue.backend == .postgres {
            let running = try await openFleet()
            fleet = running
            services.insert(contentsOf: try await fleetServices(running.database, context: context), at: 0)
            queueFacts = ["queue": .string("postgres"), "database": .string(running.database.url.redacted), "output": .string(fleetOutput.path)]
        } else {
            fleet = nil
            StartupReconciliation(context: context).run()
            services.insert(contentsOf: spoolServices(context: context), at: 0)
        }
        defer { fleet?.pool.cancel() }

        log.event("daemon.ready", [
            "model": .string(model.name), "twins": .array(model.twinIDs.map { .string($0) }),
            "workers": .int(config.workers), "threads_per_worker": .int(config.blasThreads),
            "load_seconds": .double((Date().timeIntervalSince(started) * 1000).rounded() / 1000),
            "spool": .string(spool.layout.root.path), "pid": .int(Int(spool.pid)),
            "watermark_key": .string(watermark.keyIdentifiers[0]),
            "c2pa": .string(c2pa.map { "signing until \(UTCTimestamp($0.validity.upperBound))" } ?? "off"),
        ].merging(queueFacts) { $1 })
        if EarlyStop.wasRequested {
            log.event("daemon.stopped", ["reason": .string("stop requested during start-up"), "jobs_delivered": .int(0)])
            return
        }
        notifier.ready(status: config.queue.backend == .postgres ? "model \(model.name) loaded; fleet queue \(fleet?.database.url.redacted ?? "")"
                                                                    : "model \(model.name) loaded; \(spool.counts()["incoming"] ?? 0) jobs waiting")
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

    /// `startStep` for a step that waits on the database.
    private func startStep<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
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

    /// The spool's workers and the services that feed them (inotify, rescans, maintenance).
    private func spoolServices(context: PipelineContext) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let wake = WakeSignal()
        let workers = (0..<config.workers).map { Worker(index: $0, context: context, wake: wake, once: once) }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: WorkerPoolService(workers: workers), successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: RescanService(interval: config.rescanInterval, wake: wake)),
            .init(service: MaintenanceService(maintenance: SpoolMaintenance(spool: context.spool, maxAttempts: config.maxAttempts, log: log),
                                              interval: 60, wake: wake)),
        ]
        do {
            services.append(.init(service: SpoolWatchService(watcher: try SpoolWatcher(directory: context.spool.layout.incoming), wake: wake)))
        } catch {
            log.event("spool.inotify_unavailable", level: .warning, ["error": .string("\(error)"), "fallback": .string("rescan only")])
        }
        return services
    }

    /// Services of every queue: heartbeats, SIGHUP reloads, the systemd watchdog.
    private func commonServices(context: PipelineContext, reporter: StatusReporter) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let reloader = ConfigReloader(current: config, path: configPath, context: context, sink: sink, notifier: notifier, log: log)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: HeartbeatService(reporter: reporter, interval: config.heartbeatInterval)),
            .init(service: ReloadService(reload: { reloader.reload() })),
        ]
        if let interval = notifier.watchdogInterval {
            services.append(.init(service: WatchdogService(notifier: notifier, interval: interval)))
        }
        return services
    }

    // MARK: Fleet

    /// Where fleet images go: `queue.output_directory`, else the spool's `out/`.
    private var fleetOutput: URL { config.queue.outputDirectory ?? config.spoolDirectory.appendingPathComponent("out") }

    /// The fleet database's pool, running until `pool` is cancelled (after the service group).
    private struct RunningFleet {
        let database: FleetDatabase
        let pool: Task<Void, Never>
    }

    /// The fleet database, running, reachable and at the schema this binary knows.
    private func openFleet() async throws -> RunningFleet {
        try await startStep("queue.url") {
            // The driver's own log stays quiet: every failure reaches the status log as a
            // `FleetError` (queue.unavailable, job.fenced, daemon.start_failed). Not a copy of
            // `logger` with a higher level: the level belongs to the shared sink.
            let quiet = Logger(label: "twinrender.fleet") { _ in SwiftLogNoOpLogHandler() }
            let database = FleetDatabase(url: try FleetURL(config.queue.url ?? ""), logger: quiet)
            let pool = Task { await database.run() }
            do {
                let version = try await FleetSchema.version(of: database)
                guard version == FleetSchema.currentVersion else {
                    throw DaemonStartError("the database has schema version \(version), this binary needs \(FleetSchema.currentVersion): run `twinrender db migrate`")
                }
                return RunningFleet(database: database, pool: pool)
            } catch let error as FleetError where error.isTransient {
                let said = await database.diagnose().map { " (the server says: \($0))" } ?? ""
                pool.cancel()
                throw DaemonStartError("\(database.url.redacted): \(error)\(said)")
            } catch {
                pool.cancel()
                throw error
            }
        }
    }

    /// The fleet's workers, wake-ups, housekeeping and ingest; this host's staged leftovers are
    /// settled against the database first.
    private func fleetServices(_ database: FleetDatabase, context: PipelineContext) async throws -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let output = fleetOutput
        let directory = ImageDirectory(url: output, host: config.host)
        let settled = try await startStep("queue.output_directory") { () async throws -> FleetDeliveryReconciliation.Outcome in
            try DurableFile.makeDirectory(output.path, mode: 0o755)
            return try await FleetDeliveryReconciliation(directory: directory, ledger: FleetLedger(database: database)).run()
        }
        if !settled.delivered.isEmpty || !settled.discarded.isEmpty {
            log.event("output.reconciled", level: .notice, ["delivered": .array(settled.delivered.map { .string($0) }),
                                                           "discarded": .array(settled.discarded.map { .string($0) })])
        }
        let lease = Duration.milliseconds(Int(config.queue.leaseSeconds * 1000))
        let queue = FleetQueue(database: database, host: config.host, leaseDuration: lease,
                               maxFailedHosts: config.queue.maxFailedHosts, maxFailures: config.maxAttempts)
        let hostKey = try PartyKey.load(from: config.hostKeyFile).privateKey
        let wake = FleetWakeSignal()
        let poll = Duration.milliseconds(Int(config.queue.pollInterval * 1000))
        let staged = StagedClaims()
        let runners = (0..<config.workers).map {
            FleetJobRunner(index: $0, context: context, queue: queue, destination: directory, staged: staged)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: FleetRenderService(worker: FleetWorker(queue: queue, key: hostKey, pollInterval: poll, wake: wake),
                                              runners: runners, staged: staged, context: context, once: once),
                  successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: FleetWakeupService(database: database, wake: wake)),
            .init(service: FleetHousekeepingService(housekeeping: FleetHousekeeping(queue: queue, workers: config.workers, interval: lease / 3),
                                                    wake: wake, log: log)),
        ]
        if let drop = config.queue.ingestDirectory {
            let ingest = try startStep("queue.ingest_directory") { try FleetIngest(queue: queue, root: drop, maxJobBytes: config.maxJobBytes) }
            services.append(.init(service: FleetIngestService(ingest: ingest, interval: poll, log: log)))
        }
        return services
    }
}

/// Start-up failed before any job was claimed.
public struct DaemonStartError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
