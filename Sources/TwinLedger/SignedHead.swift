// Role: a segment's signed head, `<host>.jsonl.head`: the host's signed statement "my segment holds
// `seq` events, is `size` bytes long and its last line's hash is `hash`", rewritten (atomically,
// fsynced) after every committed append. It anchors the end of the hash chain, so deleting or
// truncating committed lines at the end of a segment is detected.
// Reference: RFC 6962 §3.5 signed tree head (here over a hash chain rather than a Merkle tree: a
// segment has one writer, so the newest line's hash commits to every line before it).
// Format: one canonical JSON line `{"v":2,"host":…,"seq":…,"hash":…,"size":…,"time":…,"signature":…}`;
// the signature is Ed25519 over `twinrender.ledger.head.v2\n` + the object without `signature`.
// Failure modes: `parse` returns nil for anything but the canonical form; a head that parses but is
// signed by another key is `verify`'s to report (`headInvalid`). Replacing a head with an *older*
// signed head of the same host cannot be detected from the ledger directory alone (see docs).

import Crypto
import Foundation
import TwinBase

/// The signed head of one host's segment.
public struct SignedHead: Sendable, Hashable {
    /// The host whose segment this heads.
    public let host: String
    /// Number of committed events (`seq` of the last one; 0 for an empty segment).
    public let seq: Int64
    /// `hash` of event `seq` (64 zeros when `seq` is 0).
    public let hash: String
    /// Length in bytes of the segment up to and including event `seq`'s newline.
    public let size: Int64
    /// When the head was written.
    public let time: UTCTimestamp
    /// Ed25519 signature by the host's key (64 bytes).
    public let signature: Data

    /// Value of the head's leading `v` member.
    static let formatVersion = 2

    /// What the host signs in front of the head's body.
    static let signaturePrefix = "twinrender.ledger.head.v2\n"

    /// File name of `host`'s head.
    static func fileName(host: String) -> String { host + ".jsonl.head" }

    /// The head for `seq`/`hash`/`size`, signed with `key`.
    static func signed(host: String, seq: Int64, hash: String, size: Int64, time: UTCTimestamp,
                       key: Curve25519.Signing.PrivateKey) throws -> SignedHead {
        let unsigned = SignedHead(host: host, seq: seq, hash: hash, size: size, time: time, signature: Data())
        do {
            let signature = try key.signature(for: Data((signaturePrefix + unsigned.body).utf8))
            return SignedHead(host: host, seq: seq, hash: hash, size: size, time: time, signature: signature)
        } catch {
            throw LedgerError.signingFailed("\(error)")
        }
    }

    /// Whether the signature verifies under one of `keys`.
    func isSigned(byAnyOf keys: [Curve25519.Signing.PublicKey]) -> Bool {
        let message = Data((Self.signaturePrefix + body).utf8)
        return keys.contains { $0.isValidSignature(signature, for: message) }
    }

    /// The canonical object without `signature`.
    private var body: String {
        var out = CanonicalJSON()
        out.int("v", SignedHead.formatVersion); out.string("host", host); out.int("seq", seq)
        out.string("hash", hash); out.int("size", size); out.string("time", time.description)
        return out.text
    }

    /// The file's bytes: the canonical line and a newline.
    var fileBytes: [UInt8] {
        Array((String(body.dropLast()) + ",\"signature\":\"\(signature.base64EncodedString())\"}\n").utf8)
    }

    /// Parses a head file's bytes; nil unless they are exactly what `fileBytes` would write.
    static func parse(_ bytes: [UInt8]) -> SignedHead? {
        struct Wire: Decodable { let v: Int; let host: String; let seq: Int64; let hash: String; let size: Int64; let time: String; let signature: String }
        guard bytes.last == UInt8(ascii: "\n"),
              let wire = try? JSONDecoder().decode(Wire.self, from: Data(bytes.dropLast())),
              wire.v == SignedHead.formatVersion, wire.seq >= 0, wire.size >= 0, (wire.seq == 0) == (wire.size == 0),
              wire.seq == 0 ? wire.hash == RoyaltyEvent.genesisHash : isLowerHex(wire.hash, count: 64),
              let time = UTCTimestamp(iso8601: wire.time),
              let signature = Data(base64Encoded: wire.signature), signature.count == 64
        else { return nil }
        let head = SignedHead(host: wire.host, seq: wire.seq, hash: wire.hash, size: wire.size, time: time, signature: signature)
        return head.fileBytes == bytes ? head : nil
    }
}
