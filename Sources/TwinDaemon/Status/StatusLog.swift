// Role: the daemon's status events, one JSON line each (README "Status log"), on top of swift-log.
// Failure modes: none; the handler never throws (JSONLinesLogHandler counts lines it cannot write).

import Foundation
import Logging

/// The daemon's status events, one JSON line each (see README "Status log"). Wraps a `Logger`
/// whose handler is `JSONLinesLogHandler`; the event name is the log message.
struct StatusLog: Sendable {
    let logger: Logger

    func event(_ name: String, level: Logger.Level = .info, job: String? = nil, _ fields: Logger.Metadata = [:]) {
        var metadata = fields
        if let job { metadata["job"] = .string(job) }
        logger.log(level: level, Logger.Message(stringLiteral: name), metadata: metadata)
    }
}

extension Logger.MetadataValue {
    static func int(_ value: Int) -> Logger.MetadataValue { .stringConvertible(value) }
    static func double(_ value: Double) -> Logger.MetadataValue { .stringConvertible(value) }
}
