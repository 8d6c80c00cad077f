// Role: each grant's state for `twinrender consent list`, as the daemon would see it.
// Reference: docs/consent-registry.md, "Commands".
// Failure modes: none; a grant the daemon refuses whatever the request is `invalid` with the
// reason, and only an effective revocation (one the daemon honours) shows as `revoked`.

import Foundation

/// A grant's state for `twinrender consent list`.
public struct GrantListing: Equatable, Sendable {
    /// Lifecycle state of a grant at a given time.
    public enum State: String, Codable, Sendable {
        /// Usable now (signature, signer and terms valid; in its window; images left).
        case valid
        /// Window not started.
        case notYetValid = "not_yet_valid"
        /// Window ended.
        case expired
        /// Revoked by someone entitled to (ignored revocations do not count).
        case revoked
        /// Replaced by a later grant naming it in `supersedes`.
        case superseded
        /// All images delivered or reserved.
        case exhausted
        /// Signature, signer or terms do not hold (see `problem`).
        case invalid
    }

    /// The grant.
    public let grant: Grant
    /// Its state.
    public let state: State
    /// Why it is invalid (or which grant superseded it).
    public let problem: String?
    /// Images delivered or reserved.
    public let used: Int
    /// Images left (`maxImages - used`, never negative).
    public var remaining: Int { max(0, grant.terms.maxImages - used) }
}

extension ConsentRegistry {
    /// Every grant (optionally only those of `twin`), sorted by twin then issue time, with its
    /// state at `date`. `usage` gives images delivered or reserved per grant uid.
    public func listGrants(twin: String? = nil, at date: Date, usage: (String) -> Int) -> [GrantListing] {
        grants.values
            .filter { twin == nil || $0.grant.terms.twin == twin }
            .sorted { ($0.grant.terms.twin, $0.line) < ($1.grant.terms.twin, $1.line) }
            .map { entry in
                let grant = entry.grant
                let used = usage(grant.uid)
                func listing(_ state: GrantListing.State, _ problem: String? = nil) -> GrantListing {
                    GrantListing(grant: grant, state: state, problem: problem, used: used)
                }
                if !entry.signatureVerifies { return listing(.invalid, "the signature does not verify with the key of '\(grant.assigner)'") }
                if let problem = entry.signerProblem ?? entry.termsProblem { return listing(.invalid, problem) }
                if let newer = supersededBy[grant.uid] { return listing(.superseded, "superseded by grant \(newer)") }
                if revocations[grant.uid] != nil { return listing(.revoked) }
                if date < grant.terms.validFrom { return listing(.notYetValid) }
                if date >= grant.terms.validUntil { return listing(.expired) }
                if used >= grant.terms.maxImages { return listing(.exhausted) }
                return listing(.valid)
            }
    }
}
