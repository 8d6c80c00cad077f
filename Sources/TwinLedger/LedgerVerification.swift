// Role: `verify`, the auditor's full check of every segment in a ledger directory. Unlike the
// strict readers, it does not stop at the first problem: it reports every bad line it can name,
// each with its file and 1-based line number, sorted by file then line.
// What it detects: malformed or hand-edited lines, hash mismatches, broken prev_hash links, seq
// gaps (deleted lines), reordered or repeated lines, events in another host's segment, a segment
// ending mid-line, and duplicate event ids across all segments.
// What it cannot detect on its own: whole lines removed from the END of a segment (a hash chain has
// no anchor past its head); the crash test's images <-> events check, and comparing a segment's
// `head` with one recorded earlier, catch that.

import Foundation
import TwinBase

/// One problem `verify` found.
public struct LedgerProblem: Sendable, Hashable, CustomStringConvertible {
    /// What kind of damage.
    public enum Kind: String, Sendable, Hashable {
        case malformed, notCanonical, hashMismatch, inconsistent, brokenChain, sequenceGap, reordered
        case wrongHost, truncatedLine, duplicateEvent, unreadable
    }

    /// Path of the segment file.
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
    /// `hash` of the last decodable line: record it to detect later truncation of the segment's end.
    public let head: String
}

/// The result of ``LedgerReader/verify()``.
public struct LedgerVerification: Sendable {
    public let segments: [SegmentSummary]
    /// `.torn` files next to the segments: tails of lines cut by a crash, moved aside on recovery.
    public let tornFiles: [String]
    /// Every problem found, sorted by file then line.
    public let problems: [LedgerProblem]

    /// True when no problem was found.
    public var isValid: Bool { problems.isEmpty }
    /// The first bad line, if any.
    public var firstProblem: LedgerProblem? { problems.first }
    /// Events across all segments.
    public var eventCount: Int { segments.reduce(0) { $0 + $1.eventCount } }
}

enum LedgerVerifier {
    static func verify(directory: URL) -> LedgerVerification {
        let names: [String]
        do {
            guard let listed = try SegmentIO.listDirectory(directory) else {
                return LedgerVerification(segments: [], tornFiles: [], problems: [
                    LedgerProblem(file: directory.path, line: 0, kind: .unreadable, message: "ledger directory does not exist"),
                ])
            }
            names = listed
        } catch {
            return LedgerVerification(segments: [], tornFiles: [], problems: [
                LedgerProblem(file: directory.path, line: 0, kind: .unreadable, message: "\(error)"),
            ])
        }
        var segments = [SegmentSummary]()
        var problems = [LedgerProblem]()
        var firstSeen = [String: String]()   // event id -> "file:line"
        for name in names where name.hasSuffix(".jsonl") {
            let path = directory.appendingPathComponent(name).path
            guard let host = SegmentIO.host(fromSegmentName: name) else {
                problems.append(LedgerProblem(file: path, line: 0, kind: .wrongHost, message: "not a valid segment name <host>.jsonl"))
                continue
            }
            let bytes: [UInt8]
            do { bytes = try SegmentIO.read(path: path) } catch {
                problems.append(LedgerProblem(file: path, line: 0, kind: .unreadable, message: "\(error)"))
                continue
            }
            let (lines, tailStart) = SegmentIO.splitLines(bytes)
            let decodedLines = lines.map { CanonicalLine.decode(bytes[$0]) }
            var lastLineOfSeq = [Int64: Int]()
            for (i, result) in decodedLines.enumerated() { if case .success(let e) = result { lastLineOfSeq[e.seq] = i } }
            var cursor = ChainCursor(host: host)
            var decoded = 0
            for (i, result) in decodedLines.enumerated() {
                let lineNumber = i + 1
                switch result {
                case .failure(let defect):
                    problems.append(LedgerProblem(file: path, line: lineNumber, kind: kind(of: defect), message: defect.message))
                    cursor.skipUndecodable()
                case .success(let event):
                    decoded += 1
                    let expected = cursor.lastSeq + 1
                    if var problem = cursor.advance(over: event) {
                        if problem.kind == .sequenceGap, let later = lastLineOfSeq[expected], later > i {
                            problem = (.reordered, "expected seq \(expected), found \(event.seq) (seq \(expected) is at line \(later + 1))")
                        }
                        problems.append(LedgerProblem(file: path, line: lineNumber, kind: problem.kind, message: problem.message))
                    }
                    if let first = firstSeen[event.eventID] {
                        problems.append(LedgerProblem(file: path, line: lineNumber, kind: .duplicateEvent,
                                                      message: "event \(event.eventID) already at \(first)"))
                    } else {
                        firstSeen[event.eventID] = "\(path):\(lineNumber)"
                    }
                }
            }
            if tailStart < bytes.count {
                problems.append(LedgerProblem(file: path, line: lines.count + 1, kind: .truncatedLine,
                                              message: "segment ends mid-line (\(bytes.count - tailStart) bytes without a newline)"))
            }
            segments.append(SegmentSummary(host: host, file: path, eventCount: decoded, lastSeq: cursor.lastSeq,
                                           head: cursor.lastHash ?? "unknown"))
        }
        let torn = names.filter { $0.hasSuffix(".jsonl.torn") }.map { directory.appendingPathComponent($0).path }
        problems.sort { ($0.file, $0.line) < ($1.file, $1.line) }
        return LedgerVerification(segments: segments, tornFiles: torn, problems: problems)
    }

    private static func kind(of defect: LineDefect) -> LedgerProblem.Kind {
        switch defect {
        case .malformed: return .malformed
        case .notCanonical: return .notCanonical
        case .hashMismatch: return .hashMismatch
        case .inconsistent: return .inconsistent
        }
    }
}
