// Role: what the registry commands share: `--config`, `--registry DIR`, `--trust-anchor FILE`
// (repeatable), key loading, and small parsing helpers.
// Reference: docs/consent-registry.md, "Commands".
// Failure modes: a missing config (when `--registry`/`--trust-anchor` do not replace it), an
// unreadable key or anchor file, or no trust anchor at all fail with one line.

import ArgumentParser
import Foundation
import TwinConsent
import TwinDaemon

/// `--config PATH`, `--registry DIR` (default: `consent.registry` from the config) and
/// `--trust-anchor FILE` (repeatable; default: `consent.trust_anchors` from the config).
struct RegistryOptions: ParsableArguments {
    @OptionGroup var configOptions: ConfigOptions

    @Option(name: .long, help: "Consent registry directory (default: consent.registry from the config).")
    var registry: String?

    @Option(name: .customLong("trust-anchor"), help: "Registrar public key file; repeatable (default: consent.trust_anchors from the config).")
    var trustAnchor: [String] = []

    /// The registry directory in effect.
    func directory() throws -> URL {
        if let registry { return URL(fileURLWithPath: registry) }
        return try configOptions.load().consentRegistryDirectory
    }

    /// The trust anchors in effect (base64 registrar public keys); at least one.
    func trustAnchors() throws -> [String] {
        let files = trustAnchor.isEmpty ? try configOptions.load().trustAnchorFiles : trustAnchor.map { URL(fileURLWithPath: $0) }
        guard !files.isEmpty else {
            throw CommandFailure("no trust anchor: set consent.trust_anchors in the config or pass --trust-anchor REGISTRAR.pub")
        }
        return try PartyKey.loadTrustAnchors(from: files)
    }

    /// A store for the registry directory in effect.
    func store() throws -> RegistryStore { RegistryStore(directory: try directory(), trustAnchors: try trustAnchors()) }

    /// The registry as it is now, pinned to the head the local daemon last saw (its
    /// `<spool>/state/registry-head.json`, read only) when the config names a spool.
    func load() throws -> ConsentRegistry {
        let pinned = try? configOptions.load().spoolDirectory.appendingPathComponent("state/registry-head.json")
        return try ConsentRegistry.load(
            directory: try directory(), trustAnchors: try trustAnchors(), pinnedHead: try pinned.flatMap { try RegistryHeadStore(file: $0).read() })
    }
}

/// A command-line failure with a one-line message (ArgumentParser prints `Error: <message>` and
/// exits 1, as it does for a `ConsentError`).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Parses a `--role` value.
extension PartyRole: ExpressibleByArgument {}

/// Parses a `--status` value.
extension TwinStatus: ExpressibleByArgument {}

/// Loads a private key file named by a flag.
func loadKey(_ path: String) throws -> PartyKey { try PartyKey.load(from: URL(fileURLWithPath: path)) }

/// Splits a comma-separated flag value, dropping empty items.
func commaList(_ value: String?) -> [String] {
    (value ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// Prints a JSON value with sorted keys.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
