// Role: recovery after crashes at each point of the state machine, liveness by lock (not pid),
// tmp/ cleanup, and the staged-image names the spool owns.
// Reference: river's rescuer; notqmail `INTERNALS.md` crash analysis.
// Failure modes tested: a dead owner (lock dropped) vs a live one, a live unrelated process
// whose pid is in the name, other hosts, max attempts, a crash between reason and rename, a
// file in active/ that is not a job, stale tmp/ files, staged images of dead claims.

import Foundation
import Testing
import TwinBase
@testable import TwinSpool
#if canImport(Glibc)
import Glibc
#endif

@Suite struct RecoveryTests {
    @Test func aDeadOwnersJobIsRequeuedWithTheAttemptCounted() throws {
        let temp = try TempSpool()
        let owner = try temp.spool(pid: 31)
        try temp.drop("x.json")
        crash(try claimOne(owner))
        let recovery = try temp.spool(pid: 32).recover(maxAttempts: 3)
        #expect(recovery.requeued.map(\.id) == ["x"] && recovery.requeued.map(\.attempts) == [1])
        #expect(try temp.list("incoming") == ["x~1.json"] && temp.list("active").isEmpty)
    }

    @Test func aLiveOwnersJobIsLeftAloneOnThisAndOtherHosts() throws {
        let temp = try TempSpool()
        let owner = try temp.spool(pid: 41)
        try temp.drop("live.json")
        let job = try claimOne(owner)
        // Same process (another worker's periodic check), another process, another host.
        for checker in [owner, try temp.spool(pid: 42), try temp.spool(host: "h2", pid: 41)] {
            let recovery = try checker.recover(maxAttempts: 3)
            #expect(recovery.requeued.isEmpty && recovery.failed.isEmpty)
        }
        #expect(try temp.list("active") == ["live~1~h1~41.json"])
        try owner.complete(job)
    }

    @Test func aReusedPidOfALiveProcessDoesNotBlockRecovery() throws {
        // The name carries pid 1 (init) and this test's own pid: both alive, neither holds the lock.
        for pid in [Int32(1), getpid()] {
            let temp = try TempSpool()
            let owner = try temp.spool(pid: pid)
            try temp.drop("reuse\(pid).json")
            crash(try claimOne(owner))
            #expect(kill(pid, 0) == 0)
            let recovery = try temp.spool(pid: pid).recover(maxAttempts: 3)
            #expect(recovery.requeued.map(\.id) == ["reuse\(pid)"])
        }
    }

    @Test func otherHostsDeadClaimsAreRecoveredUnlessDisabled() throws {
        let temp = try TempSpool()
        _ = try temp.spool()
        try temp.drop("remote~2~h9~5.json", "{}", in: "active")
        #expect(try temp.spool(otherHosts: false).recover(maxAttempts: 5).requeued.isEmpty)
        let recovery = try temp.spool().recover(maxAttempts: 5)
        #expect(recovery.requeued.map(\.attempts) == [2])
        #expect(try temp.list("incoming") == ["remote~2.json"])
    }

    @Test func afterMaxAttemptsRecoveryFailsTheJob() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("tired~3~h1~5.json", "{}", in: "active")
        let recovery = try spool.recover(maxAttempts: 3)
        #expect(recovery.failed.map(\.code) == ["job.max_attempts"])
        #expect(try temp.list("failed") == ["tired.json", "tired.reason.json"])
    }

    @Test func aCrashBetweenReasonAndRenameIsRedoneCleanly() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        // The dead process had written failed/c.reason.json but not moved the job.
        try temp.drop("c~1~h1~5.json", "{}", in: "active")
        try temp.drop("c.reason.json", "{}", in: "failed")
        #expect(try spool.recover(maxAttempts: 3).requeued.map(\.id) == ["c"])
        let job = try claimOne(spool)
        #expect(job.attempt == 2)
        try spool.fail(job, code: "render.failed", message: "again")
        #expect(try temp.list("failed") == ["c.json", "c.reason.json"])
        #expect(try temp.reason("failed", "c").code == "render.failed")
    }

    @Test func aCrashBetweenARejectionsReasonAndItsRenameIsRedone() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("bad~name~here.json")
        let stem = RawName("bad~name~here.json").quarantineStem
        try temp.drop("\(stem).reason.json", "{}", in: "rejected")
        var rejected: [JobReason] = []
        #expect(try spool.claimNext { rejected.append($0) } == nil)
        #expect(rejected.map(\.code) == ["job.invalid_name"])
        #expect(try temp.list("rejected") == ["\(stem).json", "\(stem).reason.json"])
        #expect(try temp.reason("rejected", stem).code == "job.invalid_name")
    }

    @Test func aCrashAfterTheClaimRenameLeavesARecoverableFile() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        // Renamed into active/ by a process that died before reading it: no lock, attempt 1.
        try temp.drop("early~1~h1~7.json", "{}", in: "active")
        #expect(try spool.recover(maxAttempts: 1).failed.map(\.job) == ["early"])
    }

    @Test func entriesInActiveThatAreNotJobsAreMovedAside() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("garbage.json", "{}", in: "active")
        #expect(symlink("/etc/passwd", temp.path("active", "link~1~h1~5.json")) == 0)
        let recovery = try spool.recover(maxAttempts: 3)
        #expect(recovery.rejected.map(\.code) == ["spool.invalid_active_entry", "spool.invalid_active_entry"])
        #expect(try temp.list("active").isEmpty)
        #expect(FileManager.default.fileExists(atPath: "/etc/passwd"))
    }

    @Test func staleTemporaryFilesAreRemovedByAge() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("staging.json", "{}", in: "tmp")
        try temp.drop(".x.json.1.2.tmp", "{}", in: "done")
        try temp.drop("x.json", "{}", in: "done")
        // A copied, ancient mtime does not make a fresh file stale (ctime is now).
        var ancient = [timespec(tv_sec: 10, tv_nsec: 0), timespec(tv_sec: 10, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, temp.path("tmp", "staging.json"), &ancient, 0) == 0)
        #expect(try spool.cleanTemporaryFiles(olderThan: 3600) == 0)
        temp.clock.advance(7200)
        #expect(try spool.cleanTemporaryFiles(olderThan: 3600) == 2)
        #expect(try temp.list("tmp").isEmpty)
        #expect(try temp.list("done") == ["x.json"])
    }

    @Test func stagedImagesHaveSpoolOwnedNamesAndLeftoversAreThoseOfDeadClaims() throws {
        let temp = try TempSpool()
        let live = try temp.spool(pid: 51)
        let dead = try temp.spool(pid: 52)
        #expect(live.stagingImageURL(job: "j", index: 0).lastPathComponent == ".j-0.png~h1~51.partial")
        #expect(live.stagingURL(forImage: "j-0.png") == live.stagingImageURL(job: "j", index: 0))
        #expect(live.finalImageURL(job: "j", index: 0).path == temp.path("out", "j-0.png"))
        try temp.drop("j.json")
        let job = try claimOne(live)
        for url in [live.stagingImageURL(job: "j", index: 0), dead.stagingImageURL(job: "k", index: 0),
                    try temp.spool(host: "h2", pid: 53).stagingImageURL(job: "k", index: 1)] {
            try DurableFile.writeNew([1, 2, 3], to: url.path)
        }
        try temp.drop(".old-3.png.h1.52.partial", "x", in: "out")
        let leftovers = try live.stagedLeftovers().sorted { $0.image < $1.image }
        #expect(leftovers.map(\.image) == ["k-0.png", "old-3.png"])
        #expect(leftovers.map(\.pid) == [52, 52])
        #expect(leftovers.map(\.job) == ["k", "old"] && leftovers.map(\.index) == [0, 3])
        #expect(leftovers.first?.finalURL.path == temp.path("out", "k-0.png"))
        #expect(try live.stagedImages(job: "k", index: 1).map(\.lastPathComponent) == [".k-1.png~h2~53.partial"])
        try live.complete(job)
        #expect(try live.stagedLeftovers().map(\.image).sorted() == ["j-0.png", "k-0.png", "old-3.png"])
    }

    @Test func imageNamesRoundTrip() {
        #expect(Spool.parseImageName(Spool.imageName(job: "a-b.c", index: 12))! == ("a-b.c", 12))
        #expect(Spool.parseImageName("a-01.png") == nil && Spool.parseImageName("a.png") == nil && Spool.parseImageName("-1.png") == nil)
    }
}
