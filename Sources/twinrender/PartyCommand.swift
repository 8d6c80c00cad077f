// Role: `twinrender party add|rotate`: registers a party whose key was made elsewhere, or gives a
// party a new key (records signed with the old key after the rotation are refused).
// Reference: docs/consent-registry.md, "Commands".
// Failure modes: an unreadable key file, a taken id (add) or unknown id (rotate), a key already
// used by any party, or a registrar key that is not a trust anchor fail with one line.

import ArgumentParser
import Foundation
import TwinConsent

/// `twinrender party add|rotate`.
struct PartyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "party",
        abstract: "Register parties and rotate their keys (registrar-signed).",
        subcommands: [PartyAddCommand.self, PartyRotateCommand.self]
    )
}

/// `twinrender party add --party ID --role ROLE --public-key FILE --registrar-key KEY`.
struct PartyAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Register a party with an existing Ed25519 public key (one line of base64)."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Party id.")
    var party: String

    @Option(name: .long, help: "Party role: model, estate, agency, licensee or host.")
    var role: PartyRole

    @Option(name: .customLong("public-key"), help: "Public key file (ID.pub).")
    var publicKey: String

    @Option(name: .customLong("registrar-key"), help: "Registrar private key file.")
    var registrarKey: String

    func run() throws {
        let key = try PartyKey.loadPublicKey(from: URL(fileURLWithPath: publicKey))
        try registry.store().registerParty(id: party, role: role, publicKey: key, registrarKey: loadKey(registrarKey), at: Date())
        print("registered \(role.rawValue) '\(party)'")
    }
}

/// `twinrender party rotate --party ID --public-key FILE --registrar-key KEY`.
struct PartyRotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Give a party a new public key; records signed with the old key after this are refused."
    )

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: "Party id.")
    var party: String

    @Option(name: .customLong("public-key"), help: "The new public key file.")
    var publicKey: String

    @Option(name: .customLong("registrar-key"), help: "Registrar private key file.")
    var registrarKey: String

    func run() throws {
        let key = try PartyKey.loadPublicKey(from: URL(fileURLWithPath: publicKey))
        let record = try registry.store().rotateParty(id: party, publicKey: key, registrarKey: loadKey(registrarKey), at: Date())
        print("rotated the key of \(record.role.rawValue) '\(party)'")
    }
}
