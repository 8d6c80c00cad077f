import Foundation
@testable import TwinConsent

/// A throw-away registry with a model (`anna`, owner of twin `anna-v1`), her estate, an agency and
/// two licensees, each with a fresh key; removed when the fixture is deinitialised.
final class Fixture {
    let root: URL
    let store: RegistryStore
    let weightsFile: URL
    let weightsSHA256: String
    var keys: [String: PartyKey] = [:]

    /// 2026-06-01T12:00:00Z, the "now" of every test.
    static let now = Date(timeIntervalSince1970: 1_780_315_200)

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("twinconsent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        store = RegistryStore(directory: root.appendingPathComponent("registry"))
        for (id, role, estateOf) in [
            ("anna", PartyRole.model, nil), ("anna-estate", .estate, "anna"), ("elite", .agency, nil),
            ("acme", .licensee, nil), ("globex", .licensee, nil),
        ] as [(String, PartyRole, String?)] {
            let key = PartyKey.generate()
            keys[id] = key
            try store.addParty(Party(id: id, role: role, publicKey: key.publicKeyBase64, estateOf: estateOf))
        }
        weightsFile = root.appendingPathComponent("anna-v1.safetensors")
        try Data("anna twin weights v1".utf8).write(to: weightsFile)
        weightsSHA256 = try WeightsDigestCache.sha256(of: weightsFile)
        try store.registerTwin(id: "anna-v1", owner: "anna", weightsFile: weightsFile, at: Self.now)
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

    /// Signs `terms` with `signer`'s key and writes it without the store's authority checks.
    @discardableResult
    func writeGrant(_ terms: GrantTerms, signedBy signer: String = "anna") throws -> Grant {
        let grant = try Grant.sign(terms, assigner: signer, key: keys[signer]!, at: Self.now.addingTimeInterval(-86_400))
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

    func registry() throws -> ConsentRegistry { try ConsentRegistry.load(directory: store.directory) }

    /// The decision for `request` at `date` with `used` images already counted.
    func decide(_ request: ConsentRequest, at date: Date = Fixture.now, used: Int = 0) throws -> ConsentDecision {
        try registry().evaluate(request, at: date) { _ in used }
    }
}
