import Foundation
import Synchronization

/// Holds the current registry snapshot and re-reads the directory whenever its
/// `RegistryFingerprint` changes, so grants, revocations and status changes take effect without a
/// restart. Safe to share between workers.
public final class ConsentRegistryCache: Sendable {
    private struct Loaded {
        let fingerprint: String
        let registry: ConsentRegistry
    }

    /// The registry directory.
    public let directory: URL
    private let loaded: Mutex<Loaded?> = Mutex(nil)

    /// Watches `directory`; nothing is read until `current()`.
    public init(directory: URL) { self.directory = directory }

    /// The snapshot as of now: cached when the fingerprint is unchanged, re-read otherwise.
    /// Throws only when the directory cannot be read.
    public func current() throws -> ConsentRegistry {
        let fingerprint = RegistryFingerprint.compute(directory: directory)
        if let cached = loaded.withLock({ $0 }), cached.fingerprint == fingerprint { return cached.registry }
        let registry = try ConsentRegistry.load(directory: directory)
        // A write between fingerprint and load makes the next call re-read: never stale for long.
        loaded.withLock { $0 = Loaded(fingerprint: fingerprint, registry: registry) }
        return registry
    }
}
