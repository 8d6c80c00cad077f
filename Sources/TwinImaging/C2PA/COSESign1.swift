// Role: the C2PA claim signature: a COSE_Sign1 structure (CBOR tag 18) with a detached payload,
// signed with EdDSA (Ed25519) by the render host's key, its certificate chain in the protected
// header; building, encoding, decoding and checking one.
// Reference: RFC 9052 §4.2 (COSE_Sign1), §4.4 (Sig_structure "Signature1" with an empty
// external_aad); RFC 9053 §2.2 (EdDSA, alg -8); RFC 9360 §2 (x5chain, label 33: one bstr for one
// certificate, else an array, signer first); C2PA Technical Specification 2.x §14.2 (the payload
// is the claim's CBOR, detached: `nil` in the structure; x5chain in the protected header).
// Failure modes: building is total. `decode` throws `C2PAError.malformedCOSE` for anything but
// tag 18 over a four-item array [bstr, map, nil, bstr] whose protected bstr decodes to a map;
// a bad signature is `isValidSignature == false`, not an error.

import Crypto

/// A COSE_Sign1 signature over a detached payload.
public struct COSESign1: Sendable, Equatable {
    /// COSE algorithm identifier for EdDSA (RFC 9053 §2.2).
    public static let algorithmEdDSA = -8
    /// COSE header label of `alg`.
    static let algorithmLabel = 1
    /// COSE header label of `x5chain` (RFC 9360).
    static let x5chainLabel = 33

    /// The serialised protected header map, as it is signed (the bstr's contents).
    public var protectedHeader: [UInt8]
    /// The unprotected header map (empty here: no time-stamp token, no padding).
    public var unprotected: [(CBORValue, CBORValue)]
    /// The signature bytes (64 for Ed25519).
    public var signature: [UInt8]

    public static func == (lhs: COSESign1, rhs: COSESign1) -> Bool {
        lhs.protectedHeader == rhs.protectedHeader && CBORValue.map(lhs.unprotected) == .map(rhs.unprotected) && lhs.signature == rhs.signature
    }

    /// Signs `payload` with `key`; `chain` (DER certificates, signer first) goes into the protected
    /// header. Ed25519 signatures are deterministic, so equal inputs give equal bytes.
    public static func sign(payload: [UInt8], key: Curve25519.Signing.PrivateKey, chain: [[UInt8]]) throws -> COSESign1 {
        precondition(!chain.isEmpty, "a C2PA signature carries the signer's certificate")
        let x5chain: CBORValue = chain.count == 1 ? .bytes(chain[0]) : .array(chain.map { .bytes($0) })
        let protected = CBORValue.map([(.int(algorithmLabel), .int(algorithmEdDSA)), (.int(x5chainLabel), x5chain)]).encoded
        let signature = try key.signature(for: toBeSigned(protected: protected, payload: payload))
        return COSESign1(protectedHeader: protected, unprotected: [], signature: Array(signature))
    }

    /// The Sig_structure bytes the signature covers.
    static func toBeSigned(protected: [UInt8], payload: [UInt8]) -> [UInt8] {
        CBORValue.array([.text("Signature1"), .bytes(protected), .bytes([]), .bytes(payload)]).encoded
    }

    /// Tag 18 over [protected, unprotected, nil (detached payload), signature].
    public var encoded: [UInt8] {
        CBORValue.tagged(18, .array([.bytes(protectedHeader), .map(unprotected), .null, .bytes(signature)])).encoded
    }

    /// Parses a tagged COSE_Sign1 with a detached payload.
    public static func decode(_ bytes: [UInt8]) throws -> COSESign1 {
        guard case .tagged(18, .array(let items)) = try CBORValue.decode(bytes), items.count == 4 else {
            throw C2PAError.malformedCOSE("not a tagged (18) four-item COSE_Sign1 array")
        }
        guard case .bytes(let protected) = items[0], case .map(let unprotected) = items[1],
              case .bytes(let signature) = items[3] else {
            throw C2PAError.malformedCOSE("COSE_Sign1 items are not [bstr, map, payload, bstr]")
        }
        guard items[2] == .null else { throw C2PAError.malformedCOSE("the payload is attached; C2PA detaches the claim") }
        guard case .map = try CBORValue.decode(protected) else { throw C2PAError.malformedCOSE("the protected header is not a map") }
        return COSESign1(protectedHeader: protected, unprotected: unprotected, signature: signature)
    }

    /// The protected header as a map.
    private var protectedMap: CBORValue { (try? CBORValue.decode(protectedHeader)) ?? .map([]) }

    /// The `alg` of the protected header.
    public var algorithm: Int? { protectedMap[label: Self.algorithmLabel]?.int }

    /// The DER certificates of the protected `x5chain`, signer first (empty when absent or
    /// malformed).
    public var certificateChain: [[UInt8]] {
        switch protectedMap[label: Self.x5chainLabel] {
        case .bytes(let one): [one]
        case .array(let items): items.compactMap(\.bytes).count == items.count ? items.compactMap(\.bytes) : []
        default: []
        }
    }

    /// Whether `signature` is `publicKey`'s EdDSA signature over `payload` (and `alg` says EdDSA).
    public func isValidSignature(payload: [UInt8], publicKey: Curve25519.Signing.PublicKey) -> Bool {
        algorithm == Self.algorithmEdDSA
            && publicKey.isValidSignature(signature, for: Self.toBeSigned(protected: protectedHeader, payload: payload))
    }
}
