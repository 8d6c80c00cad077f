// TEMPORARY: stand-ins for APIs that land with the spool branch; removed at merge.
import Foundation
import TwinSpool

extension SpoolError {
    var isTransient: Bool { false }
}

extension Spool {
    func deferJob(_ job: ClaimedJob, code: String, message: String, notBefore: Date) throws {
        try release(job)
    }
}

import Crypto
extension Spool {
    func finalImageURL(job: String, index: Int) -> URL { layout.out.appendingPathComponent("\(job)-\(index).png") }
    func stagingImageURL(job: String, index: Int) -> URL { layout.out.appendingPathComponent(".\(job)-\(index).png.\(host).\(pid).partial") }
    func stagedImage(job: String, index: Int, sha256: String) -> URL? {
        let prefix = ".\(job)-\(index).png.\(host)."
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.out.path)) ?? []
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".partial") {
            let url = layout.out.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url) else { continue }
            if SHA256.hash(data: data).map({ String(format: "%02x", $0) }).joined() == sha256 { return url }
        }
        return nil
    }
}

/// A staged image file in out/ (shim).
struct StagedLeftover { let url: URL; let job: String; let index: Int; let pid: Int32 }
extension Spool {
    func stagedLeftovers() -> [StagedLeftover] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.out.path)) ?? []
        var out: [StagedLeftover] = []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".partial") {
            let parts = name.dropFirst().dropLast(8).split(separator: ".")
            guard parts.count >= 4, String(parts[parts.count - 2]) == host, let pid = Int32(parts[parts.count - 1]) else { continue }
            let image = parts[0..<(parts.count - 3)].joined(separator: ".")
            guard let dash = image.lastIndex(of: "-"), let index = Int(image[image.index(after: dash)...]) else { continue }
            out.append(StagedLeftover(url: layout.out.appendingPathComponent(name), job: String(image[..<dash]), index: index, pid: pid))
        }
        return out
    }
    func processIsAlive(_ pid: Int32) -> Bool { pid == self.pid || kill(pid, 0) == 0 }
}
