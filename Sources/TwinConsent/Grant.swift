import Crypto
import Foundation

/// A signed grant of consent (`grants/<uid>.json`).
///
/// The file is exactly the canonical JSON of every field below including `signature`, followed by
/// one newline. The signature covers the canonical JSON of every field except `signature`, plus
/// `type: "twinrender.grant.v1"` (so a signature on another record type cannot pass as a grant).
/// A file that differs from its canonical form by any byte fails verification.
public struct Grant: Equatable, Sendable {
    static let type = "twinrender.grant.v1"

    /// Fresh lowercase UUID, also the file name.
    public let uid: String
    /// The party that signed: the twin's owner, or her estate once she has died.
    public let assigner: String
    /// When it was signed.
    public let issuedAt: Date
    /// The consented terms (`terms.licensee` is the assignee).
    public let terms: GrantTerms
    /// Base64 Ed25519 signature of `assigner` over the signed bytes.
    public let signature: String

    /// Lowercase hex SHA-256 of the signed bytes: identifies the exact terms in royalty events.
    public var sha256: String { SHA256.hash(data: signedBytes).map { String(format: "%02x", $0) }.joined() }

    /// Validates `terms` and signs them with `key` as `assigner`.
    public static func sign(
        _ terms: GrantTerms, assigner: String, key: PartyKey, at date: Date, uid: String = UUID().uuidString.lowercased()
    ) throws -> Grant {
        try terms.validate()
        try validateIdentifier(assigner, field: "assigner")
        try validateIdentifier(uid, field: "grant uid")
        let unsigned = Grant(uid: uid, assigner: assigner, issuedAt: date, terms: terms, signature: "")
        return Grant(uid: uid, assigner: assigner, issuedAt: unsigned.issuedAt, terms: terms, signature: try key.sign(unsigned.signedBytes))
    }

    private init(uid: String, assigner: String, issuedAt: Date, terms: GrantTerms, signature: String) {
        self.uid = uid
        self.assigner = assigner
        // Whole seconds, as serialised.
        self.issuedAt = Date(timeIntervalSince1970: issuedAt.timeIntervalSince1970.rounded(.down))
        self.terms = terms
        self.signature = signature
    }

    /// The canonical bytes the signature covers.
    var signedBytes: [UInt8] { canonicalJSON(fields(includingSignature: false)) }

    /// The file contents: canonical JSON with the signature, and a newline.
    public var fileBytes: [UInt8] { canonicalJSON(fields(includingSignature: true)) + [UInt8(ascii: "\n")] }

    private func fields(includingSignature: Bool) -> [String: CanonicalValue] {
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
        ]
        // Present only when true, so grants signed before the field existed stay canonical.
        if terms.requiresLabel { fields["requiresLabel"] = .bool(true) }
        if includingSignature { fields["signature"] = .string(signature) }
        return fields
    }

    /// Parses a grant file. `isCanonical` is false when the bytes differ from the canonical form of
    /// the parsed fields (an edit, an added field, reformatting): such a grant never verifies.
    /// Throws `ConsentError.malformedFile` when the file is not a grant at all.
    static func parse(_ bytes: [UInt8]) throws -> (grant: Grant, isCanonical: Bool) {
        let raw: GrantFile
        do {
            raw = try JSONDecoder().decode(GrantFile.self, from: Data(bytes))
        } catch {
            throw ConsentError.malformedFile("not a grant: \(error)")
        }
        guard raw.type == Self.type else { throw ConsentError.malformedFile("has type '\(raw.type)', expected \(Self.type)") }
        let terms = try GrantTerms(
            twin: raw.twin, licensee: raw.assignee, purposes: raw.purposes, territories: raw.territories,
            validFrom: UTCDate.parse(raw.validFrom, field: "validFrom"), validUntil: UTCDate.parse(raw.validUntil, field: "validUntil"),
            maxImages: raw.maxImages, feeMinorUnits: raw.feeMinorUnits, currency: raw.currency,
            commissionBasisPoints: raw.commissionBasisPoints, paymentDays: raw.paymentDays, prohibitedTags: raw.prohibitedTags,
            requiresLabel: raw.requiresLabel ?? false)
        let grant = try Grant(
            uid: raw.uid, assigner: raw.assigner, issuedAt: UTCDate.parse(raw.issuedAt, field: "issuedAt"), terms: terms,
            signature: raw.signature)
        return (grant, grant.fileBytes == bytes)
    }
}

/// The on-disk shape of a grant, before validation.
private struct GrantFile: Decodable {
    let type: String
    let uid: String
    let twin: String
    let assigner: String
    let assignee: String
    let purposes: [String]
    let territories: [String]
    let validFrom: String
    let validUntil: String
    let maxImages: Int
    let feeMinorUnits: Int
    let currency: String
    let commissionBasisPoints: Int
    let paymentDays: Int
    let prohibitedTags: [String]
    let requiresLabel: Bool?
    let issuedAt: String
    let signature: String
}
