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
