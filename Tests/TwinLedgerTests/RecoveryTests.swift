import Foundation
import TwinBase
import Testing
@testable import TwinLedger

/// Opening a segment after a crash: only what lies after the signed head may be discarded.
@Suite struct RecoveryTests {
    /// A closed ledger in a fresh directory with `count` events for host `h`.
    private func closedLedger(count: Int) throws -> (dir: URL, segment: URL, head: URL, events: [RoyaltyEvent]) {
        let dir = makeTempDirectory()
        let ledger = try openLedger(dir)
        let events = try appendEvents(ledger, count: count)
        return (dir, ledger.segmentURL, ledger.headURL, events)
    }

    @Test func tornTailIsMovedAsideAndTheChainContinues() throws {
        let (dir, segment, _, events) = try closedLedger(count: 3)
        let goodSize = try Data(contentsOf: segment).count
        // What kill -9 in the middle of write(2) can leave: the start of a fourth line.
        let torn = String(CanonicalLine.line(of: events[0]).prefix(57))
        try appendRaw(torn, to: segment)
        #expect(verify(dir).firstProblem?.kind == .truncatedLine)
        // Readers skip the unterminated line (a writer may still be finishing it).
        #expect(try LedgerReader(directory: dir).events().count == 3)

        let ledger = try openLedger(dir)
        let recovery = try #require(ledger.recovery)
        #expect(recovery.offset == goodSize)
        #expect(recovery.byteCount == 57)
        #expect(recovery.tornFile.lastPathComponent == "h.jsonl.torn")
        #expect(try Data(contentsOf: segment).count == goodSize)
        let saved = try String(contentsOf: recovery.tornFile, encoding: .utf8)
        #expect(saved.contains("\"segment_offset\":\(goodSize)"))
        #expect(saved.contains(Data(torn.utf8).base64EncodedString()))

        let next = try ledger.append(sampleDraft(job: "job-3"))
        #expect(next.seq == 4 && next.prevHash == events[2].hash)
        let verification = verify(dir)
        #expect(verification.isValid, "\(verification.problems)")
        #expect(verification.tornFiles == [recovery.tornFile.path])
    }

    @Test func lineFsyncedBeforeTheHeadWasRewrittenIsAdopted() throws {
        // A crash after the line's fsync and before the head's rename: the line is complete and
        // signed, the head one event behind. The event is kept, and the head caught up.
        let dir = makeTempDirectory()
        let third: RoyaltyEvent
        do {
            let ledger = try openLedger(dir)
            try appendEvents(ledger, count: 2)
            let oldHead = try Data(contentsOf: ledger.headURL)
            third = try ledger.append(sampleDraft(job: "third"))
            try oldHead.write(to: ledger.headURL)
        }
        let ledger = try openLedger(dir)
        #expect(ledger.recovery == nil)
        #expect(ledger.localCount == 3)
        #expect(try ledger.append(sampleDraft(job: "third", at: march5(plus: 50))) == third)
        let verification = verify(dir)
        #expect(verification.isValid, "\(verification.problems)")
        #expect(verification.segments.first?.signedHead?.seq == 3)
    }

    @Test func truncationIntoACommittedEventRefusesTheOpen() throws {
        for cut in [1, 40] {   // the last newline only, or 40 bytes of the last committed line
            let (dir, segment, _, _) = try closedLedger(count: 3)
            var bytes = try Data(contentsOf: segment)
            bytes.removeLast(cut)
            try bytes.write(to: segment)
            do {
                _ = try openLedger(dir)
                Issue.record("a segment cut into a committed event was opened (cut \(cut))")
            } catch let error as LedgerError {
                #expect("\(error)".hasPrefix("\(segment.path):3: "))
                #expect("\(error)".contains("shorter than its signed head"))
            }
            #expect(try Data(contentsOf: segment) == bytes)   // nothing moved aside
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("h.jsonl.torn").path))
            #expect(verify(dir).problems.contains { $0.kind == .segmentTruncated && $0.file == segment.path })
        }
    }

    @Test func deletedLastLinesRefuseTheOpen() throws {
        let (dir, segment, _, _) = try closedLedger(count: 5)
        try writeLines(Array(try segmentLines(segment).prefix(3)), to: segment)
        #expect(throws: LedgerError.self) { try openLedger(dir) }
        let problem = try #require(verify(dir).firstProblem)
        #expect(problem.kind == .segmentTruncated && problem.file == segment.path && problem.line == 4)
        #expect(problem.message.contains("commits 5 events"))
    }

    @Test func missingSegmentOrHeadRefusesTheOpen() throws {
        let (dir, segment, head, _) = try closedLedger(count: 2)
        let saved = try Data(contentsOf: segment)
        try FileManager.default.removeItem(at: segment)
        #expect(throws: LedgerError.damagedSegment(file: segment.path, line: 0,
                                                   reason: "segment missing: its signed head commits 2 events")) {
            try openLedger(dir)
        }
        #expect(verify(dir).firstProblem?.kind == .segmentMissing)
        try saved.write(to: segment)
        try FileManager.default.removeItem(at: head)
        #expect(throws: LedgerError.self) { try openLedger(dir) }
        #expect(verify(dir).firstProblem?.kind == .headMissing)
        #expect(!FileManager.default.fileExists(atPath: head.path))   // refusing wrote no new head
    }

    @Test func forgedLineAfterTheHeadRefusesTheOpen() throws {
        let (dir, segment, _, events) = try closedLedger(count: 2)
        // Chained correctly, but signed with a key that is not the host's.
        let forged = try CanonicalLine.sealed(sampleDraft(job: "forged").event().with(host: "h", seq: 3, prevHash: events[1].hash),
                                              key: hostKey("attacker"))
        try appendRaw(CanonicalLine.line(of: forged) + "\n", to: segment)
        do {
            _ = try openLedger(dir)
            Issue.record("a forged line after the head was adopted")
        } catch let error as LedgerError {
            #expect("\(error)".hasPrefix("\(segment.path):3: "))
            #expect("\(error)".contains("signature"))
        }
        let problem = try #require(verify(dir).firstProblem)
        #expect(problem.kind == .badSignature && problem.line == 3)
    }

    @Test func forgedHeadRefusesTheOpen() throws {
        let (dir, _, head, events) = try closedLedger(count: 2)
        let fake = try SignedHead.signed(host: "h", seq: 2, hash: events[1].hash, size: Int64(try Data(contentsOf: dir.appendingPathComponent("h.jsonl")).count),
                                         time: march5(), key: hostKey("attacker"))
        try Data(fake.fileBytes).write(to: head)
        #expect(throws: LedgerError.self) { try openLedger(dir) }
        #expect(verify(dir).firstProblem?.kind == .headInvalid)
    }

    @Test func cleanSegmentNeedsNoRecovery() throws {
        let (dir, _, _, _) = try closedLedger(count: 2)
        let ledger = try openLedger(dir)
        #expect(ledger.recovery == nil)
        #expect(ledger.localCount == 2)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("h.jsonl.torn").path))
    }

    @Test func rotatedKeyIsAcceptedAtOpenWhenListed() throws {
        let (dir, _, _, _) = try closedLedger(count: 2)
        let newKey = hostKey("h-rotated")
        #expect(throws: LedgerError.self) { try RoyaltyLedger(directory: dir, host: "h", signingKey: newKey) }
        let ledger = try RoyaltyLedger(directory: dir, host: "h", signingKey: newKey, previousKeys: [hostKey("h").publicKey])
        _ = try ledger.append(sampleDraft(job: "after-rotation"))
        let keys = ["h": [hostKey("h").publicKey, newKey.publicKey]]
        #expect(LedgerReader(directory: dir).verify(hostKeys: keys).isValid)
        #expect(!verify(dir).isValid)   // the old key alone does not cover the new line and head
    }
}
