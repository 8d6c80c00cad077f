import ArgumentParser
import Foundation
import TwinConsent

/// `twinrender party add`: registers a party whose key was made elsewhere.
struct PartyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "party",
        abstract: "Manage consent parties.",
        subcommands: [PartyAddCommand.self]
    )
}

/// `twinrender party add --party ID --role ROLE --public-key FILE [--estate-of ID]`.
struct PartyAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Register a party with an existing Ed25519 public key (one line of base64)."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Party id.")
    var party: String

    @Option(name: .long, help: "Party role: model, estate, agency or licensee.")
    var role: PartyRole

    @Option(name: .customLong("estate-of"), help: "For an estate: the model it stands for.")
    var estateOf: String?

    @Option(name: .customLong("public-key"), help: "Public key file (ID.pub from keygen).")
    var publicKey: String

    func run() throws {
        do {
            let key = try PartyKey.loadPublicKey(from: URL(fileURLWithPath: publicKey))
            try registry.store().addParty(Party(id: party, role: role, publicKey: key, estateOf: estateOf))
            print("registered \(role.rawValue) '\(party)'")
        }
    }
}
