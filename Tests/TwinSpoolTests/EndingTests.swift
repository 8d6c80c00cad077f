// Role: the endings of a claim: fail, reject, release, retry, deferJob; the fencing check; the
// lock released by every ending; error classification.
// Reference: notqmail `INTERNALS.md` (reason first, then the committing rename).
// Failure modes tested: attempts counted only for real failures, not-before honoured across a
// restart, queue place and priority kept by a deferral, endings on a job another process took
// over, a reason that cannot be written.

import Foundation
import Testing
import TwinBase
@testable import TwinSpool
#if canImport(Glibc)
import Glibc
#endif

@Suite struct EndingTests {
    @Test func failAndRejectWriteTheirReasons() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("a.json")
        try temp.drop("b.json")
        let a = try claimOne(spool)
        let reason = try spool.fail(a, code: "render.failed", message: "the renderer stopped")
        #expect(reason.code == "render.failed" && reason.attempts == 1 && reason.host == "h1")
        #expect(try temp.list("failed") == ["a.json", "a.reason.json"])
        let written = try temp.reason("failed", "a")
        #expect(written.code == reason.code && written.message == reason.message && written.attempts == 1 && written.job == "a")
        #expect(!a.isHeld)
        let b = try claimOne(spool)
        try spool.reject(b, code: "consent.expired", message: "the grant expired")
        #expect(try temp.reason("rejected", "b").code == "consent.expired")
        #expect(try temp.list("active").isEmpty)
    }

    @Test func releaseDoesNotCountTheAttemptAndRetryDoes() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("r.json")
        try spool.release(try claimOne(spool))
        #expect(try temp.list("incoming") == ["r.json"])
        let second = try claimOne(spool)
        #expect(second.attempt == 1)
        #expect(try spool.retry(second, maxAttempts: 2, code: "render.failed", message: "x") == nil)
        #expect(try temp.list("incoming") == ["r~1.json"])
        let third = try claimOne(spool)
        #expect(third.attempt == 2)
        let reason = try #require(try spool.retry(third, maxAttempts: 2, code: "render.failed", message: "x"))
        #expect(reason.message.contains("attempt 2 of 2"))
        #expect(try temp.list("failed") == ["r.json", "r.reason.json"])
    }

    @Test func deferKeepsAttemptsAndHonoursNotBeforeAcrossRestart() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("d.json")
        let arrival = try temp.mtime("incoming", "d.json")
        let job = try claimOne(spool)
        let notBefore = temp.clock.now.addingTimeInterval(60)
        let reason = try spool.deferJob(job, code: "spool.disk_full", message: "no space", notBefore: notBefore)
        #expect(reason.attempts == 0 && !job.isHeld)
        let name = try #require(try temp.list("incoming").first)
        #expect(name == "d~0~defer1~until\(Int64(notBefore.timeIntervalSince1970.rounded(.up))).json")
        #expect(try spool.pending().isEmpty)
        #expect(try spool.claimNext() == nil)
        #expect(spool.counts()["deferred"] == 1 && spool.counts()["incoming"] == 1)
        #expect(try spool.knows(id: "d"))
        #expect(try spool.nextDeferredTime() == Date(timeIntervalSince1970: notBefore.timeIntervalSince1970.rounded(.up)))

        // A restarted daemon (a fresh instance) honours it too; after the time it is claimable.
        let restarted = try temp.spool(pid: 999)
        #expect(try restarted.claimNext() == nil)
        temp.clock.advance(61)
        let again = try claimOne(restarted)
        #expect(again.attempt == 1 && again.deferrals == 1)
        #expect(again.arrival == arrival)
        #expect(try temp.list("active") == ["d~1~h1~999~defer1.json"])

        // A second deferral grows the count; a counted attempt resets it.
        try restarted.deferJob(again, code: "c", message: "m", notBefore: temp.clock.now)
        temp.clock.advance(1)
        let third = try claimOne(restarted)
        #expect(third.deferrals == 2 && third.attempt == 1)
        _ = try restarted.retry(third, maxAttempts: 3, code: "render.failed", message: "m")
        #expect(try temp.list("incoming") == ["d~1.json"])
    }

    @Test func aDeferredJobKeepsItsPlaceInTheQueue() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        // Arrival times are set outright: a file's fresh mtime can be a fine-grained stamp a
        // little ahead of the coarse clock `time()` reads, so "now + 1" is not reliably later.
        try temp.drop("first.json", #"{"priority": 5}"#)
        var earlier = [timespec(tv_sec: time(nil) - 100, tv_nsec: 0), timespec(tv_sec: time(nil) - 100, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, temp.path("incoming", "first.json"), &earlier, 0) == 0)
        let first = try claimOne(spool)
        try temp.drop("second.json", #"{"priority": 5}"#)
        var later = [timespec(tv_sec: time(nil) - 50, tv_nsec: 0), timespec(tv_sec: time(nil) - 50, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, temp.path("incoming", "second.json"), &later, 0) == 0)
        try spool.deferJob(first, code: "c", message: "m", notBefore: temp.clock.now.addingTimeInterval(5))
        #expect(try spool.pending().compactMap(\.id) == ["second"])
        temp.clock.advance(10)
        #expect(try spool.pending().compactMap(\.id) == ["first", "second"])
    }

    @Test func anEndingRefusesAFileAnotherProcessTookOver() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("f.json")
        let job = try claimOne(spool)
        // Someone moved the claimed file away and put another in its place.
        #expect(rename(job.activeURL.path, temp.path("tmp", "moved.json")) == 0)
        try temp.drop(job.activeURL.lastPathComponent, "{}", in: "active")
        #expect(throws: SpoolError.self) { try spool.complete(job) }
        #expect(try temp.list("active") == [job.activeURL.lastPathComponent])
        #expect(try temp.list("done").isEmpty)
    }

    @Test func aReasonThatCannotBeWrittenThrowsAClassifiedErrorAndLeavesTheJob() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("g.json")
        let job = try claimOne(spool)
        try FileManager.default.removeItem(atPath: temp.path("failed"))
        let error = try #require(throws: SpoolError.self) { try spool.fail(job, code: "x", message: "y") }
        #expect(error.systemCall?.code == ENOENT)
        #expect(!error.isTransient)
        #expect(error.description.contains("cannot write the reason"))
        #expect(job.isHeld)
        #expect(try temp.list("active").count == 1)
        // A full disk is classified as transient.
        #expect(SpoolError(SystemCallError("write", "/spool/rejected/x", errno: ENOSPC)).isTransient)
        #expect(SpoolError(SystemCallError("write", "/spool/x", errno: ENOSPC)).description.contains("No space left on device"))
        #expect(!SpoolError("a job with id 'x' is already in the spool").isTransient)
    }

    @Test func aDroppedClaimReleasesItsLockSoTheJobIsRecoverable() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("lost.json")
        do {
            let job = try claimOne(spool)
            #expect(job.isHeld)
        }
        let recovery = try temp.spool(pid: 77).recover(maxAttempts: 3)
        #expect(recovery.requeued.map(\.id) == ["lost"])
    }
}
