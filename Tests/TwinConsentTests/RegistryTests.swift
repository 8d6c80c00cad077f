import Foundation
import Testing
@testable import TwinConsent

/// Loading, damaged files, change detection, the audit log.
@Suite struct RegistryTests {
    let fixture: Fixture
    init() throws { fixture = try Fixture() }

    @Test func damagedFilesAreReportedAndTheRestIsUsed() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        let dir = fixture.store.directory
        try Data("{".utf8).write(to: dir.appendingPathComponent("grants/00000000-0000-0000-0000-000000000000.json"))
        try Data("{\"id\":\"x\"}".utf8).write(to: dir.appendingPathComponent("parties/x.json"))
        try FileManager.default.createSymbolicLink(
            at: dir.appendingPathComponent("twins/link.json"), withDestinationURL: dir.appendingPathComponent("twins/anna-v1.json"))
        let registry = try fixture.registry()
        #expect(registry.problems.map(\.file).sorted() == [
            "grants/00000000-0000-0000-0000-000000000000.json", "parties/x.json", "twins/link.json",
        ])
        #expect(registry.twins["link"] == nil)
        #expect(try fixture.decide(fixture.request()).grant == grant)
    }

    @Test func fileNamedAfterAnotherIdIsRefused() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        let dir = fixture.store.directory.appendingPathComponent("grants")
        try FileManager.default.moveItem(
            at: dir.appendingPathComponent("\(grant.uid).json"), to: dir.appendingPathComponent("renamed.json"))
        let registry = try fixture.registry()
        #expect(registry.grants.isEmpty)
        #expect(registry.problems.map(\.file) == ["grants/renamed.json"])
    }

    @Test func missingDirectoryThrows() {
        #expect(throws: ConsentError.notFound) { try ConsentRegistry.load(directory: fixture.root.appendingPathComponent("nope")) }
    }

    @Test func cacheRereadsWhenTheRegistryChanges() throws {
        let cache = ConsentRegistryCache(directory: fixture.store.directory)
        let before = RegistryFingerprint.compute(directory: fixture.store.directory)
        #expect(try cache.current().grants.isEmpty)
        let grant = try fixture.writeGrant(fixture.terms())
        #expect(RegistryFingerprint.compute(directory: fixture.store.directory) != before)
        #expect(try cache.current().grants.keys.sorted() == [grant.uid])
        try fixture.store.revoke(grant: grant.uid, key: fixture.keys["anna"]!, at: Fixture.now)
        #expect(try cache.current().evaluate(fixture.request(), at: Fixture.now) { _ in 0 }.denial?.code == .revoked)
        try fixture.store.setStatus(twin: "anna-v1", to: .suspended, key: fixture.keys["anna"]!, at: Fixture.now)
        #expect(try cache.current().status(ofTwin: "anna-v1") == .suspended)
    }

    @Test func partiesAreValidatedAndNotSilentlyReplaced() throws {
        let key = PartyKey.generate()
        #expect(throws: ConsentError.invalidValue) { try Party(id: "../x", role: .model, publicKey: key.publicKeyBase64) }
        #expect(throws: ConsentError.invalidValue) { try Party(id: "e", role: .estate, publicKey: key.publicKeyBase64) }
        #expect(throws: ConsentError.invalidValue) { try Party(id: "m", role: .model, publicKey: "AAAA") }
        #expect(throws: ConsentError.alreadyExists) {
            try fixture.store.addParty(Party(id: "anna", role: .model, publicKey: key.publicKeyBase64))
        }
        #expect(throws: ConsentError.alreadyExists) {
            try fixture.store.addParty(Party(id: "anna2", role: .model, publicKey: fixture.keys["anna"]!.publicKeyBase64))
        }
        #expect(throws: ConsentError.notFound) {
            try fixture.store.addParty(Party(id: "e", role: .estate, publicKey: key.publicKeyBase64, estateOf: "acme"))
        }
        // Same record again: fine.
        try fixture.store.addParty(Party(id: "acme", role: .licensee, publicKey: fixture.keys["acme"]!.publicKeyBase64))
    }

    @Test func twinsNeedAModelOwnerAndAreRegisteredOnce() throws {
        #expect(throws: ConsentError.notFound) {
            try fixture.store.registerTwin(id: "t2", owner: "elite", weightsFile: fixture.weightsFile, at: Fixture.now)
        }
        #expect(throws: ConsentError.alreadyExists) {
            try fixture.store.registerTwin(id: "anna-v1", owner: "anna", weightsFile: fixture.weightsFile, at: Fixture.now)
        }
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.setStatus(twin: "anna-v1", to: .suspended, key: fixture.keys["elite"]!, at: Fixture.now)
        }
        #expect(throws: ConsentError.keyNotRegistered) {
            try fixture.store.setStatus(twin: "anna-v1", to: .suspended, key: PartyKey.generate(), at: Fixture.now)
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
        #expect(throws: ConsentError.alreadyExists) { try key.write(party: "zoe", to: dir) }
        #expect(throws: ConsentError.malformedFile) { try PartyKey.load(from: publicURL.deletingLastPathComponent().appendingPathComponent("../anna-v1.safetensors")) }
    }

    @Test func auditLogRecordsAllowAndDeny() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        let log = ConsentAuditLog(file: fixture.root.appendingPathComponent("consent-audit.jsonl"))
        let allowed = try fixture.decide(fixture.request(job: "ok"))
        let denied = try fixture.decide(fixture.request(job: "no", licensee: "globex"))
        try log.append(allowed, for: fixture.request(job: "ok"), phase: .claim, at: Fixture.now)
        try log.append(denied, for: fixture.request(job: "no", licensee: "globex"), phase: .delivery, at: Fixture.now)
        let entries = try log.entries()
        #expect(entries.count == 2)
        #expect(entries[0].decision == "allow" && entries[0].grant == grant.uid && entries[0].grantSHA256 == grant.sha256)
        #expect(entries[0].code == nil && entries[0].time == "2026-06-01T12:00:00Z")
        #expect(entries[1].decision == "deny" && entries[1].code == "consent.licensee_mismatch" && entries[1].grant == grant.uid)
        #expect(entries[1].phase == .delivery && entries[1].licensee == "globex")
    }
}
