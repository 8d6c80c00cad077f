// Role: appends signed records to the registry log (used by the `twinrender` commands, tests and
// fixtures). Every append runs under the log's `flock`, replays the log and the new record with
// exactly the rules the daemon uses, and writes only a record the replay accepts; so the CLI
// refuses what the daemon would ignore, with the same sentence.
// Reference: RegistryLog.swift (line format, lock), RegistryReplay.swift (who may sign what).
// Failure modes: a record the replay would refuse throws `notAuthorized` with the reason; a key
// that belongs to no party throws `keyNotRegistered`; unknown twins, grants or licensees throw
// `notFound`; a tampered log throws `registryTampered`; write failures throw `io`.

import Foundation

/// Writes records into a consent registry directory; the daemon picks the change up through
/// `ConsentRegistryCache`.
public struct RegistryStore: Sendable {
    /// The registry directory (created, with an empty log, on first write).
    public let directory: URL
    /// Registrar public keys (base64) the replay trusts.
    public let trustAnchors: [String]

    /// A store for `directory`, replaying with `trustAnchors`.
    public init(directory: URL, trustAnchors: [String]) {
        self.directory = directory
        self.trustAnchors = trustAnchors
    }

    /// The registry as it is now (the directory is created if missing).
    public func load(at date: Date = Date()) throws -> ConsentRegistry {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try ConsentRegistry.load(directory: directory, trustAnchors: trustAnchors, at: date)
    }

    // MARK: Registrar records

    /// Registers a new party, signed by `registrarKey` (a trust anchor). Throws `alreadyExists`
    /// when the id is taken (use `rotateParty` for a new key).
    @discardableResult
    public func registerParty(id: String, role: PartyRole, publicKey: String, registrarKey: PartyKey, at date: Date) throws -> Party {
        guard try load(at: date).parties[id] == nil else {
            throw ConsentError.alreadyExists("party '\(id)' is already registered; a new key for it is a rotation ('party rotate')")
        }
        let party = try Party.sign(id: id, role: role, publicKey: publicKey, registrarKey: registrarKey, at: date)
        try append(.party(party), at: date)
        return party
    }

    /// Rotates party `id` to `publicKey`, signed by `registrarKey`. From this line on, records
    /// signed with the old key are refused.
    @discardableResult
    public func rotateParty(id: String, publicKey: String, registrarKey: PartyKey, at date: Date) throws -> Party {
        guard let existing = try load(at: date).parties[id] else { throw ConsentError.notFound("party '\(id)' is not registered") }
        let party = try Party.sign(id: id, role: existing.role, publicKey: publicKey, registrarKey: registrarKey, at: date)
        try append(.party(party), at: date)
        return party
    }

    /// Records the registrar's attestation that `model` died on `diedOn` (`YYYY-MM-DD`).
    @discardableResult
    public func attestDeath(model: String, diedOn: String, registrarKey: PartyKey, at date: Date) throws -> DeathAttestation {
        let death = try DeathAttestation.sign(model: model, diedOn: diedOn, registrarKey: registrarKey, at: date)
        try append(.death(death), at: date)
        return death
    }

    // MARK: Records signed by a model (or her estate)

    /// The model (whose key `key` is) designates `estate` as her estate.
    @discardableResult
    public func designateEstate(model: String, estate: String, key: PartyKey, at date: Date) throws -> EstateDesignation {
        try requireKey(key, of: model, in: load(at: date))
        let designation = try EstateDesignation.sign(model: model, estate: estate, key: key, at: date)
        try append(.estate(designation), at: date)
        return designation
    }

    /// Registers twin `id` owned by the model whose key `key` is, pinning the SHA-256 of
    /// `weightsFile` (her consent to create the twin from exactly those weights).
    @discardableResult
    public func registerTwin(id: String, weightsFile: URL, key: PartyKey, at date: Date) throws -> TwinRecord {
        let registry = try load(at: date)
        let owner = try registry.party(for: key)
        guard registry.twins[id] == nil else { throw ConsentError.alreadyExists("twin '\(id)' is already registered") }
        let digest = try WeightsDigestCache.sha256(of: weightsFile)
        let twin = try TwinRecord.sign(
            id: id, owner: owner.id, weightsSHA256: digest, weightsFile: weightsFile.standardizedFileURL.path, key: key, at: date)
        try append(.twin(twin), at: date)
        return twin
    }

    /// Appends a status change signed with `key` (the living owner's, or her estate's after her
    /// death). Refuses a date more than `ConsentRegistry.clockSkew` ahead of now.
    @discardableResult
    public func setStatus(twin id: String, to status: TwinStatus, key: PartyKey, at date: Date) throws -> TwinStatusChange {
        let registry = try load(at: Date())
        guard registry.twins[id] != nil else { throw ConsentError.notFound("twin '\(id)' is not registered") }
        let signer = try registry.party(for: key)
        let change = try TwinStatusChange(twin: id, status: status, at: date, signer: signer.id, key: key)
        try append(.status(change), at: Date())
        return change
    }

    /// Signs `terms` with `key` and appends the grant (optionally superseding grant
    /// `supersedes`). The key must be the living owner's, or her designated estate's after her
    /// attested death; the licensee must be a registered licensee.
    @discardableResult
    public func grant(_ terms: GrantTerms, key: PartyKey, at date: Date, supersedes: String? = nil) throws -> Grant {
        try terms.validate()
        let registry = try load(at: date)
        guard registry.twins[terms.twin] != nil else { throw ConsentError.notFound("twin '\(terms.twin)' is not registered") }
        guard registry.parties[terms.licensee]?.role == .licensee else {
            throw ConsentError.notFound("licensee '\(terms.licensee)' is not a registered licensee party")
        }
        if let supersedes, registry.grants[supersedes] == nil { throw ConsentError.notFound("grant '\(supersedes)' is not in the registry") }
        let signer = try registry.party(for: key)
        let grant = try Grant.sign(terms, assigner: signer.id, key: key, at: date, supersedes: supersedes)
        try append(.grant(grant), at: date)
        return grant
    }

    /// Revokes grant `uid` with `key` (the living owner's, her estate's after her death, or the
    /// grant's own assigner's).
    @discardableResult
    public func revoke(grant uid: String, key: PartyKey, at date: Date) throws -> Revocation {
        let registry = try load(at: date)
        guard let grant = registry.grants[uid]?.grant else { throw ConsentError.notFound("grant '\(uid)' is not in the registry") }
        let signer = try registry.party(for: key)
        let revocation = try Revocation.sign(grant, signer: signer.id, key: key, at: date)
        try append(.revocation(revocation), at: date)
        return revocation
    }

    /// Appends an already signed grant with no checks at all (tests, fixtures): the replay decides
    /// whether it counts.
    @discardableResult
    public func write(_ grant: Grant) throws -> RegistryHead { try appendUnchecked(.grant(grant)) }

    // MARK: Appending

    /// Appends `record` if the replay accepts it; else throws `notAuthorized` with the reason.
    @discardableResult
    func append(_ record: LoggedRecord, at date: Date) throws -> RegistryHead {
        try RegistryLog.withAppendLock(directory: directory) {
            let contents = try RegistryLog.read(directory: directory)
            var replay = RegistryReplay(trustAnchors: Set(trustAnchors), now: date)
            for entry in contents.entries { replay.apply(entry) }
            let (line, head) = RegistryLog.line(for: record.fields, after: contents.head)
            let before = replay.problems.count
            replay.apply(LogEntry(seq: head.seq, hash: head.hash, record: record.fields))
            if let refusal = replay.problems.dropFirst(before).first {
                let reason = refusal.message.replacingOccurrences(of: "; ignored", with: "").replacingOccurrences(of: "; it allows nothing", with: "")
                throw ConsentError.notAuthorized(reason)
            }
            try RegistryLog.append(line, directory: directory, after: contents)
            return head
        }
    }

    /// Appends `record` whatever the replay says (tests: planting what an attacker would).
    @discardableResult
    func appendUnchecked(_ record: LoggedRecord) throws -> RegistryHead {
        try RegistryLog.withAppendLock(directory: directory) {
            let contents = try RegistryLog.read(directory: directory)
            let (line, head) = RegistryLog.line(for: record.fields, after: contents.head)
            try RegistryLog.append(line, directory: directory, after: contents)
            return head
        }
    }

    private func requireKey(_ key: PartyKey, of party: String, in registry: ConsentRegistry) throws {
        let holder = try registry.party(for: key)
        guard holder.id == party else {
            throw ConsentError.notAuthorized("the key belongs to '\(holder.id)', not to '\(party)'")
        }
    }
}
