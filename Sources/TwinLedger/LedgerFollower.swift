// Role: `royalties tail`: yields events as hosts append them, by polling every segment for bytes
// appended since the last poll (no inotify: works the same on NFS-shared spools).
// Failure modes: a damaged complete line ends the stream with `LedgerError.damagedSegment`; a
// line still being written is picked up on a later poll once its newline is there.
// Reference: `tail -F` semantics over several files; polling as the source of truth (river, graphile/worker).

import Foundation

/// Follows a ledger directory and reports newly appended events. Safe to share between threads.
public final class LedgerFollower: @unchecked Sendable {
    /// The ledger directory.
    public let directory: URL
    private let lock = NSLock()
    private let index: LedgerIndex
    private var pending: [RoyaltyEvent] = []

    /// Starts following `directory`. With `fromStart` false, events already there are skipped.
    /// - Throws: `damagedSegment` or `io` while skipping the existing events.
    public init(directory: URL, fromStart: Bool = false) throws {
        self.directory = directory
        self.index = LedgerIndex(directory: directory)
        if !fromStart { try index.refresh() }
    }

    /// Events appended since the previous poll (or since `init`), segments in file-name order.
    public func poll() throws -> [RoyaltyEvent] {
        lock.lock()
        defer { lock.unlock() }
        let events = pending + (try index.refresh())
        pending = []
        return events
    }

    /// An endless stream of new events, checking every `interval`. It finishes when the consuming
    /// task is cancelled, and throws when the ledger is damaged.
    public func events(every interval: Duration = .seconds(1)) -> AsyncThrowingStream<RoyaltyEvent, Error> {
        AsyncThrowingStream(unfolding: { [self] in
            while !Task.isCancelled {
                if let next = try self.next() { return next }
                do { try await Task.sleep(for: interval) } catch { return nil }
            }
            return nil
        })
    }

    /// The next buffered event, refilling the buffer with one poll when it is empty.
    private func next() throws -> RoyaltyEvent? {
        lock.lock()
        defer { lock.unlock() }
        if pending.isEmpty { pending = try index.refresh() }
        return pending.isEmpty ? nil : pending.removeFirst()
    }
}
