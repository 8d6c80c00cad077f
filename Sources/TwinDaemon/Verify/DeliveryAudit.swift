// Role: checks the promise between `out/` and the royalty ledger — every committed event's image
// is in `out/` with the recorded SHA-256, and every image in `out/` has its event — and, when
// asked, repairs what can be repaired without anyone's key: an image without an event is moved to
// `state/orphaned/` (out of readers' reach); a lost image is re-queued by copying its job from
// `done/` back to `incoming/`, where the daemon re-creates it only after a fresh consent check.
// Used by `twinrender royalties verify --spool` and by the tests.
// Failure modes: unreadable files are reported as problems, never thrown; a ledger that cannot
// be read throws (nothing can be checked against it).

import Crypto
import Foundation
import TwinLedger
import TwinSpool

/// One disagreement between `out/` and the ledger.
public struct DeliveryProblem: Sendable, Equatable, CustomStringConvertible {
    /// What kind of disagreement.
    public enum Kind: String, Sendable {
        /// The ledger has the event; `out/` lacks the image.
        case imageMissing = "image_missing"
        /// The image in `out/` is not the recorded bytes.
        case imageAltered = "image_altered"
        /// The image in `out/` has no royalty event.
        case eventMissing = "event_missing"
    }

    public let kind: Kind
    /// The image file name in `out/`.
    public let image: String
    public let message: String
    public var description: String { "\(image): \(kind.rawValue): \(message)" }
}

/// Compares a spool's `out/` with a ledger.
public struct DeliveryAudit {
    /// The spool root.
    public let spool: URL
    /// The ledger directory.
    public let ledger: URL

    public init(spool: URL, ledger: URL) {
        self.spool = spool
        self.ledger = ledger
    }

    private var out: URL { spool.appendingPathComponent("out") }

    /// Every disagreement, sorted by image name.
    public func problems() throws -> [DeliveryProblem] {
        let events = try LedgerReader(directory: ledger).events()
        var byImage: [String: RoyaltyEvent] = [:]
        for event in events { byImage["\(event.job)-\(event.imageIndex).png"] = byImage["\(event.job)-\(event.imageIndex).png"] ?? event }
        let images = Set(((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).filter { !$0.hasPrefix(".") && $0.hasSuffix(".png") })
        var problems: [DeliveryProblem] = []
        for (name, event) in byImage {
            guard images.contains(name) else {
                problems.append(DeliveryProblem(kind: .imageMissing, image: name, message: "event \(event.eventID) is committed but the image is not in out/"))
                continue
            }
            if let sha = Self.sha256(of: out.appendingPathComponent(name)), sha != event.outputSHA256 {
                problems.append(DeliveryProblem(kind: .imageAltered, image: name, message: "the file's SHA-256 is \(sha); event \(event.eventID) recorded \(event.outputSHA256)"))
            }
        }
        for name in images where byImage[name] == nil {
            problems.append(DeliveryProblem(kind: .eventMissing, image: name, message: "no royalty event for this image"))
        }
        return problems.sorted { $0.image < $1.image }
    }

    /// Repairs `problems`; returns one line per action taken.
    public func repair(_ problems: [DeliveryProblem]) -> [String] {
        var actions: [String] = []
        let orphans = spool.appendingPathComponent("state/orphaned")
        for problem in problems where problem.kind == .eventMissing {
            try? FileManager.default.createDirectory(at: orphans, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if rename(out.appendingPathComponent(problem.image).path, orphans.appendingPathComponent(problem.image).path) == 0 {
                actions.append("\(problem.image): moved to \(orphans.path)/ (no royalty event)")
            }
        }
        let lostJobs = Set(problems.filter { $0.kind == .imageMissing }.compactMap { Spool.parseImageName($0.image)?.job })
        for job in lostJobs.sorted() {
            let done = spool.appendingPathComponent("done/\(job).json")
            let incoming = spool.appendingPathComponent("incoming/\(job).json")
            if FileManager.default.fileExists(atPath: done.path), (try? FileManager.default.copyItem(at: done, to: incoming)) != nil {
                actions.append("\(job): re-queued from done/ to re-create its lost images (after a fresh consent check)")
            } else {
                actions.append("\(job): cannot re-queue (no done/\(job).json); restore the image from a backup")
            }
        }
        return actions
    }

    static func sha256(of url: URL) -> String? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
