// Role: a throw-away registry for the TwinConsent tests: a registrar (the trust anchor), a model
// `anna` who owns twin `anna-v1` and designated `anna-estate`, an agency, two licensees and a
// render host, each with a fresh key; plus helpers to read and rewrite the log as an attacker.
// Reference: docs/consent-registry.md.
// Failure modes: setup errors fail the test that builds the fixture.

import Foundation
@testable import TwinConsent

final class Fixture {
    let root: URL
    let store: RegistryStore
    let registrar = PartyKey.generate()
    let weightsFile: URL
    let weightsSHA256: String
    var keys: [String: PartyKey] = [:]

    /// 2026-06-01T12:00:00Z, the "now" of every test.
    static let now = Date(timeIntervalSince1970: 1_780_315_200)

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("twinconsent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        store = RegistryStore(directory: root.appendingPathComponent("registry"), trustAnchors: [registrar.publicKeyBase64])
        for (id, role) in [
            ("anna", PartyRole.model), ("anna-estate", .estate), ("elite", .agency), ("acme", .licensee), ("globex", .licensee),
            ("render-01", .host),
        ] {
            let key = PartyKey.generate()
            keys[id] = key
            try store.registerParty(id: id, role: role, publicKey: key.publicKeyBase64, registrarKey: registrar, at: Self.now)
        }
        try store.designateEstate(model: "anna", estate: "anna-estate", key: keys["anna"]!, at: Self.now)
        weightsFile = root.appendingPathComponent("anna-v1.safetensors")
        try Data("anna twin weights v1".utf8).write(to: weightsFile)
        weightsSHA256 = try WeightsDigestCache.sha256(of: weightsFile)
        try store.registerTwin(id: "anna-v1", weightsFile: weightsFile, key: keys["anna"]!, at: Self.now)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// Default terms: acme, ecommerce+editorial, FR+DE, 2026, 100 images at EUR 25.00.
    func terms(
        licensee: String = "acme", purposes: [String] = ["ecommerce", "editorial"], territories: [String] = ["FR", "DE"],
        from: String = "2026-01-01", until: String = "2027-01-01", maxImages: Int = 100, prohibited: [String] = ["lingerie"]
    ) throws -> GrantTerms {
        GrantTerms(
            twin: "anna-v1", licensee: licensee, purposes: purposes, territories: territories,
            validFrom: try UTCDate.parse(from, field: "from", allowDateOnly: true),
            validUntil: try UTCDate.parse(until, field: "until", allowDateOnly: true), maxImages: maxImages,
            feeMinorUnits: 2500, currency: "EUR", commissionBasisPoints: 1500, paymentDays: 30, prohibitedTags: prohibited)
    }

    /// Signs `terms` with `signer`'s key and appends it without the store's checks.
    @discardableResult
    func writeGrant(_ terms: GrantTerms, signedBy signer: String = "anna", supersedes: String? = nil) throws -> Grant {
        let grant = try Grant.sign(
            terms, assigner: signer, key: keys[signer]!, at: Self.now.addingTimeInterval(-86_400), supersedes: supersedes)
        try store.write(grant)
        return grant
    }

    /// A request for `count` images by acme, ecommerce in FR, with the current weights.
    func request(
        job: String = "job-1", licensee: String = "acme", purpose: String = "ecommerce", territory: String = "FR",
        count: Int = 1, tags: [String] = [], weights: String?? = .none
    ) throws -> ConsentRequest {
        try ConsentRequest(
            job: job, twin: "anna-v1", licensee: licensee, purpose: purpose, territory: territory, count: count,
            contentTags: tags, twinWeightsSHA256: weights ?? weightsSHA256)
    }

    func registry(pinnedHead: RegistryHead? = nil) throws -> ConsentRegistry {
        try ConsentRegistry.load(
            directory: store.directory, trustAnchors: [registrar.publicKeyBase64], pinnedHead: pinnedHead, at: Self.now)
    }

    /// The decision for `request` at `date` with `used` images already counted.
    func decide(_ request: ConsentRequest, at date: Date = Fixture.now, used: Int = 0) throws -> ConsentDecision {
        try registry().evaluate(request, at: date) { _ in used }
    }

    // MARK: The log as an attacker with write access sees it

    var logURL: URL { store.directory.appendingPathComponent("log.jsonl") }

    /// The log's lines, without their newlines.
    func logLines() throws -> [String] {
        try String(contentsOf: logURL, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// Replaces the log with `lines`.
    func writeLog(_ lines: [String]) throws {
        try Data((lines.map { $0 + "\n" }.joined()).utf8).write(to: logURL)
    }

    /// Appends a record exactly as an attacker could (chained correctly, no checks).
    @discardableResult
    func plant(_ record: LoggedRecord) throws -> RegistryHead { try store.appendUnchecked(record) }

    /// The record at `line` (1-based), parsed.
    func record(atLine line: Int) throws -> LoggedRecord {
        let object = try CanonicalValue.parseObject(Array(logLines()[line - 1].utf8))
        guard case .object(let record)? = object["record"] else { throw ConsentError.malformedFile }
        return try LoggedRecord.parse(record)
    }

    /// The problems reported for the record at `line`.
    func problems(atLine line: Int) throws -> [String] {
        try registry().problems.filter { $0.line == line }.map(\.message)
    }
}
