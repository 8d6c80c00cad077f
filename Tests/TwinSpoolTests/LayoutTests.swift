// Role: the permission model (SpoolLayout header): exact modes at creation, loose modes fixed
// and reported, directories the daemon cannot trust refused, the writer's checks; host names.
// Reference: Postfix's queue directory ownership checks at start.
// Failure modes tested: umask ignored, group/world-writable daemon directories, a missing
// sticky bit, a symlinked `out/`, a directory owned by another user, a spool that does not exist
// for a writer, an invalid host name.

import Foundation
import Testing
import TwinBase
@testable import TwinSpool
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct LayoutTests {
    @Test func directoriesAreCreatedWithTheirExactModesWhateverTheUmask() throws {
        let temp = try TempSpool()
        let old = umask(0o000)
        defer { umask(old) }
        let spool = try temp.spool()
        #expect(spool.permissionFixes.isEmpty)
        let expected: [String: mode_t] = ["tmp": 0o1770, "incoming": 0o1770, "out": 0o750, "active": 0o700, "done": 0o700,
                                          "failed": 0o700, "rejected": 0o700, "state": 0o700, "": 0o750]
        for (directory, mode) in expected {
            #expect(try temp.mode(directory) == mode, "\(directory)")
        }
    }

    @Test func looseModesOfOwnedDirectoriesAreFixedAndReported() throws {
        let temp = try TempSpool()
        _ = try temp.spool()
        #expect(chmod(temp.path("active"), 0o777) == 0)
        #expect(chmod(temp.path("out"), 0o775) == 0)
        #expect(chmod(temp.path("incoming"), 0o770) == 0)
        let spool = try temp.spool()
        #expect(Set(spool.permissionFixes.map { URL(fileURLWithPath: $0.path).lastPathComponent }) == ["active", "out", "incoming"])
        #expect(spool.permissionFixes.contains(PermissionFix(path: temp.path("active"), from: 0o777, to: 0o700)))
        #expect(try temp.mode("active") == 0o700 && temp.mode("out") == 0o750 && temp.mode("incoming") == 0o1770)
    }

    @Test func aSymlinkedDirectoryIsRefused() throws {
        let temp = try TempSpool()
        _ = try temp.spool()
        try FileManager.default.removeItem(atPath: temp.path("out"))
        #expect(symlink(temp.root.deletingLastPathComponent().path, temp.path("out")) == 0)
        let error = try #require(throws: SpoolError.self) { try temp.spool() }
        #expect(error.description.contains("not a directory"))
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to hand a directory to another user"))
    func aDirectoryOwnedByAnotherUserIsRefusedUnlessRootOwnsItSafely() throws {
        let temp = try TempSpool()
        _ = try temp.spool()
        #expect(chown(temp.path("state"), 12345, 12345) == 0)
        let error = try #require(throws: SpoolError.self) { try temp.spool() }
        #expect(error.description.contains("belongs to uid 12345"))
        #expect(chown(temp.path("state"), 0, 0) == 0)
        _ = try temp.spool()
    }

    @Test func isLooserLooksAtWriteBitsAndTheStickyBit() {
        #expect(SpoolLayout.isLooser(0o770, than: 0o700))
        #expect(SpoolLayout.isLooser(0o702, than: 0o700))
        #expect(SpoolLayout.isLooser(0o770, than: 0o1770))
        #expect(!SpoolLayout.isLooser(0o755, than: 0o750))
        #expect(!SpoolLayout.isLooser(0o1730, than: 0o1770))
    }

    @Test func aWriterChangesNothingAndRefusesUnsafeDirectories() throws {
        let temp = try TempSpool()
        #expect(throws: SpoolError.self) { try Spool(root: temp.root, host: "h1", access: .writer) }
        #expect(!FileManager.default.fileExists(atPath: temp.root.path))
        _ = try temp.spool()
        #expect(chmod(temp.path("active"), 0o777) == 0)
        _ = try Spool(root: temp.root, host: "h1", access: .writer)
        #expect(try temp.mode("active") == 0o777)
        #expect(chmod(temp.path("incoming"), 0o777) == 0)
        let error = try #require(throws: SpoolError.self) { try Spool(root: temp.root, host: "h1", access: .writer) }
        #expect(error.description.contains("looser than the required 1770"))
    }

    @Test func hostNamesFollowTheSharedRule() throws {
        let temp = try TempSpool()
        for bad in ["render 01", "a~b", "", "-x", String(repeating: "h", count: 65)] {
            #expect(throws: SpoolError.self) { try Spool(root: temp.root, host: bad) }
        }
        _ = try Spool(root: temp.root, host: "render-01.example_a")
    }

    @Test func namesRoundTrip() {
        let incoming = JobFileName.Incoming(id: "a.b-c", attempts: 2, deferrals: 3, notBefore: 1_800_000_000)
        #expect(JobFileName.Incoming(incoming.name) == incoming)
        #expect(JobFileName.Incoming("a~1.json") == JobFileName.Incoming(id: "a", attempts: 1))
        #expect(JobFileName.Incoming("a~1~defer0~until5.json") == nil)
        let active = JobFileName.Active(id: "a", attempt: 1, host: "h.1", pid: 9, deferrals: 2)
        #expect(JobFileName.Active(active.name) == active)
        #expect(JobFileName.Active("a~1~bad host~9.json") == nil)
        let staged = JobFileName.Staged(image: "j-0.png", host: "h.1", pid: 9)
        #expect(JobFileName.Staged(staged.name) == staged)
        #expect(JobFileName.Staged(".j-0.png.h.1.9.partial", legacyHost: "h.1") == staged)
        #expect(JobFileName.Staged(".j-0.png.h.1.9.partial") == nil)
    }
}
