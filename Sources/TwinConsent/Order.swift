// Role: a licensee's signed order — the proof of who ordered a job. A job file carries an
// `order` member `{ "signer", "expires_at", "signature" }`; the signature is Ed25519 by the
// licensee's registered key over the canonical JSON of the whole job object with
// `order.signature` removed (the caller supplies those bytes; TwinDaemon builds them). The job's
// `id` is part of the signed bytes, so a re-dropped order is the same job, never a second one.
// Reference: detached-signature envelopes as in JWS (RFC 7515) with RFC 8785 canonical JSON.
// Failure modes: `check` never throws; every refusal is an `OrderRefusal` with a stable `job.*`
// code and a sentence: unknown signer, signer not a licensee, signer not the job's licensee,
// bad signature, malformed or past expiry.

import Crypto
import Foundation
import TwinBase

/// The `order` member of a job file.
public struct OrderEnvelope: Sendable, Equatable {
    /// Party id of the signing licensee.
    public let signer: String
    /// Until when the order may be claimed, `YYYY-MM-DDTHH:MM:SSZ`.
    public let expiresAt: String
    /// Base64 Ed25519 signature over the signed bytes.
    public let signature: String

    /// Wraps the three fields as read from the job file.
    public init(signer: String, expiresAt: String, signature: String) {
        self.signer = signer
        self.expiresAt = expiresAt
        self.signature = signature
    }

    /// Signs `signedBytes` with `key` (used by `twinrender submit --key`).
    public static func signature(over signedBytes: [UInt8], key: PartyKey) throws -> String {
        try key.privateKey.signature(for: signedBytes).base64EncodedString()
    }
}

/// An order whose signature verified: who ordered and the SHA-256 of the exact signed bytes.
public struct VerifiedOrder: Sendable, Equatable {
    /// The licensee that signed the order.
    public let signer: String
    /// SHA-256 of the signed bytes, lowercase hex (recorded in royalty events and audit lines).
    public let sha256: String
}

/// Why an order was refused.
public struct OrderRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// `job.order_unsigned`, `job.order_malformed`, `job.order_expired`, `job.order_signer_unknown`,
    /// `job.order_signer_mismatch` or `job.order_signature_invalid`.
    public let code: String
    /// What is wrong, naming the signer or field.
    public let message: String
    public var description: String { "\(code): \(message)" }
}

extension ConsentRegistry {
    /// Checks that `envelope` is a valid signature by the registered licensee `licensee` over
    /// `signedBytes` and that the order has not expired at `date`.
    public func check(order envelope: OrderEnvelope, signedBytes: [UInt8], licensee: String, at date: Date) -> Result<VerifiedOrder, OrderRefusal> {
        guard let expiry = UTCTimestamp(iso8601: envelope.expiresAt) else {
            return .failure(OrderRefusal(code: "job.order_malformed", message: "order.expires_at '\(envelope.expiresAt)' is not YYYY-MM-DDTHH:MM:SSZ"))
        }
        guard envelope.signer == licensee else {
            return .failure(OrderRefusal(code: "job.order_signer_mismatch",
                message: "the order is signed by '\(envelope.signer)' but names licensee '\(licensee)'; only the licensee may order in its name"))
        }
        guard let party = orderSigner(envelope.signer) else {
            return .failure(OrderRefusal(code: "job.order_signer_unknown", message: "order signer '\(envelope.signer)' is not a registered licensee"))
        }
        guard let signature = Data(base64Encoded: envelope.signature), signature.count == 64,
              party.isValidSignature(signature, for: signedBytes)
        else {
            return .failure(OrderRefusal(code: "job.order_signature_invalid",
                message: "the order's signature does not verify with the key of licensee '\(envelope.signer)' (edited after signing, or signed with another key)"))
        }
        guard UTCTimestamp(date) < expiry else {
            return .failure(OrderRefusal(code: "job.order_expired", message: "the order expired at \(envelope.expiresAt)"))
        }
        return .success(VerifiedOrder(signer: envelope.signer, sha256: SHA256.hash(data: signedBytes).map { String(format: "%02x", $0) }.joined()))
    }

    /// The verification key of registered licensee `id`, or nil.
    private func orderSigner(_ id: String) -> Curve25519.Signing.PublicKey? {
        guard let party = parties[id], party.role == .licensee else { return nil }
        return party.signingPublicKey
    }
}
