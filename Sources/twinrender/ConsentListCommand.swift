// Role: `twinrender consent list`: every grant with its state as the daemon sees it, images
// used/remaining, and every registry problem (ignored records, with their log line).
// Reference: docs/consent-registry.md, "Commands".
// Failure modes: a tampered or rolled-back log fails with the reason (nothing is listed).

import ArgumentParser
import Foundation
import TwinConsent

/// `twinrender consent list [--twin ID] [--json]`: every grant with its state and images
/// used/remaining (used = delivered per the royalty ledger + reserved by jobs in flight).
struct ConsentListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List grants with state (valid, not_yet_valid, expired, revoked, superseded, exhausted, invalid), images used/remaining, and registry problems."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Only this twin's grants.")
    var twin: String?

    @Flag(name: .long, help: "JSON output.")
    var json = false

    /// One grant in `--json` output.
    struct Row: Encodable {
        let uid, twin, licensee, assigner, state: String
        /// The twin's status (`active`, `suspended`, `deceased`), or `unverifiable`/`unregistered`.
        let twinStatus: String
        let purposes, territories, prohibitedTags: [String]
        let validFrom, validUntil, issuedAt: String
        let maxImages, used, remaining: Int
        let fee, currency: String
        let feeMinorUnits, commissionBasisPoints, paymentDays: Int
        let requiresLabel: Bool
        let sha256: String
        let supersedes: String?
        let problem: String?
    }

    /// `--json` output: the grants, the registry problems and the log head.
    struct Output: Encodable {
        let grants: [Row]
        let problems: [String]
        let head: RegistryHead
    }

    func run() throws {
        do {
            let config = try registry.configOptions.load()
            let snapshot = try registry.load()
            let usage = try ConsentUsage(config: config).table(snapshot.grants.keys)
            let listing = snapshot.listGrants(twin: twin, at: Date()) { usage[$0] ?? 0 }
            let rows = listing.map { item in
                let g = item.grant, t = item.grant.terms
                return Row(
                    uid: g.uid, twin: t.twin, licensee: t.licensee, assigner: g.assigner, state: item.state.rawValue,
                    twinStatus: snapshot.twins[t.twin] == nil ? "unregistered" : snapshot.status(ofTwin: t.twin)?.rawValue ?? "unverifiable",
                    purposes: t.purposes, territories: t.territories, prohibitedTags: t.prohibitedTags,
                    validFrom: UTCDate.format(t.validFrom), validUntil: UTCDate.format(t.validUntil), issuedAt: UTCDate.format(g.issuedAt),
                    maxImages: t.maxImages, used: item.used, remaining: item.remaining,
                    fee: Money.format(minorUnits: t.feeMinorUnits, currency: t.currency), currency: t.currency,
                    feeMinorUnits: t.feeMinorUnits, commissionBasisPoints: t.commissionBasisPoints, paymentDays: t.paymentDays,
                    requiresLabel: t.requiresLabel, sha256: g.sha256, supersedes: g.supersedes, problem: item.problem)
            }
            if json { return try printJSON(Output(grants: rows, problems: snapshot.problems.map(\.description), head: snapshot.head)) }
            if rows.isEmpty { print("no grants") }
            for row in rows {
                print("\(row.uid)  \(row.twin) (\(row.twinStatus)) -> \(row.licensee)  \(row.state)  used \(row.used)/\(row.maxImages), \(row.remaining) left")
                print("    purposes \(row.purposes.joined(separator: ",")); territories \(row.territories.joined(separator: ","));"
                    + " \(row.validFrom) .. \(row.validUntil); \(row.fee) \(row.currency)/image;"
                    + " commission \(row.commissionBasisPoints / 100).\(String(format: "%02d", row.commissionBasisPoints % 100)) %; pay within \(row.paymentDays) days"
                    + (row.prohibitedTags.isEmpty ? "" : "; prohibited \(row.prohibitedTags.joined(separator: ","))")
                    + (row.requiresLabel ? "; AI label required" : ""))
                if let old = row.supersedes { print("    supersedes \(old)") }
                if let problem = row.problem { print("    \(row.state == "superseded" ? "note" : "problem"): \(problem)") }
            }
            for problem in snapshot.problems { print("registry problem: \(problem)") }
            print("registry log head: \(snapshot.head)")
        }
    }
}
