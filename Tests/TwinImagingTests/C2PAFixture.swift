// Role: the fixed inputs of the C2PA golden test (keys from fixed seeds, a fixed image, fixed
// times) and the committed files made from them (Fixtures/c2pa: the operator CA certificate, the
// host chain, the signed PNG).
// Reference: Fixtures/c2pa/README.md says how the files were made:
// `C2PA_WRITE_FIXTURES=Tests/TwinImagingTests/Fixtures/c2pa swift test --filter C2PAFixtureWriter`
// (certificates carry random serial numbers, so they are made once and committed).
// Failure modes: a missing fixture file fails the test that needs it with the path.
import Crypto
import Foundation
import Testing
import TwinBase
@testable import TwinImaging
import X509

enum C2PAFixture {
    /// 2026-01-01T00:00:00Z: when the fixture certificates start.
    static let certificatesStart = Date(timeIntervalSince1970: 1_767_225_600)
    /// 2026-05-01T12:00:00Z: the fixture's signing time.
    static let signingTime = Date(timeIntervalSince1970: 1_777_636_800)

    static func key(_ seed: String) -> Curve25519.Signing.PrivateKey {
        try! Curve25519.Signing.PrivateKey(rawRepresentation: Array(SHA256.hash(data: Array(seed.utf8))))
    }
    static var caKey: Curve25519.Signing.PrivateKey { key("twinrender c2pa fixture operator ca") }
    static var hostKey: Curve25519.Signing.PrivateKey { key("twinrender c2pa fixture render host") }
    static var otherCAKey: Curve25519.Signing.PrivateKey { key("twinrender c2pa fixture other ca") }

    static let licence = C2PALicence(
        job: "job-2026-0042", imageIndex: 3, twin: "ava", licensee: "brand-north", purpose: "ecommerce", territory: "DE",
        grant: "grant-5f2c", licenceStart: certificatesStart, licenceEnd: Date(timeIntervalSince1970: 1_830_297_599))
    static let content = C2PAManifest.Content(licence: licence, watermarkPayload: 0x00C0_FFEE_1234_5678,
                                              signingTime: signingTime, generatorVersion: "twin-mini-v1")

    /// The unsigned fixture PNG: a fixed synthetic image, no metadata, level 6.
    /// The committed input PNG (`unsigned.png`), so the golden manifest does not follow PNG
    /// encoder settings.
    static func unsignedPNG() throws -> [UInt8] { Array(try Data(contentsOf: try url("unsigned.png"))) }

    /// The input as the encoder writes it now (what `C2PAFixtureWriter` commits as `unsigned.png`).
    static func encodedUnsignedPNG() throws -> [UInt8] {
        Array(try PNGCodec.encode(SyntheticRender.make(seed: 7, size: 64), metadata: nil, compressionLevel: 6))
    }

    static func url(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: "Fixtures/c2pa/\(name)", withExtension: nil) else {
            throw C2PAError.certificate("missing fixture Fixtures/c2pa/\(name)")
        }
        return url
    }

    static func anchors() throws -> [Certificate] { try C2PACertificates.certificates(file: try url("operator-ca.pem")) }
    static func chain() throws -> [Certificate] { try C2PACertificates.certificates(file: try url("host-chain.pem")) }
    static func signer() throws -> C2PASigner {
        try C2PASigner(key: hostKey, chain: try chain(), anchors: try anchors(), now: signingTime)
    }
    static func signedPNG() throws -> [UInt8] { Array(try Data(contentsOf: try url("signed.png"))) }
}

/// Writes the fixture files; runs only when `C2PA_WRITE_FIXTURES` names the output directory.
@Suite struct C2PAFixtureWriter {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["C2PA_WRITE_FIXTURES"] != nil))
    func writeFixtures() throws {
        let directory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["C2PA_WRITE_FIXTURES"]!)
        let ca = try C2PACertificates.makeAuthority(key: C2PAFixture.caKey, name: "fixture operator CA",
                                                    now: C2PAFixture.certificatesStart, days: 7300)
        let host = try C2PACertificates.issueHostCertificate(
            host: "fixture-host", publicKey: C2PAFixture.hostKey.publicKey, authorityKey: C2PAFixture.caKey, authority: ca,
            now: C2PAFixture.certificatesStart, days: 3650)
        try C2PACertificates.pem([ca]).write(to: directory.appendingPathComponent("operator-ca.pem"), atomically: true, encoding: .utf8)
        try C2PACertificates.pem([host, ca]).write(to: directory.appendingPathComponent("host-chain.pem"), atomically: true, encoding: .utf8)
        // An expired host certificate (one day in 2026-01) and one from another CA, for the chain tests.
        let expired = try C2PACertificates.issueHostCertificate(
            host: "fixture-host", publicKey: C2PAFixture.hostKey.publicKey, authorityKey: C2PAFixture.caKey, authority: ca,
            now: C2PAFixture.certificatesStart, days: 1)
        try C2PACertificates.pem([expired, ca]).write(to: directory.appendingPathComponent("expired-chain.pem"), atomically: true, encoding: .utf8)
        let other = try C2PACertificates.makeAuthority(key: C2PAFixture.otherCAKey, name: "other operator CA",
                                                       now: C2PAFixture.certificatesStart, days: 7300)
        let foreign = try C2PACertificates.issueHostCertificate(
            host: "fixture-host", publicKey: C2PAFixture.hostKey.publicKey, authorityKey: C2PAFixture.otherCAKey, authority: other,
            now: C2PAFixture.certificatesStart, days: 3650)
        try C2PACertificates.pem([foreign, other]).write(to: directory.appendingPathComponent("other-ca-chain.pem"), atomically: true, encoding: .utf8)
        let signer = try C2PASigner(key: C2PAFixture.hostKey, chain: [host, ca], anchors: [ca], now: C2PAFixture.signingTime)
        let unsigned = try C2PAFixture.encodedUnsignedPNG()
        try Data(unsigned).write(to: directory.appendingPathComponent("unsigned.png"))
        let signed = try C2PAManifest.embed(in: unsigned, content: C2PAFixture.content, signer: signer)
        try Data(signed).write(to: directory.appendingPathComponent("signed.png"))
    }
}
