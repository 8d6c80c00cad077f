// Role: `twinrender verify IMAGE`: trace an image through its watermark and the ledger, and check
// its C2PA manifest (ImageVerification), as text or JSON; the exit code is the verdict.
// Reference: docs/watermark.md ("twinrender verify").

import ArgumentParser
import Foundation
import TwinDaemon
import TwinImaging

/// `twinrender verify IMAGE [--json] [--ledger DIR]`: decode the invisible watermark and
/// provenance metadata of a PNG or JPEG and trace it through the royalty ledger. Logic lives in
/// `TwinDaemon` (`ImageVerification`); exit codes are `ImageVerification.Outcome.exitCode`.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Decode an image's watermark and look it up in the royalty ledger.",
        discussion: """
        Exit status: 0 mark found and in the ledger; 1 no twinrender watermark found; 2 mark found \
        but not in the ledger; 3 mark found but the ledger could not be consulted; 4 the file could \
        not be read or is not a valid PNG/JPEG; 5 the mark is in the ledger but the picture is a \
        different one (a transplanted mark); 64 no watermark key (--key, or watermark.key_file in the \
        config). Marks are read with every key given (current and previous ones). A PNG's C2PA manifest is checked and reported \
        (valid; trusted when it chains to a trust anchor); an invalid one is a warning and does not \
        change the exit status.
        """)

    @Argument(help: "Image to verify (PNG or JPEG).")
    var image: String

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Ledger directory (default: the fleet database's ledger when queue.backend = \"postgres\", else ledger.directory from the config).")
    var ledger: String?

    @Option(name: .customLong("trust-anchor"), help: "Operator CA certificate PEM for C2PA manifests (repeatable; default: provenance.trust_anchors).")
    var trustAnchors: [String] = []

    @Option(name: .customLong("key"), help: "Watermark key file (repeatable: current and previous keys; default: watermark.key_file and watermark.previous_key_files).")
    var keys: [String] = []

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let watermark: InvisibleWatermark
        do {
            watermark = try WatermarkKeys.resolve(keyOptions: keys, configPath: options.path)
        } catch {
            FileHandle.standardError.write(Data("twinrender verify: \(error)\n".utf8))
            throw ExitCode(64)
        }
        let trust = C2PATrust.resolve(anchorOptions: trustAnchors, configPath: options.path)
        let verification = await withLedgerSource { source in
            ImageVerification.verify(file: image, ledger: source, c2pa: trust, inspector: ImageInspector(watermark: watermark))
        }
        if json {
            print(verification.json)
        } else if verification.outcome == .unreadable {
            FileHandle.standardError.write(Data((verification.text + "\n").utf8))
        } else {
            print(verification.text)
        }
        let code = verification.outcome.exitCode
        if code != 0 { throw ExitCode(code) }
    }

    /// Runs `body` with the ledger to trace through: `--ledger`; else, on a fleet config, a snapshot
    /// of the database's ledger (unavailable, with the reason, when the database cannot be
    /// reached); else `ledger.directory`.
    private func withLedgerSource(_ body: (LedgerSource) -> ImageVerification) async -> ImageVerification {
        guard ledger == nil, FleetLedgerSnapshot.isFleet(options) else {
            return body(LedgerSource.resolve(ledgerOption: ledger, configPath: options.path))
        }
        do {
            return try await FleetLedgerSnapshot.with(options) { body(.directory($0)) }
        } catch {
            return body(.unavailable(reason: "the fleet database's ledger cannot be read (\(error))"))
        }
    }
}
