// Role: the fixed watermark key the imaging tests mark and read with.
// Reference: `WatermarkKey` (any 32 bytes are a key).
// Failure modes: none.

@testable import TwinImaging

extension WatermarkKey {
    /// Bytes 0...31: a fixed key, so test images and their measured margins are reproducible.
    static let test: WatermarkKey = {
        do { return try WatermarkKey(bytes: (0..<32).map(UInt8.init)) } catch { fatalError("\(error)") }
    }()
}
