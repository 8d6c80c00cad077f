// Role: canonical JSON, the bytes every registry record and log line is signed or hashed over.
// Reference: the "canonical bytes are what is signed" rule of TUF and Sigstore; the form is ours:
// an object with keys sorted by their UTF-8 bytes, no whitespace, strings escaped minimally (`"`,
// `\`, and control characters as `\u00XX`; everything else literal UTF-8), integers in plain
// decimal, booleans as `true`/`false`, arrays of strings, nested objects. Described in
// docs/consent-registry.md.
// Failure modes: `CanonicalValue.parseObject` throws `malformedFile` for anything that is not a
// JSON object of those value kinds (floats, nulls, mixed arrays). Verifiers re-serialise what they
// parsed and compare bytes, so a parser's leniency (duplicate keys, `1.0`, escapes) never passes.

import Foundation

/// One value in a canonical record.
enum CanonicalValue: Equatable, Sendable, Decodable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case strings([String])
    case object([String: CanonicalValue])

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let value = try? single.decode(String.self) {
            self = .string(value)
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Int.self) {
            self = .int(value)
        } else if let value = try? single.decode([String].self) {
            self = .strings(value)
        } else {
            self = .object(try single.decode([String: CanonicalValue].self))
        }
    }

    /// Parses `bytes` as a JSON object of canonical values (not checking that the bytes are
    /// canonical: compare `canonicalJSON(result)` with them for that).
    static func parseObject(_ bytes: some Collection<UInt8>) throws -> [String: CanonicalValue] {
        do {
            return try JSONDecoder().decode([String: CanonicalValue].self, from: Data(bytes))
        } catch {
            throw ConsentError.malformedFile("not a JSON object of strings, integers, booleans, string lists and objects")
        }
    }
}

/// Serialises `fields` canonically: `{"a":1,"b":"x","c":["p","q"],"d":{"e":true}}`.
func canonicalJSON(_ fields: [String: CanonicalValue]) -> [UInt8] {
    var out: [UInt8] = []
    appendObject(fields, to: &out)
    return out
}

private func appendObject(_ fields: [String: CanonicalValue], to out: inout [UInt8]) {
    out.append(UInt8(ascii: "{"))
    for (index, (key, value)) in fields.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
        if index > 0 { out.append(UInt8(ascii: ",")) }
        appendString(key, to: &out)
        out.append(UInt8(ascii: ":"))
        switch value {
        case .string(let value):
            appendString(value, to: &out)
        case .int(let value):
            out.append(contentsOf: Array(String(value).utf8))
        case .bool(let value):
            out.append(contentsOf: Array((value ? "true" : "false").utf8))
        case .strings(let values):
            out.append(UInt8(ascii: "["))
            for (i, value) in values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendString(value, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let nested):
            appendObject(nested, to: &out)
        }
    }
    out.append(UInt8(ascii: "}"))
}

private func appendString(_ value: String, to out: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    out.append(UInt8(ascii: "\""))
    for byte in value.utf8 {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            out.append(UInt8(ascii: "\\"))
            out.append(byte)
        case 0..<0x20:
            out.append(contentsOf: Array("\\u00".utf8))
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        default:
            out.append(byte)
        }
    }
    out.append(UInt8(ascii: "\""))
}

/// Typed access to the fields of a parsed record, each failure naming the field.
struct RecordFields {
    let fields: [String: CanonicalValue]
    let type: String

    func string(_ key: String) throws -> String {
        guard case .string(let value)? = fields[key] else { throw missing(key, "a string") }
        return value
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = fields[key] else { return nil }
        guard case .string(let text) = value else { throw missing(key, "a string") }
        return text
    }

    func int(_ key: String) throws -> Int {
        guard case .int(let value)? = fields[key] else { throw missing(key, "an integer") }
        return value
    }

    func strings(_ key: String) throws -> [String] {
        guard case .strings(let value)? = fields[key] else { throw missing(key, "a list of strings") }
        return value
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard let value = fields[key] else { return nil }
        guard case .bool(let flag) = value else { throw missing(key, "a boolean") }
        return flag
    }

    func date(_ key: String) throws -> Date { try UTCDate.parse(string(key), field: key) }

    private func missing(_ key: String, _ kind: String) -> ConsentError {
        ConsentError.malformedFile("\(type) record: field '\(key)' is missing or not \(kind)")
    }
}
