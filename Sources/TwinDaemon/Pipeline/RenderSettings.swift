// Role: the render settings that SIGHUP may change live (`output.*`, progress interval), and the
// small lock-protected cells the workers share (`Locked`, `CancelFlag`).
// Failure modes: none.

import Foundation

/// The settings a render reads that SIGHUP may change while the daemon runs.
public struct RenderSettings: Sendable, Equatable {
    public var pngCompression: Int
    public var label: Bool
    public var labelCorner: String
    public var labelOpacity: Double
    public var labelScale: Int
    public var progressInterval: Double

    public init(config: DaemonConfig) {
        pngCompression = config.pngCompression
        label = config.label
        labelCorner = config.labelCorner
        labelOpacity = config.labelOpacity
        labelScale = config.labelScale
        progressInterval = config.progressInterval
    }
}

/// A value shared between threads behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}

/// Set once to stop a render at its next denoising step.
final class CancelFlag: @unchecked Sendable {
    private let flag = Locked(false)
    func cancel() { flag.set(true) }
    var isCancelled: Bool { flag.get() }
}
