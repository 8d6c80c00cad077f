// Role: the pooled connection to the fleet database: one PostgresNIO `PostgresClient` whose
// `run()` a caller keeps running (the daemon's service group, or `withRunning` for a command),
// every operation bounded by a deadline, and the mapping of driver errors to `FleetError`.
// Reference: postgres-nio's `PostgresClient` (structured concurrency: the pool lives in `run()`).
// Failure modes: a database that is down, restarting or unreachable makes an operation fail with
// the transient `FleetError.databaseUnavailable` after at most `deadline` (the pool keeps trying
// to connect in the background); `retrying` turns that into waits with capped exponential backoff
// and never crashes. A statement the server refuses is `FleetError.query` (not retried).

import Foundation
import Logging
import PostgresNIO

/// The fleet database: a connection pool plus deadlines and error mapping.
public final class FleetDatabase: Sendable {
    /// Where the database is (password never logged: use `url.redacted`).
    public let url: FleetURL
    /// The longest one operation may take, connection wait included, before it fails as unavailable.
    public let deadline: Duration
    let client: PostgresClient
    let logger: Logger

    /// A pool for `url` (at most `maxConnections`); nothing connects until `run()` is running.
    public init(url: FleetURL, logger: Logger, deadline: Duration = .seconds(10), maxConnections: Int = 8) {
        var configuration = url.clientConfiguration
        configuration.options.maximumConnections = maxConnections
        configuration.options.connectTimeout = deadline
        self.url = url
        self.deadline = deadline
        self.logger = logger
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// Runs the pool until cancelled (or until graceful shutdown in a service group). A pool
    /// runs once: call either this or `withRunning`, once per `FleetDatabase`.
    public func run() async { await client.run() }

    /// Runs the pool around `body`, then shuts it down: for commands and tests (once per value).
    public func withRunning<T: Sendable>(_ body: @Sendable (FleetDatabase) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }

    /// Runs `body` on a pooled connection inside one transaction, within `deadline`.
    /// - Throws: `FleetError` (whatever `body` throws as a `FleetError` passes through unchanged).
    func transaction<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await bounded(what) { client, logger in
            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// Runs `body` on a pooled connection (no transaction), within `deadline`.
    func connection<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await bounded(what) { client, _ in try await client.withConnection { connection in try await body(connection) } }
    }

    /// Repeats `operation` while it fails with a transient error: waits 0.1 s, doubling up to `maxWait`,
    /// logging each failure once; gives up after `attempts` tries (nil: until cancelled).
    public func retrying<T: Sendable>(_ what: String, attempts: Int? = nil, maxWait: Duration = .seconds(5),
                                      _ operation: @Sendable () async throws -> T) async throws -> T {
        var wait = Duration.milliseconds(100)
        var tried = 0
        while true {
            do { return try await operation() } catch let error as FleetError where error.isTransient {
                tried += 1
                if let attempts, tried >= attempts { throw error }
                logger.warning("fleet.database_unavailable", metadata: [
                    "operation": "\(what)", "error": "\(error)", "retry_in_seconds": "\(wait)",
                ])
                try await Task.sleep(for: wait)
                wait = min(wait * 2, maxWait)
            }
        }
    }

    /// Runs `body` and returns its result, or throws `databaseUnavailable` once `deadline` has
    /// passed even when `body` does not react to cancellation (a lease request or a query on a
    /// connection the server dropped can wait longer): the caller always gets control back on
    /// time; `body` is cancelled and left to finish in the background.
    private func bounded<T: Sendable>(_ what: String,
                                      _ body: @escaping @Sendable (PostgresClient, Logger) async throws -> T) async throws -> T {
        let client = self.client, logger = self.logger, deadline = self.deadline, url = self.url
        let race = Race<T>()
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                    race.start(continuation)
                    let work = Task { race.finish(await Result { try await body(client, logger) }) }
                    let timer = Task {
                        try? await Task.sleep(for: deadline)
                        race.finish(.failure(FleetError.databaseUnavailable("\(what): no answer from \(url.redacted) within \(deadline)")))
                    }
                    race.onFinish { work.cancel(); timer.cancel() }
                }
            } onCancel: {
                race.finish(.failure(CancellationError()))
            }
        } catch {
            throw Self.classify(error, what: what, url: url)
        }
    }

    /// Why the server refuses this URL, asked over one direct connection (the pool retries
    /// connecting in the background and only reports its deadline): the server's message (a
    /// database that does not exist, a role that may not log in, a refused socket), or nil when a
    /// connection now succeeds. For messages to operators; waits at most `timeout`.
    public func diagnose(timeout: Duration = .seconds(5)) async -> String? {
        var configuration: PostgresConnection.Configuration
        if let socketDirectory = url.socketDirectory {
            configuration = .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(url.port)", username: url.user,
                                  password: url.password, database: url.database)
        } else {
            configuration = .init(host: url.host ?? "localhost", port: url.port, username: url.user, password: url.password,
                                  database: url.database, tls: .disable)
        }
        configuration.options.connectTimeout = .milliseconds(Int64(timeout.seconds * 1000))
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
            return nil
        } catch let error as PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
        } catch {
            return "\(error)"
        }
    }

    /// Maps a driver error to `FleetError`: connection-level failures and server states that pass
    /// (shutdown, starting up, too many connections) are transient; other server errors are not.
    static func classify(_ error: any Error, what: String, url: FleetURL) -> FleetError {
        if let fleet = error as? FleetError { return fleet }
        if let transaction = error as? PostgresTransactionError {
            if let inner = transaction.closureError ?? transaction.beginError ?? transaction.commitError {
                return classify(inner, what: what, url: url)
            }
        }
        if error is CancellationError { return .databaseUnavailable("\(what): cancelled") }
        if let psql = error as? PSQLError {
            if let state = psql.serverInfo?[.sqlState] {
                let message = psql.serverInfo?[.message] ?? "sqlstate \(state)"
                let transientClasses = ["08", "53", "57", "40"]   // connection, resources, operator intervention, rollback
                if transientClasses.contains(where: state.hasPrefix) {
                    return .databaseUnavailable("\(what): \(message) (sqlstate \(state))")
                }
                return .query("\(what): \(message) (sqlstate \(state))")
            }
            return .databaseUnavailable("\(what): \(url.redacted): \(psql.code)")
        }
        return .databaseUnavailable("\(what): \(url.redacted): \(error)")
    }
}

/// The first of several outcomes resumes a continuation; later ones are dropped.
private final class Race<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var pending: Result<T, any Error>?
    private var done = false
    private var cleanups: [@Sendable () -> Void] = []

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        let early = lock.withLock { () -> Result<T, any Error>? in
            if let pending { self.pending = nil; return pending }
            self.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let now = lock.withLock { () -> Bool in
            if done { return true }
            cleanups.append(cleanup)
            return false
        }
        if now { cleanup() }
    }

    func finish(_ result: Result<T, any Error>) {
        let (waiting, cleanups) = lock.withLock { () -> (CheckedContinuation<T, any Error>?, [@Sendable () -> Void]) in
            if done { return (nil, []) }
            done = true
            if continuation == nil { pending = result }
            defer { continuation = nil; self.cleanups = [] }
            return (continuation, self.cleanups)
        }
        waiting?.resume(with: result)
        for cleanup in cleanups { cleanup() }
    }
}

extension Result where Failure == any Error {
    /// The outcome of an async throwing operation.
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
