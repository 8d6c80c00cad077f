// Role: `twinrender twin register|set-status`: the owner's signed consent to create a twin from
// exact weights, and signed status changes.
// Reference: docs/consent-registry.md, "Commands".
// Failure modes: a key that is not the owner's (or, after her death, her estate's), an unknown
// twin, or a date beyond the clock-skew bound fail with the replay's reason.

import ArgumentParser
import Foundation
import TwinConsent

/// `twinrender twin register|set-status`.
struct TwinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twin",
        abstract: "Register twins and change their status.",
        subcommands: [TwinRegisterCommand.self, TwinSetStatusCommand.self]
    )
}

/// `twinrender twin register --twin ID --weights FILE --key OWNER.key`.
struct TwinRegisterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Register a twin, signed by the model who owns it, pinning the SHA-256 of its weight file."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Twin id.")
    var twin: String

    @Option(name: .long, help: "The twin's weight file (its SHA-256 is pinned).")
    var weights: String

    @Option(name: .long, help: "Private key file of the model who owns the twin.")
    var key: String

    func run() throws {
        let record = try registry.store().registerTwin(id: twin, weightsFile: URL(fileURLWithPath: weights), key: loadKey(key), at: Date())
        print("registered twin '\(record.id)' owned by '\(record.owner)', weights sha256 \(record.weightsSHA256)")
    }
}

/// `twinrender twin set-status --twin ID --status active|suspended --key FILE`.
struct TwinSetStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-status",
        abstract: "Suspend or reactivate a twin, signed by its owner (her estate after her attested death)."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Twin id.")
    var twin: String

    @Option(name: .long, help: "New status: active or suspended (deceased follows from a death attestation).")
    var status: TwinStatus

    @Option(name: .long, help: "Private key file of the owner or, after her death, her estate.")
    var key: String

    func run() throws {
        let change = try registry.store().setStatus(twin: twin, to: status, key: loadKey(key), at: Date())
        print("twin '\(twin)' is now \(change.status.rawValue) (signed by '\(change.signer)' at \(UTCDate.format(change.issuedAt)))")
    }
}
