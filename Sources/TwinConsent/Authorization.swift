// Role: evaluate-and-reserve in one step under the quota lock (claim and delivery checks).
// Reference: docs/consent-registry.md, "Quotas across workers and daemons".
// Failure modes: lock/state errors and errors of the `delivered` callback are rethrown with
// nothing reserved; a denial releases the job's reservation.

import Foundation

extension ConsentRegistry {
    /// Evaluates `request` and, when allowed, reserves its images — one atomic step under the
    /// reservations lock, so parallel workers and daemons never overshoot a grant's max images.
    ///
    /// Call it when the job is claimed, and again right before delivery with the same job id and
    /// `onlyGrant` set to the grant the images were rendered under (so a revocation, expiry or
    /// suspension of that grant stops delivery even when another grant would now match). The
    /// job's own reservation is not counted against it and is replaced, never doubled. When the
    /// decision is a denial the job's reservation is released.
    ///
    /// - Parameters:
    ///   - onlyGrant: consider only this grant uid; nil considers every grant of the twin.
    ///   - delivered: images delivered under a grant uid according to the royalty ledger. It is
    ///     called while the lock is held and must read the ledger as it is now (no cache), or a
    ///     concurrent delivery could be missed. An error it throws is rethrown (nothing reserved).
    public func authorize(
        _ request: ConsentRequest, at date: Date, onlyGrant grantUID: String? = nil, reservations: QuotaReservations,
        delivered: (String) throws -> Int
    ) throws -> ConsentDecision {
        try reservations.withLockedState { state in
            var deliveredError: (any Error)?
            let decision = evaluate(request, at: date, onlyGrant: grantUID) { uid in
                let reserved = state.reservations.filter { $0.grant == uid && $0.job != request.job }.reduce(0) { $0 + $1.count }
                do {
                    return try delivered(uid) + reserved
                } catch {
                    deliveredError = error
                    return Int.max / 2
                }
            }
            if let deliveredError { throw deliveredError }
            state.reservations.removeAll { $0.job == request.job }
            if case .allowed(let grant) = decision {
                state.reservations.append(QuotaReservations.Reservation(
                    job: request.job, grant: grant.uid, count: request.count, reservedAt: UTCDate.format(date)))
            }
            return decision
        }
    }
}
