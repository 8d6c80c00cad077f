import Foundation

// The consent decision for one request against one registry snapshot.
//
// Twin-level checks come first, in this order: registered twin with a registered model as owner
// (twin_unknown), status changes all verify (signature_invalid), not suspended (twin_suspended),
// weight file matches the pinned hash (twin_weights_mismatch), at least one grant (missing).
// Then each of the twin's grants is checked in the order of `GrantCheck` below; the first check a
// grant fails is its failure. The most specific grant that passes every check is chosen. When none
// passes, the refusal reported is that of the grant that got furthest down the list (ties: the more
// specific grant), since it is the closest to what the job needs.
//
// Specificity: fewer territories (after expanding EU) first, then fewer purposes, then a shorter
// validity window, then the more recently issued grant, then the smaller uid.

extension ConsentRegistry {
    /// Decides whether `request` may be rendered and delivered at `date`.
    ///
    /// - Parameters:
    ///   - grantUID: consider only this grant (the one the images were rendered under, for the
    ///     check right before delivery); nil considers every grant of the twin.
    ///   - usage: images already counted against a grant uid (delivered according to the royalty
    ///     ledger plus reserved by other jobs in flight, excluding this job). Called only for
    ///     grants that pass every other check.
    public func evaluate(
        _ request: ConsentRequest, at date: Date, onlyGrant grantUID: String? = nil, usage: (String) -> Int
    ) -> ConsentDecision {
        let twinState: TwinState
        switch self.twinState(request) {
        case .success(let state): twinState = state
        case .failure(let denial): return .denied(denial)
        }
        var candidates = grantsByTwin[request.twin] ?? []
        let requested = (try? Territory.expand(request.territory)) ?? [request.territory]
        if let grantUID {
            candidates = candidates.filter { $0.grant.uid == grantUID }
            guard !candidates.isEmpty else {
                return .denied(ConsentDenial(
                    code: .missing, message: "grant \(grantUID) of twin '\(request.twin)' is no longer in the registry", grantUID: grantUID))
            }
        }
        guard !candidates.isEmpty else {
            return .denied(ConsentDenial(code: .missing, message: "twin '\(request.twin)' has no grants", grantUID: nil))
        }
        var closest: (check: GrantCheck, denial: ConsentDenial)?
        for candidate in candidates {
            guard let failure = firstFailure(of: candidate, for: request, countries: requested, twin: twinState, at: date, usage: usage)
            else {
                return .allowed(candidate.grant)
            }
            if closest == nil || failure.check > closest!.check { closest = failure }
        }
        return .denied(closest!.denial)
    }

    /// Whether `a` is more specific than `b` (see the file header).
    static func isMoreSpecific(_ a: RegisteredGrant, than b: RegisteredGrant) -> Bool {
        func key(_ g: RegisteredGrant) -> (Int, Int, TimeInterval) {
            (g.countries.count, g.grant.terms.purposes.count, g.grant.terms.validUntil.timeIntervalSince(g.grant.terms.validFrom))
        }
        let (ka, kb) = (key(a), key(b))
        if ka != kb { return ka < kb }
        if a.grant.issuedAt != b.grant.issuedAt { return a.grant.issuedAt > b.grant.issuedAt }
        return a.grant.uid < b.grant.uid
    }

    /// The twin's owner and current status.
    struct TwinState {
        let record: TwinRecord
        let status: TwinStatus
    }

    /// Twin-level checks: registered, owned by a model, status changes verify, not suspended,
    /// weights match.
    func twinState(_ request: ConsentRequest) -> Result<TwinState, ConsentDenial> {
        func deny(_ code: ConsentCode, _ message: String) -> Result<TwinState, ConsentDenial> {
            .failure(ConsentDenial(code: code, message: message, grantUID: nil))
        }
        guard let twin = twins[request.twin] else {
            return deny(.twinUnknown, "twin '\(request.twin)' is not registered")
        }
        guard parties[twin.owner]?.role == .model else {
            return deny(.twinUnknown, "owner '\(twin.owner)' of twin '\(twin.id)' is not a registered model")
        }
        let status: TwinStatus
        switch self.status(of: twin) {
        case .success(let current): status = current
        case .failure(let denial): return .failure(denial)
        }
        if status == .suspended {
            return deny(.twinSuspended, "twin '\(twin.id)' is suspended by its owner")
        }
        guard let current = request.twinWeightsSHA256 else {
            return deny(.twinWeightsMismatch, "the weight file of twin '\(twin.id)' is missing or unreadable")
        }
        guard current == twin.weightsSHA256 else {
            return deny(.twinWeightsMismatch,
                "the weight file of twin '\(twin.id)' has SHA-256 \(current), not the pinned \(twin.weightsSHA256)")
        }
        return .success(TwinState(record: twin, status: status))
    }

    /// The twin's current status: that of its latest status change (ties: the later entry), or
    /// `active` when there is none. Fails with `signature_invalid` when any change does not verify
    /// with the owner's or her estate's key.
    func status(of twin: TwinRecord) -> Result<TwinStatus, ConsentDenial> {
        var status = TwinStatus.active
        var latest: Date?
        for change in twin.statusChanges {
            guard change.twin == twin.id, mayActForOwner(change.signer, twin: twin),
                  let signer = parties[change.signer], signer.verifies(change.signature, over: change.signedBytes),
                  let issued = try? UTCDate.parse(change.issuedAt, field: "issuedAt")
            else {
                return .failure(ConsentDenial(
                    code: .signatureInvalid,
                    message: "a status change of twin '\(twin.id)' signed as '\(change.signer)' does not verify with the owner's or estate's key",
                    grantUID: nil))
            }
            if latest == nil || issued >= latest! {
                latest = issued
                status = change.status
            }
        }
        return .success(status)
    }

    /// The current status of twin `id`, or nil when it is unknown or its status history does not
    /// verify.
    public func status(ofTwin id: String) -> TwinStatus? {
        guard let twin = twins[id] else { return nil }
        return try? status(of: twin).get()
    }

    /// Whether `party` is the twin's owner or her registered estate.
    func mayActForOwner(_ party: String, twin: TwinRecord) -> Bool {
        party == twin.owner || isEstate(party, of: twin.owner)
    }

    func isEstate(_ party: String, of owner: String) -> Bool {
        guard let record = parties[party] else { return false }
        return record.role == .estate && record.estateOf == owner
    }

    /// The first check `candidate` fails for `request`, or nil when it allows the request.
    /// `countries` is the request's territory, expanded.
    func firstFailure(
        of candidate: RegisteredGrant, for request: ConsentRequest, countries: Set<String>, twin: TwinState, at date: Date,
        usage: (String) -> Int
    ) -> (check: GrantCheck, denial: ConsentDenial)? {
        let grant = candidate.grant
        let terms = grant.terms
        func fail(_ check: GrantCheck, _ code: ConsentCode, _ message: String) -> (GrantCheck, ConsentDenial) {
            (check, ConsentDenial(code: code, message: "grant \(grant.uid): \(message)", grantUID: grant.uid))
        }
        guard candidate.signatureVerifies else {
            return fail(.signature, .signatureInvalid,
                "the file is not in canonical form or its signature does not verify with the key of '\(grant.assigner)'")
        }
        let signerAllowed = twin.status == .deceased
            ? isEstate(grant.assigner, of: twin.record.owner) : grant.assigner == twin.record.owner
        guard signerAllowed else {
            let role = parties[grant.assigner]?.role.rawValue ?? "party"
            let required = twin.status == .deceased
                ? "twin '\(terms.twin)' is deceased, so only the estate of '\(twin.record.owner)' may grant consent"
                : "only the owner '\(twin.record.owner)' may grant consent"
            return fail(.signer, .signerNotOwner, "signed by \(role) '\(grant.assigner)', but \(required)")
        }
        if let problem = candidate.termsProblem {
            return fail(.terms, .missing, "the grant is invalid: \(problem)")
        }
        guard terms.licensee == request.licensee else {
            return fail(.licensee, .licenseeMismatch, "licensee is '\(terms.licensee)', not '\(request.licensee)'")
        }
        guard terms.purposes.contains(request.purpose) else {
            return fail(.purpose, .purposeNotAllowed,
                "purpose '\(request.purpose)' is not among \(terms.purposes.joined(separator: ", "))")
        }
        guard countries.isSubset(of: candidate.countries) else {
            return fail(.territory, .territoryNotAllowed,
                "territory '\(request.territory)' is not covered by \(terms.territories.joined(separator: ", "))")
        }
        let prohibited = Set(request.contentTags).intersection(terms.prohibitedTags).sorted()
        guard prohibited.isEmpty else {
            return fail(.content, .prohibitedContent, "content tags \(prohibited.joined(separator: ", ")) are prohibited")
        }
        if let revocation = revocations[grant.uid], revocation.twin == terms.twin,
           mayActForOwner(revocation.signer, twin: twin.record) || revocation.signer == grant.assigner {
            return fail(.revoked, .revoked,
                "revoked by '\(revocation.signer)' at \(UTCDate.format(revocation.issuedAt))")
        }
        guard date >= terms.validFrom else {
            return fail(.notYetValid, .notYetValid, "valid from \(UTCDate.format(terms.validFrom))")
        }
        guard date < terms.validUntil else {
            return fail(.expired, .expired, "expired at \(UTCDate.format(terms.validUntil))")
        }
        let used = usage(grant.uid)
        guard used + request.count <= terms.maxImages else {
            return fail(.quota, .quotaExhausted,
                "\(used) of \(terms.maxImages) images are delivered or reserved; \(request.count) more do not fit")
        }
        return nil
    }
}

/// The per-grant checks, in the order they are made (later = closer to allowing).
enum GrantCheck: Int, Comparable {
    case signature, signer, terms, licensee, purpose, territory, content, revoked, notYetValid, expired, quota

    static func < (a: GrantCheck, b: GrantCheck) -> Bool { a.rawValue < b.rawValue }
}
