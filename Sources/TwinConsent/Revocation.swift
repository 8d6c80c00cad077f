// Role: the signed revocation of one grant (`twinrender.revocation.v1`).
// Reference: docs/consent-registry.md, "Records".
// Failure modes: parsing throws `malformedFile`/`invalidValue`. A revocation signed by anyone but
// the twin's owner (while she lives), her estate (after her death) or the grant's assigner is a
// registry problem and is ignored: it never shows as "revoked".

import Foundation

/// A signed revocation of one grant.
///
/// Signed bytes: canonical JSON of `{type, grant, twin, issuedAt, signer}`.
public struct Revocation: Equatable, Sendable, RegistryRecord {
    static let type = "twinrender.revocation.v1"

    /// Uid of the revoked grant.
    public let grant: String
    /// Twin id of the revoked grant.
    public let twin: String
    /// When it was signed.
    public let issuedAt: Date
    /// Party id of the signer.
    public let signer: String
    /// Base64 Ed25519 signature.
    public let signature: String

    /// Signs a revocation of `grant` by `signer`.
    public static func sign(_ grant: Grant, signer: String, key: PartyKey, at date: Date) throws -> Revocation {
        let unsigned = Revocation(grant: grant.uid, twin: grant.terms.twin, issuedAt: date, signer: signer, signature: "")
        return Revocation(
            grant: grant.uid, twin: grant.terms.twin, issuedAt: date, signer: signer, signature: try key.sign(unsigned.signedBytes))
    }

    private init(grant: String, twin: String, issuedAt: Date, signer: String, signature: String) {
        self.grant = grant
        self.twin = twin
        self.issuedAt = wholeSeconds(issuedAt)
        self.signer = signer
        self.signature = signature
    }

    init(fields f: RecordFields) throws {
        self.init(
            grant: try f.string("grant"), twin: try f.string("twin"), issuedAt: try f.date("issuedAt"),
            signer: try f.string("signer"), signature: try f.string("signature"))
        try validateIdentifier(grant, field: "revoked grant uid")
        try validateIdentifier(signer, field: "revocation signer")
    }

    var fields: [String: CanonicalValue] {
        [
            "type": .string(Self.type), "grant": .string(grant), "twin": .string(twin),
            "issuedAt": .string(UTCDate.format(issuedAt)), "signer": .string(signer), "signature": .string(signature),
        ]
    }
}
