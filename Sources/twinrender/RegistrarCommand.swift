// Role: `twinrender registrar init` and `twinrender death attest`: the registrar's key pair (a
// trust anchor) and the records only the registrar signs besides party records.
// Reference: docs/consent-registry.md, "Keys" and "Commands".
// Failure modes: refuses to overwrite key files; a refused record fails with the replay's reason.

import ArgumentParser
import Foundation
import TwinBase
import TwinConsent

/// `twinrender registrar init --out DIR --id NAME`.
struct RegistrarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registrar",
        abstract: "Manage the registrar key (the trust anchor that vouches for party keys).",
        subcommands: [RegistrarInitCommand.self]
    )
}

/// Writes `DIR/NAME.key` (mode 0600; keep it offline) and `DIR/NAME.pub`.
struct RegistrarInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a registrar key pair; list NAME.pub in consent.trust_anchors."
    )

    @Option(name: .long, help: "Directory for the key files.")
    var out: String

    @Option(name: .long, help: "Registrar name (file names NAME.key, NAME.pub).")
    var id: String

    func run() throws {
        let files = try PartyKey.generate().write(party: id, to: URL(fileURLWithPath: out))
        print("registrar private key: \(files.privateKey.path) (keep it offline)")
        print("registrar public key:  \(files.publicKey.path) (add it to consent.trust_anchors)")
    }
}

/// `twinrender death attest --model ID --registrar-key KEY [--died-on DATE]`.
struct DeathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "death",
        abstract: "Record the registrar's attestation of a model's death.",
        subcommands: [DeathAttestCommand.self]
    )
}

/// From this record on, only the model's designated estate signs for her twins.
struct DeathAttestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "Attest a model's death (registrar key); her designated estate then acts for her twins."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "The model's party id.")
    var model: String

    @Option(name: .customLong("registrar-key"), help: "Registrar private key file.")
    var registrarKey: String

    @Option(name: .customLong("died-on"), help: "Date of death, YYYY-MM-DD (default: today, UTC).")
    var diedOn: String?

    func run() throws {
        let day = diedOn ?? UTCTimestamp.now().calendarDate.description
        try registry.store().attestDeath(model: model, diedOn: day, registrarKey: loadKey(registrarKey), at: Date())
        print("recorded the death of '\(model)' on \(day)")
    }
}
