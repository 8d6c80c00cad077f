import Foundation

/// A signed revocation of one grant (`revocations/<uid>.json`, named after the grant's uid).
///
/// Effective when signed by the twin's owner, her estate, or the grant's assigner. Like a grant,
/// the file is its canonical JSON plus a newline; the signature covers every field but itself, plus
/// `type: "twinrender.revocation.v1"`.
public struct Revocation: Equatable, Sendable {
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
        self.issuedAt = Date(timeIntervalSince1970: issuedAt.timeIntervalSince1970.rounded(.down))
        self.signer = signer
        self.signature = signature
    }

    /// The canonical bytes the signature covers.
    var signedBytes: [UInt8] { canonicalJSON(fields(includingSignature: false)) }

    /// The file contents: canonical JSON with the signature, and a newline.
    public var fileBytes: [UInt8] { canonicalJSON(fields(includingSignature: true)) + [UInt8(ascii: "\n")] }

    private func fields(includingSignature: Bool) -> [String: CanonicalValue] {
        var fields: [String: CanonicalValue] = [
            "type": .string(Self.type), "grant": .string(grant), "twin": .string(twin),
            "issuedAt": .string(UTCDate.format(issuedAt)), "signer": .string(signer),
        ]
        if includingSignature { fields["signature"] = .string(signature) }
        return fields
    }

    /// Parses a revocation file; `isCanonical` as for `Grant`.
    static func parse(_ bytes: [UInt8]) throws -> (revocation: Revocation, isCanonical: Bool) {
        struct RevocationFile: Decodable {
            let type, grant, twin, issuedAt, signer, signature: String
        }
        let raw: RevocationFile
        do {
            raw = try JSONDecoder().decode(RevocationFile.self, from: Data(bytes))
        } catch {
            throw ConsentError.malformedFile("not a revocation: \(error)")
        }
        guard raw.type == Self.type else { throw ConsentError.malformedFile("has type '\(raw.type)', expected \(Self.type)") }
        try validateIdentifier(raw.grant, field: "revoked grant uid")
        try validateIdentifier(raw.signer, field: "revocation signer")
        let revocation = try Revocation(
            grant: raw.grant, twin: raw.twin, issuedAt: UTCDate.parse(raw.issuedAt, field: "issuedAt"), signer: raw.signer,
            signature: raw.signature)
        return (revocation, revocation.fileBytes == bytes)
    }
}
