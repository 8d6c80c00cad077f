/// The names job files carry in each spool directory. A job's state is its directory; its name
/// carries the job id and, where needed, the attempt number and the claiming host and process.
///
///     incoming/<id>.json                  never attempted
///     incoming/<id>~<n>.json              requeued after n attempts
///     active/<id>~<n>~<host>~<pid>.json   attempt n, claimed by process <pid> on <host>
///     done|failed|rejected/<id>.json      final; a `<id>.reason.json` sits next to failed and rejected jobs
///
/// Job ids: 1–64 characters from `A–Z a–z 0–9 . _ -`, starting with a letter or digit.
public enum JobFileName {
    /// Whether `id` is a valid job id.
    public static func isValidID(_ id: String) -> Bool {
        guard let first = id.utf8.first, id.utf8.count <= 64 else { return false }
        guard isAlnum(first) else { return false }
        return id.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Whether `host` may appear in an active name (no `~` or `/`, non-empty).
    static func isValidHost(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 64 && !host.contains("~") && !host.contains("/")
    }

    /// An `incoming/` name, parsed.
    struct Incoming: Equatable {
        var id: String
        var attempts: Int

        init(id: String, attempts: Int) {
            self.id = id
            self.attempts = attempts
        }

        init?(_ name: String) {
            guard name.hasSuffix(".json") else { return nil }
            let stem = name.dropLast(5)
            let parts = stem.split(separator: "~", omittingEmptySubsequences: false)
            switch parts.count {
            case 1:
                attempts = 0
            case 2:
                guard let n = Int(parts[1]), n >= 1, n <= 1000 else { return nil }
                attempts = n
            default:
                return nil
            }
            id = String(parts[0])
            guard JobFileName.isValidID(id) else { return nil }
        }

        var name: String { attempts == 0 ? "\(id).json" : "\(id)~\(attempts).json" }
    }

    /// An `active/` name, parsed.
    struct Active: Equatable {
        var id: String
        var attempt: Int
        var host: String
        var pid: Int32

        init(id: String, attempt: Int, host: String, pid: Int32) {
            self.id = id
            self.attempt = attempt
            self.host = host
            self.pid = pid
        }

        init?(_ name: String) {
            guard name.hasSuffix(".json") else { return nil }
            let parts = name.dropLast(5).split(separator: "~", omittingEmptySubsequences: false)
            guard parts.count == 4, let n = Int(parts[1]), let pid = Int32(parts[3]) else { return nil }
            id = String(parts[0])
            attempt = n
            host = String(parts[2])
            self.pid = pid
            guard JobFileName.isValidID(id), JobFileName.isValidHost(host) else { return nil }
        }

        var name: String { "\(id)~\(attempt)~\(host)~\(pid).json" }
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }
}
