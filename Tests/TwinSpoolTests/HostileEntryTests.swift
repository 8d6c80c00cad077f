// Role: what the claim does with entries in `incoming/` that are not jobs.
// Reference: Postfix `mail_open_ok.c` (lstat first, regular files only, sane size).
// Failure modes tested: names that are not UTF-8 or not job names, symlinks (never followed),
// FIFOs (never blocked on), oversized files (never read whole), a bad entry that cannot be moved
// aside (the good jobs still run).

import Foundation
import Testing
import TwinBase
@testable import TwinSpool
#if canImport(Glibc)
import Glibc
#endif

@Suite struct HostileEntryTests {
    @Test func aNameThatIsNotUTF8IsRejectedUnderASafeName() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        let raw: [UInt8] = [0x6a, 0xff, 0xfe, 0x0a] + Array(".json".utf8)
        try temp.dropRaw(raw)
        #expect(try spool.pending().map(\.fileName) == ["j\\xff\\xfe\\x0a.json"])
        var rejected: [JobReason] = []
        #expect(try spool.claimNext { rejected.append($0) } == nil)
        #expect(rejected.map(\.code) == ["job.invalid_name"])
        let stem = RawName(raw).quarantineStem
        #expect(try temp.list("rejected") == ["\(stem).json", "\(stem).reason.json"])
        #expect(try temp.reason("rejected", stem).message.contains("j\\xff\\xfe\\x0a.json"))
        #expect(try temp.list("incoming").isEmpty)
        #expect(spool.counts()["incoming"] == 0)
    }

    @Test func invalidJobNamesAreRejected() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        for name in ["no extension", "-dash.json", "a~b~c.json", "x~0.json", "ok.txt"] { try temp.drop(name) }
        var rejected: [JobReason] = []
        #expect(try spool.claimNext { rejected.append($0) } == nil)
        #expect(rejected.count == 5 && rejected.allSatisfy { $0.code == "job.invalid_name" })
        #expect(try temp.list("incoming").isEmpty)
    }

    @Test func symlinksFIFOsAndOversizedFilesAreRejectedUnread() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        #expect(symlink("/etc/passwd", temp.path("incoming", "link.json")) == 0)
        #expect(mkfifo(temp.path("incoming", "pipe.json"), 0o644) == 0)
        #expect(mkdir(temp.path("incoming", "dir.json"), 0o755) == 0)
        try temp.drop("big.json", String(repeating: " ", count: 4096))
        try temp.drop("good.json")
        var rejected: [String: String] = [:]
        let job = try claimOne(spool) { rejected[$0.job] = $0.code }
        #expect(job.id == "good")
        #expect(try spool.claimNext { rejected[$0.job] = $0.code } == nil)
        #expect(rejected == ["link": "job.symlink", "pipe": "job.not_regular_file", "dir": "job.not_regular_file", "big": "job.too_large"])
        #expect(try temp.list("incoming").isEmpty)
        #expect(try temp.reason("rejected", "big").message.contains("4096 bytes; the limit is 1024"))
        var info = stat()
        #expect(lstat(temp.path("rejected", "link.json"), &info) == 0 && info.st_mode & S_IFMT == S_IFLNK)
    }

    @Test func aBadEntryThatCannotBeMovedAsideDoesNotStopGoodJobs() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop("a~bad~name.json")
        try temp.drop("good.json")
        try FileManager.default.removeItem(atPath: temp.path("rejected"))
        let job = try #require(try spool.claimNext())
        #expect(job.id == "good")
        let error = try #require(throws: SpoolError.self) { try spool.claimNext() }
        #expect(error.systemCall?.code == ENOENT)
        #expect(try temp.list("incoming") == ["a~bad~name.json"])
    }

    @Test func hiddenFilesAreAWritersBusiness() throws {
        let temp = try TempSpool()
        let spool = try temp.spool()
        try temp.drop(".writing.json")
        #expect(try spool.pending().isEmpty)
        #expect(spool.counts()["incoming"] == 0)
    }
}
