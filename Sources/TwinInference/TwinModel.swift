// Role: a loaded model package: model.json + denoiser + decoder + one identity file per twin,
// loaded once per daemon and shared read-only by every Renderer.
// Reference: apple/ml-stable-diffusion's pipeline resources (every weight file named in one
// place); weights are checked for SHA-256, dtype and shape before use.
// Failure modes: a bad model.json, denoiser or decoder (missing, wrong SHA-256, malformed or
// mis-shaped tensors) throws ModelLoadError naming the file; a bad twin file disables only that
// twin (`disabledTwins`), and requests for it fail with RenderError "twin_disabled".

import Crypto
import Foundation

/// One conditioning vocabulary (e.g. "garment": ["t-shirt", "dress", ...]), in token order.
public struct Vocabulary: Sendable, Equatable {
    public let name: String
    public let values: [String]
}

/// The package's default sampler settings.
public struct SamplerDefaults: Sendable, Equatable {
    public let sampler: Sampler
    public let steps: Int
    public let guidance: Float
}

/// An immutable, verified model package.
public final class TwinModel: Sendable {
    /// model.json "name".
    public let name: String
    /// SHA-256 (lowercase hex) of the model.json bytes; identifies the package in ledgers.
    public let packageHash: String
    /// Default render size in pixels.
    public let imageWidth: Int
    public let imageHeight: Int
    /// Conditioning vocabularies in token order.
    public let vocabularies: [Vocabulary]
    /// Usable twins, in model.json order.
    public let twinIDs: [String]
    /// Twins whose file failed verification: id -> reason.
    public let disabledTwins: [String: String]
    /// Sampler settings to use when a job gives none.
    public let samplerDefaults: SamplerDefaults
    /// Twin id → SHA-256 (lowercase hex) of the identity file bytes this model loaded and renders
    /// with. Consent compares the registry's pinned hash against this, never against the file as
    /// it is on disk now, so swapping the file after load cannot change whose consent applies.
    public let twinWeightsSHA256: [String: String]

    let latentChannels: Int
    let scaleFactor: Float
    let schedule: NoiseSchedule
    let denoiser: DenoiserWeights
    let decoder: DecoderWeights
    let identities: [String: [Float]]
    private let stores: [ParameterStore]

    private init(manifest m: ManifestParts) {
        name = m.manifest.name; packageHash = m.packageHash
        imageWidth = m.manifest.image.width; imageHeight = m.manifest.image.height
        vocabularies = m.manifest.conditioning.vocabularies.map { Vocabulary(name: $0.name, values: $0.values) }
        twinIDs = m.manifest.twins.map(\.id).filter { m.identities[$0] != nil }
        disabledTwins = m.disabled
        twinWeightsSHA256 = m.identityHashes
        let d = m.manifest.samplerDefaults
        samplerDefaults = SamplerDefaults(sampler: Sampler(rawValue: d.sampler)!, steps: d.steps, guidance: d.guidance)
        latentChannels = m.manifest.latent.channels
        scaleFactor = m.manifest.latent.scaleFactor
        let s = m.manifest.schedule
        schedule = NoiseSchedule(trainTimesteps: s.trainTimesteps, betaStart: s.betaStart, betaEnd: s.betaEnd)
        denoiser = m.denoiser; decoder = m.decoder; identities = m.identities; stores = m.stores
    }

    private struct ManifestParts {
        let manifest: ModelManifest, packageHash: String
        let denoiser: DenoiserWeights, decoder: DecoderWeights
        let identities: [String: [Float]], identityHashes: [String: String], disabled: [String: String], stores: [ParameterStore]
    }

    /// Loads and verifies the package in `directory` (contains model.json). `winograd` (the
    /// default) runs eligible 3x3 convolutions (stride 1, >= 16 input channels) through Winograd
    /// F(2x2, 3x3), which on the render hosts costs 20-40% less CPU than tiled im2col for these
    /// networks (Kernels/Winograd.swift has the measurement); `false` keeps every conv on im2col.
    public static func load(directory: URL, winograd: Bool = true) throws(ModelLoadError) -> TwinModel {
        let jsonURL = directory.appendingPathComponent("model.json")
        let json: Data
        do { json = try Data(contentsOf: jsonURL) } catch { throw .manifest("cannot read \(jsonURL.path)") }
        let m = try ModelManifest.decode(json)
        let d = m.denoiser
        let cfg = DenoiserConfig(
            latentChannels: m.latent.channels, channels: d.channels, channelMult: d.channelMult,
            numResBlocks: d.numResBlocks, normGroups: d.normGroups, heads: d.heads, embDim: d.embDim,
            ctxDim: d.ctxDim, identityDim: d.identityDim,
            vocabSizes: m.conditioning.vocabularies.map(\.values.count))
        let (denoiser, dstore) = try loadWeights(directory, d.file, d.sha256) { t throws(SafeTensorsError) in
            t.winograd = winograd
            return try DenoiserWeights(&t, cfg)
        }
        let (decoder, cstore) = try loadWeights(directory, m.decoder.file, m.decoder.sha256) { t throws(SafeTensorsError) in
            t.winograd = winograd
            return try DecoderWeights(&t, latentChannels: m.latent.channels, width: m.decoder.width)
        }
        var identities: [String: [Float]] = [:], identityHashes: [String: String] = [:], disabled: [String: String] = [:]
        for twin in m.twins {
            do {
                let file = try verifiedFile(directory, twin.file, twin.sha256)
                guard file.entries.count == 1 else {
                    throw ModelLoadError.file(twin.file, "must hold exactly one tensor 'identity'")
                }
                let identity = try file.floats("identity", shape: [d.identityDim])
                // The floats were copied out of the mapping; hash the mapping again so a file
                // rewritten in place while it was being read cannot pass as the verified one.
                guard sha256Hex(file.file.bytes) == twin.sha256.lowercased() else {
                    throw ModelLoadError.file(twin.file, "changed while it was being loaded")
                }
                identities[twin.id] = identity
                identityHashes[twin.id] = twin.sha256.lowercased()
            } catch let e as ModelLoadError {
                disabled[twin.id] = e.description
            } catch {
                disabled[twin.id] = "\(error)"
            }
        }
        return TwinModel(manifest: ManifestParts(
            manifest: m, packageHash: sha256Hex(json), denoiser: denoiser, decoder: decoder,
            identities: identities, identityHashes: identityHashes, disabled: disabled, stores: [dstore, cstore]))
    }

    private static func loadWeights<T>(_ dir: URL, _ file: String, _ sha: String,
                                       _ build: (inout ParameterStore.Taker) throws(SafeTensorsError) -> T)
        throws(ModelLoadError) -> (T, ParameterStore) {
        let tensors = try verifiedFile(dir, file, sha)
        do { return try ParameterStore.load(tensors, build) } catch { throw .file(file, error.description) }
    }

    /// Maps `file` (relative to `dir`), checks its SHA-256 and parses its header.
    private static func verifiedFile(_ dir: URL, _ file: String, _ expected: String) throws(ModelLoadError) -> SafeTensorsFile {
        let mapped: MappedFile
        do { mapped = try MappedFile(path: dir.appendingPathComponent(file).path) } catch {
            throw .file(file, error.description)
        }
        let actual = sha256Hex(mapped.bytes)
        guard actual == expected.lowercased() else {
            throw .file(file, "SHA-256 mismatch: expected \(expected), file has \(actual)")
        }
        do { return try SafeTensorsFile(file: mapped, name: file) } catch { throw .file(file, error.description) }
    }

    private static func sha256Hex(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    private static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return hex(hasher.finalize())
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
