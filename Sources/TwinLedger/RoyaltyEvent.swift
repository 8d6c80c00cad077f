// Role: the royalty event (one signed JSON line per delivered image) and the draft the daemon fills
// in. The line format, field order, hashing and signing live in CanonicalLine.swift; this file holds
// the values, their derivations (event id, watermark payload, due date, agency commission) and the
// validation of a draft.
// Reference: the commission is rounded half up in integer arithmetic, as a royalty statement's
// "per line, to the minor unit" rule asks (DDEX DSR line amounts are exact minor units).
// Failure modes: a draft with an empty/control-character text field, a malformed hash, a negative
// amount, basis points outside 0...10000 or a malformed currency is refused with `invalidDraft`.

import Crypto
import Foundation
import TwinBase

/// One delivered image's royalty record, as stored (one line) in a host's ledger segment.
///
/// `hash` is SHA-256 over the canonical line without its `hash` and `signature` members; `prevHash`
/// is the previous line's `hash` in the same segment (64 zeros for the first line), so every line
/// chains to the one before it; `signature` is the render host's Ed25519 signature over the same
/// canonical text, so nobody without the host's key can write, edit or re-chain a line.
public struct RoyaltyEvent: Sendable, Hashable {
    /// Deterministic from `job` and `imageIndex`: see ``eventID(job:imageIndex:)``. The exactly-once key.
    public let eventID: String
    /// The spool job (signed order) that produced the image.
    public let job: String
    /// Index of the image within the job (0-based).
    public let imageIndex: Int
    /// The digital twin rendered.
    public let twin: String
    /// The payee party: the model the twin belongs to.
    public let model: String
    /// The party licensed to use the image.
    public let licensee: String
    /// Party id of the licensee key that signed the order.
    public let orderSigner: String
    /// SHA-256 of the signed order bytes, 64 lowercase hex digits.
    public let orderSHA256: String
    /// Consent grant uid the image was rendered under.
    public let grant: String
    /// Hash of the consent grant document, as the consent stage reports it.
    public let grantHash: String
    /// Licensed purpose (e.g. `ecommerce`).
    public let purpose: String
    /// Licensed territory (e.g. `EU`, `US`, `WORLD`).
    public let territory: String
    /// When the image was delivered (UTC, whole seconds).
    public let deliveredAt: UTCTimestamp
    /// SHA-256 of the delivered image file, 64 lowercase hex digits.
    public let outputSHA256: String
    /// Perceptual fingerprint of the delivered image (TwinImaging's `ImageFingerprint` text form),
    /// which lets `verify` tell an edited copy from a different picture carrying this image's
    /// mark; nil on lines of format version 2, written before fingerprints were recorded.
    public let imageFingerprint: String?
    /// The 64-bit payload embedded in the image's invisible watermark: see ``watermarkPayload(eventID:)``.
    public let watermarkPayload: UInt64
    /// Gross royalty in minor units of `currency`.
    public let amount: Int64
    /// The agency's share in basis points (0...10000) as the grant states it.
    public let commissionBasisPoints: Int
    /// `amount * commissionBasisPoints / 10000`, rounded half up: see ``agencyCommission(amount:basisPoints:)``.
    public let agencyCommission: Int64
    /// ISO 4217 alphabetic code (three uppercase letters).
    public let currency: String
    /// `deliveredAt`'s UTC day plus the grant's payment days.
    public let dueDate: CalendarDate
    /// The render host whose segment holds this event.
    public let host: String
    /// Position in the host's segment, starting at 1.
    public let seq: Int64
    /// The previous line's `hash` (64 zeros for seq 1).
    public let prevHash: String
    /// SHA-256 over the canonical line without `hash` and `signature`, 64 lowercase hex digits.
    public let hash: String
    /// The host's Ed25519 signature over the same canonical text (64 bytes).
    public let signature: Data

    /// `prevHash` of the first line of every segment.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The event id for image `imageIndex` of `job`: `evt-` and the first 16 bytes (32 hex digits) of
    /// SHA-256 over `twinrender-royalty-event/1`, the job id and the index, each followed by a newline.
    public static func eventID(job: String, imageIndex: Int) -> String {
        let digest = SHA256.hash(data: Data("twinrender-royalty-event/1\n\(job)\n\(imageIndex)\n".utf8))
        return "evt-" + hex(digest.prefix(16))
    }

    /// The watermark payload for `eventID`: the first 8 bytes of SHA-256 of the id, big-endian.
    public static func watermarkPayload(eventID: String) -> UInt64 {
        SHA256.hash(data: Data(eventID.utf8)).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// `payload` as the 16 lowercase hex digits the ledger line stores.
    public static func watermarkPayloadHex(_ payload: UInt64) -> String {
        let digits = String(payload, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// `amount * basisPoints / 10000` rounded half up, without overflow for any `amount >= 0` and
    /// `basisPoints` in 0...10000 (5 minor units at 1999 bp give 1, not 0).
    public static func agencyCommission(amount: Int64, basisPoints: Int) -> Int64 {
        precondition(amount >= 0 && (0...10_000).contains(basisPoints), "commission inputs out of range")
        let bp = Int64(basisPoints)
        let (whole, rest) = amount.quotientAndRemainder(dividingBy: 10_000)
        return whole * bp + (rest * bp + 5_000) / 10_000
    }

    /// Net royalty to the model: `amount - agencyCommission`.
    public var net: Int64 { amount - agencyCommission }

    /// The event's ledger line (canonical JSON, without the newline).
    public var jsonLine: String { CanonicalLine.line(of: self) }

    /// Memberwise; values are trusted (the ledger builds events from validated drafts or checked lines).
    init(eventID: String, job: String, imageIndex: Int, twin: String, model: String, licensee: String,
         orderSigner: String, orderSHA256: String, grant: String, grantHash: String, purpose: String,
         territory: String, deliveredAt: UTCTimestamp, outputSHA256: String, imageFingerprint: String?,
         watermarkPayload: UInt64, amount: Int64, commissionBasisPoints: Int, agencyCommission: Int64, currency: String,
         dueDate: CalendarDate, host: String, seq: Int64, prevHash: String, hash: String, signature: Data) {
        self.eventID = eventID; self.job = job; self.imageIndex = imageIndex; self.twin = twin
        self.model = model; self.licensee = licensee; self.orderSigner = orderSigner; self.orderSHA256 = orderSHA256
        self.grant = grant; self.grantHash = grantHash; self.purpose = purpose; self.territory = territory
        self.deliveredAt = deliveredAt; self.outputSHA256 = outputSHA256; self.imageFingerprint = imageFingerprint
        self.watermarkPayload = watermarkPayload
        self.amount = amount; self.commissionBasisPoints = commissionBasisPoints
        self.agencyCommission = agencyCommission; self.currency = currency; self.dueDate = dueDate
        self.host = host; self.seq = seq; self.prevHash = prevHash; self.hash = hash; self.signature = signature
    }

    /// A copy with the segment fields (host, seq, prev_hash) and the seal (hash, signature) replaced.
    func with(host: String, seq: Int64, prevHash: String, hash: String = "", signature: Data = Data()) -> RoyaltyEvent {
        RoyaltyEvent(eventID: eventID, job: job, imageIndex: imageIndex, twin: twin, model: model, licensee: licensee,
                     orderSigner: orderSigner, orderSHA256: orderSHA256, grant: grant, grantHash: grantHash,
                     purpose: purpose, territory: territory, deliveredAt: deliveredAt, outputSHA256: outputSHA256,
                     imageFingerprint: imageFingerprint, watermarkPayload: watermarkPayload, amount: amount,
                     commissionBasisPoints: commissionBasisPoints, agencyCommission: agencyCommission, currency: currency,
                     dueDate: dueDate, host: host, seq: seq, prevHash: prevHash, hash: hash, signature: signature)
    }
}

/// What the daemon knows about a delivered image; ``RoyaltyLedger/append(_:quota:)`` turns it into a
/// ``RoyaltyEvent`` by adding the id, payload, commission, due date, host, sequence number, hashes
/// and the host's signature.
public struct RoyaltyEventDraft: Sendable, Hashable {
    public var job: String
    public var imageIndex: Int
    public var twin: String
    public var model: String
    public var licensee: String
    /// Party id of the licensee key that signed the order.
    public var orderSigner: String
    /// SHA-256 of the signed order bytes, 64 lowercase hex digits.
    public var orderSHA256: String
    public var grant: String
    public var grantHash: String
    public var purpose: String
    public var territory: String
    public var deliveredAt: UTCTimestamp
    /// SHA-256 of the delivered image file, 64 lowercase hex digits.
    public var outputSHA256: String
    /// Perceptual fingerprint of the delivered image (opaque to the ledger: 1...8192 bytes of
    /// letters, digits and `+/=:._-`); nil writes a format-2 line without one.
    public var imageFingerprint: String?
    /// Gross royalty in minor units, `>= 0`.
    public var amount: Int64
    /// The agency's share in basis points, 0...10000; the ledger computes the commission from it.
    public var commissionBasisPoints: Int
    public var currency: String
    /// The grant's payment term: `dueDate = deliveredAt`'s UTC day + `paymentDays` (0...3650).
    public var paymentDays: Int

    /// Memberwise initializer; validation happens on append.
    public init(job: String, imageIndex: Int, twin: String, model: String, licensee: String, orderSigner: String,
                orderSHA256: String, grant: String, grantHash: String, purpose: String, territory: String,
                deliveredAt: UTCTimestamp, outputSHA256: String, imageFingerprint: String? = nil, amount: Int64,
                commissionBasisPoints: Int, currency: String, paymentDays: Int) {
        self.job = job; self.imageIndex = imageIndex; self.twin = twin; self.model = model
        self.licensee = licensee; self.orderSigner = orderSigner; self.orderSHA256 = orderSHA256
        self.grant = grant; self.grantHash = grantHash; self.purpose = purpose; self.territory = territory
        self.deliveredAt = deliveredAt; self.outputSHA256 = outputSHA256; self.imageFingerprint = imageFingerprint
        self.amount = amount
        self.commissionBasisPoints = commissionBasisPoints; self.currency = currency; self.paymentDays = paymentDays
    }

    /// ``RoyaltyEvent/eventID(job:imageIndex:)`` of this draft.
    public var eventID: String { RoyaltyEvent.eventID(job: job, imageIndex: imageIndex) }

    /// ``RoyaltyEvent/watermarkPayload(eventID:)`` of this draft: what the daemon embeds in the image.
    public var watermarkPayload: UInt64 { RoyaltyEvent.watermarkPayload(eventID: eventID) }

    /// Throws `invalidDraft` naming the first bad field.
    func validate() throws {
        for (name, value) in [("job", job), ("twin", twin), ("model", model), ("licensee", licensee),
                              ("order_signer", orderSigner), ("grant", grant), ("grant_hash", grantHash),
                              ("purpose", purpose), ("territory", territory)] {
            guard isPlainText(value) else {
                throw LedgerError.invalidDraft("\(name) must be 1...256 bytes of text without control characters")
            }
        }
        guard imageIndex >= 0 else { throw LedgerError.invalidDraft("image_index must be >= 0, got \(imageIndex)") }
        for (name, value) in [("order_sha256", orderSHA256), ("output_sha256", outputSHA256)] {
            guard isLowerHex(value, count: 64) else { throw LedgerError.invalidDraft("\(name) must be 64 lowercase hex digits") }
        }
        if let imageFingerprint, !isFingerprintText(imageFingerprint) {
            throw LedgerError.invalidDraft("image_fingerprint must be 1...8192 bytes of letters, digits and +/=:._-")
        }
        guard amount >= 0 else { throw LedgerError.invalidDraft("amount must be >= 0, got \(amount)") }
        guard (0...10_000).contains(commissionBasisPoints) else {
            throw LedgerError.invalidDraft("commission_basis_points must be in 0...10000, got \(commissionBasisPoints)")
        }
        guard isCurrencyCode(currency) else {
            throw LedgerError.invalidDraft("currency must be three uppercase letters (ISO 4217), got \(currency.debugDescription)")
        }
        guard (0...3650).contains(paymentDays) else {
            throw LedgerError.invalidDraft("payment days must be in 0...3650, got \(paymentDays)")
        }
    }

    /// The unsigned event this draft describes, before it is placed in a segment.
    func event() -> RoyaltyEvent {
        RoyaltyEvent(eventID: eventID, job: job, imageIndex: imageIndex, twin: twin, model: model, licensee: licensee,
                     orderSigner: orderSigner, orderSHA256: orderSHA256, grant: grant, grantHash: grantHash,
                     purpose: purpose, territory: territory, deliveredAt: deliveredAt, outputSHA256: outputSHA256,
                     imageFingerprint: imageFingerprint, watermarkPayload: watermarkPayload, amount: amount,
                     commissionBasisPoints: commissionBasisPoints, agencyCommission: RoyaltyEvent.agencyCommission(amount: amount, basisPoints: commissionBasisPoints),
                     currency: currency, dueDate: deliveredAt.calendarDate.adding(days: paymentDays),
                     host: "", seq: 0, prevHash: "", hash: "", signature: Data())
    }

    /// The first content field where `event` differs from this draft (delivery time and host
    /// excepted: a re-delivery after a crash happens later, maybe elsewhere; the fingerprint too,
    /// since it derives from the image `output_sha256` already pins and a line written before
    /// fingerprints existed has none), or nil when they describe the same delivery.
    func conflictingField(with event: RoyaltyEvent) -> String? {
        let pairs: [(String, Bool)] = [
            ("job", job == event.job), ("image_index", imageIndex == event.imageIndex),
            ("twin", twin == event.twin), ("model", model == event.model), ("licensee", licensee == event.licensee),
            ("order_signer", orderSigner == event.orderSigner), ("order_sha256", orderSHA256 == event.orderSHA256),
            ("grant", grant == event.grant), ("grant_hash", grantHash == event.grantHash),
            ("purpose", purpose == event.purpose), ("territory", territory == event.territory),
            ("output_sha256", outputSHA256 == event.outputSHA256), ("amount", amount == event.amount),
            ("commission_basis_points", commissionBasisPoints == event.commissionBasisPoints),
            ("currency", currency == event.currency),
        ]
        return pairs.first { !$0.1 }?.0
    }
}

func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

func isLowerHex(_ text: String, count: Int) -> Bool {
    text.utf8.count == count && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
}

func isCurrencyCode(_ text: String) -> Bool {
    text.utf8.count == 3 && text.utf8.allSatisfy { (65...90).contains($0) }
}

func isFingerprintText(_ text: String) -> Bool {
    (1...8192).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
        (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || "+/=:._-".utf8.contains(byte)
    }
}

func isPlainText(_ text: String) -> Bool {
    (1...256).contains(text.utf8.count) && !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
}
