import ArgumentParser
import Foundation
import TwinDaemon
import TwinInference
import TwinSpool

/// `twinrender submit JOB.json`: validate a job and write it into the spool atomically.
struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Validate a job file and queue it (tmp/ → fsync → rename into incoming/). Prints the job id.")

    @OptionGroup var options: ConfigOptions

    @Argument(help: "The job file (JSON).")
    var job: String

    @Option(help: "Spool directory (default: from the config).")
    var spool: String?

    @Option(help: "Job id (default: the job's `id` field, else the file name stem).")
    var id: String?

    func run() throws {
        let config = try options.load()
        let url = URL(fileURLWithPath: job)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ValidationError("cannot read \(job): \(error.localizedDescription)")
        }
        guard data.count <= config.maxJobBytes else {
            throw ValidationError("\(job) is \(data.count) bytes; spool.max_job_bytes is \(config.maxJobBytes)")
        }
        let jobID = try id ?? Self.idField(in: data) ?? url.deletingPathExtension().lastPathComponent
        let model: TwinModel
        do {
            model = try TwinModel.load(directory: config.modelDirectory)
        } catch {
            throw ValidationError("cannot load the model to validate the job: \(error.description)")
        }
        do {
            _ = try JobSpec.parse(data, fileID: jobID, model: model)
        } catch {
            throw ValidationError("job rejected: \(error.code): \(error.message)")
        }
        let root = spool.map { URL(fileURLWithPath: $0) } ?? config.spoolDirectory
        do {
            let queue = try Spool(root: root, host: config.host, maxJobBytes: config.maxJobBytes)
            try queue.submit(data, id: jobID)
        } catch let error as SpoolError {
            throw ValidationError(error.description)
        }
        print(jobID)
    }

    /// The job's own `id` field, if it has one.
    static func idField(in data: Data) throws -> String? {
        struct IDField: Decodable { var id: String? }
        return (try? JSONDecoder().decode(IDField.self, from: data))?.id
    }
}
