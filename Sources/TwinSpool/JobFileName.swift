// Role: the names job files carry in each spool directory, built and parsed in one place. A job's
// state is its directory; its name carries the job id and, where needed, the attempts made, the
// transient deferrals and their not-before time, and the claiming host and process.
// Reference: notqmail `INTERNALS.md` (state in the directory, identity in the name).
// Failure modes: a name that does not parse is never guessed at: `incoming/` entries that do not
// parse are moved to `rejected/` (`job.invalid_name`), `active/` ones too once their lock is free.
//
//     incoming/<id>.json                              never attempted
//     incoming/<id>~<n>.json                          requeued after n counted attempts
//     incoming/<id>~<n>~defer<d>~until<t>.json        deferred d times (transient errors), not
//                                                     claimable before Unix time t (seconds)
//     active/<id>~<n>~<host>~<pid>.json               attempt n, claimed by <pid> on <host>
//     active/<id>~<n>~<host>~<pid>~defer<d>.json      the same, after d deferrals
//     done|failed|rejected/<id>.json                  final; `<id>.reason.json` / `<id>.result.json` beside it
//     out/<image>                                     a delivered image
//     out/.<image>~<host>~<pid>.partial               an image staged by <pid> on <host>
//
// Job ids: 1–64 characters from `A–Z a–z 0–9 . _ -`, starting with a letter or digit. Host names:
// TwinBase `HostName` (the same alphabet, so neither can hold `~`).

import Foundation
import TwinBase

/// The names job files carry in each spool directory.
public enum JobFileName {
    /// Whether `id` is a valid job id.
    public static func isValidID(_ id: String) -> Bool {
        guard let first = id.utf8.first, id.utf8.count <= 64 else { return false }
        guard isAlnum(first) else { return false }
        return id.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Most counted attempts a name may carry.
    static let maxAttempts = 1000

    /// An `incoming/` name, parsed.
    struct Incoming: Equatable {
        var id: String
        var attempts: Int
        var deferrals: Int = 0
        /// Unix seconds before which the job must not be claimed (0: none).
        var notBefore: Int64 = 0

        init(id: String, attempts: Int, deferrals: Int = 0, notBefore: Int64 = 0) {
            self.id = id
            self.attempts = attempts
            self.deferrals = deferrals
            self.notBefore = notBefore
        }

        init?(_ name: String) {
            guard name.hasSuffix(".json") else { return nil }
            let parts = name.dropLast(5).split(separator: "~", omittingEmptySubsequences: false)
            id = String(parts[0])
            guard JobFileName.isValidID(id) else { return nil }
            switch parts.count {
            case 1:
                attempts = 0
            case 2:
                guard let n = JobFileName.count(parts[1]), n >= 1 else { return nil }
                attempts = n
            case 4:
                guard let n = JobFileName.count(parts[1]), let d = JobFileName.count(parts[2], tag: "defer"), d >= 1,
                      let t = JobFileName.time(parts[3]) else { return nil }
                (attempts, deferrals, notBefore) = (n, d, t)
            default:
                return nil
            }
        }

        var name: String {
            if deferrals > 0 { return "\(id)~\(attempts)~defer\(deferrals)~until\(notBefore).json" }
            return attempts == 0 ? "\(id).json" : "\(id)~\(attempts).json"
        }
    }

    /// An `active/` name, parsed.
    struct Active: Equatable {
        var id: String
        var attempt: Int
        var host: String
        var pid: Int32
        var deferrals: Int = 0

        init(id: String, attempt: Int, host: String, pid: Int32, deferrals: Int = 0) {
            self.id = id
            self.attempt = attempt
            self.host = host
            self.pid = pid
            self.deferrals = deferrals
        }

        init?(_ name: String) {
            guard name.hasSuffix(".json") else { return nil }
            let parts = name.dropLast(5).split(separator: "~", omittingEmptySubsequences: false)
            guard parts.count == 4 || parts.count == 5, let n = JobFileName.count(parts[1]), n >= 1,
                  let pid = Int32(parts[3]), pid > 0 else { return nil }
            (id, attempt, host, self.pid) = (String(parts[0]), n, String(parts[2]), pid)
            guard JobFileName.isValidID(id), HostName.isValid(host) else { return nil }
            if parts.count == 5 {
                guard let d = JobFileName.count(parts[4], tag: "defer"), d >= 1 else { return nil }
                deferrals = d
            }
        }

        var name: String {
            let base = "\(id)~\(attempt)~\(host)~\(pid)"
            return deferrals > 0 ? base + "~defer\(deferrals).json" : base + ".json"
        }
    }

    /// An image staged in `out/`: `.<image>~<host>~<pid>.partial` (`~` cannot occur in an
    /// image name, a job id or a host name, so the split is unambiguous). The older
    /// `.<image>.<host>.<pid>.partial` form is still recognised for `legacyHost` (this host), so
    /// leftovers from before the change are cleaned too.
    struct Staged: Equatable {
        var image: String
        var host: String
        var pid: Int32

        init(image: String, host: String, pid: Int32) {
            self.image = image
            self.host = host
            self.pid = pid
        }

        init?(_ name: String, legacyHost: String? = nil) {
            guard name.hasPrefix("."), name.hasSuffix(".partial") else { return nil }
            let body = name.dropFirst().dropLast(8)
            let parts = body.split(separator: "~", omittingEmptySubsequences: false)
            if parts.count == 3 {
                guard let pid = Int32(parts[2]), pid > 0, HostName.isValid(String(parts[1])) else { return nil }
                (image, host, self.pid) = (String(parts[0]), String(parts[1]), pid)
            } else if parts.count == 1, let legacyHost, let dot = body.lastIndex(of: "."),
                      let pid = Int32(body[body.index(after: dot)...]), pid > 0, body[..<dot].hasSuffix("." + legacyHost) {
                (image, host, self.pid) = (String(body[..<dot].dropLast(legacyHost.count + 1)), legacyHost, pid)
            } else {
                return nil
            }
            guard !image.isEmpty, !image.hasPrefix(".") else { return nil }
        }

        var name: String { ".\(image)~\(host)~\(pid).partial" }
    }

    /// A decimal count 0...maxAttempts, optionally after a tag (`defer3`).
    private static func count(_ text: Substring, tag: String = "") -> Int? {
        guard text.hasPrefix(tag), let n = Int(text.dropFirst(tag.count)), (0...maxAttempts).contains(n),
              text.dropFirst(tag.count).allSatisfy(\.isASCII) else { return nil }
        return n
    }

    /// `until<unix seconds>`.
    private static func time(_ text: Substring) -> Int64? {
        guard text.hasPrefix("until"), let t = Int64(text.dropFirst(5)), t >= 0, t <= UTCTimestamp.maxSeconds else { return nil }
        return t
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }
}
