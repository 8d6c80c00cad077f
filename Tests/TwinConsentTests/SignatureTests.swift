import Foundation
import Testing
@testable import TwinConsent

/// Forged or wrongly signed records, revocation authority and weight swaps.
@Suite struct SignatureTests {
    let fixture: Fixture
    init() throws { fixture = try Fixture() }

    @Test func labelRequirementIsSignedAndOnlySerialisedWhenSet() throws {
        var terms = try fixture.terms()
        let plain = try fixture.writeGrant(terms)
        #expect(plain.fields["requiresLabel"] == nil)
        terms.requiresLabel = true
        let labelled = try fixture.writeGrant(terms)
        let registry = try fixture.registry()
        #expect(registry.grants[labelled.uid]?.signatureVerifies == true)
        #expect(registry.grants[labelled.uid]?.grant.terms.requiresLabel == true)
        #expect(registry.grants[plain.uid]?.grant.terms.requiresLabel == false)
        // The same grant without the requirement, re-chained by an attacker, no longer verifies.
        var fields = labelled.fields
        fields["requiresLabel"] = nil
        fields["uid"] = .string("aaaaaaaa-0000-0000-0000-000000000000")
        guard case .grant(let stripped) = try LoggedRecord.parse(fields) else { Issue.record("not a grant"); return }
        try fixture.plant(.grant(stripped))
        #expect(try fixture.registry().grants[stripped.uid]?.signatureVerifies == false)
    }

    @Test func grantWithAnExtraFieldIsIgnoredAndReported() throws {
        var fields = try Grant.sign(fixture.terms(), assigner: "anna", key: fixture.keys["anna"]!, at: Fixture.now).fields
        fields["note"] = .string("x")
        let lines = try fixture.logLines()
        let head = try fixture.registry().head
        let (line, _) = RegistryLog.line(for: fields, after: head)
        try fixture.writeLog(lines + [String(decoding: line.dropLast(), as: UTF8.self)])
        let registry = try fixture.registry()
        #expect(registry.grants.isEmpty)
        #expect(registry.problems.first { $0.line == head.seq + 1 }?.message.contains("canonical form") == true)
    }

    @Test func licenseeSignedGrantIsRefused() throws {
        let grant = try fixture.writeGrant(fixture.terms(), signedBy: "acme")
        #expect(try fixture.decide(fixture.request()).denial?.code == .signerNotOwner)
        #expect(try fixture.registry().problems.contains { $0.message.contains(grant.uid) })
    }

    @Test func storeRefusesToSignForAnAgency() throws {
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.grant(fixture.terms(), key: fixture.keys["elite"]!, at: Fixture.now)
        }
        #expect(try fixture.registry().grants.isEmpty)
    }

    @Test func refusalComesFromTheMatchingGrantNotAnUnrelatedOne() throws {
        // An unrelated, sound grant for another licensee, and the matching grant signed by the agency.
        try fixture.writeGrant(fixture.terms(licensee: "globex"))
        let matching = try fixture.writeGrant(fixture.terms(), signedBy: "elite")
        let decision = try fixture.decide(fixture.request())
        #expect(decision.denial?.code == .signerNotOwner)
        #expect(decision.denial?.grantUID == matching.uid)
        // Same with a forged signature (a fresh registry).
        let other = try Fixture()
        try other.writeGrant(other.terms(licensee: "globex"))
        let forged = try Grant.sign(other.terms(), assigner: "anna", key: other.keys["acme"]!, at: Fixture.now)
        try other.store.write(forged)
        let second = try other.decide(other.request())
        #expect(second.denial?.code == .signatureInvalid)
        #expect(second.denial?.grantUID == forged.uid)
    }

    @Test func revocationByALicenseeOrAgencyIsIgnoredAndNotListedAsRevoked() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.revoke(grant: grant.uid, key: fixture.keys["acme"]!, at: Fixture.now)
        }
        // Appended anyway, bypassing the store: reported, not effective, not shown as revoked.
        for signer in ["acme", "elite"] {
            let head = try fixture.plant(.revocation(Revocation.sign(grant, signer: signer, key: fixture.keys[signer]!, at: Fixture.now)))
            #expect(try fixture.problems(atLine: head.seq).first?.contains("may not revoke") == true)
        }
        // Claims anna but signed by acme.
        let forged = try fixture.plant(.revocation(Revocation.sign(grant, signer: "anna", key: fixture.keys["acme"]!, at: Fixture.now)))
        #expect(try fixture.problems(atLine: forged.seq).first?.contains("does not verify") == true)
        let registry = try fixture.registry()
        #expect(registry.revocations.isEmpty)
        #expect(try fixture.decide(fixture.request()).grant == grant)
        #expect(registry.listGrants(at: Fixture.now) { _ in 0 }.first?.state == .valid)
        // The owner's revocation works and is listed (the forged copy of it above does not block it).
        try fixture.store.revoke(grant: grant.uid, key: fixture.keys["anna"]!, at: Fixture.now)
        #expect(try fixture.registry().listGrants(at: Fixture.now) { _ in 0 }.first?.state == .revoked)
    }

    @Test func swappedWeightFileIsRefusedForThatTwinOnly() throws {
        try fixture.writeGrant(fixture.terms())
        let otherWeights = fixture.root.appendingPathComponent("anna-v2.safetensors")
        try Data("anna twin weights v2".utf8).write(to: otherWeights)
        try fixture.store.registerTwin(id: "anna-v2", weightsFile: otherWeights, key: fixture.keys["anna"]!, at: Fixture.now)
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
        try Data("anna twin weights XX".utf8).write(to: fixture.weightsFile)
        #expect(try fixture.decide(request("anna-v1", fixture.weightsFile)).denial?.code == .twinWeightsMismatch)
        #expect(try fixture.decide(request("anna-v2", otherWeights)).grant != nil)
        try FileManager.default.removeItem(at: fixture.weightsFile)
        #expect(try fixture.decide(request("anna-v1", fixture.weightsFile)).denial?.code == .twinWeightsMismatch)
    }
}
