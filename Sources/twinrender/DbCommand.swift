// Role: `twinrender db migrate|ingest|verify|tail|bench` (and `work`, DbWorkCommand.swift) and `royalties export`: the fleet database
// from the command line (queue.url from the config, or --url). Thin: each calls TwinFleet.
// Reference: docs/fleet.md; TwinFleet (FleetSchema, FleetIngest, FleetLedger, FleetQueue).
// Failure modes: no URL, a bad URL or an unreachable database exits 1 with one line naming the
// URL (password left out); `verify` exits 1 naming each problem; `bench` refuses a database
// that already holds jobs (it would measure, and then leave, someone's queue).

import ArgumentParser
import Crypto
import Foundation
import Logging
import TwinBase
import TwinDaemon
import TwinFleet
import TwinLedger

/// `--url` (default: `queue.url` from the config) and how to open the database. The config
/// comes from the command's own `--config` (`ConfigOptions`), so the two never clash.
struct FleetOptions: ParsableArguments {
    @Option(name: .long, help: "Fleet database URL (default: queue.url from the config).")
    var url: String?

    /// Runs `body` with the pool running; database errors become one line and exit 1.
    func withDatabase<T: Sendable>(_ configOptions: ConfigOptions,
                                   _ body: @Sendable (FleetDatabase) async throws -> T) async throws -> T {
        try await Self.withDatabase(url: url, configOptions, body)
    }

    /// The database URL in effect: `url`, else `queue.url` of a postgres-backed config.
    static func fleetURL(_ url: String?, _ configOptions: ConfigOptions) throws -> FleetURL {
        let text: String
        if let url {
            text = url
        } else {
            let config = try configOptions.load()
            guard config.queue.backend == .postgres, let configured = config.queue.url else {
                throw ValidationError("no fleet database: set [queue] backend = \"postgres\" and url in the config, or pass --url")
            }
            text = configured
        }
        do { return try FleetURL(text) } catch { throw ValidationError("\(error)") }
    }

    /// `withDatabase` for callers without parsed options (`submit`, `status`).
    static func withDatabase<T: Sendable>(url: String?, _ configOptions: ConfigOptions,
                                          _ body: @Sendable (FleetDatabase) async throws -> T) async throws -> T {
        var logger = Logger(label: "twinrender")
        logger.logLevel = .error
        let database = FleetDatabase(url: try fleetURL(url, configOptions), logger: logger)
        do {
            return try await database.withRunning(body)
        } catch let error as FleetError {
            let reason = error.isTransient ? await database.diagnose().map { " (the server says: \($0))" } ?? "" : ""
            throw CommandFailure("\(database.url.redacted): \(error)\(reason)")
        }
    }
}

/// `twinrender db …`.
struct DbCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "The fleet database: schema migrations, the ingest service, ledger verification, a claim benchmark.",
        subcommands: [DbMigrateCommand.self, DbIngestCommand.self, DbVerifyCommand.self, DbTailCommand.self, DbBenchCommand.self, DbWorkCommand.self]
    )
}

/// Applies the missing schema migrations (safe to run from several hosts at once).
struct DbMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply the fleet schema's missing migrations; prints the version.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        let (applied, version) = try await fleet.withDatabase(options) { database in
            (try await FleetSchema.migrate(database), try await FleetSchema.version(of: database))
        }
        print(applied.isEmpty ? "schema at version \(version): nothing to apply"
                              : "applied \(applied.map(String.init).joined(separator: ", ")); schema at version \(version)")
    }
}

/// Moves dropped job files from a shared directory's `incoming/` into the queue, exactly once.
struct DbIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Move job files from DIR/incoming/ into the fleet queue (insert, commit, then rename into DIR/ingested/).")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var fleet: FleetOptions

    @Option(name: .long, help: "The drop directory (default: queue.ingest_directory from the config).")
    var directory: String?

    @Flag(name: .long, help: "One pass, then exit.")
    var once = false

    @Option(name: .long, help: "Seconds between passes.")
    var interval: Double = 1

    func run() async throws {
        guard interval > 0, interval <= 3600 else { throw ValidationError("--interval must be in (0, 3600]") }
        let config = try? options.load()
        guard let root = directory.map({ URL(fileURLWithPath: $0) }) ?? config?.queue.ingestDirectory else {
            throw ValidationError("no drop directory: pass --directory or set queue.ingest_directory")
        }
        let host = config?.host ?? DaemonConfig.systemHostName()
        let maxBytes = config?.maxJobBytes ?? 64 * 1024
        let (once, interval) = (once, interval)
        try await fleet.withDatabase(options) { database in
            let ingest = try FleetIngest(queue: FleetQueue(database: database, host: host), root: root, maxJobBytes: maxBytes)
            repeat {
                do {
                    let scan = try await ingest.scan()
                    for id in scan.queued { print("queued \(id)") }
                    for id in scan.alreadyQueued { print("already queued \(id)") }
                    for (name, code) in scan.rejected.sorted(by: { $0.key < $1.key }) { print("rejected \(name): \(code)") }
                } catch let error as FleetError where error.isTransient && !once {
                    FileHandle.standardError.write(Data("ingest: \(error); retrying\n".utf8))
                }
                if !once { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
            } while !once
        }
    }
}

/// The database ledger checked like a ledger directory: chains, host signatures, heads, plus
/// the database's own agreements (columns, quotas, job states).
struct DbVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the ledger in the fleet database (hash chains, host signatures, signed heads, quotas, job states).")

    @OptionGroup var location: LedgerLocationOptions
    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        let keyBytes = try location.hostKeys().mapValues { $0.map(\.rawRepresentation) }   // the key type is not Sendable
        let verification = try await fleet.withDatabase(location.registry.configOptions) { database in
            let keys = try keyBytes.mapValues { try $0.map { try Curve25519.Signing.PublicKey(rawRepresentation: $0) } }
            return try await FleetLedger(database: database).verify(hostKeys: keys)
        }
        for segment in verification.ledger.segments {
            print("\(segment.host): \(segment.eventCount) events, last seq \(segment.lastSeq), head \(segment.head)")
        }
        let problems = verification.ledger.problems.map(\.description) + verification.inconsistencies
        guard !problems.isEmpty else {
            print("ok: \(verification.ledger.eventCount) events from \(verification.ledger.segments.count) hosts")
            return
        }
        for problem in problems { FileHandle.standardError.write(Data((problem + "\n").utf8)) }
        throw CommandFailure("FAILED: \(problems.count) problems")
    }
}

/// Prints each royalty event committed to the database (its ledger line), in commit order.
struct DbTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print new royalty events from the fleet database (one JSON line each) as hosts commit them.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var fleet: FleetOptions

    @Flag(name: .long, help: "Print the events already in the ledger first.")
    var fromStart = false

    @Option(name: .long, help: "Seconds between checks for new events.")
    var interval: Double = 1

    func run() async throws {
        try await Self.follow(url: fleet.url, options, fromStart: fromStart, interval: interval)
    }

    /// Prints committed events' ledger lines in commit order until interrupted (also
    /// `royalties tail` on a fleet config); a database outage is reported and retried.
    static func follow(url: String?, _ options: ConfigOptions, fromStart: Bool, interval: Double) async throws {
        guard interval > 0, interval <= 3600 else { throw ValidationError("--interval must be in (0, 3600]") }
        try await FleetOptions.withDatabase(url: url, options) { database in
            let ledger = FleetLedger(database: database)
            var position: Int64 = 0
            if !fromStart {
                while let last = try await ledger.events(after: position, limit: 10_000).last { position = last.position }
            }
            while !Task.isCancelled {
                do {
                    for (at, event) in try await ledger.events(after: position) {
                        FileHandle.standardOutput.write(Data((event.jsonLine + "\n").utf8))
                        position = at
                    }
                } catch let error as FleetError where error.isTransient {
                    FileHandle.standardError.write(Data("tail: \(error); retrying\n".utf8))
                }
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }
    }
}

/// `twinrender royalties export --out DIR`: the database ledger in the ledger directory format.
struct RoyaltiesExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the fleet database's ledger as a ledger directory (<host>.jsonl + <host>.jsonl.head), for verify, statement and tail.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var fleet: FleetOptions

    @Option(name: .long, help: "Directory to write (created if missing; files replaced atomically).")
    var out: String

    func run() async throws {
        let directory = URL(fileURLWithPath: out)
        let count = try await fleet.withDatabase(options) { database in try await FleetLedger(database: database).export(to: directory) }
        print("exported \(count) events to \(directory.path)")
    }
}

/// Claims + completions per second with a no-op render, on an empty database.
struct DbBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure claims + commits per second with a no-op render (needs an empty fleet database; leaves the jobs behind).")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var fleet: FleetOptions

    @Option(name: .long, help: "Jobs to submit, claim and commit.")
    var jobs = 2000

    @Option(name: .long, help: "Concurrent claimers (each: claim, then commit one image).")
    var workers = 8

    @Option(name: .long, help: "Simulated hosts the claimers are spread over (each has its own ledger chain).")
    var hosts = 4

    @Option(name: .long, help: "Grants the jobs are spread over (commits under one grant queue for its quota row: 1 is the worst case).")
    var grants = 1

    @Option(name: .long, help: "For the extrapolation: seconds one render host spends per job.")
    var renderSeconds: Double = 10

    @Option(name: .long, help: "For the extrapolation: workers per render host.")
    var workersPerHost = 2

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        guard jobs > 0, workers > 0, hosts > 0, grants > 0, renderSeconds > 0, workersPerHost > 0 else {
            throw ValidationError("--jobs, --workers, --hosts, --grants, --render-seconds and --workers-per-host must be positive")
        }
        let (jobs, workers, hosts, grants) = (self.jobs, self.workers, self.hosts, self.grants)
        let result = try await fleet.withDatabase(options) { database in
            try await FleetSchema.migrate(database)
            guard try await FleetStatus.read(database).states.values.reduce(0, +) == 0 else {
                throw CommandFailure("bench needs an empty fleet database (this one holds jobs)")
            }
            return try await FleetBenchmark.run(database: database, jobs: jobs, workers: workers, hosts: hosts, grants: grants)
        }
        let perHostClaims = Double(workersPerHost) / renderSeconds
        let servable = Int(result.jobsPerSecond / perHostClaims)
        if json {
            struct Report: Encodable {
                let jobs: Int, workers: Int, hosts: Int, grants: Int, seconds: Double, jobsPerSecond: Double
                let claimMillisecondsMedian: Double, commitMillisecondsMedian: Double, renderHostsServable: Int
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(Report(
                jobs: jobs, workers: workers, hosts: hosts, grants: grants, seconds: result.seconds, jobsPerSecond: result.jobsPerSecond,
                claimMillisecondsMedian: result.claimMedianMilliseconds, commitMillisecondsMedian: result.commitMedianMilliseconds,
                renderHostsServable: servable)), as: UTF8.self))
            return
        }
        print(String(format: "%d jobs, %d claimers on %d hosts, %d grants: %.2f s, %.0f claims+commits/s; median claim %.2f ms, commit %.2f ms",
                     jobs, workers, hosts, grants, result.seconds, result.jobsPerSecond, result.claimMedianMilliseconds, result.commitMedianMilliseconds))
        print(String(format: "one database at this rate serves about %d render hosts of %d workers at %.0f s per job",
                     servable, workersPerHost, renderSeconds))
    }
}

/// `submit` and `status` in fleet mode.
enum FleetSubmit {
    /// Inserts a validated (and signed) job into the fleet queue; a repeated submission of the
    /// same bytes is accepted once; the same id with other bytes is refused.
    static func submit(_ bytes: [UInt8], id: String, priority: Int, config: DaemonConfig, options: ConfigOptions) async throws {
        let host = config.host
        let inserted = try await FleetOptions.withDatabase(url: nil, options) { database in
            try await FleetQueue(database: database, host: host).submit(id: id, spec: bytes, priority: priority)
        }
        if !inserted { FileHandle.standardError.write(Data("job \(id) was already queued with these bytes; nothing changed\n".utf8)) }
    }

    /// Prints the fleet view (`FleetStatus`).
    static func printStatus(options: ConfigOptions, json: Bool) async throws {
        let status = try await FleetOptions.withDatabase(url: nil, options) { database in try await FleetStatus.read(database) }
        guard json else { print(status.text); return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        print(String(decoding: try encoder.encode(status), as: UTF8.self))
    }
}
