// Role: validates the C2PA manifest of a PNG for `twinrender verify`: the manifest store in the
// caBX chunk, the v2 claim and every assertion it lists by hashed URI, the COSE_Sign1 signature
// over the claim, the signer certificate's C2PA profile and validity at the claimed signing time,
// the chain to the configured operator CA(s), and the hard binding (SHA-256 over the file minus
// the exclusion, which must be exactly the caBX chunk). Reads the facts twinrender writes
// (action, digital source type, soft-binding payload, licence).
// Reference: C2PA Technical Specification 2.x §15 ("Validation": the order of checks and the
// failure codes, e.g. `assertion.dataHash.mismatch`, `claimSignature.mismatch`,
// `signingCredential.untrusted`); the layout `C2PAManifest` writes.
// Failure modes: never throws. No caBX chunk: `validate` returns nil. Anything else wrong is a
// failure code with an explanation in the report, whose `state` is then `invalid` (or `valid`
// without `trusted` when only the trust check failed). Only what twinrender writes is read: one
// manifest, claim v2, SHA-256, EdDSA; other manifests are reported invalid with the reason.

import Crypto
import Foundation
import TwinBase
import X509

/// What `C2PAValidator` found in a PNG's C2PA manifest.
public struct C2PAReport: Sendable, Equatable, Codable {
    /// The C2PA validation state.
    public enum State: String, Sendable, Codable {
        /// Some check failed (see `failures`).
        case invalid
        /// Well-formed, hashes and signature good, certificate fits the profile; not chained to a
        /// configured trust anchor.
        case valid
        /// Valid, and the signer certificate chains to a configured operator CA.
        case trusted
    }

    /// The overall state.
    public var state: State
    /// Size of the caBX chunk's data (the JUMBF manifest store).
    public var manifestBytes: Int
    /// The active manifest's label (`urn:c2pa:…`).
    public var manifest: String?
    /// `claim_generator_info` name and version.
    public var claimGenerator: String?
    /// The signer certificate's common name (the render host).
    public var signer: String?
    /// The signer certificate issuer's common name (the operator CA).
    public var issuer: String?
    /// The signer certificate's validity, ISO 8601.
    public var certificateValidity: String?
    /// The time the claim says it was signed (the `c2pa.created` action's `when`): the host's
    /// statement, not a time-stamp.
    public var signingTime: String?
    /// The first action (`c2pa.created` for twinrender's images).
    public var action: String?
    /// Its IPTC digital source type.
    public var digitalSourceType: String?
    /// The soft-binding payload of the invisible watermark, as 16 hex digits.
    public var softBindingPayload: String?
    /// The licence facts (`com.twinrender.licence`), by field.
    public var licence: [String: String]
    /// Failures, as `code: explanation` (C2PA failure codes).
    public var failures: [String]

    /// Whether the manifest is at least valid.
    public var isValid: Bool { state != .invalid }
}

/// Checks C2PA manifests against a set of trust anchors (operator CA certificates).
public struct C2PAValidator: Sendable {
    /// The operator CA certificates a signer must chain to for `trusted`.
    public let trustAnchors: [Certificate]

    /// A validator trusting `trustAnchors` (none: manifests are at best `valid`).
    public init(trustAnchors: [Certificate]) {
        self.trustAnchors = trustAnchors
    }

    /// A validator trusting the certificates in the PEM files `trustAnchorFiles`.
    public init(trustAnchorFiles: [URL]) throws {
        self.init(trustAnchors: try C2PACertificates.certificates(files: trustAnchorFiles))
    }

    /// The number of trust anchors.
    public var trustAnchorCount: Int { trustAnchors.count }

    /// The report on `png`'s manifest, or nil when it has no caBX chunk (or is no PNG at all).
    public func validate(png: [UInt8]) -> C2PAReport? {
        guard let chunks = try? PNGChunks.locations(of: PNGChunks.c2paChunkType, in: png), let chunk = chunks.first else { return nil }
        var check = Check(file: png, chunk: chunk, anchors: trustAnchors)
        if chunks.count > 1 {
            check.fail("manifest.multipleManifests", "\(chunks.count) caBX chunks; a PNG carries one manifest store")
        } else {
            check.run()
        }
        return check.report
    }
}

/// One validation run: the report filled in step by step.
private struct Check {
    let file: [UInt8]
    let chunk: PNGChunks.ChunkLocation
    let anchors: [Certificate]
    var report: C2PAReport
    var untrusted: String?

    init(file: [UInt8], chunk: PNGChunks.ChunkLocation, anchors: [Certificate]) {
        self.file = file
        self.chunk = chunk
        self.anchors = anchors
        report = C2PAReport(state: .invalid, manifestBytes: chunk.data.count, licence: [:], failures: [])
    }

    mutating func fail(_ code: String, _ explanation: String) {
        report.failures.append("\(code): \(explanation)")
    }

    mutating func run() {
        defer {
            if !report.failures.isEmpty {
                report.state = .invalid
            } else if let untrusted {
                report.state = .valid
                report.failures.append("signingCredential.untrusted: \(untrusted)")
            } else {
                report.state = .trusted
            }
        }
        let store: JUMBFSuperbox
        do {
            store = try JUMBFSuperbox.parse(Array(file[chunk.data]))
        } catch {
            return fail("manifest.malformed", "\(error)")
        }
        guard store.type == JUMBFSuperbox.c2paType("c2pa"), store.label == "c2pa",
              let manifest = store.superboxes.last(where: { $0.type == JUMBFSuperbox.c2paType("c2ma") }) else {
            return fail("manifest.malformed", "the caBX chunk holds no c2pa manifest store with a manifest")
        }
        report.manifest = manifest.label
        guard let claimBox = manifest.child(C2PAManifest.claimLabel), claimBox.type == JUMBFSuperbox.c2paType("c2cl"),
              let claimBytes = claimBox.content("cbor") else {
            return fail("claim.missing", "no \(C2PAManifest.claimLabel) box (only v2 claims are read)")
        }
        guard let claim = try? CBORValue.decode(claimBytes), let generator = claim["claim_generator_info"]?["name"]?.text,
              claim["instanceID"]?.text != nil, let signatureURL = claim["signature"]?.text,
              let references = claim["created_assertions"]?.array else {
            return fail("claim.malformed", "the claim lacks instanceID, claim_generator_info.name, signature or created_assertions")
        }
        report.claimGenerator = [generator, claim["claim_generator_info"]?["version"]?.text].compactMap { $0 }.joined(separator: " ")
        guard (claim["alg"]?.text ?? "sha256") == "sha256" else { return fail("algorithm.unsupported", "claim hash algorithm \(claim["alg"]?.text ?? "?")") }
        let assertions = checkAssertions(references, gathered: claim["gathered_assertions"]?.array ?? [], manifest: manifest)
        readFacts(assertions)
        checkHardBinding(assertions[C2PAManifest.dataHashLabel])
        guard signatureURL == "self#jumbf=/c2pa/\(manifest.label)/\(C2PAManifest.signatureLabel)",
              let signatureBox = manifest.child(C2PAManifest.signatureLabel), signatureBox.type == JUMBFSuperbox.c2paType("c2cs"),
              let signatureBytes = signatureBox.content("cbor") else {
            return fail("claimSignature.missing", "no c2pa.signature box where the claim's signature URI points")
        }
        checkSignature(signatureBytes, claim: claimBytes)
    }

    /// Checks every hashed URI of the claim and returns the referenced assertions' CBOR by label.
    mutating func checkAssertions(_ created: [CBORValue], gathered: [CBORValue], manifest: JUMBFSuperbox) -> [String: CBORValue] {
        guard let assertionStore = manifest.child(C2PAManifest.assertionStoreLabel) else {
            fail("assertion.missing", "no c2pa.assertions store")
            return [:]
        }
        var found: [String: CBORValue] = [:]
        for reference in created + gathered {
            guard let url = reference["url"]?.text, let hash = reference["hash"]?.bytes,
                  (reference["alg"]?.text ?? "sha256") == "sha256" else {
                fail("claim.malformed", "a hashed URI without url, hash, or with another algorithm than sha256")
                continue
            }
            let relative = "self#jumbf=\(C2PAManifest.assertionStoreLabel)/"
            let absolute = "self#jumbf=/c2pa/\(manifest.label)/\(C2PAManifest.assertionStoreLabel)/"
            let label = url.hasPrefix(relative) ? String(url.dropFirst(relative.count))
                : url.hasPrefix(absolute) ? String(url.dropFirst(absolute.count)) : nil
            guard let label, let box = assertionStore.child(label) else {
                fail("assertion.missing", "\(url) is not in this manifest's assertion store")
                continue
            }
            guard Array(SHA256.hash(data: box.payload)) == hash else {
                fail("assertion.hashedURI.mismatch", "the hash of \(label) does not match the claim")
                continue
            }
            guard let bytes = box.content("cbor"), let value = try? CBORValue.decode(bytes) else {
                // Non-CBOR assertions (JSON, embedded files) are hashed but not read here.
                continue
            }
            found[label] = value
        }
        return found
    }

    /// The facts twinrender writes, when present.
    mutating func readFacts(_ assertions: [String: CBORValue]) {
        if let first = (assertions[C2PAManifest.actionsLabel] ?? assertions["c2pa.actions"])?["actions"]?.array?.first {
            report.action = first["action"]?.text
            report.digitalSourceType = first["digitalSourceType"]?.text
            report.signingTime = first["when"]?.text
        } else {
            fail("assertion.missing", "the claim lists no actions assertion with an action")
        }
        if let value = assertions[C2PAManifest.softBindingLabel]?["blocks"]?.array?.first?["value"]?.text,
           assertions[C2PAManifest.softBindingLabel]?["alg"]?.text == C2PAManifest.softBindingAlgorithm,
           let bytes = Data(base64Encoded: value), bytes.count == 8 {
            report.softBindingPayload = ProvenanceMetadata.hex(bytes.reduce(0) { $0 << 8 | UInt64($1) })
        }
        if case .map(let pairs) = assertions[C2PAManifest.licenceLabel] {
            for case (.text(let key), .text(let value)) in pairs { report.licence[key] = value }
        }
    }

    /// The hard binding: one exclusion, exactly the caBX chunk, and the SHA-256 of the rest.
    mutating func checkHardBinding(_ dataHash: CBORValue?) {
        guard let dataHash else { return fail("claim.hardBindings.missing", "the claim lists no c2pa.hash.data assertion") }
        guard let exclusions = dataHash["exclusions"]?.array, let expected = dataHash["hash"]?.bytes,
              (dataHash["alg"]?.text ?? "sha256") == "sha256" else {
            return fail("assertion.dataHash.malformed", "c2pa.hash.data lacks exclusions or hash, or is not sha256")
        }
        let ranges = exclusions.compactMap { e -> (Int, Int)? in
            guard let start = e["start"]?.int, let length = e["length"]?.int else { return nil }
            return (start, length)
        }
        guard ranges.count == 1, ranges[0] == (chunk.offset, chunk.length) else {
            return fail("assertion.dataHash.mismatch", "the exclusions \(ranges) are not exactly the caBX chunk (\(chunk.offset), \(chunk.length))")
        }
        var hasher = SHA256()
        hasher.update(data: file[..<chunk.offset])
        hasher.update(data: file[(chunk.offset + chunk.length)...])
        if Array(hasher.finalize()) != expected {
            fail("assertion.dataHash.mismatch", "the file's bytes outside the manifest do not hash to the signed value (the image was changed)")
        }
    }

    /// The COSE signature over the claim, the signer's profile at the signing time, the chain.
    mutating func checkSignature(_ bytes: [UInt8], claim: [UInt8]) {
        let signature: COSESign1
        do { signature = try COSESign1.decode(bytes) } catch { return fail("claimSignature.malformed", "\(error)") }
        let certificates = signature.certificateChain.compactMap { try? Certificate(derEncoded: $0) }
        guard let leaf = certificates.first, certificates.count == signature.certificateChain.count else {
            return fail("signingCredential.invalid", "no parseable x5chain in the protected header")
        }
        report.signer = C2PACertificates.commonName(leaf.subject)
        report.issuer = C2PACertificates.commonName(leaf.issuer)
        report.certificateValidity = "\(UTCTimestamp(leaf.notValidBefore)) to \(UTCTimestamp(leaf.notValidAfter))"
        guard let key = C2PACertificates.ed25519Key(leaf), signature.algorithm == COSESign1.algorithmEdDSA else {
            return fail("algorithm.unsupported", "only EdDSA (Ed25519) signatures are checked here")
        }
        guard signature.isValidSignature(payload: claim, publicKey: key) else {
            return fail("claimSignature.mismatch", "the claim signature does not verify with the signer certificate's key")
        }
        guard let text = report.signingTime, let time = UTCTimestamp(iso8601: text)?.date else {
            return fail("signingCredential.invalid", "no signing time in the c2pa.created action to check the certificate against")
        }
        let problems = C2PACertificates.problems(signer: leaf, at: time)
        if !problems.isEmpty {
            let expired = time < leaf.notValidBefore || time > leaf.notValidAfter
            fail(expired ? "signingCredential.expired" : "signingCredential.invalid", problems.joined(separator: "; "))
        }
        let chainProblems = C2PACertificates.chainProblems(certificates, anchors: anchors, at: time)
        if !chainProblems.isEmpty { untrusted = chainProblems.joined(separator: "; ") }
    }
}
