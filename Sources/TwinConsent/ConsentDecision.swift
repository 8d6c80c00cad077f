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
    /// A grant or status change was edited, re-formatted, or signed with a key other than its
    /// signer's registered key.
    case signatureInvalid = "consent.signature_invalid"
    /// The grant was signed by someone other than the twin's owner (or her estate once deceased),
    /// e.g. an agency or the licensee.
    case signerNotOwner = "consent.signer_not_owner"
    /// The twin is not registered (or its owner is not a registered model).
    case twinUnknown = "consent.twin_unknown"
    /// The twin is suspended.
    case twinSuspended = "consent.twin_suspended"
    /// The twin's weight file is missing or does not match the pinned SHA-256.
    case twinWeightsMismatch = "consent.twin_weights_mismatch"
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
