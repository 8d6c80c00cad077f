// Role: the X.509 side of C2PA signing: the operator CA (a self-signed Ed25519 root that only
// issues render-host certificates), the host signing certificate for the host's Ed25519 key, PEM
// files for both, the C2PA signing-certificate profile check and chain validation to trust
// anchors at a given time.
// Reference: RFC 5280 §4.1-4.2 (certificate fields, basicConstraints, keyUsage,
// extendedKeyUsage, key identifiers), RFC 8410 (Ed25519 in X.509); C2PA Technical Specification
// 2.x §14.5.1 ("Certificate profile": v3, not a CA, digitalSignature, an EKU such as
// id-kp-emailProtection or id-kp-documentSigning and never anyExtendedKeyUsage, validity at
// signing time), as c2pa-rs `crypto/cose/certificate_profile.rs` checks it. Built on
// apple/swift-certificates.
// Failure modes: unreadable or non-PEM files, a key that does not match its certificate, and
// certificates that fail the profile throw `C2PAError.certificate` naming the file and the rule;
// `problems(…)` and `chainProblems(…)` return rule violations as text instead of throwing.

import Crypto
import Foundation
import SwiftASN1
import TwinBase
import X509

/// What the C2PA code knows about certificates: making, loading and checking them.
public enum C2PACertificates {
    /// id-kp-documentSigning (RFC 9336), the EKU C2PA names for claim signers.
    static let documentSigning = ExtendedKeyUsage.Usage(oid: [1, 3, 6, 1, 5, 5, 7, 3, 36])
    /// EKUs a C2PA signing certificate may carry to qualify (c2pa-rs's default list, the two that
    /// fit a claim signer).
    static let acceptedUsages: [ExtendedKeyUsage.Usage] = [.emailProtection, documentSigning]

    // MARK: PEM

    /// Parses every `CERTIFICATE` block of PEM `text` (`what` names the source in errors).
    public static func certificates(pem text: String, what: String) throws -> [Certificate] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw C2PAError.certificate("\(what): not PEM (\(error))")
        }
        let certificates = try documents.filter { $0.discriminator == "CERTIFICATE" }.map { document in
            do { return try Certificate(pemDocument: document) } catch {
                throw C2PAError.certificate("\(what): a CERTIFICATE block does not parse (\(error))")
            }
        }
        guard !certificates.isEmpty else { throw C2PAError.certificate("\(what): no CERTIFICATE block") }
        return certificates
    }

    /// The certificates of the PEM file at `url`.
    public static func certificates(file url: URL) throws -> [Certificate] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw C2PAError.certificate("cannot read \(url.path): \(error.localizedDescription)")
        }
        return try certificates(pem: text, what: url.path)
    }

    /// The certificates of every PEM file in `urls`, in order.
    public static func certificates(files urls: [URL]) throws -> [Certificate] {
        try urls.flatMap { try certificates(file: $0) }
    }

    /// `certificates` as one PEM text (signer first).
    public static func pem(_ certificates: [Certificate]) throws -> String {
        try certificates.map { try $0.serializeAsPEM().pemString + "\n" }.joined()
    }

    /// The DER bytes of `certificate`.
    public static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// The Ed25519 public key of `certificate`, nil for other key types.
    public static func ed25519Key(_ certificate: Certificate) -> Curve25519.Signing.PublicKey? {
        Curve25519.Signing.PublicKey(certificate.publicKey)
    }

    /// The subject's common name (or the whole name when it has none).
    public static func commonName(_ name: DistinguishedName) -> String {
        for rdn in name { for attribute in rdn where attribute.type == .RDNAttributeType.commonName { return "\(attribute.value)" } }
        return "\(name)"
    }

    // MARK: Issuing

    /// The self-signed root certificate of an operator CA whose key is `key` (a fresh one for
    /// `ca init`), valid from `now` for `days` days, allowed to issue end-entity certificates
    /// only (path length 0).
    public static func makeAuthority(key: Curve25519.Signing.PrivateKey, name: String, now: Date, days: Int) throws -> Certificate {
        guard days >= 1, days <= 36_500 else { throw C2PAError.certificate("CA validity \(days) days is outside 1...36500") }
        let now = wholeSeconds(now)
        let privateKey = Certificate.PrivateKey(key)
        let subject = try DistinguishedName { OrganizationName("twinrender operator"); CommonName(name) }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: privateKey.publicKey)
        }
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: privateKey.publicKey,
            notValidBefore: now, notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
            issuer: subject, subject: subject, signatureAlgorithm: .ed25519, extensions: extensions, issuerPrivateKey: privateKey)
    }

    /// A C2PA signing certificate for render host `host`'s Ed25519 public key, issued by the CA
    /// (`authorityKey`, `authority`), valid from `now` for `days` days and never past the CA.
    public static func issueHostCertificate(host: String, publicKey: Curve25519.Signing.PublicKey,
                                            authorityKey: Curve25519.Signing.PrivateKey, authority: Certificate,
                                            now: Date, days: Int) throws -> Certificate {
        guard days >= 1, days <= 3_650 else { throw C2PAError.certificate("host certificate validity \(days) days is outside 1...3650") }
        let now = wholeSeconds(now)
        guard ed25519Key(authority)?.rawRepresentation == authorityKey.publicKey.rawRepresentation else {
            throw C2PAError.certificate("the CA key does not belong to the CA certificate")
        }
        let caProblems = authorityProblems(authority, at: now)
        guard caProblems.isEmpty else { throw C2PAError.certificate("the CA certificate cannot issue: " + caProblems.joined(separator: "; ")) }
        let subjectKey = Certificate.PublicKey(publicKey)
        let subject = try DistinguishedName { OrganizationName("twinrender operator"); OrganizationalUnitName("render hosts"); CommonName(host) }
        let issuerKeyID = try authority.extensions.subjectKeyIdentifier?.keyIdentifier
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage(acceptedUsages)
            SubjectKeyIdentifier(hash: subjectKey)
            AuthorityKeyIdentifier(keyIdentifier: issuerKeyID ?? SubjectKeyIdentifier(hash: authority.publicKey).keyIdentifier)
        }
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: subjectKey,
            notValidBefore: now, notValidAfter: min(now.addingTimeInterval(Double(days) * 86_400), authority.notValidAfter),
            issuer: authority.subject, subject: subject, signatureAlgorithm: .ed25519, extensions: extensions,
            issuerPrivateKey: Certificate.PrivateKey(authorityKey))
    }

    /// The DER prefix of an RFC 8410 PKCS#8 Ed25519 private key: SEQUENCE { INTEGER 0,
    /// SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) } }.
    private static let pkcs8Ed25519Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]

    /// `date` rounded down to a whole second: X.509 times have no fraction, and a certificate
    /// must be valid at the instant it is made.
    private static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// Reads a PKCS#8 PEM Ed25519 private key (the CA key file, as `openssl genpkey -algorithm
    /// ed25519` writes it).
    public static func privateKey(file url: URL) throws -> Curve25519.Signing.PrivateKey {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw C2PAError.certificate("cannot read \(url.path): \(error.localizedDescription)")
        }
        guard let document = try? PEMDocument(pemString: text), document.discriminator == "PRIVATE KEY",
              document.derBytes.count == 48, document.derBytes.starts(with: pkcs8Ed25519Prefix),
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: document.derBytes.suffix(32)) else {
            throw C2PAError.certificate("\(url.path): not a PKCS#8 PEM Ed25519 private key")
        }
        return key
    }

    /// `key` as a PKCS#8 PEM document.
    public static func pem(privateKey key: Curve25519.Signing.PrivateKey) -> String {
        PEMDocument(type: "PRIVATE KEY", derBytes: pkcs8Ed25519Prefix + key.rawRepresentation).pemString + "\n"
    }

    // MARK: Checking

    /// Ways `certificate` fails the C2PA signing-certificate profile at `time` (empty: none).
    public static func problems(signer certificate: Certificate, at time: Date) -> [String] {
        var problems: [String] = []
        if certificate.version != .v3 { problems.append("not an X.509 v3 certificate") }
        if let range = validityProblem(certificate, at: time) { problems.append(range) }
        if ed25519Key(certificate) == nil { problems.append("the key is not Ed25519") }
        let extensions = certificate.extensions
        do {
            if case .isCertificateAuthority = try extensions.basicConstraints { problems.append("it is a CA certificate") }
            if let usage = try extensions.keyUsage {
                if !usage.digitalSignature { problems.append("keyUsage lacks digitalSignature") }
                if usage.keyCertSign { problems.append("keyUsage has keyCertSign") }
                if extensions[oid: .X509ExtensionID.keyUsage]?.critical != true { problems.append("keyUsage is not critical") }
            } else {
                problems.append("no keyUsage extension")
            }
            if let usages = try extensions.extendedKeyUsage {
                if usages.contains(.any) { problems.append("extendedKeyUsage contains anyExtendedKeyUsage") }
                if !acceptedUsages.contains(where: usages.contains) { problems.append("extendedKeyUsage has neither emailProtection nor documentSigning") }
            } else {
                problems.append("no extendedKeyUsage extension")
            }
            if try extensions.authorityKeyIdentifier == nil { problems.append("no authorityKeyIdentifier") }
            if try extensions.subjectKeyIdentifier == nil { problems.append("no subjectKeyIdentifier") }
        } catch {
            problems.append("an extension does not parse (\(error))")
        }
        return problems
    }

    /// Ways `certificate` fails to be a CA that may issue signing certificates at `time`.
    public static func authorityProblems(_ certificate: Certificate, at time: Date) -> [String] {
        var problems: [String] = []
        if certificate.version != .v3 { problems.append("not an X.509 v3 certificate") }
        if let range = validityProblem(certificate, at: time) { problems.append(range) }
        do {
            guard case .isCertificateAuthority = try certificate.extensions.basicConstraints else {
                problems.append("basicConstraints does not say CA")
                return problems
            }
            if try certificate.extensions.keyUsage?.keyCertSign != true { problems.append("keyUsage lacks keyCertSign") }
        } catch {
            problems.append("an extension does not parse (\(error))")
        }
        return problems
    }

    /// Why `chain` (signer first, then any intermediates or the root) does not lead to one of
    /// `anchors` at `time`: each certificate must be issued (name and signature) by the next, and
    /// the last must be an anchor or be issued by one; every CA in the path must be valid at
    /// `time`. Empty: it does.
    public static func chainProblems(_ chain: [Certificate], anchors: [Certificate], at time: Date) -> [String] {
        guard !chain.isEmpty else { return ["no certificates"] }
        if anchors.isEmpty { return ["no trust anchors configured"] }
        for (child, parent) in zip(chain, chain.dropFirst()) {
            if let problem = issuanceProblem(child, by: parent, at: time) { return [problem] }
        }
        let last = chain[chain.count - 1]
        if anchors.contains(last), chain.count > 1 { return [] }
        let candidates = anchors.filter { $0.subject == last.issuer }
        guard !candidates.isEmpty else {
            return ["\(commonName(last.subject)) is issued by \(last.issuer), which is not a trust anchor"]
        }
        var problems: [String] = []
        for anchor in candidates {
            guard let problem = issuanceProblem(last, by: anchor, at: time) else { return [] }
            problems.append(problem)
        }
        return problems
    }

    private static func issuanceProblem(_ child: Certificate, by parent: Certificate, at time: Date) -> String? {
        let name = commonName(child.subject)
        guard child.issuer == parent.subject else { return "\(name) is not issued by \(commonName(parent.subject))" }
        guard parent.publicKey.isValidSignature(child.signature, for: child) else {
            return "the signature on \(name) is not \(commonName(parent.subject))'s"
        }
        let problems = authorityProblems(parent, at: time)
        return problems.isEmpty ? nil : "issuer \(commonName(parent.subject)): " + problems.joined(separator: "; ")
    }

    private static func validityProblem(_ certificate: Certificate, at time: Date) -> String? {
        guard time < certificate.notValidBefore || time > certificate.notValidAfter else { return nil }
        return "\(commonName(certificate.subject)) is valid \(UTCTimestamp(certificate.notValidBefore)) to "
            + "\(UTCTimestamp(certificate.notValidAfter)), not at \(UTCTimestamp(time))"
    }
}

/// The operator CA's files: `DIR/operator-ca.key` (PKCS#8 PEM, mode 0600) and
/// `DIR/operator-ca.pem` (its self-signed certificate, the trust anchor `verify` and other C2PA
/// validators are given). What `twinrender ca init` and `ca issue` do.
public enum C2PAAuthorityFiles {
    /// File name of the CA's private key.
    public static let keyName = "operator-ca.key"
    /// File name of the CA's certificate.
    public static let certificateName = "operator-ca.pem"

    /// Creates a new CA in `directory` (made if missing); refuses to overwrite either file.
    public static func create(directory: URL, name: String, now: Date, days: Int) throws -> (key: URL, certificate: URL) {
        let keyURL = directory.appendingPathComponent(keyName)
        let certificateURL = directory.appendingPathComponent(certificateName)
        for url in [keyURL, certificateURL] where FileManager.default.fileExists(atPath: url.path) {
            throw C2PAError.certificate("\(url.path) exists; an operator CA is made once (move it away to start over)")
        }
        let key = Curve25519.Signing.PrivateKey()
        let certificate = try C2PACertificates.makeAuthority(key: key, name: name, now: now, days: days)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try DurableFile.writeNew(Array(C2PACertificates.pem(privateKey: key).utf8), to: keyURL.path, mode: 0o600)
            do {
                try DurableFile.writeNew(Array(try C2PACertificates.pem([certificate]).utf8), to: certificateURL.path, mode: 0o644)
            } catch {
                try? FileManager.default.removeItem(at: keyURL)
                throw error
            }
        } catch let error as C2PAError {
            throw error
        } catch {
            throw C2PAError.certificate("cannot write the CA to \(directory.path): \(error)")
        }
        return (keyURL, certificateURL)
    }

    /// Issues a host signing certificate for `publicKey` with the CA in `directory` and writes the
    /// chain (host certificate, then the CA certificate) to `out`, which must not exist.
    public static func issue(host: String, publicKey: Curve25519.Signing.PublicKey, directory: URL, out: URL,
                             now: Date, days: Int) throws -> Certificate {
        let authority = try C2PACertificates.certificates(file: directory.appendingPathComponent(certificateName))
        let key = try C2PACertificates.privateKey(file: directory.appendingPathComponent(keyName))
        let certificate = try C2PACertificates.issueHostCertificate(host: host, publicKey: publicKey, authorityKey: key,
                                                                    authority: authority[0], now: now, days: days)
        do {
            try DurableFile.writeNew(Array(try C2PACertificates.pem([certificate, authority[0]]).utf8), to: out.path, mode: 0o644)
        } catch let error as SystemCallError {
            throw C2PAError.certificate("cannot write \(out.path): \(error)")
        }
        return certificate
    }
}
