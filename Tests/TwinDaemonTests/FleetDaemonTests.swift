import Crypto
import Foundation
import Logging
import PostgresNIO
import Testing
import TwinBase
import TwinImaging
@testable import TwinFleet
import TwinLedger

/// `twinrender serve` with `queue.backend = "postgres"`: the real daemon renders jobs it claims
/// from a fresh fleet database, with consent, watermark and the fenced commit, on the
/// PostgreSQL named by TWINRENDER_TEST_PG_URL (`bash scripts/test` starts one).
@Suite("Fleet daemon", .serialized, .enabled(if: FleetDaemonDatabase.url != nil, "TWINRENDER_TEST_PG_URL is unset (bash scripts/test sets it)"))
struct FleetDaemonTests {
    /// A fixture whose config uses database `url` and the shared image directory `output`.
    static func fixture(host: String = "test", url: String, output: URL, maxImages: Int = 100,
                        watermarkKey: WatermarkKey = .generate()) throws -> DaemonFixture {
        try DaemonFixture(host: host, maxImages: maxImages, extraConfig: """
            [queue]
            backend = "postgres"
            url = "\(url)"
            lease_seconds = 5
            poll_interval_seconds = 0.2
            output_directory = "\(output.path)"
            """, ungranted: ["dana"], watermarkKey: watermarkKey)
    }

    /// Submits `job` as a signed order of its licensee through `twinrender submit`.
    static func submit(_ fixture: DaemonFixture, _ job: Data, id: String) throws {
        let file = fixture.root.appendingPathComponent("\(id).json")
        try job.write(to: file)
        let keyFile = fixture.root.appendingPathComponent("keys/brand-north.key")
        if !FileManager.default.fileExists(atPath: keyFile.path) {
            _ = try fixture.keys["brand-north"]!.write(party: "brand-north", to: keyFile.deletingLastPathComponent())
        }
        let submitted = try TwinRenderBinary.run(["submit", "--config", fixture.configURL.path, "--id", id, "--key", keyFile.path, file.path])
        #expect(submitted.status == 0, "\(submitted.output)")
    }

    /// `serve --once`: drains the queue, then exits.
    static func serveOnce(_ fixture: DaemonFixture) throws -> (status: Int32, output: String) {
        try TwinRenderBinary.run(["serve", "--once", "--config", fixture.configURL.path])
    }

    static func sha256(_ url: URL) throws -> String {
        SHA256.hash(data: try Data(contentsOf: url)).map { String(format: "%02x", $0) }.joined()
    }

    @Test("jobs submitted to the database are rendered, marked, committed once and delivered into the shared directory")
    func deliversFromTheDatabase() async throws {
        try await FleetDaemonDatabase.with { database, url in
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("twinrender-fleet-out-\(UUID().uuidString)")
            let fixture = try Self.fixture(url: url, output: output)
            defer { fixture.remove(); try? FileManager.default.removeItem(at: output) }
            try Self.submit(fixture, DaemonFixture.job(twin: "ava", count: 2), id: "fleet-a")
            try Self.submit(fixture, DaemonFixture.job(twin: "bea", seed: 7), id: "fleet-b")
            try Self.submit(fixture, DaemonFixture.job(twin: "dana"), id: "fleet-ungranted")
            try Self.submit(fixture, DaemonFixture.job(twin: "ava", purpose: "video"), id: "fleet-purpose")

            let served = try Self.serveOnce(fixture)
            #expect(served.status == 0, "\(served.output.suffix(3000))")

            let states = try await database.states()
            #expect(states == ["fleet-a": "delivered", "fleet-b": "delivered", "fleet-purpose": "rejected", "fleet-ungranted": "rejected"])
            let reasons = try await database.reasons()
            #expect(reasons["fleet-ungranted"]?.hasPrefix("consent.") == true, "\(reasons)")
            #expect(reasons["fleet-purpose"]?.hasPrefix("consent.") == true, "\(reasons)")

            // One event per delivered image, each naming the very file in the output directory.
            let events = try await database.events()
            let expected = [("fleet-a", 0), ("fleet-a", 1), ("fleet-b", 0)].map { RoyaltyEvent.eventID(job: $0.0, imageIndex: $0.1) }
            #expect(events.map(\.eventID).sorted() == expected.sorted())
            let delivered = try FileManager.default.contentsOfDirectory(atPath: output.path).sorted()
            #expect(delivered == ["fleet-a-0.png", "fleet-a-1.png", "fleet-b-0.png"], "no staged leftovers, no image of a refused job")
            for event in events {
                let file = output.appendingPathComponent("\(event.job)-\(event.imageIndex).png")
                #expect(try Self.sha256(file) == event.outputSHA256)
                #expect(event.host == "test")
                // The pixels carry the event's payload under the installation's key.
                let image = try PNGCodec.decode(Data(contentsOf: file)).image
                let detection = fixture.watermark.detect(in: image)
                #expect(detection?.payload == RoyaltyEvent.watermarkPayload(eventID: event.eventID))
            }
            #expect(try await database.grantDelivered() == ["ava": 2, "bea": 1])

            // The chain and host signatures verify, and the fleet view agrees.
            let verified = try TwinRenderBinary.run(["db", "verify", "--config", fixture.configURL.path])
            #expect(verified.status == 0, "\(verified.output)")
            // verify traces a delivered image through the database's ledger to its job.
            let traced = try TwinRenderBinary.run(["verify", output.appendingPathComponent("fleet-b-0.png").path,
                                                   "--json", "--config", fixture.configURL.path])
            #expect(traced.status == 0 && traced.output.contains("\"fleet-b\""), "\(traced.output)")
            // A second run finds nothing to do and changes nothing.
            #expect(try Self.serveOnce(fixture).status == 0)
            #expect(try await database.events().count == 3)
        }
    }

    @Test("a grant's limit holds across jobs: the job that does not fit is refused, nothing is charged for it")
    func quotaAcrossJobs() async throws {
        try await FleetDaemonDatabase.with { database, url in
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("twinrender-fleet-out-\(UUID().uuidString)")
            let fixture = try Self.fixture(url: url, output: output, maxImages: 3)
            defer { fixture.remove(); try? FileManager.default.removeItem(at: output) }
            try Self.submit(fixture, DaemonFixture.job(twin: "ava", count: 2), id: "quota-1")
            try Self.submit(fixture, DaemonFixture.job(twin: "ava", count: 2), id: "quota-2")
            try Self.submit(fixture, DaemonFixture.job(twin: "ava", count: 1), id: "quota-3")
            #expect(try Self.serveOnce(fixture).status == 0)
            let states = try await database.states()
            #expect(states == ["quota-1": "delivered", "quota-2": "rejected", "quota-3": "delivered"])
            #expect(try await database.reasons()["quota-2"] == "consent.quota_exhausted")
            #expect(try await database.grantDelivered() == ["ava": 3])
            #expect(try await database.events().count == 3)
        }
    }

    @Test("two hosts on one database and one image directory: every job once, events from the host that rendered it")
    func twoHosts() async throws {
        try await FleetDaemonDatabase.with { database, url in
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("twinrender-fleet-out-\(UUID().uuidString)")
            let key = WatermarkKey.generate()
            let first = try Self.fixture(host: "host-a", url: url, output: output, watermarkKey: key)
            let second = try Self.fixture(host: "host-b", url: url, output: output, watermarkKey: key)
            try second.share(spoolRegistryAndLedgerOf: first)
            try second.useOwnSpool()
            defer { first.remove(); second.remove(); try? FileManager.default.removeItem(at: output) }
            for index in 0..<6 { try Self.submit(first, DaemonFixture.job(twin: ["ava", "bea", "cleo"][index % 3], seed: index), id: "pair-\(index)") }

            let processes = try [first, second].map { try TwinRenderBinary.start(["serve", "--once", "--config", $0.configURL.path]) }
            for process in processes { process.waitUntilExit() }
            #expect(processes.map(\.terminationStatus) == [0, 0])

            #expect(Set(try await database.states().values) == ["delivered"])
            let events = try await database.events()
            #expect(events.count == 6)
            #expect(Set(events.map(\.job)).count == 6)
            let files = try FileManager.default.contentsOfDirectory(atPath: output.path).sorted()
            #expect(files == (0..<6).map { "pair-\($0)-0.png" })
            for event in events {
                #expect(try Self.sha256(output.appendingPathComponent("\(event.job)-0.png")) == event.outputSHA256)
            }
            let verified = try TwinRenderBinary.run(["db", "verify", "--config", first.configURL.path])
            #expect(verified.status == 0, "\(verified.output)")

            // On a fleet config, royalties verify and statement read every host's chain in the database.
            let audited = try TwinRenderBinary.run(["royalties", "verify", "--config", second.configURL.path])
            #expect(audited.status == 0 && audited.output.contains("ok: 6 events"), "\(audited.output)")
            let period = String(UTCTimestamp.now().description.prefix(7))
            let statement = try TwinRenderBinary.run(["royalties", "statement", "--model", "model-ava", "--period", period,
                                                      "--config", second.configURL.path])
            let head = statement.output.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
                .first { $0.first == "HEAD" }
            #expect(statement.status == 0 && head?[11] == "2", "\(statement.output)")   // image_count: ava's two jobs

            // royalties tail follows the database's commits: --from-start prints the six events.
            let tailed = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-tail-\(UUID().uuidString)")
            FileManager.default.createFile(atPath: tailed.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: tailed) }
            let tail = Process()
            tail.executableURL = TwinRenderBinary.url
            tail.arguments = ["royalties", "tail", "--from-start", "--interval", "0.2", "--config", second.configURL.path]
            tail.standardOutput = try FileHandle(forWritingTo: tailed)
            tail.standardError = FileHandle.nullDevice
            try tail.run()
            defer { tail.terminate(); tail.waitUntilExit() }
            var lines: [Substring] = []
            for _ in 0..<150 where lines.count < 6 {
                try await Task.sleep(for: .milliseconds(200))
                lines = (try String(contentsOf: tailed, encoding: .utf8)).split(separator: "\n")
            }
            #expect(lines.count == 6 && Set(events.map(\.eventID)).allSatisfy { id in lines.contains { $0.contains(id) } },
                    "\(lines)")
        }
    }

    @Test("at start, this host's staged leftover without a committed event is deleted; other hosts' are left alone")
    func reconcilesStagedLeftovers() async throws {
        try await FleetDaemonDatabase.with { database, url in
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("twinrender-fleet-out-\(UUID().uuidString)")
            let fixture = try Self.fixture(url: url, output: output)
            defer { fixture.remove(); try? FileManager.default.removeItem(at: output) }
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            let mine = output.appendingPathComponent(".ghost-0.png~test~4242.partial")
            let theirs = output.appendingPathComponent(".ghost-0.png~other~4242.partial")
            try Data("never committed".utf8).write(to: mine)
            try Data("someone else's".utf8).write(to: theirs)
            let served = try Self.serveOnce(fixture)
            #expect(served.status == 0, "\(served.output.suffix(2000))")
            #expect(!FileManager.default.fileExists(atPath: mine.path))
            #expect(FileManager.default.fileExists(atPath: theirs.path))
            let statusLog = try String(contentsOf: fixture.statusLog, encoding: .utf8)
            #expect(statusLog.contains("output.reconciled"), "\(statusLog.suffix(3000))")
        }
    }

    @Test("a database that cannot be reached stops the start with the step and the reason")
    func databaseDown() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("twinrender-fleet-out-\(UUID().uuidString)")
        let fixture = try Self.fixture(url: "postgres://nobody@127.0.0.1:1/none", output: output)
        defer { fixture.remove() }
        let served = try Self.serveOnce(fixture)
        #expect(served.status == 2)
        #expect(served.output.contains("cannot start: queue.url"), "\(served.output.suffix(2000))")
    }
}

extension DaemonFixture {
    /// After `share(spoolRegistryAndLedgerOf:)`: this host keeps its own spool (its local state),
    /// as fleet hosts do; the registry stays shared.
    func useOwnSpool() throws {
        var text = try String(contentsOf: configURL, encoding: .utf8)
        text = text.replacingOccurrences(of: #"(?m)^directory = ".*/spool"$"#, with: "directory = \"\(spool.path)\"", options: .regularExpression)
        try text.write(to: configURL, atomically: true, encoding: .utf8)
    }
}

/// A fresh database per test on the server of TWINRENDER_TEST_PG_URL, migrated, dropped after.
enum FleetDaemonDatabase {
    static let url: String? = ProcessInfo.processInfo.environment["TWINRENDER_TEST_PG_URL"].flatMap { $0.isEmpty ? nil : $0 }

    static let logger: Logger = {
        var logger = Logger(label: "fleet-daemon-tests")
        logger.logLevel = .error
        return logger
    }()

    /// Runs `body` with a migrated database and its URL text.
    static func with(_ body: @Sendable (FleetDatabase, String) async throws -> Void) async throws {
        let base = try FleetURL(try #require(url))
        let name = "fleet_daemon_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await admin(base) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        let database = FleetDatabase(url: base.with(database: name), logger: logger, deadline: .seconds(600), maxConnections: 4)
        var failure: (any Error)?
        do {
            try await database.withRunning { database in
                _ = try await FleetSchema.migrate(database)
                try await body(database, Self.text(of: base, database: name))
            }
        } catch {
            failure = error
        }
        try await admin(base) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
        if let failure { throw failure }
    }

    /// The server's URL text naming `database` instead (the same form: socket or TCP).
    static func text(of base: FleetURL, database: String) -> String {
        var components = URLComponents(string: url!)!
        components.path = "/" + database
        return components.string!
    }

    private static func admin(_ base: FleetURL, _ body: @escaping @Sendable (PostgresConnection) async throws -> Void) async throws {
        let admin = FleetDatabase(url: base, logger: logger, deadline: .seconds(600), maxConnections: 1)
        try await admin.withRunning { admin in try await admin.connection("admin") { try await body($0) } }
    }
}

extension FleetDatabase {
    fileprivate func column<T: PostgresDecodable & Sendable>(_ sql: String, _ type: T.Type) async throws -> [T] {
        try await connection("test query") { connection in
            var values = [T]()
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: FleetDaemonDatabase.logger).decode(T.self) {
                values.append(value)
            }
            return values
        }
    }

    /// Every job's state.
    func states() async throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try await column("SELECT id || ' ' || state FROM jobs", String.self).map {
            let parts = $0.split(separator: " "); return (String(parts[0]), String(parts[1]))
        })
    }

    /// Reason codes of the jobs that have one.
    func reasons() async throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try await column("SELECT id || ' ' || reason_code FROM jobs WHERE reason_code IS NOT NULL", String.self).map {
            let parts = $0.split(separator: " "); return (String(parts[0]), String(parts[1]))
        })
    }

    /// The ledger's events, in ledger order.
    func events() async throws -> [RoyaltyEvent] {
        try await column("SELECT line FROM royalty_events ORDER BY position", String.self).compactMap { RoyaltyEvent.parse(line: $0) }
    }

    /// Images delivered per twin, from the grant counters.
    func grantDelivered() async throws -> [String: Int] {
        var perTwin = [String: Int]()
        for event in try await events() { perTwin[event.twin, default: 0] += 1 }
        let counted = try await column("SELECT coalesce(sum(delivered), 0)::integer FROM grant_quota", Int.self).first ?? 0
        #expect(counted == perTwin.values.reduce(0, +), "grant counters and events agree")
        return perTwin
    }
}
