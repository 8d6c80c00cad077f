// Role: a render job's parameters and their validation against a model (twin, attributes,
// size, steps, guidance) into the identity vector and one token per vocabulary.
// Reference: twinnet.Denoiser.context's conditioning (row n of a vocabulary table = null token).
// Failure modes: every invalid field throws `RenderError` with a stable code (unknown_twin,
// twin_disabled, unknown_attribute, unknown_attribute_value, bad_size, bad_steps, bad_guidance).

/// What to render. Sizes are in pixels (multiples of 32; the latent is 1/8 of them).
public struct RenderRequest: Sendable, Equatable {
    /// Largest accepted width or height.
    public static let maxSide = 512

    public var twinID: String
    /// Vocabulary name -> value; a vocabulary left out gets its null token.
    public var attributes: [String: String]
    public var seed: UInt64
    public var steps: Int
    /// Classifier-free guidance scale (1 = conditional only, 0 = unconditional only).
    public var guidance: Float
    public var sampler: Sampler
    public var width: Int
    public var height: Int

    public init(twinID: String, attributes: [String: String] = [:], seed: UInt64, steps: Int, guidance: Float,
                sampler: Sampler, width: Int, height: Int) {
        self.twinID = twinID; self.attributes = attributes; self.seed = seed; self.steps = steps
        self.guidance = guidance; self.sampler = sampler; self.width = width; self.height = height
    }
}

/// A request resolved against a model: identity vector and token index per vocabulary.
struct ResolvedRequest {
    let identity: [Float]
    let attributeTokens: [Int]
}

extension TwinModel {
    /// Checks `request` against this model without rendering; throws the error `render` would.
    public func validate(_ request: RenderRequest) throws(RenderError) {
        _ = try resolve(request)
    }

    func resolve(_ r: RenderRequest) throws(RenderError) -> ResolvedRequest {
        if let why = disabledTwins[r.twinID] { throw .twinDisabled(r.twinID, why) }
        guard let identity = identities[r.twinID] else { throw .unknownTwin(r.twinID) }
        let names = vocabularies.map(\.name)
        for key in r.attributes.keys.sorted() where !names.contains(key) {
            throw .unknownAttribute(key, known: names)
        }
        var tokens: [Int] = []
        for v in vocabularies {
            if let value = r.attributes[v.name] {
                guard let index = v.values.firstIndex(of: value) else { throw .unknownAttributeValue(v.name, value) }
                tokens.append(index)
            } else {
                tokens.append(v.values.count)
            }
        }
        // The UNet halves the latent (levels - 1) times: sides must be multiples of 8 * 2^(levels-1).
        let unit = max(32, 8 << (denoiser.config.channelMult.count - 1))
        for side in [r.width, r.height] where side < unit || side > RenderRequest.maxSide || side % unit != 0 {
            throw .badSize(r.width, r.height, unit: unit)
        }
        guard r.steps >= 1 && r.steps <= schedule.trainTimesteps else { throw .badSteps(r.steps, max: schedule.trainTimesteps) }
        guard r.guidance.isFinite && r.guidance >= 0 && r.guidance <= 30 else { throw .badGuidance(r.guidance) }
        return ResolvedRequest(identity: identity, attributeTokens: tokens)
    }
}
