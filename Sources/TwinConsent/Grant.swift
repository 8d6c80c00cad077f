// Role: the signed grant of consent (`twinrender.grant.v1`): the terms a model (or, after her
// death, her designated estate) agreed to, optionally superseding an earlier grant.
// Reference: docs/consent-registry.md, "Records" (field table).
// Failure modes: parsing throws `malformedFile`/`invalidValue`; a grant whose signature does not
// verify or whose signer was not entitled is kept (so a job that matches it is refused with its
// own reason, `signature_invalid` or `signer_not_owner`) but never allows anything.

import Crypto
import Foundation

/// A signed grant of consent.
///
/// Signed bytes: canonical JSON of every field below but `signature`, plus
/// `type: "twinrender.grant.v1"` (so a signature on another record type cannot pass as a grant).
public struct Grant: Equatable, Sendable, RegistryRecord {
    static let type = "twinrender.grant.v1"

    /// Fresh lowercase UUID.
    public let uid: String
    /// The party that signed: the twin's owner, or her designated estate after her death.
    public let assigner: String
    /// When it was signed.
    public let issuedAt: Date
    /// The consented terms (`terms.licensee` is the assignee).
    public let terms: GrantTerms
    /// Uid of the grant this one replaces (which is then refused as `consent.superseded`), if any.
    public let supersedes: String?
    /// Base64 Ed25519 signature of `assigner` over the signed bytes.
    public let signature: String

    /// Lowercase hex SHA-256 of the signed bytes: identifies the exact terms in royalty events.
    public var sha256: String { SHA256.hash(data: signedBytes).map { String(format: "%02x", $0) }.joined() }

    /// Validates `terms` and signs them with `key` as `assigner`.
    public static func sign(
        _ terms: GrantTerms, assigner: String, key: PartyKey, at date: Date, uid: String = UUID().uuidString.lowercased(),
        supersedes: String? = nil
    ) throws -> Grant {
        try terms.validate()
        try validateIdentifier(assigner, field: "assigner")
        try validateIdentifier(uid, field: "grant uid")
        if let supersedes { try validateIdentifier(supersedes, field: "superseded grant uid") }
        let unsigned = Grant(uid: uid, assigner: assigner, issuedAt: date, terms: terms, supersedes: supersedes, signature: "")
        return Grant(
            uid: uid, assigner: assigner, issuedAt: date, terms: terms, supersedes: supersedes,
            signature: try key.sign(unsigned.signedBytes))
    }

    private init(uid: String, assigner: String, issuedAt: Date, terms: GrantTerms, supersedes: String?, signature: String) {
        self.uid = uid
        self.assigner = assigner
        self.issuedAt = wholeSeconds(issuedAt)
        self.terms = terms
        self.supersedes = supersedes
        self.signature = signature
    }

    var fields: [String: CanonicalValue] {
        var fields: [String: CanonicalValue] = [
            "type": .string(Self.type),
            "uid": .string(uid),
            "twin": .string(terms.twin),
            "assigner": .string(assigner),
            "assignee": .string(terms.licensee),
            "purposes": .strings(terms.purposes),
            "territories": .strings(terms.territories),
            "validFrom": .string(UTCDate.format(terms.validFrom)),
            "validUntil": .string(UTCDate.format(terms.validUntil)),
            "maxImages": .int(terms.maxImages),
            "feeMinorUnits": .int(terms.feeMinorUnits),
            "currency": .string(terms.currency),
            "commissionBasisPoints": .int(terms.commissionBasisPoints),
            "paymentDays": .int(terms.paymentDays),
            "prohibitedTags": .strings(terms.prohibitedTags),
            "issuedAt": .string(UTCDate.format(issuedAt)),
            "signature": .string(signature),
        ]
        // Present only when set, so the canonical form has one spelling of "not set".
        if terms.requiresLabel { fields["requiresLabel"] = .bool(true) }
        if let supersedes { fields["supersedes"] = .string(supersedes) }
        return fields
    }

    init(fields f: RecordFields) throws {
        let terms = GrantTerms(
            twin: try f.string("twin"), licensee: try f.string("assignee"), purposes: try f.strings("purposes"),
            territories: try f.strings("territories"), validFrom: try f.date("validFrom"), validUntil: try f.date("validUntil"),
            maxImages: try f.int("maxImages"), feeMinorUnits: try f.int("feeMinorUnits"), currency: try f.string("currency"),
            commissionBasisPoints: try f.int("commissionBasisPoints"), paymentDays: try f.int("paymentDays"),
            prohibitedTags: try f.strings("prohibitedTags"), requiresLabel: try f.optionalBool("requiresLabel") ?? false)
        self.init(
            uid: try f.string("uid"), assigner: try f.string("assigner"), issuedAt: try f.date("issuedAt"), terms: terms,
            supersedes: try f.optionalString("supersedes"), signature: try f.string("signature"))
        try validateIdentifier(uid, field: "grant uid")
        try validateIdentifier(assigner, field: "assigner")
    }
}
