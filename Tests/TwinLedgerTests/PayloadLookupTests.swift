import Foundation
import TwinBase
import Testing
@testable import TwinLedger

/// `LedgerReader.events(watermarkPayload:)`: finds an event in any host's segment, and keeps
/// answering from the intact lines of a damaged ledger (where the strict lookup refuses).
@Suite struct PayloadLookupTests {
    @Test func findsTheEventInAnyHostSegment() throws {
        let dir = makeTempDirectory()
        let a = try openLedger(dir, host: "host-a")
        let b = try openLedger(dir, host: "host-b")
        try appendEvents(a, count: 3, prefix: "a")
        let wanted = try appendEvents(b, count: 4, prefix: "b")[2]
        let lookup = try LedgerReader(directory: dir).events(watermarkPayload: wanted.watermarkPayload)
        #expect(lookup.segmentCount == 2)
        #expect(lookup.eventCount == 7)
        #expect(lookup.skippedLines == 0)
        #expect(lookup.matches.count == 1)
        let match = try #require(lookup.matches.first)
        #expect(match.event == wanted)
        #expect(match.event.job == "b-2")
        #expect(match.file == b.segmentURL.path)
        #expect(match.line == 3)
        #expect(try LedgerReader(directory: dir).event(watermarkPayload: wanted.watermarkPayload) == wanted)
    }

    @Test func unknownPayloadMatchesNothing() throws {
        let dir = makeTempDirectory()
        let ledger = try openLedger(dir, host: "h")
        let events = try appendEvents(ledger, count: 3)
        let unknown: UInt64 = 0x0123_4567_89ab_cdef
        #expect(!events.contains { $0.watermarkPayload == unknown })
        let lookup = try LedgerReader(directory: dir).events(watermarkPayload: unknown)
        #expect(lookup.matches.isEmpty)
        #expect(lookup.eventCount == 3)
    }

    @Test func damagedLinesAreSkippedNotFatal() throws {
        let dir = makeTempDirectory()
        let segment: URL
        let events: [RoyaltyEvent]
        do {
            let ledger = try openLedger(dir, host: "h")
            events = try appendEvents(ledger, count: 4)
            segment = ledger.segmentURL
        }
        var lines = try segmentLines(segment)
        lines[1] = lines[1].replacingOccurrences(of: "\"amount\":1250", with: "\"amount\":9999")
        try writeLines(lines, to: segment)
        try FileHandle(forWritingTo: segment).seekToEndAndWrite(Data("{\"event_id\":".utf8))
        // The strict reader refuses the whole ledger ...
        #expect(throws: LedgerError.self) { try LedgerReader(directory: dir).event(watermarkPayload: events[3].watermarkPayload) }
        // ... the tolerant lookup still finds an intact line, and does not trust the edited one.
        let reader = LedgerReader(directory: dir)
        let intact = try reader.events(watermarkPayload: events[3].watermarkPayload)
        #expect(intact.matches.map(\.line) == [4])
        #expect(intact.skippedLines == 2)
        #expect(intact.eventCount == 3)
        #expect(try reader.events(watermarkPayload: events[1].watermarkPayload).matches.isEmpty)
    }

    @Test func missingDirectoryThrows() throws {
        let dir = makeTempDirectory().appendingPathComponent("absent")
        #expect(throws: LedgerError.self) { try LedgerReader(directory: dir).events(watermarkPayload: 1) }
    }
}

private extension FileHandle {
    func seekToEndAndWrite(_ data: Data) throws {
        try seekToEnd()
        try write(contentsOf: data)
        try close()
    }
}
