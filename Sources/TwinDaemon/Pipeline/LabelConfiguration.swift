import TwinImaging

extension AILabel.Configuration {
    /// The label as the `output.label_*` config keys describe it (`corner` is one of
    /// `top-left`, `top-right`, `bottom-left`, `bottom-right`, as `DaemonConfig` validates).
    init(corner: String, opacity: Double, scale: Int) {
        self.init()
        self.corner = Self.corners[corner] ?? .bottomRight
        self.opacity = opacity
        self.scale = scale
    }

    private static let corners: [String: AILabel.Corner] = [
        "top-left": .topLeft, "top-right": .topRight, "bottom-left": .bottomLeft, "bottom-right": .bottomRight,
    ]
}
