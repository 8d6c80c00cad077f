// Role: `twinrender consent check JOB.json`: the consent decision for a job without rendering it.
// Failure modes: an unreadable job or registry exits with one line; a denial exits 1.

import ArgumentParser
import Foundation
import TwinConsent
import TwinInference

/// `twinrender consent check JOB.json [--json]`: the consent decision the daemon would take for a
/// job file, without rendering, reserving or logging. Exit status 0 when allowed, 1 when denied.
struct ConsentCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Print the consent decision for a job file without rendering (exit 0 allowed, 1 denied)."
    )

    @OptionGroup var registry: RegistryOptions

    @Argument(help: "Job file (the JSON dropped into the spool).")
    var job: String

    @Option(name: .long, help: "Twin weight file to hash (default: the identity the model package loads for the twin).")
    var weights: String?

    @Option(name: .long, help: "Decide as of this UTC time, YYYY-MM-DDTHH:MM:SSZ (default: now).")
    var at: String?

    @Flag(name: .long, help: "JSON output.")
    var json = false

    /// The consent-relevant fields of a job file (others are ignored here).
    struct JobFields: Decodable {
        let id: String?
        let twin: String
        let licensee: String
        let purpose: String
        let territory: String
        let tags: [String]?
        let count: Int?
    }

    /// `--json` output.
    struct Output: Encodable {
        let job, decision: String
        let code, message, grant, grantSHA256: String?
    }

    func run() throws {
        let config = try registry.configOptions.load()
        let jobURL = URL(fileURLWithPath: job)
        let fields: JobFields
        do {
            fields = try JSONDecoder().decode(JobFields.self, from: Data(contentsOf: jobURL))
        } catch {
            throw CommandFailure("\(job) is not a readable job file with twin, licensee, purpose and territory: \(error.localizedDescription)")
        }
        let snapshot = try registry.load()
        let weightsSHA256 = try weights.map { try WeightsDigestCache.sha256(of: URL(fileURLWithPath: $0)) }
            ?? (try? TwinModel.load(directory: config.modelDirectory))?.twinWeightsSHA256[fields.twin]
        let request = try ConsentRequest(
            job: fields.id ?? jobURL.deletingPathExtension().lastPathComponent, twin: fields.twin, licensee: fields.licensee,
            purpose: fields.purpose, territory: fields.territory, count: fields.count ?? 1, contentTags: fields.tags ?? [],
            twinWeightsSHA256: weightsSHA256)
        let date = try at.map { try UTCDate.parse($0, field: "--at") } ?? Date()
        let usage = try ConsentUsage(config: config).table(snapshot.grants.keys, excludingJob: request.job)
        let decision = snapshot.evaluate(request, at: date) { usage[$0] ?? 0 }
        let output = Output(
            job: request.job, decision: decision.grant == nil ? "deny" : "allow", code: decision.denial?.code.rawValue,
            message: decision.denial?.message, grant: decision.grant?.uid ?? decision.denial?.grantUID,
            grantSHA256: decision.grant?.sha256)
        if json {
            try printJSON(output)
        } else if let grant = decision.grant {
            print("allowed: job \(request.job) under grant \(grant.uid) (sha256 \(grant.sha256))")
        } else if let denial = decision.denial {
            print("denied: job \(request.job): \(denial.code.rawValue): \(denial.message)")
        }
        if decision.grant == nil { throw ExitCode(1) }
    }
}
