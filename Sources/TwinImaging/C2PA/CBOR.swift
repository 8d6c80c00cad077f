// Role: the CBOR values a C2PA manifest is made of (claim, assertions, COSE structures), a
// deterministic encoder and a strict decoder for them.
// Reference: RFC 8949 (CBOR) §3 (encoding), §4.2.1 (core deterministic encoding: shortest heads,
// definite lengths, map keys sorted by their encoded bytes); Appendix A holds the test vectors.
// Failure modes: the encoder is total. The decoder (which accepts map keys in any order, as other
// C2PA writers use struct order) throws `C2PAError.malformedCBOR` for truncated
// input, indefinite lengths, non-shortest heads, floats and other simple values than
// false/true/null, invalid UTF-8, duplicate map keys, nesting deeper than 32, a length past the
// end of the input, and trailing bytes.

/// One CBOR data item. Maps keep their pairs in the order given; the encoder writes them sorted
/// by encoded key (RFC 8949 §4.2.1), so equal values always encode to equal bytes.
public indirect enum CBORValue: Sendable, Equatable {
    /// Major type 0.
    case unsigned(UInt64)
    /// Major type 1: the value is `-1 - n`.
    case negative(UInt64)
    /// Major type 2.
    case bytes([UInt8])
    /// Major type 3.
    case text(String)
    /// Major type 4.
    case array([CBORValue])
    /// Major type 5.
    case map([(CBORValue, CBORValue)])
    /// Major type 6.
    case tagged(UInt64, CBORValue)
    /// Simple values 20 and 21.
    case bool(Bool)
    /// Simple value 22.
    case null

    /// An integer, as major type 0 or 1.
    public static func int(_ value: Int) -> CBORValue {
        value >= 0 ? .unsigned(UInt64(value)) : .negative(UInt64(-1 - value))
    }

    /// A map with text keys, in the given order (the encoder sorts them).
    public static func textMap(_ pairs: [(String, CBORValue)]) -> CBORValue {
        .map(pairs.map { (.text($0.0), $0.1) })
    }

    public static func == (lhs: CBORValue, rhs: CBORValue) -> Bool {
        switch (lhs, rhs) {
        case let (.unsigned(a), .unsigned(b)), let (.negative(a), .negative(b)): a == b
        case let (.bytes(a), .bytes(b)): a == b
        case let (.text(a), .text(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.map(a), .map(b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.tagged(t, a), .tagged(u, b)): t == u && a == b
        case let (.bool(a), .bool(b)): a == b
        case (.null, .null): true
        default: false
        }
    }

    // MARK: Access

    /// The value under text key `key` of a map, nil otherwise.
    public subscript(key: String) -> CBORValue? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.0 == .text(key) }?.1
    }

    /// The value under integer key `key` of a map (COSE header labels), nil otherwise.
    public subscript(label key: Int) -> CBORValue? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.0 == .int(key) }?.1
    }

    /// The string of a text item.
    public var text: String? { if case .text(let s) = self { s } else { nil } }
    /// The bytes of a byte-string item.
    public var bytes: [UInt8]? { if case .bytes(let b) = self { b } else { nil } }
    /// The items of an array.
    public var array: [CBORValue]? { if case .array(let a) = self { a } else { nil } }
    /// A non-negative or negative integer that fits `Int`.
    public var int: Int? {
        switch self {
        case .unsigned(let n) where n <= UInt64(Int.max): Int(n)
        case .negative(let n) where n < UInt64(Int.max): -1 - Int(n)
        default: nil
        }
    }

    // MARK: Encoding

    /// The deterministic encoding (RFC 8949 §4.2.1).
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    private func encode(into out: inout [UInt8]) {
        switch self {
        case .unsigned(let n): Self.head(0, n, &out)
        case .negative(let n): Self.head(1, n, &out)
        case .bytes(let b):
            Self.head(2, UInt64(b.count), &out)
            out += b
        case .text(let s):
            let utf8 = Array(s.utf8)
            Self.head(3, UInt64(utf8.count), &out)
            out += utf8
        case .array(let items):
            Self.head(4, UInt64(items.count), &out)
            for item in items { item.encode(into: &out) }
        case .map(let pairs):
            Self.head(5, UInt64(pairs.count), &out)
            let sorted = pairs.map { ($0.0.encoded, $0.1) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
            for (key, value) in sorted {
                out += key
                value.encode(into: &out)
            }
        case .tagged(let tag, let value):
            Self.head(6, tag, &out)
            value.encode(into: &out)
        case .bool(let flag): out.append(flag ? 0xF5 : 0xF4)
        case .null: out.append(0xF6)
        }
    }

    /// The shortest head for major type `major` and argument `n`.
    private static func head(_ major: UInt8, _ n: UInt64, _ out: inout [UInt8]) {
        let m = major << 5
        switch n {
        case 0..<24: out.append(m | UInt8(n))
        case 24...0xFF: out += [m | 24, UInt8(n)]
        case 0x100...0xFFFF: out += [m | 25, UInt8(n >> 8), UInt8(n & 0xFF)]
        case 0x1_0000...0xFFFF_FFFF: out += [m | 26] + (0..<4).reversed().map { UInt8((n >> ($0 * 8)) & 0xFF) }
        default: out += [m | 27] + (0..<8).reversed().map { UInt8((n >> ($0 * 8)) & 0xFF) }
        }
    }

    // MARK: Decoding

    /// Decodes exactly one data item filling all of `bytes`, rejecting the forms listed in the
    /// file header. Map keys may come in any order (c2pa-rs writes them in struct order).
    public static func decode(_ bytes: [UInt8]) throws -> CBORValue {
        var reader = Reader(bytes: bytes)
        let value = try reader.item(depth: 0)
        guard reader.offset == bytes.count else {
            throw C2PAError.malformedCBOR("\(bytes.count - reader.offset) trailing bytes after the item")
        }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0
        static let maximumDepth = 32

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw C2PAError.malformedCBOR("truncated at byte \(offset)") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func take(_ count: UInt64) throws -> ArraySlice<UInt8> {
            guard count <= UInt64(bytes.count - offset) else {
                throw C2PAError.malformedCBOR("length \(count) at byte \(offset) runs past the end")
            }
            defer { offset += Int(count) }
            return bytes[offset..<(offset + Int(count))]
        }

        /// The argument of a head whose initial byte had additional information `info`.
        mutating func argument(_ info: UInt8) throws -> UInt64 {
            let start = offset - 1
            let n: UInt64
            let minimum: UInt64
            switch info {
            case 0..<24: return UInt64(info)
            case 24: n = UInt64(try byte()); minimum = 24
            case 25: n = try take(2).reduce(0) { $0 << 8 | UInt64($1) }; minimum = 0x100
            case 26: n = try take(4).reduce(0) { $0 << 8 | UInt64($1) }; minimum = 0x1_0000
            case 27: n = try take(8).reduce(0) { $0 << 8 | UInt64($1) }; minimum = 0x1_0000_0000
            case 31: throw C2PAError.malformedCBOR("indefinite length at byte \(start)")
            default: throw C2PAError.malformedCBOR("reserved additional information \(info) at byte \(start)")
            }
            guard n >= minimum else { throw C2PAError.malformedCBOR("non-shortest head at byte \(start)") }
            return n
        }

        mutating func item(depth: Int) throws -> CBORValue {
            guard depth <= Self.maximumDepth else {
                throw C2PAError.malformedCBOR("nesting deeper than \(Self.maximumDepth) at byte \(offset)")
            }
            let start = offset
            let initial = try byte()
            let major = initial >> 5
            let info = initial & 0x1F
            if major == 7 {
                switch info {
                case 20: return .bool(false)
                case 21: return .bool(true)
                case 22: return .null
                default: throw C2PAError.malformedCBOR("unsupported simple value or float (0x\(String(initial, radix: 16))) at byte \(start)")
                }
            }
            let n = try argument(info)
            switch major {
            case 0: return .unsigned(n)
            case 1: return .negative(n)
            case 2: return .bytes(Array(try take(n)))
            case 3:
                guard let s = String(validating: try take(n), as: UTF8.self) else {
                    throw C2PAError.malformedCBOR("text string at byte \(start) is not valid UTF-8")
                }
                return .text(s)
            case 4:
                // Every item takes at least one byte: a count past the remaining bytes is a lie.
                guard n <= UInt64(bytes.count - offset) else { throw C2PAError.malformedCBOR("array count \(n) at byte \(start) runs past the end") }
                return .array(try (0..<n).map { _ in try item(depth: depth + 1) })
            case 5:
                guard n <= UInt64(bytes.count - offset) / 2 else { throw C2PAError.malformedCBOR("map count \(n) at byte \(start) runs past the end") }
                var pairs: [(CBORValue, CBORValue)] = []
                for _ in 0..<n {
                    let key = try item(depth: depth + 1)
                    guard !pairs.contains(where: { $0.0 == key }) else {
                        throw C2PAError.malformedCBOR("duplicate map key in the map at byte \(start)")
                    }
                    pairs.append((key, try item(depth: depth + 1)))
                }
                return .map(pairs)
            default: return .tagged(n, try item(depth: depth + 1))
            }
        }
    }
}
