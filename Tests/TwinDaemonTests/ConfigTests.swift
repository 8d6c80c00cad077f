// Role: tests of config loading: the shipped example, path resolution, error messages naming
// the key or line, the TOML subset `TOMLDocument` reads, and its limits (nesting depth, key
// parts, document size) against hostile input that used to overflow the stack.
// Reference: TOML 1.0.0; issue 13 item 7 (an array nested 60,000 deep killed the daemon on
// SIGHUP, 80,000 crashed every CLI command).
// Failure modes: a parser that recurses without bound crashes the test process (SIGSEGV)
// instead of failing an expectation.
import Foundation
import Testing
@testable import TwinDaemon

@Suite("Config")
struct ConfigTests {
    static let base = URL(fileURLWithPath: "/etc/twinrender")

    @Test("the shipped example config parses and matches the documented defaults")
    func exampleConfig() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Config/twinrender.toml").standardizedFileURL
        let config = try DaemonConfig.load(path: url.path)
        let defaults = DaemonConfig()
        #expect(config.spoolDirectory == defaults.spoolDirectory)
        #expect(config.maxAttempts == defaults.maxAttempts)
        #expect(config.workers == 1 && config.blasThreads == 2)
        #expect(config.gracePeriod == 60)
        #expect(config.labelCorner == "bottom-right")
    }

    @Test("watermark.coarse_layer is off by default, parsed as a boolean, and needs a restart")
    func coarseLayerSwitch() throws {
        #expect(!DaemonConfig().watermarkCoarseLayer)
        let on = try DaemonConfig.parse("[watermark]\ncoarse_layer = true\n", baseDirectory: Self.base)
        #expect(on.watermarkCoarseLayer)
        #expect(ConfigReloader.restartKeys(DaemonConfig(), on) == ["watermark.coarse_layer"])
        #expect(throws: ConfigError.self) { try DaemonConfig.parse("[watermark]\ncoarse_layer = 1\n", baseDirectory: Self.base) }
    }

    @Test("relative paths resolve against the config's directory")
    func relativePaths() throws {
        let config = try DaemonConfig.parse("[spool]\ndirectory = \"spool\"\n[ledger]\ndirectory = '/srv/ledger'\n", baseDirectory: Self.base)
        #expect(config.spoolDirectory.path == "/etc/twinrender/spool")
        #expect(config.ledgerDirectory.path == "/srv/ledger")
    }

    @Test("errors name the key or line", arguments: [
        ("[spool]\ndirectoy = \"x\"\n", "unknown key 'spool.directoy'"),
        ("[workers]\ncount = \"two\"\n", "key 'workers.count': expected an integer, got string"),
        ("[workers]\ncount = 0\n", "key 'workers.count': 0 is outside 1...64"),
        ("[spool]\nmax_attempts = 3\nmax_attempts = 4\n", "line 3: key 'spool.max_attempts' defined twice"),
        ("[spool\n", "line 1: expected ']' after table name"),
        ("[log]\nlevel = \"loud\"\n", "key 'log.level': 'loud' is not one of"),
        ("[output]\nlabel = yes\n", "line 2: cannot read value 'yes'"),
        ("[spool]\ndirectory = \"unterminated\n", "line 2: unterminated string"),
        ("host = \"a~b\"\n", "key 'host'"),
        ("[shutdown]\ngrace_period_seconds = -1\n", "key 'shutdown.grace_period_seconds'"),
    ])
    func errors(text: String, expected: String) {
        #expect {
            _ = try DaemonConfig.parse(text, baseDirectory: Self.base)
        } throws: { error in
            (error as? ConfigError)?.description.contains(expected) == true
        }
    }

    @Test("TOML values: arrays across lines, escapes, underscores, floats, comments")
    func tomlValues() throws {
        let doc = try TOMLDocument(parsing: """
        a = [1, 2,
             3] # comment
        b = "tab\\there \\u00e9"
        c = 1_000
        d = 2.5e-1
        [t.u]
        e = true
        """)
        #expect(doc["a"] == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(doc["b"] == .string("tab\there é"))
        #expect(doc["c"] == .integer(1000))
        #expect(doc["d"] == .float(0.25))
        #expect(doc["t.u.e"] == .boolean(true))
    }

    @Test("arrays nested 60,000 and 80,000 deep are a ConfigError naming the line, not a stack overflow", arguments: [60_000, 80_000])
    func deepNesting(depth: Int) {
        let text = "[spool]\ndirectory = \"x\"\nbomb = " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
        #expect {
            _ = try DaemonConfig.parse(text, baseDirectory: Self.base)
        } throws: { error in
            (error as? ConfigError)?.description == "line 3: arrays nested deeper than 32 (TOMLDocument.maximumNestingDepth)"
        }
        let multiLine = "a = " + String(repeating: "[\n", count: depth) + String(repeating: "]", count: depth) + "\n"
        #expect(throws: ConfigError.self) { try TOMLDocument(parsing: multiLine) }
    }

    @Test("nesting up to the limit parses")
    func nestingAtTheLimit() throws {
        let depth = TOMLDocument.maximumNestingDepth
        var expected = TOMLValue.array([.string("x")])
        for _ in 1..<depth { expected = .array([expected]) }
        let doc = try TOMLDocument(parsing: "a = " + String(repeating: "[", count: depth) + "'x'" + String(repeating: "]", count: depth))
        #expect(doc["a"] == expected)
    }

    @Test("TOML limits and refusals name the line", arguments: [
        ("a = {b = 1}\n", "line 1: inline tables are not supported"),
        ("[[spool]]\n", "line 1: arrays of tables are not supported"),
        ("a.b.c.d.e.f.g.h.i = 1\n", "line 1: dotted key of more than 8 parts"),
        ("[a.b.c.d.e]\nf.g.h.i = 1\n", "line 2: key 'a.b.c.d.e.f.g.h.i' has 9 parts; at most 8 are allowed"),
        ("[" + Array(repeating: "a", count: 100_000).joined(separator: ".") + "]\n", "line 1: dotted key of more than 8 parts"),
        ("a = 1\na.b = 2\n", "line 2: key 'a.b' extends 'a', which is a value"),
        ("a.b = 1\na = 2\n", "line 2: key 'a' is already a table"),
        ("[spool]\n[spool]\n", "line 2: table [spool] defined twice"),
        ("a = [1,\n2\n", "line 3: unterminated array"),
        ("a = 0x10\n", "line 1: cannot read value '0x10'"),
        ("a = inf\n", "line 1: cannot read value 'inf'"),
        ("a = \"\\uD800\"\n", "line 1: bad \\u escape"),
    ])
    func tomlRefusals(text: String, expected: String) {
        #expect {
            _ = try TOMLDocument(parsing: text)
        } throws: { error in
            (error as? ConfigError)?.description.contains(expected) == true
        }
    }

    @Test("a document over 1 MiB is refused before parsing")
    func documentSizeLimit() {
        let text = "# " + String(repeating: "x", count: TOMLDocument.maximumDocumentBytes) + "\n"
        #expect {
            _ = try TOMLDocument(parsing: text)
        } throws: { error in
            (error as? ConfigError)?.description == "config is 1048579 bytes; at most 1048576 are read (TOMLDocument.maximumDocumentBytes)"
        }
    }

    @Test("arrays of strings, as consent.trust_anchors will use")
    func arraysOfStrings() throws {
        let doc = try TOMLDocument(parsing: "[consent]\ntrust_anchors = [\n  \"/etc/twinrender/registrar.pub\",  # main\n  'b.pub',\n]\n")
        #expect(doc["consent.trust_anchors"] == .array([.string("/etc/twinrender/registrar.pub"), .string("b.pub")]))
        #expect(doc.entries.map(\.line) == [2])
    }

    @Test("serve refuses a bad config before doing anything, naming the key")
    func serveRefusesBadConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("twinrender-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("bad.toml")
        try "[spool]\ndirectory = \"spool\"\nrescan_interval_seconds = \"soon\"\n".write(to: config, atomically: true, encoding: .utf8)
        let result = try TwinRenderBinary.run(["serve", "--config", config.path, "--once"])
        #expect(result.status != 0)
        #expect(result.output.contains("spool.rescan_interval_seconds"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("spool").path))
    }
}
