// Role: what every worker shares: the loaded model, the spool, the ledger segment, consent state,
// the status log, health and statistics. Created once per daemon.
// Failure modes: none at run time; construction only wires values together.

import Foundation
import Logging
import TwinConsent
import TwinImaging
import TwinInference
import TwinLedger
import TwinSpool

/// Shared, thread-safe state of the pipeline.
final class PipelineContext: Sendable {
    let config: DaemonConfig
    let spool: Spool
    let model: TwinModel
    let ledger: RoyaltyLedger
    let registry: ConsentRegistryCache
    let reservations: QuotaReservations
    let audit: ConsentAuditLog
    let log: StatusLog
    let health: DaemonHealth
    let settings: Locked<RenderSettings>
    let stats: DaemonStats
    /// The host's C2PA signer; nil when `provenance.certificate_chain` is not set.
    let c2pa: C2PASigner?
    /// The invisible watermark under the installation key (`watermark.key_file`).
    let watermark: InvisibleWatermark

    init(config: DaemonConfig, spool: Spool, model: TwinModel, ledger: RoyaltyLedger, trustAnchors: [String],
         watermark: InvisibleWatermark, log: StatusLog, stats: DaemonStats, c2pa: C2PASigner? = nil) {
        self.config = config
        self.spool = spool
        self.model = model
        self.ledger = ledger
        self.registry = ConsentRegistryCache(
            directory: config.consentRegistryDirectory, trustAnchors: trustAnchors,
            headStore: RegistryHeadStore(file: spool.layout.state.appendingPathComponent("registry-head.json")))
        self.reservations = QuotaReservations(file: spool.layout.state.appendingPathComponent("quota-reservations.json"))
        self.audit = ConsentAuditLog(file: config.logDirectory.appendingPathComponent("consent-audit.jsonl"))
        self.log = log
        self.health = DaemonHealth(log: log)
        self.settings = Locked(RenderSettings(config: config))
        self.stats = stats
        self.c2pa = c2pa
        self.watermark = watermark
    }
}
