import Foundation
import Testing
@testable import TwinConsent

/// Which grant is chosen, and which refusal is reported, when a twin has several grants.
@Suite struct SelectionTests {
    let fixture: Fixture
    init() throws { fixture = try Fixture() }

    @Test func mostSpecificValidGrantWins() throws {
        try fixture.writeGrant(fixture.terms(territories: ["EU"]))
        let narrow = try fixture.writeGrant(fixture.terms(territories: ["FR"]))
        try fixture.writeGrant(fixture.terms(purposes: ["ecommerce"], territories: ["FR", "BE"]))
        #expect(try fixture.decide(fixture.request(territory: "FR")).grant == narrow)
    }

    @Test func fewerPurposesThenShorterWindowBreakTies() throws {
        try fixture.writeGrant(fixture.terms(purposes: ["ecommerce", "editorial"], territories: ["FR"]))
        let onePurposeLong = try fixture.writeGrant(fixture.terms(purposes: ["ecommerce"], territories: ["FR"]))
        #expect(try fixture.decide(fixture.request()).grant == onePurposeLong)
        let onePurposeShort = try fixture.writeGrant(
            fixture.terms(purposes: ["ecommerce"], territories: ["FR"], from: "2026-05-01", until: "2026-07-01"))
        #expect(try fixture.decide(fixture.request()).grant == onePurposeShort)
    }

    @Test func exhaustedSpecificGrantFallsBackToBroaderOne() throws {
        let broad = try fixture.writeGrant(fixture.terms(territories: ["EU"], maxImages: 50))
        let narrow = try fixture.writeGrant(fixture.terms(territories: ["FR"], maxImages: 5))
        let registry = try fixture.registry()
        let usage = [narrow.uid: 5, broad.uid: 10]
        #expect(registry.evaluate(try fixture.request(), at: Fixture.now) { usage[$0] ?? 0 }.grant == broad)
    }

    @Test func closestGrantNamesTheRefusal() throws {
        // One grant for another licensee, one for acme but revoked: acme hears "revoked".
        try fixture.writeGrant(fixture.terms(licensee: "globex"))
        let acmes = try fixture.writeGrant(fixture.terms())
        try fixture.store.revoke(grant: acmes.uid, key: fixture.keys["anna"]!, at: Fixture.now)
        let decision = try fixture.decide(fixture.request())
        #expect(decision.denial?.code == .revoked)
        #expect(decision.denial?.grantUID == acmes.uid)
        // And a third licensee hears "licensee mismatch".
        let other = try ConsentRequest(
            job: "j", twin: "anna-v1", licensee: "initech", purpose: "ecommerce", territory: "FR", count: 1,
            twinWeightsSHA256: fixture.weightsSHA256)
        #expect(try fixture.decide(other).denial?.code == .licenseeMismatch)
    }

    @Test func grantWithInvalidTermsIsNoConsent() throws {
        var terms = try fixture.terms()
        terms.commissionBasisPoints = 2500
        #expect(throws: ConsentError.invalidValue) { try Grant.sign(terms, assigner: "anna", key: fixture.keys["anna"]!, at: Fixture.now) }
        terms.commissionBasisPoints = 2000
        terms.paymentDays = 46
        #expect(throws: ConsentError.invalidValue) { try terms.validate() }
        terms.paymentDays = 45
        terms.purposes = []
        #expect(throws: ConsentError.invalidValue) { try terms.validate() }
    }

    @Test func listingShowsStatesAndUsage() throws {
        let valid = try fixture.writeGrant(fixture.terms(maxImages: 10))
        let expired = try fixture.writeGrant(fixture.terms(from: "2025-01-01", until: "2026-01-01"))
        let exhausted = try fixture.writeGrant(fixture.terms(maxImages: 3))
        let revoked = try fixture.writeGrant(fixture.terms())
        try fixture.store.revoke(grant: revoked.uid, key: fixture.keys["anna"]!, at: Fixture.now)
        let agency = try fixture.writeGrant(fixture.terms(), signedBy: "elite")
        let usage = [valid.uid: 4, exhausted.uid: 3]
        let listing = try fixture.registry().listGrants(at: Fixture.now) { usage[$0] ?? 0 }
        let states = Dictionary(uniqueKeysWithValues: listing.map { ($0.grant.uid, $0.state) })
        #expect(states == [valid.uid: .valid, expired.uid: .expired, exhausted.uid: .exhausted, revoked.uid: .revoked, agency.uid: .invalid])
        #expect(listing.first { $0.grant.uid == valid.uid }?.remaining == 6)
        #expect(listing.first { $0.grant.uid == agency.uid }?.problem?.contains("agency 'elite'") == true)
    }
}
