// Role: the one error type of config loading (`TOMLDocument` syntax and limits, `DaemonConfig`
// keys, types and ranges).
// Reference: swift-service-lifecycle's public error structs (`ServiceRunnerError.swift`): one
// type, built only through static constructors.
// Failure modes: none of its own; every message names the line or the key so an operator can
// fix the file (`serve` refuses to start, SIGHUP logs `config.reload_failed` and keeps the old
// config).

/// A configuration problem: the message names the file, line or key, and what was expected.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    /// The full message, e.g. `line 3: key 'spool.max_attempts' defined twice`.
    public let description: String

    init(_ description: String) { self.description = description }

    static func syntax(line: Int, _ message: String) -> ConfigError { ConfigError("line \(line): \(message)") }
    static func unknownKey(_ key: String, line: Int) -> ConfigError { ConfigError("line \(line): unknown key '\(key)'") }
    static func wrongType(_ key: String, expected: String, got: TOMLValue) -> ConfigError {
        ConfigError("key '\(key)': expected \(expected), got \(got.typeName)")
    }
    static func outOfRange(_ key: String, _ message: String) -> ConfigError { ConfigError("key '\(key)': \(message)") }
    /// Arrays nested deeper than `TOMLDocument.maximumNestingDepth`.
    static func nestingTooDeep(line: Int, limit: Int) -> ConfigError {
        ConfigError("line \(line): arrays nested deeper than \(limit) (TOMLDocument.maximumNestingDepth)")
    }
    /// A document larger than `TOMLDocument.maximumDocumentBytes`.
    static func tooLarge(bytes: Int, limit: Int) -> ConfigError {
        ConfigError("config is \(bytes) bytes; at most \(limit) are read (TOMLDocument.maximumDocumentBytes)")
    }
}
