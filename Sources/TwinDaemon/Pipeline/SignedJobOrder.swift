// Role: the signed-order part of a job file: reads the `order` member, builds the exact bytes
// the licensee signed (canonical JSON of the whole job object without `order.signature`), and
// signs a job for `twinrender submit --key`.
// Reference: TwinConsent/Order.swift (verification); JSONValue's canonical writer (RFC 8785 key
// order and escaping).
// Failure modes: a malformed `order` member, or one without the job's `id` field, is a
// `job.order_malformed` rejection; verification against the registry happens in the pipeline.

import Foundation
import TwinBase
import TwinConsent

/// A job's `order` member plus the bytes its signature covers.
public struct SignedJobOrder: Sendable, Equatable {
    /// Signer, expiry and signature as written in the file.
    public let envelope: OrderEnvelope
    /// Canonical JSON of the job object with `order.signature` removed.
    public let signedBytes: [UInt8]

    /// Reads the `order` member of a job object; nil when there is none.
    init?(fields: [String: JSONValue]) throws(JobSpec.Rejection) {
        guard let value = fields["order"] else { return nil }
        guard case .object(let order) = value,
              case .string(let signer)? = order["signer"], case .string(let expiresAt)? = order["expires_at"],
              case .string(let signature)? = order["signature"], order.count == 3
        else {
            throw JobSpec.Rejection(code: "job.order_malformed",
                message: "field 'order' must be an object with exactly the strings 'signer', 'expires_at' and 'signature'")
        }
        guard case .string = fields["id"] else {
            throw JobSpec.Rejection(code: "job.order_malformed", message: "a signed order must name its job in field 'id' (it is part of what the licensee signs)")
        }
        envelope = OrderEnvelope(signer: signer, expiresAt: expiresAt, signature: signature)
        signedBytes = Self.signedBytes(of: fields, signer: signer, expiresAt: expiresAt)
    }

    /// The bytes a licensee signs for a job object: the object with `order` = `{expires_at, signer}`.
    static func signedBytes(of fields: [String: JSONValue], signer: String, expiresAt: String) -> [UInt8] {
        var unsigned = fields
        unsigned["order"] = .object(["signer": .string(signer), "expires_at": .string(expiresAt)])
        return JSONValue.object(unsigned).canonicalBytes
    }

    /// Signs job file `data` as licensee `signer` with `key`, valid until `expiresAt`: sets `id`
    /// to `jobID` and returns the job as canonical JSON with its `order` member.
    public static func sign(_ data: Data, jobID: String, signer: String, expiresAt: Date, key: PartyKey) throws -> Data {
        guard case .object(var fields) = try JSONDecoder().decode(JSONValue.self, from: data) else {
            throw JobSpec.Rejection(code: "job.malformed_json", message: "the job must be a JSON object")
        }
        fields["id"] = .string(jobID)
        fields["order"] = nil
        let expiry = UTCDate.format(expiresAt)
        let signature = try OrderEnvelope.signature(over: signedBytes(of: fields, signer: signer, expiresAt: expiry), key: key)
        fields["order"] = .object(["signer": .string(signer), "expires_at": .string(expiry), "signature": .string(signature)])
        return Data(JSONValue.object(fields).canonicalBytes + [0x0A])
    }
}
