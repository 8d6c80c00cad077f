// Role: the one rule for a render host's name, which appears in spool file names (`id~host~pid`),
// ledger segment names (`<host>.jsonl`), registry host parties and log lines.
// Failure modes: `validate` throws `HostNameError` naming the rule the name breaks; the config
// loader calls it, so a bad name stops the daemon before recovery or the ledger ever see it.

/// Why a host name was refused.
public struct HostNameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The refused name.
    public let name: String
    /// The rule it breaks.
    public let description: String
}

/// Host names: 1–64 bytes of `A–Z a–z 0–9 . _ -`, starting with a letter or digit.
public enum HostName {
    /// Longest host name in bytes.
    public static let maxLength = 64

    /// Whether `name` is a valid host name.
    public static func isValid(_ name: String) -> Bool { (try? validate(name)) != nil }

    /// Throws unless `name` is a valid host name.
    public static func validate(_ name: String) throws(HostNameError) {
        let bytes = Array(name.utf8)
        guard (1...maxLength).contains(bytes.count) else {
            throw HostNameError(name: name, description: "host name '\(name)' must be 1-\(maxLength) bytes long")
        }
        guard isAlphanumeric(bytes[0]) else {
            throw HostNameError(name: name, description: "host name '\(name)' must start with a letter or digit")
        }
        guard bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }) else {
            throw HostNameError(name: name, description: "host name '\(name)' may hold only A-Z a-z 0-9 . _ -")
        }
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b)
    }
}
