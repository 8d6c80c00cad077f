import Foundation
import Testing
import TwinConsent
import TwinImaging

/// Consent through the real daemon: every reason code ends in `rejected/` with that code, no image
/// in `out/` and no royalty event, while a job for another twin in the same run is delivered.
@Suite("Consent through the daemon", .serialized)
struct ConsentDaemonTests {
    /// One refusal scenario: a change to the fixture's registry (or model copy) and the job for
    /// twin `ava` it must refuse.
    struct Scenario: Sendable, CustomTestStringConvertible {
        let code: ConsentCode
        /// Whether ava starts without a grant (the scenario writes its own).
        var ungranted = false
        /// Whether ava has no registry record at all.
        var unregistered = false
        var job: Data = DaemonFixture.job(twin: "ava")
        var change: @Sendable (DaemonFixture, RegistryStore) throws -> Void = { _, _ in }
        var testDescription: String { code.rawValue }
    }

    static let scenarios: [Scenario] = [
        Scenario(code: .missing, ungranted: true),
        Scenario(code: .notYetValid, ungranted: true, change: { f, store in
            try f.grant(store, validFrom: Date().addingTimeInterval(86_400 * 2), validUntil: Date().addingTimeInterval(86_400 * 9))
        }),
        Scenario(code: .expired, ungranted: true, change: { f, store in
            try f.grant(store, validFrom: Date().addingTimeInterval(-86_400 * 9), validUntil: Date().addingTimeInterval(-86_400))
        }),
        Scenario(code: .revoked, change: { f, store in
            try store.revoke(grant: f.grantUID(of: "ava", store), key: f.keys["model-ava"]!, at: Date())
        }),
        Scenario(code: .licenseeMismatch,
                 job: DaemonFixture.job(twin: "ava", licensee: "brand-south"),
                 change: { f, store in
                     try store.registerParty(id: "brand-south", role: .licensee, publicKey: f.keys["brand-south"]!.publicKeyBase64,
                                             registrarKey: f.registrar, at: Date())
                 }),
        Scenario(code: .purposeNotAllowed, job: DaemonFixture.job(twin: "ava", purpose: "print")),
        Scenario(code: .territoryNotAllowed, job: DaemonFixture.job(twin: "ava", territory: "JP")),
        Scenario(code: .quotaExhausted, ungranted: true, job: DaemonFixture.job(twin: "ava", count: 3), change: { f, store in
            try f.grant(store, maxImages: 2)
        }),
        Scenario(code: .prohibitedContent, ungranted: true, job: DaemonFixture.job(twin: "ava", tags: ["Swim-Wear"]), change: { f, store in
            try f.grant(store, prohibitedTags: ["swimwear", "political"])
        }),
        Scenario(code: .prohibitedContent, ungranted: true, job: DaemonFixture.job(twin: "ava"), change: { f, store in
            // The job names no tag, but its garment (a dress) implies one.
            try f.grant(store, prohibitedTags: ["dress"])
        }),
        Scenario(code: .signatureInvalid, ungranted: true, change: { f, store in
            // A grant in ava's name signed with a key that is not hers, appended without checks.
            try store.write(Grant.sign(f.terms(), assigner: "model-ava", key: PartyKey.generate(), at: Date()))
        }),
        Scenario(code: .signerNotOwner, ungranted: true, change: { f, store in
            // The agency signs a grant for the model: valid signature, wrong signer.
            let agency = PartyKey.generate()
            try store.registerParty(id: "agency-nova", role: .agency, publicKey: agency.publicKeyBase64, registrarKey: f.registrar, at: Date())
            try store.write(Grant.sign(f.terms(), assigner: "agency-nova", key: agency, at: Date()))
        }),
        Scenario(code: .twinUnknown, unregistered: true),
        Scenario(code: .twinSuspended, change: { f, store in
            try store.setStatus(twin: "ava", to: .suspended, key: f.keys["model-ava"]!, at: Date())
        }),
        Scenario(code: .twinWeightsMismatch, change: { f, _ in
            // The registry pinned ava's weights; the model now ships another file under her name
            // (model.json updated to match, so the model itself loads it).
            try f.useModelCopy { model in
                let ava = model.appendingPathComponent("twins/ava.safetensors")
                try FileManager.default.removeItem(at: ava)
                try FileManager.default.copyItem(at: model.appendingPathComponent("twins/bea.safetensors"), to: ava)
            }
        }),
    ]

    @Test("each reason code: rejected with it, nothing in out/, no royalty event; other twins still served",
          arguments: scenarios)
    func refusal(_ scenario: Scenario) throws {
        let fixture = try DaemonFixture(ungranted: scenario.ungranted ? ["ava"] : [], unregistered: scenario.unregistered ? ["ava"] : [])
        defer { fixture.remove() }
        try scenario.change(fixture, fixture.store)
        try fixture.drop(scenario.job, id: "refused")
        try fixture.drop(DaemonFixture.job(twin: "bea", steps: 2), id: "control")
        let result = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
        #expect(result.status == 0, "\(result.output.suffix(2000))")

        let reason = try fixture.reason("refused")
        #expect(reason["code"] as? String == scenario.code.rawValue, "\(reason)")
        #expect((reason["message"] as? String)?.isEmpty == false)
        #expect(fixture.files("out") == ["control-0.png"])
        let events = fixture.ledgerEvents()
        #expect(events.count == 1 && events.first?["job"] as? String == "control")
        #expect(fixture.files("done") == ["control.json", "control.result.json"])

        // The audit log has the denial for the refused job.
        let audit = try String(contentsOf: fixture.root.appendingPathComponent("log/consent-audit.jsonl"), encoding: .utf8)
        let denial = audit.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { $0["job"] as? String == "refused" }
        #expect(denial?["decision"] as? String == "deny")
        #expect(denial?["code"] as? String == scenario.code.rawValue)
    }

    @Test("a revocation that lands while the job renders stops delivery: consent.revoked, no image, no event")
    func revocationDuringRender() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        try fixture.drop(DaemonFixture.job(twin: "ava", steps: 120, count: 2, size: 256), id: "long")
        let daemon = try TwinRenderBinary.start(["serve", "--config", fixture.configURL.path, "--once"])
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        #expect(waitFor(60) { (try? String(contentsOf: fixture.statusLog, encoding: .utf8))?.contains("render.progress") == true })
        let store = fixture.store
        try store.revoke(grant: fixture.grantUID(of: "ava", store), key: fixture.keys["model-ava"]!, at: Date())
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        let log = try String(contentsOf: fixture.statusLog, encoding: .utf8)
        #expect(log.contains("\"render.progress\"") && log.contains("\"step\":120"), "the render ran to its end before delivery was refused")
        let reason = try fixture.reason("long")
        #expect(reason["code"] as? String == "consent.revoked")
        #expect((reason["message"] as? String)?.hasPrefix("at delivery") == true)
        #expect(fixture.files("out").isEmpty)
        #expect(fixture.ledgerEvents().isEmpty)
        let staged = (try? FileManager.default.contentsOfDirectory(atPath: fixture.spool.appendingPathComponent("out").path)) ?? []
        #expect(staged.isEmpty, "staged partial files are removed: \(staged)")
    }

    @Test("two daemons racing for the last images of a quota never overshoot it")
    func quotaRace() throws {
        let fixtures = try (0..<2).map { try DaemonFixture(host: "quota\($0)", maxImages: 5) }
        defer { fixtures.forEach { $0.remove() } }
        let shared = fixtures[0]
        try fixtures[1].share(spoolRegistryAndLedgerOf: shared)
        // 8 single-image jobs for ava against a grant of 5 images.
        for i in 0..<8 { try shared.drop(DaemonFixture.job(twin: "ava", seed: i, steps: 2), id: "q\(i)") }
        let processes = try fixtures.map { try TwinRenderBinary.start(["serve", "--config", $0.configURL.path, "--once"]) }
        for p in processes { p.waitUntilExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 })
        #expect(shared.files("out").count == 5)
        #expect(shared.ledgerEvents().count == 5)
        let rejected = shared.files("rejected").filter { $0.hasSuffix(".reason.json") }
        #expect(rejected.count == 3)
        for name in rejected {
            #expect(try shared.reason(String(name.dropLast(".reason.json".count)))["code"] as? String == "consent.quota_exhausted")
        }
    }

    @Test("a grant that requires the AI label gets it even where the config switches labels off")
    func grantRequiresLabel() throws {
        let labelsOff = "[output]\nlabel = false"
        let key = WatermarkKey.generate()
        let required = try DaemonFixture(extraConfig: labelsOff, ungranted: ["ava"], watermarkKey: key)
        let notRequired = try DaemonFixture(extraConfig: labelsOff, watermarkKey: key)
        let labelsOn = try DaemonFixture(watermarkKey: key)
        defer { [required, notRequired, labelsOn].forEach { $0.remove() } }
        let store = required.store
        var terms = required.terms()
        terms.requiresLabel = true
        try store.grant(terms, key: required.keys["model-ava"]!, at: Date())

        var pixels: [[UInt8]] = []
        for fixture in [required, notRequired, labelsOn] {
            try fixture.drop(DaemonFixture.job(twin: "ava", seed: 5, steps: 2), id: "label")
            let result = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
            #expect(result.status == 0, "\(result.output.suffix(2000))")
            pixels.append(try PNGCodec.decode(Data(contentsOf: fixture.spool.appendingPathComponent("out/label-0.png"))).image.pixels)
        }
        #expect(pixels[0] == pixels[2], "required by the grant: labelled exactly as with labels on")
        #expect(pixels[0] != pixels[1], "not required and switched off: no label")
    }

    @Test("reservations of jobs no longer in the spool are pruned at start")
    func stalePrunedAtStart() throws {
        let fixture = try DaemonFixture(maxImages: 2)
        defer { fixture.remove() }
        let store = fixture.store
        let grant = try #require(try store.load().grants[fixture.grantUID(of: "ava", store)]?.grant)
        // A crashed process held both of ava's images for a job that has since left the spool.
        try FileManager.default.createDirectory(at: fixture.spool.appendingPathComponent("state"), withIntermediateDirectories: true)
        let reservations = QuotaReservations(file: fixture.spool.appendingPathComponent("state/quota-reservations.json"))
        #expect(try reservations.reserve(grant: grant, job: "ghost", count: 2, delivered: 0))
        try fixture.drop(DaemonFixture.job(twin: "ava", steps: 2), id: "after")
        let result = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
        #expect(result.status == 0)
        #expect(fixture.files("out") == ["after-0.png"])
        #expect(try reservations.all().isEmpty)
        #expect(try String(contentsOf: fixture.statusLog, encoding: .utf8).contains("consent.reservation_pruned"))
    }
}

extension DaemonFixture {
    /// ava's grant terms as the fixture writes them, with changes.
    func terms(validFrom: Date = Date().addingTimeInterval(-86_400), validUntil: Date = Date().addingTimeInterval(86_400 * 30),
               maxImages: Int = 100, prohibitedTags: [String] = []) -> GrantTerms {
        GrantTerms(twin: "ava", licensee: "brand-north", purposes: ["ecommerce", "social-media"], territories: ["EU", "US"],
                   validFrom: validFrom, validUntil: validUntil, maxImages: maxImages, feeMinorUnits: 2500, currency: "EUR",
                   commissionBasisPoints: 1500, paymentDays: 30, prohibitedTags: prohibitedTags)
    }

    /// Signs and writes a grant for ava with her own key.
    func grant(_ store: RegistryStore, validFrom: Date = Date().addingTimeInterval(-86_400),
               validUntil: Date = Date().addingTimeInterval(86_400 * 30), maxImages: Int = 100, prohibitedTags: [String] = []) throws {
        try store.grant(terms(validFrom: validFrom, validUntil: validUntil, maxImages: maxImages, prohibitedTags: prohibitedTags),
                        key: keys["model-ava"]!, at: Date())
    }

    /// The uid of the (only) grant of `twin`.
    func grantUID(of twin: String, _ store: RegistryStore) throws -> String {
        try #require(try store.load().grants.values.first { $0.grant.terms.twin == twin }?.grant.uid)
    }

    /// Points the config at a copy of the tiny model changed by `edit`, with model.json's hashes
    /// updated to the edited files (a consistent package the model loader accepts).
    func useModelCopy(_ edit: (URL) throws -> Void) throws {
        let copy = root.appendingPathComponent("model")
        try FileManager.default.copyItem(at: Self.modelDirectory, to: copy)
        try edit(copy)
        let manifestURL = copy.appendingPathComponent("model.json")
        var manifest = try String(contentsOf: manifestURL, encoding: .utf8)
        for name in ["ava", "bea", "cleo", "dana"] {
            let original = try Self.sha256(of: Self.modelDirectory.appendingPathComponent("twins/\(name).safetensors"))
            let edited = try Self.sha256(of: copy.appendingPathComponent("twins/\(name).safetensors"))
            manifest = manifest.replacingOccurrences(of: original, with: edited)
        }
        try manifest.write(to: manifestURL, atomically: true, encoding: .utf8)
        var config = try String(contentsOf: configURL, encoding: .utf8)
        config = config.replacingOccurrences(of: "directory = \"\(Self.modelDirectory.path)\"", with: "directory = \"\(copy.path)\"")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
    }

    static func sha256(of file: URL) throws -> String { try WeightsDigestCache.sha256(of: file) }
}
