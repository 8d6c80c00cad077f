// Role: tests of the C2PA code: CBOR against RFC 8949 Appendix A vectors and the strict decoder's
// refusals, JUMBF structure, COSE_Sign1 round trip and tampering, the golden manifest (exact
// bytes of the committed fixture), the validator's hard binding, hashed URIs and signature, and
// chain validation (another CA, an expired certificate, a certificate for another key).
// Reference: RFC 8949 Appendix A; Fixtures/c2pa/README.md (how the golden files were made; the
// golden PNG is "Trusted" under c2pa-python with operator-ca.pem as trust anchor).
// Failure modes: a missing fixture fails with its path.
import Crypto
import Foundation
import Testing
import TwinBase
@testable import TwinImaging
import X509

private func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

@Suite struct CBORTests {
    /// RFC 8949 Appendix A, a selection (value, encoding).
    static let vectors: [(CBORValue, String)] = [
        (.int(0), "00"), (.int(1), "01"), (.int(10), "0a"), (.int(23), "17"), (.int(24), "1818"), (.int(25), "1819"),
        (.int(100), "1864"), (.int(1000), "1903e8"), (.int(1_000_000), "1a000f4240"),
        (.int(1_000_000_000_000), "1b000000e8d4a51000"), (.unsigned(18_446_744_073_709_551_615), "1bffffffffffffffff"),
        (.negative(18_446_744_073_709_551_615), "3bffffffffffffffff"),
        (.int(-1), "20"), (.int(-10), "29"), (.int(-100), "3863"), (.int(-1000), "3903e7"),
        (.bool(false), "f4"), (.bool(true), "f5"), (.null, "f6"),
        (.tagged(1, .int(1_363_896_240)), "c11a514b67b0"),
        (.bytes([]), "40"), (.bytes([1, 2, 3, 4]), "4401020304"),
        (.text(""), "60"), (.text("a"), "6161"), (.text("IETF"), "6449455446"), (.text("\"\\"), "62225c"),
        (.text("\u{00fc}"), "62c3bc"), (.text("\u{6c34}"), "63e6b0b4"),
        (.array([]), "80"), (.array([.int(1), .int(2), .int(3)]), "83010203"),
        (.array([.int(1), .array([.int(2), .int(3)]), .array([.int(4), .int(5)])]), "8301820203820405"),
        (.array((1...25).map { .int($0) }), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
        (.map([]), "a0"), (.map([(.int(1), .int(2)), (.int(3), .int(4))]), "a201020304"),
        (.textMap([("a", .int(1)), ("b", .array([.int(2), .int(3)]))]), "a26161016162820203"),
        (.array([.text("a"), .textMap([("b", .text("c"))])]), "826161a161626163"),
    ]

    @Test func encodesAppendixAVectors() throws {
        for (value, expected) in Self.vectors { #expect(value.encoded == hex(expected), "\(value)") }
    }

    @Test func decodesAppendixAVectors() throws {
        for (value, encoding) in Self.vectors { #expect(try CBORValue.decode(hex(encoding)) == value, "\(encoding)") }
    }

    @Test func sortsMapKeysByTheirEncoding() throws {
        // RFC 8949 §4.2.1: shorter keys first, then bytewise.
        let map = CBORValue.map([(.text("bb"), .int(1)), (.text("a"), .int(2)), (.int(33), .int(3)), (.int(1), .int(4))])
        #expect(map.encoded == hex("a4" + "0104" + "182103" + "616102" + "62626201"))
    }

    @Test func rejectsWhatTheEncoderNeverWrites() throws {
        let bad = ["5f42010243030405ff", "1800", "190017", "0000", "f93c00", "fb3ff199999999999a", "a201020103", "62c3", "6261", "9a00000002", "1c"]
        for encoding in bad {
            #expect(throws: C2PAError.self, "\(encoding)") { try CBORValue.decode(hex(encoding)) }
        }
        let deep = [UInt8](repeating: 0x81, count: 40) + [0x00]
        #expect(throws: C2PAError.self) { try CBORValue.decode(deep) }
    }
}

@Suite struct JUMBFTests {
    @Test func encodesDescriptionAndContentBoxes() throws {
        let box = JUMBFSuperbox(type: JUMBFSuperbox.c2paType("cbor"), label: "x", children: [.content(type: "cbor", data: [0xF6])])
        let description = hex("0000001b" + "6a756d64" + "63626f72" + "00110010800000aa00389b71" + "03" + "7800")
        #expect(box.payload == description + hex("00000009" + "63626f72" + "f6"))
        #expect(box.encoded == hex("0000002c" + "6a756d62") + box.payload)
        #expect(try JUMBFSuperbox.parse(box.encoded) == box)
    }

    @Test func goldenManifestHasTheC2PALayout() throws {
        let png = try C2PAFixture.signedPNG()
        let chunk = try #require(try PNGChunks.locations(of: "caBX", in: png).first)
        let idat = try #require(try PNGChunks.locations(of: "IDAT", in: png).first)
        #expect(chunk.offset + chunk.length == idat.offset, "caBX sits right before the first IDAT")
        let store = try JUMBFSuperbox.parse(Array(png[chunk.data]))
        #expect(store.label == "c2pa" && store.type == hex("6332706100110010800000aa00389b71"))
        let manifest = try #require(store.superboxes.first)
        #expect(store.superboxes.count == 1 && manifest.label.hasPrefix("urn:c2pa:") && manifest.type == JUMBFSuperbox.c2paType("c2ma"))
        #expect(manifest.superboxes.map(\.label) == ["c2pa.assertions", "c2pa.claim.v2", "c2pa.signature"])
        #expect(manifest.child("c2pa.assertions")?.superboxes.map(\.label)
                == ["c2pa.actions.v2", "c2pa.hash.data", "c2pa.soft-binding", "com.twinrender.licence"])
        #expect(store.encoded == Array(png[chunk.data]), "re-encoding a parsed store gives its bytes back")
    }

    @Test func rejectsBrokenBoxes() throws {
        let good = JUMBFSuperbox(type: JUMBFSuperbox.c2paType("cbor"), label: "x", children: [.content(type: "cbor", data: [0xF6])]).encoded
        var long = good
        long[3] += 1
        var toggles = good
        toggles[8 + 8 + 16] = 0x07
        var noLabelEnd = good
        noLabelEnd[8 + 8 + 18] = 0x41
        for bytes in [Array(good.dropLast()), long, toggles, noLabelEnd, hex("000000016a756d62")] {
            #expect(throws: C2PAError.self) { try JUMBFSuperbox.parse(bytes) }
        }
    }
}

@Suite struct COSESign1Tests {
    @Test func roundTripsAndRejectsTampering() throws {
        let key = C2PAFixture.hostKey
        let payload = Array("claim bytes".utf8)
        let signature = try COSESign1.sign(payload: payload, key: key, chain: [[0x30, 0x00]])
        let decoded = try COSESign1.decode(signature.encoded)
        #expect(decoded == signature && decoded.algorithm == -8 && decoded.certificateChain == [[0x30, 0x00]])
        #expect(decoded.isValidSignature(payload: payload, publicKey: key.publicKey))
        #expect(!decoded.isValidSignature(payload: payload + [0], publicKey: key.publicKey))
        #expect(!decoded.isValidSignature(payload: payload, publicKey: C2PAFixture.caKey.publicKey))
        var tampered = decoded
        tampered.signature[5] ^= 0x01
        #expect(!tampered.isValidSignature(payload: payload, publicKey: key.publicKey))
        #expect(signature.encoded.starts(with: [0xD2, 0x84]), "tag 18, four items")
    }

    @Test func rejectsAnAttachedPayloadAndOtherShapes() throws {
        let attached = CBORValue.tagged(18, .array([.bytes(CBORValue.map([]).encoded), .map([]), .bytes([1]), .bytes([])])).encoded
        let untagged = CBORValue.array([.bytes(CBORValue.map([]).encoded), .map([]), .null, .bytes([])]).encoded
        for bytes in [attached, untagged] {
            #expect(throws: C2PAError.self) { try COSESign1.decode(bytes) }
        }
    }
}

@Suite struct C2PAManifestTests {
    @Test func goldenManifestBytes() throws {
        let signed = try C2PAManifest.embed(in: try C2PAFixture.unsignedPNG(), content: C2PAFixture.content, signer: try C2PAFixture.signer())
        #expect(signed == (try C2PAFixture.signedPNG()), "regenerate with Fixtures/c2pa/README.md only for a deliberate format change")
    }

    @Test func goldenManifestIsTrusted() throws {
        let report = try #require(C2PAValidator(trustAnchors: try C2PAFixture.anchors()).validate(png: try C2PAFixture.signedPNG()))
        #expect(report.state == .trusted, "\(report.failures)")
        #expect(report.failures.isEmpty)
        #expect(report.action == "c2pa.created" && report.digitalSourceType == C2PAManifest.trainedAlgorithmicMedia)
        #expect(report.softBindingPayload == "00c0ffee12345678")
        #expect(report.signingTime == "2026-05-01T12:00:00Z" && report.signer == "fixture-host" && report.issuer == "fixture operator CA")
        #expect(report.licence["twin"] == "ava" && report.licence["licensee"] == "brand-north" && report.licence["grant"] == "grant-5f2c"
                && report.licence["licence_end"] == "2027-12-31T23:59:59Z" && report.licence["territory"] == "DE")
        #expect(report.claimGenerator == "twinrender twin-mini-v1")
    }

    @Test func unsignedPNGHasNoReport() throws {
        #expect(C2PAValidator(trustAnchors: []).validate(png: try C2PAFixture.unsignedPNG()) == nil)
    }

    @Test func anotherCAMakesItValidNotTrusted() throws {
        let other = try C2PACertificates.certificates(file: try C2PAFixture.url("other-ca-chain.pem"))
        for anchors in [[], [other[1]]] {
            let report = try #require(C2PAValidator(trustAnchors: anchors).validate(png: try C2PAFixture.signedPNG()))
            #expect(report.state == .valid)
            #expect(report.failures.count == 1 && report.failures[0].hasPrefix("signingCredential.untrusted"))
        }
    }

    /// `png` with the byte at `offset` flipped and the CRC of the chunk holding it recomputed, so
    /// only the C2PA checks can notice.
    private func flip(_ png: [UInt8], at offset: Int) throws -> [UInt8] {
        var bytes = png
        bytes[offset] ^= 0x01
        var position = 8
        while position < bytes.count {
            let length = bytes[position..<(position + 4)].reduce(0) { $0 << 8 | Int($1) }
            if (position + 8)..<(position + 8 + length) ~= offset {
                let crc = CRC32.checksum(bytes[(position + 4)..<(position + 8 + length)])
                for i in 0..<4 { bytes[position + 8 + length + i] = UInt8((crc >> (24 - 8 * UInt32(i))) & 0xFF) }
                return bytes
            }
            position += length + 12
        }
        throw C2PAError.signing("offset \(offset) is in no chunk's data")
    }

    private func failures(_ png: [UInt8]) throws -> [String] {
        let report = try #require(C2PAValidator(trustAnchors: try C2PAFixture.anchors()).validate(png: png))
        #expect(report.state == .invalid)
        return report.failures.map { String($0.prefix { $0 != ":" }) }
    }

    @Test func hardBindingDetectsAChangedPixelByte() throws {
        let png = try C2PAFixture.signedPNG()
        let idat = try #require(try PNGChunks.locations(of: "IDAT", in: png).first)
        #expect(try failures(try flip(png, at: idat.data.lowerBound + 20)) == ["assertion.dataHash.mismatch"])
    }

    @Test func hardBindingDetectsAnAddedChunkOutsideTheExclusion() throws {
        let png = try C2PAFixture.signedPNG()
        let iend = png.count - 12
        let added = Array(png[..<iend]) + PNGChunks.chunk(type: "tEXt", data: Array("Comment\0edited".utf8)) + Array(png[iend...])
        #expect(try failures(added) == ["assertion.dataHash.mismatch"])
        let ihdrEnd = 8 + 25
        let before = Array(png[..<ihdrEnd]) + PNGChunks.chunk(type: "tEXt", data: Array("Comment\0moved".utf8)) + Array(png[ihdrEnd...])
        #expect(try failures(before) == ["assertion.dataHash.mismatch"], "the exclusion no longer points at the manifest")
    }

    @Test func detectsAnEditedAssertionAndSignature() throws {
        let png = try C2PAFixture.signedPNG()
        let chunk = try #require(try PNGChunks.locations(of: "caBX", in: png).first)
        let data = Array(png[chunk.data])
        // "brand-north" in the licence assertion → "brand-nosth".
        let licensee = try #require(data.firstRange(of: Array("brand-north".utf8)))
        #expect(try failures(try flip(png, at: chunk.data.lowerBound + licensee.lowerBound + 8)) == ["assertion.hashedURI.mismatch"])
        // The last byte of the store is the last byte of the Ed25519 signature.
        #expect(try failures(try flip(png, at: chunk.data.upperBound - 1)) == ["claimSignature.mismatch"])
    }

    @Test func validatorRejectsASigningTimeOutsideTheCertificate() throws {
        // The one-day certificate was valid on 2026-01-01; the claim says 2026-05-01.
        let expired = try C2PACertificates.certificates(file: try C2PAFixture.url("expired-chain.pem"))
        let signer = try C2PASigner(key: C2PAFixture.hostKey, chain: expired, now: C2PAFixture.certificatesStart.addingTimeInterval(3600))
        let png = try C2PAFixture.unsignedPNG()
        let idat = try #require(try PNGChunks.locations(of: "IDAT", in: png).first)
        let signed = try C2PAManifest.assemble(png, before: idat, content: C2PAFixture.content, signer: signer)
        #expect(try failures(signed) == ["signingCredential.expired"])
    }

    @Test func refusesToSignTwice() throws {
        #expect(throws: C2PAError.self) {
            try C2PAManifest.embed(in: try C2PAFixture.signedPNG(), content: C2PAFixture.content, signer: try C2PAFixture.signer())
        }
    }

    @Test func refusesASigningTimeOutsideTheCertificate() throws {
        var content = C2PAFixture.content
        content.signingTime = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(throws: C2PAError.self) {
            try C2PAManifest.embed(in: try C2PAFixture.unsignedPNG(), content: content, signer: try C2PAFixture.signer())
        }
    }
}

@Suite struct C2PACertificateTests {
    @Test func hostCertificateFitsTheProfileAndChains() throws {
        let chain = try C2PAFixture.chain()
        #expect(C2PACertificates.problems(signer: chain[0], at: C2PAFixture.signingTime).isEmpty)
        #expect(C2PACertificates.chainProblems(chain, anchors: try C2PAFixture.anchors(), at: C2PAFixture.signingTime).isEmpty)
        #expect(C2PACertificates.chainProblems([chain[0]], anchors: try C2PAFixture.anchors(), at: C2PAFixture.signingTime).isEmpty)
        #expect(!C2PACertificates.problems(signer: chain[1], at: C2PAFixture.signingTime).isEmpty, "a CA certificate is no signer")
    }

    @Test func rejectsACertificateFromAnotherCA() throws {
        let foreign = try C2PACertificates.certificates(file: try C2PAFixture.url("other-ca-chain.pem"))
        #expect(!C2PACertificates.chainProblems(foreign, anchors: try C2PAFixture.anchors(), at: C2PAFixture.signingTime).isEmpty)
        #expect(!C2PACertificates.chainProblems([foreign[0]], anchors: try C2PAFixture.anchors(), at: C2PAFixture.signingTime).isEmpty)
        // Same subject and issuer names as the real CA would not help: the signature is checked.
        #expect(throws: C2PAError.self) {
            try C2PASigner(key: C2PAFixture.hostKey, chain: foreign, anchors: try C2PAFixture.anchors(), now: C2PAFixture.signingTime)
        }
    }

    @Test func rejectsAnExpiredCertificate() throws {
        let expired = try C2PACertificates.certificates(file: try C2PAFixture.url("expired-chain.pem"))
        let problems = C2PACertificates.problems(signer: expired[0], at: C2PAFixture.signingTime)
        #expect(problems.count == 1 && problems[0].contains("not at 2026-05-01T12:00:00Z"))
        #expect(throws: C2PAError.self) {
            try C2PASigner(key: C2PAFixture.hostKey, chain: expired, now: C2PAFixture.signingTime)
        }
    }

    @Test func rejectsAChainForAnotherKey() throws {
        #expect(throws: C2PAError.self) {
            try C2PASigner(key: C2PAFixture.caKey, chain: try C2PAFixture.chain(), now: C2PAFixture.signingTime)
        }
    }

    @Test func privateKeyPEMRoundTrips() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("c2pa-key-\(UUID().uuidString).pem")
        defer { try? FileManager.default.removeItem(at: url) }
        try C2PACertificates.pem(privateKey: C2PAFixture.caKey).write(to: url, atomically: true, encoding: .utf8)
        #expect(try C2PACertificates.privateKey(file: url).rawRepresentation == C2PAFixture.caKey.rawRepresentation)
        try "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: C2PAError.self) { try C2PACertificates.privateKey(file: url) }
    }
}
