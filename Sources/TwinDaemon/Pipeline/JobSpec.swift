// Role: the job file — a licensee's order — parsed and validated against the loaded model: every
// field typed and range-checked, tags normalised, the signed order read (verified later).
// Reference: README "Job file".
// Failure modes: every defect is a `Rejection` with a `job.*` code and a sentence naming the field;
// parsing never crashes (fuzzed by Fuzz/Harnesses/job.swift).

import Foundation
import TwinBase
import TwinConsent
import TwinInference

/// A validated render job (the JSON file a user drops into the spool; every field is listed in
/// README "Job file"). Rejections carry a machine-readable code and a sentence naming the field.
public struct JobSpec: Sendable, Equatable {
    /// The job id: the file name stem (an `id` field, if present, must equal it).
    public var id: String
    public var twin: String
    /// Licensee party id (the brand).
    public var licensee: String
    /// Use of the images: one of `JobSpec.purposes`.
    public var purpose: String
    /// ISO 3166-1 alpha-2 country code or `EU`.
    public var territory: String
    /// Content tags checked against a grant's prohibited tags (e.g. `swimwear`), normalised
    /// (`ContentTag.normalize`), plus the tag the garment implies: a job cannot render a garment
    /// a grant prohibits by leaving its tag out.
    public var tags: [String]
    /// The render itself (twin, attributes from the model's vocabularies, seed, steps, guidance, sampler, size).
    public var render: RenderRequest
    /// Images to render (noise streams 0..<count).
    public var count: Int
    /// Claim order: higher first.
    public var priority: Int
    /// The licensee's signature on this job, if the file carries one (checked against the
    /// registry by the pipeline, not here).
    public var order: SignedJobOrder?

    /// Purposes a job may name.
    public static let purposes = Purpose.tokens
    /// Largest `count`.
    public static let maxCount = 16
    /// Largest `steps`.
    public static let maxSteps = 200

    /// Why a job file was refused.
    public struct Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        public let code: String
        public let message: String
        public var description: String { "\(code): \(message)" }
    }

    /// Parses and validates a job file against the model. `fileID` is the id from the file name.
    public static func parse(_ data: Data, fileID: String, model: TwinModel) throws(Rejection) -> JobSpec {
        let fields = try jsonObject(data)
        if let unknown = fields.keys.sorted().first(where: { !knownFields(model).contains($0) }) {
            throw Rejection(code: "job.unknown_field", message: "unknown field '\(unknown)'; known fields: \(knownFields(model).sorted().joined(separator: ", "))")
        }
        let reader = FieldReader(fields: fields)
        if let id = try reader.string("id"), id != fileID {
            throw Rejection(code: "job.id_mismatch", message: "field 'id' is '\(id)' but the file is named '\(fileID).json'")
        }
        let order = try SignedJobOrder(fields: fields)
        let twin = try reader.requiredString("twin")
        let licensee = try reader.requiredString("licensee")
        let purpose = try reader.requiredString("purpose")
        guard purposes.contains(purpose) else {
            throw Rejection(code: "job.bad_value", message: "field 'purpose': '\(purpose)' is not one of \(purposes.joined(separator: ", "))")
        }
        let territory = try reader.requiredString("territory")
        guard territory == Territory.euGroup || Territory.countries.contains(territory) else {
            throw Rejection(code: "job.bad_value", message: "field 'territory': '\(territory)' is not an ISO 3166-1 alpha-2 code or EU")
        }
        let render = try renderRequest(reader, twin: twin, model: model)
        let count = try reader.integer("count", in: 1...Int64(maxCount)).map(Int.init) ?? 1
        let priority = try reader.integer("priority", in: -1000...1000).map(Int.init) ?? 0
        return JobSpec(id: fileID, twin: twin, licensee: licensee, purpose: purpose, territory: territory,
                       tags: try contentTags(reader, garment: render.attributes["garment"]),
                       render: render, count: count, priority: priority, order: order)
    }

    /// The job file as a JSON object.
    private static func jsonObject(_ data: Data) throws(Rejection) -> [String: JSONValue] {
        guard !data.isEmpty else { throw Rejection(code: "job.empty", message: "the job file is empty") }
        guard let object = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            let printable = data.prefix(4096).allSatisfy { $0 == 9 || $0 == 10 || $0 == 13 || ($0 >= 0x20 && $0 != 0x7f) || $0 >= 0x80 }
            throw Rejection(code: "job.malformed_json", message: printable ? "the job file is not valid JSON" : "the job file is binary, not JSON")
        }
        guard case .object(let fields) = object else {
            throw Rejection(code: "job.malformed_json", message: "the job must be a JSON object, found \(object.typeName)")
        }
        return fields
    }

    private static func knownFields(_ model: TwinModel) -> Set<String> {
        Set(["id", "twin", "licensee", "purpose", "territory", "tags", "seed", "steps", "guidance", "sampler",
             "width", "height", "count", "priority", "order"] + model.vocabularies.map(\.name))
    }

    /// The job's tags, normalised, plus the tag its garment implies.
    private static func contentTags(_ reader: FieldReader, garment: String?) throws(Rejection) -> [String] {
        var tags: [String] = []
        for tag in try reader.stringArray("tags") ?? [] {
            do {
                tags.append(try ContentTag.normalize(tag))
            } catch {
                throw Rejection(code: "job.bad_tag", message: "field 'tags': \(error.description)")
            }
        }
        if let garment, let implied = try? ContentTag.normalize(garment), !tags.contains(implied) { tags.append(implied) }
        return tags
    }

    /// The render parameters, validated against the model.
    private static func renderRequest(_ reader: FieldReader, twin: String, model: TwinModel) throws(Rejection) -> RenderRequest {
        guard let seed = try reader.integer("seed", in: 0...Int64.max) else {
            throw Rejection(code: "job.missing_field", message: "field 'seed' is required (an integer ≥ 0)")
        }
        let defaults = model.samplerDefaults
        var sampler = defaults.sampler
        if let name = try reader.string("sampler") {
            guard let s = Sampler(rawValue: name) else {
                throw Rejection(code: "job.bad_value", message: "field 'sampler': '\(name)' is not one of \(Sampler.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sampler = s
        }
        var attributes: [String: String] = [:]
        for name in model.vocabularies.map(\.name) {
            if let value = try reader.string(name) { attributes[name] = value }
        }
        let render = RenderRequest(
            twinID: twin, attributes: attributes, seed: UInt64(seed),
            steps: try reader.integer("steps", in: 1...Int64(maxSteps)).map(Int.init) ?? defaults.steps,
            guidance: try reader.number("guidance", in: 0...30).map(Float.init) ?? defaults.guidance, sampler: sampler,
            width: try reader.integer("width", in: 32...Int64(RenderRequest.maxSide)).map(Int.init) ?? model.imageWidth,
            height: try reader.integer("height", in: 32...Int64(RenderRequest.maxSide)).map(Int.init) ?? model.imageHeight)
        do {
            try model.validate(render)
        } catch {
            throw Rejection(code: error.code.hasPrefix("job.") ? error.code : "job." + error.code, message: error.message)
        }
        return render
    }
}

/// Typed reads of job fields with messages that name the field.
private struct FieldReader {
    let fields: [String: JSONValue]

    func string(_ key: String) throws(JobSpec.Rejection) -> String? {
        guard let v = fields[key] else { return nil }
        guard case .string(let s) = v else { throw wrongType(key, "a string", v) }
        guard !s.isEmpty, s.utf8.count <= 128, s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
            throw JobSpec.Rejection(code: "job.bad_value", message: "field '\(key)' must be 1-128 printable characters")
        }
        return s
    }

    func requiredString(_ key: String) throws(JobSpec.Rejection) -> String {
        guard let s = try string(key) else { throw JobSpec.Rejection(code: "job.missing_field", message: "field '\(key)' is required") }
        return s
    }

    func stringArray(_ key: String) throws(JobSpec.Rejection) -> [String]? {
        guard let v = fields[key] else { return nil }
        guard case .array(let items) = v, items.count <= 32 else { throw wrongType(key, "an array of at most 32 strings", v) }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item, !s.isEmpty, s.utf8.count <= 64 else { throw wrongType(key, "an array of short strings", v) }
            out.append(s)
        }
        return out
    }

    func integer(_ key: String, in range: ClosedRange<Int64>) throws(JobSpec.Rejection) -> Int64? {
        guard let v = fields[key] else { return nil }
        guard case .integer(let i) = v else { throw wrongType(key, "an integer", v) }
        guard range.contains(i) else {
            throw JobSpec.Rejection(code: "job.out_of_range", message: "field '\(key)': \(i) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return i
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(JobSpec.Rejection) -> Double? {
        guard let v = fields[key] else { return nil }
        let d: Double
        switch v {
        case .integer(let i): d = Double(i)
        case .number(let n): d = n
        default: throw wrongType(key, "a number", v)
        }
        guard range.contains(d) else {
            throw JobSpec.Rejection(code: "job.out_of_range", message: "field '\(key)': \(d) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return d
    }

    private func wrongType(_ key: String, _ expected: String, _ got: JSONValue) -> JobSpec.Rejection {
        JobSpec.Rejection(code: "job.wrong_type", message: "field '\(key)' must be \(expected), found \(got.typeName)")
    }
}
