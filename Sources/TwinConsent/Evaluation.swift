// Role: the consent decision for one request against one registry snapshot.
// Reference: docs/consent-registry.md, "The decision".
// Twin-level checks come first: registered (twin_unknown), not suspended (twin_suspended), weight
// file matches the pinned hash (twin_weights_mismatch), at least one grant (missing). Then each
// of the twin's grants is checked in the order of `GrantCheck`; the first check a grant fails is
// its failure. The scope checks (terms, licensee, purpose, territory, content) come before the
// signature and signer checks, so when the grant that matches the job is forged or signed by the
// wrong party, the refusal names that grant and says so, rather than an unrelated grant's reason.
// The most specific grant that passes every check is chosen; when none passes, the refusal is
// that of the grant that got furthest down the list (ties: the more specific grant).
// Specificity: fewer territories (after expanding EU) first, then fewer purposes, then a shorter
// validity window, then the more recently issued grant, then the smaller uid.
// Failure modes: none; every outcome is a `ConsentDecision`.

import Foundation

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
        if let denial = twinDenial(request) { return .denied(denial) }
        var candidates = grantsByTwin[request.twin] ?? []
        let requested = (try? Territory.expand(request.territory)) ?? [request.territory]
        if let grantUID {
            candidates = candidates.filter { $0.grant.uid == grantUID }
            guard !candidates.isEmpty else {
                return .denied(ConsentDenial(
                    code: .missing, message: "grant \(grantUID) of twin '\(request.twin)' is no longer in the registry", grantUID: grantUID))
            }
        }
        var closest: (check: GrantCheck, denial: ConsentDenial)?
        for candidate in candidates {
            guard let failure = firstFailure(of: candidate, for: request, countries: requested, at: date, usage: usage) else {
                return .allowed(candidate.grant)
            }
            if closest.map({ failure.check > $0.check }) ?? true { closest = failure }
        }
        return .denied(closest?.denial ?? ConsentDenial(code: .missing, message: "twin '\(request.twin)' has no grants", grantUID: nil))
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

    /// Twin-level checks: registered, not suspended, weights match.
    func twinDenial(_ request: ConsentRequest) -> ConsentDenial? {
        func deny(_ code: ConsentCode, _ message: String) -> ConsentDenial { ConsentDenial(code: code, message: message, grantUID: nil) }
        guard let twin = twins[request.twin] else { return deny(.twinUnknown, "twin '\(request.twin)' is not registered") }
        if status(ofTwin: twin.id) == .suspended {
            return deny(.twinSuspended, "twin '\(twin.id)' is suspended by its owner")
        }
        guard let current = request.twinWeightsSHA256 else {
            return deny(.twinWeightsMismatch, "the weight file of twin '\(twin.id)' is missing or unreadable")
        }
        guard current == twin.weightsSHA256 else {
            return deny(.twinWeightsMismatch,
                "the weight file of twin '\(twin.id)' has SHA-256 \(current), not the pinned \(twin.weightsSHA256)")
        }
        return nil
    }

    /// The first check `candidate` fails for `request`, or nil when it allows the request.
    /// `countries` is the request's territory, expanded.
    func firstFailure(
        of candidate: RegisteredGrant, for request: ConsentRequest, countries: Set<String>, at date: Date, usage: (String) -> Int
    ) -> (check: GrantCheck, denial: ConsentDenial)? {
        if let failure = scopeFailure(of: candidate, for: request, countries: countries) { return failure }
        let grant = candidate.grant
        let terms = grant.terms
        func fail(_ check: GrantCheck, _ code: ConsentCode, _ message: String) -> (GrantCheck, ConsentDenial) {
            (check, ConsentDenial(code: code, message: "grant \(grant.uid): \(message)", grantUID: grant.uid))
        }
        guard candidate.signatureVerifies else {
            return fail(.signature, .signatureInvalid,
                "its signature does not verify with the key '\(grant.assigner)' held at line \(candidate.line) of the registry log")
        }
        if let problem = candidate.signerProblem { return fail(.signer, .signerNotOwner, problem) }
        if let newer = supersededBy[grant.uid] { return fail(.superseded, .superseded, "superseded by grant \(newer)") }
        if let revocation = revocations[grant.uid] {
            return fail(.revoked, .revoked, "revoked by '\(revocation.signer)' at \(UTCDate.format(revocation.issuedAt))")
        }
        guard date >= terms.validFrom else { return fail(.notYetValid, .notYetValid, "valid from \(UTCDate.format(terms.validFrom))") }
        guard date < terms.validUntil else { return fail(.expired, .expired, "expired at \(UTCDate.format(terms.validUntil))") }
        let used = usage(grant.uid)
        guard used + request.count <= terms.maxImages else {
            return fail(.quota, .quotaExhausted,
                "\(used) of \(terms.maxImages) images are delivered or reserved; \(request.count) more do not fit")
        }
        return nil
    }

    /// The scope checks: valid terms, licensee, purpose, territory, content tags.
    func scopeFailure(
        of candidate: RegisteredGrant, for request: ConsentRequest, countries: Set<String>
    ) -> (check: GrantCheck, denial: ConsentDenial)? {
        let terms = candidate.grant.terms
        func fail(_ check: GrantCheck, _ code: ConsentCode, _ message: String) -> (GrantCheck, ConsentDenial) {
            (check, ConsentDenial(code: code, message: "grant \(candidate.grant.uid): \(message)", grantUID: candidate.grant.uid))
        }
        if let problem = candidate.termsProblem { return fail(.terms, .missing, "the grant is invalid: \(problem)") }
        guard terms.licensee == request.licensee else {
            return fail(.licensee, .licenseeMismatch, "licensee is '\(terms.licensee)', not '\(request.licensee)'")
        }
        guard terms.purposes.contains(request.purpose) else {
            return fail(.purpose, .purposeNotAllowed, "purpose '\(request.purpose)' is not among \(terms.purposes.joined(separator: ", "))")
        }
        guard countries.isSubset(of: candidate.countries) else {
            return fail(.territory, .territoryNotAllowed,
                "territory '\(request.territory)' is not covered by \(terms.territories.joined(separator: ", "))")
        }
        let prohibited = terms.prohibited(request.contentTags)
        guard prohibited.isEmpty else {
            return fail(.content, .prohibitedContent, "content tags \(prohibited.joined(separator: ", ")) are prohibited")
        }
        return nil
    }
}

/// The per-grant checks, in the order they are made (later = closer to allowing).
enum GrantCheck: Int, Comparable {
    case terms, licensee, purpose, territory, content, signature, signer, superseded, revoked, notYetValid, expired, quota

    static func < (a: GrantCheck, b: GrantCheck) -> Bool { a.rawValue < b.rawValue }
}
