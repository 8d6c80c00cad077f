// Role: `twinrender royalties verify|statement|tail`: thin wrappers over TwinLedger, with host keys
// from the registry and (verify --spool) DeliveryAudit's out/ ↔ ledger check. On a fleet config
// (queue.backend = "postgres") verify and statement read the database's ledger.
// Reference: docs/ledger.md.
// Failure modes: any ledger problem makes verify exit 1 naming file and line; statements refuse
// an unverified ledger.

import ArgumentParser
import Crypto
import Foundation
import TwinConsent
import TwinDaemon
import TwinBase
import TwinLedger

/// `twinrender royalties verify|statement|tail`: thin wrappers over `TwinLedger`.
struct RoyaltiesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "royalties",
        abstract: "Audit the royalty ledger, write statements, follow new events.",
        subcommands: [RoyaltiesVerifyCommand.self, RoyaltiesStatementCommand.self, RoyaltiesTailCommand.self, RoyaltiesExportCommand.self]
    )
}

/// `--ledger DIR`, defaulting to `ledger.directory` from the config, and the registry whose host
/// parties hold the keys every event must be signed with.
struct LedgerLocationOptions: ParsableArguments {
    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Ledger directory (default: the fleet database's ledger when queue.backend = \"postgres\", else ledger.directory from the config).")
    var ledger: String?

    /// The ledger directory in effect.
    func directory() throws -> URL {
        if let ledger { return URL(fileURLWithPath: ledger) }
        return try registry.configOptions.load().ledgerDirectory
    }

    /// Runs `body` on the ledger in effect: `--ledger`; else, on a fleet config, a snapshot of the
    /// database's ledger (`FleetLedgerSnapshot`); else `ledger.directory`.
    func withLedger<T>(_ body: (URL) throws -> T) async throws -> T {
        guard ledger == nil, FleetLedgerSnapshot.isFleet(registry.configOptions) else { return try body(try directory()) }
        return try await FleetLedgerSnapshot.with(registry.configOptions, body)
    }

    /// Host name → the Ed25519 keys the registry holds for that render host (rotated ones too).
    func hostKeys() throws -> [String: [Curve25519.Signing.PublicKey]] {
        try registry.load().hostKeys.mapValues { keys in
            keys.compactMap { Data(base64Encoded: $0).flatMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) } }
        }
    }

    /// The ledger in effect (`withLedger`), verified against the registry's host keys.
    func verified() async throws -> LedgerVerification {
        let keys = try hostKeys()
        return try await withLedger { LedgerReader(directory: $0).verify(hostKeys: keys) }
    }
}

/// Checks every segment (chain, host signatures, signed heads) and, with `--spool`, that out/ and
/// the ledger agree one to one; exits 1 naming each problem.
struct RoyaltiesVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every ledger segment (hashes, host signatures, signed heads, gaps, duplicates) and, with --spool, images against events."
    )

    @OptionGroup var location: LedgerLocationOptions

    @Option(help: "Also check this spool's out/ against the ledger: every event's image present and unaltered, every image with its event.")
    var spool: String?

    @Flag(help: "With --spool: move images without an event to state/orphaned/ and re-queue jobs whose images were lost.")
    var repair = false

    func run() async throws {
        let verification = try await location.verified()
        for segment in verification.segments {
            print("\(segment.file): \(segment.eventCount) events, last seq \(segment.lastSeq), head \(segment.head)")
        }
        for torn in verification.tornFiles { print("\(torn): torn tails moved aside by crash recovery") }
        for problem in verification.problems { printError(problem.description) }
        var failures = verification.problems.count
        if let spool {
            failures += try checkDeliveries(spool: URL(fileURLWithPath: spool))
        }
        guard failures > 0 else {
            print("ok: \(verification.eventCount) events in \(verification.segments.count) segments")
            return
        }
        printError("FAILED: \(failures) problems" + (verification.firstProblem.map { "; first bad line: \($0.file):\($0.line)" } ?? ""))
        throw ExitCode(1)
    }

    /// Prints (and with `--repair` fixes) out/ ↔ ledger disagreements; returns how many remain.
    private func checkDeliveries(spool: URL) throws -> Int {
        let audit = DeliveryAudit(spool: spool, ledger: try location.directory())
        let problems = try audit.problems()
        for problem in problems { printError(problem.description) }
        guard repair, !problems.isEmpty else { return problems.count }
        for action in audit.repair(problems) { print("repaired: \(action)") }
        return try audit.problems().filter { $0.kind != .imageMissing }.count
    }
}

/// Writes one model's statement for one month to stdout.
struct RoyaltiesStatementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statement",
        abstract: "A model's royalty statement for one month (DDEX DSR-style), per currency."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, json }

    @OptionGroup var location: LedgerLocationOptions

    @Option(name: .long, help: "The payee party (the events' model field).")
    var model: String

    @Option(name: .long, help: "The month, YYYY-MM (UTC).")
    var period: String

    @Option(name: .long, help: "csv or json.")
    var format: Format = .csv

    @Option(name: .long, help: "The statement's sender.")
    var sender = "twinrender"

    func run() async throws {
        guard let statementPeriod = StatementPeriod(period) else {
            throw ValidationError("--period must be YYYY-MM, got \(period.debugDescription)")
        }
        let statement = try RoyaltyStatement.build(from: try await location.verified(), model: model, period: statementPeriod,
                                                   createdAt: .now(), sender: sender)
        print(format == .csv ? statement.csv() : statement.json(), terminator: "")
    }
}

/// Prints each new event's ledger line as it is appended, until interrupted.
struct RoyaltiesTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print new royalty events (one JSON line each) as hosts append them (on a fleet config, as they are committed to the database)."
    )

    @OptionGroup var location: LedgerLocationOptions

    @Flag(name: .long, help: "Print the events already in the ledger first.")
    var fromStart = false

    @Option(name: .long, help: "Seconds between checks for new lines.")
    var interval: Double = 1

    func run() async throws {
        if location.ledger == nil, FleetLedgerSnapshot.isFleet(location.registry.configOptions) {
            // The fleet's ledger is in the database: follow its commits (as `db tail`, which checks --interval).
            return try await DbTailCommand.follow(url: nil, location.registry.configOptions, fromStart: fromStart, interval: interval)
        }
        guard interval > 0, interval <= 3600 else { throw ValidationError("--interval must be in (0, 3600]") }
        let follower = try LedgerFollower(directory: try location.directory(), fromStart: fromStart)
        for try await event in follower.events(every: .milliseconds(Int(interval * 1000))) {
            FileHandle.standardOutput.write(Data((event.jsonLine + "\n").utf8))
        }
    }
}

private func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
