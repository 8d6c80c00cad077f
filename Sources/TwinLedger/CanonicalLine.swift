// Role: the one text form of a royalty event. A line is a JSON object with the keys below, in this
// order, no whitespace, integers in plain decimal, strings with minimal escaping (`\"`, `\\`, and
// `\b \f \n \r \t` / `\u00XX` for control characters; everything else raw UTF-8). `hash` is
// SHA-256 over the same object without its final `hash` member.
// Failure modes: decoding reports a `LineDefect` (never crashes): not JSON or a missing/mistyped
// field (`malformed`), JSON that is not byte-for-byte canonical (`notCanonical`), a `hash` that does
// not match (`hashMismatch`), or fields that contradict each other (`inconsistent`).

import Crypto
import Foundation
import TwinBase

/// Why a ledger line could not be accepted.
enum LineDefect: Error, Equatable {
    case malformed(String)
    case notCanonical
    case hashMismatch
    case inconsistent(String)

    var message: String {
        switch self {
        case .malformed(let reason): return "malformed line: \(reason)"
        case .notCanonical: return "line is not in canonical form (edited by hand?)"
        case .hashMismatch: return "hash does not match the line's content"
        case .inconsistent(let reason): return "inconsistent event: \(reason)"
        }
    }
}

enum CanonicalLine {
    /// The canonical object without `hash`, as text.
    static func body(of e: RoyaltyEvent) -> String {
        var out = "{"
        var first = true
        func key(_ k: String) { out += first ? "\"\(k)\":" : ",\"\(k)\":"; first = false }
        func str(_ k: String, _ v: String) { key(k); out += quoted(v) }
        func int<I: BinaryInteger>(_ k: String, _ v: I) { key(k); out += String(v) }
        str("event_id", e.eventID); str("job", e.job); int("image_index", e.imageIndex)
        str("twin", e.twin); str("model", e.model); str("licensee", e.licensee); str("grant", e.grant)
        str("grant_hash", e.grantHash); str("purpose", e.purpose); str("territory", e.territory)
        str("delivered_at", e.deliveredAt.description); str("output_sha256", e.outputSHA256)
        str("watermark_payload", RoyaltyEvent.watermarkPayloadHex(e.watermarkPayload))
        int("amount", e.amount); int("agency_commission", e.agencyCommission); str("currency", e.currency)
        str("due_date", e.dueDate.description); str("host", e.host); int("seq", e.seq)
        str("prev_hash", e.prevHash)
        return out + "}"
    }

    /// SHA-256 of `body`, lowercase hex.
    static func hash(ofBody body: String) -> String { hex(SHA256.hash(data: Data(body.utf8))) }

    /// The full line (without its newline): the body with `"hash"` appended as the last member.
    static func line(of e: RoyaltyEvent) -> String { line(body: body(of: e), hash: e.hash) }

    private static func line(body: String, hash: String) -> String {
        String(body.dropLast()) + ",\"hash\":\(quoted(hash))}"
    }

    /// Parses and checks one line (without its newline).
    static func decode(_ bytes: ArraySlice<UInt8>) -> Result<RoyaltyEvent, LineDefect> {
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, _) {
            return .failure(.malformed("missing field \(key.stringValue)"))
        } catch let DecodingError.typeMismatch(_, context) {
            return .failure(.malformed("wrong type for \(context.codingPath.map(\.stringValue).joined(separator: "."))"))
        } catch {
            return .failure(.malformed("not a JSON object"))
        }
        guard let deliveredAt = UTCTimestamp(iso8601: wire.delivered_at) else {
            return .failure(.malformed("delivered_at is not YYYY-MM-DDTHH:MM:SSZ"))
        }
        guard let dueDate = CalendarDate(iso8601: wire.due_date) else {
            return .failure(.malformed("due_date is not YYYY-MM-DD"))
        }
        guard isLowerHex(wire.watermark_payload, count: 16), let payload = UInt64(wire.watermark_payload, radix: 16) else {
            return .failure(.malformed("watermark_payload is not 16 lowercase hex digits"))
        }
        let event = RoyaltyEvent(
            eventID: wire.event_id, job: wire.job, imageIndex: wire.image_index, twin: wire.twin, model: wire.model,
            licensee: wire.licensee, grant: wire.grant, grantHash: wire.grant_hash, purpose: wire.purpose,
            territory: wire.territory, deliveredAt: deliveredAt, outputSHA256: wire.output_sha256,
            watermarkPayload: payload, amount: wire.amount, agencyCommission: wire.agency_commission,
            currency: wire.currency, dueDate: dueDate, host: wire.host, seq: wire.seq, prevHash: wire.prev_hash,
            hash: wire.hash)
        let body = body(of: event)
        guard line(body: body, hash: event.hash).utf8.elementsEqual(bytes) else { return .failure(.notCanonical) }
        guard hash(ofBody: body) == event.hash else { return .failure(.hashMismatch) }
        if let reason = inconsistency(in: event) { return .failure(.inconsistent(reason)) }
        return .success(event)
    }

    /// What a hash-valid line can still get wrong: derived fields and value ranges.
    private static func inconsistency(in e: RoyaltyEvent) -> String? {
        if e.eventID != RoyaltyEvent.eventID(job: e.job, imageIndex: e.imageIndex) {
            return "event_id does not derive from job and image_index"
        }
        if e.watermarkPayload != RoyaltyEvent.watermarkPayload(eventID: e.eventID) {
            return "watermark_payload does not derive from event_id"
        }
        if e.amount < 0 || e.agencyCommission < 0 || e.agencyCommission > e.amount {
            return "amounts out of range"
        }
        if !isCurrencyCode(e.currency) { return "currency is not three uppercase letters" }
        if e.seq < 1 { return "seq must start at 1" }
        if !isLowerHex(e.prevHash, count: 64) { return "prev_hash is not 64 lowercase hex digits" }
        return nil
    }

    private static func quoted(_ s: String) -> String {
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            return "\"" + s + "\""
        }
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let digits = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The line's fields as JSON spells them.
    private struct Wire: Decodable {
        let event_id: String, job: String, image_index: Int, twin: String, model: String, licensee: String
        let grant: String, grant_hash: String, purpose: String, territory: String, delivered_at: String
        let output_sha256: String, watermark_payload: String, amount: Int64, agency_commission: Int64
        let currency: String, due_date: String, host: String, seq: Int64, prev_hash: String, hash: String
    }
}
