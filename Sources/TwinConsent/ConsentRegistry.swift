import Foundation

/// A problem with one registry file. The file is left out of the snapshot (so a damaged grant
/// can never allow anything) and every other file is still used.
public struct RegistryProblem: Equatable, Sendable, CustomStringConvertible {
    /// Path relative to the registry directory, e.g. `grants/1234.json`.
    public let file: String
    /// What is wrong with it.
    public let message: String
    public var description: String { "\(file): \(message)" }
}

/// A grant as found in the registry, with its verification state and what evaluation needs
/// precomputed.
public struct RegisteredGrant: Equatable, Sendable {
    /// The grant as parsed.
    public let grant: Grant
    /// The file was byte-for-byte canonical and the signature verifies with the assigner's
    /// registered key. (Whether the assigner may sign for the twin is decided per request.)
    public let signatureVerifies: Bool
    /// The granted countries, `EU` expanded.
    let countries: Set<String>
    /// Why the terms are invalid (`GrantTerms.validate`), or nil.
    let termsProblem: String?

    init(grant: Grant, signatureVerifies: Bool) {
        self.grant = grant
        self.signatureVerifies = signatureVerifies
        countries = grant.terms.territories.reduce(into: Set<String>()) { $0.formUnion((try? Territory.expand($1)) ?? []) }
        do {
            try grant.terms.validate()
            termsProblem = nil
        } catch {
            termsProblem = "\(error)"
        }
    }
}

/// An immutable snapshot of a consent registry directory.
///
/// Layout (see docs/consent-registry.md): `parties/<id>.json`, `twins/<id>.json`,
/// `grants/<uid>.json`, `revocations/<uid>.json`. Load it with `load(directory:)`; reload it when
/// `RegistryFingerprint` changes (or use `ConsentRegistryCache`).
public struct ConsentRegistry: Sendable {
    /// The directory it was read from.
    public let directory: URL
    /// Registered parties by id.
    public let parties: [String: Party]
    /// Registered twins by id.
    public let twins: [String: TwinRecord]
    /// Grants by uid.
    public let grants: [String: RegisteredGrant]
    /// Revocations by revoked grant uid (only canonical files whose signature verifies with the
    /// named signer's key; whether the signer had authority is checked per request).
    public let revocations: [String: Revocation]
    /// Files that could not be used, with the reason.
    public let problems: [RegistryProblem]
    /// Each twin's grants, most specific first (see Evaluation.swift).
    let grantsByTwin: [String: [RegisteredGrant]]

    private init(
        directory: URL, parties: [String: Party], twins: [String: TwinRecord], grants: [String: RegisteredGrant],
        revocations: [String: Revocation], problems: [RegistryProblem]
    ) {
        self.directory = directory
        self.parties = parties
        self.twins = twins
        self.grants = grants
        self.revocations = revocations
        self.problems = problems
        grantsByTwin = Dictionary(grouping: grants.values, by: \.grant.terms.twin).mapValues { $0.sorted(by: Self.isMoreSpecific) }
    }

    /// Size limit for one registry file.
    static let fileLimit = 1 << 20

    /// Reads every registry file. Malformed files are listed in `problems` and skipped; only a
    /// missing or unreadable directory throws.
    public static func load(directory: URL) throws -> ConsentRegistry {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ConsentError.notFound("consent registry directory \(directory.path) does not exist")
        }
        var problems: [RegistryProblem] = []

        func each(_ folder: String, _ body: (String, [UInt8]) throws -> Void) throws {
            let folderURL = directory.appendingPathComponent(folder)
            for name in try jsonFileNames(in: folderURL) {
                let relative = "\(folder)/\(name)"
                do {
                    let id = String(name.dropLast(".json".count))
                    try validateIdentifier(id, field: "file name")
                    try body(id, try readRegularFile(folderURL.appendingPathComponent(name), limit: fileLimit))
                } catch let error as ConsentError {
                    problems.append(RegistryProblem(file: relative, message: error.description))
                } catch {
                    problems.append(RegistryProblem(file: relative, message: "\(error)"))
                }
            }
        }

        var parties: [String: Party] = [:]
        try each("parties") { id, bytes in
            let party = try decode(Party.self, bytes)
            guard party.id == id else { throw ConsentError.malformedFile("holds party '\(party.id)', not '\(id)'") }
            parties[id] = party
        }
        var twins: [String: TwinRecord] = [:]
        try each("twins") { id, bytes in
            let twin = try decode(TwinRecord.self, bytes)
            guard twin.id == id else { throw ConsentError.malformedFile("holds twin '\(twin.id)', not '\(id)'") }
            twins[id] = twin
        }
        var grants: [String: RegisteredGrant] = [:]
        try each("grants") { uid, bytes in
            let (grant, isCanonical) = try Grant.parse(bytes)
            guard grant.uid == uid else { throw ConsentError.malformedFile("holds grant '\(grant.uid)', not '\(uid)'") }
            let verifies = isCanonical && (parties[grant.assigner]?.verifies(grant.signature, over: grant.signedBytes) ?? false)
            grants[uid] = RegisteredGrant(grant: grant, signatureVerifies: verifies)
        }
        var revocations: [String: Revocation] = [:]
        try each("revocations") { uid, bytes in
            let (revocation, isCanonical) = try Revocation.parse(bytes)
            guard revocation.grant == uid else {
                throw ConsentError.malformedFile("revokes grant '\(revocation.grant)', not '\(uid)'")
            }
            guard isCanonical, let signer = parties[revocation.signer],
                  signer.verifies(revocation.signature, over: revocation.signedBytes)
            else { throw ConsentError.malformedFile("signature does not verify with the key of '\(revocation.signer)'") }
            revocations[uid] = revocation
        }
        return ConsentRegistry(
            directory: directory, parties: parties, twins: twins, grants: grants, revocations: revocations, problems: problems)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as ConsentError {
            throw error
        } catch {
            throw ConsentError.malformedFile("not a valid \(T.self): \(error)")
        }
    }
}
