// Role: memory-mapped safetensors reader with strict header validation; tensors are converted
// from F32, F16 or BF16 to Float on read.
// Reference: huggingface/safetensors: 8-byte little-endian header length N, N bytes of JSON
// mapping tensor name -> {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional
// "__metadata__" string map), then the data block; offsets are relative to the data block.
// Failure modes: every malformed, truncated or hostile file gives a `SafeTensorsError` naming
// the file and, where there is one, the tensor. Nothing here traps on file contents.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element types this reader accepts; all are converted to `Float` when read.
public enum SafeTensorsDType: String, Sendable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"

    /// Bytes per element.
    public var size: Int { self == .f32 ? 4 : 2 }
}

/// A tensor's header entry: dtype, shape and byte range inside the data block.
public struct SafeTensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range relative to the start of the data block.
    public let range: Range<Int>

    /// Number of elements (product of `shape`; 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
}

/// Errors reading a safetensors file; each names the file and, where relevant, the tensor.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    private enum Kind: Equatable {
        case io(String)
        case header(String)
        case tensor(String, String)
    }
    private let kind: Kind
    /// The file the error is about (last path component).
    public let file: String

    /// The file cannot be opened, stat'ed or mapped.
    static func io(_ file: String, _ why: String) -> Self { .init(kind: .io(why), file: file) }
    /// The header is malformed (length, JSON, structure).
    static func header(_ file: String, _ why: String) -> Self { .init(kind: .header(why), file: file) }
    /// One tensor's entry is invalid, missing or of the wrong shape.
    static func tensor(_ file: String, _ name: String, _ why: String) -> Self {
        .init(kind: .tensor(name, why), file: file)
    }

    public var description: String {
        switch kind {
        case .io(let why): return "\(file): \(why)"
        case .header(let why): return "\(file): invalid safetensors header: \(why)"
        case .tensor(let name, let why): return "\(file): tensor '\(name)': \(why)"
        }
    }
}

/// A read-only memory map of a whole file, unmapped when released.
final class MappedFile: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws(SafeTensorsError) {
        let name = (path as NSString).lastPathComponent
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .io(name, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(name, "cannot stat: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .io(name, "not a regular file") }
        let size = Int(st.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw .io(name, "cannot map: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}

/// A validated, memory-mapped safetensors file.
public final class SafeTensorsFile: @unchecked Sendable {
    /// Largest header accepted (the format's own reference implementation uses 100 MB).
    public static let maxHeaderSize = 100_000_000

    /// File name used in errors.
    public let name: String
    /// Entries by tensor name.
    public let entries: [String: SafeTensorsEntry]
    /// The `__metadata__` map, if any.
    public let metadata: [String: String]
    let file: MappedFile
    private let dataStart: Int

    /// Maps and validates `url`. Throws `SafeTensorsError` for any defect.
    public convenience init(url: URL) throws(SafeTensorsError) {
        try self.init(file: MappedFile(path: url.path), name: url.lastPathComponent)
    }

    init(file: MappedFile, name: String) throws(SafeTensorsError) {
        self.file = file
        self.name = name
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw .header(name, "file is \(bytes.count) bytes, shorter than the 8-byte length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n >= 2, n <= UInt64(Self.maxHeaderSize) else { throw .header(name, "header length \(n) out of bounds") }
        guard n <= UInt64(bytes.count - 8) else {
            throw .header(name, "header length \(n) exceeds the file (\(bytes.count) bytes)")
        }
        let headerLength = Int(n)
        dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart
        let json = Data(bytes[8..<dataStart])
        let parsed: JSONValue
        do {
            parsed = try JSONDecoder().decode(JSONValue.self, from: json)
        } catch {
            throw .header(name, "not valid JSON")
        }
        guard case .object(let object) = parsed else { throw .header(name, "not a JSON object") }
        var entries: [String: SafeTensorsEntry] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in object {
            if key == "__metadata__" {
                guard case .object(let m) = value else { throw .header(name, "__metadata__ is not an object") }
                for (mk, mv) in m {
                    guard case .string(let s) = mv else { throw .header(name, "__metadata__ value '\(mk)' is not a string") }
                    metadata[mk] = s
                }
                continue
            }
            entries[key] = try Self.entry(key, value, dataSize: dataSize, file: name)
        }
        // Ranges must not overlap.
        let sorted = entries.values.sorted { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.range.lowerBound < a.range.upperBound {
            throw .tensor(name, b.name, "byte range \(b.range) overlaps tensor '\(a.name)'")
        }
        self.entries = entries
        self.metadata = metadata
    }

    private static func entry(_ key: String, _ value: JSONValue, dataSize: Int, file: String) throws(SafeTensorsError) -> SafeTensorsEntry {
        guard case .object(let e) = value else { throw .tensor(file, key, "entry is not an object") }
        guard Set(e.keys) == ["dtype", "shape", "data_offsets"] else {
            throw .tensor(file, key, "entry keys must be dtype, shape, data_offsets (got \(e.keys.sorted()))")
        }
        guard case .string(let ds)? = e["dtype"] else { throw .tensor(file, key, "dtype is not a string") }
        guard let dtype = SafeTensorsDType(rawValue: ds) else {
            throw .tensor(file, key, "unsupported dtype \(ds) (F32, F16, BF16 accepted)")
        }
        guard case .array(let rawShape)? = e["shape"] else { throw .tensor(file, key, "shape is not an array") }
        var shape: [Int] = []
        var count = 1
        for d in rawShape {
            guard let v = d.exactInteger, v >= 0 else { throw .tensor(file, key, "shape \(rawShape) has a non-integer or negative dimension") }
            let (c, overflow) = count.multipliedReportingOverflow(by: v)
            guard !overflow, c <= Int(Int32.max) else { throw .tensor(file, key, "shape \(rawShape) is too large") }
            count = c
            shape.append(v)
        }
        guard case .array(let offs)? = e["data_offsets"], offs.count == 2,
              let begin = offs[0].exactInteger, let end = offs[1].exactInteger else {
            throw .tensor(file, key, "data_offsets is not a pair of integers")
        }
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw .tensor(file, key, "data_offsets [\(begin), \(end)] outside the data block (\(dataSize) bytes)")
        }
        guard end - begin == count * dtype.size else {
            throw .tensor(file, key, "byte range of \(end - begin) bytes does not match shape \(shape) x \(dtype.rawValue) (\(count * dtype.size) bytes)")
        }
        return SafeTensorsEntry(name: key, dtype: dtype, shape: shape, range: begin..<end)
    }

    /// Converts tensor `name` to Float into `out` (exactly `entry.count` elements), checking its shape.
    public func read(_ name: String, shape: [Int], into out: UnsafeMutableBufferPointer<Float>) throws(SafeTensorsError) {
        guard let e = entries[name] else { throw .tensor(self.name, name, "missing") }
        guard e.shape == shape else { throw .tensor(self.name, name, "shape \(e.shape), expected \(shape)") }
        precondition(out.count == e.count, "destination size mismatch")
        convert(e, into: out)
    }

    /// Converts a validated entry's bytes to Float.
    private func convert(_ e: SafeTensorsEntry, into out: UnsafeMutableBufferPointer<Float>) {
        let src = UnsafeRawBufferPointer(rebasing: file.bytes[(dataStart + e.range.lowerBound)..<(dataStart + e.range.upperBound)])
        switch e.dtype {
        case .f32:
            for i in 0..<e.count { out[i] = Float(bitPattern: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) }
        case .f16:
            for i in 0..<e.count { out[i] = halfToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
        case .bf16:
            for i in 0..<e.count { out[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16) }
        }
    }

    /// Tensor `name` as a new Float array, checking its shape.
    public func floats(_ name: String, shape: [Int]) throws(SafeTensorsError) -> [Float] {
        let count = shape.reduce(1, *)
        guard let e = entries[name] else { throw .tensor(self.name, name, "missing") }
        guard e.shape == shape else { throw .tensor(self.name, name, "shape \(e.shape), expected \(shape)") }
        var result = [Float](repeating: 0, count: count)
        result.withUnsafeMutableBufferPointer { buf in convert(e, into: buf) }
        return result
    }
}

/// IEEE 754 binary16 -> binary32 (exact; subnormals, infinities and NaN preserved).
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1F
    let mant = UInt32(h & 0x3FF)
    if exp == 0 {
        // Zero or subnormal: mant * 2^-24.
        let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exp == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}
