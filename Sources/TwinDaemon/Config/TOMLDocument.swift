// Role: reads `twinrender.toml`: the part of TOML 1.0 that `DaemonConfig` uses, and nothing more.
// `[table]` and `[a.b]` headers, bare and dotted bare keys, basic ("...", with \n \t \r \" \\
// \uXXXX \UXXXXXXXX escapes) and literal ('...') strings, integers (with `_`), finite floats,
// booleans, arrays (of those values, across lines), and `#` comments.
// Reference: TOML 1.0.0 (https://toml.io/en/v1.0.0), sections Keys, String, Integer, Float,
// Boolean, Array, Table. LebJe/TOMLKit was tried instead: a scratch package depending on
// `.package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0")`, `swift build` with Swift
// 6.3.1 on Debian 12 ends "Build complete!" (it bundles toml++ 3.4.0). It refuses arrays and inline
// tables nested over 256 ("exceeded maximum nested value depth of 256 (TOML_MAX_NESTED_VALUES)"),
// but a table header or dotted key of 100,000 parts overflows its stack (SIGSEGV in toml++'s
// `parser::update_region_ends`), so the config stays on this small parser.
// Failure modes: anything outside the subset (inline tables, arrays of tables, dates,
// multi-line strings, hex/octal integers), a duplicate key or table, a key that is both a value
// and a table, nesting past `maximumNestingDepth`, a dotted key of more than
// `maximumKeyParts` parts and a document over `maximumDocumentBytes` throw `ConfigError` naming
// the line. Nothing recurses deeper than `maximumNestingDepth`, so no input can exhaust the stack.

import Foundation

/// A value in a TOML document.
public enum TOMLValue: Equatable, Sendable {
    /// A basic or literal string.
    case string(String)
    /// A 64-bit signed integer.
    case integer(Int)
    /// A finite floating-point number.
    case float(Double)
    /// `true` or `false`.
    case boolean(Bool)
    /// An array of values (nested at most `TOMLDocument.maximumNestingDepth` deep).
    case array([TOMLValue])

    /// The TOML type name, for error messages.
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

/// A parsed config file: every key with its full dotted path and the line it was defined on.
public struct TOMLDocument: Sendable {
    /// Deepest array nesting accepted (`a = [[1]]` is depth 2). Deeper input throws
    /// `ConfigError` ("line N: arrays nested deeper than 32") instead of recursing further.
    public static let maximumNestingDepth = 32
    /// Most parts in one dotted key or table header, table part included (`spool.directory` is 2).
    public static let maximumKeyParts = 8
    /// Largest document, in UTF-8 bytes (1 MiB; the shipped config is under 2 KiB).
    public static let maximumDocumentBytes = 1 << 20

    /// Every key with its full dotted path (`spool.directory`), in file order.
    public private(set) var entries: [(key: String, value: TOMLValue, line: Int)] = []

    /// Parses `text`; throws `ConfigError` naming the line on any syntax error, duplicate key or
    /// exceeded limit.
    public init(parsing text: String) throws {
        guard text.utf8.count <= Self.maximumDocumentBytes else {
            throw ConfigError.tooLarge(bytes: text.utf8.count, limit: Self.maximumDocumentBytes)
        }
        var parser = Parser(lines: text.split(separator: "\n", omittingEmptySubsequences: false))
        entries = try parser.parse()
    }

    /// The value at a dotted key.
    public subscript(key: String) -> TOMLValue? {
        entries.first(where: { $0.key == key })?.value
    }
}

/// Line-by-line parser state: the current table and the keys and tables seen so far.
private struct Parser {
    let lines: [Substring]
    var index = 0
    var table: [String] = []
    var keys: Set<String> = []
    var tables: Set<String> = []
    /// Every proper prefix of a key or table (`spool` for `spool.directory`): a key may not be one.
    var prefixes: Set<String> = []

    init(lines: [Substring]) { self.lines = lines }

    mutating func parse() throws -> [(key: String, value: TOMLValue, line: Int)] {
        var out: [(key: String, value: TOMLValue, line: Int)] = []
        while var cursor = nextLine() {
            cursor.skipSpace()
            if cursor.atEndOrComment { continue }
            if cursor.peek == "[" {
                try parseTableHeader(&cursor)
                continue
            }
            let line = cursor.line
            let key = table + (try cursor.parseKey())
            try cursor.expect("=", "expected '=' after key '\(key.joined(separator: "."))'")
            cursor.skipSpace()
            let value = try parseValue(&cursor, depth: 1)
            try cursor.expectEnd("unexpected text after the value of '\(key.joined(separator: "."))'")
            try define(key, line: line, isTable: false)
            out.append((key.joined(separator: "."), value, line))
        }
        return out
    }

    /// The next line as a cursor, or nil at the end of the text.
    mutating func nextLine() -> Cursor? {
        guard index < lines.count else { return nil }
        index += 1
        return Cursor(lines[index - 1], line: index)
    }

    mutating func parseTableHeader(_ cursor: inout Cursor) throws {
        cursor.advance()
        if cursor.peek == "[" { throw cursor.error("arrays of tables are not supported") }
        let name = try cursor.parseKey()
        try cursor.expect("]", "expected ']' after table name")
        try cursor.expectEnd("unexpected text after table header")
        try define(name, line: cursor.line, isTable: true)
        table = name
    }

    /// Records a key or table; throws on a duplicate or a value/table clash.
    mutating func define(_ path: [String], line: Int, isTable: Bool) throws {
        let name = path.joined(separator: ".")
        guard path.count <= TOMLDocument.maximumKeyParts else {
            throw ConfigError.syntax(line: line, "key '\(name)' has \(path.count) parts; at most \(TOMLDocument.maximumKeyParts) are allowed")
        }
        let kind = isTable ? "table [\(name)]" : "key '\(name)'"
        guard !keys.contains(name), !(isTable && tables.contains(name)) else {
            throw ConfigError.syntax(line: line, "\(kind) defined twice")
        }
        guard isTable || !prefixes.contains(name) else {
            throw ConfigError.syntax(line: line, "key '\(name)' is already a table")
        }
        for end in 1..<max(1, path.count) {
            let prefix = path[0..<end].joined(separator: ".")
            guard !keys.contains(prefix) else {
                throw ConfigError.syntax(line: line, "\(kind) extends '\(prefix)', which is a value")
            }
            prefixes.insert(prefix)
        }
        if isTable { tables.insert(name) } else { keys.insert(name) }
    }

    /// Parses a value at nesting `depth` (1 for a key's value); arrays may continue on later lines.
    mutating func parseValue(_ cursor: inout Cursor, depth: Int) throws -> TOMLValue {
        switch cursor.peek {
        case nil, "#": throw cursor.error("missing value")
        case "\"": return .string(try cursor.parseBasicString())
        case "'": return .string(try cursor.parseLiteralString())
        case "{": throw cursor.error("inline tables are not supported")
        case "[":
            guard depth <= TOMLDocument.maximumNestingDepth else {
                throw ConfigError.nestingTooDeep(line: cursor.line, limit: TOMLDocument.maximumNestingDepth)
            }
            return try parseArray(&cursor, depth: depth)
        default: return try cursor.parseScalar()
        }
    }

    mutating func parseArray(_ cursor: inout Cursor, depth: Int) throws -> TOMLValue {
        cursor.advance()
        var items: [TOMLValue] = []
        while true {
            try skipSpaceAcrossLines(&cursor)
            if cursor.peek == "]" { break }
            items.append(try parseValue(&cursor, depth: depth + 1))
            try skipSpaceAcrossLines(&cursor)
            if cursor.peek == "," { cursor.advance(); continue }
            if cursor.peek == "]" { break }
            throw cursor.error("expected ',' or ']' in array")
        }
        cursor.advance()
        return .array(items)
    }

    mutating func skipSpaceAcrossLines(_ cursor: inout Cursor) throws {
        cursor.skipSpace()
        while cursor.atEndOrComment {
            guard let next = nextLine() else { throw cursor.error("unterminated array") }
            cursor = next
            cursor.skipSpace()
        }
    }
}

/// A position in one line.
private struct Cursor {
    let scalars: [Unicode.Scalar]
    let line: Int
    var position = 0

    init(_ text: Substring, line: Int) {
        let scalars = Array(text.unicodeScalars)
        self.scalars = scalars.last == "\r" ? Array(scalars.dropLast()) : scalars
        self.line = line
    }

    var peek: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }
    var atEndOrComment: Bool { peek == nil || peek == "#" }
    mutating func advance() { position += 1 }
    mutating func skipSpace() { while peek == " " || peek == "\t" { advance() } }

    func error(_ message: String) -> ConfigError { ConfigError.syntax(line: line, message) }

    /// Skips spaces, then requires `scalar`.
    mutating func expect(_ scalar: Unicode.Scalar, _ message: String) throws {
        skipSpace()
        guard peek == scalar else { throw error(message) }
        advance()
    }

    /// Skips spaces, then requires the end of the line or a comment.
    mutating func expectEnd(_ message: String) throws {
        skipSpace()
        guard atEndOrComment else { throw error(message) }
    }

    static func isBareKey(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-"
    }

    /// A bare or dotted bare key, as its parts; stops counting past `maximumKeyParts`.
    mutating func parseKey() throws -> [String] {
        var parts: [String] = []
        repeat {
            skipSpace()
            var part = ""
            while let c = peek, Self.isBareKey(c) { part.unicodeScalars.append(c); advance() }
            guard !part.isEmpty else { throw error("expected a key") }
            parts.append(part)
            guard parts.count <= TOMLDocument.maximumKeyParts else {
                throw error("dotted key of more than \(TOMLDocument.maximumKeyParts) parts")
            }
            skipSpace()
            if peek == "." { advance() } else { break }
        } while true
        return parts
    }

    mutating func parseBasicString() throws -> String {
        advance()
        var out = String.UnicodeScalarView()
        while let c = peek {
            advance()
            switch c {
            case "\"": return String(out)
            case "\\": out.append(try parseEscape())
            case _ where c.value < 0x20 && c != "\t", "\u{7F}": throw error("control character in string")
            default: out.append(c)
            }
        }
        throw error("unterminated string")
    }

    /// The scalar an escape sequence stands for; the cursor is just after the backslash.
    mutating func parseEscape() throws -> Unicode.Scalar {
        guard let e = peek else { throw error("unterminated escape") }
        advance()
        switch e {
        case "n": return "\n"
        case "t": return "\t"
        case "r": return "\r"
        case "\"": return "\""
        case "\\": return "\\"
        case "u", "U":
            let count = e == "u" ? 4 : 8
            guard position + count <= scalars.count,
                  scalars[position..<position + count].allSatisfy({ $0.properties.isASCIIHexDigit }),
                  let code = UInt32(String(String.UnicodeScalarView(scalars[position..<position + count])), radix: 16),
                  let scalar = Unicode.Scalar(code) else { throw error("bad \\\(e) escape") }
            position += count
            return scalar
        default: throw error("unknown escape '\\\(e)'")
        }
    }

    mutating func parseLiteralString() throws -> String {
        advance()
        var out = String.UnicodeScalarView()
        while let c = peek {
            advance()
            if c == "'" { return String(out) }
            out.append(c)
        }
        throw error("unterminated string")
    }

    /// A boolean, integer or float token.
    mutating func parseScalar() throws -> TOMLValue {
        var token = String.UnicodeScalarView()
        while let c = peek, c != ",", c != "]", c != " ", c != "\t", c != "#" { token.append(c); advance() }
        let text = String(token)
        switch text {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "": throw error("missing value")
        default: break
        }
        let digits = text.replacingOccurrences(of: "_", with: "")
        if let int = Int(digits) { return .integer(int) }
        if digits.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }),
           digits.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
           let double = Double(digits), double.isFinite {
            return .float(double)
        }
        throw error("cannot read value '\(text)' (strings need quotes)")
    }
}
