import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TwinBase
import Testing
@testable import TwinLedger

/// Issue 13's ledger faults: one delivery per job id across hosts, duplicates that never stop
/// reads, and a segment damaged under a running writer.
@Suite struct FaultTests {
    @Test func sameEventIDOnTwoHostsIsOneEvent() throws {
        let dir = makeTempDirectory()
        let h1 = try openLedger(dir, host: "h1")
        let h2 = try openLedger(dir, host: "h2")
        let first = try h1.append(sampleDraft(job: "dup"))
        // h2 renders the same job (a re-dropped order) later: it gets h1's event, writes nothing.
        let second = try h2.append(sampleDraft(job: "dup", at: march5(plus: 600)))
        #expect(second == first && second.host == "h1")
        #expect(try segmentLines(h2.segmentURL).isEmpty)
        #expect(h2.localCount == 0)
        #expect(try LedgerReader(directory: dir).deliveredCount(grant: "grant-1") == 1)
        #expect(verify(dir, hosts: ["h1", "h2"]).isValid)
        // The same id for another delivery is refused on any host.
        var other = sampleDraft(job: "dup")
        other.licensee = "cos"
        #expect(throws: LedgerError.conflictingEvent(eventID: other.eventID, field: "licensee")) { try h2.append(other) }
        #expect(throws: LedgerError.conflictingEvent(eventID: other.eventID, field: "licensee")) { try h1.append(other) }
    }

    @Test func racingHostsDeliverEachIDOnce() async throws {
        let dir = makeTempDirectory()
        let ledgers = try ["h1", "h2", "h3"].map { try openLedger(dir, host: $0) }
        // Every host appends the same 30 job ids, in different orders, concurrently.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, ledger) in ledgers.enumerated() {
                group.addTask {
                    for i in 0..<30 { _ = try ledger.append(sampleDraft(job: "race-\((i + n * 10) % 30)")) }
                }
            }
            try await group.waitForAll()
        }
        let verification = verify(dir, hosts: ["h1", "h2", "h3"])
        #expect(verification.isValid, "\(verification.problems)")
        #expect(verification.events.count == 30)
        #expect(ledgers.map(\.localCount).reduce(0, +) == 30)
        #expect(try LedgerReader(directory: dir).events().count == 30)
    }

    /// A directory where hosts a and b both hold event `dup` (as two daemons of an older version,
    /// each deduplicating only its own segment, left it), each segment validly signed.
    private func ledgerWithCrossHostDuplicate() throws -> URL {
        let dir = makeTempDirectory()
        for host in ["a", "b"] {
            let own = makeTempDirectory()
            do {
                let ledger = try openLedger(own, host: host)
                _ = try ledger.append(sampleDraft(job: "only-\(host)"))
                _ = try ledger.append(sampleDraft(job: "dup"))
            }
            for name in ["\(host).jsonl", "\(host).jsonl.head"] {
                try FileManager.default.copyItem(at: own.appendingPathComponent(name), to: dir.appendingPathComponent(name))
            }
        }
        return dir
    }

    @Test func duplicatesAlreadyInTheLedgerNeverBreakReads() throws {
        let dir = try ledgerWithCrossHostDuplicate()
        let reader = LedgerReader(directory: dir)
        let dupID = sampleDraft(job: "dup").eventID
        #expect(try reader.event(id: dupID)?.host == "a")   // the first occurrence stands
        #expect(try reader.deliveredCount(grant: "grant-1") == 3)
        #expect(try reader.events().map(\.job).sorted() == ["dup", "only-a", "only-b"])
        #expect(try LedgerFollower(directory: dir, fromStart: true).poll().count == 3)
        let verification = verify(dir, hosts: ["a", "b"])
        #expect(verification.problems.map(\.kind) == [.duplicateEvent])
        #expect(verification.problems[0].file.hasSuffix("/b.jsonl") && verification.problems[0].line == 2)
        // Both writers still open and deliver: the duplicate is returned, new ids are appended once.
        let a = try openLedger(dir, host: "a")
        let b = try openLedger(dir, host: "b")
        #expect(try b.append(sampleDraft(job: "dup")).eventID == dupID)
        let next = try b.append(sampleDraft(job: "next"))
        #expect(next.seq == 3)
        #expect(try a.append(sampleDraft(job: "next")) == next)
        #expect(try reader.deliveredCount(grant: "grant-1") == 4)
    }

    @Test func segmentDeletedWhileOpenStopsAppending() throws {
        let dir = makeTempDirectory()
        let ledger = try openLedger(dir)
        try appendEvents(ledger, count: 2)
        try FileManager.default.removeItem(at: ledger.segmentURL)
        let refusal = LedgerError.damaged(file: ledger.segmentURL.path, reason: "the segment file was removed while open")
        #expect(throws: refusal) { try ledger.append(sampleDraft(job: "after-delete")) }
        #expect(throws: refusal) { try ledger.append(sampleDraft(job: "again")) }   // stays refused
        // Nothing was written to the unlinked file; a restart refuses the open and verify reports it.
        #expect(throws: LedgerError.self) { try openLedger(dir) }
        #expect(verify(dir).firstProblem?.kind == .segmentMissing)
    }

    @Test func segmentTruncatedExtendedOrReplacedWhileOpenStopsAppending() throws {
        for damage in ["truncate", "extend", "replace"] {
            let dir = makeTempDirectory()
            let ledger = try openLedger(dir)
            try appendEvents(ledger, count: 2)
            let bytes = try Data(contentsOf: ledger.segmentURL)
            switch damage {
            case "truncate": try bytes.prefix(bytes.count - 40).write(to: ledger.segmentURL)
            case "extend": try appendRaw("{}\n", to: ledger.segmentURL)
            default:   // same bytes, another inode (atomic write renames a new file into place)
                try bytes.write(to: ledger.segmentURL, options: .atomic)
            }
            let after = try Data(contentsOf: ledger.segmentURL)
            do {
                _ = try ledger.append(sampleDraft(job: "after-\(damage)"))
                Issue.record("appended after \(damage)")
            } catch let error as LedgerError {
                #expect("\(error)".contains("is damaged"), "\(damage): \(error)")
            }
            #expect(try Data(contentsOf: ledger.segmentURL) == after, "\(damage)")   // the writer added nothing
        }
    }
}

@Suite struct AppendLockTests {
    @Test func heldDirectoryLockFailsTheAppendTransientlyAndWritesNothing() throws {
        let dir = makeTempDirectory()
        let ledger = try openLedger(dir)
        ledger.appendLockTimeout = .milliseconds(200)
        let holder = open(dir.appendingPathComponent(".append.lock").path, O_RDWR)
        #expect(holder >= 0)
        defer { close(holder) }
        #expect(flock(holder, LOCK_EX) == 0)
        do {
            _ = try ledger.append(sampleDraft())
            Issue.record("appended without the directory lock")
        } catch let error as LedgerError {
            #expect(error.isTransient, "\(error)")
        }
        #expect(try segmentLines(ledger.segmentURL).isEmpty)
        flock(holder, LOCK_UN)
        #expect(try ledger.append(sampleDraft()).seq == 1)   // works again once the lock is free
    }
}

@Suite struct AppendLockFileTests {
    @Test func deletedLockFileIsRecreatedAndStillSerialisesHosts() async throws {
        let dir = makeTempDirectory()
        let h1 = try openLedger(dir, host: "h1")
        _ = try h1.append(sampleDraft(job: "before"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent(".append.lock"))
        // h1 still has the unlinked lock file open; h2 creates a new one. They must lock the same file.
        let h2 = try openLedger(dir, host: "h2")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for ledger in [h1, h2] {
                group.addTask { for i in 0..<40 { _ = try ledger.append(sampleDraft(job: "after-\(i)")) } }
            }
            try await group.waitForAll()
        }
        #expect(h1.localCount + h2.localCount == 41)
        #expect(verify(dir, hosts: ["h1", "h2"]).isValid)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(".append.lock").path))
    }

    @Test func segmentReplacedBySymlinkIsNotFollowedAtOpen() throws {
        let dir = makeTempDirectory()
        let elsewhere = makeTempDirectory().appendingPathComponent("target.jsonl")
        try Data().write(to: elsewhere)
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("h.jsonl"), withDestinationURL: elsewhere)
        #expect(throws: LedgerError.self) { try openLedger(dir) }
    }
}
