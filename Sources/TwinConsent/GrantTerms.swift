// Role: the terms of a grant before it is signed, their validation, and the inclusive last day
// for documents that show an end date (XMP `LicenseEndDate`).
// Reference: docs/consent-registry.md, field table of `twinrender.grant.v1`.
// Failure modes: `validate()` throws `invalidValue` naming the first term missing or out of range
// (`badTag` for a prohibited tag that is not normalised).

import Foundation
import TwinBase

/// What a model consents to: the terms of a grant before it is signed.
///
/// Every field is required (a grant lacking scope, purpose, fee or duration is invalid); the
/// optional command-line flags have the defaults given here.
public struct GrantTerms: Equatable, Sendable {
    /// Twin id.
    public var twin: String
    /// Party id of the licensee (the brand).
    public var licensee: String
    /// Allowed purposes (`Purpose` tokens, e.g. `ecommerce`, `editorial`); at least one.
    public var purposes: [String]
    /// Allowed territories: ISO 3166-1 alpha-2 codes or `EU`; at least one.
    public var territories: [String]
    /// Start of validity (inclusive, UTC).
    public var validFrom: Date
    /// End of validity (exclusive, UTC); after `validFrom`.
    public var validUntil: Date
    /// Most images that may be delivered under the grant; at least 1.
    public var maxImages: Int
    /// Fee per image in minor units of `currency`; at least 1.
    public var feeMinorUnits: Int
    /// ISO 4217 currency code.
    public var currency: String
    /// Agency commission in basis points, 0…2000 (≤ 20 %). Default 0.
    public var commissionBasisPoints: Int
    /// Days until payment is due, 0…45. Default 30.
    public var paymentDays: Int
    /// Content tags the licensee may not request (e.g. `swimwear`, `lingerie`, `political`), each
    /// normalised by `ContentTag.normalize`.
    public var prohibitedTags: [String]
    /// Every image must carry the visible "AI-generated" label; the render host's config cannot
    /// switch it off. Default false (the host's `output.label` decides).
    public var requiresLabel: Bool

    /// Creates terms (lists sorted and de-duplicated, times truncated to whole seconds);
    /// `validate()` checks them.
    public init(
        twin: String, licensee: String, purposes: [String], territories: [String], validFrom: Date, validUntil: Date,
        maxImages: Int, feeMinorUnits: Int, currency: String, commissionBasisPoints: Int = 0, paymentDays: Int = 30,
        prohibitedTags: [String] = [], requiresLabel: Bool = false
    ) {
        self.twin = twin
        self.licensee = licensee
        self.purposes = Array(Set(purposes)).sorted()
        self.territories = Array(Set(territories)).sorted()
        // Whole seconds, as serialised, so a signed grant equals its parsed file.
        self.validFrom = Date(timeIntervalSince1970: validFrom.timeIntervalSince1970.rounded(.down))
        self.validUntil = Date(timeIntervalSince1970: validUntil.timeIntervalSince1970.rounded(.down))
        self.maxImages = maxImages
        self.feeMinorUnits = feeMinorUnits
        self.currency = currency
        self.commissionBasisPoints = commissionBasisPoints
        self.paymentDays = paymentDays
        self.prohibitedTags = Array(Set(prohibitedTags)).sorted()
        self.requiresLabel = requiresLabel
    }

    /// Throws `ConsentError.invalidValue` naming the first term that is missing or out of range.
    public func validate() throws {
        try validateIdentifier(twin, field: "twin")
        try validateIdentifier(licensee, field: "licensee")
        guard !purposes.isEmpty else { throw ConsentError.invalidValue("a grant needs at least one purpose") }
        for purpose in purposes { try Purpose.validate(purpose) }
        guard !territories.isEmpty else { throw ConsentError.invalidValue("a grant needs at least one territory") }
        for territory in territories { _ = try Territory.expand(territory) }
        guard validFrom < validUntil else {
            throw ConsentError.invalidValue(
                "validity window is empty: from \(UTCDate.format(validFrom)) is not before until \(UTCDate.format(validUntil))")
        }
        guard maxImages >= 1 else { throw ConsentError.invalidValue("max images must be at least 1, got \(maxImages)") }
        _ = try Money.exponent(of: currency)
        guard feeMinorUnits >= 1 else { throw ConsentError.invalidValue("the fee per image must be positive, got \(feeMinorUnits)") }
        guard (0...2000).contains(commissionBasisPoints) else {
            throw ConsentError.invalidValue("agency commission must be between 0 and 20 %, got \(Double(commissionBasisPoints) / 100) %")
        }
        guard (0...45).contains(paymentDays) else {
            throw ConsentError.invalidValue("payment terms must be between 0 and 45 days, got \(paymentDays)")
        }
        for tag in prohibitedTags where try ContentTag.normalize(tag) != tag {
            throw ConsentError.badTag("prohibited tag '\(tag)' is not normalised (expected '\(try ContentTag.normalize(tag))')")
        }
    }

    /// The last UTC day the grant covers: the day of the last second before the exclusive
    /// `validUntil` (`--until 2027-12-31` is stored as 2028-01-01T00:00:00Z and gives 2027-12-31).
    public var lastValidDay: CalendarDate { UTCTimestamp(validUntil.addingTimeInterval(-1)).calendarDate }

    /// Whether any of the request's normalised `tags` is prohibited, compared by
    /// `ContentTag.matchKey` (so `swim-wear` is caught by `swimwear` and the other way round).
    func prohibited(_ tags: [String]) -> [String] {
        let keys = Set(prohibitedTags.map(ContentTag.matchKey))
        return tags.filter { keys.contains(ContentTag.matchKey($0)) }.sorted()
    }
}
