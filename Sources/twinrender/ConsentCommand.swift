// Role: `twinrender consent grant|revoke` (and the `consent` command group).
// Reference: docs/consent-registry.md, "Commands".
// Failure modes: invalid terms (a purpose outside the vocabulary, a tag that is not a token), a
// key that may not sign, an unknown twin, licensee or superseded grant fail with one line and
// write nothing.

import ArgumentParser
import Foundation
import TwinConsent

/// `twinrender consent grant|revoke|list|check`.
struct ConsentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent",
        abstract: "Grant, revoke, list and check consent for twins.",
        subcommands: [ConsentGrantCommand.self, ConsentRevokeCommand.self, ConsentListCommand.self, ConsentCheckCommand.self]
    )
}

/// `twinrender consent grant ...`: signs and writes a grant, prints its uid.
struct ConsentGrantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant",
        abstract: "Sign a grant of consent with the twin owner's key (her estate's once deceased); prints the grant uid."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Twin id.")
    var twin: String
    @Option(name: .long, help: "Licensee party id.")
    var licensee: String
    @Option(name: .long, help: "Purposes, comma-separated: social-media, ecommerce, campaign, print, editorial, outdoor, video.")
    var purpose: String
    @Option(name: .long, help: "Territories, comma-separated ISO 3166-1 alpha-2 codes or EU.")
    var territory: String
    @Option(name: .long, help: "Start of validity, UTC: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (inclusive).")
    var from: String
    @Option(name: .long, help: "End of validity, UTC: YYYY-MM-DD (through that whole day) or YYYY-MM-DDTHH:MM:SSZ (exclusive).")
    var until: String
    @Option(name: .customLong("max-images"), help: "Most images that may be delivered.")
    var maxImages: Int
    @Option(name: .long, help: "Fee per image, decimal in the currency's major unit (e.g. 25.00).")
    var fee: String
    @Option(name: .long, help: "ISO 4217 currency code.")
    var currency: String
    @Option(name: .long, help: "Agency commission in percent, at most 20 (default 0).")
    var commission: String = "0"
    @Option(name: .customLong("payment-days"), help: "Payment terms in days, at most 45 (default 30).")
    var paymentDays: Int = 30
    @Option(name: .long, help: "Prohibited content tags, comma-separated (e.g. swimwear,lingerie,political).")
    var prohibit: String?
    @Flag(name: .customLong("require-label"), help: "Every image must carry the visible AI-generated label, whatever the host's config says.")
    var requireLabel = false
    @Option(name: .long, help: "Private key file of the twin's owner (her designated estate after her attested death).")
    var key: String
    @Option(name: .long, help: "Uid of a grant this one replaces (it is then refused as consent.superseded).")
    var supersedes: String?

    func run() throws {
        do {
            let validFrom = try UTCDate.parseWindowBound(from, field: "--from", endOfDay: false)
            let validUntil = try UTCDate.parseWindowBound(until, field: "--until", endOfDay: true)
            let terms = GrantTerms(
                twin: twin, licensee: licensee, purposes: commaList(purpose), territories: commaList(territory),
                validFrom: validFrom, validUntil: validUntil, maxImages: maxImages,
                feeMinorUnits: try Money.minorUnits(fee, currency: currency), currency: currency,
                commissionBasisPoints: try Money.basisPoints(commission), paymentDays: paymentDays,
                prohibitedTags: try commaList(prohibit).map { try ContentTag.normalize($0) }, requiresLabel: requireLabel)
            let grant = try registry.store().grant(terms, key: loadKey(key), at: Date(), supersedes: supersedes)
            print(grant.uid)
        }
    }
}

/// `twinrender consent revoke UID --key FILE`.
struct ConsentRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a grant, signed by the twin's owner (her estate after her death). Takes effect for jobs not yet delivered."
    )

    @OptionGroup var registry: RegistryOptions

    @Argument(help: "Grant uid.")
    var uid: String
    @Option(name: .long, help: "Private key file of the owner, her estate, or the grant's signer.")
    var key: String

    func run() throws {
        do {
            let revocation = try registry.store().revoke(grant: uid, key: loadKey(key), at: Date())
            print("revoked \(revocation.grant) (twin '\(revocation.twin)', signed by '\(revocation.signer)')")
        }
    }
}
