// Canonical JSON for signed registry records (grants, revocations, twin status changes).
//
// The signed bytes are a JSON object with keys sorted by their UTF-8 bytes, no whitespace, strings
// escaped minimally (`"`, `\`, and control characters as `\u00XX`; everything else as literal UTF-8),
// integers in plain decimal, booleans as `true`/`false`. Every record type lists its fields explicitly, so each field is covered
// by the signature and a field added to a file is noticed (the file no longer equals its canonical
// form). Format described in docs/consent-registry.md.

/// One value in a canonical record.
enum CanonicalValue: Equatable, Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case strings([String])
}

/// Serialises `fields` canonically: `{"a":1,"b":"x","c":["p","q"]}`.
func canonicalJSON(_ fields: [String: CanonicalValue]) -> [UInt8] {
    var out: [UInt8] = [UInt8(ascii: "{")]
    for (index, key) in fields.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
        if index > 0 { out.append(UInt8(ascii: ",")) }
        appendString(key, to: &out)
        out.append(UInt8(ascii: ":"))
        switch fields[key]! {
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
        }
    }
    out.append(UInt8(ascii: "}"))
    return out
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
