// Role: the swift-log handler behind the status log: one canonical JSON object per line, to a file
// operators `tail -f` (opened O_APPEND, so several daemons sharing a log directory never
// interleave or overwrite lines) and to stderr for journald.
// Reference: swift-log's LogHandler protocol; POSIX O_APPEND (each write(2) lands at the end).
// Failure modes: the log never takes the daemon down. A line that cannot be written (ENOSPC, EIO,
// a closed stderr) is counted; the first line that can be written again is preceded by a
// `log.lines_dropped` line with the count and the last error. SIGPIPE is ignored by the daemon.

import Foundation
import Logging
import TwinBase

/// A swift-log handler writing JSON lines. Every line has `ts`, `level`, `event` (the log
/// message), `host`, and the metadata (`job` where there is one). Integer, floating and boolean
/// metadata stay JSON numbers and booleans.
public struct JSONLinesLogHandler: LogHandler {
    /// Where lines go; shared by every logger made from one sink.
    public final class Sink: @unchecked Sendable {
        private let lock = NSLock()
        private let fd: Int32?
        private let host: String
        private let toStderr: Bool
        private var dropped = 0
        private var lastError = ""
        private var level: Logger.Level = .info

        /// Appends to `fileURL` (created mode 0640 with its directory if missing) and, if
        /// `stderr`, writes to stderr too.
        public init(fileURL: URL?, host: String, stderr: Bool) throws {
            if let fileURL {
                do {
                    try FileManager.default.createDirectory(at: fileURL.deletingLastPathComponent(), withIntermediateDirectories: true)
                } catch {
                    throw ConfigError("cannot create log directory \(fileURL.deletingLastPathComponent().path): \(error.localizedDescription)")
                }
                let fd = open(fileURL.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
                guard fd >= 0 else { throw ConfigError("cannot open status log: \(SystemCallError("open", fileURL.path))") }
                self.fd = fd
            } else {
                fd = nil
            }
            self.host = host
            toStderr = stderr
        }

        deinit { if let fd { close(fd) } }

        /// The level below which lines are dropped; shared by every handler of this sink, so
        /// SIGHUP can change it for loggers that already exist.
        public var logLevel: Logger.Level {
            get { lock.withLock { level } }
            set { lock.withLock { level = newValue } }
        }

        /// Lines that could not be written since the last successful write.
        public var droppedLines: Int { lock.withLock { dropped } }

        func write(_ line: [UInt8]) {
            lock.withLock {
                if let fd {
                    if dropped > 0, append(droppedNotice(), to: fd) { dropped = 0 }
                    if dropped > 0 || !append(line, to: fd) { dropped += 1 }
                }
                if toStderr { _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) } }
            }
        }

        /// One write(2) of the whole line; false (with the error kept) when it did not all land.
        private func append(_ line: [UInt8], to fd: Int32) -> Bool {
            let written = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written == line.count { return true }
            lastError = written < 0 ? String(cString: strerror(errno)) : "short write (\(written) of \(line.count) bytes)"
            return false
        }

        private func droppedNotice() -> [UInt8] {
            let object: [String: JSONValue] = [
                "ts": .string(UTCTimestamp.millisecondText(Date())), "level": .string("warning"),
                "event": .string("log.lines_dropped"), "host": .string(host),
                "count": .integer(Int64(dropped)), "error": .string(lastError),
            ]
            return JSONValue.object(object).canonicalBytes + [0x0A]
        }
    }

    private let sink: Sink
    private let host: String
    public var metadata: Logger.Metadata = [:]
    /// The sink's level (one setting for every handler of the sink).
    public var logLevel: Logger.Level {
        get { sink.logLevel }
        set { sink.logLevel = newValue }
    }

    public init(sink: Sink, host: String) {
        self.sink = sink
        self.host = host
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: JSONValue] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) {
            object[key] = Self.json(value)
        }
        object["ts"] = .string(UTCTimestamp.millisecondText(Date()))
        object["level"] = .string(event.level.rawValue)
        object["event"] = .string(event.message.description)
        object["host"] = .string(host)
        sink.write(JSONValue.object(object).canonicalBytes + [0x0A])
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let c):
            switch c {
            case let i as Int: return .integer(Int64(i))
            case let d as Double: return d.isFinite ? .number(d) : .string(String(describing: d))
            case let b as Bool: return .bool(b)
            case let u as UInt64: return u <= UInt64(Int64.max) ? .integer(Int64(u)) : .string(String(u))
            default: return .string(c.description)
            }
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d): return .object(d.mapValues(json))
        }
    }
}
