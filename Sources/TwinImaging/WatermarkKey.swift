// Role: the secret installation key of the invisible watermark: generation, the key file (one
// line of base64, mode 0600), and the keyed streams the layout is drawn from.
// Reference: RFC 5869 HKDF-SHA256 (swift-crypto) to derive per-purpose keys; HMAC-SHA256 in
// counter mode as the keyed generator (NIST SP 800-108 KDF in counter mode).
// Failure modes: a missing or unreadable file, a symlink, a non-regular file, a file group or
// others may read or write, or content that is not one line of base64 of 32 bytes throws
// `ImagingError.watermarkKey` naming the path and the fix; `write` refuses to overwrite.

import Crypto
import Foundation
import TwinBase

/// The secret key every watermark of an installation is laid out with.
///
/// The key decides which cells carry the sync pattern and which carry each code bit, and every
/// cell's sign (`WatermarkLayout(key:)`). Without it a mark can be neither read nor written so
/// that `verify` traces it: the sync pattern, the permutation and the signs are 256-bit-keyed
/// pseudo-random functions of the key. The key file holds one line, the base64 of the raw 32
/// bytes, mode 0600 (created by `twinrender watermark keygen` at install); render hosts of one
/// operator share it, and `verify` tries the current key and any previous ones (rotation).
///
/// What a party without the key still sees: that an image repeats a 64-pixel pattern (the
/// autocorrelation peak detection relies on), and the mark itself by averaging tiles, which lets
/// it copy a delivery's mark onto another picture; the fingerprint in the royalty event catches
/// that (`FingerprintMatcher`, `transplanted_mark`).
public struct WatermarkKey: Sendable, Equatable {
    /// Key length in bytes.
    public static let byteCount = 32

    private let bytes: [UInt8]
    /// A public name for the key: 16 hex digits of SHA-256 over a label and the key. Safe to log
    /// and to print in `verify` reports; says which key read a mark.
    public let identifier: String

    /// A key from its raw bytes; throws unless there are exactly 32.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.byteCount else {
            throw ImagingError.watermarkKey("a key is \(Self.byteCount) bytes, got \(bytes.count)")
        }
        self.init(checked: bytes)
    }

    private init(checked bytes: [UInt8]) {
        self.bytes = bytes
        let digest = SHA256.hash(data: Array("twinrender watermark key id v1\n".utf8) + bytes)
        identifier = digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// A fresh random key from the system's CSPRNG.
    public static func generate() -> WatermarkKey {
        WatermarkKey(checked: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// Writes the key file (one line of base64, mode 0600, fsynced); refuses to overwrite.
    public func write(to path: String) throws {
        do {
            try DurableFile.writeNew(Array((Data(bytes).base64EncodedString() + "\n").utf8), to: path, mode: 0o600)
        } catch {
            if error.code == EEXIST {
                throw ImagingError.watermarkKey("\(path) already exists; refusing to overwrite a watermark key (marks made with it could no longer be read)")
            }
            throw ImagingError.watermarkKey("cannot write \(path): \(error)")
        }
    }

    /// Reads a key file. Refuses symlinks, non-regular files, files with any group or other
    /// permission bit, and anything but one line of base64 of 32 bytes.
    public static func load(from path: String) throws -> WatermarkKey {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            if code == ELOOP { throw ImagingError.watermarkKey("\(path) is a symbolic link; give the key file itself") }
            throw ImagingError.watermarkKey("cannot open \(path): \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw ImagingError.watermarkKey("cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw ImagingError.watermarkKey("\(path) is not a regular file") }
        guard info.st_mode & 0o077 == 0 else {
            throw ImagingError.watermarkKey(String(format: "%@ has mode %04o: group or others may read or change it; run chmod 600 %@ (and consider the key exposed)",
                                                   path, Int(info.st_mode & 0o7777), path))
        }
        guard info.st_size <= 4096 else { throw ImagingError.watermarkKey("\(path) is \(info.st_size) bytes; a key file is one line") }
        var content = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < content.count {
            let n = content.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw ImagingError.watermarkKey("cannot read \(path): \(n == 0 ? "file shrank" : String(cString: strerror(errno)))") }
            filled += n
        }
        let text = String(decoding: content, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Data(base64Encoded: text), raw.count == byteCount else {
            throw ImagingError.watermarkKey("\(path) is not a watermark key (one line of base64 of \(byteCount) bytes); make one with `twinrender watermark keygen`")
        }
        return try WatermarkKey(bytes: Array(raw))
    }

    /// A keyed pseudo-random stream for one `purpose`: HKDF-SHA256 gives a per-purpose key, which
    /// HMAC-SHA256 in counter mode expands.
    func stream(purpose: String) -> KeyedStream {
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: bytes), salt: Array("twinrender watermark".utf8),
            info: Array(purpose.utf8), outputByteCount: 32)
        return KeyedStream(key: derived)
    }
}

/// HMAC-SHA256(key, counter) blocks read as little-endian 64-bit words: a keyed generator.
struct KeyedStream {
    private let key: SymmetricKey
    private var counter: UInt64 = 0
    private var words: [UInt64] = []

    init(key: SymmetricKey) { self.key = key }

    mutating func next() -> UInt64 {
        if words.isEmpty {
            let block = HMAC<SHA256>.authenticationCode(for: withUnsafeBytes(of: counter.bigEndian) { Array($0) }, using: key)
            counter += 1
            let bytes = Array(block)
            words = (0..<4).reversed().map { word in
                (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[word * 8 + $1]) << (8 * UInt64($1)) }
            }
        }
        return words.removeLast()
    }

    /// A uniform integer in 0..<bound (rejection sampling, no modulo bias).
    mutating func next(below bound: Int) -> Int {
        let limit = UInt64.max - UInt64.max % UInt64(bound)
        while true {
            let value = next()
            if value < limit { return Int(value % UInt64(bound)) }
        }
    }
}
