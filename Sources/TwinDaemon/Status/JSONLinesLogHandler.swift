import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line to stderr (for journald) and to a
/// status log file that operators `tail -f`. Every line has `ts`, `level`, `event` (the log
/// message), `host`, and the metadata (`job` where there is one). Integer, floating and boolean
/// metadata stay JSON numbers and booleans.
public struct JSONLinesLogHandler: LogHandler {
    /// Where lines go; shared by every logger made from one `JSONLinesSink`.
    public final class Sink: @unchecked Sendable {
        private let lock = NSLock()
        private let file: FileHandle?
        private let toStderr: Bool

        /// Appends to `fileURL` (created with its directory if missing) and, if `stderr`, writes to stderr too.
        public init(fileURL: URL?, stderr: Bool) throws {
            if let fileURL {
                try FileManager.default.createDirectory(at: fileURL.deletingLastPathComponent(), withIntermediateDirectories: true)
                if !FileManager.default.fileExists(atPath: fileURL.path) {
                    FileManager.default.createFile(atPath: fileURL.path, contents: nil, attributes: [.posixPermissions: 0o640])
                }
                guard let handle = FileHandle(forWritingAtPath: fileURL.path) else {
                    throw ConfigError("cannot open status log \(fileURL.path) for writing")
                }
                handle.seekToEndOfFile()
                file = handle
            } else {
                file = nil
            }
            toStderr = stderr
        }

        func write(_ line: Data) {
            lock.lock()
            defer { lock.unlock() }
            file?.write(line)
            if toStderr { FileHandle.standardError.write(line) }
        }
    }

    private let sink: Sink
    private let host: String
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level

    public init(sink: Sink, host: String, level: Logger.Level) {
        self.sink = sink
        self.host = host
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "ts": Self.timestamp(Date()),
            "level": event.level.rawValue,
            "event": event.message.description,
            "host": host,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) {
            object[key] = Self.json(value)
        }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        sink.write(data)
    }

    static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c):
            switch c {
            case let i as Int: return i
            case let d as Double: return d.isFinite ? d : String(describing: d)
            case let b as Bool: return b
            case let u as UInt64: return u
            default: return c.description
            }
        case .array(let a): return a.map(json)
        case .dictionary(let d): return d.mapValues(json)
        }
    }

    /// UTC ISO 8601 with milliseconds.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
