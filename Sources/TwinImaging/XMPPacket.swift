// Role: writes the XMP packet of a delivered image and reads simple properties back for `verify`.
// Reference: XMP Part 1 (ISO 16684-1) packet and RDF/XML serialisation; IPTC Photo Metadata
// Extension; PLUS LDF 1.2 (exiftool `PLUS.pm`).
// Failure modes: reading is one linear pass over at most `ImagingLimits.maximumXMPBytes` (a larger
// packet throws `ImagingError.limitExceeded`); malformed XML yields fewer properties, never an
// error or a crash.

import Foundation

/// Builds the XMP packet stored in the PNG's `iTXt` chunk `XML:com.adobe.xmp`, and reads simple
/// properties back out of one.
///
/// Vocabularies: IPTC Photo Metadata Extension (`Iptc4xmpExt:DigitalSourceType` =
/// trainedAlgorithmicMedia, the value Instagram/TikTok and the EU AI Act guidance look for),
/// PLUS License Data Format 1.2 (licensee, licence dates, region/media constraints, model
/// release status; property forms as exiftool's `PLUS.pm` defines them), XMP basic
/// (CreatorTool, CreateDate) and twinrender's own namespace for job, twin, grant, payload and
/// model package hash.
public enum XMPPacket {
    /// PNG text keyword for XMP.
    public static let keyword = "XML:com.adobe.xmp"
    /// IPTC digital source type of images made by a trained generative model.
    public static let trainedAlgorithmicMedia =
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    /// twinrender's XMP namespace URI (prefix `twinrender`).
    public static let twinrenderNamespace = "http://ns.twinrender.dev/xmp/1.0/"

    /// The XMP packet describing `metadata`.
    public static func make(_ metadata: ProvenanceMetadata) -> String {
        let e = escape
        let stamp = ProvenanceMetadata.timestamp
        return """
        <?xpacket begin="\u{FEFF}" id="W5M0MpCehiHzreSzNTczkc9d"?>
        <x:xmpmeta xmlns:x="adobe:ns:meta/">
         <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
          <rdf:Description rdf:about=""
            xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
            xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"
            xmlns:xmp="http://ns.adobe.com/xap/1.0/"
            xmlns:twinrender="\(twinrenderNamespace)"
            Iptc4xmpExt:DigitalSourceType="\(trainedAlgorithmicMedia)"
            xmp:CreatorTool="\(e(metadata.software))"
            xmp:CreateDate="\(stamp(metadata.creationTime))"
            plus:LicenseStartDate="\(stamp(metadata.licenceStart))"
            plus:LicenseEndDate="\(stamp(metadata.licenceEnd))"
            plus:ModelReleaseStatus="\(metadata.modelReleaseStatus.uri)"
            twinrender:JobID="\(e(metadata.jobID))"
            twinrender:ImageIndex="\(metadata.imageIndex)"
            twinrender:TwinID="\(e(metadata.twinID))"
            twinrender:GrantUID="\(e(metadata.grantUID))"
            twinrender:WatermarkPayload="\(metadata.payloadHex)"
            twinrender:ModelPackageHash="\(e(metadata.modelPackageHash))">
           <plus:Licensee>
            <rdf:Seq>
             <rdf:li rdf:parseType="Resource">
              <plus:LicenseeName>\(e(metadata.licenseeName))</plus:LicenseeName>
              <plus:LicenseeID>\(e(metadata.licenseeID))</plus:LicenseeID>
             </rdf:li>
            </rdf:Seq>
           </plus:Licensee>
           <plus:RegionConstraints>
            <rdf:Alt><rdf:li xml:lang="x-default">\(e(metadata.region))</rdf:li></rdf:Alt>
           </plus:RegionConstraints>
           <plus:MediaConstraints>
            <rdf:Alt><rdf:li xml:lang="x-default">\(e(metadata.mediaConstraint))</rdf:li></rdf:Alt>
           </plus:MediaConstraints>
          </rdf:Description>
         </rdf:RDF>
        </x:xmpmeta>
        <?xpacket end="w"?>
        """
    }

    /// Simple properties of a packet, keyed by qualified name (`twinrender:JobID`,
    /// `plus:LicenseeName`, ...): attributes of any element, and the text of elements that
    /// contain only text (for `rdf:Alt`/`rdf:Seq` containers, the first item's text under the
    /// container's name). A lightweight reader for packets like the ones `make` writes, not a
    /// general RDF parser. One linear pass; throws `ImagingError.limitExceeded` for a packet over
    /// `ImagingLimits.maximumXMPBytes` before reading any of it.
    public static func properties(of packet: String) throws -> [String: String] {
        try ImagingLimits.require(packet.utf8.count, atMost: ImagingLimits.maximumXMPBytes, "maximumXMPBytes", what: "XMP packet size")
        var result: [String: String] = [:]
        let scalars = Array(packet.unicodeScalars)
        var index = 0
        var openElements: [String] = []
        while index < scalars.count {
            guard scalars[index] == "<" else { index += 1; continue }
            guard let close = scalars[index...].firstIndex(of: ">") else { break }
            let tag = String(String.UnicodeScalarView(scalars[(index + 1)..<close]))
            let textStart = close + 1
            index = close + 1
            if tag.hasPrefix("?") || tag.hasPrefix("!") { continue }
            if tag.hasPrefix("/") {
                if !openElements.isEmpty { openElements.removeLast() }
                continue
            }
            let selfClosing = tag.hasSuffix("/")
            let body = selfClosing ? String(tag.dropLast()) : tag
            let name = String(body.prefix { !$0.isWhitespace })
            for (key, value) in attributes(in: body.dropFirst(name.count)) where !key.hasPrefix("xmlns") {
                result[key] = result[key] ?? value
            }
            if selfClosing { continue }
            openElements.append(name)
            // Leaf text: everything up to the next tag, if that tag closes this element.
            if let next = scalars[textStart...].firstIndex(of: "<"), next + 1 < scalars.count, scalars[next + 1] == "/" {
                let text = unescape(String(String.UnicodeScalarView(scalars[textStart..<next])))
                let owner = name == "rdf:li" ? openElements.dropLast().last { !$0.hasPrefix("rdf:") } ?? name : name
                if owner != "rdf:li" { result[owner] = result[owner] ?? text }
            }
        }
        return result
    }

    private static func attributes(in text: Substring) -> [(String, String)] {
        var pairs: [(String, String)] = []
        var rest = text
        while let equals = rest.firstIndex(of: "=") {
            let key = String(rest[..<equals].drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
            let afterEquals = rest[rest.index(after: equals)...].drop { $0.isWhitespace }
            guard let quote = afterEquals.first, quote == "\"" || quote == "'" else { break }
            let valueStart = afterEquals.index(after: afterEquals.startIndex)
            guard let valueEnd = afterEquals[valueStart...].firstIndex(of: quote) else { break }
            pairs.append((key, unescape(String(afterEquals[valueStart..<valueEnd]))))
            rest = afterEquals[afterEquals.index(after: valueEnd)...]
        }
        return pairs
    }

    /// XML-escapes text for both attribute values and element content.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r\n", "\r": out.append(character)
            case _ where character.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }):
                continue  // not allowed in XML 1.0
            default: out.append(character)
            }
        }
        return out
    }

    /// Replaces the five predefined XML entities in one pass (so `&amp;lt;` becomes `&lt;`).
    private static func unescape(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "&")) else { return text }
        let entities: [(name: String, character: Character)] = [
            ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&apos;", "'"), ("&amp;", "&"),
        ]
        var out = ""
        var rest = Substring(text)
        while let ampersand = rest.firstIndex(of: "&") {
            out += rest[..<ampersand]
            rest = rest[ampersand...]
            if let entity = entities.first(where: { rest.hasPrefix($0.name) }) {
                out.append(entity.character)
                rest = rest.dropFirst(entity.name.count)
            } else {
                out.append("&")
                rest = rest.dropFirst()
            }
        }
        return out + rest
    }
}
