// Role: submitting a job, and the read-only questions the daemon and the CLI ask the spool
// (is this id known, which ids are in flight, how many files per directory).
// Reference: notqmail `qmail-queue` (stage in a temporary file, fsync, then one rename into the
// queue); Postfix `postdrop`.
// Failure modes: a submission is staged in `tmp/` and linked into `incoming/` without replacing
// anything, so a crash leaves at most a stray `tmp/` file (removed by `cleanTemporaryFiles`).
// Queries read directories that change under them: an answer is a snapshot.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#endif

extension Spool {
    // MARK: Submitting

    /// Writes a job atomically: stage in `tmp/` (mode 0644, so the daemon can read a writer's
    /// file), fsync, link into `incoming/<id>.json` without replacing anything, fsync `incoming/`.
    /// Refuses an id the spool already knows. A writer (`access: .writer`) cannot read the
    /// daemon's directories, so it checks `incoming/` only; a duplicate of a job in flight is
    /// then rejected by the claim (`spool.duplicate_id`).
    public func submit(_ data: Data, id: String) throws {
        guard JobFileName.isValidID(id) else { throw SpoolError("invalid job id '\(RawName(id).printable)'") }
        guard data.count <= maxJobBytes else { throw SpoolError("job is \(data.count) bytes; the limit is \(maxJobBytes)") }
        let known = access == .writer ? try waitingIDs().contains(id) : try knows(id: id)
        guard !known else { throw SpoolError("a job with id '\(id)' is already in the spool") }
        let staging = layout.tmp.path + "/\(id).\(pid).\(UInt32.random(in: 0...UInt32.max)).json"
        do { try DurableFile.writeNew(data, to: staging, mode: 0o644) } catch {
            throw SpoolError(error, context: "cannot stage the job")
        }
        guard try SpoolFiles.renameNoReplace(staging, layout.incoming.path + "/\(id).json") else {
            unlink(staging)
            throw SpoolError("a job with id '\(id)' is already in incoming/")
        }
        try SpoolFiles.fsyncDirectory(layout.incoming.path)
    }

    // MARK: Queries

    /// Whether a job with this id already finished (done, failed or rejected) or waits/runs now.
    public func knows(id: String) throws -> Bool {
        if try endedEntry(for: id) != nil { return true }
        return try idsInFlight().contains(id)
    }

    /// Ids of the jobs waiting in `incoming/` (deferred ones included) or claimed in `active/` by
    /// any host. Reads `active/` first: a job moves from `incoming/` to `active/` when claimed,
    /// so it is seen in one of them.
    public func idsInFlight() throws -> Set<String> {
        let ids = Set(try SpoolFiles.names(in: layout.active.path).compactMap { $0.string.flatMap(JobFileName.Active.init)?.id })
        return ids.union(try waitingIDs())
    }

    /// Ids of the jobs in `incoming/`.
    private func waitingIDs() throws -> Set<String> {
        Set(try SpoolFiles.names(in: layout.incoming.path).compactMap { $0.string.flatMap(JobFileName.Incoming.init)?.id })
    }

    /// Number of job files per queue directory (hidden, reason and result files not counted),
    /// images in `out/`, and `deferred`: the `incoming/` jobs waiting for a not-before time.
    public func counts() -> [String: Int] {
        var counts: [String: Int] = [:]
        for (name, url) in layout.queueDirectories {
            let names = ((try? SpoolFiles.names(in: url.path)) ?? []).filter { !$0.isHidden }
            counts[name] = names.filter { raw in
                guard let text = raw.string else { return true }
                return !text.hasSuffix(".reason.json") && !text.hasSuffix(".result.json")
            }.count
        }
        let now = Int64(clock().timeIntervalSince1970.rounded(.down))
        let incoming = (try? SpoolFiles.names(in: layout.incoming.path)) ?? []
        counts["deferred"] = incoming.filter { ($0.string.flatMap(JobFileName.Incoming.init)?.notBefore ?? 0) > now }.count
        return counts
    }
}
