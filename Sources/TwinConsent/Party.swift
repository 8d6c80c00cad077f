// Role: parties (who holds which key) and the registrar-signed records that vouch for them:
// `twinrender.party.v1` (a key belongs to a person, company or render host; a later one for the
// same id is a key rotation) and `twinrender.death.v1` (a model has died).
// Reference: TUF's root role: a small, rarely used key (the registrar, a trust anchor) that only
// says who holds which key; it never signs consent.
// Failure modes: parsing throws `malformedFile`/`invalidValue`; whether the registrar key is a
// trust anchor and the signature verifies is decided when the log is replayed (ConsentRegistry).

import Crypto
import Foundation

/// What a party is, which decides what it may sign.
public enum PartyRole: String, Codable, CaseIterable, Sendable {
    /// A fashion model: owner of her twins; signs their creation, grants, revocations, status
    /// changes and her estate's designation while she lives.
    case model
    /// An estate: has power over a model's twins only when she designated it while alive and the
    /// registrar attested her death.
    case estate
    /// A model agency. Never signs consent (New York Fashion Workers Act).
    case agency
    /// A brand or client that receives grants and signs orders.
    case licensee
    /// A render host: signs the royalty events it writes.
    case host
}

/// A registered party (`twinrender.party.v1`): an id, a role and an Ed25519 public key, signed
/// by a registrar key.
///
/// Signed bytes: canonical JSON of `{type, id, role, publicKey, issuedAt, registrar}`, where
/// `registrar` is the base64 public key of the registrar that signed.
public struct Party: Equatable, Sendable, RegistryRecord {
    static let type = "twinrender.party.v1"
    /// Registry id.
    public let id: String
    /// The party's role (a rotation keeps it).
    public let role: PartyRole
    /// Raw 32-byte Ed25519 public key, base64.
    public let publicKey: String
    /// When the registrar signed.
    public let issuedAt: Date
    /// Base64 public key of the registrar that signed.
    public let registrar: String
    /// Base64 Ed25519 signature of the registrar.
    public let signature: String

    /// Validates and signs a party record with `registrarKey`.
    public static func sign(id: String, role: PartyRole, publicKey: String, registrarKey: PartyKey, at date: Date) throws -> Party {
        try validateIdentifier(id, field: "party id")
        guard isPublicKey(publicKey) else { throw ConsentError.invalidValue("public key of party '\(id)' is not a base64 32-byte Ed25519 key") }
        let unsigned = Party(id: id, role: role, publicKey: publicKey, issuedAt: date, registrar: registrarKey.publicKeyBase64, signature: "")
        return Party(
            id: id, role: role, publicKey: publicKey, issuedAt: date, registrar: registrarKey.publicKeyBase64,
            signature: try registrarKey.sign(unsigned.signedBytes))
    }

    private init(id: String, role: PartyRole, publicKey: String, issuedAt: Date, registrar: String, signature: String) {
        self.id = id
        self.role = role
        self.publicKey = publicKey
        self.issuedAt = wholeSeconds(issuedAt)
        self.registrar = registrar
        self.signature = signature
    }

    init(fields f: RecordFields) throws {
        let id = try f.string("id")
        try validateIdentifier(id, field: "party id")
        guard let role = PartyRole(rawValue: try f.string("role")) else {
            throw ConsentError.malformedFile("party '\(id)' has an unknown role '\(try f.string("role"))'")
        }
        self.init(
            id: id, role: role, publicKey: try f.string("publicKey"), issuedAt: try f.date("issuedAt"),
            registrar: try f.string("registrar"), signature: try f.string("signature"))
    }

    var fields: [String: CanonicalValue] {
        [
            "type": .string(Self.type), "id": .string(id), "role": .string(role.rawValue), "publicKey": .string(publicKey),
            "issuedAt": .string(UTCDate.format(issuedAt)), "registrar": .string(registrar), "signature": .string(signature),
        ]
    }

    /// The party's verification key; nil only if `publicKey` is not a valid key (never for a
    /// party accepted by the replay).
    public var signingPublicKey: Curve25519.Signing.PublicKey? {
        Data(base64Encoded: publicKey).flatMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) }
    }

    /// Whether `signature` over `message` verifies with this party's key.
    func verifies(_ signature: String, over message: [UInt8]) -> Bool {
        verifySignature(signature, over: message, publicKey: publicKey)
    }
}

/// The registrar's attestation that a model has died (`twinrender.death.v1`). From its place in
/// the log on, the model's own key has no power and her designated estate acts for her twins.
///
/// Signed bytes: canonical JSON of `{type, model, diedOn, issuedAt, registrar}`.
public struct DeathAttestation: Equatable, Sendable, RegistryRecord {
    static let type = "twinrender.death.v1"
    /// The model's party id.
    public let model: String
    /// Date of death, `YYYY-MM-DD` (informational: power passes at the record's log position).
    public let diedOn: String
    /// When the registrar signed.
    public let issuedAt: Date
    /// Base64 public key of the registrar that signed.
    public let registrar: String
    /// Base64 Ed25519 signature of the registrar.
    public let signature: String

    /// Signs an attestation with `registrarKey`.
    public static func sign(model: String, diedOn: String, registrarKey: PartyKey, at date: Date) throws -> DeathAttestation {
        try validateIdentifier(model, field: "model")
        _ = try UTCDate.parse(diedOn, field: "died on", allowDateOnly: true)
        let unsigned = DeathAttestation(model: model, diedOn: diedOn, issuedAt: date, registrar: registrarKey.publicKeyBase64, signature: "")
        return DeathAttestation(
            model: model, diedOn: diedOn, issuedAt: date, registrar: registrarKey.publicKeyBase64,
            signature: try registrarKey.sign(unsigned.signedBytes))
    }

    private init(model: String, diedOn: String, issuedAt: Date, registrar: String, signature: String) {
        self.model = model
        self.diedOn = diedOn
        self.issuedAt = wholeSeconds(issuedAt)
        self.registrar = registrar
        self.signature = signature
    }

    init(fields f: RecordFields) throws {
        self.init(
            model: try f.string("model"), diedOn: try f.string("diedOn"), issuedAt: try f.date("issuedAt"),
            registrar: try f.string("registrar"), signature: try f.string("signature"))
    }

    var fields: [String: CanonicalValue] {
        [
            "type": .string(Self.type), "model": .string(model), "diedOn": .string(diedOn),
            "issuedAt": .string(UTCDate.format(issuedAt)), "registrar": .string(registrar), "signature": .string(signature),
        ]
    }
}

/// A model's designation of her estate (`twinrender.estate.v1`), signed with her own key while
/// she lives. A later designation replaces an earlier one.
///
/// Signed bytes: canonical JSON of `{type, model, estate, issuedAt}`.
public struct EstateDesignation: Equatable, Sendable, RegistryRecord {
    static let type = "twinrender.estate.v1"
    /// The model's party id (the signer).
    public let model: String
    /// The estate's party id (a registered `estate`).
    public let estate: String
    /// When she signed.
    public let issuedAt: Date
    /// Base64 Ed25519 signature of the model.
    public let signature: String

    /// Signs a designation with the model's key.
    public static func sign(model: String, estate: String, key: PartyKey, at date: Date) throws -> EstateDesignation {
        try validateIdentifier(model, field: "model")
        try validateIdentifier(estate, field: "estate")
        let unsigned = EstateDesignation(model: model, estate: estate, issuedAt: date, signature: "")
        return EstateDesignation(model: model, estate: estate, issuedAt: date, signature: try key.sign(unsigned.signedBytes))
    }

    private init(model: String, estate: String, issuedAt: Date, signature: String) {
        self.model = model
        self.estate = estate
        self.issuedAt = wholeSeconds(issuedAt)
        self.signature = signature
    }

    init(fields f: RecordFields) throws {
        self.init(model: try f.string("model"), estate: try f.string("estate"), issuedAt: try f.date("issuedAt"), signature: try f.string("signature"))
    }

    var fields: [String: CanonicalValue] {
        [
            "type": .string(Self.type), "model": .string(model), "estate": .string(estate),
            "issuedAt": .string(UTCDate.format(issuedAt)), "signature": .string(signature),
        ]
    }
}
