// Role: the commit point of a fleet delivery, one transaction: check the fencing token, append
// the host-signed, hash-chained royalty events, advance the host's signed head, mark the job
// delivered and drop its reservations, consume the grants' quota. Either all of it or none. Row
// locks are taken in one order (job, host head, grant), the busiest (a grant shared by every
// host) last, so it is held for one statement and the COMMIT; about six round trips in all.
// Reference: river's "complete only with the generation you claimed"; the ledger's line, chain
// and signature are TwinLedger's own (`RoyaltyEventDraft.sealed`, `SignedHead.signed`), so the
// exported chain verifies with the same auditor as the file ledger (docs/ledger.md).
// Failure modes: a claim that is no longer current (`staleLease`), a grant over its limit
// (`quotaExhausted`), an event id already in the ledger (`conflictingEvent`) roll everything back;
// so does any database error. A crash before COMMIT leaves nothing; after it, everything. Two
// workers of one host serialise on the host's `ledger_heads` row, so its chain never forks. A
// commit whose COMMIT reply was lost (database restart) is retried safely: the retry finds the job
// delivered by this very claim and returns the events already written, so nothing is doubled.

import Crypto
import Foundation
import Logging
import PostgresNIO
import TwinBase
import TwinLedger

/// The images of one claim to deliver, with the grants' limits to enforce.
public struct FleetDelivery: Sendable {
    /// The claim (its generation is the fencing token).
    public let claim: FleetClaim
    /// One draft per image delivered now.
    public let drafts: [RoyaltyEventDraft]
    /// Each grant's image limit (nil: unlimited), for every grant the drafts name.
    public let quotas: [String: Int?]

    /// A delivery of `drafts` under `claim`.
    public init(claim: FleetClaim, drafts: [RoyaltyEventDraft], quotas: [String: Int?]) {
        self.claim = claim; self.drafts = drafts; self.quotas = quotas
    }
}

extension FleetQueue {
    /// Commits `delivery` (see the file header) and returns the sealed events, in draft order.
    /// - Throws: `staleLease`, `quotaExhausted`, `conflictingEvent`, `invalidDraft`-style
    ///   `LedgerError`s, `databaseUnavailable`; in every case nothing was committed.
    public func commit(_ delivery: FleetDelivery, key: Curve25519.Signing.PrivateKey) async throws -> [RoyaltyEvent] {
        let claim = delivery.claim
        let host = self.host
        let keyBytes = key.rawRepresentation   // the key type is not Sendable; its bytes are
        precondition(claim.host == host, "a claim is committed by the host that holds it")
        return try await database.transaction("commit \(claim.job)") { connection in
            let logger = database.logger
            let lease = try await connection.query("""
                SELECT state, generation, lease_holder, delivered_by FROM jobs WHERE id = \(claim.job) FOR UPDATE
                """, logger: logger).collect().first?.decode((String, Int64, String?, String?).self)
            if let lease, lease.0 == "delivered", lease.1 == claim.generation, lease.3 == host {
                // This very claim committed already (an earlier try whose COMMIT reply was lost):
                // answer with what it wrote, write nothing again.
                return try await Self.committedEvents(job: claim.job, generation: claim.generation, connection, logger: logger)
            }
            guard let lease, lease.0 == "leased", lease.1 == claim.generation, lease.2 == host else {
                throw FleetError.staleLease(job: claim.job, generation: claim.generation)
            }
            var perGrant = [String: Int]()
            for draft in delivery.drafts { perGrant[draft.grant, default: 0] += 1 }
            for (grant, count) in perGrant {
                if let limit = delivery.quotas[grant] ?? nil, count > limit { throw FleetError.quotaExhausted(grant: grant, quota: limit) }
            }
            // The host's chain head, created at genesis on the first delivery; the upsert locks
            // the row, so this host's workers append one after another.
            guard let headRow = try await connection.query("""
                INSERT INTO ledger_heads (host, seq, hash, size) VALUES (\(host), 0, \(RoyaltyEvent.genesisHash), 0)
                ON CONFLICT (host) DO UPDATE SET host = EXCLUDED.host RETURNING seq, hash, size
                """, logger: logger).collect().first
            else { throw FleetError.query("ledger head of \(host): the upsert returned no row") }
            let (seq, hash, size) = try headRow.decode((Int64, String, Int64).self)
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: keyBytes)
            var position = ChainPosition(seq: seq, hash: hash, size: size)
            var events = [RoyaltyEvent]()
            for draft in delivery.drafts {
                let event = try draft.sealed(host: host, after: position, key: key)
                let inserted = try await connection.query("""
                    INSERT INTO royalty_events (event_id, host, seq, job, image_index, grant_uid, output_sha256, generation, line)
                    VALUES (\(event.eventID), \(host), \(event.seq), \(event.job), \(event.imageIndex), \(event.grant),
                            \(event.outputSHA256), \(claim.generation), \(event.jsonLine))
                    ON CONFLICT DO NOTHING RETURNING event_id
                    """, logger: logger).collect()
                if inserted.isEmpty { throw FleetError.conflictingEvent(eventID: event.eventID) }
                position = position.after(event)
                events.append(event)
            }
            let head = try SignedHead.signed(host: host, at: position, time: UTCTimestamp.now(), key: key)
            try await connection.query("""
                WITH advanced AS (
                  UPDATE ledger_heads SET seq = \(position.seq), hash = \(position.hash), size = \(position.size),
                    head = \(head.fileText) WHERE host = \(host)),
                released AS (DELETE FROM quota_reservations WHERE job = \(claim.job))
                UPDATE jobs SET state = 'delivered', lease_holder = NULL, lease_expires = NULL, reason_code = NULL,
                  reason = NULL, delivered_by = \(host), delivered_at = clock_timestamp(), updated_at = clock_timestamp()
                WHERE id = \(claim.job)
                """, logger: logger)
            // The grants' quota last: every commit under a grant waits for this row, so it is
            // held only for this statement and the COMMIT.
            for (grant, count) in perGrant.sorted(by: { $0.key < $1.key }) {
                let limit: Int? = delivery.quotas[grant] ?? nil
                let consumed = try await connection.query("""
                    INSERT INTO grant_quota AS q (grant_uid, max_images, delivered) VALUES (\(grant), \(limit), \(count))
                    ON CONFLICT (grant_uid) DO UPDATE SET delivered = q.delivered + EXCLUDED.delivered, max_images = EXCLUDED.max_images
                    WHERE EXCLUDED.max_images IS NULL OR q.delivered + EXCLUDED.delivered <= EXCLUDED.max_images
                    RETURNING delivered
                    """, logger: logger).collect()
                if consumed.isEmpty { throw FleetError.quotaExhausted(grant: grant, quota: limit ?? 0) }
            }
            return events
        }
    }

    /// The events `generation` of `job` committed, in image order.
    private static func committedEvents(job: String, generation: Int64, _ connection: PostgresConnection,
                                        logger: Logger) async throws -> [RoyaltyEvent] {
        var events = [RoyaltyEvent]()
        for try await line in try await connection.query("""
            SELECT line FROM royalty_events WHERE job = \(job) AND generation = \(generation) ORDER BY image_index
            """, logger: logger).decode(String.self) {
            guard let event = RoyaltyEvent.parse(line: line) else {
                throw FleetError.query("a royalty event of job \(job) is not a canonical ledger line")
            }
            events.append(event)
        }
        return events
    }

    /// What counts against each grant the fleet has seen, for a consent decision on `job`: images
    /// delivered plus images other jobs hold reservations for (the job's own reservation is not
    /// counted, so deciding again at delivery does not count its images twice). Grants no host has
    /// reserved or delivered under are absent (nothing counts against them).
    public func quotaUsage(excludingJob job: String) async throws -> [String: Int] {
        try await database.connection("read quota usage for \(job)") { connection in
            var usage = [String: Int]()
            for try await (grant, used) in try await connection.query("""
                SELECT g.grant_uid, g.delivered + coalesce((SELECT sum(r.images) FROM quota_reservations r
                                                            WHERE r.grant_uid = g.grant_uid AND r.job <> \(job)), 0)::integer
                FROM grant_quota g
                """, logger: database.logger).decode((String, Int).self) {
                usage[grant] = used
            }
            return usage
        }
    }

    /// Reserves `images` of `grant`'s limit for the claim's job (replacing an earlier reservation
    /// of the job), so concurrent hosts cannot together start more renders than the grant allows.
    /// Delivered images plus every other job's reservation plus `images` must fit in `limit`.
    /// - Throws: `quotaExhausted` (nothing reserved), `staleLease`.
    public func reserve(_ claim: FleetClaim, grant: String, images: Int, limit: Int?) async throws {
        precondition(images > 0, "a reservation is for at least one image")
        let host = self.host
        try await database.transaction("reserve quota for \(claim.job)") { connection in
            let logger = database.logger
            let current = try await connection.query("""
                SELECT 1 FROM jobs WHERE id = \(claim.job) AND state = 'leased' AND lease_holder = \(host)
                  AND generation = \(claim.generation) FOR UPDATE
                """, logger: logger).collect()
            if current.isEmpty { throw FleetError.staleLease(job: claim.job, generation: claim.generation) }
            try await connection.query("""
                INSERT INTO grant_quota (grant_uid, max_images) VALUES (\(grant), \(limit)) ON CONFLICT (grant_uid) DO NOTHING
                """, logger: logger)
            let delivered = try await connection.query(
                "SELECT delivered FROM grant_quota WHERE grant_uid = \(grant) FOR UPDATE", logger: logger)
                .collect().first?.decode(Int.self) ?? 0
            let reserved = try await connection.query("""
                SELECT coalesce(sum(images), 0)::integer FROM quota_reservations WHERE grant_uid = \(grant) AND job <> \(claim.job)
                """, logger: logger).collect().first?.decode(Int.self) ?? 0
            if let limit, delivered + reserved + images > limit { throw FleetError.quotaExhausted(grant: grant, quota: limit) }
            try await connection.query("""
                INSERT INTO quota_reservations (job, grant_uid, images, generation)
                VALUES (\(claim.job), \(grant), \(images), \(claim.generation))
                ON CONFLICT (job, grant_uid) DO UPDATE SET images = EXCLUDED.images, generation = EXCLUDED.generation
                """, logger: logger)
        }
    }
}
