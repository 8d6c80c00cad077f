// Role: the watermark lookup `twinrender verify` uses: every event, in every host segment, whose
// `watermark_payload` is a given value, with the file and line it sits on. Unlike the strict
// `LedgerReader.event(watermarkPayload:)` (which refuses to answer from a ledger with any damaged
// line, because quotas are computed from it), this scan is tolerant: a damaged or unterminated
// line is skipped and counted, so an image can still be traced through the intact lines of a
// damaged ledger. Each matching line has passed its own checks (canonical form, hash, event id and
// payload derivation); whether the chain around it is intact and its signature the host's is
// `verify(hostKeys:)`'s question.
// Failure modes: a ledger directory that does not exist or cannot be listed throws `LedgerError.io`;
// a segment that cannot be read is listed in `unreadableSegments` and the scan carries on.
// Reference: C2PA's soft-binding lookup: a watermark identifies the manifest (here, the event).

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One ledger line whose event carries the looked-up watermark payload.
public struct PayloadMatch: Sendable, Hashable {
    /// The event, decoded and checked on its own (hash, canonical form, derived fields).
    public let event: RoyaltyEvent
    /// Path of the segment file holding it.
    public let file: String
    /// 1-based line number in that file.
    public let line: Int
}

/// The result of ``LedgerReader/events(watermarkPayload:)``.
public struct PayloadLookup: Sendable {
    /// The payload looked up.
    public let payload: UInt64
    /// Every line carrying `payload`, segments in file-name order, lines in file order. Normally
    /// zero or one: two means a duplicated event (a damaged ledger) or a 64-bit collision.
    public let matches: [PayloadMatch]
    /// Segment files (`<host>.jsonl`) scanned.
    public let segmentCount: Int
    /// Complete lines that decoded and passed their own checks.
    public let eventCount: Int
    /// Complete lines that did not (malformed, edited, bad hash) plus unterminated tails; a
    /// payload on such a line cannot be trusted and is not matched. `LedgerReader.verify(hostKeys:)` says why.
    public let skippedLines: Int
    /// `path: error` for segments that could not be read.
    public let unreadableSegments: [String]
}

extension LedgerReader {
    /// Scans every host segment for events whose `watermark_payload` is `payload`, skipping
    /// (and counting) damaged lines instead of failing; see ``PayloadLookup``. Reads the segments
    /// from scratch on every call. Throws `LedgerError.io` when the directory does not exist or
    /// cannot be listed.
    public func events(watermarkPayload payload: UInt64) throws -> PayloadLookup {
        guard let names = try SegmentIO.names(in: directory) else {
            throw LedgerError.io(path: directory.path, operation: "opendir", errno: ENOENT)
        }
        var matches = [PayloadMatch]()
        var segmentCount = 0
        var eventCount = 0
        var skipped = 0
        var unreadable = [String]()
        for name in names where SegmentIO.host(fromSegmentName: name) != nil {
            let path = directory.appendingPathComponent(name).path
            let bytes: [UInt8]
            do {
                bytes = try SegmentIO.read(path: path)
            } catch {
                unreadable.append("\(path): \(error)")
                continue
            }
            segmentCount += 1
            let (lines, tailStart) = SegmentIO.splitLines(bytes)
            if tailStart < bytes.count { skipped += 1 }
            for (i, range) in lines.enumerated() {
                switch CanonicalLine.decode(bytes[range]) {
                case .failure:
                    skipped += 1
                case .success(let event):
                    eventCount += 1
                    if event.watermarkPayload == payload { matches.append(PayloadMatch(event: event, file: path, line: i + 1)) }
                }
            }
        }
        return PayloadLookup(payload: payload, matches: matches, segmentCount: segmentCount, eventCount: eventCount,
                             skippedLines: skipped, unreadableSegments: unreadable)
    }
}
