// Role: `twinrender estate designate`: a model names her estate, with her own key, while alive.
// Reference: docs/consent-registry.md, "Estates".
// Failure modes: a key that is not the model's, an unregistered estate, or a model whose death
// is already attested fail with the replay's reason.

import ArgumentParser
import Foundation
import TwinConsent

/// `twinrender estate designate --model ID --estate ID --key MODEL.key`.
struct EstateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estate",
        abstract: "Designate a model's estate.",
        subcommands: [EstateDesignateCommand.self]
    )
}

/// Signs the designation with the model's key.
struct EstateDesignateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "designate",
        abstract: "The model designates her estate (signed with her key; only while she lives)."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "The model's party id.")
    var model: String

    @Option(name: .long, help: "The estate's party id (registered with role estate).")
    var estate: String

    @Option(name: .long, help: "The model's private key file.")
    var key: String

    func run() throws {
        try registry.store().designateEstate(model: model, estate: estate, key: loadKey(key), at: Date())
        print("'\(model)' designated '\(estate)' as her estate")
    }
}
