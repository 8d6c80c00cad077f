// Role: `twinrender keygen`: a fresh Ed25519 key pair for a party, registered with the
// registrar's signature.
// Reference: docs/consent-registry.md, "Commands".
// Failure modes: refuses a taken party id or existing key files; the registrar key must be a
// trust anchor (else the replay refuses the record and nothing is written to the registry).

import ArgumentParser
import Foundation
import TwinConsent

/// `twinrender keygen --party ID --role ROLE --out DIR --registrar-key KEY`.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an Ed25519 key pair (DIR/ID.key, mode 0600, and DIR/ID.pub) and register the party (registrar-signed)."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Party id.")
    var party: String

    @Option(name: .long, help: "Party role: model, estate, agency, licensee or host.")
    var role: PartyRole

    @Option(name: .long, help: "Directory for the key files.")
    var out: String

    @Option(name: .customLong("registrar-key"), help: "Registrar private key file (its .pub must be a trust anchor).")
    var registrarKey: String

    func run() throws {
        let store = try registry.store()
        let registrar = try loadKey(registrarKey)
        guard try store.load().parties[party] == nil else {
            throw CommandFailure("party '\(party)' is already registered; use a new id, or 'party rotate' for a new key")
        }
        let key = PartyKey.generate()
        let files = try key.write(party: party, to: URL(fileURLWithPath: out))
        do {
            try store.registerParty(id: party, role: role, publicKey: key.publicKeyBase64, registrarKey: registrar, at: Date())
        } catch {
            // Not registered: leave no key behind that looks like a party's.
            try? FileManager.default.removeItem(at: files.privateKey)
            try? FileManager.default.removeItem(at: files.publicKey)
            throw error
        }
        print("registered \(role.rawValue) '\(party)'")
        print("private key: \(files.privateKey.path) (keep it secret)")
        print("public key:  \(files.publicKey.path)")
    }
}
