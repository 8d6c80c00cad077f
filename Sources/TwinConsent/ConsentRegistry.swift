// Role: an immutable snapshot of the consent registry: the log replayed from its first line, with
// every record checked against who was entitled to sign it at that point of the log.
// Reference: TUF §5 client workflow (explicit trust anchors, rollback and fork refusal against a
// remembered head); the replay rules are in RegistryReplay.swift and docs/consent-registry.md.
// Failure modes: a broken hash chain throws `registryTampered` (nothing is trusted); a log shorter
// than the pinned head or with another line at its seq throws `registryRolledBack`; a record
// nobody entitled signed is a `RegistryProblem` naming the line, and is ignored (a grant is kept,
// marked, so that a job matching it is refused with its own reason).

import Foundation

/// A record of the log that is ignored, or a note about the log, with the reason.
public struct RegistryProblem: Equatable, Sendable, CustomStringConvertible {
    /// The log file, relative to the registry directory (`log.jsonl`).
    public let file: String
    /// The line (= seq) of the record, when the problem is about one.
    public let line: Int?
    /// What is wrong with it.
    public let message: String

    public var description: String { line.map { "\(file) line \($0): \(message)" } ?? "\(file): \(message)" }
}

/// A grant as found in the log, with its verification state and what evaluation needs
/// precomputed.
public struct RegisteredGrant: Equatable, Sendable {
    /// The grant as parsed.
    public let grant: Grant
    /// Its line in the log.
    public let line: Int
    /// The signature verifies with the key the assigner held at that point of the log.
    public let signatureVerifies: Bool
    /// Why the assigner was not entitled to sign it at that point of the log (not the owner while
    /// she lived, not her designated estate after her death), or nil.
    public let signerProblem: String?
    /// The granted countries, `EU` expanded.
    let countries: Set<String>
    /// Why the terms are invalid (`GrantTerms.validate`, or a bad `supersedes`), or nil.
    let termsProblem: String?

    init(grant: Grant, line: Int, signatureVerifies: Bool, signerProblem: String?, extraProblem: String? = nil) {
        self.grant = grant
        self.line = line
        self.signatureVerifies = signatureVerifies
        self.signerProblem = signerProblem
        countries = grant.terms.territories.reduce(into: Set<String>()) { $0.formUnion((try? Territory.expand($1)) ?? []) }
        do {
            try grant.terms.validate()
            termsProblem = extraProblem
        } catch {
            termsProblem = "\(error)"
        }
    }

    /// Signature, signer and terms hold: the grant can allow something.
    public var isSound: Bool { signatureVerifies && signerProblem == nil && termsProblem == nil }
}

/// An immutable snapshot of a consent registry (see docs/consent-registry.md). Load it with
/// `load(directory:trustAnchors:pinnedHead:at:)`, or use `ConsentRegistryCache`.
public struct ConsentRegistry: Sendable {
    /// How far in the future a status change may be dated (clock skew between signer and host).
    public static let clockSkew: TimeInterval = 300

    /// The directory it was read from.
    public let directory: URL
    /// The head of the log as read (remember it with `RegistryHeadStore`).
    public let head: RegistryHead
    /// Registered parties by id: the newest accepted record (current key) of each.
    public let parties: [String: Party]
    /// Render hosts' public keys (base64), oldest first, the current one last: every key a host
    /// ever held, so royalty events signed before a rotation still verify.
    public let hostKeys: [String: [String]]
    /// Registered twins by id.
    public let twins: [String: TwinRecord]
    /// Each model's designated estate (the last designation she signed while alive).
    public let estates: [String: String]
    /// Death attestations by model id.
    public let deaths: [String: DeathAttestation]
    /// Grants by uid, including refused ones (see `RegisteredGrant.isSound`).
    public let grants: [String: RegisteredGrant]
    /// Effective revocations by revoked grant uid (signed by someone entitled to revoke).
    public let revocations: [String: Revocation]
    /// For each superseded grant uid, the uid of the grant that superseded it.
    public let supersededBy: [String: String]
    /// Records that were ignored, with the reason and line.
    public let problems: [RegistryProblem]
    /// Signed twin statuses (active/suspended) in force, by twin id.
    let signedStatus: [String: TwinStatus]
    /// Each twin's grants, most specific first (see Evaluation.swift).
    let grantsByTwin: [String: [RegisteredGrant]]

    init(directory: URL, head: RegistryHead, state: RegistryReplay) {
        self.directory = directory
        self.head = head
        parties = state.parties
        hostKeys = state.hostKeys
        twins = state.twins
        estates = state.estates
        deaths = state.deaths
        grants = state.grants
        revocations = state.revocations
        supersededBy = state.supersededBy
        problems = state.problems
        signedStatus = state.statuses
        grantsByTwin = Dictionary(grouping: state.grants.values, by: \.grant.terms.twin).mapValues { $0.sorted(by: Self.isMoreSpecific) }
    }

    /// Reads and replays `<directory>/log.jsonl` (a missing log is an empty registry).
    ///
    /// - Parameters:
    ///   - trustAnchors: registrar public keys (base64, as in `.pub` files); only party records
    ///     and death attestations signed by one of them count.
    ///   - pinnedHead: the newest head this host has seen (`RegistryHeadStore.read()`); the log
    ///     must contain it (same hash at that seq), or `registryRolledBack` is thrown.
    ///   - now: status changes dated after `now + clockSkew` are refused.
    public static func load(directory: URL, trustAnchors: [String], pinnedHead: RegistryHead? = nil, at now: Date = Date()) throws -> ConsentRegistry {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ConsentError.notFound("consent registry directory \(directory.path) does not exist")
        }
        let contents = try RegistryLog.read(directory: directory)
        if let pinned = pinnedHead, pinned.seq > 0 {
            guard pinned.seq <= contents.head.seq else {
                throw ConsentError.registryRolledBack(
                    "\(RegistryLog.fileName) has \(contents.head.seq) lines, but this host has seen line \(pinned.seq) (\(pinned.hash)): an older copy was put back or lines were removed")
            }
            guard contents.hashes[pinned.seq - 1] == pinned.hash else {
                throw ConsentError.registryRolledBack(
                    "\(RegistryLog.fileName) line \(pinned.seq) has hash \(contents.hashes[pinned.seq - 1]), but this host has seen \(pinned.hash) there: the log was forked or rewritten")
            }
        }
        var replay = RegistryReplay(trustAnchors: Set(trustAnchors), now: now)
        for entry in contents.entries { replay.apply(entry) }
        if contents.tornTail {
            replay.problems.append(RegistryProblem(
                file: RegistryLog.fileName, line: contents.head.seq + 1, message: "incomplete last line (an interrupted append); ignored"))
        }
        return ConsentRegistry(directory: directory, head: contents.head, state: replay)
    }

    /// The registered party whose current public key is `key`'s.
    public func party(for key: PartyKey) throws -> Party {
        guard let party = parties.values.first(where: { $0.publicKey == key.publicKeyBase64 }) else {
            throw ConsentError.keyNotRegistered("the private key does not belong to any party (current key) in \(directory.path)")
        }
        return party
    }

    /// The current status of twin `id`, or nil when it is unknown: `suspended` when the last
    /// accepted status change says so, else `deceased` once the owner's death is attested, else
    /// `active`.
    public func status(ofTwin id: String) -> TwinStatus? {
        guard let twin = twins[id] else { return nil }
        if signedStatus[id] == .suspended { return .suspended }
        return deaths[twin.owner] == nil ? .active : .deceased
    }

    /// The party who may sign consent for `model`'s twins now: the model while she lives, her
    /// designated estate (if any) after the registrar attested her death.
    public func consentSigner(for model: String) -> String? {
        deaths[model] == nil ? model : estates[model]
    }
}
