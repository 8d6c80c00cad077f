import Crypto
import Foundation

/// What a party is, which decides what it may sign.
public enum PartyRole: String, Codable, CaseIterable, Sendable {
    /// A fashion model; the owner of her twins and the only party who may grant or revoke consent
    /// for them while she lives.
    case model
    /// The estate of a deceased model (names her in `estateOf`); signs for her twins once their
    /// status is `deceased`.
    case estate
    /// A model agency. Never signs consent (New York Fashion Workers Act).
    case agency
    /// A brand or client that receives grants.
    case licensee
}

/// A registered party: an id, a role and an Ed25519 public key (`parties/<id>.json`).
public struct Party: Codable, Equatable, Sendable {
    /// Registry id (also the file name).
    public let id: String
    /// The party's role.
    public let role: PartyRole
    /// Raw 32-byte Ed25519 public key, base64.
    public let publicKey: String
    /// For an `estate`: the id of the model it stands for; `nil` otherwise.
    public let estateOf: String?

    /// Validates and creates a party record.
    public init(id: String, role: PartyRole, publicKey: String, estateOf: String? = nil) throws {
        try validateIdentifier(id, field: "party id")
        _ = try Self.decodePublicKey(publicKey, party: id)
        switch (role, estateOf) {
        case (.estate, nil):
            throw ConsentError.invalidValue("estate party '\(id)' must name the model it stands for (--estate-of)")
        case (.estate, let model?):
            try validateIdentifier(model, field: "estate-of")
        case (_, .some):
            throw ConsentError.invalidValue("only an estate party may name --estate-of (party '\(id)' is a \(role.rawValue))")
        case (_, nil):
            break
        }
        self.id = id
        self.role = role
        self.publicKey = publicKey
        self.estateOf = estateOf
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            id: c.decode(String.self, forKey: .id), role: c.decode(PartyRole.self, forKey: .role),
            publicKey: c.decode(String.self, forKey: .publicKey), estateOf: c.decodeIfPresent(String.self, forKey: .estateOf))
    }

    /// The party's verification key.
    public var signingPublicKey: Curve25519.Signing.PublicKey {
        // Validated in init, so this cannot fail.
        try! Self.decodePublicKey(publicKey, party: id)
    }

    /// Whether `signature` over `message` verifies with this party's key.
    func verifies(_ signature: String, over message: [UInt8]) -> Bool {
        guard let bytes = Data(base64Encoded: signature), bytes.count == 64 else { return false }
        return signingPublicKey.isValidSignature(bytes, for: message)
    }

    static func decodePublicKey(_ base64: String, party: String) throws -> Curve25519.Signing.PublicKey {
        guard let raw = Data(base64Encoded: base64), raw.count == 32,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { throw ConsentError.invalidValue("public key of party '\(party)' is not a base64 32-byte Ed25519 key") }
        return key
    }
}
