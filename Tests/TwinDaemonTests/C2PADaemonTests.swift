// Role: C2PA end to end with the real binary: `ca init` / `ca issue`, a daemon delivery that
// carries a trusted manifest `verify` accepts, a tampered copy reported invalid, and a daemon
// that refuses to start with a chain for another key; the provenance config keys.
// Reference: docs/watermark.md, "C2PA Content Credentials".
// Failure modes: none beyond the assertions (scratch directories are removed).
import Foundation
import Testing
import TwinImaging
@testable import TwinDaemon

@Suite("C2PA in delivered PNGs", .serialized)
struct C2PADaemonTests {
    static let provenance = """
    [provenance]
    certificate_chain = "ca/host-chain.pem"
    trust_anchors = ["ca/operator-ca.pem"]
    require_c2pa = true
    """

    /// Makes the operator CA in `fixture.root/ca` and a host chain for `key` (default: the host's).
    private func certify(_ fixture: DaemonFixture, key: String? = nil) throws {
        let ca = fixture.root.appendingPathComponent("ca").path
        let made = try TwinRenderBinary.run(["ca", "init", "--out", ca, "--name", "test operator CA"])
        #expect(made.status == 0, "\(made.output)")
        let issued = try TwinRenderBinary.run(["ca", "issue", "--host", fixture.host, "--host-key", key ?? fixture.root.appendingPathComponent("keys/\(fixture.host).key").path,
                                               "--ca", ca, "--out", ca + "/host-chain.pem"])
        #expect(issued.status == 0, "\(issued.output)")
    }

    private func verifyJSON(_ image: URL, _ fixture: DaemonFixture) throws -> (status: Int32, object: [String: Any]) {
        let result = try TwinRenderBinary.run(["verify", image.path, "--config", fixture.configURL.path, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        return (result.status, try #require(object, "not one JSON object: \(result.output.prefix(2000))"))
    }

    @Test("a delivered PNG carries a trusted manifest; an edited copy makes it invalid, the trace stays")
    func deliveredManifest() throws {
        let fixture = try DaemonFixture(extraConfig: Self.provenance)
        defer { fixture.remove() }
        try certify(fixture)
        try fixture.drop(DaemonFixture.job(seed: 5, count: 1), id: "c2pa-job")
        let served = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
        #expect(served.status == 0, "\(served.output.suffix(2000))")
        let image = fixture.spool.appendingPathComponent("out/c2pa-job-0.png")

        let (status, json) = try verifyJSON(image, fixture)
        #expect(status == 0)
        #expect(json["outcome"] as? String == "resolved" && json["exact_file"] as? Bool == true)
        let c2pa = try #require(json["c2pa"] as? [String: Any])
        #expect(c2pa["state"] as? String == "trusted", "\(c2pa)")
        #expect(c2pa["signer"] as? String == fixture.host && c2pa["issuer"] as? String == "test operator CA")
        #expect(c2pa["digital_source_type"] as? String == C2PAManifest.trainedAlgorithmicMedia)
        let mark = try #require(json["watermark"] as? [String: Any])
        #expect(c2pa["soft_binding_payload"] as? String == mark["payload"] as? String)
        let licence = try #require(c2pa["licence"] as? [String: String])
        #expect(licence["twin"] == "ava" && licence["licensee"] == "brand-north" && licence["job"] == "c2pa-job" && licence["territory"] == "DE")
        #expect((json["warnings"] as? [String])?.isEmpty == true)

        // A text chunk added after the pixels (an edited copy that still decodes): the hard
        // binding catches it.
        let bytes = Array(try Data(contentsOf: image))
        let iend = bytes.count - 12
        let added = PNGChunkTestSupport.chunk("tEXt", Array("Comment\u{0}re-licensed".utf8))
        let edited = Array(bytes[..<iend]) + added + Array(bytes[iend...])
        let copy = fixture.root.appendingPathComponent("copy.png")
        try Data(edited).write(to: copy)
        let (copyStatus, copyJSON) = try verifyJSON(copy, fixture)
        let copyC2PA = try #require(copyJSON["c2pa"] as? [String: Any])
        #expect(copyC2PA["state"] as? String == "invalid")
        #expect((copyC2PA["failures"] as? [String])?.contains { $0.hasPrefix("assertion.dataHash.mismatch") } == true)
        #expect((copyJSON["warnings"] as? [String])?.contains { $0.contains("C2PA manifest is INVALID") } == true)
        // The ledger trace is unchanged: the mark still resolves (exit 0), as an altered copy.
        #expect(copyStatus == 0 && copyJSON["exact_file"] as? Bool == false)
    }

    @Test("the daemon refuses to start with a certificate for another key")
    func refusesAForeignChain() throws {
        let fixture = try DaemonFixture(extraConfig: Self.provenance)
        defer { fixture.remove() }
        try certify(fixture, key: fixture.root.appendingPathComponent("keys/registrar.key").path)
        try fixture.drop(DaemonFixture.job(seed: 5, count: 1), id: "c2pa-refused")
        let served = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"])
        #expect(served.status != 0)
        let log = try String(contentsOf: fixture.statusLog, encoding: .utf8)
        #expect(log.contains("daemon.start_failed") && log.contains("provenance.certificate_chain") && log.contains("not for this host key"), "\(log.suffix(2000))")
        #expect(fixture.files("out").isEmpty && fixture.files("incoming") == ["c2pa-refused.json"])
    }

    @Test("require_c2pa without a chain is a config error; no chain means no manifest")
    func configKeys() throws {
        let base = URL(fileURLWithPath: "/etc/twinrender")
        #expect(throws: ConfigError.self) { try DaemonConfig.parse("[provenance]\nrequire_c2pa = true\n", baseDirectory: base) }
        let config = try DaemonConfig.parse("[provenance]\ncertificate_chain = \"c.pem\"\ntrust_anchors = [\"a.pem\"]\n", baseDirectory: base)
        #expect(config.c2paCertificateChainFile?.path == "/etc/twinrender/c.pem" && config.c2paTrustAnchorFiles.map(\.path) == ["/etc/twinrender/a.pem"])
        #expect(DaemonConfig().c2paCertificateChainFile == nil && !DaemonConfig().requireC2PA)
    }
}

/// A PNG chunk (length, type, data, CRC) for test files.
enum PNGChunkTestSupport {
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        var crc: UInt32 = 0xFFFF_FFFF
        let body = Array(type.utf8) + data
        for byte in body {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        let be: (UInt32) -> [UInt8] = { v in (0..<4).map { UInt8((v >> (24 - 8 * UInt32($0))) & 0xFF) } }
        return be(UInt32(data.count)) + body + be(crc)
    }
}
