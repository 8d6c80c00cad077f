import Foundation
import Testing
import TwinConsent
@testable import TwinDaemon

/// Attacks by someone with ordinary access, through the real daemon: each must end with no image
/// in `out/`, no royalty event, the right reason code and an audit line.
@Suite("Trust through the daemon", .serialized)
struct TrustTests {
    /// Runs the daemon once over what is queued.
    static func serveOnce(_ fixture: DaemonFixture) throws {
        let result = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
        #expect(result.status == 0, "\(result.output.suffix(2000))")
    }

    /// The audit entries of `job`.
    static func audit(_ fixture: DaemonFixture, job: String) throws -> [ConsentAuditLog.Entry] {
        try ConsentAuditLog(file: fixture.root.appendingPathComponent("log/consent-audit.jsonl")).entries().filter { $0.job == job }
    }

    static func expectRefused(_ fixture: DaemonFixture, job: String, code: String, delivered: [String] = []) throws {
        #expect(try fixture.reason(job)["code"] as? String == code)
        #expect(fixture.files("out") == delivered)
        #expect(fixture.ledgerEvents().allSatisfy { $0["job"] as? String != job })
        let entries = try audit(fixture, job: job)
        #expect(entries.last?.decision == "deny" && entries.last?.code == code, "\(entries)")
    }

    @Test("orders: unsigned, signed by another licensee, edited after signing, expired — all refused")
    func forgedOrders() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.drop(DaemonFixture.job(), id: "unsigned", signed: false)
        // brand-south signs an order naming brand-north as the licensee.
        let foreign = try SignedJobOrder.sign(DaemonFixture.job(), jobID: "foreign", signer: "brand-south",
                                              expiresAt: Date().addingTimeInterval(3600), key: fixture.keys["brand-south"]!)
        try fixture.drop(foreign, id: "foreign", signed: false)
        // A correctly signed order whose count is raised afterwards.
        let signed = try #require(try fixture.signedOrder(DaemonFixture.job(count: 1), id: "edited"))
        let edited = Data(String(decoding: signed, as: UTF8.self).replacingOccurrences(of: "\"count\":1", with: "\"count\":3").utf8)
        #expect(edited != signed)
        try fixture.drop(edited, id: "edited", signed: false)
        let expired = try #require(try fixture.signedOrder(DaemonFixture.job(), id: "expired", expiresAt: Date().addingTimeInterval(-60)))
        try fixture.drop(expired, id: "expired", signed: false)
        try Self.serveOnce(fixture)

        try Self.expectRefused(fixture, job: "unsigned", code: "job.order_unsigned")
        try Self.expectRefused(fixture, job: "foreign", code: "job.order_signer_mismatch")
        try Self.expectRefused(fixture, job: "edited", code: "job.order_signature_invalid")
        try Self.expectRefused(fixture, job: "expired", code: "job.order_expired")
    }

    @Test("a delivered order's signer and hash are in its royalty event, result and audit line")
    func orderRecorded() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.drop(DaemonFixture.job(steps: 2), id: "signed")
        try Self.serveOnce(fixture)
        let event = try #require(fixture.ledgerEvents().first)
        #expect(event["order_signer"] as? String == "brand-north")
        let hash = try #require(event["order_sha256"] as? String)
        #expect(hash.count == 64 && hash != String(repeating: "0", count: 64))
        let result = try JSONDecoder().decode(JobResult.self, from: Data(contentsOf: fixture.spool.appendingPathComponent("done/signed.result.json")))
        #expect(result.orderSigner == "brand-north" && result.orderSHA256 == hash)
        let audit = try Self.audit(fixture, job: "signed")
        #expect(audit.map(\.phase) == [.claim, .delivery])
        #expect(audit.allSatisfy { $0.orderSigner == "brand-north" && $0.orderSHA256 == hash && $0.decision == "allow" })
    }

    @Test("re-dropping a delivered id: another twin is refused; after revocation a lost image is not re-created")
    func redroppedIDs() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.drop(DaemonFixture.job(twin: "ava", steps: 2), id: "first")
        try Self.serveOnce(fixture)
        #expect(fixture.files("out") == ["first-0.png"])

        // The same id for another twin: refused, nothing rendered.
        try fixture.drop(DaemonFixture.job(twin: "bea", steps: 2), id: "first")
        try Self.serveOnce(fixture)
        #expect(try fixture.reason("first")["code"] as? String == "job.id_reused")
        #expect(fixture.ledgerEvents().count == 1)

        // The grant is revoked, the image deleted, the job re-dropped: consent is checked again
        // before the image would be re-created, and refuses.
        try fixture.store.revoke(grant: try #require(try fixture.store.load().grants.values.first { $0.grant.terms.twin == "ava" }?.grant.uid),
                                 key: fixture.keys["model-ava"]!, at: Date())
        try FileManager.default.removeItem(at: fixture.spool.appendingPathComponent("out/first-0.png"))
        try FileManager.default.removeItem(at: fixture.spool.appendingPathComponent("rejected/first.json"))
        try FileManager.default.removeItem(at: fixture.spool.appendingPathComponent("rejected/first.reason.json"))
        try fixture.drop(DaemonFixture.job(twin: "ava", steps: 2), id: "first")
        try Self.serveOnce(fixture)
        #expect(try fixture.reason("first")["code"] as? String == "consent.revoked")
        #expect(fixture.files("out").isEmpty)
        #expect(fixture.ledgerEvents().count == 1)
        #expect(try Self.audit(fixture, job: "first").last?.code == "consent.revoked")
    }

    @Test("an audit log that cannot be written: no delivery, the job waits (deferred), nothing charged")
    func auditUnwritable() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        // A directory where the audit file should be: every append fails.
        try FileManager.default.createDirectory(at: fixture.root.appendingPathComponent("log/consent-audit.jsonl"), withIntermediateDirectories: true)
        try fixture.drop(DaemonFixture.job(steps: 2), id: "blind")
        try Self.serveOnce(fixture)
        #expect(fixture.files("out").isEmpty)
        #expect(fixture.ledgerEvents().isEmpty)
        #expect(fixture.files("incoming").count == 1 && fixture.files("incoming")[0].hasPrefix("blind~"))
        #expect(fixture.files("failed").isEmpty && fixture.files("rejected").isEmpty)
        let log = try String(contentsOf: fixture.statusLog, encoding: .utf8)
        #expect(log.contains("\"code\":\"consent.audit_unwritable\"") && log.contains("\"event\":\"job.deferred\""))
        #expect(log.contains("\"event\":\"daemon.degraded\""))
    }

    @Test("a content tag spelled to slip past a prohibition is refused or caught")
    func tagBypass() throws {
        let fixture = try DaemonFixture(ungranted: ["ava"])
        defer { fixture.remove() }
        try fixture.grant(fixture.store, prohibitedTags: ["swimwear"])
        let variants = ["swim-wear", " SwimWear ", "ｓｗｉｍｗｅａｒ", "swim\u{200B}wear", "swim wear"]
        for (i, tag) in variants.enumerated() { try fixture.drop(DaemonFixture.job(tags: [tag], steps: 2), id: "tag\(i)") }
        try Self.serveOnce(fixture)
        for i in variants.indices {
            let code = try fixture.reason("tag\(i)")["code"] as? String
            #expect(code == "consent.prohibited_content" || code == "job.bad_tag", "\(variants[i]): \(code ?? "none")")
        }
        #expect(fixture.files("out").isEmpty)
        #expect(fixture.ledgerEvents().isEmpty)
    }

    @Test("an edited, truncated or forked registry log is untrusted: every job refused with an audit line")
    func tamperedRegistry() throws {
        for attack in ["edit", "rollback"] {
            let fixture = try DaemonFixture()
            defer { fixture.remove() }
            let log = fixture.registry.appendingPathComponent("log.jsonl")
            let original = try Data(contentsOf: log)
            // A first run pins the newest head the daemon has seen.
            try fixture.drop(DaemonFixture.job(twin: "bea", steps: 2), id: "pinned")
            try Self.serveOnce(fixture)
            try fixture.store.revoke(grant: try #require(try fixture.store.load().grants.values.first { $0.grant.terms.twin == "ava" }?.grant.uid),
                                     key: fixture.keys["model-ava"]!, at: Date())
            try fixture.drop(DaemonFixture.job(twin: "cleo", steps: 2), id: "sees-revocation")
            try Self.serveOnce(fixture)
            switch attack {
            case "edit":   // ava's owner rewritten in place
                let text = try String(contentsOf: log, encoding: .utf8).replacingOccurrences(of: "\"model-ava\"", with: "\"model-bea\"")
                try text.write(to: log, atomically: true, encoding: .utf8)
            default:       // the revocation removed by restoring the older log
                try original.write(to: log)
            }
            try fixture.drop(DaemonFixture.job(twin: "ava", steps: 2), id: "after-\(attack)")
            try Self.serveOnce(fixture)
            try Self.expectRefused(fixture, job: "after-\(attack)", code: "consent.registry_untrusted",
                                   delivered: ["pinned-0.png", "sees-revocation-0.png"])
        }
    }

    @Test("a full log disk never takes the daemon down: the job is delivered, exit 0")
    func logDiskFull() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(at: fixture.root.appendingPathComponent("log"), withIntermediateDirectories: true)
        #expect(symlink("/dev/full", fixture.statusLog.path) == 0)   // every write fails with ENOSPC
        try fixture.drop(DaemonFixture.job(steps: 2), id: "quiet")
        try Self.serveOnce(fixture)
        #expect(fixture.files("out") == ["quiet-0.png"])
        #expect(fixture.ledgerEvents().count == 1)
    }
}
