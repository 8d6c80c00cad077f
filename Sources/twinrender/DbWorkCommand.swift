// Role: `twinrender db work`: a fleet worker process with a no-op render, for the crash test
// and for measuring the queue without the model: N `FleetWorker`s plus the host's housekeeping
// (heartbeat, rescuer) and LISTEN/NOTIFY wake-ups, writing one small deterministic file per image
// through the delivery protocol: stage `out/.<job>-<i>.png~<host>~<pid>.partial` (fsync), commit
// (the fenced transaction), rename to `out/<job>-<i>.png`. It does not render, check consent or
// watermark: that is `serve`'s pipeline (FleetJobRunner) with `queue.backend = "postgres"`.
// Reference: docs/fleet.md; TwinDaemon's delivery protocol (stage, commit, rename).
// Failure modes: at start, this host's staged leftovers (any pid) are renamed into place when the
// database holds their event with the same SHA-256, else deleted (FleetDeliveryReconciliation,
// as `serve` does); a fenced or failed claim's
// staged files are deleted. SIGTERM/SIGINT stop claiming; SIGKILL at any instant leaves at most
// staged files (reconciled at the next start) and leases (reclaimed by the rescuer).

import ArgumentParser
import Crypto
import Foundation
import Logging
import TwinBase
import TwinDaemon
import TwinFleet
import TwinLedger
import TwinSpool

struct DbWorkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "work",
        abstract: "Run fleet workers with a no-op render (stage, commit, rename one small file per image): for crash tests and queue measurements.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var fleet: FleetOptions

    @Option(name: .long, help: "This host's name (default: host from the config).")
    var host: String?

    @Option(name: .long, help: "This host's ledger key (a twinrender private key file; default ledger.host_key).")
    var hostKey: String?

    @Option(name: .long, help: "Output directory for the images.")
    var out: String

    @Option(name: .long, help: "Concurrent workers.")
    var workers = 2

    @Option(name: .long, help: "Milliseconds one no-op image takes.")
    var renderMs = 50

    @Option(name: .long, help: "Lease seconds (default queue.lease_seconds).")
    var leaseSeconds: Double?

    @Option(name: .long, help: "Distinct hosts a job may fail on before it is parked (default queue.max_failed_hosts).")
    var maxFailedHosts: Int?

    @Option(name: .long, help: "Failures in all (render failures and lost leases) before a job is parked.")
    var maxFailures = 5

    @Flag(name: .long, help: "Return when the queue is empty.")
    var untilEmpty = false

    func run() async throws {
        let config = try? options.load()
        let host = self.host ?? config?.host ?? DaemonConfig.systemHostName()
        guard HostName.isValid(host) else { throw ValidationError("--host: \(host.debugDescription) is not a valid host name") }
        guard let keyFile = hostKey.map({ URL(fileURLWithPath: $0) }) ?? config?.hostKeyFile else {
            throw ValidationError("--host-key is required without a config")
        }
        let keyText = (try? String(contentsOf: keyFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard let keyBytes = Data(base64Encoded: keyText), keyBytes.count == 32 else {
            throw ValidationError("\(keyFile.path) is not a twinrender private key (one line of base64, 32 bytes)")
        }
        guard workers >= 1, workers <= 64, renderMs >= 0 else { throw ValidationError("--workers must be 1...64, --render-ms >= 0") }
        let lease = Duration.milliseconds(Int((leaseSeconds ?? config?.queue.leaseSeconds ?? 30) * 1000))
        let poll = Duration.milliseconds(Int((config?.queue.pollInterval ?? 2) * 1000))
        let maxHosts = maxFailedHosts ?? config?.queue.maxFailedHosts ?? 3
        let outDirectory = URL(fileURLWithPath: out)
        try DurableFile.makeDirectory(outDirectory.path, mode: 0o755)
        let (workers, renderMs, untilEmpty, maxFailures) = (self.workers, self.renderMs, self.untilEmpty, self.maxFailures)
        guard maxFailures >= 1 else { throw ValidationError("--max-failures must be >= 1") }
        let stop = StopFlag()
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let sources = [SIGTERM, SIGINT].map { number -> DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { stop.set() }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }

        try await fleet.withDatabase(options) { database in
            let queue = FleetQueue(database: database, host: host, leaseDuration: lease, maxFailedHosts: maxHosts, maxFailures: maxFailures)
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: keyBytes)
            let staging = NoOpStaging(out: outDirectory, host: host)
            let reconciled = try await staging.reconcile(FleetLedger(database: database))
            if reconciled.delivered + reconciled.discarded > 0 {
                say("work.reconciled delivered=\(reconciled.delivered) discarded=\(reconciled.discarded)")
            }
            let wake = FleetWakeSignal()
            let log: @Sendable (FleetWorkerEvent) -> Void = { event in
                switch event {
                case .delivered(let claim, let events): say("work.delivered job=\(claim.job) generation=\(claim.generation) images=\(events.count)")
                case .fenced(let claim, _): staging.discard(claim); say("work.fenced job=\(claim.job) generation=\(claim.generation)")
                case .ended(let claim, let state): staging.discard(claim); say("work.ended job=\(claim.job) state=\(state)")
                case .failed(let claim, let why): staging.discard(claim); say("work.failed job=\(claim.job) \(why)")
                case .databaseUnavailable(let why): FileHandle.standardError.write(Data("work.database_unavailable \(why)\n".utf8))
                case .claimed: break
                }
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await FleetWakeups(database: database).run(onWake: { wake.signal() }) }
                group.addTask {
                    await FleetHousekeeping(queue: queue, workers: workers, interval: lease / 2).run(wake: wake) { moved in
                        for (job, state) in moved { say("work.reclaimed job=\(job) state=\(state)") }
                    }
                }
                let worker = FleetWorker(queue: queue, key: key, pollInterval: poll, wake: wake)
                let workerTasks = (0..<workers).map { _ in
                    Task {
                        await worker
                            .run(untilEmpty: untilEmpty, shouldStop: { stop.isSet }, onEvent: log) { claim, context in
                                try await staging.render(claim, milliseconds: renderMs, context: context)
                            }
                    }
                }
                for task in workerTasks { await task.value }
                group.cancelAll()
            }
        }
    }
}

/// A stop request from a signal handler.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// The no-op render's files: staged before the commit, renamed into place after it.
final class NoOpStaging: @unchecked Sendable {
    let out: URL
    /// The image names (the daemon's: staged `.<job>-<i>.png~<host>~<pid>.partial`, final `<job>-<i>.png`).
    let directory: ImageDirectory
    private let lock = NSLock()
    private var staged: [String: [URL]] = [:]   // "job#generation" → staged files

    init(out: URL, host: String) { self.out = out; self.directory = ImageDirectory(url: out, host: host) }

    /// The bytes of image `index` of `job` (deterministic: a re-render reproduces them).
    static func image(job: String, index: Int) -> [UInt8] { Array("twinrender no-op image \(job) \(index)\n".utf8) }

    private static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    /// "Renders" the job's images (its `count`, default 1), staging each; returns the delivery.
    func render(_ claim: FleetClaim, milliseconds: Int, context: FleetWorkContext) async throws -> FleetWorkResult {
        struct Fields: Decodable { let count: Int? }
        let count = min(max((try? JSONDecoder().decode(Fields.self, from: Data(claim.spec)))?.count ?? 1, 1), 16)
        var drafts = [RoyaltyEventDraft]()
        var files = [URL]()
        for index in 0..<count {
            if milliseconds > 0 { try await Task.sleep(for: .milliseconds(milliseconds)) }
            if context.isLeaseLost { break }
            let bytes = Self.image(job: claim.job, index: index)
            let staging = directory.stagingImageURL(job: claim.job, index: index)
            unlink(staging.path)
            try DurableFile.writeNew(bytes, to: staging.path)
            files.append(staging)
            let digest = Self.sha256(bytes)
            drafts.append(RoyaltyEventDraft(
                job: claim.job, imageIndex: index, twin: "noop-twin", model: "noop-model", licensee: "noop-licensee",
                orderSigner: "noop-licensee", orderSHA256: Self.sha256(claim.spec), grant: "noop-grant", grantHash: Self.sha256(Array("noop-grant".utf8)),
                purpose: "ecommerce", territory: "EU", deliveredAt: UTCTimestamp.now(), outputSHA256: digest,
                amount: 100, commissionBasisPoints: 2000, currency: "EUR", paymentDays: 30))
        }
        lock.withLock { staged["\(claim.job)#\(claim.generation)"] = files }
        let (job, stagedFiles) = (claim.job, files)
        return .deliver(drafts: drafts, quotas: ["noop-grant": nil], afterCommit: { [self] _ in
            for (index, file) in stagedFiles.enumerated() { rename(file.path, directory.finalImageURL(job: job, index: index).path) }
            try? DurableFile.fsyncDirectory(out.path)
            _ = lock.withLock { staged.removeValue(forKey: "\(job)#\(claim.generation)") }
        })
    }

    /// Deletes the staged files of a claim that will not be committed by us.
    func discard(_ claim: FleetClaim) {
        let files = lock.withLock { staged.removeValue(forKey: "\(claim.job)#\(claim.generation)") } ?? []
        for file in files { unlink(file.path) }
    }

    /// This host's leftovers from earlier processes: into place when committed, else deleted.
    func reconcile(_ ledger: FleetLedger) async throws -> (delivered: Int, discarded: Int) {
        let outcome = try await FleetDeliveryReconciliation(directory: directory, ledger: ledger).run()
        return (outcome.delivered.count, outcome.discarded.count)
    }
}

/// Writes one line to stdout at once (no stdio buffer: a SIGKILL loses no finished line).
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
