import Foundation
import Testing
@testable import TwinConsent

/// The attacks of issue 12 by someone who can write the registry directory (or holds one key):
/// each must leave consent exactly where the entitled parties put it.
@Suite struct TrustTests {
    let fixture: Fixture
    init() throws { fixture = try Fixture() }

    private var anna: PartyKey { fixture.keys["anna"]! }
    private var estate: PartyKey { fixture.keys["anna-estate"]! }

    /// Registers another party with the real registrar.
    @discardableResult
    private func register(_ id: String, _ role: PartyRole) throws -> PartyKey {
        let key = PartyKey.generate()
        try fixture.store.registerParty(id: id, role: role, publicKey: key.publicKeyBase64, registrarKey: fixture.registrar, at: Fixture.now)
        fixture.keys[id] = key
        return key
    }

    private func attestDeath() throws {
        try fixture.store.attestDeath(model: "anna", diedOn: "2026-05-30", registrarKey: fixture.registrar, at: Fixture.now)
    }

    // MARK: Parties and the registrar

    @Test func partyRecordNotSignedByATrustAnchorIsIgnored() throws {
        let mallory = PartyKey.generate()
        // Mallory signs a party record for "anna" with her own key as "registrar".
        let head = try fixture.plant(.party(Party.sign(id: "anna", role: .model, publicKey: mallory.publicKeyBase64, registrarKey: mallory, at: Fixture.now)))
        #expect(try fixture.problems(atLine: head.seq).first?.contains("not signed by a trust anchor") == true)
        let registry = try fixture.registry()
        #expect(registry.parties["anna"]?.publicKey == anna.publicKeyBase64)
        // A grant she signs in anna's name does not verify.
        let forged = try Grant.sign(fixture.terms(), assigner: "anna", key: mallory, at: Fixture.now)
        try fixture.store.write(forged)
        #expect(try fixture.decide(fixture.request()).denial?.code == .signatureInvalid)
        // The store refuses the same record.
        #expect(throws: ConsentError.notAuthorized) {
            try RegistryStore(directory: fixture.store.directory, trustAnchors: [fixture.registrar.publicKeyBase64])
                .registerParty(id: "mallory", role: .model, publicKey: PartyKey.generate().publicKeyBase64, registrarKey: mallory, at: Fixture.now)
        }
    }

    @Test func noTrustAnchorsMeansNoParties() throws {
        try fixture.writeGrant(fixture.terms())
        let registry = try ConsentRegistry.load(directory: fixture.store.directory, trustAnchors: [], at: Fixture.now)
        #expect(registry.parties.isEmpty && registry.twins.isEmpty)
        #expect(registry.evaluate(try fixture.request(), at: Fixture.now) { _ in 0 }.denial?.code == .twinUnknown)
    }

    @Test func registrarCanNeverSignConsent() throws {
        // A grant in anna's name signed with the registrar key.
        let grant = try Grant.sign(fixture.terms(), assigner: "anna", key: fixture.registrar, at: Fixture.now)
        try fixture.store.write(grant)
        #expect(try fixture.decide(fixture.request()).denial?.code == .signatureInvalid)
        // Nor can the registrar key become a party key.
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.registerParty(
                id: "desk", role: .model, publicKey: fixture.registrar.publicKeyBase64, registrarKey: fixture.registrar, at: Fixture.now)
        }
        // Nor can it sign a twin.
        let twin = try TwinRecord.sign(
            id: "fake-v1", owner: "anna", weightsSHA256: fixture.weightsSHA256, weightsFile: "/x", key: fixture.registrar, at: Fixture.now)
        try fixture.plant(.twin(twin))
        #expect(try fixture.registry().twins["fake-v1"] == nil)
    }

    @Test func keyRotationRefusesRecordsSignedWithTheOldKeyAfterIt() throws {
        let before = try fixture.writeGrant(fixture.terms(territories: ["FR"]))
        let newKey = PartyKey.generate()
        try fixture.store.rotateParty(id: "anna", publicKey: newKey.publicKeyBase64, registrarKey: fixture.registrar, at: Fixture.now)
        // Signed with the old key after the rotation: refused.
        let stale = try fixture.writeGrant(fixture.terms(territories: ["DE"]))
        let registry = try fixture.registry()
        #expect(registry.grants[stale.uid]?.signatureVerifies == false)
        #expect(registry.evaluate(try fixture.request(territory: "DE"), at: Fixture.now) { _ in 0 }.denial?.code == .signatureInvalid)
        // Signed before it: still valid. Signed with the new key: valid.
        #expect(registry.evaluate(try fixture.request(), at: Fixture.now) { _ in 0 }.grant == before)
        #expect(throws: ConsentError.keyNotRegistered) { try fixture.store.setStatus(twin: "anna-v1", to: .suspended, key: anna, at: Fixture.now) }
        try fixture.store.setStatus(twin: "anna-v1", to: .suspended, key: newKey, at: Fixture.now)
        #expect(try fixture.registry().status(ofTwin: "anna-v1") == .suspended)
        // The old key can never be handed to another party.
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.registerParty(id: "anna2", role: .model, publicKey: anna.publicKeyBase64, registrarKey: fixture.registrar, at: Fixture.now)
        }
    }

    @Test func hostKeysKeepRotatedKeys() throws {
        let old = fixture.keys["render-01"]!.publicKeyBase64
        let new = PartyKey.generate().publicKeyBase64
        try fixture.store.rotateParty(id: "render-01", publicKey: new, registrarKey: fixture.registrar, at: Fixture.now)
        #expect(try fixture.registry().hostKeys == ["render-01": [old, new]])
        // A rotation cannot change the role.
        let head = try fixture.plant(.party(Party.sign(
            id: "render-01", role: .model, publicKey: PartyKey.generate().publicKeyBase64, registrarKey: fixture.registrar, at: Fixture.now)))
        #expect(try fixture.problems(atLine: head.seq).first?.contains("cannot make it a model") == true)
    }

    // MARK: Estates and death

    @Test func selfDeclaredEstateHasNoPower() throws {
        let fake = try register("fake-estate", .estate)
        // The fake estate "designates" itself, signing in anna's name with its own key.
        let designation = try fixture.plant(.estate(EstateDesignation.sign(model: "anna", estate: "fake-estate", key: fake, at: Fixture.now)))
        #expect(try fixture.problems(atLine: designation.seq).first?.contains("does not verify") == true)
        // The store refuses it too (the key is not anna's).
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.designateEstate(model: "anna", estate: "fake-estate", key: fake, at: Fixture.now)
        }
        try attestDeath()
        let registry = try fixture.registry()
        #expect(registry.estates["anna"] == "anna-estate")
        #expect(registry.consentSigner(for: "anna") == "anna-estate")
        try fixture.writeGrant(fixture.terms(), signedBy: "fake-estate")
        #expect(try fixture.decide(fixture.request()).denial?.code == .signerNotOwner)
    }

    @Test func onlyTheDesignatedEstateActsAfterDeath() throws {
        try register("fake-estate", .estate)
        try attestDeath()
        // An estate anna never designated cannot grant, revoke or change status.
        try fixture.writeGrant(fixture.terms(), signedBy: "fake-estate")
        #expect(try fixture.decide(fixture.request()).denial?.code == .signerNotOwner)
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.setStatus(twin: "anna-v1", to: .suspended, key: fixture.keys["fake-estate"]!, at: Fixture.now)
        }
        // Nor can anyone designate an estate for her after her death (her own key included).
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.designateEstate(model: "anna", estate: "fake-estate", key: anna, at: Fixture.now)
        }
        // The designated estate can.
        let grant = try fixture.store.grant(fixture.terms(), key: estate, at: Fixture.now)
        #expect(try fixture.decide(fixture.request()).grant == grant)
    }

    @Test func estateHasNoPowerWhileTheModelLives() throws {
        let annas = try fixture.writeGrant(fixture.terms())
        #expect(throws: ConsentError.notAuthorized) { try fixture.store.grant(fixture.terms(), key: estate, at: Fixture.now) }
        #expect(throws: ConsentError.notAuthorized) { try fixture.store.revoke(grant: annas.uid, key: estate, at: Fixture.now) }
        #expect(throws: ConsentError.notAuthorized) { try fixture.store.setStatus(twin: "anna-v1", to: .suspended, key: estate, at: Fixture.now) }
        // Planted anyway: all ignored.
        try fixture.writeGrant(fixture.terms(licensee: "globex"), signedBy: "anna-estate")
        try fixture.plant(.revocation(Revocation.sign(annas, signer: "anna-estate", key: estate, at: Fixture.now)))
        try fixture.plant(.status(TwinStatusChange(twin: "anna-v1", status: .suspended, at: Fixture.now, signer: "anna-estate", key: estate)))
        let registry = try fixture.registry()
        #expect(registry.status(ofTwin: "anna-v1") == .active)
        #expect(registry.revocations.isEmpty)
        #expect(try fixture.decide(fixture.request()).grant == annas)
        #expect(try fixture.decide(fixture.request(licensee: "globex")).denial?.code == .signerNotOwner)
    }

    @Test func deathIsOnlyRecordedByTheRegistrar() throws {
        // The estate (or anyone) signing a death attestation with its own key: ignored.
        let head = try fixture.plant(.death(DeathAttestation.sign(model: "anna", diedOn: "2026-05-01", registrarKey: estate, at: Fixture.now)))
        #expect(try fixture.problems(atLine: head.seq).first?.contains("trust anchor") == true)
        #expect(try fixture.registry().status(ofTwin: "anna-v1") == .active)
        #expect(throws: ConsentError.notAuthorized) { try fixture.store.grant(fixture.terms(), key: estate, at: Fixture.now) }
    }

    @Test func grantsAtDeath() throws {
        let living = try fixture.store.grant(fixture.terms(), key: anna, at: Fixture.now)
        try attestDeath()
        let registry = try fixture.registry()
        #expect(registry.status(ofTwin: "anna-v1") == .deceased)
        // Her grants keep running to their end ...
        #expect(registry.evaluate(try fixture.request(), at: Fixture.now) { _ in 0 }.grant == living)
        // ... her own key signs nothing new ...
        #expect(throws: ConsentError.notAuthorized) { try fixture.store.grant(fixture.terms(licensee: "globex"), key: anna, at: Fixture.now) }
        // ... and the estate may revoke them and grant new ones.
        try fixture.store.revoke(grant: living.uid, key: estate, at: Fixture.now)
        #expect(try fixture.decide(fixture.request()).denial?.code == .revoked)
        let estates = try fixture.store.grant(fixture.terms(), key: estate, at: Fixture.now)
        #expect(try fixture.decide(fixture.request()).grant == estates)
        // A second attestation is ignored.
        #expect(throws: ConsentError.notAuthorized) { try attestDeath() }
    }

    // MARK: Status

    @Test func farFutureStatusIsRefusedAndStatusFollowsLogOrder() throws {
        try fixture.writeGrant(fixture.terms())
        let future = Date().addingTimeInterval(365 * 86_400)
        #expect(throws: ConsentError.notAuthorized) { try fixture.store.setStatus(twin: "anna-v1", to: .active, key: anna, at: future) }
        // Planted: an "active" dated a year ahead, then a real suspension.
        let planted = try fixture.plant(.status(TwinStatusChange(twin: "anna-v1", status: .active, at: future, signer: "anna", key: anna)))
        let now = Date()
        let registry = try ConsentRegistry.load(directory: fixture.store.directory, trustAnchors: [fixture.registrar.publicKeyBase64], at: now)
        #expect(registry.problems.first { $0.line == planted.seq }?.message.contains("in the future") == true)
        // A suspension dated a few minutes ahead (within the skew) is overridden by a later
        // activation dated earlier: log order decides, not dates.
        try fixture.store.setStatus(twin: "anna-v1", to: .suspended, key: anna, at: now.addingTimeInterval(240))
        #expect(try fixture.store.load().status(ofTwin: "anna-v1") == .suspended)
        try fixture.store.setStatus(twin: "anna-v1", to: .active, key: anna, at: now.addingTimeInterval(-3600))
        #expect(try fixture.store.load().status(ofTwin: "anna-v1") == .active)
    }

    @Test func replayedOldRecordsAreIgnored() throws {
        let active = try fixture.store.setStatus(twin: "anna-v1", to: .active, key: anna, at: Fixture.now)
        try fixture.store.setStatus(twin: "anna-v1", to: .suspended, key: anna, at: Fixture.now)
        // The attacker re-appends the old "active", correctly chained.
        let head = try fixture.plant(.status(active))
        #expect(try fixture.problems(atLine: head.seq).first?.contains("replay") == true)
        #expect(try fixture.registry().status(ofTwin: "anna-v1") == .suspended)
        // Same for an old estate designation after a new one.
        let old = try fixture.registry().head
        try register("new-estate", .estate)
        try fixture.store.designateEstate(model: "anna", estate: "new-estate", key: anna, at: Fixture.now)
        let first = try fixture.record(atLine: 7)
        guard case .estate = first else { Issue.record("line 7 is not the designation"); return }
        let replay = try fixture.plant(first)
        #expect(try fixture.problems(atLine: replay.seq).first?.contains("replay") == true)
        #expect(try fixture.registry().estates["anna"] == "new-estate")
        #expect(old.seq > 0)
    }

    @Test func deceasedIsNeverASignedStatus() throws {
        #expect(throws: ConsentError.invalidValue) {
            try TwinStatusChange(twin: "anna-v1", status: .deceased, at: Fixture.now, signer: "anna", key: anna)
        }
    }

    // MARK: Twins

    @Test func twinOwnerCannotBeRepointed() throws {
        let mallory = try register("mallory", .model)
        try fixture.writeGrant(fixture.terms())
        // Mallory signs a twin record for anna-v1 naming herself.
        let record = try TwinRecord.sign(
            id: "anna-v1", owner: "mallory", weightsSHA256: fixture.weightsSHA256, weightsFile: "/x", key: mallory, at: Fixture.now)
        let head = try fixture.plant(.twin(record))
        #expect(try fixture.problems(atLine: head.seq).first?.contains("cannot be changed") == true)
        // A record naming anna but signed by mallory.
        let forged = try TwinRecord.sign(
            id: "anna-v2", owner: "anna", weightsSHA256: fixture.weightsSHA256, weightsFile: "/x", key: mallory, at: Fixture.now)
        try fixture.plant(.twin(forged))
        let registry = try fixture.registry()
        #expect(registry.twins["anna-v1"]?.owner == "anna")
        #expect(registry.twins["anna-v2"] == nil)
        // Mallory's grants for anna-v1 do nothing.
        try fixture.writeGrant(fixture.terms(licensee: "globex"), signedBy: "mallory")
        #expect(try fixture.decide(fixture.request(licensee: "globex")).denial?.code == .signerNotOwner)
    }

    @Test func twinNeedsAModelOwner() throws {
        #expect(throws: ConsentError.notAuthorized) {
            try fixture.store.registerTwin(id: "t2", weightsFile: fixture.weightsFile, key: fixture.keys["elite"]!, at: Fixture.now)
        }
        #expect(throws: ConsentError.alreadyExists) {
            try fixture.store.registerTwin(id: "anna-v1", weightsFile: fixture.weightsFile, key: anna, at: Fixture.now)
        }
    }

    // MARK: Superseding

    @Test func supersedingIsAnExplicitEntitledRecord() throws {
        let old = try fixture.writeGrant(fixture.terms())
        // The licensee cannot supersede (signs a grant naming it): ignored, the old one stands.
        try fixture.writeGrant(fixture.terms(licensee: "globex"), signedBy: "acme", supersedes: old.uid)
        #expect(try fixture.decide(fixture.request()).grant == old)
        #expect(try fixture.registry().supersededBy.isEmpty)
        // The model can.
        var amended = try fixture.terms()
        amended.maxImages = 50
        let new = try fixture.store.grant(amended, key: anna, at: Fixture.now, supersedes: old.uid)
        let registry = try fixture.registry()
        #expect(registry.supersededBy == [old.uid: new.uid])
        #expect(registry.evaluate(try fixture.request(), at: Fixture.now) { _ in 0 }.grant == new)
        #expect(registry.evaluate(try fixture.request(), at: Fixture.now, onlyGrant: old.uid) { _ in 0 }.denial?.code == .superseded)
        let states = Dictionary(uniqueKeysWithValues: registry.listGrants(at: Fixture.now) { _ in 0 }.map { ($0.grant.uid, $0.state) })
        #expect(states[old.uid] == .superseded && states[new.uid] == .valid)
        // Only once.
        #expect(throws: ConsentError.notAuthorized) { try fixture.store.grant(amended, key: anna, at: Fixture.now, supersedes: old.uid) }
    }
}
