// Role: validation of the ids and digests in registry records. Party, twin and grant ids become
// file names (key files) and reason messages, so they are restricted to a safe alphabet.
// Reference: the same id alphabet as TwinBase `HostName` (1-64 bytes of A-Z a-z 0-9 . _ -).
// Failure modes: anything else throws `ConsentError.invalidValue` naming the field.
// (Purposes and content tags: ContentTag.swift.)

/// Checks that `value` is a registry id: 1–64 characters of `A–Z a–z 0–9 . _ -`, starting with a
/// letter or digit (so never `.` or `..`, never a path).
func validateIdentifier(_ value: String, field: String) throws(ConsentError) {
    let bytes = Array(value.utf8)
    guard (1...64).contains(bytes.count),
          bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }),
          isAlphanumeric(bytes[0])
    else {
        throw .invalidValue("\(field) '\(value)' is not a valid id (1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit)")
    }
}

/// Checks that `value` is 64 lowercase hexadecimal characters (a SHA-256 digest).
func validateSHA256Hex(_ value: String, field: String) throws(ConsentError) {
    let bytes = Array(value.utf8)
    guard bytes.count == 64,
          bytes.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
    else { throw .invalidValue("\(field) '\(value)' is not a lowercase hex SHA-256 digest") }
}

private func isAlphanumeric(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
}
