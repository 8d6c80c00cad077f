// Role: which watermark keys the daemon embeds with and the CLI reads with: `watermark.key_file`
// and `watermark.previous_key_files` of the config, or keys named on the command line.
// Reference: docs/watermark.md, "Keys".
// Failure modes: a key file that is missing, too open, a symlink or malformed throws
// `ImagingError.watermarkKey` naming it; no key at all throws `WatermarkKeys.Missing`.

import Foundation
import TwinImaging

/// Loads the watermark keys of an installation.
public enum WatermarkKeys {
    /// No key was given and none could be taken from the config.
    public struct Missing: Error, CustomStringConvertible {
        /// Why the config gave no key.
        public let reason: String
        public var description: String {
            "no watermark key: give --key FILE, or a config whose watermark.key_file can be read (\(reason))"
        }
    }

    /// The watermark of `config`: embeds with `watermark.key_file` (both layers when
    /// `watermark.coarse_layer`), reads marks made with it and with `watermark.previous_key_files`.
    public static func watermark(config: DaemonConfig) throws -> InvisibleWatermark {
        let current = try WatermarkKey.load(from: config.watermarkKeyFile.path)
        let previous = try config.previousWatermarkKeyFiles.map { try WatermarkKey.load(from: $0.path) }
        return InvisibleWatermark(key: current, previousKeys: previous,
                                  configuration: config.watermarkCoarseLayer ? .withCoarseLayer : .init())
    }

    /// `--key FILE…` when given (the first is the one embedding would use), else the keys of the
    /// config at `configPath`. Throws `Missing` when neither gives a key, and the key file's own
    /// error when a named file cannot be used.
    public static func resolve(keyOptions: [String], configPath: String) throws -> InvisibleWatermark {
        let keys = try keyOptions.map { try WatermarkKey.load(from: $0) }
        if let current = keys.first { return InvisibleWatermark(key: current, previousKeys: Array(keys.dropFirst())) }
        let config: DaemonConfig
        do {
            config = try DaemonConfig.load(path: configPath)
        } catch {
            throw Missing(reason: "\(error)")
        }
        return try watermark(config: config)
    }
}
