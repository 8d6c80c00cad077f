import Foundation
import Testing
@testable import TwinConsent

/// Tampering, wrong signers, estates, revocation authority and weight swaps.
@Suite struct SignatureTests {
    let fixture: Fixture
    init() throws { fixture = try Fixture() }

    @Test func everySingleByteEditOfAGrantBreaksIt() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        let file = fixture.store.directory.appendingPathComponent("grants/\(grant.uid).json")
        let original = try Data(contentsOf: file)
        #expect(try fixture.decide(fixture.request()).grant == grant)
        // Flip one bit of every byte in turn (the trailing newline excepted): each edit must
        // either make the file unreadable (no grant: consent.missing) or fail the signature.
        for index in 0..<(original.count - 1) {
            var edited = original
            edited[index] ^= 0x01
            try edited.write(to: file)
            let decision = try fixture.decide(fixture.request())
            #expect(decision.grant == nil, "byte \(index) edit still allowed")
            #expect([ConsentCode.signatureInvalid, .missing].contains(decision.denial?.code), "byte \(index)")
        }
        try original.write(to: file)
        #expect(try fixture.decide(fixture.request()).grant == grant)
    }

    @Test func labelRequirementIsSignedAndOnlySerialisedWhenSet() throws {
        var terms = try fixture.terms()
        let plain = try fixture.writeGrant(terms)
        #expect(!String(decoding: plain.fileBytes, as: UTF8.self).contains("requiresLabel"))
        terms.requiresLabel = true
        let labelled = try fixture.writeGrant(terms)
        let file = fixture.store.directory.appendingPathComponent("grants/\(labelled.uid).json")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.contains("\"requiresLabel\":true"))
        let registry = try fixture.store.load()
        #expect(registry.grants[labelled.uid]?.signatureVerifies == true)
        #expect(registry.grants[labelled.uid]?.grant.terms.requiresLabel == true)
        #expect(registry.grants[plain.uid]?.grant.terms.requiresLabel == false)
        // Dropping the requirement (or setting it false) breaks the signature.
        for edited in [text.replacingOccurrences(of: ",\"requiresLabel\":true", with: ""),
                       text.replacingOccurrences(of: "\"requiresLabel\":true", with: "\"requiresLabel\":false")] {
            try edited.write(to: file, atomically: true, encoding: .utf8)
            #expect(try fixture.store.load().grants[labelled.uid]?.signatureVerifies == false, "\(edited)")
        }
    }

    @Test func reformattedOrExtendedGrantIsNotCanonical() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        let file = fixture.store.directory.appendingPathComponent("grants/\(grant.uid).json")
        let text = try String(contentsOf: file, encoding: .utf8)
        for edited in [
            text.replacingOccurrences(of: ",", with: ", "),
            text.replacingOccurrences(of: "{\"assignee\"", with: "{\"note\":\"x\",\"assignee\""),
        ] {
            try edited.write(to: file, atomically: true, encoding: .utf8)
            #expect(try fixture.decide(fixture.request()).denial?.code == .signatureInvalid)
        }
    }

    @Test func grantSignedWithAnotherKeyUnderTheOwnersName() throws {
        // Forged: claims anna as assigner but signed with the agency's key.
        let forged = try Grant.sign(fixture.terms(), assigner: "anna", key: fixture.keys["elite"]!, at: Fixture.now)
        try fixture.store.write(forged)
        #expect(try fixture.decide(fixture.request()).denial?.code == .signatureInvalid)
    }

    @Test func licenseeSignedGrantIsRefused() throws {
        try fixture.writeGrant(fixture.terms(), signedBy: "acme")
        #expect(try fixture.decide(fixture.request()).denial?.code == .signerNotOwner)
    }

    @Test func storeRefusesToSignForAnAgency() throws {
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.grant(fixture.terms(), key: fixture.keys["elite"]!, at: Fixture.now)
        }
    }

    @Test func deceasedTwinNeedsTheEstatesSignature() throws {
        let annas = try fixture.store.grant(fixture.terms(), key: fixture.keys["anna"]!, at: Fixture.now)
        try fixture.store.setStatus(twin: "anna-v1", to: .deceased, key: fixture.keys["anna-estate"]!, at: Fixture.now)
        let refused = try fixture.decide(fixture.request())
        #expect(refused.denial?.code == .signerNotOwner)
        #expect(refused.denial?.grantUID == annas.uid)
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.grant(fixture.terms(), key: fixture.keys["anna"]!, at: Fixture.now)
        }
        let estates = try fixture.store.grant(fixture.terms(), key: fixture.keys["anna-estate"]!, at: Fixture.now)
        #expect(try fixture.decide(fixture.request()).grant == estates)
    }

    @Test func estateCannotSignForALivingModel() throws {
        try fixture.writeGrant(fixture.terms(), signedBy: "anna-estate")
        #expect(try fixture.decide(fixture.request()).denial?.code == .signerNotOwner)
    }

    @Test func revocationByTheLicenseeIsRefusedAndAForgedOneIgnored() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.revoke(grant: grant.uid, key: fixture.keys["acme"]!, at: Fixture.now)
        }
        // Written anyway, bypassing the store: not effective.
        let byLicensee = try Revocation.sign(grant, signer: "acme", key: fixture.keys["acme"]!, at: Fixture.now)
        let file = fixture.store.directory.appendingPathComponent("revocations/\(grant.uid).json")
        try Data(byLicensee.fileBytes).write(to: file)
        #expect(try fixture.decide(fixture.request()).grant == grant)
        // Claims anna but signed by acme: reported as a registry problem, not effective.
        let forged = try Revocation.sign(grant, signer: "anna", key: fixture.keys["acme"]!, at: Fixture.now)
        try Data(forged.fileBytes).write(to: file)
        let registry = try fixture.registry()
        #expect(registry.problems.map(\.file) == ["revocations/\(grant.uid).json"])
        #expect(try fixture.decide(fixture.request()).grant == grant)
    }

    @Test func tamperedStatusChangeRefusesTheTwin() throws {
        try fixture.writeGrant(fixture.terms())
        try fixture.store.setStatus(twin: "anna-v1", to: .suspended, key: fixture.keys["anna"]!, at: Fixture.now)
        let file = fixture.store.directory.appendingPathComponent("twins/anna-v1.json")
        let text = try String(contentsOf: file, encoding: .utf8)
        try text.replacingOccurrences(of: "\"suspended\"", with: "\"active\"").write(to: file, atomically: true, encoding: .utf8)
        #expect(try fixture.decide(fixture.request()).denial?.code == .signatureInvalid)
    }

    @Test func swappedWeightFileIsRefusedForThatTwinOnly() throws {
        try fixture.writeGrant(fixture.terms())
        // A second twin with its own weights and grant.
        let otherWeights = fixture.root.appendingPathComponent("anna-v2.safetensors")
        try Data("anna twin weights v2".utf8).write(to: otherWeights)
        try fixture.store.registerTwin(id: "anna-v2", owner: "anna", weightsFile: otherWeights, at: Fixture.now)
        var terms = try fixture.terms()
        terms.twin = "anna-v2"
        try fixture.writeGrant(terms)

        let cache = WeightsDigestCache()
        func request(_ twin: String, _ file: URL) throws -> ConsentRequest {
            try ConsentRequest(
                job: "j-\(twin)", twin: twin, licensee: "acme", purpose: "ecommerce", territory: "FR", count: 1,
                twinWeightsSHA256: cache.sha256(of: file))
        }
        #expect(try fixture.decide(request("anna-v1", fixture.weightsFile)).grant != nil)
        // Swap the file behind the path (same size, new content).
        try Data("anna twin weights XX".utf8).write(to: fixture.weightsFile)
        #expect(try fixture.decide(request("anna-v1", fixture.weightsFile)).denial?.code == .twinWeightsMismatch)
        #expect(try fixture.decide(request("anna-v2", otherWeights)).grant != nil)
        try FileManager.default.removeItem(at: fixture.weightsFile)
        #expect(try fixture.decide(request("anna-v1", fixture.weightsFile)).denial?.code == .twinWeightsMismatch)
    }
}
