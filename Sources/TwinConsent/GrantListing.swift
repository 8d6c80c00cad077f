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
        /// Revoked by the owner or her estate.
        case revoked
        /// All images delivered or reserved.
        case exhausted
        /// Signature, signer or terms do not hold (see the consent check for the exact code).
        case invalid
    }

    /// The grant.
    public let grant: Grant
    /// Its state.
    public let state: State
    /// Why it is invalid, when `state == .invalid`.
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
            .sorted { ($0.grant.terms.twin, $0.grant.issuedAt, $0.grant.uid) < ($1.grant.terms.twin, $1.grant.issuedAt, $1.grant.uid) }
            .map { entry in
                let grant = entry.grant
                let used = usage(grant.uid)
                func listing(_ state: GrantListing.State, _ problem: String? = nil) -> GrantListing {
                    GrantListing(grant: grant, state: state, problem: problem, used: used)
                }
                if let problem = validityProblem(of: entry) { return listing(.invalid, problem) }
                if revocations[grant.uid] != nil { return listing(.revoked) }
                if date < grant.terms.validFrom { return listing(.notYetValid) }
                if date >= grant.terms.validUntil { return listing(.expired) }
                if used >= grant.terms.maxImages { return listing(.exhausted) }
                return listing(.valid)
            }
    }

    /// Why a grant cannot allow anything whatever the request (signature, signer, terms), or nil.
    private func validityProblem(of entry: RegisteredGrant) -> String? {
        guard let twin = twins[entry.grant.terms.twin] else { return "twin '\(entry.grant.terms.twin)' is not registered" }
        guard case .success(let status) = status(of: twin) else { return "the twin's status history does not verify" }
        let probe = TwinState(record: twin, status: status)
        let request = try? ConsentRequest(
            job: "list", twin: twin.id, licensee: entry.grant.terms.licensee, purpose: entry.grant.terms.purposes.first ?? "none",
            territory: entry.grant.terms.territories.first ?? "EU", count: 1, twinWeightsSHA256: twin.weightsSHA256)
        guard let request,
              let failure = firstFailure(
                of: entry, for: request, countries: [], twin: probe, at: entry.grant.terms.validFrom, usage: { _ in 0 }),
              failure.check <= .terms
        else { return nil }
        return failure.denial.description
    }
}
