// Role: the write side of the royalty ledger for one render host: appends one event per delivered
// image to `<directory>/<host>.jsonl`, chained by hash, exactly once per event id.
//
// Protocol (one writer per segment):
// - open: create the directory, open the segment with O_APPEND and take an exclusive flock (a
//   second writer for the same host gets `segmentLocked`; the kernel drops the lock when the
//   process dies, so kill -9 never leaves it stale).
// - recover: a crash during an append can leave the last line without its newline (a torn tail).
//   Its bytes are appended, base64-encoded with their offset, as one JSON line to
//   `<host>.jsonl.torn` (fsynced), then the segment is truncated back to the end of the last
//   complete line (fsynced). The torn event was never acknowledged (append returns only after
//   fsync), so the caller has not committed it and will append it again. Every complete line is
//   then checked; any damage refuses the open (`damagedSegment`): the chain is never extended past
//   a line that cannot be trusted. Nothing is deleted.
// - append: validate, then if the event id is already in this segment return that event (after
//   checking the draft describes the same delivery); else write the line and its newline with one
//   write(2), fsync, and only then return. A failed write is truncated away; if even that fails the
//   ledger refuses further appends.
// Failure modes: see `LedgerError`.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What opening a segment recovered from a crash mid-append.
public struct TornTailRecovery: Sendable, Hashable {
    /// Where the torn bytes were saved.
    public let tornFile: URL
    /// Offset in the segment where the torn line started (the segment's size after recovery).
    public let offset: Int
    /// Number of torn bytes moved aside.
    public let byteCount: Int
}

/// Appends royalty events to this host's segment. Safe to share between threads of one process.
public final class RoyaltyLedger: @unchecked Sendable {
    /// The ledger directory (shared by all hosts).
    public let directory: URL
    /// This host's name; its segment is `<directory>/<host>.jsonl`.
    public let host: String
    /// This host's segment file.
    public let segmentURL: URL
    /// Set when opening found and moved aside a torn last line.
    public let recovery: TornTailRecovery?
    /// Reads all hosts' segments (lookups, quota counts, verify).
    public let reader: LedgerReader

    private let lock = NSLock()
    private let fd: Int32
    private var size: Int
    private var cursor: ChainCursor
    private var lastHash: String
    private var byID: [String: RoyaltyEvent]
    private var failed: LedgerError?

    /// Opens (creating if needed) `host`'s segment in `directory`, recovering a torn tail.
    /// - Throws: `invalidHost`, `segmentLocked`, `damagedSegment`, `io`.
    public init(directory: URL, host: String) throws {
        guard SegmentIO.isValidHost(host) else { throw LedgerError.invalidHost(host) }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw LedgerError.io(path: directory.path, operation: "mkdir", errno: EIO)
        }
        let segmentURL = directory.appendingPathComponent(SegmentIO.segmentName(host: host))
        let path = segmentURL.path
        let fd = try SegmentIO.openForAppend(path: path)
        var opened = false
        defer { if !opened { close(fd) } }
        guard try SegmentIO.tryLock(fd: fd, path: path) else { throw LedgerError.segmentLocked(path) }
        try SegmentIO.syncDirectory(directory)

        var bytes = try SegmentIO.read(fd: fd, path: path, from: 0)
        let (lines, tailStart) = SegmentIO.splitLines(bytes)
        var recovery: TornTailRecovery?
        if tailStart < bytes.count {
            let tornURL = directory.appendingPathComponent(SegmentIO.tornName(host: host))
            let torn = Array(bytes[tailStart...])
            try Self.saveTorn(torn, offset: tailStart, to: tornURL)
            try SegmentIO.truncate(fd: fd, path: path, to: tailStart)
            try SegmentIO.sync(fd: fd, path: path)
            bytes.removeSubrange(tailStart...)
            recovery = TornTailRecovery(tornFile: tornURL, offset: tailStart, byteCount: torn.count)
        }
        var cursor = ChainCursor(host: host)
        var byID = [String: RoyaltyEvent]()
        var lastHash = RoyaltyEvent.genesisHash
        for (i, range) in lines.enumerated() {
            switch CanonicalLine.decode(bytes[range]) {
            case .failure(let defect):
                throw LedgerError.damagedSegment(file: path, line: i + 1, reason: defect.message)
            case .success(let event):
                if let problem = cursor.advance(over: event) {
                    throw LedgerError.damagedSegment(file: path, line: i + 1, reason: problem.message)
                }
                if byID[event.eventID] != nil {
                    throw LedgerError.damagedSegment(file: path, line: i + 1, reason: "duplicate event \(event.eventID)")
                }
                byID[event.eventID] = event
                lastHash = event.hash
            }
        }
        self.directory = directory
        self.host = host
        self.segmentURL = segmentURL
        self.recovery = recovery
        self.reader = LedgerReader(directory: directory)
        self.fd = fd
        self.size = bytes.count
        self.cursor = cursor
        self.lastHash = lastHash
        self.byID = byID
        opened = true
    }

    deinit { close(fd) }

    /// Records the delivery described by `draft`, exactly once per event id.
    ///
    /// Returns the appended event, or, when this host's segment already holds the draft's event id,
    /// that existing event (nothing is written). Returns only after the line is fsynced: that return
    /// is the delivery's commit point.
    /// - Parameter quota: when set, a new event that would make the grant's delivered count (all
    ///   hosts) exceed `quota` is refused with `quotaExhausted`. An existing event is returned regardless.
    /// - Throws: `invalidDraft`, `conflictingEvent` (same id, different content), `quotaExhausted`,
    ///   `damagedSegment` (another segment is damaged while counting the quota), `io`.
    public func append(_ draft: RoyaltyEventDraft, quota: Int? = nil) throws -> RoyaltyEvent {
        try draft.validate()
        lock.lock()
        defer { lock.unlock() }
        if let failed { throw failed }
        let eventID = draft.eventID
        if let existing = byID[eventID] {
            if let field = draft.conflictingField(with: existing) {
                throw LedgerError.conflictingEvent(eventID: eventID, field: field)
            }
            return existing
        }
        if let quota, try reader.deliveredCount(grant: draft.grant) >= quota {
            throw LedgerError.quotaExhausted(grant: draft.grant, quota: quota)
        }
        let unsigned = RoyaltyEvent(
            eventID: eventID, job: draft.job, imageIndex: draft.imageIndex, twin: draft.twin, model: draft.model,
            licensee: draft.licensee, grant: draft.grant, grantHash: draft.grantHash, purpose: draft.purpose,
            territory: draft.territory, deliveredAt: draft.deliveredAt, outputSHA256: draft.outputSHA256,
            watermarkPayload: draft.watermarkPayload, amount: draft.amount, agencyCommission: draft.agencyCommission,
            currency: draft.currency, dueDate: draft.deliveredAt.calendarDate.adding(days: draft.paymentDays),
            host: host, seq: cursor.lastSeq + 1, prevHash: lastHash, hash: "")
        let event = unsigned.withHash(CanonicalLine.hash(ofBody: CanonicalLine.body(of: unsigned)))
        let line = Array((CanonicalLine.line(of: event) + "\n").utf8)
        let path = segmentURL.path
        do {
            try SegmentIO.writeAll(fd: fd, path: path, line)
            try SegmentIO.sync(fd: fd, path: path)
        } catch {
            // Remove a partial line so the chain stays appendable; if that fails, stop appending.
            do {
                try SegmentIO.truncate(fd: fd, path: path, to: size)
                try SegmentIO.sync(fd: fd, path: path)
            } catch {
                failed = error as? LedgerError ?? LedgerError.io(path: path, operation: "truncate", errno: EIO)
            }
            throw error
        }
        _ = cursor.advance(over: event)
        lastHash = event.hash
        size += line.count
        byID[eventID] = event
        return event
    }

    /// The event with `id` in this host's segment, without reading other segments.
    public func localEvent(id: String) -> RoyaltyEvent? {
        lock.lock()
        defer { lock.unlock() }
        return byID[id]
    }

    /// Number of events in this host's segment.
    public var localCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return byID.count
    }

    private static func saveTorn(_ bytes: [UInt8], offset: Int, to url: URL) throws {
        let record = "{\"segment_offset\":\(offset),\"saved_at\":\"\(UTCTimestamp.now())\",\"bytes_base64\":\"\(Data(bytes).base64EncodedString())\"}\n"
        let fd = try SegmentIO.openForAppend(path: url.path)
        defer { close(fd) }
        try SegmentIO.writeAll(fd: fd, path: url.path, Array(record.utf8))
        try SegmentIO.sync(fd: fd, path: url.path)
        try SegmentIO.syncDirectory(url.deletingLastPathComponent())
    }
}

extension RoyaltyEvent {
    func withHash(_ hash: String) -> RoyaltyEvent {
        RoyaltyEvent(eventID: eventID, job: job, imageIndex: imageIndex, twin: twin, model: model, licensee: licensee,
                     grant: grant, grantHash: grantHash, purpose: purpose, territory: territory,
                     deliveredAt: deliveredAt, outputSHA256: outputSHA256, watermarkPayload: watermarkPayload,
                     amount: amount, agencyCommission: agencyCommission, currency: currency, dueDate: dueDate,
                     host: host, seq: seq, prevHash: prevHash, hash: hash)
    }
}
