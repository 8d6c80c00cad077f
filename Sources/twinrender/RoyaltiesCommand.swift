import ArgumentParser
import Foundation
import TwinBase
import TwinLedger

/// `twinrender royalties verify|statement|tail`: thin wrappers over `TwinLedger`.
struct RoyaltiesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "royalties",
        abstract: "Audit the royalty ledger, write statements, follow new events.",
        subcommands: [RoyaltiesVerifyCommand.self, RoyaltiesStatementCommand.self, RoyaltiesTailCommand.self]
    )
}

/// `--ledger DIR`, defaulting to `ledger.directory` from the config.
struct LedgerLocationOptions: ParsableArguments {
    @OptionGroup var configOptions: ConfigOptions

    @Option(name: .long, help: "Ledger directory (default: ledger.directory from the config).")
    var ledger: String?

    /// The ledger directory in effect.
    func directory() throws -> URL {
        if let ledger { return URL(fileURLWithPath: ledger) }
        return try configOptions.load().ledgerDirectory
    }
}

/// Checks every segment's chain; exits 1 naming the first bad line.
struct RoyaltiesVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every ledger segment: hashes, seq gaps, reordering, torn lines, duplicate events."
    )

    @OptionGroup var location: LedgerLocationOptions

    func run() throws {
        let verification = LedgerReader(directory: try location.directory()).verify()
        for segment in verification.segments {
            print("\(segment.file): \(segment.eventCount) events, last seq \(segment.lastSeq), head \(segment.head)")
        }
        for torn in verification.tornFiles { print("\(torn): torn tails moved aside by crash recovery") }
        guard let first = verification.firstProblem else {
            print("ok: \(verification.eventCount) events in \(verification.segments.count) segments")
            return
        }
        for problem in verification.problems { printError(problem.description) }
        printError("FAILED: \(verification.problems.count) problems; first bad line: \(first.file):\(first.line)")
        throw ExitCode(1)
    }
}

/// Writes one model's statement for one month to stdout.
struct RoyaltiesStatementCommand: ParsableCommand {
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

    func run() throws {
        guard let statementPeriod = StatementPeriod(period) else {
            throw ValidationError("--period must be YYYY-MM, got \(period.debugDescription)")
        }
        let events = try LedgerReader(directory: try location.directory()).events()
        let statement = try RoyaltyStatement.build(events: events, model: model, period: statementPeriod,
                                                   createdAt: .now(), sender: sender)
        print(format == .csv ? statement.csv() : statement.json(), terminator: "")
    }
}

/// Prints each new event's ledger line as it is appended, until interrupted.
struct RoyaltiesTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print new royalty events (one JSON line each) as hosts append them."
    )

    @OptionGroup var location: LedgerLocationOptions

    @Flag(name: .long, help: "Print the events already in the ledger first.")
    var fromStart = false

    @Option(name: .long, help: "Seconds between checks for new lines.")
    var interval: Double = 1

    func run() async throws {
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
