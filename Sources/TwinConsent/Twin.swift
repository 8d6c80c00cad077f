// Role: twins: the owner-signed creation record (`twinrender.twin.v1`, her consent to create a
// twin from the weights with that SHA-256) and owner- or estate-signed status changes
// (`twinrender.twin-status.v1`).
// Reference: docs/consent-registry.md, "Records".
// Failure modes: parsing throws `malformedFile`/`invalidValue`; who may sign is decided when the
// log is replayed (a record by anyone else is a registry problem and is ignored).

import Foundation

/// Lifecycle status of a twin.
public enum TwinStatus: String, Codable, CaseIterable, Sendable {
    /// Renders allowed under valid grants.
    case active
    /// No renders at all until the owner (her estate after her death) sets it active again.
    case suspended
    /// The owner has died (derived from the registrar's death attestation, never signed as a
    /// status): renders under grants that still run, or that her estate signed.
    case deceased
}

/// A signed change of a twin's status (`active` or `suspended`).
///
/// Signed bytes: canonical JSON of `{type, twin, status, issuedAt, signer}`. A change dated more
/// than `ConsentRegistry.clockSkew` after the time the log is read is refused; the status in
/// force is that of the latest accepted change in log order (never by date).
public struct TwinStatusChange: Equatable, Sendable, RegistryRecord {
    static let type = "twinrender.twin-status.v1"
    /// The twin it applies to.
    public let twin: String
    /// The new status (`active` or `suspended`).
    public let status: TwinStatus
    /// When it was signed.
    public let issuedAt: Date
    /// Party id of the signer (the owner, or her estate after her death).
    public let signer: String
    /// Base64 Ed25519 signature over `signedBytes`.
    public let signature: String

    /// Creates and signs a status change.
    public init(twin: String, status: TwinStatus, at date: Date, signer: String, key: PartyKey) throws {
        guard status != .deceased else {
            throw ConsentError.invalidValue("'deceased' is not signed as a status: it follows from the registrar's death attestation")
        }
        let unsigned = TwinStatusChange(twin: twin, status: status, issuedAt: date, signer: signer, signature: "")
        self.init(twin: twin, status: status, issuedAt: date, signer: signer, signature: try key.sign(unsigned.signedBytes))
    }

    private init(twin: String, status: TwinStatus, issuedAt: Date, signer: String, signature: String) {
        self.twin = twin
        self.status = status
        self.issuedAt = wholeSeconds(issuedAt)
        self.signer = signer
        self.signature = signature
    }

    init(fields f: RecordFields) throws {
        guard let status = TwinStatus(rawValue: try f.string("status")), status != .deceased else {
            throw ConsentError.malformedFile("status '\(try f.string("status"))' is not active or suspended")
        }
        self.init(
            twin: try f.string("twin"), status: status, issuedAt: try f.date("issuedAt"), signer: try f.string("signer"),
            signature: try f.string("signature"))
    }

    var fields: [String: CanonicalValue] {
        [
            "type": .string(Self.type), "twin": .string(twin), "status": .string(status.rawValue),
            "issuedAt": .string(UTCDate.format(issuedAt)), "signer": .string(signer), "signature": .string(signature),
        ]
    }
}

/// A registered twin (`twinrender.twin.v1`), signed by its owner: her consent to create a twin
/// from the weight file with this SHA-256. A later record for the same id is accepted only from
/// the same owner, while she lives (re-pinning new weights); the owner never changes.
///
/// Signed bytes: canonical JSON of `{type, id, owner, weightsSHA256, weightsFile, issuedAt}`.
public struct TwinRecord: Equatable, Sendable, RegistryRecord {
    static let type = "twinrender.twin.v1"
    /// Twin id.
    public let id: String
    /// Party id of the model who owns the twin (and signed this record).
    public let owner: String
    /// Lowercase hex SHA-256 of the twin's weight file.
    public let weightsSHA256: String
    /// The weight file's path as given at registration (informational; the daemon hashes the file
    /// it actually loads).
    public let weightsFile: String
    /// When the owner signed.
    public let issuedAt: Date
    /// Base64 Ed25519 signature of the owner.
    public let signature: String

    /// Validates and signs a twin record with the owner's key.
    public static func sign(id: String, owner: String, weightsSHA256: String, weightsFile: String, key: PartyKey, at date: Date) throws -> TwinRecord {
        try validateIdentifier(id, field: "twin id")
        try validateIdentifier(owner, field: "owner")
        try validateSHA256Hex(weightsSHA256, field: "weights SHA-256")
        let unsigned = TwinRecord(id: id, owner: owner, weightsSHA256: weightsSHA256, weightsFile: weightsFile, issuedAt: date, signature: "")
        return TwinRecord(
            id: id, owner: owner, weightsSHA256: weightsSHA256, weightsFile: weightsFile, issuedAt: date,
            signature: try key.sign(unsigned.signedBytes))
    }

    private init(id: String, owner: String, weightsSHA256: String, weightsFile: String, issuedAt: Date, signature: String) {
        self.id = id
        self.owner = owner
        self.weightsSHA256 = weightsSHA256
        self.weightsFile = weightsFile
        self.issuedAt = wholeSeconds(issuedAt)
        self.signature = signature
    }

    init(fields f: RecordFields) throws {
        self.init(
            id: try f.string("id"), owner: try f.string("owner"), weightsSHA256: try f.string("weightsSHA256"),
            weightsFile: try f.string("weightsFile"), issuedAt: try f.date("issuedAt"), signature: try f.string("signature"))
        try validateIdentifier(id, field: "twin id")
        try validateIdentifier(owner, field: "owner")
        try validateSHA256Hex(weightsSHA256, field: "weights SHA-256")
    }

    var fields: [String: CanonicalValue] {
        [
            "type": .string(Self.type), "id": .string(id), "owner": .string(owner), "weightsSHA256": .string(weightsSHA256),
            "weightsFile": .string(weightsFile), "issuedAt": .string(UTCDate.format(issuedAt)), "signature": .string(signature),
        ]
    }
}
