// Role: the state file each daemon rewrites at every heartbeat (`state/<host>-<pid>.json`), read
// by `twinrender status`.
// Failure modes: none (Codable values); writing is StatusReporter's.

import Foundation
import TwinSpool

/// The state file a daemon rewrites atomically (`<spool>/state/<host>-<pid>.json`) on every
/// heartbeat and when it stops; `twinrender status` reads these, so status works while daemons
/// run and after they stopped.
public struct DaemonState: Codable, Sendable {
    public struct Job: Codable, Sendable {
        public var job: String
        public var attempt: Int?
        public var image: Int?
        public var images: Int?
        public var step: Int?
        public var steps: Int?
        public var startedAt: Date?
        public var elapsedSeconds: Double?
        public var at: Date?
        public var code: String?
        public var seconds: Double?
    }

    public var host: String
    public var pid: Int32
    public var running: Bool
    public var startedAt: Date
    public var updatedAt: Date
    public var model: String
    public var queue: [String: Int]
    public var inProgress: [Job]
    public var lastDelivered: [Job]
    public var lastFailed: [Job]
    public var jobsDelivered: Int
    public var imagesDelivered: Int
    public var jobsFailed: Int
    public var jobsRejected: Int
    public var jobsPerMinute: Double
    public var imagesPerMinute: Double
    /// Degraded conditions (name → "code: reason"); absent when healthy.
    public var degraded: [String: String]?
    public var rssBytes: Int
    public var peakRssBytes: Int

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        e.dateEncodingStrategy = .iso8601
        e.keyEncodingStrategy = .convertToSnakeCase
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }()

    /// Every state file in a spool, newest first.
    public static func readAll(spool: SpoolLayout) -> [DaemonState] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: spool.state.path)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix("quota-") }.compactMap { name in
            guard let data = try? Data(contentsOf: spool.state.appendingPathComponent(name)) else { return nil }
            return try? decoder.decode(DaemonState.self, from: data)
        }.sorted { $0.updatedAt > $1.updatedAt }
    }

    /// The JSON encoding used in the file and by `status --json`.
    public func encoded() throws -> Data { try Self.encoder.encode(self) }
}
