// Role: the read side of the ledger, merging every host's segment: lookups by event id and
// watermark payload, delivered counts per grant (the consent quota), the full event list, and
// `verify`. Each call first reads whatever was appended since the previous call.
// Failure modes: lookups throw `LedgerError.damagedSegment` when a complete line is damaged (a
// quota must not be computed from a ledger that cannot be trusted); a duplicated event id is
// counted once and never makes a lookup throw; a missing directory is empty. Lookups check hashes
// and chains but not signatures; `verify(hostKeys:)` checks everything.
// Reference: Certificate Transparency's split between a log client (lookups) and an auditor (`verify`).

import Crypto
import Foundation
import TwinBase

/// Reads all segments (`<host>.jsonl`) of a ledger directory. Safe to share between threads.
public final class LedgerReader: @unchecked Sendable {
    /// The ledger directory.
    public let directory: URL
    private let lock = NSLock()
    private let index: LedgerIndex

    /// A reader of `directory`; reads nothing until asked.
    public init(directory: URL) {
        self.directory = directory
        self.index = LedgerIndex(directory: directory)
    }

    /// Every event in every segment (each event id once), ordered by delivery time, then host, then seq.
    public func events() throws -> [RoyaltyEvent] {
        try refreshed { $0.events }.sorted {
            ($0.deliveredAt.secondsSinceEpoch, $0.host, $0.seq) < ($1.deliveredAt.secondsSinceEpoch, $1.host, $1.seq)
        }
    }

    /// The event with `id`, if delivered.
    public func event(id: String) throws -> RoyaltyEvent? { try refreshed { $0.event(id: id) } }

    /// The event whose image carries watermark `payload` (what `twinrender verify` looks up).
    public func event(watermarkPayload payload: UInt64) throws -> RoyaltyEvent? {
        try refreshed { $0.event(watermarkPayload: payload) }
    }

    /// Images delivered under consent grant `grant`, across all hosts (each event id once).
    public func deliveredCount(grant: String) throws -> Int { try refreshed { $0.deliveredCount(grant: grant) } }

    /// Checks every segment and signed head from scratch against the hosts' public keys (host name
    /// -> every key valid for it, so rotated keys can be listed) and reports every problem; see
    /// ``LedgerVerification``. A segment of a host missing from `hostKeys` is a problem.
    public func verify(hostKeys: [String: [Curve25519.Signing.PublicKey]]) -> LedgerVerification {
        LedgerVerifier(directory: directory, hostKeys: hostKeys).run()
    }

    private func refreshed<T>(_ body: (LedgerIndex) -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        try index.refresh()
        return body(index)
    }
}
