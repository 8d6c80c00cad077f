import Foundation
import TwinBase
import Testing
@testable import TwinLedger

@Suite struct RecoveryTests {
    private func appendRaw(_ text: String, to url: URL) throws {
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    @Test func tornTailIsMovedAsideAndTheChainContinues() throws {
        let dir = makeTempDirectory()
        let segment: URL
        let events: [RoyaltyEvent]
        do {
            let ledger = try RoyaltyLedger(directory: dir, host: "h")
            events = try appendEvents(ledger, count: 3)
            segment = ledger.segmentURL
        }
        let goodSize = try Data(contentsOf: segment).count
        // What kill -9 in the middle of write(2) can leave: the start of a fourth line.
        let torn = String(CanonicalLine.line(of: events[0]).prefix(57))
        try appendRaw(torn, to: segment)
        #expect(LedgerReader(directory: dir).verify().firstProblem?.kind == .truncatedLine)
        // Readers skip the unterminated line (a writer may still be finishing it).
        #expect(try LedgerReader(directory: dir).events().count == 3)

        let ledger = try RoyaltyLedger(directory: dir, host: "h")
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
        let verification = ledger.reader.verify()
        #expect(verification.isValid, "\(verification.problems)")
        #expect(verification.tornFiles == [recovery.tornFile.path])
    }

    @Test func completeLineMissingOnlyItsNewlineIsAlsoTorn() throws {
        let dir = makeTempDirectory()
        do {
            let ledger = try RoyaltyLedger(directory: dir, host: "h")
            try appendEvents(ledger, count: 2)
        }
        let segment = dir.appendingPathComponent("h.jsonl")
        var text = try String(contentsOf: segment, encoding: .utf8)
        text.removeLast()
        try text.write(to: segment, atomically: false, encoding: .utf8)
        let ledger = try RoyaltyLedger(directory: dir, host: "h")
        #expect(ledger.recovery != nil)
        #expect(ledger.localCount == 1)
        // The un-acknowledged event is appended again by the restarted daemon, with the same id.
        let again = try ledger.append(sampleDraft(job: "job-1", at: march5(plus: 1)))
        #expect(again.seq == 2)
        #expect(ledger.reader.verify().isValid)
    }

    @Test func cleanSegmentNeedsNoRecovery() throws {
        let dir = makeTempDirectory()
        do { try appendEvents(try RoyaltyLedger(directory: dir, host: "h"), count: 2) }
        let ledger = try RoyaltyLedger(directory: dir, host: "h")
        #expect(ledger.recovery == nil)
        #expect(ledger.localCount == 2)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("h.jsonl.torn").path))
    }
}
