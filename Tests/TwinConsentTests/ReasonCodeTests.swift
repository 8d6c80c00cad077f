import Foundation
import Testing
@testable import TwinConsent

/// One test per reason code, plus the allowed path, at the library level.
@Suite struct ReasonCodeTests {
    let fixture: Fixture
    init() throws { fixture = try Fixture() }

    private func code(_ decision: ConsentDecision) -> ConsentCode? { decision.denial?.code }

    @Test func allowsAMatchingGrantAndNamesIt() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        let decision = try fixture.decide(fixture.request(count: 3, tags: ["studio"]), used: 97)
        #expect(decision == .allowed(grant))
        #expect(decision.grant?.sha256.count == 64)
    }

    @Test func missing() throws {
        #expect(code(try fixture.decide(fixture.request())) == .missing)
    }

    @Test func notYetValid() throws {
        try fixture.writeGrant(fixture.terms(from: "2026-07-01", until: "2026-08-01"))
        #expect(code(try fixture.decide(fixture.request())) == .notYetValid)
    }

    @Test func expired() throws {
        try fixture.writeGrant(fixture.terms(from: "2026-01-01", until: "2026-06-01"))
        let decision = try fixture.decide(fixture.request())
        #expect(code(decision) == .expired)
        // The window's end is exclusive, its start inclusive.
        #expect(try fixture.decide(fixture.request(), at: UTCDate.parse("2026-05-31T23:59:59Z", field: "t")).grant != nil)
        #expect(try fixture.decide(fixture.request(), at: UTCDate.parse("2026-01-01T00:00:00Z", field: "t")).grant != nil)
    }

    @Test func revoked() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        try fixture.store.revoke(grant: grant.uid, key: fixture.keys["anna"]!, at: Fixture.now)
        let decision = try fixture.decide(fixture.request())
        #expect(code(decision) == .revoked)
        #expect(decision.denial?.grantUID == grant.uid)
    }

    @Test func licenseeMismatch() throws {
        try fixture.writeGrant(fixture.terms(licensee: "globex"))
        #expect(code(try fixture.decide(fixture.request())) == .licenseeMismatch)
    }

    @Test func purposeNotAllowed() throws {
        try fixture.writeGrant(fixture.terms(purposes: ["editorial"]))
        #expect(code(try fixture.decide(fixture.request(purpose: "advertising"))) == .purposeNotAllowed)
    }

    @Test func territoryNotAllowed() throws {
        try fixture.writeGrant(fixture.terms(territories: ["FR"]))
        #expect(code(try fixture.decide(fixture.request(territory: "US"))) == .territoryNotAllowed)
        // A request for the whole EU needs every member state.
        #expect(code(try fixture.decide(fixture.request(territory: "EU"))) == .territoryNotAllowed)
    }

    @Test func euExpandsToMemberStates() throws {
        try fixture.writeGrant(fixture.terms(territories: ["EU"]))
        #expect(try fixture.decide(fixture.request(territory: "PL")).grant != nil)
        #expect(try fixture.decide(fixture.request(territory: "EU")).grant != nil)
        #expect(code(try fixture.decide(fixture.request(territory: "GB"))) == .territoryNotAllowed)
        #expect(code(try fixture.decide(fixture.request(territory: "CH"))) == .territoryNotAllowed)
    }

    @Test func quotaExhausted() throws {
        try fixture.writeGrant(fixture.terms(maxImages: 10))
        #expect(try fixture.decide(fixture.request(count: 2), used: 8).grant != nil)
        #expect(code(try fixture.decide(fixture.request(count: 3), used: 8)) == .quotaExhausted)
    }

    @Test func prohibitedContent() throws {
        try fixture.writeGrant(fixture.terms(prohibited: ["lingerie", "swimwear"]))
        #expect(code(try fixture.decide(fixture.request(tags: ["beach", "swimwear"]))) == .prohibitedContent)
        #expect(code(try fixture.decide(fixture.request(tags: ["SwimWear"]))) == .prohibitedContent)
    }

    @Test func signatureInvalid() throws {
        // Claims anna as assigner, signed with the agency's key, appended with a valid chain.
        let forged = try Grant.sign(fixture.terms(), assigner: "anna", key: fixture.keys["elite"]!, at: Fixture.now)
        try fixture.store.write(forged)
        let decision = try fixture.decide(fixture.request())
        #expect(code(decision) == .signatureInvalid)
        #expect(decision.denial?.grantUID == forged.uid)
    }

    @Test func superseded() throws {
        let old = try fixture.writeGrant(fixture.terms())
        let new = try fixture.store.grant(fixture.terms(licensee: "globex"), key: fixture.keys["anna"]!, at: Fixture.now, supersedes: old.uid)
        let decision = try fixture.decide(fixture.request())
        #expect(code(decision) == .superseded)
        #expect(decision.denial?.message.contains(new.uid) == true)
    }

    @Test func signerNotOwner() throws {
        try fixture.writeGrant(fixture.terms(), signedBy: "elite")
        let decision = try fixture.decide(fixture.request())
        #expect(code(decision) == .signerNotOwner)
        #expect(decision.denial?.message.contains("agency 'elite'") == true)
    }

    @Test func twinUnknown() throws {
        let request = try ConsentRequest(
            job: "j", twin: "nobody", licensee: "acme", purpose: "ecommerce", territory: "FR", count: 1, twinWeightsSHA256: nil)
        #expect(code(try fixture.decide(request)) == .twinUnknown)
    }

    @Test func twinSuspended() throws {
        try fixture.writeGrant(fixture.terms())
        try fixture.store.setStatus(twin: "anna-v1", to: .suspended, key: fixture.keys["anna"]!, at: Fixture.now)
        #expect(code(try fixture.decide(fixture.request())) == .twinSuspended)
        try fixture.store.setStatus(twin: "anna-v1", to: .active, key: fixture.keys["anna"]!, at: Fixture.now.addingTimeInterval(1))
        #expect(try fixture.decide(fixture.request()).grant != nil)
    }

    @Test func twinWeightsMismatch() throws {
        try fixture.writeGrant(fixture.terms())
        let other = String(repeating: "0", count: 64)
        #expect(code(try fixture.decide(fixture.request(weights: .some(other)))) == .twinWeightsMismatch)
        #expect(code(try fixture.decide(fixture.request(weights: .some(nil)))) == .twinWeightsMismatch)
    }

    @Test func codesAreExactlyTheIssueList() {
        #expect(Set(ConsentCode.allCases.map(\.rawValue)) == [
            "consent.missing", "consent.not_yet_valid", "consent.expired", "consent.revoked", "consent.licensee_mismatch",
            "consent.purpose_not_allowed", "consent.territory_not_allowed", "consent.quota_exhausted",
            "consent.prohibited_content", "consent.signature_invalid", "consent.signer_not_owner", "consent.twin_unknown",
            "consent.twin_suspended", "consent.twin_weights_mismatch", "consent.superseded", "consent.registry_untrusted",
        ])
    }
}
