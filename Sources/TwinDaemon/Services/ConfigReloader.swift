// Role: SIGHUP. Re-reads the config file and applies what can change live — render settings
// (`output.*`, `log.progress_interval_seconds`) and `log.level` — and names every changed key that
// needs a restart. Unchanged keys are never reported.
// Failure modes: an unreadable or invalid config (including one nested too deep) is
// `config.reload_failed`; the previous configuration stays in force.

import Foundation
import Logging

/// Applies a changed config file to a running daemon.
final class ConfigReloader: Sendable {
    private let current: DaemonConfig
    private let path: String?
    private let context: PipelineContext
    private let sink: JSONLinesLogHandler.Sink
    private let notifier: SystemdNotifier
    private let log: StatusLog

    init(current: DaemonConfig, path: String?, context: PipelineContext, sink: JSONLinesLogHandler.Sink, notifier: SystemdNotifier, log: StatusLog) {
        self.current = current
        self.path = path
        self.context = context
        self.sink = sink
        self.notifier = notifier
        self.log = log
    }

    /// Reloads the config file (nothing to do without one).
    func reload() {
        notifier.reloading()
        defer { notifier.ready(status: "configuration reloaded") }
        guard let path else { return }
        do {
            let fresh = try DaemonConfig.load(path: path)
            context.settings.set(RenderSettings(config: fresh))
            sink.logLevel = Logger.Level(rawValue: fresh.logLevel) ?? sink.logLevel
            log.event("config.reloaded", ["log_level": .string(fresh.logLevel),
                                          "restart_needed_for": .array(Self.restartKeys(current, fresh).map { .string($0) })])
        } catch {
            log.event("config.reload_failed", level: .error, ["error": .string("\(error)"), "kept": .string("previous configuration")])
        }
    }

    /// Keys whose new value only a restart applies.
    static func restartKeys(_ old: DaemonConfig, _ new: DaemonConfig) -> [String] {
        let paths: [(String, URL, URL)] = [
            ("spool.directory", old.spoolDirectory, new.spoolDirectory), ("model.directory", old.modelDirectory, new.modelDirectory),
            ("consent.registry", old.consentRegistryDirectory, new.consentRegistryDirectory),
            ("ledger.directory", old.ledgerDirectory, new.ledgerDirectory), ("ledger.host_key", old.hostKeyFile, new.hostKeyFile),
            ("log.directory", old.logDirectory, new.logDirectory), ("watermark.key_file", old.watermarkKeyFile, new.watermarkKeyFile),
        ]
        var keys = paths.filter { $0.1.standardizedFileURL.path != $0.2.standardizedFileURL.path }.map(\.0)
        if old.trustAnchorFiles.map(\.standardizedFileURL.path) != new.trustAnchorFiles.map(\.standardizedFileURL.path) { keys.append("consent.trust_anchors") }
        if old.requireSignedOrders != new.requireSignedOrders { keys.append("consent.require_signed_orders") }
        if old.c2paCertificateChainFile?.standardizedFileURL.path != new.c2paCertificateChainFile?.standardizedFileURL.path { keys.append("provenance.certificate_chain") }
        if old.c2paTrustAnchorFiles.map(\.standardizedFileURL.path) != new.c2paTrustAnchorFiles.map(\.standardizedFileURL.path) { keys.append("provenance.trust_anchors") }
        if old.previousWatermarkKeyFiles.map(\.standardizedFileURL.path) != new.previousWatermarkKeyFiles.map(\.standardizedFileURL.path) { keys.append("watermark.previous_key_files") }
        if old.watermarkCoarseLayer != new.watermarkCoarseLayer { keys.append("watermark.coarse_layer") }
        if old.workers != new.workers { keys.append("workers.count") }
        if old.blasThreads != new.blasThreads { keys.append("workers.blas_threads") }
        if old.host != new.host { keys.append("host") }
        if old.maxAttempts != new.maxAttempts { keys.append("spool.max_attempts") }
        if old.maxJobBytes != new.maxJobBytes { keys.append("spool.max_job_bytes") }
        return keys
    }
}
