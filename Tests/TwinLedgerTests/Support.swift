// Test helpers: throwaway ledger directories and drafts with sensible defaults.

import Foundation
import TwinBase
import TwinBase
@testable import TwinLedger

/// A fresh, empty directory under the system temp directory, removed when the test process exits.
func makeTempDirectory(_ label: String = #function) -> URL {
    let name = "twinledger-\(label.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString)"
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(name)
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    TempDirectories.shared.add(url)
    return url
}

/// Directories made by `makeTempDirectory`, deleted at exit (set KEEP_LEDGER_TEST_DIRS to keep them).
final class TempDirectories: @unchecked Sendable {
    static let shared = TempDirectories()
    private let lock = NSLock()
    private var urls: [URL] = []

    private init() {
        atexit {
            guard ProcessInfo.processInfo.environment["KEEP_LEDGER_TEST_DIRS"] == nil else { return }
            for url in TempDirectories.shared.all() { try? FileManager.default.removeItem(at: url) }
        }
    }

    func add(_ url: URL) { lock.lock(); urls.append(url); lock.unlock() }

    private func all() -> [URL] { lock.lock(); defer { lock.unlock() }; return urls }
}

/// 2026-03-05T10:00:00Z plus `seconds`.
func march5(plus seconds: Int64 = 0) -> UTCTimestamp {
    UTCTimestamp(iso8601: "2026-03-05T10:00:00Z").map { UTCTimestamp(secondsSinceEpoch: $0.secondsSinceEpoch + seconds) }!
}

func sampleDraft(job: String = "job-1", image: Int = 0, model: String = "model:ada", licensee: String = "hm",
                 grant: String = "grant-1", purpose: String = "ecommerce", territory: String = "EU",
                 at deliveredAt: UTCTimestamp = march5(), amount: Int64 = 12_50, commission: Int64 = 2_50,
                 currency: String = "EUR", paymentDays: Int = 30) -> RoyaltyEventDraft {
    RoyaltyEventDraft(
        job: job, imageIndex: image, twin: "twin:ada-v1", model: model, licensee: licensee, grant: grant,
        grantHash: String(repeating: "ab", count: 32), purpose: purpose, territory: territory,
        deliveredAt: deliveredAt, outputSHA256: String(repeating: "0f", count: 32),
        amount: amount, agencyCommission: commission, currency: currency, paymentDays: paymentDays)
}

/// Appends `count` events for jobs `job-0 ...` to `ledger`.
@discardableResult
func appendEvents(_ ledger: RoyaltyLedger, count: Int, prefix: String = "job") throws -> [RoyaltyEvent] {
    try (0..<count).map { try ledger.append(sampleDraft(job: "\(prefix)-\($0)", at: march5(plus: Int64($0)))) }
}

/// The segment's lines (without newlines).
func segmentLines(_ url: URL) throws -> [String] {
    try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        .dropLast().map(String.init)
}

func writeLines(_ lines: [String], to url: URL) throws {
    try (lines.map { $0 + "\n" }.joined()).write(to: url, atomically: false, encoding: .utf8)
}
