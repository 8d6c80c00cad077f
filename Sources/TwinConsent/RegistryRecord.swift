// Role: what every record in the registry log has in common (a type, canonical fields, a
// signature over the fields without it) and the parser that turns a log line's `record` object
// into one of the seven record types.
// Reference: docs/consent-registry.md, "Records".
// Failure modes: an unknown `type`, a missing or mistyped field, or a field the type does not
// have (the parsed record does not re-serialise to the same fields) throws `malformedFile`; the
// replay reports it as a registry problem naming the line and ignores the record.

/// A signed registry record.
protocol RegistryRecord: Sendable {
    /// The record type, e.g. `twinrender.grant.v1`.
    static var type: String { get }
    /// Every field, `type` and `signature` included.
    var fields: [String: CanonicalValue] { get }
    /// Parses the fields of a record of this type.
    init(fields: RecordFields) throws
}

extension RegistryRecord {
    /// The canonical bytes the signature covers: every field but `signature`.
    var signedBytes: [UInt8] {
        var unsigned = fields
        unsigned["signature"] = nil
        return canonicalJSON(unsigned)
    }
}

/// One parsed record of the log.
enum LoggedRecord: Sendable {
    case party(Party)
    case death(DeathAttestation)
    case estate(EstateDesignation)
    case twin(TwinRecord)
    case status(TwinStatusChange)
    case grant(Grant)
    case revocation(Revocation)

    /// The record's fields, as appended to the log.
    var fields: [String: CanonicalValue] {
        switch self {
        case .party(let r): return r.fields
        case .death(let r): return r.fields
        case .estate(let r): return r.fields
        case .twin(let r): return r.fields
        case .status(let r): return r.fields
        case .grant(let r): return r.fields
        case .revocation(let r): return r.fields
        }
    }

    /// The canonical bytes the record's signature covers.
    var signedBytes: [UInt8] {
        var unsigned = fields
        unsigned["signature"] = nil
        return canonicalJSON(unsigned)
    }

    /// Parses `fields`; they must be exactly the fields of the parsed record.
    static func parse(_ fields: [String: CanonicalValue]) throws -> LoggedRecord {
        guard case .string(let type)? = fields["type"] else { throw ConsentError.malformedFile("the record has no type") }
        let view = RecordFields(fields: fields, type: type)
        let record: LoggedRecord
        switch type {
        case Party.type: record = .party(try Party(fields: view))
        case DeathAttestation.type: record = .death(try DeathAttestation(fields: view))
        case EstateDesignation.type: record = .estate(try EstateDesignation(fields: view))
        case TwinRecord.type: record = .twin(try TwinRecord(fields: view))
        case TwinStatusChange.type: record = .status(try TwinStatusChange(fields: view))
        case Grant.type: record = .grant(try Grant(fields: view))
        case Revocation.type: record = .revocation(try Revocation(fields: view))
        default: throw ConsentError.malformedFile("unknown record type '\(type)'")
        }
        guard record.fields == fields else {
            throw ConsentError.malformedFile("the \(type) record has fields or values outside its canonical form")
        }
        return record
    }
}
