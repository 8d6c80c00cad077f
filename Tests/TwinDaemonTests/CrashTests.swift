import Foundation
import Testing

/// The small version of `scripts/crash-test` (200 kills there): SIGKILL the real daemon at
/// random moments, restart it, and check exactly-once delivery and royalties at the end.
@Suite("Crash recovery", .serialized)
struct CrashTests {
    /// The repository root, from this file's path.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("12 SIGKILLs at random moments: every job once, images and ledger events one-to-one, chain verifies, quota held")
    func killsAtRandomMoments() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.currentDirectoryURL = Self.repository
        process.arguments = ["scripts/crash-test", "--kills", "12", "--max-delay", "900", "--seed", "3",
                             "--bin", TwinRenderBinary.url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output.suffix(3000))")
        #expect(output.contains("crash-test: OK"))
        #expect(!output.contains("FAIL"))
        // The run really killed daemons and delivered images (not a vacuous pass).
        let kills = output.firstMatch(of: /kills (\d+), daemon starts/).flatMap { Int($0.1) }
        let images = output.firstMatch(of: /images in out\/ (\d+), ledger events (\d+)/)
        #expect(kills == 12)
        #expect((images.flatMap { Int($0.1) } ?? 0) > 0)
        #expect(images.map { $0.1 == $0.2 } == true)
    }
}
