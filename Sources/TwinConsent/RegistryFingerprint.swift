import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cheap change detector for a registry directory: SHA-256 over the name, inode, size and
/// modification time (nanoseconds) of every file in its four folders. Every registry write either
/// creates a file or replaces one by rename (new inode), so any write changes the fingerprint.
public enum RegistryFingerprint {
    /// The current fingerprint of `directory` (hex). Missing folders count as empty.
    public static func compute(directory: URL) -> String {
        var hasher = SHA256()
        for folder in ["parties", "twins", "grants", "revocations"] {
            let folderURL = directory.appendingPathComponent(folder)
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folderURL.path)) ?? []).sorted()
            for name in names {
                var info = stat()
                guard lstat(folderURL.appendingPathComponent(name).path, &info) == 0 else { continue }
                let line = "\(folder)/\(name) \(info.st_ino) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)\n"
                hasher.update(data: Array(line.utf8))
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
