import Foundation

/// Writes records into a consent registry directory (used by the `twinrender` commands and by
/// tests). Each write re-reads the registry first, checks that the signer may sign the record, and
/// writes one file atomically; the daemon picks the change up through `ConsentRegistryCache`.
public struct RegistryStore: Sendable {
    /// The registry directory (created, with its four folders, on first write).
    public let directory: URL

    /// A store for `directory`.
    public init(directory: URL) { self.directory = directory }

    /// Registers `party`. Registering the identical record again is a no-op; a different record
    /// under the same id throws `alreadyExists`.
    public func addParty(_ party: Party) throws {
        let registry = try load()
        if let existing = registry.parties[party.id] {
            guard existing == party else { throw ConsentError.alreadyExists("party '\(party.id)' is already registered with other details") }
            return
        }
        if let other = registry.parties.values.first(where: { $0.publicKey == party.publicKey }) {
            throw ConsentError.alreadyExists("that public key already belongs to party '\(other.id)'")
        }
        if let model = party.estateOf, registry.parties[model]?.role != .model {
            throw ConsentError.notFound("estate '\(party.id)' names '\(model)', which is not a registered model")
        }
        try writeJSON(party, to: "parties/\(party.id).json")
    }

    /// Registers twin `id` owned by model `owner`, pinning the SHA-256 of `weightsFile`. Refuses to
    /// re-register an existing twin.
    @discardableResult
    public func registerTwin(id: String, owner: String, weightsFile: URL, at date: Date) throws -> TwinRecord {
        let registry = try load()
        guard registry.twins[id] == nil else { throw ConsentError.alreadyExists("twin '\(id)' is already registered") }
        guard registry.parties[owner]?.role == .model else {
            throw ConsentError.notFound("owner '\(owner)' is not a registered model party")
        }
        let digest = try WeightsDigestCache.sha256(of: weightsFile)
        let twin = try TwinRecord(
            id: id, owner: owner, weightsSHA256: digest, weightsFile: weightsFile.standardizedFileURL.path, registeredAt: date)
        try writeJSON(twin, to: "twins/\(id).json")
        return twin
    }

    /// Appends a status change signed with `key`, which must belong to the twin's owner or her
    /// estate.
    @discardableResult
    public func setStatus(twin id: String, to status: TwinStatus, key: PartyKey, at date: Date) throws -> TwinStatusChange {
        let registry = try load()
        guard var twin = registry.twins[id] else { throw ConsentError.notFound("twin '\(id)' is not registered") }
        let signer = try registry.party(for: key)
        guard registry.mayActForOwner(signer.id, twin: twin) else {
            throw ConsentError.notAuthorized(
                "\(signer.role.rawValue) '\(signer.id)' may not change the status of twin '\(id)'; only its owner '\(twin.owner)' or her estate may")
        }
        let change = try TwinStatusChange(twin: id, status: status, at: date, signer: signer.id, key: key)
        twin.statusChanges.append(change)
        try writeJSON(twin, to: "twins/\(id).json")
        return change
    }

    /// Signs `terms` with `key` and writes the grant. The key must belong to the twin's owner (or
    /// her estate once the twin is deceased); the licensee must be a registered licensee.
    @discardableResult
    public func grant(_ terms: GrantTerms, key: PartyKey, at date: Date) throws -> Grant {
        try terms.validate()
        let registry = try load()
        guard let twin = registry.twins[terms.twin] else { throw ConsentError.notFound("twin '\(terms.twin)' is not registered") }
        guard registry.parties[terms.licensee]?.role == .licensee else {
            throw ConsentError.notFound("licensee '\(terms.licensee)' is not a registered licensee party")
        }
        let signer = try registry.party(for: key)
        guard let status = registry.status(ofTwin: twin.id) else {
            throw ConsentError.notAuthorized("the status history of twin '\(twin.id)' does not verify; fix the registry first")
        }
        let allowed = status == .deceased ? registry.isEstate(signer.id, of: twin.owner) : signer.id == twin.owner
        guard allowed else {
            let who = status == .deceased ? "the estate of '\(twin.owner)' (the twin is deceased)" : "the owner '\(twin.owner)'"
            throw ConsentError.notAuthorized("\(signer.role.rawValue) '\(signer.id)' may not grant consent for twin '\(twin.id)'; only \(who) may")
        }
        let grant = try Grant.sign(terms, assigner: signer.id, key: key, at: date)
        try write(grant)
        return grant
    }

    /// Writes an already signed grant as is (no authority checks: the consent check decides).
    public func write(_ grant: Grant) throws {
        try prepareFolders()
        try writeNewFile(directory.appendingPathComponent("grants/\(grant.uid).json"), contents: grant.fileBytes, mode: 0o644)
    }

    /// Revokes grant `uid` with `key`, which must belong to the twin's owner, her estate, or the
    /// grant's assigner.
    @discardableResult
    public func revoke(grant uid: String, key: PartyKey, at date: Date) throws -> Revocation {
        try validateIdentifier(uid, field: "grant uid")
        let registry = try load()
        guard let grant = registry.grants[uid]?.grant else { throw ConsentError.notFound("grant '\(uid)' is not in the registry") }
        guard registry.revocations[uid] == nil else { throw ConsentError.alreadyExists("grant '\(uid)' is already revoked") }
        let signer = try registry.party(for: key)
        let twin = registry.twins[grant.terms.twin]
        guard signer.id == grant.assigner || (twin.map { registry.mayActForOwner(signer.id, twin: $0) } ?? false) else {
            throw ConsentError.notAuthorized("\(signer.role.rawValue) '\(signer.id)' may not revoke grant '\(uid)'")
        }
        let revocation = try Revocation.sign(grant, signer: signer.id, key: key, at: date)
        try prepareFolders()
        try writeAtomically(directory.appendingPathComponent("revocations/\(uid).json"), contents: revocation.fileBytes)
        return revocation
    }

    /// The registry as it is now, with its folders created.
    public func load() throws -> ConsentRegistry {
        try prepareFolders()
        return try ConsentRegistry.load(directory: directory)
    }

    private func prepareFolders() throws {
        for folder in ["parties", "twins", "grants", "revocations"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
    }

    private func writeJSON<T: Encodable>(_ value: T, to relative: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try writeAtomically(directory.appendingPathComponent(relative), contents: Array(try encoder.encode(value)) + [UInt8(ascii: "\n")])
    }
}

extension ConsentRegistry {
    /// The registered party whose public key matches `key`.
    public func party(for key: PartyKey) throws -> Party {
        guard let party = parties.values.first(where: { $0.publicKey == key.publicKeyBase64 }) else {
            throw ConsentError.keyNotRegistered("the private key does not belong to any party in \(directory.path)")
        }
        return party
    }
}
