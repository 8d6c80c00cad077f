// Role: the write side of the royalty ledger for one render host: appends one signed event per
// delivered image to `<directory>/<host>.jsonl`, chained by hash, exactly once per event id across
// every host sharing the directory, and keeps the segment's signed head `<host>.jsonl.head`.
// Reference: RFC 6962 signed tree heads; Postfix/notqmail's single commit point and "nothing that
// was acknowledged is ever discarded" recovery rule.
//
// Protocol:
// - open: check the host name, create the directory, read the signed head, open the segment with
//   O_APPEND and take an exclusive flock (a second writer for the same host gets `segmentLocked`;
//   the kernel drops the lock when the process dies). A head without its segment, a segment with
//   content but no head, or a segment shorter than its head refuses the open (`damagedSegment`).
// - recover (see `SegmentOpening`): committed lines (up to the head) must chain to the head's hash;
//   complete, correctly signed lines after the head (fsynced, but the writer died before the head
//   was rewritten) are adopted; an unterminated tail after them is torn: its bytes are saved,
//   base64-encoded with their offset, in `<host>.jsonl.torn`, then the segment is truncated back.
// - append, holding the directory-wide flock `<directory>/.append.lock`: check that the open file
//   is still the file at the segment path with the length last written (else `damaged`, and every
//   later append is refused); if any host's segment already holds the event id, return that event
//   when the draft describes the same delivery (else `conflictingEvent`); check the quota; write the
//   signed line and its newline with one write(2), fsync; rewrite the signed head (temporary file,
//   fsync, rename, fsync the directory). The head's rename is the commit point: append returns only
//   after it. A failed line write is truncated away; if even that fails, the ledger refuses further
//   appends (`damaged`). A failed head write is retried at the start of the next append. An
//   append waits at most 30 s for the directory lock, then fails with a transient `io` error.
// Failure modes: see `LedgerError`.

import Crypto
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
    /// This host's signed head, rewritten after every committed append.
    public let headURL: URL
    /// Set when opening found and moved aside a torn last line.
    public let recovery: TornTailRecovery?
    /// Reads all hosts' segments (lookups, quota counts, cross-host deduplication).
    public let reader: LedgerReader
    /// The public half of the host key: what the registry must list for this host.
    public var publicKey: Curve25519.Signing.PublicKey { signingKey.publicKey }

    private let lock = NSLock()
    private let signingKey: Curve25519.Signing.PrivateKey
    private let fd: Int32
    private var appendLockFD: Int32
    private var size: Int
    private var lastSeq: Int64
    private var lastHash: String
    private var byID: [String: RoyaltyEvent]
    private var headPending: Bool
    private var failed: LedgerError?
    /// How long an append waits for `.append.lock` before failing with a transient `io` error.
    var appendLockTimeout: Duration = .seconds(30)

    /// Opens (creating if needed) `host`'s segment in `directory`, recovering a torn tail.
    /// - Parameters:
    ///   - signingKey: the host's Ed25519 key; every line and head this ledger writes is signed with it.
    ///   - previousKeys: earlier public keys of this host (key rotation): a head or an uncommitted
    ///     line they signed is accepted at open, as with the current key.
    /// - Throws: `invalidHost`, `segmentLocked`, `damagedSegment`, `io`, `signingFailed`.
    public init(directory: URL, host: String, signingKey: Curve25519.Signing.PrivateKey,
                previousKeys: [Curve25519.Signing.PublicKey] = []) throws {
        guard HostName.isValid(host) else { throw LedgerError.invalidHost(host) }
        let paths = try SegmentPaths(directory: directory, host: host)
        var appendLockFD = try SegmentIO.openLockFile(paths.appendLock)
        var opened = false
        defer { if !opened { close(appendLockFD) } }
        let (fd, head) = try SegmentIO.withLockFile(fd: &appendLockFD, path: paths.appendLock, timeout: .seconds(30)) {
            try Self.openSegment(paths)
        }
        defer { if !opened { close(fd) } }
        let bytes = try SegmentIO.read(fd: fd, path: paths.segment, from: 0)
        let found = try SegmentOpening(bytes: bytes, head: head, host: host, keys: [signingKey.publicKey] + previousKeys,
                                       segmentPath: paths.segment, headPath: paths.head)
        var recovery: TornTailRecovery?
        if let tornStart = found.tornStart {
            recovery = try Self.moveAside(Array(bytes[tornStart...]), offset: tornStart, paths: paths, fd: fd)
        }
        self.directory = directory
        self.host = host
        self.segmentURL = URL(fileURLWithPath: paths.segment)
        self.headURL = URL(fileURLWithPath: paths.head)
        self.recovery = recovery
        self.reader = LedgerReader(directory: directory)
        self.signingKey = signingKey
        self.fd = fd
        self.appendLockFD = appendLockFD
        self.size = found.size
        self.lastSeq = found.events.last?.seq ?? 0
        self.lastHash = found.events.last?.hash ?? RoyaltyEvent.genesisHash
        self.byID = Dictionary(found.events.map { ($0.eventID, $0) }, uniquingKeysWith: { first, _ in first })
        self.headPending = found.adoptedLines || recovery != nil || head == nil
        opened = true
        if headPending { try writeHead() }
    }

    deinit {
        close(fd)
        close(appendLockFD)
    }

    /// Records the delivery described by `draft`, exactly once per event id across all hosts.
    ///
    /// Returns the appended event or, when any host's segment already holds the draft's event id,
    /// that existing event (nothing is written). Returns only after the line is fsynced and the
    /// signed head rewritten: that return is the delivery's commit point.
    /// - Parameter quota: when set, a new event that would make the grant's delivered count (all
    ///   hosts) exceed `quota` is refused with `quotaExhausted`. An existing event is returned regardless.
    /// - Throws: `invalidDraft`; `conflictingEvent` (same id, different delivery, on any host);
    ///   `quotaExhausted`; `damaged` (the segment changed under the writer: appending has stopped);
    ///   `damagedSegment` (another segment is damaged); `io`; `signingFailed`.
    public func append(_ draft: RoyaltyEventDraft, quota: Int? = nil) throws -> RoyaltyEvent {
        try draft.validate()
        lock.lock()
        defer { lock.unlock() }
        if let failed { throw failed }
        let lockPath = directory.appendingPathComponent(SegmentIO.appendLockName).path
        return try SegmentIO.withLockFile(fd: &appendLockFD, path: lockPath, timeout: appendLockTimeout) {
            try checkSegmentUnchanged()
            if headPending { try writeHead() }
            if let existing = try deliveredEvent(for: draft) { return existing }
            if let quota, try reader.deliveredCount(grant: draft.grant) >= quota {
                throw LedgerError.quotaExhausted(grant: draft.grant, quota: quota)
            }
            let event = try CanonicalLine.sealed(draft.event().with(host: host, seq: lastSeq + 1, prevHash: lastHash),
                                                 key: signingKey)
            try write(event)
            try writeHead()
            return event
        }
    }

    /// The event with `id` in this host's segment, without reading other segments.
    public func localEvent(id: String) -> RoyaltyEvent? {
        lock.lock()
        defer { lock.unlock() }
        return byID[id]
    }

    /// Number of distinct events in this host's segment.
    public var localCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return byID.count
    }

    /// The event already recorded for `draft`'s id on any host, after checking it is the same delivery.
    private func deliveredEvent(for draft: RoyaltyEventDraft) throws -> RoyaltyEvent? {
        let eventID = draft.eventID
        guard let existing = try byID[eventID] ?? reader.event(id: eventID) else { return nil }
        if let field = draft.conflictingField(with: existing) {
            throw LedgerError.conflictingEvent(eventID: eventID, field: field)
        }
        return existing
    }

    /// Refuses (for good) to append when the open file is no longer the segment as this writer left it.
    private func checkSegmentUnchanged() throws {
        let path = segmentURL.path
        let open = try SegmentIO.identity(fd: fd, path: path)
        let reason: String
        if let onDisk = try SegmentIO.identity(path: path) {
            guard !onDisk.isSameFile(as: open) || open.size != size else { return }
            reason = onDisk.isSameFile(as: open)
                ? "the segment is \(open.size) bytes, but this writer left it at \(size) bytes"
                : "the segment path now names another file than the one this writer opened"
        } else {
            reason = "the segment file was removed while open"
        }
        let error = LedgerError.damaged(file: path, reason: reason)
        failed = error
        throw error
    }

    /// Writes and fsyncs `event`'s line; on failure removes the partial line or stops appending.
    private func write(_ event: RoyaltyEvent) throws {
        let line = Array((CanonicalLine.line(of: event) + "\n").utf8)
        let path = segmentURL.path
        do {
            do { try DurableFile.writeAll(fd: fd, line, path: path) } catch { throw LedgerError.io(error) }
            try SegmentIO.sync(fd: fd, path: path)
        } catch {
            do {
                try SegmentIO.truncate(fd: fd, path: path, to: size)
                try SegmentIO.sync(fd: fd, path: path)
            } catch let truncateError {
                failed = LedgerError.damaged(file: path, reason: "a failed write could not be truncated away (\(truncateError))")
            }
            throw error
        }
        size += line.count
        lastSeq = event.seq
        lastHash = event.hash
        byID[event.eventID] = event
        headPending = true
    }

    /// Rewrites the signed head for the segment's current end.
    private func writeHead() throws {
        let head = try SignedHead.signed(host: host, seq: lastSeq, hash: lastHash, size: Int64(size),
                                         time: UTCTimestamp.now(), key: signingKey)
        do { try DurableFile.replace(head.fileBytes, at: headURL.path) } catch { throw LedgerError.io(error) }
        headPending = false
    }
}

/// The files of one host in a ledger directory.
struct SegmentPaths {
    let segment: String
    let head: String
    let torn: String
    let appendLock: String

    /// Names `host`'s files in `directory`, creating the directory (mode 0755) when it is missing.
    init(directory: URL, host: String) throws {
        if try SegmentIO.identity(path: directory.path) == nil {
            do { try DurableFile.makeDirectory(directory.path, mode: 0o755) } catch { throw LedgerError.io(error) }
        }
        segment = directory.appendingPathComponent(SegmentIO.segmentName(host: host)).path
        head = directory.appendingPathComponent(SignedHead.fileName(host: host)).path
        torn = directory.appendingPathComponent(SegmentIO.tornName(host: host)).path
        appendLock = directory.appendingPathComponent(SegmentIO.appendLockName).path
    }
}

extension RoyaltyLedger {
    /// Reads the signed head and opens and locks the segment, refusing a segment whose head is
    /// missing or a head whose segment is missing.
    fileprivate static func openSegment(_ paths: SegmentPaths) throws -> (Int32, SignedHead?) {
        let head = try readHead(paths.head)
        let opened: Int32?
        if let head {
            opened = try SegmentIO.openForAppend(path: paths.segment, create: head.seq == 0)
        } else {
            if let existing = try SegmentIO.identity(path: paths.segment), existing.size > 0 {
                throw LedgerError.damagedSegment(file: paths.head, line: 0,
                                                 reason: "signed head missing for a segment of \(existing.size) bytes")
            }
            opened = try SegmentIO.openForAppend(path: paths.segment, create: true)
        }
        guard let fd = opened else {
            throw LedgerError.damagedSegment(file: paths.segment, line: 0,
                                             reason: "segment missing: its signed head commits \(head?.seq ?? 0) events")
        }
        do {
            guard try SegmentIO.tryLock(fd: fd, path: paths.segment) else { throw LedgerError.segmentLocked(paths.segment) }
            do { try DurableFile.fsyncDirectory((paths.segment as NSString).deletingLastPathComponent) } catch {
                throw LedgerError.io(error)
            }
        } catch {
            close(fd)
            throw error
        }
        return (fd, head)
    }

    /// The parsed head at `path`; nil when there is none.
    private static func readHead(_ path: String) throws -> SignedHead? {
        let bytes: [UInt8]
        do {
            bytes = try DurableFile.readRegularFile(path, limit: 4096)
        } catch {
            if case .system(let failure) = error, failure.code == ENOENT { return nil }
            throw LedgerError.damagedSegment(file: path, line: 0, reason: "signed head unreadable: \(error)")
        }
        guard let head = SignedHead.parse(bytes) else {
            throw LedgerError.damagedSegment(file: path, line: 0, reason: "signed head is not a canonical head line")
        }
        return head
    }

    /// Saves a torn tail to the `.torn` file (fsynced), then truncates the segment back to `offset`.
    fileprivate static func moveAside(_ torn: [UInt8], offset: Int, paths: SegmentPaths, fd: Int32) throws -> TornTailRecovery {
        let record = "{\"segment_offset\":\(offset),\"saved_at\":\"\(UTCTimestamp.now())\",\"bytes_base64\":\"\(Data(torn).base64EncodedString())\"}\n"
        let earlier = try SegmentIO.read(path: paths.torn)
        do { try DurableFile.replace(earlier + Array(record.utf8), at: paths.torn) } catch { throw LedgerError.io(error) }
        try SegmentIO.truncate(fd: fd, path: paths.segment, to: offset)
        try SegmentIO.sync(fd: fd, path: paths.segment)
        return TornTailRecovery(tornFile: URL(fileURLWithPath: paths.torn), offset: offset, byteCount: torn.count)
    }
}
