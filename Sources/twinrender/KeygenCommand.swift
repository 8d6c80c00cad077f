import ArgumentParser
import Foundation
import TwinConsent

/// `twinrender keygen`: a fresh Ed25519 key pair for a party, registered in the consent registry.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an Ed25519 key pair (DIR/ID.key, mode 0600, and DIR/ID.pub) and register the party."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Party id.")
    var party: String

    @Option(name: .long, help: "Party role: model, estate, agency or licensee.")
    var role: PartyRole

    @Option(name: .customLong("estate-of"), help: "For an estate: the model it stands for.")
    var estateOf: String?

    @Option(name: .long, help: "Directory for the key files.")
    var out: String

    func run() throws {
        do {
            let store = try registry.store()
            let key = PartyKey.generate()
            let record = try Party(id: party, role: role, publicKey: key.publicKeyBase64, estateOf: estateOf)
            guard try store.load().parties[party] == nil else {
                throw CommandFailure("party '\(party)' is already registered; use a new id or 'party add' with its existing key")
            }
            let files = try key.write(party: party, to: URL(fileURLWithPath: out))
            try store.addParty(record)
            print("registered \(role.rawValue) '\(party)'")
            print("private key: \(files.privateKey.path) (keep it secret)")
            print("public key:  \(files.publicKey.path)")
        }
    }
}
