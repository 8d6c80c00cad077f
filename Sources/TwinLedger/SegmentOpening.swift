// Role: what `RoyaltyLedger` finds when it opens its own segment: which events are committed (up to
// the signed head), which complete lines after the head can be adopted (fsynced by a writer that
// died before rewriting the head), and which unterminated tail is torn and may be moved aside.
// Reference: RFC 6962's signed tree head as the anchor of an append-only log; notqmail's rule that
// only what was never acknowledged may be discarded after a crash.
// Failure modes (all `damagedSegment`, naming the file and line): a head that does not parse, names
// another host or does not verify with the host's keys; a segment shorter than its head, a head that
// does not fall on the end of line `seq`, a committed line whose hash chain does not lead to the
// head's hash; a complete line after the head that fails any check (canonical form, chain, host
// signature) — a crash never leaves such a line, so someone wrote it. Never throws for a torn tail.

import Crypto
import Foundation

/// The state of a segment as opening found it.
struct SegmentOpening {
    /// Every complete line's event, committed and adopted, in file order.
    var events: [RoyaltyEvent] = []
    /// Bytes up to the end of the last complete line.
    var size = 0
    /// Offset of an unterminated tail past the last complete line, if any.
    var tornStart: Int?
    /// Whether lines after the head were adopted (the head must be rewritten).
    var adoptedLines = false

    /// Checks `bytes` (the whole segment) against `head`; `keys` are the host's public keys.
    init(bytes: [UInt8], head: SignedHead?, host: String, keys: [Curve25519.Signing.PublicKey],
         segmentPath: String, headPath: String) throws {
        if let head {
            guard head.host == host else {
                throw LedgerError.damagedSegment(file: headPath, line: 0, reason: "signed head names host \(head.host.debugDescription)")
            }
            guard head.isSigned(byAnyOf: keys) else {
                throw LedgerError.damagedSegment(file: headPath, line: 0, reason: "signed head does not verify with this host's keys")
            }
        }
        let committedSize = Int(head?.size ?? 0), committedSeq = Int(head?.seq ?? 0)
        let (lines, tailStart) = SegmentIO.splitLines(bytes)
        guard bytes.count >= committedSize, lines.count >= committedSeq else {
            throw LedgerError.damagedSegment(
                file: segmentPath, line: min(lines.count + 1, committedSeq),
                reason: "segment is \(bytes.count) bytes with \(lines.count) complete lines, shorter than its signed head "
                    + "(\(committedSize) bytes, \(committedSeq) events): committed events are missing")
        }
        var cursor = ChainCursor(host: host)
        for (i, range) in lines.enumerated() {
            let committed = i < committedSeq
            let event = try Self.checked(bytes[range], line: i + 1, cursor: &cursor, path: segmentPath,
                                         keys: committed ? nil : keys)
            if i + 1 == committedSeq, let head, event.hash != head.hash || range.upperBound + 1 != committedSize {
                throw LedgerError.damagedSegment(file: segmentPath, line: i + 1,
                                                 reason: "line \(i + 1) is not the event its signed head commits (hash or length differs)")
            }
            adoptedLines = adoptedLines || !committed
            events.append(event)
        }
        size = lines.last.map { $0.upperBound + 1 } ?? 0
        tornStart = tailStart < bytes.count ? tailStart : nil
    }

    /// Decodes line `line`, checks that it continues the chain and, when `keys` is set, its signature.
    private static func checked(_ bytes: ArraySlice<UInt8>, line: Int, cursor: inout ChainCursor, path: String,
                                keys: [Curve25519.Signing.PublicKey]?) throws -> RoyaltyEvent {
        let what = keys == nil ? "" : "uncommitted line after the signed head: "
        let event: RoyaltyEvent
        switch CanonicalLine.decode(bytes) {
        case .failure(let defect): throw LedgerError.damagedSegment(file: path, line: line, reason: what + defect.message)
        case .success(let decoded): event = decoded
        }
        if let problem = cursor.advance(over: event) {
            throw LedgerError.damagedSegment(file: path, line: line, reason: what + problem.message)
        }
        if let keys, !CanonicalLine.isSigned(event, byAnyOf: keys) {
            throw LedgerError.damagedSegment(file: path, line: line, reason: what + "signature does not verify with this host's keys")
        }
        return event
    }
}
