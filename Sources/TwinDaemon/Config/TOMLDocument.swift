import Foundation

/// A value in a TOML document.
public enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])

    var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .array: "array"
        }
    }
}

/// A parser for the part of TOML 1.0 that twinrender's config uses: `[table]` and `[a.b]`
/// headers, bare keys (and dotted bare keys), basic and literal strings, integers (with `_`),
/// floats, booleans, arrays (across lines), and `#` comments. Anything else (inline tables,
/// dates, multi-line strings) is refused with the line number, never guessed at.
///
/// (TOMLKit, the usual choice, does not resolve in this build environment.)
public struct TOMLDocument: Sendable {
    /// Every key with its full dotted path (`spool.directory`), in file order.
    public private(set) var entries: [(key: String, value: TOMLValue, line: Int)] = []

    /// Parses `text`; throws `ConfigError` naming the line on any syntax error or duplicate key.
    public init(parsing text: String) throws {
        var parser = Parser(lines: text.components(separatedBy: "\n"))
        entries = try parser.parse()
    }

    /// The value at a dotted key.
    public subscript(key: String) -> TOMLValue? {
        entries.first(where: { $0.key == key })?.value
    }

    private struct Parser {
        let lines: [String]
        var index = 0
        var table = ""
        var seen: Set<String> = []
        var tables: Set<String> = []

        init(lines: [String]) { self.lines = lines }

        mutating func parse() throws -> [(key: String, value: TOMLValue, line: Int)] {
            var out: [(key: String, value: TOMLValue, line: Int)] = []
            while index < lines.count {
                let lineNumber = index + 1
                var cursor = Cursor(Array(lines[index].unicodeScalars), line: lineNumber)
                index += 1
                cursor.skipSpace()
                if cursor.atEndOrComment { continue }
                if cursor.peek == "[" {
                    cursor.advance()
                    if cursor.peek == "[" { throw cursor.error("arrays of tables are not supported") }
                    let name = try cursor.parseKey()
                    cursor.skipSpace()
                    guard cursor.peek == "]" else { throw cursor.error("expected ']' after table name") }
                    cursor.advance()
                    cursor.skipSpace()
                    guard cursor.atEndOrComment else { throw cursor.error("unexpected text after table header") }
                    guard tables.insert(name).inserted else { throw cursor.error("table [\(name)] defined twice") }
                    table = name
                    continue
                }
                let key = try cursor.parseKey()
                cursor.skipSpace()
                guard cursor.peek == "=" else { throw cursor.error("expected '=' after key '\(key)'") }
                cursor.advance()
                cursor.skipSpace()
                let value = try parseValue(&cursor)
                cursor.skipSpace()
                guard cursor.atEndOrComment else { throw cursor.error("unexpected text after the value of '\(key)'") }
                let full = table.isEmpty ? key : table + "." + key
                guard seen.insert(full).inserted else { throw cursor.error("key '\(full)' defined twice") }
                out.append((full, value, lineNumber))
            }
            return out
        }

        /// Parses a value; arrays may continue on following lines.
        mutating func parseValue(_ cursor: inout Cursor) throws -> TOMLValue {
            guard let c = cursor.peek else { throw cursor.error("missing value") }
            switch c {
            case "\"": return .string(try cursor.parseBasicString())
            case "'": return .string(try cursor.parseLiteralString())
            case "[":
                cursor.advance()
                var items: [TOMLValue] = []
                while true {
                    try skipSpaceAcrossLines(&cursor)
                    if cursor.peek == "]" { cursor.advance(); return .array(items) }
                    items.append(try parseValue(&cursor))
                    try skipSpaceAcrossLines(&cursor)
                    if cursor.peek == "," { cursor.advance(); continue }
                    if cursor.peek == "]" { cursor.advance(); return .array(items) }
                    throw cursor.error("expected ',' or ']' in array")
                }
            case "{": throw cursor.error("inline tables are not supported")
            default: return try cursor.parseScalar()
            }
        }

        mutating func skipSpaceAcrossLines(_ cursor: inout Cursor) throws {
            cursor.skipSpace()
            while cursor.atEndOrComment {
                guard index < lines.count else { throw cursor.error("unterminated array") }
                cursor = Cursor(Array(lines[index].unicodeScalars), line: index + 1)
                index += 1
                cursor.skipSpace()
            }
        }
    }

    private struct Cursor {
        let scalars: [Unicode.Scalar]
        let line: Int
        var position = 0

        init(_ scalars: [Unicode.Scalar], line: Int) {
            self.scalars = scalars.last == "\r" ? Array(scalars.dropLast()) : scalars
            self.line = line
        }

        var peek: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }
        var atEndOrComment: Bool { peek == nil || peek == "#" }
        mutating func advance() { position += 1 }
        mutating func skipSpace() { while peek == " " || peek == "\t" { advance() } }

        func error(_ message: String) -> ConfigError { ConfigError.syntax(line: line, message) }

        static func isBareKey(_ c: Unicode.Scalar) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-"
        }

        mutating func parseKey() throws -> String {
            var parts: [String] = []
            repeat {
                skipSpace()
                var part = ""
                while let c = peek, Self.isBareKey(c) { part.unicodeScalars.append(c); advance() }
                guard !part.isEmpty else { throw error("expected a key") }
                parts.append(part)
                skipSpace()
                if peek == "." { advance() } else { break }
            } while true
            return parts.joined(separator: ".")
        }

        mutating func parseBasicString() throws -> String {
            advance()
            var out = ""
            while let c = peek {
                advance()
                switch c {
                case "\"": return out
                case "\\":
                    guard let e = peek else { throw error("unterminated escape") }
                    advance()
                    switch e {
                    case "n": out += "\n"
                    case "t": out += "\t"
                    case "r": out += "\r"
                    case "\"": out += "\""
                    case "\\": out += "\\"
                    case "u", "U":
                        let count = e == "u" ? 4 : 8
                        guard position + count <= scalars.count,
                              let code = UInt32(String(String.UnicodeScalarView(scalars[position..<position + count])), radix: 16),
                              let scalar = Unicode.Scalar(code) else { throw error("bad \\u escape") }
                        out.unicodeScalars.append(scalar)
                        position += count
                    default: throw error("unknown escape '\\\(e)'")
                    }
                default:
                    if c.value < 0x20 && c != "\t" { throw error("control character in string") }
                    out.unicodeScalars.append(c)
                }
            }
            throw error("unterminated string")
        }

        mutating func parseLiteralString() throws -> String {
            advance()
            var out = ""
            while let c = peek {
                advance()
                if c == "'" { return out }
                out.unicodeScalars.append(c)
            }
            throw error("unterminated string")
        }

        mutating func parseScalar() throws -> TOMLValue {
            var token = ""
            while let c = peek, c != ",", c != "]", c != " ", c != "\t", c != "#" { token.unicodeScalars.append(c); advance() }
            switch token {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            case "": throw error("missing value")
            default: break
            }
            let digits = token.replacingOccurrences(of: "_", with: "")
            if let int = Int(digits) { return .integer(int) }
            if digits.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let double = Double(digits), double.isFinite {
                return .float(double)
            }
            throw error("cannot read value '\(token)' (strings need quotes)")
        }
    }
}
