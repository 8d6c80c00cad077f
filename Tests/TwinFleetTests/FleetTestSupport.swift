// Role: what the fleet tests share: a fresh database per test on the PostgreSQL named by
// TWINRENDER_TEST_PG_URL (scripts/test starts one with scripts/pg-temp), dropped afterwards;
// host keys; drafts; and small SQL helpers to look at rows the API does not return.
// Reference: TwinLedgerTests/Support.swift (the same draft and key conventions).
// Failure modes: without TWINRENDER_TEST_PG_URL every suite that needs a database is skipped with
// `FleetTestDatabase.skipReason`; with it set but the server unreachable, the tests fail (CI must
// not pass silently without PostgreSQL).

import Crypto
import Foundation
import Logging
import PostgresNIO
import Testing
import TwinBase
@testable import TwinFleet
import TwinLedger

enum FleetTestDatabase {
    /// The server's URL, from the environment.
    static let url: String? = ProcessInfo.processInfo.environment["TWINRENDER_TEST_PG_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// Whether the database tests can run.
    static var isConfigured: Bool { url != nil }

    /// Why they are skipped otherwise.
    static let skipReason: Comment = "TWINRENDER_TEST_PG_URL is unset: the fleet tests need a PostgreSQL; `bash scripts/test` starts a throw-away one (scripts/pg-temp) and sets it"

    static let logger: Logger = {
        var logger = Logger(label: "twinfleet-tests")
        logger.logLevel = .error
        return logger
    }()

    /// Runs `body` with a new, empty database (migrated unless `migrated` is false), dropped after.
    /// The deadline is long (tests that need a short one pass their own): when the whole suite
    /// runs on two busy cores, CPU-bound tests can hold Swift's cooperative threads for minutes,
    /// and a database reply cannot be handled meanwhile. Creation and migration are retried too.
    static func withDatabase<T: Sendable>(migrated: Bool = true, deadline: Duration = .seconds(600),
                                          _ body: @Sendable (FleetDatabase, FleetURL) async throws -> T) async throws -> T {
        let base = try FleetURL(try #require(url))
        let name = "fleet_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = FleetDatabase(url: base, logger: logger, deadline: deadline, maxConnections: 2)
        try await admin.withRunning { admin in
            try await admin.retrying("create test database", attempts: 6) {
                try await admin.connection("create test database") { connection in
                    let exists = try await connection.query("SELECT 1 FROM pg_database WHERE datname = \(name)", logger: logger)
                        .collect().isEmpty == false
                    if !exists { try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger) }
                }
            }
        }
        let url = base.with(database: name)
        let database = FleetDatabase(url: url, logger: logger, deadline: deadline, maxConnections: 12)
        let result: Result<T, any Error>
        do {
            result = .success(try await database.withRunning { database in
                try await database.retrying("connect to the test database", attempts: 6) {
                    try await database.connection("connect") { connection in
                        try await connection.query("SELECT 1", logger: logger)
                    }
                }
                if migrated { _ = try await database.retrying("migrate test database", attempts: 6) { try await FleetSchema.migrate(database) } }
                return try await body(database, url)
            })
        } catch {
            result = .failure(error)
        }
        // A pool runs once (PostgresClient.run), so the drop gets its own.
        let dropper = FleetDatabase(url: base, logger: logger, deadline: deadline, maxConnections: 2)
        try await dropper.withRunning { admin in
            try await admin.connection("drop test database") { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
            }
        }
        return try result.get()
    }
}

extension FleetDatabase {
    /// Runs `sql` (tests only) and returns its rows.
    func rows(_ sql: String) async throws -> [PostgresRow] {
        try await connection("test query") { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: FleetTestDatabase.logger).collect()
        }
    }

    /// The single value of `sql`.
    func value<T: PostgresDecodable & Sendable>(_ sql: String, as type: T.Type = T.self) async throws -> T {
        let row = try #require(try await rows(sql).first)
        return try row.decode(T.self)
    }
}

/// Test keys, one per host, stable for the whole run.
final class TestHostKeys: @unchecked Sendable {
    static let shared = TestHostKeys()
    private let lock = NSLock()
    private var keys: [String: Curve25519.Signing.PrivateKey] = [:]
    func key(_ host: String) -> Curve25519.Signing.PrivateKey {
        lock.withLock {
            if let key = keys[host] { return key }
            let key = Curve25519.Signing.PrivateKey()
            keys[host] = key
            return key
        }
    }
}

func hostKey(_ host: String) -> Curve25519.Signing.PrivateKey { TestHostKeys.shared.key(host) }

func registeredKeys(_ hosts: [String]) -> [String: [Curve25519.Signing.PublicKey]] {
    Dictionary(uniqueKeysWithValues: hosts.map { ($0, [hostKey($0).publicKey]) })
}

func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
}

/// A valid draft for image `image` of `job` under `grant`.
func sampleDraft(job: String, image: Int = 0, grant: String = "grant-1") -> RoyaltyEventDraft {
    RoyaltyEventDraft(
        job: job, imageIndex: image, twin: "twin:ada-v1", model: "model:ada", licensee: "hm",
        orderSigner: "party:hm", orderSHA256: sha256Hex("order \(job)"), grant: grant,
        grantHash: String(repeating: "ab", count: 32), purpose: "ecommerce", territory: "EU",
        deliveredAt: UTCTimestamp(secondsSinceEpoch: 1_772_704_800), outputSHA256: sha256Hex("image \(job) \(image)"),
        amount: 12_50, commissionBasisPoints: 2000, currency: "EUR", paymentDays: 30)
}

/// A job file's bytes for `id` (the queue stores them as given).
func jobBytes(_ id: String) -> [UInt8] { Array("{\"id\":\"\(id)\",\"twin\":\"ava\"}".utf8) }

/// The delivery of `count` images of `claim`'s job under `grant` limited to `limit`.
func delivery(_ claim: FleetClaim, count: Int = 1, grant: String = "grant-1", limit: Int? = nil) -> FleetDelivery {
    FleetDelivery(claim: claim, drafts: (0..<count).map { sampleDraft(job: claim.job, image: $0, grant: grant) },
                  quotas: [grant: limit])
}

/// The state column of `job`.
func state(of job: String, in database: FleetDatabase) async throws -> String {
    try await database.value("SELECT state FROM jobs WHERE id = '\(job)'")
}
