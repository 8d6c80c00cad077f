// Role: an incremental, strict view of every segment in a ledger directory. `refresh()` reads only
// the bytes appended since the last call, so the daemon can ask for quota counts per job cheaply.
// An unterminated last line is left unread (a writer may be mid-append; it is read once complete).
// Duplicates: an event id already indexed (from an earlier line or another host's segment) is
// counted once, the first occurrence standing; `verify` reports the duplicate, reads never throw
// for it. Signatures are not checked here (that needs the host keys: `verify(hostKeys:)`).
// Failure modes: any damaged complete line, chain break or a segment that shrank throws
// `LedgerError.damagedSegment(file:line:reason:)`; nothing past it is indexed, and the next refresh
// fails the same way. Not thread-safe: owners serialize access.
// Reference: an incremental reader of append-only logs (offset per file, like a Kafka consumer position).

import Foundation
import TwinBase

final class LedgerIndex {
    let directory: URL

    private struct Segment {
        var offset = 0
        var lineCount = 0
        var cursor: ChainCursor
    }

    private var segments: [String: Segment] = [:]
    /// All indexed events (each id once), segments in file-name order, lines in file order.
    private(set) var events: [RoyaltyEvent] = []
    private var positionByID: [String: Int] = [:]
    private var indexByPayload: [UInt64: Int] = [:]
    private var countByGrant: [String: Int] = [:]

    init(directory: URL) { self.directory = directory }

    /// Reads what was appended since the last call; returns the new events.
    @discardableResult
    func refresh() throws -> [RoyaltyEvent] {
        guard let names = try SegmentIO.names(in: directory) else { return [] }
        var added = [RoyaltyEvent]()
        for name in names {
            guard let host = SegmentIO.host(fromSegmentName: name) else { continue }
            let path = directory.appendingPathComponent(name).path
            var segment = segments[name] ?? Segment(cursor: ChainCursor(host: host))
            defer { segments[name] = segment }
            if let size = try SegmentIO.identity(path: path)?.size, size < segment.offset {
                throw LedgerError.damagedSegment(file: path, line: segment.lineCount,
                                                 reason: "segment shrank from \(segment.offset) to \(size) bytes")
            }
            let bytes = try SegmentIO.read(path: path, from: segment.offset)
            for range in SegmentIO.splitLines(bytes).lines {
                let lineNumber = segment.lineCount + 1
                let event: RoyaltyEvent
                switch CanonicalLine.decode(bytes[range]) {
                case .failure(let defect):
                    throw LedgerError.damagedSegment(file: path, line: lineNumber, reason: defect.message)
                case .success(let decoded):
                    event = decoded
                }
                var cursor = segment.cursor
                if let problem = cursor.advance(over: event) {
                    throw LedgerError.damagedSegment(file: path, line: lineNumber, reason: problem.message)
                }
                segment.cursor = cursor
                segment.offset += range.count + 1
                segment.lineCount = lineNumber
                guard positionByID[event.eventID] == nil else { continue }
                positionByID[event.eventID] = events.count
                indexByPayload[event.watermarkPayload] = events.count
                countByGrant[event.grant, default: 0] += 1
                events.append(event)
                added.append(event)
            }
        }
        return added
    }

    func event(id: String) -> RoyaltyEvent? { positionByID[id].map { events[$0] } }

    func event(watermarkPayload: UInt64) -> RoyaltyEvent? { indexByPayload[watermarkPayload].map { events[$0] } }

    func deliveredCount(grant: String) -> Int { countByGrant[grant] ?? 0 }
}
