import Foundation
import Testing
import TwinImaging

/// Process-level tests: the real `twinrender` binary on a scratch spool with the tiny model.
@Suite("Daemon processes", .serialized)
struct DaemonProcessTests {
    @Test("delivers images with one ledger event each, and a re-render is bit-identical")
    func deliversAndIsDeterministic() throws {
        // One operator's two hosts: same watermark key (the mark depends on it).
        let key = WatermarkKey.generate()
        let first = try DaemonFixture(watermarkKey: key)
        let second = try DaemonFixture(watermarkKey: key)
        defer { first.remove(); second.remove() }
        for fixture in [first, second] {
            try fixture.drop(DaemonFixture.job(seed: 9, count: 2), id: "det")
            let result = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
            #expect(result.status == 0, "\(result.output.suffix(2000))")
        }
        #expect(first.files("out") == ["det-0.png", "det-1.png"])
        #expect(first.files("done") == ["det.json", "det.result.json"])
        #expect(first.ledgerEvents().count == 2)
        // Two installations differ in grant uid, licence window and arrival time (all in the PNG's
        // metadata), so compare the decoded pixels; within one spool the bytes themselves repeat
        // (see the kill/restart test and scripts/crash-test).
        let a = try PNGCodec.decode(Data(contentsOf: first.spool.appendingPathComponent("out/det-0.png"))).image.pixels
        let b = try PNGCodec.decode(Data(contentsOf: second.spool.appendingPathComponent("out/det-0.png"))).image.pixels
        let c = try PNGCodec.decode(Data(contentsOf: first.spool.appendingPathComponent("out/det-1.png"))).image.pixels
        #expect(a == b, "same job, seed and model must give identical pixels")
        #expect(a != c, "different images of one job use different noise streams")
    }

    @Test("every class of bad job file is rejected with a specific code; the daemon carries on")
    func badJobFiles() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        let incoming = fixture.spool.appendingPathComponent("incoming")
        try fixture.drop(DaemonFixture.job(), id: "good")
        let cases: [(String, Data, String)] = [
            ("empty", Data(), "job.empty"),
            ("malformed", Data("{\"twin\": ".utf8), "job.malformed_json"),
            ("binary", Data((0..<200).map { UInt8(($0 * 37) % 256) }), "job.malformed_json"),
            ("array", Data("[1,2]".utf8), "job.malformed_json"),
            ("unknown-field", Data(#"{"twin":"ava","licensee":"brand-north","purpose":"ecommerce","territory":"DE","seed":1,"colur":"red"}"#.utf8), "job.unknown_field"),
            ("wrong-type", Data(#"{"twin":"ava","licensee":"brand-north","purpose":"ecommerce","territory":"DE","seed":"1"}"#.utf8), "job.wrong_type"),
            ("out-of-range", Data(#"{"twin":"ava","licensee":"brand-north","purpose":"ecommerce","territory":"DE","seed":1,"count":99}"#.utf8), "job.out_of_range"),
            ("missing", Data(#"{"twin":"ava","purpose":"ecommerce","territory":"DE","seed":1}"#.utf8), "job.missing_field"),
            ("unknown-twin", Data(#"{"twin":"zoe","licensee":"brand-north","purpose":"ecommerce","territory":"DE","seed":1}"#.utf8), "job.unknown_twin"),
            ("bad-value", Data(#"{"twin":"ava","licensee":"brand-north","purpose":"ecommerce","territory":"DE","seed":1,"colour":"plaid"}"#.utf8), "job.unknown_attribute_value"),
            ("bad-territory", Data(#"{"twin":"ava","licensee":"brand-north","purpose":"ecommerce","territory":"XX","seed":1}"#.utf8), "job.bad_value"),
            ("id-mismatch", Data(#"{"id":"other","twin":"ava","licensee":"brand-north","purpose":"ecommerce","territory":"DE","seed":1}"#.utf8), "job.id_mismatch"),
            ("huge", Data(repeating: 0x20, count: 200_000), "job.too_large"),
        ]
        for (id, data, _) in cases { try fixture.drop(data, id: id) }
        try "/etc/passwd".withCString { target in
            #expect(symlink(target, incoming.appendingPathComponent("link.json").path) == 0)
        }
        try FileManager.default.createDirectory(at: incoming.appendingPathComponent("dir.json"), withIntermediateDirectories: false)

        let result = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
        #expect(result.status == 0, "\(result.output.suffix(2000))")
        for (id, _, code) in cases {
            #expect(try fixture.reason(id)["code"] as? String == code, "\(id)")
        }
        #expect(try fixture.reason("link")["code"] as? String == "job.symlink")
        #expect(try fixture.reason("dir")["code"] as? String == "job.not_regular_file")
        #expect(fixture.files("done").contains("good.json"))
        #expect(fixture.files("out") == ["good-0.png"])
        #expect(fixture.files("incoming").isEmpty && fixture.files("active").isEmpty)
    }

    @Test("consent: a purpose no grant covers is rejected, nothing delivered, no royalty event")
    func consentDenied() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.drop(DaemonFixture.job(purpose: "print"), id: "print-job")
        let result = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
        #expect(result.status == 0)
        #expect(try fixture.reason("print-job")["code"] as? String == "consent.purpose_not_allowed")
        #expect(fixture.files("out").isEmpty)
        #expect(fixture.ledgerEvents().isEmpty)
    }

    @Test("an image too small for the AI label fails at once with imaging.failed, not after every retry")
    func deterministicImagingFailure() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.drop(DaemonFixture.job(steps: 2, size: 64), id: "tiny")
        let result = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
        #expect(result.status == 0)
        let reason = try fixture.reason("tiny", in: "failed")
        #expect(reason["code"] as? String == "imaging.failed")
        #expect(reason["attempts"] as? Int == 1)
        #expect((reason["message"] as? String)?.contains("does not fit") == true)
        #expect(fixture.files("out").isEmpty && fixture.ledgerEvents().isEmpty)
    }

    @Test("several daemon processes racing on one spool render every job exactly once")
    func racingProcesses() throws {
        let fixtures = try (0..<3).map { try DaemonFixture(host: "racer\($0)") }
        defer { fixtures.forEach { $0.remove() } }
        // All three share the first fixture's spool, registry and ledger directory.
        let shared = fixtures[0]
        for f in fixtures.dropFirst() { try f.share(spoolRegistryAndLedgerOf: shared) }
        let jobs = 24
        for i in 0..<jobs { try shared.drop(DaemonFixture.job(twin: ["ava", "bea", "cleo", "dana"][i % 4], seed: i, steps: 2), id: "race-\(i)") }
        let processes = try fixtures.map { try TwinRenderBinary.start(["serve", "--config", $0.configURL.path, "--once"]) }
        for p in processes { p.waitUntilExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 })
        #expect(shared.files("done").filter { !$0.hasSuffix(".result.json") }.count == jobs)
        #expect(shared.files("out").count == jobs)
        let events = shared.ledgerEvents()
        #expect(events.count == jobs)
        #expect(Set(events.compactMap { $0["job"] as? String }).count == jobs)
        #expect(shared.files("rejected").isEmpty && shared.files("failed").isEmpty)
    }

    @Test("SIGKILL mid-render, restart: the job is requeued and finished exactly once")
    func killAndRestart() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.drop(DaemonFixture.job(steps: 200, count: 1, size: 512), id: "slow")
        let daemon = try TwinRenderBinary.start(["serve", "--config", fixture.configURL.path])
        #expect(waitFor(60) { (try? String(contentsOf: fixture.statusLog, encoding: .utf8))?.contains("render.progress") == true })
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        try #require(fixture.files("active").count == 1)

        // Make the retry quick: the same job, fewer steps (the job file is the user's; the test edits it in place).
        let active = fixture.spool.appendingPathComponent("active/\(fixture.files("active")[0])")
        try fixture.signedOrder(DaemonFixture.job(steps: 2, count: 1, size: 128), id: "slow")!.write(to: active)
        let result = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
        #expect(result.status == 0)
        let log = try String(contentsOf: fixture.statusLog, encoding: .utf8)
        #expect(log.contains("\"event\":\"job.requeued\""))
        #expect(fixture.files("done") == ["slow.json", "slow.result.json"])
        #expect(fixture.files("out") == ["slow-0.png"])
        #expect(fixture.ledgerEvents().count == 1)
    }

    @Test("SIGTERM during a render: exit 0 and the job back in incoming/ untouched")
    func sigtermDuringRender() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        let job = try #require(try fixture.signedOrder(DaemonFixture.job(steps: 200, count: 1, size: 512), id: "long"))
        try fixture.drop(job, id: "long", signed: false)
        let daemon = try TwinRenderBinary.start(["serve", "--config", fixture.configURL.path])
        #expect(waitFor(60) { (try? String(contentsOf: fixture.statusLog, encoding: .utf8))?.contains("render.progress") == true })
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        #expect(fixture.files("incoming") == ["long.json"])
        #expect(try Data(contentsOf: fixture.spool.appendingPathComponent("incoming/long.json")) == job)
        #expect(fixture.files("active").isEmpty && fixture.files("out").isEmpty)
        #expect(fixture.ledgerEvents().isEmpty)
    }

    @Test("status reads the state file after the daemon stopped")
    func statusAfterStop() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.drop(DaemonFixture.job(), id: "s1")
        _ = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
        let result = try TwinRenderBinary.run(["status", "--config", fixture.configURL.path, "--json"])
        #expect(result.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let queue = object?["queue"] as? [String: Int]
        #expect(queue?["done"] == 1 && queue?["out"] == 1)
        let daemons = object?["daemons"] as? [[String: Any]]
        #expect(daemons?.first?["running"] as? Bool == false)
        #expect(daemons?.first?["images_delivered"] as? Int == 1)
    }
}

extension DaemonProcessTests {
    @Test("SIGTERM while the daemon is still starting: exit 0, nothing claimed")
    func sigtermDuringStartup() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.drop(DaemonFixture.job(steps: 2), id: "early")
        let daemon = try TwinRenderBinary.start(["serve", "--config", fixture.configURL.path])
        // The status log exists as soon as the daemon object is made, before the model loads.
        #expect(waitFor(30) { FileManager.default.fileExists(atPath: fixture.statusLog.path) })
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        #expect(daemon.terminationReason == .exit)
        #expect(fixture.files("active").isEmpty)
        #expect(fixture.ledgerEvents().count <= 1)
    }
}
