// Role: the visible AI label's settings from `output.label_*`, shared by the pipeline and bench.
// Failure modes: none (the config loader validated the values).

import TwinImaging

extension RenderSettings {
    /// The visible label as the `output.label_*` keys describe it (`labelCorner` is one of
    /// `top-left`, `top-right`, `bottom-left`, `bottom-right`, as `DaemonConfig` validates).
    var labelConfiguration: AILabel.Configuration {
        var label = AILabel.Configuration()
        label.corner = Self.labelCorners[labelCorner] ?? .bottomRight
        label.opacity = labelOpacity
        label.scale = labelScale
        return label
    }

    private static let labelCorners: [String: AILabel.Corner] = [
        "top-left": .topLeft, "top-right": .topRight, "bottom-left": .bottomLeft, "bottom-right": .bottomRight,
    ]
}
