// Role: SHA-256 of twin weight files (the bytes a twin record pins), cached by file identity.
// Reference: the stat-identity caching of Postfix's lookup tables; SHA-256 via swift-crypto.
// Failure modes: a missing, non-regular or unreadable file gives nil from the cache (the consent
// check then refuses with `consent.twin_weights_mismatch`); `sha256(of:)` throws notFound/io.

import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SHA-256 of twin weight files, for `ConsentRequest.twinWeightsSHA256` and `twin register`.
///
/// Hashing a large weight file for every job is wasteful, so the cache remembers each file's
/// digest together with its device, inode, size and modification time, and re-hashes only when
/// one of them changes (a swapped or rewritten file always changes at least one).
public final class WeightsDigestCache: Sendable {
    private struct Identity: Equatable {
        let device: UInt64, inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int
    }

    private let cache: Mutex<[String: (Identity, String)]> = Mutex([:])

    /// An empty cache.
    public init() {}

    /// Lowercase hex SHA-256 of `file`, or `nil` when it is missing, not a regular file, or
    /// unreadable (which the consent check reports as `consent.twin_weights_mismatch`).
    public func sha256(of file: URL) -> String? {
        guard let before = Self.identity(file.path) else { return nil }
        if let (identity, digest) = cache.withLock({ $0[file.path] }), identity == before { return digest }
        guard let digest = try? Self.sha256(of: file), Self.identity(file.path) == before else { return nil }
        cache.withLock { $0[file.path] = (before, digest) }
        return digest
    }

    /// Lowercase hex SHA-256 of `file`, read in 1 MiB chunks.
    public static func sha256(of file: URL) throws -> String {
        let fd = open(file.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConsentError.notFound("cannot open weight file \(file.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw ConsentError.io("cannot read weight file \(file.path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private static func identity(_ path: String) -> Identity? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return Identity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            seconds: Int(info.st_mtim.tv_sec), nanoseconds: Int(info.st_mtim.tv_nsec))
    }
}
