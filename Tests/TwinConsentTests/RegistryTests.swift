import Foundation
import Testing
@testable import TwinConsent

/// Key files, party records, the audit log, listing of problems.
@Suite struct RegistryTests {
    let fixture: Fixture
    init() throws { fixture = try Fixture() }

    @Test func fixtureRegistryIsCleanAndComplete() throws {
        let registry = try fixture.registry()
        #expect(registry.problems.isEmpty)
        #expect(registry.head.seq == 8)
        #expect(Set(registry.parties.keys) == ["anna", "anna-estate", "elite", "acme", "globex", "render-01"])
        #expect(registry.estates == ["anna": "anna-estate"])
        #expect(registry.twins["anna-v1"]?.owner == "anna")
        #expect(registry.hostKeys.keys.sorted() == ["render-01"])
    }

    @Test func partiesAreValidatedAndNotSilentlyReplaced() throws {
        let key = PartyKey.generate()
        #expect(throws: ConsentError.invalidValue) {
            try Party.sign(id: "../x", role: .model, publicKey: key.publicKeyBase64, registrarKey: fixture.registrar, at: Fixture.now)
        }
        #expect(throws: ConsentError.invalidValue) {
            try Party.sign(id: "m", role: .model, publicKey: "AAAA", registrarKey: fixture.registrar, at: Fixture.now)
        }
        #expect(throws: ConsentError.alreadyExists) {
            try fixture.store.registerParty(id: "anna", role: .model, publicKey: key.publicKeyBase64, registrarKey: fixture.registrar, at: Fixture.now)
        }
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.registerParty(
                id: "anna2", role: .model, publicKey: fixture.keys["anna"]!.publicKeyBase64, registrarKey: fixture.registrar, at: Fixture.now)
        }
        #expect(throws: ConsentError.notFound) {
            try fixture.store.rotateParty(id: "nobody", publicKey: key.publicKeyBase64, registrarKey: fixture.registrar, at: Fixture.now)
        }
        #expect(try fixture.registry().parties["anna"]?.publicKey == fixture.keys["anna"]!.publicKeyBase64)
    }

    @Test func estateDesignationNeedsARegisteredEstate() throws {
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.designateEstate(model: "anna", estate: "acme", key: fixture.keys["anna"]!, at: Fixture.now)
        }
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.designateEstate(model: "anna", estate: "anna-estate", key: fixture.keys["acme"]!, at: Fixture.now)
        }
    }

    @Test func keyFilesRoundTripWithPrivateMode() throws {
        let key = PartyKey.generate()
        let dir = fixture.root.appendingPathComponent("keys")
        let (privateURL, publicURL) = try key.write(party: "zoe", to: dir)
        let mode = try FileManager.default.attributesOfItem(atPath: privateURL.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try PartyKey.load(from: privateURL).publicKeyBase64 == key.publicKeyBase64)
        #expect(try PartyKey.loadPublicKey(from: publicURL) == key.publicKeyBase64)
        #expect(try PartyKey.loadTrustAnchors(from: [publicURL]) == [key.publicKeyBase64])
        #expect(throws: ConsentError.alreadyExists) { try key.write(party: "zoe", to: dir) }
        #expect(throws: ConsentError.malformedFile) { try PartyKey.load(from: fixture.weightsFile) }
        #expect(throws: ConsentError.notFound) { try PartyKey.load(from: dir.appendingPathComponent("none.key")) }
    }

    @Test func auditLogRecordsAllowAndDenyWithTheOrder() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        let log = ConsentAuditLog(file: fixture.root.appendingPathComponent("consent-audit.jsonl"))
        let allowed = try fixture.decide(fixture.request(job: "ok"))
        let denied = try fixture.decide(fixture.request(job: "no", licensee: "globex"))
        try log.append(allowed, for: fixture.request(job: "ok"), phase: .claim, at: Fixture.now, orderSigner: "acme", orderSHA256: String(repeating: "b", count: 64))
        try log.append(denied, for: fixture.request(job: "no", licensee: "globex"), phase: .delivery, at: Fixture.now)
        let entries = try log.entries()
        #expect(entries.count == 2)
        #expect(entries[0].decision == "allow" && entries[0].grant == grant.uid && entries[0].grantSHA256 == grant.sha256)
        #expect(entries[0].code == nil && entries[0].time == "2026-06-01T12:00:00Z")
        #expect(entries[0].orderSigner == "acme" && entries[0].orderSHA256 == String(repeating: "b", count: 64))
        #expect(entries[1].decision == "deny" && entries[1].code == "consent.licensee_mismatch" && entries[1].grant == grant.uid)
        #expect(entries[1].phase == .delivery && entries[1].licensee == "globex" && entries[1].orderSigner == nil)
    }

    @Test func auditLogThatCannotBeWrittenThrows() throws {
        let log = ConsentAuditLog(file: fixture.root.appendingPathComponent("missing-dir/consent-audit.jsonl"))
        let decision = try fixture.decide(fixture.request())
        #expect(throws: ConsentError.io) { try log.append(decision, for: fixture.request(), phase: .claim, at: Fixture.now) }
    }

    @Test func lastValidDayIsInclusive() throws {
        let terms = try fixture.terms(until: "2027-12-31T23:59:59Z")
        #expect(terms.lastValidDay.description == "2027-12-31")
        let cli = GrantTerms(
            twin: "t", licensee: "l", purposes: ["print"], territories: ["FR"], validFrom: Fixture.now,
            validUntil: try UTCDate.parseWindowBound("2027-12-31", field: "until", endOfDay: true), maxImages: 1, feeMinorUnits: 1,
            currency: "EUR")
        #expect(UTCDate.format(cli.validUntil) == "2028-01-01T00:00:00Z")
        #expect(cli.lastValidDay.description == "2027-12-31")
    }

    @Test func purposesComeFromOneVocabulary() throws {
        #expect(Purpose.tokens == ["social-media", "ecommerce", "campaign", "print", "editorial", "outdoor", "video"])
        #expect(throws: ConsentError.invalidValue) { try fixture.store.grant(fixture.terms(purposes: ["ecomerce"]), key: fixture.keys["anna"]!, at: Fixture.now) }
        try fixture.store.grant(fixture.terms(purposes: ["social-media"]), key: fixture.keys["anna"]!, at: Fixture.now)
    }
}
