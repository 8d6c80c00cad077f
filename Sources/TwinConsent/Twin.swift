import Foundation

/// Lifecycle status of a twin.
public enum TwinStatus: String, Codable, CaseIterable, Sendable {
    /// Renders allowed under valid grants signed by the owner.
    case active
    /// No renders at all until the owner sets it active again.
    case suspended
    /// The model has died: renders need grants signed by her estate.
    case deceased
}

/// A signed change of a twin's status, appended to its `twins/<id>.json` record.
///
/// Signed bytes: canonical JSON of `{type: "twinrender.twin-status.v1", twin, status, issuedAt, signer}`.
public struct TwinStatusChange: Codable, Equatable, Sendable {
    static let type = "twinrender.twin-status.v1"
    /// The twin it applies to.
    public let twin: String
    /// The new status.
    public let status: TwinStatus
    /// When it was signed, `YYYY-MM-DDTHH:MM:SSZ`.
    public let issuedAt: String
    /// Party id of the signer (the owner or her estate).
    public let signer: String
    /// Base64 Ed25519 signature over `signedBytes`.
    public let signature: String

    /// Creates and signs a status change.
    public init(twin: String, status: TwinStatus, at date: Date, signer: String, key: PartyKey) throws {
        self.twin = twin
        self.status = status
        self.issuedAt = UTCDate.format(date)
        self.signer = signer
        self.signature = try key.sign(Self.signedBytes(twin: twin, status: status, issuedAt: issuedAt, signer: signer))
    }

    /// The canonical bytes the signature covers.
    var signedBytes: [UInt8] { Self.signedBytes(twin: twin, status: status, issuedAt: issuedAt, signer: signer) }

    private static func signedBytes(twin: String, status: TwinStatus, issuedAt: String, signer: String) -> [UInt8] {
        canonicalJSON([
            "type": .string(type), "twin": .string(twin), "status": .string(status.rawValue),
            "issuedAt": .string(issuedAt), "signer": .string(signer),
        ])
    }
}

/// A registered twin (`twins/<id>.json`): its owner, the pinned SHA-256 of its weight file, and the
/// signed history of status changes. The twin starts `active`; its status is that of the latest
/// change by `issuedAt` (ties: the later entry in the file).
public struct TwinRecord: Codable, Equatable, Sendable {
    /// Twin id (also the file name).
    public let id: String
    /// Party id of the model who owns the twin.
    public let owner: String
    /// Lowercase hex SHA-256 of the twin's weight file, pinned at registration.
    public let weightsSHA256: String
    /// The weight file's path as given at registration (informational; the daemon hashes the file
    /// it actually loads).
    public let weightsFile: String
    /// When the twin was registered.
    public let registeredAt: String
    /// Signed status changes, oldest first.
    public var statusChanges: [TwinStatusChange]

    /// Validates and creates a record with no status changes.
    public init(id: String, owner: String, weightsSHA256: String, weightsFile: String, registeredAt: Date) throws {
        try validateIdentifier(id, field: "twin id")
        try validateIdentifier(owner, field: "owner")
        try validateSHA256Hex(weightsSHA256, field: "weights SHA-256")
        self.id = id
        self.owner = owner
        self.weightsSHA256 = weightsSHA256
        self.weightsFile = weightsFile
        self.registeredAt = UTCDate.format(registeredAt)
        self.statusChanges = []
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        owner = try c.decode(String.self, forKey: .owner)
        weightsSHA256 = try c.decode(String.self, forKey: .weightsSHA256)
        weightsFile = try c.decode(String.self, forKey: .weightsFile)
        registeredAt = try c.decode(String.self, forKey: .registeredAt)
        statusChanges = try c.decode([TwinStatusChange].self, forKey: .statusChanges)
        try validateIdentifier(id, field: "twin id")
        try validateIdentifier(owner, field: "owner")
        try validateSHA256Hex(weightsSHA256, field: "weights SHA-256")
        _ = try UTCDate.parse(registeredAt, field: "registeredAt")
        for change in statusChanges {
            _ = try UTCDate.parse(change.issuedAt, field: "status change issuedAt")
        }
    }
}
