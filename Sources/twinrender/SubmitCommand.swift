// Role: `twinrender submit`: validate a job against the model, sign it as the licensee's order
// (`--key`) and queue it atomically through the spool's writer protocol, or, with
// `queue.backend = "postgres"`, insert it into the fleet database (FleetSubmit).
// Failure modes: an invalid job, an unreadable key or a spool error exits 1 with one line;
// nothing is queued then.

import ArgumentParser
import Foundation
import TwinConsent
import TwinDaemon
import TwinInference
import TwinSpool

/// `twinrender submit JOB.json`: validate a job and write it into the spool atomically.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Validate a job file, sign it as the licensee's order (--key) and queue it (tmp/ → fsync → rename into incoming/). Prints the job id.")

    @OptionGroup var options: ConfigOptions

    @Argument(help: "The job file (JSON).")
    var job: String

    @Option(help: "Spool directory (default: from the config).")
    var spool: String?

    @Option(help: "Job id (default: the job's `id` field, else the file name stem).")
    var id: String?

    @Option(help: "The licensee's private key: signs the job as its order (the daemon refuses unsigned orders by default).")
    var key: String?

    @Option(help: "Hours the signed order may wait before it is claimed (default 24).")
    var expiresInHours: Double = 24

    func run() async throws {
        let config = try options.load()
        let url = URL(fileURLWithPath: job)
        var data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ValidationError("cannot read \(job): \(error.localizedDescription)")
        }
        guard data.count <= config.maxJobBytes else {
            throw ValidationError("\(job) is \(data.count) bytes; spool.max_job_bytes is \(config.maxJobBytes)")
        }
        let jobID = try id ?? Self.idField(in: data) ?? url.deletingPathExtension().lastPathComponent
        if let key {
            data = try sign(data, jobID: jobID, keyFile: key)
        }
        let model: TwinModel
        do {
            model = try TwinModel.load(directory: config.modelDirectory)
        } catch {
            throw ValidationError("cannot load the model to validate the job: \(error.description)")
        }
        let spec: JobSpec
        do {
            spec = try JobSpec.parse(data, fileID: jobID, model: model)
        } catch {
            throw ValidationError("job rejected: \(error.code): \(error.message)")
        }
        if config.queue.backend == .postgres, spool == nil {
            try await FleetSubmit.submit(Array(data), id: jobID, priority: spec.priority, config: config, options: options)
            print(jobID)
            return
        }
        let root = spool.map { URL(fileURLWithPath: $0) } ?? config.spoolDirectory
        do {
            // A writer changes nothing in an existing spool; a spool that does not exist yet is
            // created with the daemon's layout and modes (by whoever will run the daemon).
            let access: SpoolAccess = FileManager.default.fileExists(atPath: root.appendingPathComponent("incoming").path) ? .writer : .daemon
            let queue = try Spool(root: root, host: config.host, maxJobBytes: config.maxJobBytes, access: access)
            try queue.submit(data, id: jobID)
        } catch let error as SpoolError {
            throw ValidationError(error.description)
        }
        print(jobID)
    }

    /// Signs the job as an order of the licensee it names.
    private func sign(_ data: Data, jobID: String, keyFile: String) throws -> Data {
        struct Licensee: Decodable { var licensee: String }
        guard let licensee = (try? JSONDecoder().decode(Licensee.self, from: data))?.licensee else {
            throw ValidationError("job rejected: job.missing_field: field 'licensee' is required to sign an order")
        }
        guard expiresInHours > 0, expiresInHours <= 24 * 366 else { throw ValidationError("--expires-in-hours must be in (0, 8784]") }
        let partyKey = try PartyKey.load(from: URL(fileURLWithPath: keyFile))
        return try SignedJobOrder.sign(data, jobID: jobID, signer: licensee, expiresAt: Date().addingTimeInterval(expiresInHours * 3600), key: partyKey)
    }

    /// The job's own `id` field, if it has one.
    static func idField(in data: Data) throws -> String? {
        struct IDField: Decodable { var id: String? }
        return (try? JSONDecoder().decode(IDField.self, from: data))?.id
    }
}
