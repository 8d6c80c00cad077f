// Role: the JUMBF box structure a C2PA manifest store is: superboxes (`jumb`) with a description
// box (`jumd`: type UUID, toggles, label) and content boxes (`cbor` and others); an encoder and a
// strict parser.
// Reference: ISO/IEC 19566-5 (JUMBF) §A.2-A.3 (superbox, description box and its toggles);
// C2PA Technical Specification 2.x §11.1 ("Manifest store": box types and UUIDs) and §8.4.2
// (hashed URIs hash a superbox's payload: its description box and content boxes, without its
// own 8-byte header), as c2pa-rs `jumbf/boxes.rs` writes them.
// Failure modes: encoding is total. Parsing throws `C2PAError.malformedJUMBF` for a box length
// under 8 or past its parent, the 64-bit length form, a superbox without a leading description
// box, description toggles other than 0x03 (requestable, labelled: all C2PA writes), a label that
// is not UTF-8 or not NUL-terminated, and nesting deeper than `JUMBFSuperbox.maximumDepth`.

/// A JUMBF superbox (`jumb`): its description and its children in order.
public struct JUMBFSuperbox: Sendable, Equatable {
    /// One child of a superbox.
    public enum Child: Sendable, Equatable {
        /// A nested superbox.
        case superbox(JUMBFSuperbox)
        /// A content box: four-character type (`cbor`, `json`, …) and payload.
        case content(type: String, data: [UInt8])
    }

    /// The description box's 16-byte type UUID (what kind of superbox this is).
    public var type: [UInt8]
    /// The description box's label (e.g. `c2pa`, `c2pa.claim.v2`).
    public var label: String
    /// The children after the description box.
    public var children: [Child]

    /// Deepest nesting `parse` accepts (a C2PA manifest store is four deep).
    public static let maximumDepth = 8
    /// Toggles written: requestable (bit 0) and label present (bit 1).
    static let toggles: UInt8 = 0x03

    /// A superbox of `type` labelled `label`.
    public init(type: [UInt8], label: String, children: [Child]) {
        precondition(type.count == 16, "a JUMBF type is a 16-byte UUID")
        self.type = type
        self.label = label
        self.children = children
    }

    /// The C2PA box type UUID `XXXX0011-0010-8000-00AA00389B71` for a four-character code.
    public static func c2paType(_ fourCC: String) -> [UInt8] {
        precondition(fourCC.utf8.count == 4, "a four-character code")
        return Array(fourCC.utf8) + [0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
    }

    /// The first child superbox labelled `label`.
    public func child(_ label: String) -> JUMBFSuperbox? {
        for case .superbox(let box) in children where box.label == label { return box }
        return nil
    }

    /// The child superboxes in order.
    public var superboxes: [JUMBFSuperbox] { children.compactMap { if case .superbox(let b) = $0 { b } else { nil } } }

    /// The payload of the first content box of `type`.
    public func content(_ type: String) -> [UInt8]? {
        for case .content(let t, let data) in children where t == type { return data }
        return nil
    }

    // MARK: Encoding

    /// The whole superbox: 8-byte header (`LBox`, `jumb`) and payload.
    public var encoded: [UInt8] { Self.box("jumb", payload) }

    /// The superbox without its own header: the description box and the children. C2PA hashed
    /// URIs hash exactly these bytes.
    public var payload: [UInt8] {
        var description = type + [Self.toggles] + Array(label.utf8) + [0]
        description = Self.box("jumd", description)
        for child in children {
            switch child {
            case .superbox(let box): description += box.encoded
            case .content(let type, let data): description += Self.box(type, data)
            }
        }
        return description
    }

    private static func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count + 8)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            + Array(type.utf8) + payload
    }

    // MARK: Parsing

    /// Parses `bytes`, which must be exactly one superbox.
    public static func parse(_ bytes: [UInt8]) throws -> JUMBFSuperbox {
        let boxes = try boxes(bytes[...], at: 0)
        guard boxes.count == 1, boxes[0].type == "jumb" else {
            throw C2PAError.malformedJUMBF("expected one jumb superbox, found \(boxes.map(\.type))")
        }
        return try superbox(boxes[0].payload, at: boxes[0].offset, depth: 1)
    }

    private struct RawBox {
        var type: String
        var offset: Int
        var payload: ArraySlice<UInt8>
    }

    /// Splits `bytes` (starting at absolute `base`) into boxes that must fill it exactly.
    private static func boxes(_ bytes: ArraySlice<UInt8>, at base: Int) throws -> [RawBox] {
        var result: [RawBox] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let at = base + (i - bytes.startIndex)
            guard bytes.endIndex - i >= 8 else { throw C2PAError.malformedJUMBF("truncated box header at byte \(at)") }
            let length = bytes[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) }
            let typeBytes = bytes[(i + 4)..<(i + 8)]
            guard typeBytes.allSatisfy({ (0x20...0x7E).contains($0) }) else {
                throw C2PAError.malformedJUMBF("box type at byte \(at) is not four printable characters")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            if length == 1 { throw C2PAError.malformedJUMBF("box \(type) at byte \(at) uses the 64-bit length form") }
            guard length >= 8, length <= bytes.endIndex - i else {
                throw C2PAError.malformedJUMBF("box \(type) at byte \(at) has length \(length), outside 8...\(bytes.endIndex - i)")
            }
            result.append(RawBox(type: type, offset: at, payload: bytes[(i + 8)..<(i + length)]))
            i += length
        }
        return result
    }

    private static func superbox(_ payload: ArraySlice<UInt8>, at offset: Int, depth: Int) throws -> JUMBFSuperbox {
        guard depth <= maximumDepth else { throw C2PAError.malformedJUMBF("superboxes nested deeper than \(maximumDepth) at byte \(offset)") }
        let inner = try boxes(payload, at: offset + 8)
        guard let first = inner.first, first.type == "jumd" else {
            throw C2PAError.malformedJUMBF("superbox at byte \(offset) does not start with a jumd description box")
        }
        let d = first.payload
        guard d.count >= 17 else { throw C2PAError.malformedJUMBF("description box at byte \(first.offset) is shorter than 17 bytes") }
        let type = Array(d.prefix(16))
        let toggles = d[d.startIndex + 16]
        // Only "requestable, labelled" (what C2PA writes): then re-encoding a parsed box gives back
        // its exact bytes, so hashes over `payload` are hashes over the file's bytes.
        guard toggles == Self.toggles else {
            throw C2PAError.malformedJUMBF("description box at byte \(first.offset) has toggles 0x\(String(toggles, radix: 16)), not 0x03 (requestable, labelled)")
        }
        let labelStart = d.startIndex + 17
        guard let nul = d[labelStart...].firstIndex(of: 0), nul == d.endIndex - 1,
              let label = String(validating: d[labelStart..<nul], as: UTF8.self) else {
            throw C2PAError.malformedJUMBF("description box at byte \(first.offset) does not end with a NUL-terminated UTF-8 label")
        }
        var children: [Child] = []
        for box in inner.dropFirst() {
            if box.type == "jumb" {
                children.append(.superbox(try superbox(box.payload, at: box.offset, depth: depth + 1)))
            } else {
                children.append(.content(type: box.type, data: Array(box.payload)))
            }
        }
        return JUMBFSuperbox(type: type, label: label, children: children)
    }
}
