import Crypto
import Foundation
import TwinBase
import Testing
@testable import TwinLedger

/// Timing of `verify(hostKeys:)` and a statement on a large Python-written ledger; runs only when
/// LEDGER_BENCH_EVENTS is set (scripts/ledger-bench sets it and builds in release mode).
@Suite struct BenchTests {
    private static let events = ProcessInfo.processInfo.environment["LEDGER_BENCH_EVENTS"].flatMap { Int($0) }
    private static let hosts = ProcessInfo.processInfo.environment["LEDGER_BENCH_HOSTS"].flatMap { Int($0) } ?? 4

    @Test(.enabled(if: events != nil, "set LEDGER_BENCH_EVENTS to run"))
    func verifyAndStatementTimings() throws {
        let count = try #require(Self.events)
        let dir = makeTempDirectory()
        let keys = dir.appendingPathExtension("keys")
        TempDirectories.shared.add(keys)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/ledger_fixture.py").standardized
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--out", dir.path, "--events", "\(count)", "--hosts", "\(Self.hosts)",
                             "--keys", keys.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        var hostKeys = [String: [Curve25519.Signing.PublicKey]]()
        for h in 1...Self.hosts {
            let text = try String(contentsOf: keys.appendingPathComponent("render-\(h).pub"), encoding: .utf8)
            let raw = try #require(Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)))
            hostKeys["render-\(h)"] = [try Curve25519.Signing.PublicKey(rawRepresentation: raw)]
        }
        let clock = ContinuousClock()
        var verification: LedgerVerification?
        let verifyTime = clock.measure { verification = LedgerReader(directory: dir).verify(hostKeys: hostKeys) }
        let checked = try #require(verification)
        #expect(checked.isValid && checked.events.count == count)
        var statement: RoyaltyStatement?
        let statementTime = try clock.measure {
            statement = try RoyaltyStatement.build(from: checked, model: "model-ava", period: StatementPeriod("2026-03")!,
                                                   createdAt: UTCTimestamp.now())
        }
        let lookupTime = try clock.measure { _ = try LedgerReader(directory: dir).deliveredCount(grant: "grant-0") }
        print("ledger-bench: \(count) events, \(Self.hosts) hosts: verify(hostKeys:) \(verifyTime), "
              + "statement \(statementTime) (\(statement?.lineCount ?? 0) lines), deliveredCount (cold index) \(lookupTime)")
    }
}
