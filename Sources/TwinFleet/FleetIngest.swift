// Role: the ingest service for job droppers who keep their habit: files renamed into a shared
// `incoming/` directory move into the fleet queue exactly once. Per file: read it (regular file,
// size limit, no symlink), insert the job (one statement: committed when it returns), then rename
// the file into `ingested/`. Files that cannot be jobs go to `rejected/` with `<name>.reason`.
// Reference: the spool's protocol (Postfix `pickup`: a file's state is its directory, a state
// change is a rename); the database insert is the commit point.
// Failure modes: a crash after the insert and before the rename leaves the file in `incoming/`;
// the next scan inserts the same bytes again, which the queue answers "already queued"
// (`submit` returns false, nothing changes), and moves it aside: exactly once. Two ingesters on
// one directory race on the rename; the loser sees ENOENT and skips the file. A job id already
// queued with other bytes is refused into `rejected/` (`spool.duplicate_id`). A database outage
// leaves the files where they are (the scan throws the transient error; the next one retries).
// Writers must write elsewhere and rename into `incoming/`: names starting with `.` are skipped.

import Foundation
import TwinBase
import TwinSpool

/// Moves dropped job files from a directory into the fleet queue.
public struct FleetIngest: Sendable {
    /// The queue jobs go to.
    public let queue: FleetQueue
    /// The directory holding `incoming/`, `ingested/` and `rejected/`.
    public let root: URL
    /// Larger files are refused unread.
    public let maxJobBytes: Int

    /// What one scan did.
    public struct Scan: Sendable, Equatable {
        /// Job ids inserted now.
        public var queued: [String] = []
        /// Job ids that were already in the queue with the same bytes (a crash before the rename).
        public var alreadyQueued: [String] = []
        /// File names moved to `rejected/`, with the reason.
        public var rejected: [String: String] = [:]
    }

    /// Ingest from `root/incoming` into `queue`; creates the three directories if missing.
    public init(queue: FleetQueue, root: URL, maxJobBytes: Int = 64 * 1024) throws {
        self.queue = queue; self.root = root; self.maxJobBytes = maxJobBytes
        for name in ["incoming", "ingested", "rejected"] {
            try DurableFile.makeDirectory(root.appendingPathComponent(name).path, mode: 0o755)
        }
    }

    private func path(_ directory: String, _ name: String) -> String { root.appendingPathComponent(directory).appendingPathComponent(name).path }

    /// One pass over `incoming/`, oldest names first.
    /// - Throws: `FleetError.databaseUnavailable` (files not yet inserted stay for the next pass).
    @discardableResult
    public func scan() async throws -> Scan {
        var result = Scan()
        let names = (try DurableFile.rawNames(in: root.appendingPathComponent("incoming").path) ?? [])
            .map { String(decoding: $0, as: UTF8.self) }.filter { !$0.hasPrefix(".") }.sorted()
        for name in names {
            guard name.hasSuffix(".json"), case let id = String(name.dropLast(5)), JobFileName.isValidID(id) else {
                try reject(name, reason: "job.invalid_name: a dropped job is ID.json with ID of 1-64 of A-Z a-z 0-9 . _ -")
                result.rejected[name] = "job.invalid_name"
                continue
            }
            let bytes: [UInt8]
            do throws(DurableFile.ReadProblem) {
                bytes = try DurableFile.readRegularFile(path("incoming", name), limit: maxJobBytes)
            } catch let problem {
                if case .system(let error) = problem, error.code == ENOENT { continue }   // another ingester took it
                try reject(name, reason: "job.unreadable: \(problem)")
                result.rejected[name] = "job.unreadable"
                continue
            }
            let inserted: Bool
            do {
                inserted = try await queue.submit(id: id, spec: bytes, priority: Self.priority(of: bytes), source: "ingest")
            } catch let error as FleetError where !error.isTransient {
                try reject(name, reason: "spool.duplicate_id: \(error)")
                result.rejected[name] = "spool.duplicate_id"
                continue
            }
            // Committed: only now may the file leave incoming/.
            try moveAside(name, to: "ingested")
            if inserted { result.queued.append(id) } else { result.alreadyQueued.append(id) }
        }
        return result
    }

    /// The job's `priority` field when it is an integer in -1000...1000, else 0 (the worker
    /// validates the whole job when it claims it and refuses a bad one with its reason).
    static func priority(of bytes: [UInt8]) -> Int {
        struct Fields: Decodable { let priority: Int? }
        guard let value = (try? JSONDecoder().decode(Fields.self, from: Data(bytes)))?.priority else { return 0 }
        return (-1000...1000).contains(value) ? value : 0
    }

    private func moveAside(_ name: String, to directory: String) throws {
        if rename(path("incoming", name), path(directory, name)) != 0 {
            if errno == ENOENT { return }   // another ingester moved it after its own insert
            throw FleetError.query("ingest: rename \(name) into \(directory)/: \(String(cString: strerror(errno)))")
        }
        try? DurableFile.fsyncDirectory(root.appendingPathComponent(directory).path)
    }

    private func reject(_ name: String, reason: String) throws {
        try? DurableFile.replace(Array((reason + "\n").utf8), at: path("rejected", name + ".reason"))
        try moveAside(name, to: "rejected")
    }
}
