// Role: the public error of the fleet queue, in the house style (a struct wrapping a private enum,
// exposed as static members), with the one question callers must answer: retry later or not.
// Reference: swift-service-lifecycle `ServiceRunnerError.swift`.
// Failure modes: none of its own; `databaseUnavailable` is the transient one (connection refused,
// server restarting, a statement past its deadline), everything else is permanent for the call.

import Foundation

/// Why a fleet database operation failed.
public struct FleetError: Error, Equatable, CustomStringConvertible {
    private enum Code: Equatable {
        case badURL(String)
        case databaseUnavailable(String)
        case staleLease(job: String, generation: Int64)
        case quotaExhausted(grant: String, quota: Int)
        case conflictingEvent(eventID: String)
        case schemaTooNew(found: Int, known: Int)
        case query(String)
    }

    private let code: Code
    private init(_ code: Code) { self.code = code }

    /// `queue.url` is not a `postgres://` URL this client understands.
    public static func badURL(_ reason: String) -> FleetError { FleetError(.badURL(reason)) }
    /// The database cannot be reached or did not answer in time; retry with backoff.
    public static func databaseUnavailable(_ reason: String) -> FleetError { FleetError(.databaseUnavailable(reason)) }
    /// The job's lease is no longer this claim's: another host holds it, or it expired and was
    /// reclaimed (the fencing token `generation` does not match). Nothing was written.
    public static func staleLease(job: String, generation: Int64) -> FleetError {
        FleetError(.staleLease(job: job, generation: generation))
    }
    /// Committing would deliver more images than the grant allows. Nothing was written.
    public static func quotaExhausted(grant: String, quota: Int) -> FleetError {
        FleetError(.quotaExhausted(grant: grant, quota: quota))
    }
    /// The event id is already in the ledger for another delivery. Nothing was written.
    public static func conflictingEvent(eventID: String) -> FleetError { FleetError(.conflictingEvent(eventID: eventID)) }
    /// The database's schema is newer than this binary knows (a newer host ran `db migrate`).
    public static func schemaTooNew(found: Int, known: Int) -> FleetError { FleetError(.schemaTooNew(found: found, known: known)) }
    /// The server refused a statement (a bug or a damaged schema, not a transient fault).
    public static func query(_ reason: String) -> FleetError { FleetError(.query(reason)) }

    /// True when retrying later may succeed (the database is down or restarting).
    public var isTransient: Bool {
        if case .databaseUnavailable = code { return true }
        return false
    }

    /// True when the claim lost its lease (see ``staleLease(job:generation:)``).
    public var isStaleLease: Bool {
        if case .staleLease = code { return true }
        return false
    }

    /// True for ``quotaExhausted(grant:quota:)``.
    public var isQuotaExhausted: Bool {
        if case .quotaExhausted = code { return true }
        return false
    }

    public var description: String {
        switch code {
        case .badURL(let reason): return "queue.url: \(reason)"
        case .databaseUnavailable(let reason): return "database unavailable: \(reason)"
        case .staleLease(let job, let generation):
            return "job \(job): lease generation \(generation) is no longer current (lease expired or taken over); nothing committed"
        case .quotaExhausted(let grant, let quota): return "grant \(grant) has delivered its \(quota) images"
        case .conflictingEvent(let eventID): return "event \(eventID) is already in the ledger for another delivery"
        case .schemaTooNew(let found, let known):
            return "database schema version \(found) is newer than this binary's \(known): upgrade twinrender"
        case .query(let reason): return "database refused a statement: \(reason)"
        }
    }
}
