// Role: the outcome of a consent check: allowed under a named grant, or denied with a reason code.
// Reference: docs/consent-registry.md, "The decision" (codes and their order).
// Failure modes: none (values only).

/// Why consent was refused. The raw value is the reason code written to `rejected/`.
public enum ConsentCode: String, CaseIterable, Codable, Sendable {
    /// No grant exists for the twin (or none with valid terms).
    case missing = "consent.missing"
    /// The closest grant's window has not started.
    case notYetValid = "consent.not_yet_valid"
    /// The closest grant's window has ended.
    case expired = "consent.expired"
    /// The closest grant was revoked.
    case revoked = "consent.revoked"
    /// The closest grant was replaced by a later grant that names it in `supersedes`.
    case superseded = "consent.superseded"
    /// No grant names this licensee.
    case licenseeMismatch = "consent.licensee_mismatch"
    /// The purpose is not granted.
    case purposeNotAllowed = "consent.purpose_not_allowed"
    /// The territory is not granted.
    case territoryNotAllowed = "consent.territory_not_allowed"
    /// Delivered + reserved + this job's count would exceed max images.
    case quotaExhausted = "consent.quota_exhausted"
    /// The job carries a content tag the grant prohibits.
    case prohibitedContent = "consent.prohibited_content"
    /// The matching grant's signature does not verify with the key its assigner held at that
    /// point of the log (forged, edited, or signed with a rotated-out key).
    case signatureInvalid = "consent.signature_invalid"
    /// The matching grant was signed by someone not entitled at that point of the log: not the
    /// living owner, not her designated estate after her attested death (an agency, a licensee,
    /// an estate while she lives).
    case signerNotOwner = "consent.signer_not_owner"
    /// The twin is not registered (no accepted owner-signed twin record).
    case twinUnknown = "consent.twin_unknown"
    /// The twin is suspended.
    case twinSuspended = "consent.twin_suspended"
    /// The twin's weight file is missing or does not match the pinned SHA-256.
    case twinWeightsMismatch = "consent.twin_weights_mismatch"
    /// The registry log cannot be trusted (`ConsentError.registryTampered` or
    /// `registryRolledBack`): every job is refused until it is restored.
    case registryUntrusted = "consent.registry_untrusted"
}

/// A refusal: a code and a sentence for the reason file, and the grant it is about when one was
/// the closest match.
public struct ConsentDenial: Error, Equatable, Sendable, CustomStringConvertible {
    /// Reason code.
    public let code: ConsentCode
    /// One sentence explaining the refusal.
    public let message: String
    /// Uid of the closest grant, if the refusal is about one.
    public let grantUID: String?

    /// A refusal; the daemon makes its own for decisions taken outside `evaluate` (a quota
    /// reservation lost to a parallel worker, a reserved grant revoked during the render).
    public init(code: ConsentCode, message: String, grantUID: String?) {
        self.code = code
        self.message = message
        self.grantUID = grantUID
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// The outcome of a consent check.
public enum ConsentDecision: Equatable, Sendable {
    /// The job may proceed under this grant (name it, and its `sha256`, in the royalty event).
    case allowed(Grant)
    /// The job must go to `rejected/` with this reason.
    case denied(ConsentDenial)

    /// The chosen grant, when allowed.
    public var grant: Grant? {
        if case .allowed(let grant) = self { return grant }
        return nil
    }

    /// The refusal, when denied.
    public var denial: ConsentDenial? {
        if case .denied(let denial) = self { return denial }
        return nil
    }
}
