import Foundation
import Logging
import TwinConsent
import TwinInference
import TwinLedger
import TwinSpool

/// What every worker shares: the loaded model, the spool, the ledger segment, consent state and
/// the status log. Created once per daemon.
final class PipelineContext: Sendable {
    let config: DaemonConfig
    let spool: Spool
    let model: TwinModel
    /// Twin id → the weight file the model loaded it from (hashed for consent at every check).
    let twinWeightFiles: [String: URL]
    let ledger: RoyaltyLedger
    let registry: ConsentRegistryCache
    let weightsDigests = WeightsDigestCache()
    let reservations: QuotaReservations
    let audit: ConsentAuditLog
    let log: StatusLog
    let settings: Locked<RenderSettings>
    let stats: DaemonStats

    init(config: DaemonConfig, spool: Spool, model: TwinModel, ledger: RoyaltyLedger, log: StatusLog, stats: DaemonStats) throws {
        self.config = config
        self.spool = spool
        self.model = model
        self.twinWeightFiles = try Self.twinFiles(modelDirectory: config.modelDirectory)
        self.ledger = ledger
        self.registry = ConsentRegistryCache(directory: config.consentRegistryDirectory)
        self.reservations = QuotaReservations(file: spool.layout.state.appendingPathComponent("quota-reservations.json"))
        self.audit = ConsentAuditLog(file: config.logDirectory.appendingPathComponent("consent-audit.jsonl"))
        self.log = log
        self.settings = Locked(RenderSettings(config: config))
        self.stats = stats
    }

    /// The `twins` list of the package's model.json (id → file), which the model loaded and verified.
    static func twinFiles(modelDirectory: URL) throws -> [String: URL] {
        struct Manifest: Decodable {
            struct Twin: Decodable { var id: String; var file: String }
            var twins: [Twin]
        }
        let data = try Data(contentsOf: modelDirectory.appendingPathComponent("model.json"))
        let manifest = try JSONDecoder().decode(Manifest.self, from: data)
        return Dictionary(manifest.twins.map { ($0.id, modelDirectory.appendingPathComponent($0.file)) }, uniquingKeysWith: { a, _ in a })
    }
}
