// Role: the ledger's sealing and parsing for a hash chain kept outside a segment file (the fleet
// database keeps one row per line): the same canonical line, hash, host signature and signed head
// as `RoyaltyLedger` writes, so a chain exported from elsewhere verifies with `LedgerReader.verify`.
// Reference: CanonicalLine.swift and SignedHead.swift (this file only exposes them; it adds no format).
// Failure modes: `sealed` throws `invalidDraft` for a bad draft and `signingFailed`; `parse` returns
// nil for anything `CanonicalLine.decode` refuses (damaged, edited or non-canonical lines).

import Crypto
import Foundation
import TwinBase

/// The link to append after: the host's last sequence number and hash (genesis for an empty chain).
public struct ChainPosition: Sendable, Hashable {
    /// `seq` of the last line (0 when the chain is empty).
    public let seq: Int64
    /// `hash` of the last line (``RoyaltyEvent/genesisHash`` when empty).
    public let hash: String
    /// Bytes of the chain written out as a segment: every line plus its newline.
    public let size: Int64

    /// The start of an empty chain.
    public static let genesis = ChainPosition(seq: 0, hash: RoyaltyEvent.genesisHash, size: 0)

    /// A position read back from storage.
    public init(seq: Int64, hash: String, size: Int64) {
        self.seq = seq; self.hash = hash; self.size = size
    }

    /// The position after appending `event` (whose line is `event.jsonLine`).
    public func after(_ event: RoyaltyEvent) -> ChainPosition {
        ChainPosition(seq: event.seq, hash: event.hash, size: size + Int64(event.jsonLine.utf8.count) + 1)
    }
}

extension RoyaltyEventDraft {
    /// Validates the draft and seals it as line `position.seq + 1` of `host`'s chain, signed with `key`:
    /// byte for byte the line ``RoyaltyLedger/append(_:quota:)`` would write at that position.
    /// - Throws: `invalidHost`, `invalidDraft`, `signingFailed`.
    public func sealed(host: String, after position: ChainPosition, key: Curve25519.Signing.PrivateKey) throws -> RoyaltyEvent {
        guard HostName.isValid(host) else { throw LedgerError.invalidHost(host) }
        try validate()
        return try CanonicalLine.sealed(event().with(host: host, seq: position.seq + 1, prevHash: position.hash), key: key)
    }
}

extension RoyaltyEvent {
    /// Parses one stored line (without its newline); nil unless it is a canonical, hash-valid line.
    /// The signature is decoded, not verified: see ``isSigned(byAnyOf:)``.
    public static func parse(line: String) -> RoyaltyEvent? {
        try? CanonicalLine.decode(ArraySlice(Array(line.utf8))).get()
    }

    /// Whether the host signature verifies under one of `keys`.
    public func isSigned(byAnyOf keys: [Curve25519.Signing.PublicKey]) -> Bool {
        CanonicalLine.isSigned(self, byAnyOf: keys)
    }
}

extension SignedHead {
    /// `host`'s head for a chain ending at `position`, signed with `key` at `time`.
    /// - Throws: `signingFailed`.
    public static func signed(host: String, at position: ChainPosition, time: UTCTimestamp,
                              key: Curve25519.Signing.PrivateKey) throws -> SignedHead {
        try signed(host: host, seq: position.seq, hash: position.hash, size: position.size, time: time, key: key)
    }

    /// The head file's text: the canonical line and its newline (what `<host>.jsonl.head` holds).
    public var fileText: String { String(decoding: fileBytes, as: UTF8.self) }

    /// Parses a head file's text; nil unless canonical.
    public static func parse(fileText: String) -> SignedHead? { parse(Array(fileText.utf8)) }

    /// The file name of `host`'s head next to its segment `<host>.jsonl`.
    public static func headFileName(host: String) -> String { fileName(host: host) }
}
