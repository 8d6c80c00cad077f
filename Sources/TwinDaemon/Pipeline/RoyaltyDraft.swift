// Role: the royalty event the pipeline appends for one delivered image: the job's terms, the
// grant's fee and commission rate, and who ordered it. The ledger computes the commission.
// Failure modes: none (plain values; the ledger validates).

import Foundation
import TwinBase
import TwinConsent
import TwinLedger

enum RoyaltyDraft {
    /// `order_sha256` of a job accepted without a signed order (`consent.require_signed_orders =
    /// false`): 64 zeros, with an empty `order_signer`.
    static let unsignedOrder = String(repeating: "0", count: 64)

    /// The draft for image `index` of `spec`, delivered now under `grant`; `fingerprint` is the
    /// delivered pixels' `ImageFingerprint` text.
    static func make(spec: JobSpec, index: Int, grant: Grant, sha256: String, fingerprint: String?,
                     order: VerifiedOrder?) -> RoyaltyEventDraft {
        let terms = grant.terms
        return RoyaltyEventDraft(
            job: spec.id, imageIndex: index, twin: spec.twin, model: grant.assigner, licensee: spec.licensee,
            orderSigner: order?.signer ?? "", orderSHA256: order?.sha256 ?? unsignedOrder,
            grant: grant.uid, grantHash: grant.sha256, purpose: spec.purpose, territory: spec.territory,
            deliveredAt: UTCTimestamp(Date()), outputSHA256: sha256, imageFingerprint: fingerprint, amount: Int64(terms.feeMinorUnits),
            commissionBasisPoints: terms.commissionBasisPoints, currency: terms.currency, paymentDays: terms.paymentDays)
    }
}
