// Role: model.json of a twinrender model package, decoded and validated before any weight file
// is read; every field is required and every constraint the networks rely on is checked.
// Reference: the "twinrender-model/1" format as written by scripts/train/export.py and
// scripts/reference/make_fixtures.py; Models/twin-mini-v1/MODEL_CARD.md describes a package.
// Failure modes: a missing field, a wrong type, invalid JSON, an inconsistent value or a file
// path outside the package throws `ModelLoadError` naming the field.

import Foundation

/// The decoded `model.json`. Field names follow the file (snake_case converted).
struct ModelManifest: Decodable {
    struct Image: Decodable { let width: Int; let height: Int }
    struct Latent: Decodable { let channels: Int; let downscale: Int; let scaleFactor: Float }
    struct Denoiser: Decodable {
        let file: String, sha256: String
        let channels: Int, channelMult: [Int], numResBlocks: Int, normGroups: Int, heads: Int
        let embDim: Int, ctxDim: Int, identityDim: Int
    }
    struct Decoder: Decodable { let file: String; let sha256: String; let width: Int }
    struct VocabularyEntry: Decodable { let name: String; let values: [String] }
    struct Conditioning: Decodable { let vocabularies: [VocabularyEntry] }
    struct Schedule: Decodable {
        let trainTimesteps: Int, betaStart: Double, betaEnd: Double, prediction: String
    }
    struct Defaults: Decodable { let sampler: String; let steps: Int; let guidance: Float }
    struct Twin: Decodable { let id: String; let file: String; let sha256: String }

    let format: String
    let name: String
    let image: Image
    let latent: Latent
    let denoiser: Denoiser
    let decoder: Decoder
    let conditioning: Conditioning
    let schedule: Schedule
    let samplerDefaults: Defaults
    let twins: [Twin]

    static let formatName = "twinrender-model/1"

    /// Decodes and checks every constraint the networks rely on; the message names the field.
    static func decode(_ data: Data) throws(ModelLoadError) -> ModelManifest {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let m: ModelManifest
        do {
            m = try decoder.decode(ModelManifest.self, from: data)
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw .manifest("missing field '\((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw .manifest("wrong type at '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.valueNotFound(_, ctx) {
            throw .manifest("null at '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw .manifest("not valid JSON")
        }
        try m.validate()
        return m
    }

    private func validate() throws(ModelLoadError) {
        func check(_ ok: Bool, _ why: @autoclosure () -> String) throws(ModelLoadError) {
            if !ok { throw .manifest(why()) }
        }
        try check(format == Self.formatName, "format is '\(format)', expected '\(Self.formatName)'")
        try check(latent.downscale == 8, "latent.downscale must be 8 (the decoder upsamples 3 times)")
        try check(latent.channels >= 1 && latent.channels <= 64, "latent.channels out of range")
        try check(latent.scaleFactor.isFinite && latent.scaleFactor > 0, "latent.scale_factor must be positive")
        try check(image.width % 32 == 0 && image.height % 32 == 0 && image.width > 0 && image.height > 0,
                  "image size must be positive multiples of 32")
        let d = denoiser
        try check(d.channels > 0 && d.normGroups > 0 && d.heads > 0 && d.numResBlocks > 0, "denoiser sizes must be positive")
        try check(!d.channelMult.isEmpty && d.channelMult.allSatisfy { $0 > 0 }, "denoiser.channel_mult must be positive")
        try check(d.channelMult.count <= 4, "denoiser.channel_mult: at most 4 levels (image size multiple of 32)")
        for m in d.channelMult {
            try check((d.channels * m) % d.normGroups == 0, "denoiser: channels*mult not divisible by norm_groups")
        }
        try check(d.channels % d.normGroups == 0, "denoiser.channels not divisible by norm_groups")
        try check((d.channels * d.channelMult.last!) % d.heads == 0, "denoiser: attention width not divisible by heads")
        try check(d.channels % 2 == 0, "denoiser.channels must be even (timestep embedding)")
        try check(d.embDim > 0 && d.ctxDim > 0 && d.identityDim > 0, "denoiser embedding sizes must be positive")
        try check(decoder.width > 0, "decoder.width must be positive")
        try check(!conditioning.vocabularies.isEmpty, "conditioning.vocabularies is empty")
        var names = Set<String>()
        for v in conditioning.vocabularies {
            try check(names.insert(v.name).inserted, "vocabulary '\(v.name)' appears twice")
            try check(!v.values.isEmpty && Set(v.values).count == v.values.count,
                      "vocabulary '\(v.name)' is empty or has duplicate values")
        }
        let s = schedule
        try check(s.prediction == "epsilon", "schedule.prediction '\(s.prediction)' unsupported (epsilon only)")
        try check(s.trainTimesteps >= 2 && s.trainTimesteps <= 100_000, "schedule.train_timesteps out of range")
        try check(s.betaStart > 0 && s.betaEnd < 1 && s.betaStart <= s.betaEnd, "schedule betas out of range")
        try check(Sampler(rawValue: samplerDefaults.sampler) != nil,
                  "sampler_defaults.sampler '\(samplerDefaults.sampler)' unknown (ddim, dpmpp-2m)")
        try check(samplerDefaults.steps >= 1 && samplerDefaults.steps <= s.trainTimesteps, "sampler_defaults.steps out of range")
        var ids = Set<String>()
        for t in twins { try check(ids.insert(t.id).inserted, "twin '\(t.id)' appears twice") }
        for f in [d.file, decoder.file] + twins.map(\.file) {
            try check(Self.isSafeRelativePath(f), "file path '\(f)' must be relative and stay inside the package")
        }
    }

    /// A relative path without "..", "." or empty components.
    static func isSafeRelativePath(_ p: String) -> Bool {
        guard !p.isEmpty, !p.hasPrefix("/") else { return false }
        return p.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != ".." && $0 != "." }
    }
}
