/// A configuration problem: the message names the file, line or key, and what was expected.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) { self.description = description }

    static func syntax(line: Int, _ message: String) -> ConfigError { ConfigError("line \(line): \(message)") }
    static func unknownKey(_ key: String, line: Int) -> ConfigError { ConfigError("line \(line): unknown key '\(key)'") }
    static func wrongType(_ key: String, expected: String, got: TOMLValue) -> ConfigError {
        ConfigError("key '\(key)': expected \(expected), got \(got.typeName)")
    }
    static func outOfRange(_ key: String, _ message: String) -> ConfigError { ConfigError("key '\(key)': \(message)") }
}
