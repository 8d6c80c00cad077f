// Role: the replay of the registry log, record by record in log order, deciding for each whether
// the party entitled to sign it at that point of the log did sign it.
// Reference: docs/consent-registry.md, "Who may sign what"; TUF's separation of the root role
// (registrar: party records, death attestations) from the roles that sign content.
// Rules, in short: party records and death attestations need a trust anchor's signature; every
// other record is verified with the key its signer held at that point (so records signed with a
// rotated-out key after the rotation fail); the model signs twin creation, status changes,
// grants, revocations and her estate designation while alive; after the registrar's death
// attestation only her designated estate signs status changes, grants and revocations; the
// registrar's keys can never be party keys, so the registrar can never sign consent.
// A record repeated later in the log (same signed bytes) is a replay and is ignored.
// Failure modes: none thrown; each refused record becomes a `RegistryProblem` naming its line.

import Crypto
import Foundation

/// The state built by replaying the log.
struct RegistryReplay {
    let trustAnchors: Set<String>
    let now: Date
    var parties: [String: Party] = [:]
    var hostKeys: [String: [String]] = [:]
    /// Every party key ever accepted, with its party: a key is never reused or handed back.
    var keyOwners: [String: String] = [:]
    var deaths: [String: DeathAttestation] = [:]
    var estates: [String: String] = [:]
    var twins: [String: TwinRecord] = [:]
    var statuses: [String: TwinStatus] = [:]
    var grants: [String: RegisteredGrant] = [:]
    var revocations: [String: Revocation] = [:]
    var supersededBy: [String: String] = [:]
    var problems: [RegistryProblem] = []
    /// The line of every accepted record, by the SHA-256 of its signed bytes: a record appended a
    /// second time (an old "active" after a later suspension, an old estate designation, an old
    /// weights pin) is a replay and is ignored.
    var seen: [String: Int] = [:]

    init(trustAnchors: Set<String>, now: Date) {
        self.trustAnchors = trustAnchors
        self.now = now
    }

    /// A record that is ignored, and why.
    struct Refusal: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// Applies one verified log line.
    mutating func apply(_ entry: LogEntry) {
        do {
            let parsed = try LoggedRecord.parse(entry.record)
            let digest = SHA256.hash(data: parsed.signedBytes).map { String(format: "%02x", $0) }.joined()
            if let first = seen[digest] { throw Refusal("repeats the record accepted at line \(first) (a replay); ignored") }
            switch parsed {
            case .party(let record): try apply(record)
            case .death(let record): try apply(record)
            case .estate(let record): try apply(record)
            case .twin(let record): try apply(record)
            case .status(let record): try apply(record)
            case .grant(let record): try apply(record, line: entry.seq)
            case .revocation(let record): try apply(record)
            }
            // Only accepted records: a forged record must not block the genuine one it copies.
            seen[digest] = entry.seq
        } catch let refusal as Refusal {
            problems.append(RegistryProblem(file: RegistryLog.fileName, line: entry.seq, message: refusal.message))
        } catch {
            problems.append(RegistryProblem(file: RegistryLog.fileName, line: entry.seq, message: "\(error); ignored"))
        }
    }

    /// Checks that `signer` is a party whose current key verifies `record`.
    func requireSignature(of signer: String, on record: some RegistryRecord, signature: String) throws {
        guard let party = parties[signer] else { throw Refusal("signed by '\(signer)', who is not a registered party; ignored") }
        guard party.verifies(signature, over: record.signedBytes) else {
            throw Refusal("the signature does not verify with the current key of '\(signer)' (forged, edited, or signed with a rotated-out key); ignored")
        }
    }

    /// Checks that a trust anchor signed a registrar record.
    func requireRegistrar(_ registrar: String, on record: some RegistryRecord, signature: String) throws {
        guard trustAnchors.contains(registrar) else {
            throw Refusal("\(type(of: record).type) record not signed by a trust anchor (registrar key \(registrar.prefix(12))… is not one); ignored")
        }
        guard verifySignature(signature, over: record.signedBytes, publicKey: registrar) else {
            throw Refusal("the registrar signature does not verify; ignored")
        }
    }

    /// Why `signer` may not sign consent for `owner`'s twins now, or nil when it may.
    func consentSignerProblem(_ signer: String, owner: String) -> String? {
        if deaths[owner] == nil {
            if signer == owner { return nil }
            let role = parties[signer]?.role.rawValue ?? "unregistered party"
            return "signed by \(role) '\(signer)', but only the model '\(owner)' may sign for her twins while she lives"
        }
        guard let estate = estates[owner] else {
            return "'\(owner)' has died without designating an estate: nobody may sign new consent for her twins"
        }
        return signer == estate ? nil : "signed by '\(signer)', but after the death of '\(owner)' only her designated estate '\(estate)' may sign"
    }

    mutating func apply(_ party: Party) throws {
        try requireRegistrar(party.registrar, on: party, signature: party.signature)
        guard isPublicKey(party.publicKey) else { throw Refusal("party '\(party.id)' has no valid Ed25519 public key; ignored") }
        guard !trustAnchors.contains(party.publicKey) else {
            throw Refusal("party '\(party.id)' would hold a registrar key; a registrar key can never sign consent; ignored")
        }
        if let owner = keyOwners[party.publicKey] {
            throw Refusal("that public key already belonged to party '\(owner)'; a key is never reused; ignored")
        }
        if let existing = parties[party.id], existing.role != party.role {
            throw Refusal("party '\(party.id)' is a \(existing.role.rawValue); a rotation cannot make it a \(party.role.rawValue); ignored")
        }
        parties[party.id] = party
        keyOwners[party.publicKey] = party.id
        if party.role == .host { hostKeys[party.id, default: []].append(party.publicKey) }
    }

    mutating func apply(_ death: DeathAttestation) throws {
        try requireRegistrar(death.registrar, on: death, signature: death.signature)
        guard parties[death.model]?.role == .model else { throw Refusal("death attested for '\(death.model)', who is not a registered model; ignored") }
        guard deaths[death.model] == nil else { throw Refusal("the death of '\(death.model)' is already attested; ignored") }
        deaths[death.model] = death
    }

    mutating func apply(_ designation: EstateDesignation) throws {
        guard parties[designation.model]?.role == .model else {
            throw Refusal("estate designation for '\(designation.model)', who is not a registered model; ignored")
        }
        guard deaths[designation.model] == nil else {
            throw Refusal("estate designation signed after the attested death of '\(designation.model)'; only she may designate her estate, while alive; ignored")
        }
        try requireSignature(of: designation.model, on: designation, signature: designation.signature)
        guard parties[designation.estate]?.role == .estate else {
            throw Refusal("'\(designation.estate)' is not a registered estate party; ignored")
        }
        estates[designation.model] = designation.estate
    }

    mutating func apply(_ twin: TwinRecord) throws {
        guard parties[twin.owner]?.role == .model else { throw Refusal("twin '\(twin.id)' names owner '\(twin.owner)', who is not a registered model; ignored") }
        if let existing = twins[twin.id], existing.owner != twin.owner {
            throw Refusal("twin '\(twin.id)' belongs to '\(existing.owner)'; its owner cannot be changed; ignored")
        }
        guard deaths[twin.owner] == nil else { throw Refusal("twin '\(twin.id)' signed after the attested death of '\(twin.owner)'; ignored") }
        try requireSignature(of: twin.owner, on: twin, signature: twin.signature)
        twins[twin.id] = twin
    }

    mutating func apply(_ change: TwinStatusChange) throws {
        guard let twin = twins[change.twin] else { throw Refusal("status change for unknown twin '\(change.twin)'; ignored") }
        if let problem = consentSignerProblem(change.signer, owner: twin.owner) { throw Refusal("status change \(problem); ignored") }
        try requireSignature(of: change.signer, on: change, signature: change.signature)
        guard change.issuedAt <= now.addingTimeInterval(ConsentRegistry.clockSkew) else {
            throw Refusal("status change dated \(UTCDate.format(change.issuedAt)), more than \(Int(ConsentRegistry.clockSkew)) s in the future; ignored")
        }
        statuses[change.twin] = change.status
    }

    /// Whether `signer` may revoke (or supersede) `grant` now: whoever may sign consent for the
    /// twin now, or the grant's own entitled assigner.
    func mayRevoke(_ signer: String, _ grant: RegisteredGrant) -> Bool {
        guard let twin = twins[grant.grant.terms.twin] else { return false }
        return consentSignerProblem(signer, owner: twin.owner) == nil || (grant.isSound && signer == grant.grant.assigner)
    }

    mutating func apply(_ revocation: Revocation) throws {
        guard let grant = grants[revocation.grant], grant.grant.terms.twin == revocation.twin else {
            throw Refusal("revocation of grant '\(revocation.grant)', which is not an earlier grant of twin '\(revocation.twin)'; ignored")
        }
        guard mayRevoke(revocation.signer, grant) else {
            let role = parties[revocation.signer]?.role.rawValue ?? "unregistered party"
            throw Refusal("revocation of grant \(revocation.grant) by \(role) '\(revocation.signer)', who may not revoke it; ignored")
        }
        try requireSignature(of: revocation.signer, on: revocation, signature: revocation.signature)
        guard revocations[revocation.grant] == nil else { throw Refusal("grant \(revocation.grant) is already revoked; ignored") }
        revocations[revocation.grant] = revocation
    }

    /// Grants are kept even when refused (marked), so a job that matches one is refused with
    /// that grant's own reason; the refusal is also reported as a problem.
    mutating func apply(_ grant: Grant, line: Int) throws {
        guard grants[grant.uid] == nil else { throw Refusal("grant uid \(grant.uid) is already in the log; ignored") }
        let verifies = parties[grant.assigner]?.verifies(grant.signature, over: grant.signedBytes) ?? false
        let signerProblem = twins[grant.terms.twin].map { consentSignerProblem(grant.assigner, owner: $0.owner) }
            ?? "twin '\(grant.terms.twin)' is not registered"
        let candidate = RegisteredGrant(grant: grant, line: line, signatureVerifies: verifies, signerProblem: signerProblem)
        let supersedeProblem = candidate.isSound ? supersedeProblem(of: grant) : nil
        let registered = RegisteredGrant(
            grant: grant, line: line, signatureVerifies: verifies, signerProblem: signerProblem, extraProblem: supersedeProblem)
        grants[grant.uid] = registered
        if registered.isSound, let old = grant.supersedes { supersededBy[old] = grant.uid }
        if !verifies { throw Refusal("grant \(grant.uid): the signature does not verify with the current key of '\(grant.assigner)'; it allows nothing") }
        if let problem = signerProblem ?? registered.termsProblem { throw Refusal("grant \(grant.uid): \(problem); it allows nothing") }
    }

    /// Why `grant` may not supersede the grant it names, or nil.
    func supersedeProblem(of grant: Grant) -> String? {
        guard let uid = grant.supersedes else { return nil }
        guard let old = grants[uid], old.grant.terms.twin == grant.terms.twin else {
            return "it supersedes '\(uid)', which is not an earlier grant of twin '\(grant.terms.twin)'"
        }
        if let newer = supersededBy[uid] { return "it supersedes \(uid), which grant \(newer) already superseded" }
        return mayRevoke(grant.assigner, old) ? nil : "'\(grant.assigner)' may not supersede grant \(uid)"
    }
}
