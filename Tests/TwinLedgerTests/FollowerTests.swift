import Foundation
import TwinBase
import Testing
@testable import TwinLedger

@Suite struct FollowerTests {
    @Test func pollReturnsOnlyNewCompleteEvents() throws {
        let dir = makeTempDirectory()
        let a = try openLedger(dir, host: "a")
        try appendEvents(a, count: 2, prefix: "old")
        let follower = try LedgerFollower(directory: dir)
        #expect(try follower.poll().isEmpty)
        let b = try openLedger(dir, host: "b")
        let new = try appendEvents(b, count: 2, prefix: "b") + appendEvents(a, count: 1, prefix: "new")
        #expect(try follower.poll().map(\.eventID) == [new[2], new[0], new[1]].map(\.eventID))
        #expect(try follower.poll().isEmpty)
        #expect(try LedgerFollower(directory: dir, fromStart: true).poll().count == 5)
    }

    @Test func lineBeingWrittenIsReportedOnceComplete() throws {
        let dir = makeTempDirectory()
        let source = try openLedger(makeTempDirectory(), host: "h")
        let event = try source.append(sampleDraft())
        let segment = dir.appendingPathComponent("h.jsonl")
        let line = CanonicalLine.line(of: event) + "\n"
        let follower = try LedgerFollower(directory: dir)
        try String(line.prefix(30)).write(to: segment, atomically: false, encoding: .utf8)
        #expect(try follower.poll().isEmpty)
        try line.write(to: segment, atomically: false, encoding: .utf8)
        #expect(try follower.poll() == [event])
    }

    @Test func streamYieldsAppendedEvents() async throws {
        let dir = makeTempDirectory()
        let ledger = try openLedger(dir, host: "h")
        let follower = try LedgerFollower(directory: dir)
        let appended = try appendEvents(ledger, count: 3)
        var seen = [RoyaltyEvent]()
        for try await event in follower.events(every: .milliseconds(10)) {
            seen.append(event)
            if seen.count == 3 { break }
        }
        #expect(seen == appended)
    }
}
