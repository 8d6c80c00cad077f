// Role: `verify`, the auditor's full check of every segment and signed head in a ledger directory
// against the render hosts' registered public keys. Unlike the strict readers, it does not stop at
// the first problem: it reports every bad line it can name, each with its file and 1-based line
// number, sorted by file then line.
// Reference: Certificate Transparency (RFC 6962 §3.5): an auditor checks every entry's signature
// and that the log still reaches its signed head.
// What it detects: malformed or hand-edited lines, hash mismatches, lines not signed by a key of
// their host (forged, edited and re-hashed, re-chained, or unsigned appends), broken prev_hash
// links, seq gaps (deleted lines), reordered or repeated lines, events in another host's segment,
// segments of hosts with no registered key, a segment ending mid-line, duplicate event ids across
// all segments, and — through the signed head — committed lines deleted or replaced at the END of
// a segment, a deleted segment, a deleted or forged head.
// What it cannot detect on its own: a head replaced by an OLDER head of the same host together
// with the truncation of the lines after it, or a host's segment and head both deleted; reconciling
// the ledger with the delivered images (`royalties verify --spool`) or with a head recorded earlier
// catches those. See docs/ledger.md.

import Crypto
import Foundation
import TwinBase

/// One problem `verify` found.
public struct LedgerProblem: Sendable, Hashable, CustomStringConvertible {
    /// What kind of damage.
    public enum Kind: String, Sendable, Hashable {
        case malformed, notCanonical, hashMismatch, inconsistent, brokenChain, sequenceGap, reordered
        case wrongHost, truncatedLine, duplicateEvent, unreadable
        /// The line's signature does not verify with any key registered for its host.
        case badSignature
        /// A segment or head of a host that has no registered key.
        case unknownHost
        /// A segment with events but no signed head.
        case headMissing
        /// A signed head that does not parse, names another host or does not verify.
        case headInvalid
        /// The segment holds fewer events or bytes than its signed head commits.
        case segmentTruncated
        /// A signed head commits events, but the segment file is gone.
        case segmentMissing
        /// The line at the head's `seq` is not the event the head commits.
        case headMismatch
    }

    /// Path of the segment (or head) file.
    public let file: String
    /// 1-based line number; 0 for a problem with the file or directory as a whole.
    public let line: Int
    public let kind: Kind
    /// Human-readable detail.
    public let message: String

    /// `file:line: kind: message`.
    public var description: String { "\(file):\(line): \(kind.rawValue): \(message)" }
}

/// Summary of one host's segment.
public struct SegmentSummary: Sendable, Hashable {
    public let host: String
    public let file: String
    /// Complete lines that decoded (valid or not in chain terms).
    public let eventCount: Int
    /// `seq` of the last decodable line (0 when empty).
    public let lastSeq: Int64
    /// `hash` of the last decodable line.
    public let head: String
    /// The segment's signed head, when it parsed.
    public let signedHead: SignedHead?
}

/// The result of ``LedgerReader/verify(hostKeys:)``.
public struct LedgerVerification: Sendable {
    public let segments: [SegmentSummary]
    /// `.torn` files next to the segments: tails of lines cut by a crash, moved aside on recovery.
    public let tornFiles: [String]
    /// Every problem found, sorted by file then line.
    public let problems: [LedgerProblem]
    /// Every event whose line passed all its checks (form, hash, chain, host signature), each event
    /// id once. When `isValid`, this is the whole ledger; statements are built only from it.
    public let events: [RoyaltyEvent]

    /// True when no problem was found.
    public var isValid: Bool { problems.isEmpty }
    /// The first bad line, if any.
    public var firstProblem: LedgerProblem? { problems.first }
    /// Events across all segments.
    public var eventCount: Int { segments.reduce(0) { $0 + $1.eventCount } }
}

/// One verification run; collects problems as it goes.
struct LedgerVerifier {
    let directory: URL
    let hostKeys: [String: [Curve25519.Signing.PublicKey]]
    private var problems = [LedgerProblem]()
    private var segments = [SegmentSummary]()
    private var events = [RoyaltyEvent]()
    private var firstSeen = [String: String]()   // event id -> "file:line"

    init(directory: URL, hostKeys: [String: [Curve25519.Signing.PublicKey]]) {
        self.directory = directory
        self.hostKeys = hostKeys
    }

    consuming func run() -> LedgerVerification {
        let names: [String]
        do {
            guard let listed = try SegmentIO.names(in: directory) else {
                return result(problem: "ledger directory does not exist")
            }
            names = listed
        } catch {
            return result(problem: "\(error)")
        }
        var hosts = Set<String>()
        for name in names where name.hasSuffix(".jsonl") || name.hasSuffix(".jsonl.head") {
            let segmentName = name.hasSuffix(".head") ? String(name.dropLast(".head".count)) : name
            if let host = SegmentIO.host(fromSegmentName: segmentName) {
                hosts.insert(host)
            } else {
                add(directory.appendingPathComponent(name).path, 0, .wrongHost, "not a valid segment name <host>.jsonl[.head]")
            }
        }
        for host in hosts.sorted() { check(host: host) }
        let torn = names.filter { $0.hasSuffix(".jsonl.torn") }.map { directory.appendingPathComponent($0).path }
        problems.sort { ($0.file, $0.line) < ($1.file, $1.line) }
        return LedgerVerification(segments: segments, tornFiles: torn, problems: problems, events: events)
    }

    private func result(problem: String) -> LedgerVerification {
        LedgerVerification(segments: [], tornFiles: [], problems: [
            LedgerProblem(file: directory.path, line: 0, kind: .unreadable, message: problem),
        ], events: [])
    }

    private mutating func add(_ file: String, _ line: Int, _ kind: LedgerProblem.Kind, _ message: String) {
        problems.append(LedgerProblem(file: file, line: line, kind: kind, message: message))
    }

    /// Checks one host's segment and signed head.
    private mutating func check(host: String) {
        let path = directory.appendingPathComponent(SegmentIO.segmentName(host: host)).path
        let headPath = directory.appendingPathComponent(SignedHead.fileName(host: host)).path
        let keys = hostKeys[host]
        if keys == nil {
            add(path, 0, .unknownHost, "host \(host.debugDescription) has no registered key: its events cannot be verified")
        }
        let head = signedHead(at: headPath, host: host, keys: keys)
        let bytes: [UInt8]
        do {
            guard let identity = try SegmentIO.identity(path: path) else {
                if let head, head.seq > 0 {
                    add(path, 0, .segmentMissing, "segment missing: its signed head commits \(head.seq) events")
                }
                return
            }
            bytes = try SegmentIO.read(path: path)
            if head == nil, identity.size > 0, !problems.contains(where: { $0.file == headPath }) {
                add(headPath, 0, .headMissing, "no signed head for a segment of \(identity.size) bytes")
            }
        } catch {
            add(path, 0, .unreadable, "\(error)")
            return
        }
        let (lines, tailStart) = SegmentIO.splitLines(bytes)
        let (decoded, cursor) = checkLines(bytes, lines: lines, host: host, path: path, keys: keys)
        if tailStart < bytes.count {
            add(path, lines.count + 1, .truncatedLine, "segment ends mid-line (\(bytes.count - tailStart) bytes without a newline)")
        }
        if let head { compare(head, with: decoded, lines: lines, size: bytes.count, path: path) }
        segments.append(SegmentSummary(host: host, file: path, eventCount: decoded.compactMap { $0 }.count,
                                       lastSeq: cursor.lastSeq, head: cursor.lastHash ?? "unknown", signedHead: head))
    }

    /// The host's parsed head, reporting one that is unreadable, malformed, foreign or badly signed.
    private mutating func signedHead(at path: String, host: String, keys: [Curve25519.Signing.PublicKey]?) -> SignedHead? {
        let bytes: [UInt8]
        do { bytes = try SegmentIO.read(path: path) } catch {
            add(path, 0, .unreadable, "\(error)")
            return nil
        }
        if bytes.isEmpty { return nil }
        guard let head = SignedHead.parse(bytes) else {
            add(path, 0, .headInvalid, "not a canonical signed head line")
            return nil
        }
        if head.host != host {
            add(path, 0, .headInvalid, "head names host \(head.host.debugDescription)")
        } else if let keys, !head.isSigned(byAnyOf: keys) {
            add(path, 0, .headInvalid, "head signature does not verify with any key registered for \(host.debugDescription)")
        }
        return head
    }
}

extension LedgerVerifier {
    /// Checks every complete line: its own form, the chain, the host signature and duplicates.
    /// Returns the decoded events by line (nil where a line did not decode) and the final cursor.
    fileprivate mutating func checkLines(_ bytes: [UInt8], lines: [Range<Int>], host: String, path: String,
                                         keys: [Curve25519.Signing.PublicKey]?) -> ([RoyaltyEvent?], ChainCursor) {
        let decodedLines = lines.map { CanonicalLine.decode(bytes[$0]) }
        var lastLineOfSeq = [Int64: Int]()
        for (i, result) in decodedLines.enumerated() { if case .success(let e) = result { lastLineOfSeq[e.seq] = i } }
        var cursor = ChainCursor(host: host)
        var decoded = [RoyaltyEvent?]()
        for (i, result) in decodedLines.enumerated() {
            let lineNumber = i + 1
            guard case .success(let event) = result else {
                if case .failure(let defect) = result { add(path, lineNumber, Self.kind(of: defect), defect.message) }
                cursor.skipUndecodable()
                decoded.append(nil)
                continue
            }
            decoded.append(event)
            var sound = true
            let expected = cursor.lastSeq + 1
            if var problem = cursor.advance(over: event) {
                if problem.kind == .sequenceGap, let later = lastLineOfSeq[expected], later > i {
                    problem = (.reordered, "expected seq \(expected), found \(event.seq) (seq \(expected) is at line \(later + 1))")
                }
                add(path, lineNumber, problem.kind, problem.message)
                sound = false
            }
            if let keys, !CanonicalLine.isSigned(event, byAnyOf: keys) {
                add(path, lineNumber, .badSignature, "signature does not verify with any key registered for \(host.debugDescription)")
                sound = false
            }
            if let first = firstSeen[event.eventID] {
                add(path, lineNumber, .duplicateEvent, "event \(event.eventID) already at \(first)")
                sound = false
            } else {
                firstSeen[event.eventID] = "\(path):\(lineNumber)"
            }
            if sound && keys != nil { events.append(event) }
        }
        return (decoded, cursor)
    }

    /// Checks that the segment still reaches its signed head: at least `head.seq` complete lines,
    /// and line `head.seq` is the event the head commits, ending at byte `head.size`.
    fileprivate mutating func compare(_ head: SignedHead, with decoded: [RoyaltyEvent?], lines: [Range<Int>],
                                      size: Int, path: String) {
        guard head.seq > 0 else { return }
        guard Int64(lines.count) >= head.seq else {
            add(path, lines.count + 1, .segmentTruncated,
                "segment has \(lines.count) complete lines (\(size) bytes), its signed head commits \(head.seq) events "
                    + "(\(head.size) bytes): committed events were removed from the end")
            return
        }
        let index = Int(head.seq) - 1
        if decoded[index]?.hash != head.hash || Int64(lines[index].upperBound + 1) != head.size {
            add(path, index + 1, .headMismatch, "line \(index + 1) is not the event the signed head commits (replaced?)")
        }
    }

    fileprivate static func kind(of defect: LineDefect) -> LedgerProblem.Kind {
        switch defect {
        case .malformed: return .malformed
        case .notCanonical: return .notCanonical
        case .hashMismatch: return .hashMismatch
        case .inconsistent: return .inconsistent
        }
    }
}
