// Role: the public errors of TwinInference: `ModelLoadError` (a package that cannot be used) and
// `RenderError` (a request the model cannot render, or a cancelled render) with stable codes.
// Reference: swift-service-lifecycle's public error style (a struct wrapping a private enum,
// exposed as static members); `RenderError.code` is what the daemon writes to reason files.
// Failure modes: none (values only).

/// A model package that cannot be used: bad model.json, or a denoiser/decoder file that is
/// missing, fails its SHA-256 check, or holds malformed or mis-shaped tensors.
public struct ModelLoadError: Error, CustomStringConvertible, Equatable {
    private enum Kind: Equatable {
        case manifest(String)
        case file(String, String)
    }
    private let kind: Kind

    /// model.json is missing, malformed or inconsistent.
    static func manifest(_ why: String) -> Self { .init(kind: .manifest(why)) }
    /// A weight file (named relative to the package) is unusable.
    static func file(_ file: String, _ why: String) -> Self { .init(kind: .file(file, why)) }

    public var description: String {
        switch kind {
        case .manifest(let why): return "model.json: \(why)"
        case .file(let f, let why): return "\(f): \(why)"
        }
    }
}

/// A request the model cannot render, or a render that stopped. `code` is stable and
/// machine-readable (for reason files), `message` is for people.
public struct RenderError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Stable identifier, e.g. "unknown_twin".
    public let code: String
    /// Human-readable explanation naming the offending value.
    public let message: String

    public var description: String { "\(code): \(message)" }

    /// The twin id is not in the model package.
    public static func unknownTwin(_ id: String) -> Self { .init(code: "unknown_twin", message: "unknown twin '\(id)'") }
    /// The twin exists but its file failed verification at load.
    public static func twinDisabled(_ id: String, _ why: String) -> Self {
        .init(code: "twin_disabled", message: "twin '\(id)' is disabled: \(why)")
    }
    /// An attribute name that is not one of the model's vocabularies.
    public static func unknownAttribute(_ name: String, known: [String]) -> Self {
        .init(code: "unknown_attribute", message: "unknown attribute '\(name)' (known: \(known.joined(separator: ", ")))")
    }
    /// An attribute value outside its vocabulary.
    public static func unknownAttributeValue(_ name: String, _ value: String) -> Self {
        .init(code: "unknown_attribute_value", message: "attribute '\(name)' has no value '\(value)'")
    }
    /// Width/height not multiples of `unit` (32 for a 3-level UNet), or above `RenderRequest.maxSide`.
    public static func badSize(_ w: Int, _ h: Int, unit: Int) -> Self {
        .init(code: "bad_size", message: "size \(w)x\(h): sides must be multiples of \(unit) between \(unit) and \(RenderRequest.maxSide)")
    }
    /// Steps outside 1...train timesteps.
    public static func badSteps(_ steps: Int, max: Int) -> Self {
        .init(code: "bad_steps", message: "steps \(steps) must be between 1 and \(max)")
    }
    /// Guidance not finite or outside 0...30.
    public static func badGuidance(_ g: Float) -> Self {
        .init(code: "bad_guidance", message: "guidance \(g) must be finite and between 0 and 30")
    }
    /// The progress callback asked to stop.
    public static func cancelled(atStep step: Int) -> Self {
        .init(code: "cancelled", message: "render cancelled at step \(step)")
    }
}
