import Foundation
import TwinConsent
import TwinImaging
@testable import TwinDaemon

/// A scratch installation for process-level tests: a registrar key (the config's trust anchor),
/// a host key registered for `host`, a consent registry with a licensee, a model party per twin,
/// her signed twin record and an owner-signed grant each, ledger, logs, and a config pointing at
/// the tiny random-weight model in `Fixtures/tiny-model` (same architecture as the shipped model).
struct DaemonFixture {
    let root: URL
    let configURL: URL
    let keys: [String: PartyKey]
    /// This fixture's host name (its ledger segment and host party).
    let host: String
    /// The registrar's key; its public half is the config's only trust anchor.
    let registrar: PartyKey
    /// The installation's watermark key (`watermark.key_file`, mode 0600).
    let watermarkKey: WatermarkKey
    var watermarkKeyFile: URL { root.appendingPathComponent("keys/watermark.key") }
    /// The watermark the daemon of this fixture marks with.
    var watermark: InvisibleWatermark { InvisibleWatermark(key: watermarkKey) }
    var store: RegistryStore { RegistryStore(directory: registry, trustAnchors: [registrar.publicKeyBase64]) }
    var spool: URL { root.appendingPathComponent("spool") }
    var registry: URL { root.appendingPathComponent("registry") }
    var ledger: URL { root.appendingPathComponent("ledger") }
    var statusLog: URL { root.appendingPathComponent("log/status.jsonl") }

    static var modelDirectory: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tiny-model")
    }

    /// `maxImages` per grant; grants cover ecommerce + social-media in EU and US for brand-north.
    /// Twins in `ungranted` are registered but get no grant; twins in `unregistered` have no
    /// registry record at all. `brand-south` has a key but is not registered.
    /// `watermarkKey` defaults to a fresh one; installations compared pixel for pixel share one.
    init(host: String = "test", maxImages: Int = 100, extraConfig: String = "", ungranted: Set<String> = [],
         unregistered: Set<String> = [], watermarkKey: WatermarkKey = .generate()) throws {
        let registrar = PartyKey.generate()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("twinrender-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        self.registrar = registrar
        self.host = host
        let keyFiles = root.appendingPathComponent("keys")
        try FileManager.default.createDirectory(at: keyFiles, withIntermediateDirectories: true)
        let hostKey = PartyKey.generate()
        _ = try registrar.write(party: "registrar", to: keyFiles)
        _ = try hostKey.write(party: host, to: keyFiles)
        self.watermarkKey = watermarkKey
        try watermarkKey.write(to: keyFiles.appendingPathComponent("watermark.key").path)
        configURL = root.appendingPathComponent("twinrender.toml")
        try """
        host = "\(host)"
        [spool]
        directory = "spool"
        rescan_interval_seconds = 0.2
        max_attempts = 3
        [model]
        directory = "\(Self.modelDirectory.path)"
        [consent]
        registry = "registry"
        trust_anchors = ["keys/registrar.pub"]
        [ledger]
        directory = "ledger"
        host_key = "keys/\(host).key"
        [log]
        directory = "log"
        heartbeat_interval_seconds = 0.5
        progress_interval_seconds = 0
        [workers]
        count = 1
        blas_threads = 1
        [shutdown]
        grace_period_seconds = 0.2
        [watermark]
        key_file = "keys/watermark.key"
        \(extraConfig)
        """.write(to: configURL, atomically: true, encoding: .utf8)

        let store = RegistryStore(directory: root.appendingPathComponent("registry"), trustAnchors: [registrar.publicKeyBase64])
        let now = Date()
        var keys: [String: PartyKey] = [host: hostKey]
        try store.registerParty(id: host, role: .host, publicKey: hostKey.publicKeyBase64, registrarKey: registrar, at: now)
        let brand = PartyKey.generate()
        try store.registerParty(id: "brand-north", role: .licensee, publicKey: brand.publicKeyBase64, registrarKey: registrar, at: now)
        keys["brand-north"] = brand
        keys["brand-south"] = PartyKey.generate()
        for twin in ["ava", "bea", "cleo", "dana"] where !unregistered.contains(twin) {
            let key = PartyKey.generate()
            keys["model-\(twin)"] = key
            try store.registerParty(id: "model-\(twin)", role: .model, publicKey: key.publicKeyBase64, registrarKey: registrar, at: now)
            _ = try store.registerTwin(id: twin, weightsFile: Self.modelDirectory.appendingPathComponent("twins/\(twin).safetensors"), key: key, at: now)
            let terms = GrantTerms(twin: twin, licensee: "brand-north", purposes: ["ecommerce", "social-media"], territories: ["EU", "US"],
                                   validFrom: now.addingTimeInterval(-86_400), validUntil: now.addingTimeInterval(86_400 * 30),
                                   maxImages: maxImages, feeMinorUnits: 2500, currency: "EUR", commissionBasisPoints: 1500, paymentDays: 30)
            if !ungranted.contains(twin) { _ = try store.grant(terms, key: key, at: now) }
        }
        self.keys = keys
    }

    /// A valid job's JSON.
    static func job(twin: String = "ava", licensee: String = "brand-north", purpose: String = "ecommerce", territory: String = "DE",
                    tags: [String] = [], seed: Int = 1, steps: Int = 4, count: Int = 1, size: Int = 128, priority: Int = 0) -> Data {
        let tagList = tags.map { "\"\($0)\"" }.joined(separator: ",")
        return Data("""
        {"twin":"\(twin)","licensee":"\(licensee)","purpose":"\(purpose)","territory":"\(territory)","garment":"dress",
         "colour":"red","tags":[\(tagList)],"seed":\(seed),"steps":\(steps),"count":\(count),"width":\(size),"height":\(size),"priority":\(priority)}
        """.utf8)
    }

    /// Drops a job file straight into `incoming/` (as a writer that used `tmp/` would). A
    /// well-formed job (a JSON object naming a licensee whose key the fixture holds, and no
    /// other `id`) is first signed as an order by that licensee unless `signed` is false;
    /// anything else is dropped as it is.
    func drop(_ data: Data, id: String, signed: Bool = true) throws {
        let data = signed ? try signedOrder(data, id: id) ?? data : data
        let incoming = spool.appendingPathComponent("incoming")
        try FileManager.default.createDirectory(at: incoming, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: spool.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        let staged = spool.appendingPathComponent("tmp/\(id).json")
        try data.write(to: staged)
        try FileManager.default.moveItem(at: staged, to: incoming.appendingPathComponent("\(id).json"))
    }

    /// `data` signed as an order by its licensee, or nil when it is not a signable job.
    func signedOrder(_ data: Data, id: String, expiresAt: Date = Date().addingTimeInterval(3600)) throws -> Data? {
        struct Fields: Decodable { var id: String?; var licensee: String? }
        guard let fields = try? JSONDecoder().decode(Fields.self, from: data), fields.id == nil || fields.id == id,
              let licensee = fields.licensee, let key = keys[licensee] else { return nil }
        return try SignedJobOrder.sign(data, jobID: id, signer: licensee, expiresAt: expiresAt, key: key)
    }

    func files(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: spool.appendingPathComponent(directory).path)) ?? [])
            .filter { !$0.hasPrefix(".") }.sorted()
    }

    func reason(_ id: String, in directory: String = "rejected") throws -> [String: Any] {
        let data = try Data(contentsOf: spool.appendingPathComponent("\(directory)/\(id).reason.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// Every event line in every ledger segment.
    func ledgerEvents() -> [[String: Any]] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: ledger.path)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") }.flatMap { name -> [[String: Any]] in
            let text = (try? String(contentsOf: ledger.appendingPathComponent(name), encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
    }

    /// Rewrites this fixture's config to use `other`'s spool, registry (and its registrar as the
    /// trust anchor) and ledger, and registers this fixture's host key there.
    func share(spoolRegistryAndLedgerOf other: DaemonFixture) throws {
        try other.store.registerParty(id: host, role: .host, publicKey: keys[host]!.publicKeyBase64, registrarKey: other.registrar, at: Date())
        var text = try String(contentsOf: configURL, encoding: .utf8)
        text = text.replacingOccurrences(of: "trust_anchors = [\"keys/registrar.pub\"]",
                                         with: "trust_anchors = [\"\(other.root.appendingPathComponent("keys/registrar.pub").path)\"]")
            .replacingOccurrences(of: "directory = \"spool\"", with: "directory = \"\(other.spool.path)\"")
            .replacingOccurrences(of: "registry = \"registry\"", with: "registry = \"\(other.registry.path)\"")
            .replacingOccurrences(of: "directory = \"ledger\"", with: "directory = \"\(other.ledger.path)\"")
        try text.write(to: configURL, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

/// Runs the built `twinrender` executable.
enum TwinRenderBinary {
    static var url: URL {
        // The test bundle sits next to the package's executables in the build folder.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("twinrender")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/twinrender")
    }

    /// Starts `twinrender args…` with the given environment additions; output goes to `log` if set.
    static func start(_ args: [String], environment: [String: String] = [:], log: URL? = nil) throws -> Process {
        let process = Process()
        process.executableURL = url
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        if let log {
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: log)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs to completion; returns the exit status and stdout+stderr text.
    static func run(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = url
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Polls `condition` every 20 ms for up to `timeout` seconds.
func waitFor(_ timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}
