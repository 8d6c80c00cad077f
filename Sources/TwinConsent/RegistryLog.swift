// Role: the registry's storage: one append-only, hash-chained log `<registry>/log.jsonl`, its
// head (seq + hash), and appends under `flock` on `log.jsonl.lock`.
// Reference: the hash chain of Certificate Transparency / Rekor logs (RFC 6962 without the Merkle
// tree) and TUF's rollback rule: a client remembers the newest head it has seen (RegistryHeadStore).
// Each line is canonical JSON `{"hash","prev","record","seq"}` with
// `hash = SHA-256(canonical JSON of {prev, record, seq})`, `prev` the previous line's hash (64
// zeros for seq 1), seq 1, 2, 3, ...
// Failure modes: a line that is not canonical, has the wrong seq or prev, or whose hash does not
// match throws `registryTampered` naming the line (deletion, insertion, reordering, editing); a
// final fragment without its newline that is not a complete, verifying line (a torn append) is
// reported and ignored, and the next append cuts it off under the lock; a complete last line
// whose newline was cut off still counts. Write failures throw `io`; a failed append leaves no partial line
// behind (the next append truncates it).

import Crypto
import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#endif

/// A position in the registry log: the number of lines and the hash of the last one.
public struct RegistryHead: Codable, Equatable, Sendable, CustomStringConvertible {
    /// Number of lines (0 for an empty log).
    public let seq: Int
    /// Hash of line `seq` (64 zeros for an empty log).
    public let hash: String

    /// A head.
    public init(seq: Int, hash: String) {
        self.seq = seq
        self.hash = hash
    }

    /// The head of an empty log.
    public static let empty = RegistryHead(seq: 0, hash: String(repeating: "0", count: 64))

    public var description: String { "seq \(seq) hash \(hash)" }
}

/// One verified line of the log.
struct LogEntry: Sendable {
    let seq: Int
    let hash: String
    let record: [String: CanonicalValue]
}

/// Reading, verifying and appending the log file.
enum RegistryLog {
    static let fileName = "log.jsonl"
    static let lineLimit = 1 << 20
    static let fileLimit = 1 << 30

    /// What `read` found: the verified lines, the head, and how many bytes are whole lines.
    struct Contents {
        var entries: [LogEntry] = []
        var head = RegistryHead.empty
        var validLength = 0
        var tornTail = false
        /// The last line is complete and verifies but lacks its newline (someone cut it off):
        /// it counts, and the next append writes the newline first.
        var missingNewline = false
        /// Hash of each line, by seq - 1 (for the pinned-head check).
        var hashes: [String] = []
    }

    static func url(_ directory: URL) -> URL { directory.appendingPathComponent(fileName) }

    /// Reads and verifies the whole chain. A missing log is an empty one.
    static func read(directory: URL) throws -> Contents {
        let file = url(directory)
        let bytes: [UInt8]
        do throws(DurableFile.ReadProblem) {
            bytes = try DurableFile.readRegularFile(file.path, limit: fileLimit)
        } catch {
            if case .system(let failure) = error, failure.code == ENOENT { return Contents() }
            throw ConsentError.read(error)
        }
        var contents = Contents()
        var start = 0
        while start < bytes.count {
            guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                if let entry = try? verify(bytes[start...], seq: contents.head.seq + 1, prev: contents.head.hash) {
                    contents.entries.append(entry)
                    contents.hashes.append(entry.hash)
                    contents.head = RegistryHead(seq: entry.seq, hash: entry.hash)
                    contents.validLength = bytes.count
                    contents.missingNewline = true
                } else {
                    contents.tornTail = true
                }
                break
            }
            let entry = try verify(bytes[start..<end], seq: contents.head.seq + 1, prev: contents.head.hash)
            contents.entries.append(entry)
            contents.hashes.append(entry.hash)
            contents.head = RegistryHead(seq: entry.seq, hash: entry.hash)
            start = end + 1
            contents.validLength = start
        }
        return contents
    }

    /// Verifies one line: canonical, the expected seq and prev, and a matching hash.
    static func verify(_ line: ArraySlice<UInt8>, seq: Int, prev: String) throws -> LogEntry {
        func tampered(_ why: String) -> ConsentError {
            ConsentError.registryTampered("\(fileName) line \(seq): \(why); the registry is untrusted until the log is restored")
        }
        guard line.count <= lineLimit else { throw tampered("longer than \(lineLimit) bytes") }
        guard let object = try? CanonicalValue.parseObject(line), canonicalJSON(object) == Array(line) else {
            throw tampered("not a canonical JSON log line")
        }
        guard object.count == 4, case .int(let lineSeq)? = object["seq"], case .string(let linePrev)? = object["prev"],
              case .string(let lineHash)? = object["hash"], case .object(let record)? = object["record"]
        else { throw tampered("not a {hash, prev, record, seq} line") }
        guard lineSeq == seq else { throw tampered("has seq \(lineSeq), expected \(seq) (a line was deleted, inserted or moved)") }
        guard linePrev == prev else { throw tampered("does not follow line \(seq - 1) (prev hash differs)") }
        guard lineHash == hash(prev: prev, record: record, seq: seq) else { throw tampered("its hash does not match its contents (edited)") }
        return LogEntry(seq: seq, hash: lineHash, record: record)
    }

    /// `SHA-256(canonical JSON of {prev, record, seq})`, lowercase hex.
    static func hash(prev: String, record: [String: CanonicalValue], seq: Int) -> String {
        let bytes = canonicalJSON(["prev": .string(prev), "record": .object(record), "seq": .int(seq)])
        return SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// The line that appends `record` after `head`, and the new head.
    static func line(for record: [String: CanonicalValue], after head: RegistryHead) -> (bytes: [UInt8], head: RegistryHead) {
        let seq = head.seq + 1
        let digest = hash(prev: head.hash, record: record, seq: seq)
        let line = canonicalJSON(["hash": .string(digest), "prev": .string(head.hash), "record": .object(record), "seq": .int(seq)])
        return (line + [UInt8(ascii: "\n")], RegistryHead(seq: seq, hash: digest))
    }

    /// Runs `body` holding the exclusive append lock (`log.jsonl.lock`).
    static func withAppendLock<T>(directory: URL, _ body: () throws -> T) throws -> T {
        do throws(SystemCallError) {
            try DurableFile.makeDirectory(directory.path, mode: 0o755)
        } catch {
            throw ConsentError.io(error)
        }
        return try withRegistryLock(url(directory).path + ".lock", body)
    }

    /// Appends `line` (call under `withAppendLock`, after `read`): cuts the file back to
    /// `contents.validLength` (dropping a torn line), writes with one `write` (after the missing
    /// newline of a complete last line, if any), fsyncs the file and, when it was created, the
    /// directory.
    static func append(_ line: [UInt8], directory: URL, after contents: Contents) throws {
        let validLength = contents.validLength
        let line = contents.missingNewline ? [UInt8(ascii: "\n")] + line : line
        let path = url(directory).path
        let created = access(path, F_OK) != 0
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ConsentError.io(SystemCallError("open", path)) }
        defer { close(fd) }
        do throws(SystemCallError) {
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw SystemCallError("fstat", path) }
            if Int(info.st_size) != validLength, ftruncate(fd, off_t(validLength)) != 0 { throw SystemCallError("ftruncate", path) }
            try DurableFile.writeAll(fd: fd, line, path: path)
            guard fsync(fd) == 0 else { throw SystemCallError("fsync", path) }
            if created { try DurableFile.fsyncDirectory(directory.path) }
        } catch {
            _ = ftruncate(fd, off_t(validLength))
            throw ConsentError.io(error)
        }
    }
}
