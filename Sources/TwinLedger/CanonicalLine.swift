// Role: the one text form of a royalty event and its seal. A line is a JSON object with the keys
// below, in this order (format 3 adds `image_fingerprint` after `output_sha256`; format 2, written
// before fingerprints were recorded, has none and stays valid), no whitespace, integers in plain decimal, strings with minimal escaping
// (`\"`, `\\`, and `\b \f \n \r \t` / `\u00XX` for control characters; everything else raw UTF-8).
// The *body* is the object up to `prev_hash`; `hash` is SHA-256 over the body's bytes, and
// `signature` the host's Ed25519 signature over `twinrender.ledger.event.v2\n` + the body's bytes.
// Reference: "canonical bytes are what is signed, and verification re-serialises and compares"
// (TUF canonical JSON, Certificate Transparency); Ed25519 as RFC 8032 (swift-crypto Curve25519).
// Failure modes: decoding reports a `LineDefect` (never crashes): not JSON or a missing/mistyped
// field (`malformed`), JSON that is not byte-for-byte canonical (`notCanonical`), a `hash` that does
// not match (`hashMismatch`), or fields that contradict each other (`inconsistent`). Whether the
// signature is the right host's is `isSigned(_:byAnyOf:)`'s question (the reader needs the keys).

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
    /// Value of the leading `v` member of a line without an image fingerprint.
    static let formatWithoutFingerprint = 2
    /// Value of the leading `v` member of a line with one: every line the daemon writes now.
    static let formatWithFingerprint = 3

    /// What the host signs in front of an event body (domain separation from signed heads).
    static let signaturePrefix = "twinrender.ledger.event.v2\n"

    /// The canonical object without `hash` and `signature`, as text.
    static func body(of e: RoyaltyEvent) -> String {
        var out = CanonicalJSON()
        out.int("v", e.imageFingerprint == nil ? formatWithoutFingerprint : formatWithFingerprint)
        out.string("event_id", e.eventID); out.string("job", e.job); out.int("image_index", e.imageIndex)
        out.string("twin", e.twin); out.string("model", e.model); out.string("licensee", e.licensee)
        out.string("order_signer", e.orderSigner); out.string("order_sha256", e.orderSHA256)
        out.string("grant", e.grant); out.string("grant_hash", e.grantHash); out.string("purpose", e.purpose)
        out.string("territory", e.territory); out.string("delivered_at", e.deliveredAt.description)
        out.string("output_sha256", e.outputSHA256)
        if let fingerprint = e.imageFingerprint { out.string("image_fingerprint", fingerprint) }
        out.string("watermark_payload", RoyaltyEvent.watermarkPayloadHex(e.watermarkPayload))
        out.int("amount", e.amount); out.int("commission_basis_points", e.commissionBasisPoints)
        out.int("agency_commission", e.agencyCommission); out.string("currency", e.currency)
        out.string("due_date", e.dueDate.description); out.string("host", e.host); out.int("seq", e.seq)
        out.string("prev_hash", e.prevHash)
        return out.text
    }

    /// SHA-256 of `body`, lowercase hex.
    static func hash(ofBody body: String) -> String { hex(SHA256.hash(data: Data(body.utf8))) }

    /// The bytes the host signs for an event with this body.
    static func signedMessage(body: String) -> Data { Data((signaturePrefix + body).utf8) }

    /// The full line (without its newline): the body with `hash` and `signature` appended.
    static func line(of e: RoyaltyEvent) -> String { line(body: body(of: e), hash: e.hash, signature: e.signature) }

    private static func line(body: String, hash: String, signature: Data) -> String {
        String(body.dropLast()) + ",\"hash\":\(CanonicalJSON.quoted(hash)),\"signature\":\"\(signature.base64EncodedString())\"}"
    }

    /// `event` (with its segment fields set) with its hash computed and signed by `key`.
    static func sealed(_ event: RoyaltyEvent, key: Curve25519.Signing.PrivateKey) throws -> RoyaltyEvent {
        let body = body(of: event)
        let signature: Data
        do { signature = try key.signature(for: signedMessage(body: body)) } catch {
            throw LedgerError.signingFailed("\(error)")
        }
        return event.with(host: event.host, seq: event.seq, prevHash: event.prevHash,
                          hash: hash(ofBody: body), signature: signature)
    }

    /// Whether `event`'s signature verifies under one of `keys`.
    static func isSigned(_ event: RoyaltyEvent, byAnyOf keys: [Curve25519.Signing.PublicKey]) -> Bool {
        let message = signedMessage(body: body(of: event))
        return keys.contains { $0.isValidSignature(event.signature, for: message) }
    }

    /// Parses and checks one line (without its newline); the signature is decoded, not verified.
    static func decode(_ bytes: ArraySlice<UInt8>) -> Result<RoyaltyEvent, LineDefect> {
        let wire: Wire
        switch decodeWire(bytes) {
        case .failure(let defect): return .failure(defect)
        case .success(let decoded): wire = decoded
        }
        switch (wire.v, wire.image_fingerprint) {
        case (formatWithoutFingerprint, nil), (formatWithFingerprint, .some): break
        case (formatWithoutFingerprint, .some): return .failure(.malformed("format version 2 has no image_fingerprint"))
        case (formatWithFingerprint, nil): return .failure(.malformed("missing field image_fingerprint"))
        default:
            return .failure(.malformed("format version \(wire.v), expected \(formatWithoutFingerprint) or \(formatWithFingerprint)"))
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
        guard let signature = Data(base64Encoded: wire.signature), signature.count == 64 else {
            return .failure(.malformed("signature is not 64 bytes of base64"))
        }
        let event = RoyaltyEvent(
            eventID: wire.event_id, job: wire.job, imageIndex: wire.image_index, twin: wire.twin, model: wire.model,
            licensee: wire.licensee, orderSigner: wire.order_signer, orderSHA256: wire.order_sha256, grant: wire.grant,
            grantHash: wire.grant_hash, purpose: wire.purpose, territory: wire.territory, deliveredAt: deliveredAt,
            outputSHA256: wire.output_sha256, imageFingerprint: wire.image_fingerprint, watermarkPayload: payload, amount: wire.amount,
            commissionBasisPoints: wire.commission_basis_points, agencyCommission: wire.agency_commission,
            currency: wire.currency, dueDate: dueDate, host: wire.host, seq: wire.seq, prevHash: wire.prev_hash,
            hash: wire.hash, signature: signature)
        let body = body(of: event)
        guard line(body: body, hash: event.hash, signature: signature).utf8.elementsEqual(bytes) else {
            return .failure(.notCanonical)
        }
        guard hash(ofBody: body) == event.hash else { return .failure(.hashMismatch) }
        if let reason = inconsistency(in: event) { return .failure(.inconsistent(reason)) }
        return .success(event)
    }

    private static func decodeWire(_ bytes: ArraySlice<UInt8>) -> Result<Wire, LineDefect> {
        do {
            return .success(try JSONDecoder().decode(Wire.self, from: Data(bytes)))
        } catch let DecodingError.keyNotFound(key, _) {
            return .failure(.malformed("missing field \(key.stringValue)"))
        } catch let DecodingError.typeMismatch(_, context) {
            return .failure(.malformed("wrong type for \(context.codingPath.map(\.stringValue).joined(separator: "."))"))
        } catch {
            return .failure(.malformed("not a JSON object"))
        }
    }

    /// What a hash-valid line can still get wrong: derived fields and value ranges.
    private static func inconsistency(in e: RoyaltyEvent) -> String? {
        if e.eventID != RoyaltyEvent.eventID(job: e.job, imageIndex: e.imageIndex) {
            return "event_id does not derive from job and image_index"
        }
        if e.watermarkPayload != RoyaltyEvent.watermarkPayload(eventID: e.eventID) {
            return "watermark_payload does not derive from event_id"
        }
        if e.amount < 0 || !(0...10_000).contains(e.commissionBasisPoints) { return "amounts out of range" }
        if e.agencyCommission != RoyaltyEvent.agencyCommission(amount: e.amount, basisPoints: e.commissionBasisPoints) {
            return "agency_commission is not amount x commission_basis_points / 10000 rounded half up"
        }
        if !isCurrencyCode(e.currency) { return "currency is not three uppercase letters" }
        if !isLowerHex(e.orderSHA256, count: 64) { return "order_sha256 is not 64 lowercase hex digits" }
        if let fingerprint = e.imageFingerprint, !isFingerprintText(fingerprint) { return "image_fingerprint has characters outside +/=:._- and alphanumerics" }
        if !HostName.isValid(e.host) { return "host is not a valid host name" }
        if e.seq < 1 { return "seq must start at 1" }
        if !isLowerHex(e.prevHash, count: 64) { return "prev_hash is not 64 lowercase hex digits" }
        return nil
    }

    /// The line's fields as JSON spells them.
    private struct Wire: Decodable {
        let v: Int
        let event_id: String, job: String, image_index: Int, twin: String, model: String, licensee: String
        let order_signer: String, order_sha256: String
        let grant: String, grant_hash: String, purpose: String, territory: String, delivered_at: String
        let output_sha256: String, image_fingerprint: String?, watermark_payload: String, amount: Int64, commission_basis_points: Int
        let agency_commission: Int64, currency: String, due_date: String, host: String, seq: Int64
        let prev_hash: String, hash: String, signature: String
    }
}

/// Builds one canonical JSON object member by member (keys in call order, minimal escaping).
struct CanonicalJSON {
    private var out = "{"

    /// The object so far, closed.
    var text: String { out + "}" }

    mutating func string(_ key: String, _ value: String) { member(key); out += Self.quoted(value) }

    mutating func int<I: BinaryInteger>(_ key: String, _ value: I) { member(key); out += String(value) }

    private mutating func member(_ key: String) { out += (out == "{" ? "" : ",") + Self.quoted(key) + ":" }

    static func quoted(_ s: String) -> String {
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
}
