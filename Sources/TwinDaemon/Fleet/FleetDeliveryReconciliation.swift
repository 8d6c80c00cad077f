// Role: at start-up of a fleet host, its staged leftovers in the shared image directory (from
// any earlier process of this host, which is gone: one daemon runs per host name): an image whose
// royalty event the database holds with the same SHA-256 is renamed into place (a crash between
// the COMMIT and the rename); every other one is deleted (its claim never committed, and the job
// is rendered again by whoever claims it next).
// Reference: StartupReconciliation (the spool's version); docs/fleet.md ("Delivery").
// Failure modes: a database that cannot be read throws (the daemon's start fails and says so);
// a staged file that cannot be read is left alone (for the operator), never deleted.

import Crypto
import Foundation
import TwinBase
import TwinFleet
import TwinLedger
import TwinSpool

/// Settles this host's staged images in a fleet image directory.
public struct FleetDeliveryReconciliation: Sendable {
    /// The shared image directory, as this host names its files.
    public let directory: ImageDirectory
    /// The fleet's ledger (where committed events are).
    public let ledger: FleetLedger

    /// Settles `directory` against `ledger`.
    public init(directory: ImageDirectory, ledger: FleetLedger) {
        self.directory = directory; self.ledger = ledger
    }

    /// What `run` did.
    public struct Outcome: Sendable, Equatable {
        /// Images renamed into place (committed, rename not done).
        public var delivered: [String] = []
        /// Staged files deleted (never committed, or a duplicate of a delivered image).
        public var discarded: [String] = []
    }

    /// Renames committed leftovers into place and deletes the rest.
    public func run() async throws -> Outcome {
        var outcome = Outcome()
        for staged in try directory.stagedByThisHost() {
            let event = try await ledger.event(id: RoyaltyEvent.eventID(job: staged.job, imageIndex: staged.index))
            let bytes = try? DurableFile.readRegularFile(staged.url.path, limit: 256 << 20)
            let matches = event != nil && bytes.map { Self.sha256($0) } == event?.outputSHA256
            if matches, !FileManager.default.fileExists(atPath: staged.finalURL.path), rename(staged.url.path, staged.finalURL.path) == 0 {
                outcome.delivered.append(staged.image)
            } else if bytes != nil {
                unlink(staged.url.path)
                outcome.discarded.append(staged.url.lastPathComponent)
            }
        }
        if !outcome.delivered.isEmpty || !outcome.discarded.isEmpty { try? DurableFile.fsyncDirectory(directory.url.path) }
        return outcome
    }

    private static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }
}
