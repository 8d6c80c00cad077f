// Role: the registry snapshot shared by the daemon's workers, re-read whenever the log changes,
// with the newest head remembered durably so a rollback or fork is refused.
// Reference: TUF §5 (a client refuses metadata older than what it has seen).
// Failure modes: `current()` throws what `ConsentRegistry.load` throws (`registryTampered`,
// `registryRolledBack`, `notFound`, `io`) and head-store errors; it never returns a stale
// snapshot after a failed reload (the caller must refuse the job: fail closed).

import Foundation
import Synchronization

/// Holds the current registry snapshot; safe to share between workers.
public final class ConsentRegistryCache: Sendable {
    private struct Loaded {
        let fingerprint: String
        let registry: ConsentRegistry
    }

    /// The registry directory.
    public let directory: URL
    /// Registrar public keys (base64).
    public let trustAnchors: [String]
    /// Where the newest head seen is remembered (nil: only within this process).
    public let headStore: RegistryHeadStore?
    private let loaded: Mutex<Loaded?> = Mutex(nil)
    private let newestHead: Mutex<RegistryHead?> = Mutex(nil)

    /// Watches `directory`; nothing is read until `current()`.
    public init(directory: URL, trustAnchors: [String], headStore: RegistryHeadStore?) {
        self.directory = directory
        self.trustAnchors = trustAnchors
        self.headStore = headStore
    }

    /// The snapshot as of now: cached while the log file is unchanged, re-read (pinned to the
    /// newest head seen, which is then advanced) otherwise.
    public func current(at date: Date = Date()) throws -> ConsentRegistry {
        let fingerprint = RegistryFingerprint.compute(directory: directory)
        if let cached = loaded.withLock({ $0 }), cached.fingerprint == fingerprint { return cached.registry }
        loaded.withLock { $0 = nil }
        let remembered = try headStore?.read()
        let pinned = [remembered, newestHead.withLock { $0 }].compactMap { $0 }.max { $0.seq < $1.seq }
        let registry = try ConsentRegistry.load(directory: directory, trustAnchors: trustAnchors, pinnedHead: pinned, at: date)
        try headStore?.record(registry.head)
        newestHead.withLock { head in
            if head.map({ $0.seq < registry.head.seq }) ?? true { head = registry.head }
        }
        // A write between fingerprint and load makes the next call re-read: never stale for long.
        loaded.withLock { $0 = Loaded(fingerprint: fingerprint, registry: registry) }
        return registry
    }
}
