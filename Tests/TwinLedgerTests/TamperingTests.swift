import Foundation
import TwinBase
import Testing
@testable import TwinLedger

/// Each kind of damage to a segment is detected by `verify`, at the right line, and refused by the
/// strict readers and by the writer.
@Suite struct TamperingTests {
    /// A directory holding segment `h.jsonl` with five events (writer closed), and its lines.
    private func ledgerWithFiveEvents() throws -> (dir: URL, segment: URL, lines: [String]) {
        let dir = makeTempDirectory()
        let segment: URL
        do {
            let ledger = try RoyaltyLedger(directory: dir, host: "h")
            try appendEvents(ledger, count: 5)
            segment = ledger.segmentURL
        }
        return (dir, segment, try segmentLines(segment))
    }

    private func firstProblem(_ dir: URL) throws -> LedgerProblem {
        let verification = LedgerReader(directory: dir).verify()
        #expect(!verification.isValid)
        return try #require(verification.firstProblem)
    }

    /// Re-signs `event` after `change`, as a forger who knows the hash rule would.
    private func forged(_ line: String, amount: Int64) throws -> String {
        let e = try CanonicalLine.decode(ArraySlice(line.utf8)).get()
        let edited = RoyaltyEvent(
            eventID: e.eventID, job: e.job, imageIndex: e.imageIndex, twin: e.twin, model: e.model, licensee: e.licensee,
            grant: e.grant, grantHash: e.grantHash, purpose: e.purpose, territory: e.territory, deliveredAt: e.deliveredAt,
            outputSHA256: e.outputSHA256, watermarkPayload: e.watermarkPayload, amount: amount,
            agencyCommission: e.agencyCommission, currency: e.currency, dueDate: e.dueDate, host: e.host, seq: e.seq,
            prevHash: e.prevHash, hash: "")
        return CanonicalLine.line(of: edited.withHash(CanonicalLine.hash(ofBody: CanonicalLine.body(of: edited))))
    }

    @Test func editedAmountBreaksTheHash() throws {
        var (dir, segment, lines) = try ledgerWithFiveEvents()
        lines[2] = lines[2].replacingOccurrences(of: "\"amount\":1250", with: "\"amount\":9999")
        try writeLines(lines, to: segment)
        let problem = try firstProblem(dir)
        #expect(problem.kind == .hashMismatch)
        #expect(problem.line == 3)
        #expect(problem.file == segment.path)
        #expect(problem.description.hasPrefix("\(segment.path):3: hashMismatch"))
    }

    @Test func reSignedLineBreaksTheChainAtTheNextLine() throws {
        var (dir, segment, lines) = try ledgerWithFiveEvents()
        lines[2] = try forged(lines[2], amount: 9999)
        try writeLines(lines, to: segment)
        let problem = try firstProblem(dir)
        #expect(problem.kind == .brokenChain)
        #expect(problem.line == 4)
    }

    @Test func reSignedLastLineIsCaughtOnlyByItsHead() throws {
        // The documented limit of a chain: the last line can be re-signed consistently. The
        // segment summary's head changes, so an auditor who kept the head detects it.
        var (dir, segment, lines) = try ledgerWithFiveEvents()
        let headBefore = LedgerReader(directory: dir).verify().segments[0].head
        lines[4] = try forged(lines[4], amount: 9999)
        try writeLines(lines, to: segment)
        let after = LedgerReader(directory: dir).verify()
        #expect(after.isValid)
        #expect(after.segments[0].head != headBefore)
    }

    @Test func deletedLineIsASequenceGap() throws {
        var (dir, segment, lines) = try ledgerWithFiveEvents()
        lines.remove(at: 2)
        try writeLines(lines, to: segment)
        let problem = try firstProblem(dir)
        #expect(problem.kind == .sequenceGap)
        #expect(problem.line == 3)
        #expect(problem.message.contains("expected seq 3, found 4"))
    }

    @Test func swappedLinesAreReordering() throws {
        var (dir, segment, lines) = try ledgerWithFiveEvents()
        lines.swapAt(1, 2)
        try writeLines(lines, to: segment)
        let problem = try firstProblem(dir)
        #expect(problem.kind == .reordered)
        #expect(problem.line == 2)
    }

    @Test func lineCutMidwayIsTruncation() throws {
        let (dir, segment, lines) = try ledgerWithFiveEvents()
        var text = lines.map { $0 + "\n" }.joined()
        text.removeLast(40)
        try text.write(to: segment, atomically: false, encoding: .utf8)
        let problem = try firstProblem(dir)
        #expect(problem.kind == .truncatedLine)
        #expect(problem.line == 5)
    }

    @Test func repeatedLineIsReorderingAndADuplicateEvent() throws {
        var (dir, segment, lines) = try ledgerWithFiveEvents()
        lines.append(lines[1])
        try writeLines(lines, to: segment)
        let kinds = LedgerReader(directory: dir).verify().problems.map { "\($0.line) \($0.kind)" }
        #expect(kinds == ["6 reordered", "6 duplicateEvent"])
    }

    @Test func sameEventInTwoSegmentsIsADuplicate() throws {
        let dir = makeTempDirectory()
        let a = try RoyaltyLedger(directory: dir, host: "a")
        let b = try RoyaltyLedger(directory: dir, host: "b")
        _ = try a.append(sampleDraft(job: "shared"))
        _ = try b.append(sampleDraft(job: "other"))
        _ = try b.append(sampleDraft(job: "shared"))
        let problem = try firstProblem(dir)
        #expect(problem.kind == .duplicateEvent)
        #expect(problem.file == b.segmentURL.path && problem.line == 2)
        #expect(problem.message.contains("\(a.segmentURL.path):1"))
        #expect(throws: LedgerError.self) { try LedgerReader(directory: dir).events() }
    }

    @Test func handEditedFormattingIsNotCanonical() throws {
        var (dir, segment, lines) = try ledgerWithFiveEvents()
        lines[0] = lines[0].replacingOccurrences(of: "\"job\":", with: "\"job\": ")
        try writeLines(lines, to: segment)
        let problem = try firstProblem(dir)
        #expect(problem.kind == .notCanonical)
        #expect(problem.line == 1)
    }

    @Test func garbageAndMissingFieldsAreMalformed() throws {
        var (dir, segment, lines) = try ledgerWithFiveEvents()
        lines[1] = "not json"
        lines[3] = "{\"event_id\":\"x\"}"
        try writeLines(lines, to: segment)
        let problems = LedgerReader(directory: dir).verify().problems
        #expect(problems.map(\.line) == [2, 4])
        #expect(problems.allSatisfy { $0.kind == .malformed })
        #expect(problems[1].message.contains("missing field"))
    }

    @Test func segmentRenamedToAnotherHostIsWrongHost() throws {
        let (dir, segment, _) = try ledgerWithFiveEvents()
        try FileManager.default.moveItem(at: segment, to: dir.appendingPathComponent("x.jsonl"))
        let problem = try firstProblem(dir)
        #expect(problem.kind == .wrongHost)
        #expect(problem.line == 1)
    }

    @Test func missingDirectoryIsReported() throws {
        let problem = try firstProblem(makeTempDirectory().appendingPathComponent("nope"))
        #expect(problem.kind == .unreadable)
    }

    @Test func strictReadersAndTheWriterRefuseADamagedSegment() throws {
        var (dir, segment, lines) = try ledgerWithFiveEvents()
        lines[2] = lines[2].replacingOccurrences(of: "\"amount\":1250", with: "\"amount\":9999")
        try writeLines(lines, to: segment)
        let reader = LedgerReader(directory: dir)
        #expect(throws: LedgerError.damagedSegment(file: segment.path, line: 3, reason: LineDefect.hashMismatch.message)) {
            try reader.deliveredCount(grant: "grant-1")
        }
        #expect(throws: LedgerError.damagedSegment(file: segment.path, line: 3, reason: LineDefect.hashMismatch.message)) {
            try RoyaltyLedger(directory: dir, host: "h")
        }
        #expect(try segmentLines(segment) == lines)   // refusing changed nothing
    }

    @Test func segmentThatShrinksUnderAReaderIsReported() throws {
        let (dir, segment, lines) = try ledgerWithFiveEvents()
        let reader = LedgerReader(directory: dir)
        #expect(try reader.events().count == 5)
        try writeLines(Array(lines.prefix(3)), to: segment)
        #expect(throws: LedgerError.self) { try reader.events() }
    }
}
