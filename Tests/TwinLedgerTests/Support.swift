// Test helpers: throwaway ledger directories, one Ed25519 key per host name, drafts with sensible
// defaults, and raw access to segment lines for tampering.

import Crypto
import Foundation
import TwinBase
@testable import TwinLedger

/// A fresh, empty directory under the system temp directory, removed when the test process exits.
func makeTempDirectory(_ label: String = #function) -> URL {
    let name = "twinledger-\(label.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString)"
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(name)
    do {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
        preconditionFailure("cannot create a test directory: \(error)")
    }
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

/// One random signing key per host name, the same for the whole test process.
final class HostKeys: @unchecked Sendable {
    static let shared = HostKeys()
    private let lock = NSLock()
    private var keys: [String: Curve25519.Signing.PrivateKey] = [:]

    func key(_ host: String) -> Curve25519.Signing.PrivateKey {
        lock.lock()
        defer { lock.unlock() }
        if let key = keys[host] { return key }
        let key = Curve25519.Signing.PrivateKey()
        keys[host] = key
        return key
    }
}

/// The signing key of `host` in these tests.
func hostKey(_ host: String) -> Curve25519.Signing.PrivateKey { HostKeys.shared.key(host) }

/// Registered keys for `hosts`: each host's own public key.
func registeredKeys(_ hosts: [String]) -> [String: [Curve25519.Signing.PublicKey]] {
    Dictionary(uniqueKeysWithValues: hosts.map { ($0, [hostKey($0).publicKey]) })
}

/// Opens `host`'s ledger in `dir` with its test key.
func openLedger(_ dir: URL, host: String = "h") throws -> RoyaltyLedger {
    try RoyaltyLedger(directory: dir, host: host, signingKey: hostKey(host))
}

/// `verify` of `dir` with the test keys of `hosts` registered.
func verify(_ dir: URL, hosts: [String] = ["h"]) -> LedgerVerification {
    LedgerReader(directory: dir).verify(hostKeys: registeredKeys(hosts))
}

/// 2026-03-05T10:00:00Z plus `seconds`.
func march5(plus seconds: Int64 = 0) -> UTCTimestamp {
    UTCTimestamp(iso8601: "2026-03-05T10:00:00Z").map { UTCTimestamp(secondsSinceEpoch: $0.secondsSinceEpoch + seconds) }!
}

/// SHA-256 hex of `text` (stand-in for a signed order's bytes).
func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
}

/// An image fingerprint in TwinImaging's text form (the ledger treats it as opaque text).
let sampleFingerprint = "fp1:128x128:" + Data((0..<1024).map { UInt8($0 % 251) }).base64EncodedString()

func sampleDraft(job: String = "job-1", image: Int = 0, model: String = "model:ada", licensee: String = "hm",
                 grant: String = "grant-1", purpose: String = "ecommerce", territory: String = "EU",
                 at deliveredAt: UTCTimestamp = march5(), amount: Int64 = 12_50, basisPoints: Int = 2000,
                 currency: String = "EUR", paymentDays: Int = 30,
                 fingerprint: String? = sampleFingerprint) -> RoyaltyEventDraft {
    RoyaltyEventDraft(
        job: job, imageIndex: image, twin: "twin:ada-v1", model: model, licensee: licensee,
        orderSigner: "party:\(licensee)", orderSHA256: sha256Hex("order \(job)"), grant: grant,
        grantHash: String(repeating: "ab", count: 32), purpose: purpose, territory: territory,
        deliveredAt: deliveredAt, outputSHA256: String(repeating: "0f", count: 32), imageFingerprint: fingerprint,
        amount: amount, commissionBasisPoints: basisPoints, currency: currency, paymentDays: paymentDays)
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

/// Appends raw text to the end of `url`.
func appendRaw(_ text: String, to url: URL) throws {
    let handle = try FileHandle(forWritingTo: url)
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
}
