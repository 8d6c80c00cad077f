import Crypto
import Foundation
import TwinBase
import Testing
@testable import TwinLedger

/// Cross-checks the format against scripts/ledger_fixture.py, an independent Python implementation
/// (signing through OpenSSL): the Swift verifier must accept its segments, heads and commissions,
/// and the Swift writer must continue its chains. Command behind the fixture:
/// `python3 scripts/ledger_fixture.py --out DIR --events 40 --hosts 2 --keys DIR.keys`.
@Suite struct FixtureTests {
    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/ledger_fixture.py").standardized

    /// Runs python3 with `arguments`; its exit status.
    private static func python(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// python3 with the `cryptography` package is there.
    private static let pythonWithCryptography = python(["-c", "import cryptography"]) == 0

    private func key(_ url: URL) throws -> Data {
        try #require(Data(base64Encoded: try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test(.enabled(if: pythonWithCryptography, "needs python3 with the cryptography package"))
    func pythonFixtureVerifiesAndTheWriterContinuesIt() throws {
        let dir = makeTempDirectory()
        let keys = dir.appendingPathExtension("keys")
        TempDirectories.shared.add(keys)
        #expect(Self.python([Self.script.path, "--out", dir.path, "--events", "40", "--hosts", "2", "--keys", keys.path]) == 0)
        var hostKeys = [String: [Curve25519.Signing.PublicKey]]()
        for host in ["render-1", "render-2"] {
            hostKeys[host] = [try Curve25519.Signing.PublicKey(rawRepresentation: key(keys.appendingPathComponent(host + ".pub")))]
        }
        let verification = LedgerReader(directory: dir).verify(hostKeys: hostKeys)
        #expect(verification.isValid, "\(verification.problems.prefix(3))")
        #expect(verification.events.count == 40)
        #expect(verification.segments.map { $0.signedHead?.seq } == [20, 20])
        // 1999 bp of 2500 + 1 = 499.9 -> 500 (rounded half up, as the Python side computes it).
        #expect(verification.events.contains { $0.commissionBasisPoints == 1999 && $0.agencyCommission == 500 })

        let signingKey = try Curve25519.Signing.PrivateKey(rawRepresentation: key(keys.appendingPathComponent("render-1.key")))
        let ledger = try RoyaltyLedger(directory: dir, host: "render-1", signingKey: signingKey)
        #expect(ledger.localCount == 20 && ledger.recovery == nil)
        #expect(try ledger.append(sampleDraft(job: "swift-after-python")).seq == 21)
        #expect(LedgerReader(directory: dir).verify(hostKeys: hostKeys).isValid)
        // One byte changed in the Python-signed part is caught.
        let segment = dir.appendingPathComponent("render-2.jsonl")
        var lines = try segmentLines(segment)
        lines[3] = lines[3].replacingOccurrences(of: "\"brand-", with: "\"brand_")
        try writeLines(lines, to: segment)
        #expect(LedgerReader(directory: dir).verify(hostKeys: hostKeys).firstProblem?.line == 4)
    }
}
