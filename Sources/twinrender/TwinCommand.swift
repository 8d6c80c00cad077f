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

/// `twinrender twin register --twin ID --owner PARTY --weights FILE`.
struct TwinRegisterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Register a twin owned by a model, pinning the SHA-256 of its weight file."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Twin id.")
    var twin: String

    @Option(name: .long, help: "The model party who owns the twin.")
    var owner: String

    @Option(name: .long, help: "The twin's weight file (its SHA-256 is pinned).")
    var weights: String

    func run() throws {
        do {
            let record = try registry.store().registerTwin(id: twin, owner: owner, weightsFile: URL(fileURLWithPath: weights), at: Date())
            print("registered twin '\(record.id)' owned by '\(record.owner)', weights sha256 \(record.weightsSHA256)")
        }
    }
}

/// `twinrender twin set-status --twin ID --status active|suspended|deceased --key FILE`.
struct TwinSetStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-status",
        abstract: "Change a twin's status, signed by its owner or her estate."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Twin id.")
    var twin: String

    @Option(name: .long, help: "New status: active, suspended or deceased.")
    var status: TwinStatus

    @Option(name: .long, help: "Private key file of the owner or her estate.")
    var key: String

    func run() throws {
        do {
            let key = try PartyKey.load(from: URL(fileURLWithPath: key))
            let change = try registry.store().setStatus(twin: twin, to: status, key: key, at: Date())
            print("twin '\(twin)' is now \(change.status.rawValue) (signed by '\(change.signer)' at \(change.issuedAt))")
        }
    }
}
