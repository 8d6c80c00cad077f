// Role: the royalty event the pipeline appends for one delivered image: the job's terms, the
// grant's fee and commission rate, and who ordered it. The ledger computes the commission.
// Failure modes: none (plain values; the ledger validates).

import Foundation
import TwinBase
import TwinConsent
import TwinLedger

enum RoyaltyDraft {
    /// The draft for image `index` of `spec`, delivered now under `grant`.
    static func make(spec: JobSpec, index: Int, grant: Grant, sha256: String, order: VerifiedOrder?) -> RoyaltyEventDraft {
        let terms = grant.terms
        return RoyaltyEventDraft(
            job: spec.id, imageIndex: index, twin: spec.twin, model: grant.assigner, licensee: spec.licensee,
            grant: grant.uid, grantHash: grant.sha256, purpose: spec.purpose, territory: spec.territory,
            deliveredAt: UTCTimestamp(Date()), outputSHA256: sha256,
            amount: Int64(terms.feeMinorUnits),
            agencyCommission: Int64(terms.feeMinorUnits) * Int64(terms.commissionBasisPoints) / 10_000,
            currency: terms.currency, paymentDays: terms.paymentDays)
    }
}
