// Role: builds the C2PA Content Credentials of a delivered PNG and embeds them: four assertions
// (`c2pa.actions.v2` "created" by a trained algorithm, the `c2pa.hash.data` hard binding, a
// `c2pa.soft-binding` for the invisible watermark's 64-bit payload, the licence facts in
// `com.twinrender.licence`), a `c2pa.claim.v2` listing them by hashed URI, its COSE_Sign1 signature,
// all in a JUMBF manifest store inside a `caBX` chunk placed before the first IDAT.
// Reference: C2PA Technical Specification 2.x §8.4 (hashed URIs), §10 (claim v2 fields),
// §11.1 (manifest store layout), §18.5 (data hash, exclusions), §18.8 (soft binding), §18.14
// (actions v2, digitalSourceType), §A.3.3 (PNG: the `caBX` chunk, excluded whole: length, type,
// data and CRC); c2pa-rs `claim.rs` / `store.rs` / `png_io.rs` for the field names and layout.
// The hard binding hashes the file with the caBX chunk excluded, which is the PNG as encoded
// before embedding: so the hash is known before the chunk is built, and the chunk's size follows
// from its contents (a fixed point over the exclusion length's CBOR size) without padding.
// Failure modes: a PNG that fails `PNGChunks.walk` or already has a caBX chunk, a signing time
// outside the signer certificate's validity, or a key that does not match the certificate throw
// `C2PAError.signing`; equal inputs give equal bytes (Ed25519 and CBOR are deterministic).

import Crypto
import Foundation
import TwinBase
import X509

/// The licence facts a delivered image's manifest states (assertion `com.twinrender.licence`).
public struct C2PALicence: Sendable, Equatable {
    /// Render job identifier.
    public var job: String
    /// Index of the image within its job.
    public var imageIndex: Int
    /// Digital twin identifier.
    public var twin: String
    /// Licensee party identifier.
    public var licensee: String
    /// Purpose the image may be used for.
    public var purpose: String
    /// Territory the image may be used in.
    public var territory: String
    /// Consent grant identifier.
    public var grant: String
    /// First instant of the licence.
    public var licenceStart: Date
    /// Last instant of the licence.
    public var licenceEnd: Date

    /// Memberwise initialiser.
    public init(job: String, imageIndex: Int, twin: String, licensee: String, purpose: String, territory: String,
                grant: String, licenceStart: Date, licenceEnd: Date) {
        self.job = job
        self.imageIndex = imageIndex
        self.twin = twin
        self.licensee = licensee
        self.purpose = purpose
        self.territory = territory
        self.grant = grant
        self.licenceStart = licenceStart
        self.licenceEnd = licenceEnd
    }

    /// The facts as the assertion's text fields (also what `verify` reports).
    public var fields: [(String, String)] {
        [("job", job), ("image_index", String(imageIndex)), ("twin", twin), ("licensee", licensee), ("purpose", purpose),
         ("territory", territory), ("grant", grant), ("licence_start", UTCTimestamp(licenceStart).description),
         ("licence_end", UTCTimestamp(licenceEnd).description)]
    }
}

/// The render host's C2PA signing identity: its Ed25519 key (`ledger.host_key`) and its
/// certificate chain (host certificate first, issued by the operator CA).
public struct C2PASigner: Sendable {
    /// The host key (kept as its raw bytes: the Crypto key type is not `Sendable`).
    public var key: Curve25519.Signing.PrivateKey {
        // 32 bytes taken from a valid key: the initialiser only fails on another length.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: rawKey)
    }
    private let rawKey: [UInt8]
    /// Host certificate first, then the CA certificate(s) it chains to.
    public let chain: [Certificate]
    let chainDER: [[UInt8]]

    /// A signer for `key` with `chain`. Throws `C2PAError.certificate` when the first
    /// certificate is not for `key` or fails the C2PA signing-certificate profile at `now`, or,
    /// when `anchors` are given, when the chain does not lead to one of them at `now`.
    public init(key: Curve25519.Signing.PrivateKey, chain: [Certificate], anchors: [Certificate] = [], now: Date) throws {
        guard let leaf = chain.first else { throw C2PAError.certificate("the certificate chain is empty") }
        guard C2PACertificates.ed25519Key(leaf)?.rawRepresentation == key.publicKey.rawRepresentation else {
            throw C2PAError.certificate("the host certificate (\(C2PACertificates.commonName(leaf.subject))) is not for this host key")
        }
        let problems = C2PACertificates.problems(signer: leaf, at: now)
        guard problems.isEmpty else { throw C2PAError.certificate("the host certificate fails the C2PA profile: " + problems.joined(separator: "; ")) }
        if !anchors.isEmpty {
            let chainProblems = C2PACertificates.chainProblems(chain, anchors: anchors, at: now)
            guard chainProblems.isEmpty else { throw C2PAError.certificate("the host certificate does not chain to a trust anchor: " + chainProblems.joined(separator: "; ")) }
        }
        self.rawKey = Array(key.rawRepresentation)
        self.chain = chain
        self.chainDER = try chain.map(C2PACertificates.der)
    }

    /// The signer for `key` whose chain is the PEM file `chainFile`, checked as `init` does at
    /// `now` against the certificates in `trustAnchorFiles`. Errors name the file.
    public static func load(chainFile: URL, key: Curve25519.Signing.PrivateKey, trustAnchorFiles: [URL], now: Date) throws -> C2PASigner {
        let chain = try C2PACertificates.certificates(file: chainFile)
        let anchors = try C2PACertificates.certificates(files: trustAnchorFiles)
        do {
            return try C2PASigner(key: key, chain: chain, anchors: anchors, now: now)
        } catch let error as C2PAError {
            throw C2PAError.certificate("\(chainFile.path): \(error.detail)")
        }
    }

    /// The host certificate's validity.
    public var validity: ClosedRange<Date> { chain[0].notValidBefore...chain[0].notValidAfter }
}

/// Labels, URIs and constants of the manifests twinrender writes.
public enum C2PAManifest {
    /// IPTC digital source type of an image made by a trained model.
    public static let trainedAlgorithmicMedia = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    /// Label of the licence-facts assertion.
    public static let licenceLabel = "com.twinrender.licence"
    /// Soft-binding algorithm name of the invisible watermark (an entity-specific name).
    public static let softBindingAlgorithm = "com.twinrender.watermark.v1"
    static let actionsLabel = "c2pa.actions.v2"
    static let dataHashLabel = "c2pa.hash.data"
    static let softBindingLabel = "c2pa.soft-binding"
    static let claimLabel = "c2pa.claim.v2"
    static let signatureLabel = "c2pa.signature"
    static let assertionStoreLabel = "c2pa.assertions"
    /// Claim generator name.
    public static let generatorName = "twinrender"

    /// What one manifest says, besides the binding to the file.
    public struct Content: Sendable, Equatable {
        /// The licence facts.
        public var licence: C2PALicence
        /// The invisible watermark's payload.
        public var watermarkPayload: UInt64
        /// The time the host states it signed (the claim's only time; no time-stamp token).
        public var signingTime: Date
        /// Claim generator version (e.g. the model package name).
        public var generatorVersion: String

        /// Memberwise initialiser.
        public init(licence: C2PALicence, watermarkPayload: UInt64, signingTime: Date, generatorVersion: String) {
            self.licence = licence
            self.watermarkPayload = watermarkPayload
            self.signingTime = signingTime
            self.generatorVersion = generatorVersion
        }
    }

    /// `png` with a signed manifest for `content` in a caBX chunk before its first IDAT.
    public static func embed(in png: [UInt8], content: Content, signer: C2PASigner) throws -> [UInt8] {
        let idat: PNGChunks.ChunkLocation
        do {
            guard try PNGChunks.locations(of: PNGChunks.c2paChunkType, in: png).isEmpty else {
                throw C2PAError.signing("the PNG already carries a C2PA manifest (caBX chunk)")
            }
            guard let first = try PNGChunks.locations(of: "IDAT", in: png).first else { throw C2PAError.signing("the PNG has no IDAT chunk") }
            idat = first
        } catch let error as ImagingError {
            throw C2PAError.signing("the PNG does not walk: \(error)")
        }
        guard signer.validity.contains(content.signingTime) else {
            throw C2PAError.signing("signing time \(UTCTimestamp(content.signingTime)) is outside the host certificate's validity "
                + "\(UTCTimestamp(signer.validity.lowerBound)) to \(UTCTimestamp(signer.validity.upperBound))")
        }
        return try assemble(png, before: idat, content: content, signer: signer)
    }

    /// `png` with the manifest inserted before the chunk at `idat`, unchecked (tests build
    /// manifests `embed` refuses to, to see the validator reject them).
    static func assemble(_ png: [UInt8], before idat: PNGChunks.ChunkLocation, content: Content, signer: C2PASigner) throws -> [UInt8] {
        // The file minus the caBX chunk is `png` itself.
        let fileHash = Array(SHA256.hash(data: png))
        let seed = Array(SHA256.hash(data: fileHash + Array(content.licence.job.utf8) + [0] + Array(String(content.licence.imageIndex).utf8)))
        // Chunk length → store size → chunk length: increasing, so it settles in a few steps.
        var chunkLength = 0
        var store: [UInt8] = []
        for _ in 0..<8 {
            store = try manifestStore(content: content, signer: signer, fileHash: fileHash, seed: seed,
                                      exclusion: (idat.offset, chunkLength)).encoded
            if store.count + 12 == chunkLength { break }
            chunkLength = store.count + 12
        }
        precondition(store.count + 12 == chunkLength, "the caBX chunk size settles")
        return Array(png[..<idat.offset]) + PNGChunks.chunk(type: PNGChunks.c2paChunkType, data: store) + Array(png[idat.offset...])
    }

    /// The manifest store superbox for a file whose bytes outside `exclusion` hash to `fileHash`.
    static func manifestStore(content: Content, signer: C2PASigner, fileHash: [UInt8], seed: [UInt8],
                              exclusion: (start: Int, length: Int)) throws -> JUMBFSuperbox {
        let manifestLabel = "urn:c2pa:" + uuid(seed, domain: 1)
        let assertions: [(String, CBORValue)] = [
            (actionsLabel, actions(content)),
            (dataHashLabel, .textMap([
                ("exclusions", .array([.textMap([("start", .int(exclusion.start)), ("length", .int(exclusion.length))])])),
                ("name", .text("jumbf manifest")), ("alg", .text("sha256")), ("hash", .bytes(fileHash)), ("pad", .bytes([])),
            ])),
            (softBindingLabel, .textMap([
                ("alg", .text(softBindingAlgorithm)),
                ("blocks", .array([.textMap([("scope", .textMap([])), ("value", .text(softBindingValue(content.watermarkPayload)))])])),
                ("pad", .bytes([])),
            ])),
            (licenceLabel, .textMap(content.licence.fields.map { ($0.0, .text($0.1)) })),
        ]
        let boxes = assertions.map { label, value in
            JUMBFSuperbox(type: JUMBFSuperbox.c2paType("cbor"), label: label, children: [.content(type: "cbor", data: value.encoded)])
        }
        let claim = CBORValue.textMap([
            ("instanceID", .text("xmp:iid:" + uuid(seed, domain: 2))),
            ("claim_generator_info", .textMap([("name", .text(generatorName)), ("version", .text(content.generatorVersion))])),
            ("signature", .text("self#jumbf=/c2pa/\(manifestLabel)/\(signatureLabel)")),
            ("created_assertions", .array(boxes.map { box in
                .textMap([("url", .text("self#jumbf=\(assertionStoreLabel)/\(box.label)")), ("hash", .bytes(Array(SHA256.hash(data: box.payload))))])
            })),
            ("gathered_assertions", .array([])),
            ("alg", .text("sha256")),
        ]).encoded
        let signature = try COSESign1.sign(payload: claim, key: signer.key, chain: signer.chainDER)
        let manifest = JUMBFSuperbox(type: JUMBFSuperbox.c2paType("c2ma"), label: manifestLabel, children: [
            .superbox(JUMBFSuperbox(type: JUMBFSuperbox.c2paType("c2as"), label: assertionStoreLabel, children: boxes.map { .superbox($0) })),
            .superbox(JUMBFSuperbox(type: JUMBFSuperbox.c2paType("c2cl"), label: claimLabel, children: [.content(type: "cbor", data: claim)])),
            .superbox(JUMBFSuperbox(type: JUMBFSuperbox.c2paType("c2cs"), label: signatureLabel, children: [.content(type: "cbor", data: signature.encoded)])),
        ])
        return JUMBFSuperbox(type: JUMBFSuperbox.c2paType("c2pa"), label: "c2pa", children: [.superbox(manifest)])
    }

    /// The soft-binding value of a watermark payload: Base64 of its 8 big-endian bytes (C2PA
    /// §18.8: a soft-binding block's value is Base64).
    public static func softBindingValue(_ payload: UInt64) -> String {
        Data((0..<8).reversed().map { UInt8((payload >> ($0 * 8)) & 0xFF) }).base64EncodedString()
    }

    private static func actions(_ content: Content) -> CBORValue {
        .textMap([("actions", .array([.textMap([
            ("action", .text("c2pa.created")),
            ("digitalSourceType", .text(trainedAlgorithmicMedia)),
            ("when", .text(UTCTimestamp(content.signingTime).description)),
            ("softwareAgent", .textMap([("name", .text(generatorName)), ("version", .text(content.generatorVersion))])),
        ])]))])
    }

    /// A UUID (RFC 9562 version 8: derived, not random) from `seed` and a domain byte, so the
    /// same image always gets the same manifest label and instance ID.
    static func uuid(_ seed: [UInt8], domain: UInt8) -> String {
        var b = Array(SHA256.hash(data: seed + [domain]).prefix(16))
        b[6] = b[6] & 0x0F | 0x80
        b[8] = b[8] & 0x3F | 0x80
        let hex = b.map { String(format: "%02x", $0) }.joined()
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { r in
            String(hex[hex.index(hex.startIndex, offsetBy: r.lowerBound)..<hex.index(hex.startIndex, offsetBy: r.upperBound)])
        }
        return parts.joined(separator: "-")
    }
}
