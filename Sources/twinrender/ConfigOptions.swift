// Role: `--config PATH` for every subcommand (default $TWINRENDER_CONFIG, else /etc/twinrender).
// Failure modes: an invalid config exits with the loader's message naming the key.

import ArgumentParser
import Foundation
import TwinDaemon

/// `--config PATH` (default `$TWINRENDER_CONFIG`, else `/etc/twinrender/twinrender.toml`).
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Config file (default: $TWINRENDER_CONFIG or /etc/twinrender/twinrender.toml).")
    var config: String?

    /// The config path in effect.
    var path: String { config ?? DaemonConfig.defaultPath() }

    /// Loads the config, turning a config error into a clean validation failure.
    func load() throws -> DaemonConfig {
        do {
            return try DaemonConfig.load(path: path)
        } catch let error as ConfigError {
            throw ValidationError("config: \(error.description)")
        }
    }
}
