import Foundation
import TwinBase
import Testing
@testable import TwinLedger

@Suite struct LedgerAppendTests {
    @Test func eventsChainByHashAndSequence() throws {
        let dir = makeTempDirectory()
        let ledger = try openLedger(dir, host: "render-1")
        let events = try appendEvents(ledger, count: 5)
        #expect(events.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(events[0].prevHash == RoyaltyEvent.genesisHash)
        for (previous, next) in zip(events, events.dropFirst()) { #expect(next.prevHash == previous.hash) }
        #expect(Set(events.map(\.hash)).count == 5)
        let lines = try segmentLines(ledger.segmentURL)
        #expect(lines.count == 5)
        #expect(lines[0] == CanonicalLine.line(of: events[0]))
        #expect(verify(dir, hosts: ["render-1"]).isValid)
        #expect(ledger.segmentURL.lastPathComponent == "render-1.jsonl")
        #expect(ledger.headURL.lastPathComponent == "render-1.jsonl.head")
        for event in events { #expect(CanonicalLine.isSigned(event, byAnyOf: [hostKey("render-1").publicKey])) }
        #expect(!CanonicalLine.isSigned(events[0], byAnyOf: [hostKey("render-2").publicKey]))
    }

    @Test func lineHasTheIssueFieldsInOrder() throws {
        let ledger = try openLedger(makeTempDirectory(), host: "h")
        let event = try ledger.append(sampleDraft())
        let line = try #require(try segmentLines(ledger.segmentURL).first)
        let keys = ["v", "event_id", "job", "image_index", "twin", "model", "licensee", "order_signer", "order_sha256",
                    "grant", "grant_hash", "purpose", "territory", "delivered_at", "output_sha256", "image_fingerprint",
                    "watermark_payload", "amount", "commission_basis_points", "agency_commission", "currency", "due_date", "host", "seq",
                    "prev_hash", "hash", "signature"]
        let positions = keys.map { line.range(of: "\"\($0)\":")!.lowerBound }
        #expect(positions == positions.sorted())
        #expect(line.contains("\"delivered_at\":\"2026-03-05T10:00:00Z\""))
        #expect(line.contains("\"due_date\":\"2026-04-04\""))
        #expect(line.hasPrefix("{\"v\":3,"))
        #expect(line.contains("\"image_fingerprint\":\"\(sampleFingerprint)\""))
        #expect(line.contains("\"amount\":1250,\"commission_basis_points\":2000,\"agency_commission\":250,\"currency\":\"EUR\""))
        #expect(line.contains("\"order_signer\":\"party:hm\",\"order_sha256\":\"\(sha256Hex("order job-1"))\""))
        #expect(event.orderSigner == "party:hm" && event.orderSHA256 == sha256Hex("order job-1"))
        #expect(line.hasSuffix("\"signature\":\"\(event.signature.base64EncodedString())\"}"))
        #expect(line.contains("\"watermark_payload\":\"\(RoyaltyEvent.watermarkPayloadHex(event.watermarkPayload))\""))
        #expect(event.net == 1000)
    }

    @Test func lineWithoutFingerprintIsFormatTwoAndStillReads() throws {
        let dir = try makeTempDirectory()
        let (old, new, lines) = try { () throws -> (RoyaltyEvent, RoyaltyEvent, [String]) in
            let ledger = try openLedger(dir, host: "h")
            let old = try ledger.append(sampleDraft(job: "old", fingerprint: nil))
            let new = try ledger.append(sampleDraft(job: "new"))
            return (old, new, try segmentLines(ledger.segmentURL))
        }()
        #expect(lines[0].hasPrefix("{\"v\":2,") && !lines[0].contains("image_fingerprint"))
        #expect(lines[1].hasPrefix("{\"v\":3,"))
        let reopened = try openLedger(dir, host: "h")
        #expect(try reopened.append(sampleDraft(job: "old", fingerprint: nil)) == old)
        #expect(old.imageFingerprint == nil && new.imageFingerprint == sampleFingerprint)
        for (index, line) in lines.enumerated() {
            guard case .success(let decoded) = CanonicalLine.decode(ArraySlice(line.utf8)) else {
                Issue.record("line \(index + 1) did not decode"); continue
            }
            #expect(decoded == (index == 0 ? old : new))
        }
    }

    @Test func fingerprintMustMatchTheFormatVersion() throws {
        let ledger = try openLedger(makeTempDirectory(), host: "h")
        _ = try ledger.append(sampleDraft())
        let line = try #require(try segmentLines(ledger.segmentURL).first)
        let relabelled = line.replacingOccurrences(of: "{\"v\":3,", with: "{\"v\":2,")
        #expect(CanonicalLine.decode(ArraySlice(relabelled.utf8)) == .failure(.malformed("format version 2 has no image_fingerprint")))
        let stripped = line.replacingOccurrences(of: "\"image_fingerprint\":\"\(sampleFingerprint)\",", with: "")
        #expect(CanonicalLine.decode(ArraySlice(stripped.utf8)) == .failure(.malformed("missing field image_fingerprint")))
        let swapped = line.replacingOccurrences(of: sampleFingerprint, with: "fp1:64x64:" + sampleFingerprint.dropFirst(12))
        #expect(CanonicalLine.decode(ArraySlice(swapped.utf8)) == .failure(.hashMismatch))
        #expect(throws: LedgerError.self) { try ledger.append(sampleDraft(job: "bad", fingerprint: "fp1 with spaces")) }
        #expect(throws: LedgerError.self) { try ledger.append(sampleDraft(job: "long", fingerprint: String(repeating: "A", count: 8193))) }
    }

    @Test func idsAndPayloadsAreDeterministicAndDistinct() {
        let id = RoyaltyEvent.eventID(job: "job-1", imageIndex: 0)
        #expect(id == RoyaltyEvent.eventID(job: "job-1", imageIndex: 0))
        #expect(id.hasPrefix("evt-") && id.count == 36)
        #expect(id != RoyaltyEvent.eventID(job: "job-1", imageIndex: 1))
        #expect(RoyaltyEvent.eventID(job: "job-1", imageIndex: 10) != RoyaltyEvent.eventID(job: "job-11", imageIndex: 0))
        let payloads = Set((0..<1000).map { RoyaltyEvent.watermarkPayload(eventID: RoyaltyEvent.eventID(job: "j", imageIndex: $0)) })
        #expect(payloads.count == 1000)
        #expect(RoyaltyEvent.watermarkPayloadHex(0xab) == "00000000000000ab")
        #expect(sampleDraft().watermarkPayload == RoyaltyEvent.watermarkPayload(eventID: sampleDraft().eventID))
    }

    @Test func appendIsIdempotentOnEventID() throws {
        let dir = makeTempDirectory()
        let ledger = try openLedger(dir, host: "h")
        let first = try ledger.append(sampleDraft(at: march5()))
        // A re-delivery after a crash happens later; the original event stands.
        let again = try ledger.append(sampleDraft(at: march5(plus: 3600)))
        #expect(again == first)
        #expect(try segmentLines(ledger.segmentURL).count == 1)
        #expect(ledger.localCount == 1)
    }

    @Test func idempotencySurvivesReopen() throws {
        let dir = makeTempDirectory()
        let first: RoyaltyEvent
        do {
            let ledger = try openLedger(dir, host: "h")
            first = try ledger.append(sampleDraft())
        }
        let ledger = try openLedger(dir, host: "h")
        #expect(try ledger.append(sampleDraft(at: march5(plus: 99))) == first)
        let second = try ledger.append(sampleDraft(job: "job-2"))
        #expect(second.seq == 2 && second.prevHash == first.hash)
        #expect(try segmentLines(ledger.segmentURL).count == 2)
    }

    @Test func sameIDWithDifferentContentIsAConflict() throws {
        let ledger = try openLedger(makeTempDirectory(), host: "h")
        _ = try ledger.append(sampleDraft())
        var changed = sampleDraft()
        changed.outputSHA256 = String(repeating: "1", count: 64)
        #expect(throws: LedgerError.conflictingEvent(eventID: changed.eventID, field: "output_sha256")) {
            try ledger.append(changed)
        }
        #expect(throws: LedgerError.conflictingEvent(eventID: changed.eventID, field: "amount")) {
            try ledger.append(sampleDraft(amount: 1))
        }
        changed = sampleDraft()
        changed.orderSHA256 = sha256Hex("another order")
        #expect(throws: LedgerError.conflictingEvent(eventID: changed.eventID, field: "order_sha256")) {
            try ledger.append(changed)
        }
        #expect(throws: LedgerError.conflictingEvent(eventID: changed.eventID, field: "commission_basis_points")) {
            try ledger.append(sampleDraft(basisPoints: 1999))
        }
    }

    @Test func invalidDraftsAreRefusedWithTheFieldNamed() throws {
        let ledger = try openLedger(makeTempDirectory(), host: "h")
        func reason(_ draft: RoyaltyEventDraft) -> String {
            do { _ = try ledger.append(draft); return "accepted" } catch { return "\(error)" }
        }
        var d = sampleDraft(); d.job = ""
        #expect(reason(d).contains("job"))
        d = sampleDraft(); d.licensee = "a\nb"
        #expect(reason(d).contains("licensee"))
        d = sampleDraft(); d.outputSHA256 = "ABC"
        #expect(reason(d).contains("output_sha256"))
        #expect(reason(sampleDraft(amount: -1)).contains("amount"))
        #expect(reason(sampleDraft(basisPoints: 10_001)).contains("commission_basis_points"))
        #expect(reason(sampleDraft(basisPoints: -1)).contains("commission_basis_points"))
        d = sampleDraft(); d.orderSHA256 = "x"
        #expect(reason(d).contains("order_sha256"))
        d = sampleDraft(); d.orderSigner = ""
        #expect(reason(d).contains("order_signer"))
        #expect(reason(sampleDraft(currency: "eur")).contains("currency"))
        #expect(reason(sampleDraft(paymentDays: -1)).contains("payment days"))
        d = sampleDraft(); d.imageIndex = -1
        #expect(reason(d).contains("image_index"))
        #expect(try segmentLines(ledger.segmentURL).isEmpty)
    }

    @Test func quotaIsEnforcedAtTheCommitPoint() throws {
        let ledger = try openLedger(makeTempDirectory(), host: "h")
        _ = try ledger.append(sampleDraft(job: "a"), quota: 2)
        _ = try ledger.append(sampleDraft(job: "b"), quota: 2)
        #expect(throws: LedgerError.quotaExhausted(grant: "grant-1", quota: 2)) {
            try ledger.append(sampleDraft(job: "c"), quota: 2)
        }
        // Re-appending an already delivered event is not a new delivery.
        #expect(try ledger.append(sampleDraft(job: "b"), quota: 2).job == "b")
        #expect(try ledger.append(sampleDraft(job: "c", grant: "grant-2"), quota: 2).seq == 3)
        #expect(try ledger.reader.deliveredCount(grant: "grant-1") == 2)
    }

    @Test func hostNamesAreChecked() {
        for bad in ["", ".hidden", "-dash", "a/b", "a b", "render 01", "../x", String(repeating: "h", count: 65)] {
            #expect(throws: LedgerError.invalidHost(bad)) { try openLedger(makeTempDirectory(), host: bad) }
        }
    }

    @Test func secondWriterForTheSameHostIsLockedOut() throws {
        let dir = makeTempDirectory()
        let ledger = try openLedger(dir, host: "h")
        #expect(throws: LedgerError.segmentLocked(ledger.segmentURL.path)) { try openLedger(dir, host: "h") }
        withExtendedLifetime(ledger) {}
    }

    @Test func hostsAppendConcurrentlyToTheirOwnSegments() async throws {
        let dir = makeTempDirectory()
        let hosts = ["render-a", "render-b", "render-c"]
        // Separate ledgers hold separate open files and flocks, as separate processes do.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for host in hosts {
                group.addTask {
                    let ledger = try openLedger(dir, host: host)
                    try appendEvents(ledger, count: 40, prefix: host)
                }
            }
            try await group.waitForAll()
        }
        let verification = verify(dir, hosts: hosts)
        #expect(verification.isValid, "\(verification.problems)")
        #expect(verification.segments.map(\.host) == hosts)
        #expect(verification.segments.map(\.lastSeq) == [40, 40, 40])
        let events = try LedgerReader(directory: dir).events()
        #expect(events.count == 120)
        #expect(Set(events.map(\.eventID)).count == 120)
        #expect(try LedgerReader(directory: dir).deliveredCount(grant: "grant-1") == 120)
    }
}
