import Crypto
import Foundation

/// An Ed25519 private key on disk.
///
/// Key files hold one line: the base64 of the raw 32-byte key (`ID.key`, mode 0600) or of the
/// 32-byte public key (`ID.pub`). Keys never enter the registry; only public keys do.
public struct PartyKey: Sendable {
    /// Raw 32-byte private key (kept as bytes: swift-crypto's key type is not `Sendable`).
    private let raw: Data

    /// Wraps an existing key.
    public init(_ privateKey: Curve25519.Signing.PrivateKey) { self.raw = privateKey.rawRepresentation }

    /// The private signing key.
    public var privateKey: Curve25519.Signing.PrivateKey {
        // `raw` always comes from a valid key.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: raw)
    }

    /// A fresh random key.
    public static func generate() -> PartyKey { PartyKey(Curve25519.Signing.PrivateKey()) }

    /// Base64 of the raw public key, as stored in `parties/<id>.json` and `ID.pub`.
    public var publicKeyBase64: String { privateKey.publicKey.rawRepresentation.base64EncodedString() }

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
        guard let raw = Data(base64Encoded: text), raw.count == 32,
              (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
        else { throw ConsentError.malformedFile("\(url.path) is not a twinrender public key (one line of base64, 32 bytes)") }
        return text
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
        try writeNewFile(privateURL, contents: Array((privateKey.rawRepresentation.base64EncodedString() + "\n").utf8), mode: 0o600)
        try writeNewFile(publicURL, contents: Array((publicKeyBase64 + "\n").utf8), mode: 0o644)
        return (privateURL, publicURL)
    }

    /// Signs `message`; returns the base64 signature.
    func sign(_ message: [UInt8]) throws -> String {
        try privateKey.signature(for: message).base64EncodedString()
    }

    private static func readKeyFile(_ url: URL) throws -> String {
        let bytes = try readRegularFile(url, limit: 4096)
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
