// Role: the images of one job that are written to `out/` under their staging names but not yet
// delivered. Whatever path the pipeline leaves by — a refusal, a failure, a shutdown, a thrown
// error — `discardUndelivered()` (run from a `defer`) removes every staged file whose royalty
// event was not committed; files whose event was committed are renamed into place, never removed
// (a committed event's image always reaches `out/`).
// Failure modes: a failed unlink is ignored (the start-up sweep removes staged leftovers of dead
// processes, after checking the ledger); a failed rename throws to the caller, which requeues.

import Foundation
import TwinBase
import TwinSpool

/// Staged images of one job attempt.
final class StagedImages {
    /// One staged image.
    struct Item {
        let index: Int
        let stagingURL: URL
        let finalURL: URL
        let sha256: String
        /// The delivered pixels' `ImageFingerprint` text (nil for a leftover whose event is
        /// already committed: it needs no new event).
        let fingerprint: String?
        /// True once its royalty event is in the ledger: from then on the file must be delivered.
        var committed: Bool
    }

    private(set) var items: [Item] = []

    /// Records a staged file.
    func add(index: Int, stagingURL: URL, finalURL: URL, sha256: String, fingerprint: String?, committed: Bool) {
        items.append(Item(index: index, stagingURL: stagingURL, finalURL: finalURL, sha256: sha256,
                          fingerprint: fingerprint, committed: committed))
    }

    /// Marks image `index` as committed (its event is in the ledger).
    func markCommitted(_ index: Int) {
        if let i = items.firstIndex(where: { $0.index == index }) { items[i].committed = true }
    }

    /// Renames every committed image into its final name, then fsyncs `out/`.
    func deliverCommitted(outDirectory: URL) throws {
        for item in items where item.committed {
            guard rename(item.stagingURL.path, item.finalURL.path) == 0 else {
                throw SystemCallError("rename into out/", item.stagingURL.path)
            }
        }
        items.removeAll { $0.committed }
        try DurableFile.fsyncDirectory(outDirectory.path)
    }

    /// Removes every staged file that was not committed. Called on every exit path.
    func discardUndelivered() {
        for item in items where !item.committed { unlink(item.stagingURL.path) }
        items.removeAll { !$0.committed }
    }
}
