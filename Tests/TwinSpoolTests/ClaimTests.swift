// Role: the claim transition (incoming → active) and its guarantees: exactly once under a race
// between two spool instances, one job id in flight at a time, the redelivery policy.
// Reference: Postfix `qmgr_active.c` (ENOENT on claim means someone else won).
// Failure modes tested: lost races, duplicate ids (`dup.json` + `dup~1.json`, a re-drop while
// active), re-drops after done with and without redelivery.

import Foundation
import Testing
import TwinBase
@testable import TwinSpool
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ClaimTests {
    @Test func submitClaimCompleteMovesThroughEveryDirectory() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try spool.submit(Data(#"{"priority": 3}"#.utf8), id: "job-1")
        #expect(try temp.list("incoming") == ["job-1.json"])
        #expect(try temp.list("tmp").isEmpty)
        #expect(try spool.pending().map(\.priority) == [3])

        let job = try claimOne(spool)
        #expect(job.id == "job-1" && job.attempt == 1 && job.deferrals == 0 && job.isHeld)
        #expect(try temp.list("active") == ["job-1~1~h1~4242.json"])
        #expect(try temp.list("incoming").isEmpty)
        #expect(String(decoding: job.data, as: UTF8.self) == #"{"priority": 3}"#)

        try spool.complete(job, result: Data("{}".utf8))
        #expect(!job.isHeld)
        #expect(try temp.list("active").isEmpty)
        #expect(try temp.list("done") == ["job-1.json", "job-1.result.json"])
        #expect(spool.counts()["done"] == 1)
        #expect(throws: SpoolError.self) { try spool.complete(job) }
    }

    @Test func claimOrderIsPriorityThenArrival() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("low.json", #"{"priority": 1}"#)
        try temp.drop("high.json", #"{"priority": 9}"#)
        try temp.drop("old.json", #"{"priority": 1}"#)
        var times = [timespec(tv_sec: 1_000, tv_nsec: 0), timespec(tv_sec: 1_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, temp.path("incoming", "old.json"), &times, 0) == 0)
        #expect(try spool.pending().compactMap(\.id) == ["high", "old", "low"])
    }

    @Test(arguments: 0..<3)
    func twoSpoolsRacingClaimEachJobExactlyOnce(round: Int) throws {
        let temp = try TempSpool()
        let first = try temp.spool(pid: 101)
        let second = try temp.spool(host: "h2", pid: 202)
        for n in 0..<30 { try temp.drop("job\(n).json") }
        // Thirty ids dropped twice, as a fresh drop and as a requeued attempt.
        for n in 0..<30 { try temp.drop("dup\(n).json"); try temp.drop("dup\(n)~1.json") }
        let claimed = Locked<[String]>([])
        let held = Locked<Set<String>>([])
        let overlaps = Locked<[String]>([])
        let rejected = Locked<[JobReason]>([])
        let errors = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { worker in
            let spool = worker % 2 == 0 ? first : second
            do {
                while let job = try spool.claimNext(onRejected: { reason in rejected.mutate { $0.append(reason) } }) {
                    held.mutate { if !$0.insert(job.id).inserted { overlaps.mutate { $0.append(job.id) } } }
                    claimed.mutate { $0.append(job.id) }
                    held.mutate { $0.remove(job.id) }
                    try spool.complete(job)
                }
            } catch {
                errors.mutate { $0.append("\(error)") }
            }
        }
        #expect(errors.value.isEmpty)
        #expect(overlaps.value.isEmpty)
        #expect(claimed.value.count == 60)
        #expect(Set(claimed.value).count == 60)
        #expect(rejected.value.count == 30)
        #expect(rejected.value.allSatisfy { $0.code == "spool.duplicate_id" })
        #expect(try temp.list("incoming").isEmpty && temp.list("active").isEmpty)
        #expect(try temp.list("done").count == 60)
    }

    @Test func theClaimCheckAndRenameHappenUnderTheSpoolLock() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("w.json")
        // Another process (or host) is inside its claim: it holds state/claim.lock.
        let fd = open(temp.path("state", "claim.lock"), O_RDWR | O_CREAT, 0o600)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX) == 0)
        let done = DispatchSemaphore(value: 0)
        let outcome = Locked<String?>(nil)
        Thread.detachNewThread {
            let job = try? spool.claimNext()
            outcome.mutate { $0 = job?.id }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 0.3) == .timedOut)
        #expect(try temp.list("active").isEmpty && temp.list("incoming") == ["w.json"])
        #expect(flock(fd, LOCK_UN) == 0)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(outcome.value == "w")
    }

    @Test func siblingsWithTheSameIDAreRejectedAtClaim() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("dup.json")
        try temp.drop("dup~1.json")
        var rejected: [JobReason] = []
        let job = try claimOne(spool) { rejected.append($0) }
        #expect(job.id == "dup")
        #expect(rejected.map(\.code) == ["spool.duplicate_id"])
        #expect(try temp.list("incoming").isEmpty)
        #expect(try temp.list("rejected") == ["dup.json", "dup.reason.json"])
        #expect(try temp.reason("rejected", "dup").message.contains("already in flight"))
        #expect(try spool.claimNext() == nil)
    }

    @Test func reDropWhileActiveIsRejectedAsDuplicate() throws {
        let temp = try TempSpool()
        let first = try temp.spool(pid: 1)
        let other = try temp.spool(host: "h2", pid: 2)
        try temp.drop("dup.json")
        let job = try claimOne(first)
        try temp.drop("dup.json")
        var rejected: [JobReason] = []
        #expect(try other.claimNext { rejected.append($0) } == nil)
        #expect(rejected.map(\.code) == ["spool.duplicate_id"])
        #expect(rejected.first?.message.contains("active/dup~1~h1~1.json") == true)
        #expect(job.isHeld)
        #expect(try temp.list("active") == ["dup~1~h1~1.json"])
    }

    @Test func reDropAfterDoneIsClaimedAgainByDefault() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("again.json")
        try spool.complete(try claimOne(spool))
        try temp.drop("again.json")
        let second = try claimOne(spool)
        #expect(second.id == "again" && second.attempt == 1)
        try spool.complete(second)
        #expect(try temp.list("done") == ["again.2.json", "again.json"])
    }

    @Test func reDropAfterEndIsRejectedWhenRedeliveryIsOff() throws {
        let temp = try TempSpool()
        let spool = try temp.spool(redeliver: false)
        try temp.drop("once.json")
        try spool.fail(try claimOne(spool), code: "render.failed", message: "boom")
        try temp.drop("once.json")
        var rejected: [JobReason] = []
        #expect(try spool.claimNext { rejected.append($0) } == nil)
        #expect(rejected.map(\.code) == ["spool.already_ended"])
        #expect(rejected.first?.message.contains("failed/once.json") == true)
    }

    @Test func aLockedIncomingFileIsLostNotClaimed() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("busy.json")
        let fd = open(temp.path("incoming", "busy.json"), O_RDONLY)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX) == 0)
        let pending = try #require(try spool.pending().first)
        guard case .lost = try spool.claim(pending) else {
            Issue.record("claimed a file another process holds")
            return
        }
        #expect(try temp.list("incoming") == ["busy.json"])
    }

    @Test func aWriterSpoolCannotClaim() throws {
        let temp = try TempSpool()
        _ = try temp.spool()
        let writer = try Spool(root: temp.root, host: "h1", access: .writer)
        try writer.submit(Data("{}".utf8), id: "w")
        #expect(throws: SpoolError.self) { try writer.claimNext() }
        #expect(throws: SpoolError.self) { try writer.submit(Data("{}".utf8), id: "w") }
    }
}

/// A value behind a lock, for collecting results from threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func mutate(_ body: (inout Value) -> Void) {
        lock.lock()
        body(&stored)
        lock.unlock()
    }
}
