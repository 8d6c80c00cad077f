// Role: Ed25519 key files (`ID.key`, `ID.pub`), signing, verification, and the trust anchors
// (registrar public keys) named in the config.
// Reference: swift-crypto `Curve25519.Signing` (RFC 8032 Ed25519).
// Failure modes: a key file that is not one line of base64 of 32 bytes throws `malformedFile`;
// `write` refuses to overwrite an existing key file (`alreadyExists`); a signature that does not
// decode or verify is `false`, never an error.

import Crypto
import Foundation
import TwinBase

/// An Ed25519 private key on disk.
///
/// Key files hold one line: the base64 of the raw 32-byte key (`ID.key`, mode 0600) or of the
/// 32-byte public key (`ID.pub`). Keys never enter the registry; only public keys do.
public struct PartyKey: Sendable {
    /// Raw 32-byte private key (kept as bytes: swift-crypto's key type is not `Sendable`).
    private let raw: Data
    /// Base64 of the raw public key, as in party records and `ID.pub`.
    public let publicKeyBase64: String

    /// Wraps an existing key.
    public init(_ privateKey: Curve25519.Signing.PrivateKey) {
        raw = privateKey.rawRepresentation
        publicKeyBase64 = privateKey.publicKey.rawRepresentation.base64EncodedString()
    }

    /// A fresh random key.
    public static func generate() -> PartyKey { PartyKey(Curve25519.Signing.PrivateKey()) }

    /// Reads a private key file.
    public static func load(from url: URL) throws -> PartyKey {
        let text = try readKeyFile(url)
        guard let raw = Data(base64Encoded: text), raw.count == 32,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else { throw ConsentError.malformedFile("\(url.path) is not a twinrender private key (one line of base64, 32 bytes)") }
        return PartyKey(key)
    }

    /// Reads a public key file and returns it as base64 (validated).
    public static func loadPublicKey(from url: URL) throws -> String {
        let text = try readKeyFile(url)
        guard isPublicKey(text) else {
            throw ConsentError.malformedFile("\(url.path) is not a twinrender public key (one line of base64, 32 bytes)")
        }
        return text
    }

    /// Reads trust anchor files (registrar `.pub` files, config `consent.trust_anchors`).
    public static func loadTrustAnchors(from files: [URL]) throws -> [String] {
        try files.map { try loadPublicKey(from: $0) }
    }

    /// Writes `DIR/ID.key` (mode 0600) and `DIR/ID.pub`; refuses to overwrite either.
    public func write(party: String, to directory: URL) throws -> (privateKey: URL, publicKey: URL) {
        try validateIdentifier(party, field: "party id")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let privateURL = directory.appendingPathComponent("\(party).key")
        let publicURL = directory.appendingPathComponent("\(party).pub")
        for url in [privateURL, publicURL] where FileManager.default.fileExists(atPath: url.path) {
            throw ConsentError.alreadyExists("\(url.path) already exists; refusing to overwrite a key")
        }
        do throws(SystemCallError) {
            try DurableFile.writeNew(Array((raw.base64EncodedString() + "\n").utf8), to: privateURL.path, mode: 0o600)
            try DurableFile.writeNew(Array((publicKeyBase64 + "\n").utf8), to: publicURL.path, mode: 0o644)
        } catch {
            throw ConsentError.io(error)
        }
        return (privateURL, publicURL)
    }

    /// The private signing key (throws only if the stored bytes were not a key, which `init`
    /// and `load` rule out).
    public var privateKey: Curve25519.Signing.PrivateKey {
        get throws { try Curve25519.Signing.PrivateKey(rawRepresentation: raw) }
    }

    /// Signs `message`; returns the base64 signature.
    public func sign(_ message: [UInt8]) throws -> String {
        try privateKey.signature(for: message).base64EncodedString()
    }

    private static func readKeyFile(_ url: URL) throws -> String {
        let bytes = try readRegularFile(url, limit: 4096)
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Whether `base64` is a raw 32-byte Ed25519 public key.
func isPublicKey(_ base64: String) -> Bool {
    guard let raw = Data(base64Encoded: base64), raw.count == 32 else { return false }
    return (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
}

/// Whether the base64 `signature` over `message` verifies with the base64 `publicKey`.
public func verifySignature(_ signature: String, over message: [UInt8], publicKey: String) -> Bool {
    guard let bytes = Data(base64Encoded: signature), bytes.count == 64, let raw = Data(base64Encoded: publicKey),
          let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
    else { return false }
    return key.isValidSignature(bytes, for: message)
}

/// `date` truncated to whole seconds, as serialised in records.
func wholeSeconds(_ date: Date) -> Date { Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)) }
