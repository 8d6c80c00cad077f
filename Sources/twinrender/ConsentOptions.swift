import ArgumentParser
import Foundation
import TwinConsent
import TwinDaemon

/// `--config PATH` plus `--registry DIR` (default: `consent.registry` from the config), shared by
/// the keygen, party, twin and consent commands.
struct RegistryOptions: ParsableArguments {
    @OptionGroup var configOptions: ConfigOptions

    @Option(name: .long, help: "Consent registry directory (default: consent.registry from the config).")
    var registry: String?

    /// The registry directory in effect.
    func directory() throws -> URL {
        if let registry { return URL(fileURLWithPath: registry) }
        return try configOptions.load().consentRegistryDirectory
    }

    /// A store for the registry directory in effect.
    func store() throws -> RegistryStore { RegistryStore(directory: try directory()) }
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
