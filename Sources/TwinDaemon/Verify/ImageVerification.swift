// Role: `twinrender verify IMAGE`: decode an image's invisible watermark and provenance metadata
// (TwinImaging's `ImageInspector`), look the 64-bit payload up in the royalty ledger (TwinLedger's
// tolerant `events(watermarkPayload:)`), compare the file's SHA-256 with the delivered original's,
// register a file that differs against the delivered image's perceptual fingerprint (an edited
// copy, or a different picture carrying the mark?), compare the XMP fields with the ledger's,
// and render the result as text or one JSON object.
// The CLI only resolves where the ledger is and prints; every decision is made here.
// Failure modes: nothing throws. An unreadable, non-image or malformed file is outcome
// `unreadable` with a one-line reason; a missing config or ledger directory is
// `ledgerUnavailable` (the mark is still decoded and reported). A PNG's C2PA manifest is checked
// (TwinImaging's `C2PAValidator`, against `provenance.trust_anchors`) and reported beside the
// trace; an invalid manifest is a warning and leaves the outcome and exit code as they are.

import Crypto
import Foundation
import TwinBase
import TwinImaging
import TwinLedger

/// Where `verify` looks watermark payloads up.
public enum LedgerSource: Sendable, Equatable {
    /// A ledger directory (`ledger.directory`, or `--ledger`).
    case directory(URL)
    /// No ledger to consult, and why.
    case unavailable(reason: String)

    /// `--ledger DIR` when given, else `ledger.directory` of the config at `configPath`; a config
    /// that cannot be loaded makes the ledger unavailable (verify still decodes the mark).
    public static func resolve(ledgerOption: String?, configPath: String) -> LedgerSource {
        if let ledgerOption { return .directory(URL(fileURLWithPath: ledgerOption)) }
        do {
            return .directory(try DaemonConfig.load(path: configPath).ledgerDirectory)
        } catch {
            return .unavailable(reason: "no --ledger given and no usable config (\(error))")
        }
    }
}

/// Which operator CAs `verify` trusts for C2PA manifests.
public struct C2PATrust: Sendable {
    /// The validator holding the anchors (none: manifests are at best `valid`).
    public var validator: C2PAValidator
    /// Why no anchors are used, when none are.
    public var note: String?

    /// No anchors: manifests are checked but never `trusted`.
    public static let none = C2PATrust(validator: C2PAValidator(trustAnchors: []), note: "no trust anchors (provenance.trust_anchors or --trust-anchor)")

    /// `--trust-anchor FILE…` when given, else `provenance.trust_anchors` of the config at
    /// `configPath`; a config or PEM file that cannot be read leaves no anchors, with the reason.
    public static func resolve(anchorOptions: [String], configPath: String) -> C2PATrust {
        let files: [URL]
        if !anchorOptions.isEmpty {
            files = anchorOptions.map { URL(fileURLWithPath: $0) }
        } else {
            guard let config = try? DaemonConfig.load(path: configPath) else { return .none }
            files = config.c2paTrustAnchorFiles
        }
        guard !files.isEmpty else { return .none }
        do {
            return C2PATrust(validator: try C2PAValidator(trustAnchorFiles: files), note: nil)
        } catch {
            return C2PATrust(validator: C2PAValidator(trustAnchors: []), note: "trust anchors unusable: \(error)")
        }
    }
}

/// The result of verifying one image file; see `docs/watermark.md` ("twinrender verify").
public struct ImageVerification: Sendable {
    /// The verdict, and the CLI's exit status for it.
    public enum Outcome: String, Sendable, CaseIterable {
        /// A twinrender watermark was found and its payload is in the ledger. Exit 0.
        case resolved
        /// The image decoded, but its pixels carry no twinrender watermark. Exit 1.
        case noWatermark = "no_watermark"
        /// A watermark was found, but no ledger event carries its payload. Exit 2.
        case notInLedger = "not_in_ledger"
        /// A watermark was found, but the ledger could not be consulted (no config, no
        /// directory, unreadable). Exit 3.
        case ledgerUnavailable = "ledger_unavailable"
        /// The file could not be read or is not a valid PNG/JPEG. Exit 4.
        case unreadable
        /// A watermark was found and its payload is in the ledger, but the picture is not the
        /// delivered image or an edited copy of it: the mark was copied onto a different picture.
        /// Never a clean trace. Exit 5.
        case transplantedMark = "transplanted_mark"

        public var exitCode: Int32 {
            switch self {
            case .resolved: 0
            case .noWatermark: 1
            case .notInLedger: 2
            case .ledgerUnavailable: 3
            case .unreadable: 4
            case .transplantedMark: 5
            }
        }
    }

    /// What was learnt about the ledger.
    public struct LedgerStatus: Sendable {
        /// Whether the ledger was searched (false when there was no mark, or no ledger).
        public var consulted: Bool
        /// The ledger directory, when one was known.
        public var directory: String?
        /// Why it was not consulted (or could not be).
        public var reason: String?
        public var segments = 0
        public var events = 0
        /// Damaged or unterminated lines skipped by the lookup (`royalties verify` says why).
        public var skippedLines = 0
        public var unreadableSegments: [String] = []
    }

    /// One ledger event carrying the image's payload.
    public struct Match: Sendable {
        public var event: RoyaltyEvent
        /// Segment file and 1-based line of the event.
        public var segmentFile: String
        public var segmentLine: Int
        /// The file's SHA-256 equals the event's `output_sha256`: this is the delivered original,
        /// byte for byte (false: a re-encoded, edited or re-saved copy).
        public var exactFile: Bool
    }

    /// How the file's pixels compare with the delivered image's recorded fingerprint.
    public struct PictureComparison: Sendable {
        /// The best registration found (orientation, scale, correlation, overlap).
        public var match: FingerprintMatch
        /// Whether that makes the file an edited copy of the delivered image.
        public var isCopy: Bool { match.isCopy }
    }

    /// An XMP property that says something other than the ledger event.
    public struct Disagreement: Sendable, Equatable {
        /// Qualified XMP name, e.g. `twinrender:JobID`.
        public var property: String
        public var xmp: String
        public var ledger: String
    }

    /// The path as given.
    public var file: String
    public var outcome: Outcome
    /// One-line reason when `outcome == .unreadable`.
    public var error: String?
    /// File size in bytes (0 when unreadable).
    public var fileBytes = 0
    /// SHA-256 of the file's bytes, lowercase hex (nil when unreadable).
    public var fileSHA256: String?
    /// What `ImageInspector` found: format, size, watermark, XMP, text chunks.
    public var report: ImageReport?
    /// The C2PA manifest check, nil when the file carries no manifest.
    public var c2pa: C2PAReport?
    /// Why the manifest could not be `trusted` whatever it says (no or unusable anchors).
    public var c2paTrustNote: String?
    public var ledger: LedgerStatus
    /// Ledger events with the payload, best first (the one whose `output_sha256` is this file's).
    /// Normally zero or one.
    public var matches: [Match] = []
    /// The file's pixels against the resolved event's fingerprint; nil for the exact delivered file,
    /// without an event, or when the event's line predates fingerprints (a warning says so).
    public var picture: PictureComparison?
    /// XMP fields that contradict the resolved event (empty without XMP or without an event).
    public var disagreements: [Disagreement] = []
    /// Things about the file worth knowing that do not change the outcome (e.g. a truncated JPEG,
    /// which libjpeg decodes with the missing rows filled in).
    public var warnings: [String] = []

    /// The resolved event, if any.
    public var match: Match? { matches.first }

    /// Reads and verifies the file at `path`; never throws (see ``Outcome``).
    public static func verify(file path: String, ledger source: LedgerSource, c2pa trust: C2PATrust = .none,
                              inspector: ImageInspector, maximumBytes: Int = ImagingLimits.maximumFileBytes) -> ImageVerification {
        let url = URL(fileURLWithPath: path)
        let unavailable = LedgerStatus(consulted: false, directory: source.directoryPath, reason: "image not readable")
        func failure(_ reason: String) -> ImageVerification {
            ImageVerification(file: path, outcome: .unreadable, error: reason, ledger: unavailable)
        }
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        } catch {
            return failure("cannot read \(path): \(FileManager.default.fileExists(atPath: url.path) ? "permission denied or I/O error" : "no such file")")
        }
        guard (attributes[.type] as? FileAttributeType) == .typeRegular else {
            return failure("cannot read \(path): not a regular file")
        }
        if let size = (attributes[.size] as? NSNumber)?.intValue, size > maximumBytes {
            return failure("cannot read \(path): \(size) bytes, more than the \(maximumBytes) verify accepts")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            return failure("cannot read \(path): \(error.localizedDescription)")
        }
        return verify(data: data, file: path, ledger: source, c2pa: trust, inspector: inspector)
    }

    /// Verifies image bytes `data` (named `file` in the report); never throws.
    public static func verify(data: Data, file: String, ledger source: LedgerSource, c2pa trust: C2PATrust = .none,
                              inspector: ImageInspector) -> ImageVerification {
        var result = ImageVerification(file: file, outcome: .unreadable,
                                       ledger: LedgerStatus(consulted: false, directory: source.directoryPath))
        result.fileBytes = data.count
        result.fileSHA256 = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        let report: ImageReport
        do {
            report = try inspector.inspect(data: data)
        } catch {
            result.error = "\(file): \(error)"
            result.ledger.reason = "image not readable"
            return result
        }
        result.report = report
        if report.c2paManifestBytes != nil {
            result.c2pa = trust.validator.validate(png: Array(data))
            result.c2paTrustNote = trust.note
        }
        result.warnings += c2paWarnings(result.c2pa, mark: report.watermark)
        if report.format == "jpeg", !endsWithJPEGEndMarker(data) {
            result.warnings.append("the JPEG has no end-of-image marker (truncated?); the decoder filled in the missing part")
        }
        guard let mark = report.watermark else {
            result.outcome = .noWatermark
            result.ledger.reason = "no watermark to look up"
            return result
        }
        guard case .directory(let directory) = source else {
            if case .unavailable(let reason) = source { result.ledger.reason = reason }
            result.outcome = .ledgerUnavailable
            return result
        }
        let lookup: PayloadLookup
        do {
            lookup = try LedgerReader(directory: directory).events(watermarkPayload: mark.payload)
        } catch {
            result.ledger.reason = "cannot read ledger directory: \(error)"
            result.outcome = .ledgerUnavailable
            return result
        }
        result.ledger.consulted = true
        result.ledger.segments = lookup.segmentCount
        result.ledger.events = lookup.eventCount
        result.ledger.skippedLines = lookup.skippedLines
        result.ledger.unreadableSegments = lookup.unreadableSegments
        let matches = lookup.matches.map {
            Match(event: $0.event, segmentFile: $0.file, segmentLine: $0.line, exactFile: $0.event.outputSHA256 == result.fileSHA256)
        }
        // Best first: the event this exact file was delivered as, else ledger order.
        result.matches = matches.filter(\.exactFile) + matches.filter { !$0.exactFile }
        if let match = result.matches.first {
            result.outcome = .resolved
            result.disagreements = disagreements(xmp: report.xmp, event: match.event)
            result.warnings += c2paLedgerWarnings(result.c2pa, event: match.event)
            if !match.exactFile { comparePicture(data, mark: mark, event: match.event, into: &result) }
        } else {
            result.outcome = lookup.unreadableSegments.isEmpty ? .notInLedger : .ledgerUnavailable
            if !lookup.unreadableSegments.isEmpty { result.ledger.reason = "segments unreadable: " + lookup.unreadableSegments.joined(separator: "; ") }
        }
        return result
    }

    /// What a manifest says that does not fit: invalid, or a soft binding other than the pixels'.
    static func c2paWarnings(_ c2pa: C2PAReport?, mark: ImageReport.Watermark?) -> [String] {
        guard let c2pa else { return [] }
        var warnings: [String] = []
        if c2pa.state == .invalid {
            warnings.append("the C2PA manifest is INVALID (\(c2pa.failures.joined(separator: "; "))): the file or its manifest was changed after signing")
        }
        if let bound = c2pa.softBindingPayload, let mark, bound != mark.payloadHex {
            warnings.append("the C2PA soft binding names payload \(bound), the pixels carry \(mark.payloadHex): the manifest belongs to another image")
        }
        return warnings
    }

    /// Licence facts of a manifest that contradict the resolved ledger event.
    static func c2paLedgerWarnings(_ c2pa: C2PAReport?, event: RoyaltyEvent) -> [String] {
        guard let c2pa, c2pa.state != .invalid else { return [] }
        let expected = [("job", event.job), ("image_index", String(event.imageIndex)), ("twin", event.twin), ("licensee", event.licensee),
                        ("grant", event.grant), ("purpose", event.purpose), ("territory", event.territory)]
        return expected.compactMap { field, ledger in
            guard let value = c2pa.licence[field], value != ledger else { return nil }
            return "the C2PA licence says \(field) \(value.debugDescription), the ledger says \(ledger.debugDescription)"
        }
    }

    /// Registers the file's pixels against the fingerprint `event` recorded of the delivered
    /// image; a different picture makes the outcome `transplantedMark`.
    static func comparePicture(_ data: Data, mark: ImageReport.Watermark, event: RoyaltyEvent, into result: inout ImageVerification) {
        guard let text = event.imageFingerprint, let fingerprint = ImageFingerprint(encoded: text) else {
            result.warnings.append("the ledger line of event \(event.eventID) records no image fingerprint (format 2): "
                + "whether this file is an edited copy or a different picture carrying the mark cannot be told")
            return
        }
        guard let image = try? ImageInspector.decode(data).image else { return }
        let hint = FingerprintGeometryHint(scale: mark.scale, rotationDegrees: mark.rotationDegrees)
        guard let match = FingerprintMatcher().match(image, against: fingerprint, hint: hint) else {
            result.warnings.append("this file has too little structure to compare with the delivered image's fingerprint "
                + "(nearly flat, or a decoder filled most of it in): whether it is a copy cannot be told")
            return
        }
        let comparison = PictureComparison(match: match)
        result.picture = comparison
        switch match.verdict {
        case .copy: break
        case .different: result.outcome = .transplantedMark
        case .undetermined:
            result.warnings.append(String(format: "the picture's detail correlates %.3f with the delivered image's fingerprint: "
                + "too close to tell an edited copy (from %.2f) from a different picture of the same kind (under %.2f)",
                match.correlation, match.copyCorrelation, FingerprintMatcher.differentCorrelation))
        }
    }

    /// Whether `data` ends with the JPEG EOI marker (FF D9), ignoring trailing padding bytes.
    static func endsWithJPEGEndMarker(_ data: Data) -> Bool {
        let trimmed = data.reversed().drop { $0 == 0x00 || $0 == 0x0A || $0 == 0x0D || $0 == 0x20 }
        return Array(trimmed.prefix(2)) == [0xD9, 0xFF]
    }

    /// XMP properties the daemon writes from the same facts as the ledger event, compared.
    static func disagreements(xmp: [String: String], event: RoyaltyEvent) -> [Disagreement] {
        let expected: [(String, String)] = [
            ("twinrender:JobID", event.job),
            ("twinrender:ImageIndex", String(event.imageIndex)),
            ("twinrender:TwinID", event.twin),
            ("twinrender:GrantUID", event.grant),
            ("twinrender:WatermarkPayload", RoyaltyEvent.watermarkPayloadHex(event.watermarkPayload)),
            ("plus:LicenseeID", event.licensee),
            ("plus:RegionConstraints", event.territory),
            ("plus:MediaConstraints", event.purpose),
        ]
        return expected.compactMap { property, ledger in
            guard let value = xmp[property], value != ledger else { return nil }
            return Disagreement(property: property, xmp: value, ledger: ledger)
        }
    }
}

extension LedgerSource {
    var directoryPath: String? {
        if case .directory(let url) = self { return url.path }
        return nil
    }
}

// MARK: - Rendering

extension ImageVerification {
    /// XMP properties shown by `verify`, with their JSON names.
    static let xmpFields: [(json: String, property: String)] = [
        ("digital_source_type", "Iptc4xmpExt:DigitalSourceType"),
        ("job", "twinrender:JobID"),
        ("image_index", "twinrender:ImageIndex"),
        ("twin", "twinrender:TwinID"),
        ("grant", "twinrender:GrantUID"),
        ("watermark_payload", "twinrender:WatermarkPayload"),
        ("model_package_hash", "twinrender:ModelPackageHash"),
        ("licensee", "plus:LicenseeID"),
        ("licensee_name", "plus:LicenseeName"),
        ("license_start", "plus:LicenseStartDate"),
        ("license_end", "plus:LicenseEndDate"),
        ("territory", "plus:RegionConstraints"),
        ("purpose", "plus:MediaConstraints"),
        ("model_release_status", "plus:ModelReleaseStatus"),
        ("creator_tool", "xmp:CreatorTool"),
        ("created", "xmp:CreateDate"),
    ]

    /// The human-readable report. The first line is the verdict; an unreadable file is that one line.
    public var text: String {
        var lines = [String]()
        let payload = report?.watermark?.payloadHex ?? ""
        switch outcome {
        case .unreadable:
            return "cannot verify: \(error ?? file)"
        case .noWatermark:
            lines.append("\(file): no twinrender watermark found")
        case .resolved:
            let m = match!
            lines.append("\(file): twinrender watermark \(payload) -> job \(m.event.job) image \(m.event.imageIndex), "
                + (m.exactFile ? "the exact delivered file"
                   : picture?.isCopy == true ? "an edited copy of the delivered image" : "an altered copy (file differs from the delivered original)"))
        case .transplantedMark:
            let m = match!
            lines.append("\(file): twinrender watermark \(payload) of job \(m.event.job) image \(m.event.imageIndex), "
                + "but this is a DIFFERENT PICTURE carrying that image's mark (copied or transplanted): not a trace")
        case .notInLedger:
            lines.append("\(file): twinrender watermark \(payload) found, but no event in the ledger carries it")
        case .ledgerUnavailable:
            lines.append("\(file): twinrender watermark \(payload) found; the ledger could not be consulted")
        }
        if let report {
            lines.append("  image      \(report.format.uppercased()) \(report.width)x\(report.height), \(fileBytes) bytes, sha256 \(fileSHA256 ?? "?")")
            if let mark = report.watermark {
                let rotation: Double = abs(mark.rotationDegrees) < 0.005 ? 0 : mark.rotationDegrees
                let orientation = (mark.quarterTurns == 0 ? "" : ", \(mark.quarterTurns * 90) deg turn") + (mark.mirrored ? ", mirrored" : "")
                lines.append(String(format: "  watermark  payload %@, confidence %.3f (%d of %d code bits corrected), scale %.3f, rotation %.2f deg%@, key %@, %.1f ms",
                                    mark.payloadHex, mark.confidence, mark.bitErrors, mark.codedBits, mark.scale,
                                    rotation, orientation, mark.keyIdentifier, report.detectMilliseconds))
            }
        }
        if ledger.consulted {
            lines.append("  ledger     \(ledger.directory ?? "?"): \(ledger.events) events in \(ledger.segments) segment\(ledger.segments == 1 ? "" : "s")"
                + (ledger.skippedLines > 0 ? "; \(ledger.skippedLines) damaged lines skipped (run twinrender royalties verify)" : ""))
        } else if outcome != .noWatermark {
            lines.append("  ledger     not consulted: \(ledger.reason ?? "unknown")")
        }
        lines += matchLines()
        if let picture { lines.append(Self.pictureLine(picture)) }
        if let report { lines += xmpLines(report, payload: payload) }
        if report?.format == "png" { lines += c2paLines() }
        for warning in warnings { lines.append("  WARNING    \(warning)") }
        lines.append("  result     \(outcome.rawValue) (exit \(outcome.exitCode))")
        return lines.joined(separator: "\n")
    }

    /// The ledger events the mark resolves to, one block each.
    private func matchLines() -> [String] {
        var lines = [String]()
        for (i, m) in matches.enumerated() {
            let e = m.event
            let indent = i == 0 ? "  " : "  other match: "
            lines.append("\(indent)job        \(e.job), image \(e.imageIndex) (event \(e.eventID), \(URL(fileURLWithPath: m.segmentFile).lastPathComponent) line \(m.segmentLine))")
            lines.append("\(indent)twin       \(e.twin), model (payee) \(e.model)")
            lines.append("\(indent)licensee   \(e.licensee), grant \(e.grant)")
            lines.append("\(indent)licence    purpose \(e.purpose), territory \(e.territory)")
            lines.append("\(indent)delivered  \(e.deliveredAt) by host \(e.host)")
            lines.append("\(indent)original   sha256 \(e.outputSHA256)")
            lines.append("\(indent)this file  " + (m.exactFile ? "is byte-for-byte the delivered original"
                : "differs from the delivered original (re-encoded, edited or metadata changed); the pixel mark still identifies it"))
        }
        return lines
    }

    /// The fingerprint comparison, one line.
    private static func pictureLine(_ picture: PictureComparison) -> String {
        let m = picture.match
        var transform = [String]()
        if m.mirrored { transform.append("mirrored") }
        if m.quarterTurns != 0 { transform.append("\(m.quarterTurns * 90) deg turn") }
        transform.append(String(format: "scale %.2f x %.2f", m.scaleX, m.scaleY))
        let verdict = switch m.verdict {
        case .copy: "an edited copy of the delivered image"
        case .different: "NOT the delivered image"
        case .undetermined: "cannot tell whether this is the delivered image"
        }
        return String(format: "  picture    %@: detail correlation %.3f (%dx%d grid; a copy needs %.2f), layout %.3f, over %.0f%% of it (%@)",
                      verdict, m.correlation, m.comparedGrid, m.comparedGrid, m.copyCorrelation, m.layoutCorrelation,
                      100 * m.overlap, transform.joined(separator: ", "))
    }

    /// The provenance metadata found, and how it agrees with the mark and the ledger.
    private func xmpLines(_ report: ImageReport, payload: String) -> [String] {
        var lines = [String]()
        if report.xmp.isEmpty {
            lines.append("  xmp        none (no provenance metadata in the file)")
        } else {
            let shown = Self.xmpFields.compactMap { field in report.xmp[field.property].map { "\(field.property)=\($0)" } }
            lines.append("  xmp        " + (report.declaredAIGenerated ? "declares AI-generated (IPTC trainedAlgorithmicMedia)" : "does NOT declare AI-generated"))
            for item in shown { lines.append("             \(item)") }
            if report.payloadMismatch {
                lines.append("  WARNING    the XMP payload \(report.xmp["twinrender:WatermarkPayload"] ?? "?") disagrees with the pixel watermark \(payload): the metadata was copied or edited")
            } else if report.watermark == nil, let claimed = report.xmp["twinrender:WatermarkPayload"] {
                lines.append("  note       the XMP claims payload \(claimed), but the pixels carry no mark; metadata alone proves nothing")
            }
            for d in disagreements {
                lines.append("  WARNING    XMP \(d.property) is \(d.xmp.debugDescription), the ledger says \(d.ledger.debugDescription)")
            }
        }
        return lines
    }

    /// The C2PA manifest found, if any.
    private func c2paLines() -> [String] {
        guard let c = c2pa else { return ["  c2pa       none (no Content Credentials in the file)"] }
        var lines = ["  c2pa       \(c.state.rawValue): manifest \(c.manifest ?? "?"), \(c.manifestBytes) bytes"]
        if let signer = c.signer {
            lines.append("             signed by \(signer) (issuer \(c.issuer ?? "?"), certificate \(c.certificateValidity ?? "?")) at \(c.signingTime ?? "?") (host's claim; no time-stamp)")
        }
        if let action = c.action {
            lines.append("             \(action)" + (c.digitalSourceType.map { ", digitalSourceType \($0)" } ?? "")
                + (c.softBindingPayload.map { ", soft binding \($0)" } ?? ""))
        }
        if !c.licence.isEmpty {
            lines.append("             licence " + c.licence.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        if c.state == .valid {
            lines.append("             not trusted: " + (c2paTrustNote ?? c.failures.joined(separator: "; ")))
        }
        return lines
    }

    /// The report as one JSON object (sorted keys, one line); absent values are `null`.
    public var json: String {
        var object: [String: JSONValue] = [
            "file": .string(file), "outcome": .string(outcome.rawValue), "exit_code": .integer(Int64(outcome.exitCode)),
            "error": Self.value(error), "file_bytes": .integer(Int64(fileBytes)), "file_sha256": Self.value(fileSHA256),
            "format": Self.value(report?.format), "width": Self.value(report?.width), "height": Self.value(report?.height),
            "declared_ai_generated": .bool(report?.declaredAIGenerated ?? false),
            "payload_mismatch": .bool(report?.payloadMismatch ?? false), "exact_file": Self.value(match?.exactFile),
        ]
        object["watermark"] = report?.watermark.map { mark in
            .object(["payload": .string(mark.payloadHex), "confidence": .number(Double(mark.confidence)),
                     "bit_errors": .integer(Int64(mark.bitErrors)), "coded_bits": .integer(Int64(mark.codedBits)),
                     "scale": .number(Double(mark.scale)), "rotation_degrees": .number(Double(mark.rotationDegrees)),
                     "quarter_turns": .integer(Int64(mark.quarterTurns)), "mirrored": .bool(mark.mirrored),
                     "key": .string(mark.keyIdentifier),
                     "detect_ms": .number(Double(report?.detectMilliseconds ?? 0))])
        } ?? .null
        object["xmp"] = report.flatMap { report -> JSONValue? in
            guard !report.xmp.isEmpty else { return nil }
            var fields: [String: JSONValue] = [:]
            for field in Self.xmpFields { if let value = report.xmp[field.property] { fields[field.json] = .string(value) } }
            return .object(fields)
        } ?? .null
        object["ledger"] = .object([
            "consulted": .bool(ledger.consulted), "directory": Self.value(ledger.directory), "reason": Self.value(ledger.reason),
            "segments": .integer(Int64(ledger.segments)), "events": .integer(Int64(ledger.events)),
            "skipped_lines": .integer(Int64(ledger.skippedLines)), "unreadable_segments": .array(ledger.unreadableSegments.map { .string($0) }),
        ])
        object["c2pa"] = c2pa.map { c in
            .object([
                "state": .string(c.state.rawValue), "manifest": Self.value(c.manifest), "manifest_bytes": .integer(Int64(c.manifestBytes)),
                "claim_generator": Self.value(c.claimGenerator), "signer": Self.value(c.signer), "issuer": Self.value(c.issuer),
                "certificate_validity": Self.value(c.certificateValidity), "signing_time": Self.value(c.signingTime),
                "action": Self.value(c.action), "digital_source_type": Self.value(c.digitalSourceType),
                "soft_binding_payload": Self.value(c.softBindingPayload),
                "licence": .object(c.licence.mapValues { .string($0) }), "failures": .array(c.failures.map { .string($0) }),
                "trust_note": Self.value(c2paTrustNote),
            ])
        } ?? .null
        object["event"] = match.map(Self.eventObject) ?? .null
        object["picture"] = picture.map { picture in
            .object(["is_copy": .bool(picture.isCopy), "verdict": .string(picture.match.verdict.rawValue), "correlation": .number(picture.match.correlation),
                     "layout_correlation": .number(picture.match.layoutCorrelation),
                     "compared_grid": .integer(Int64(picture.match.comparedGrid)),
                     "overlap": .number(picture.match.overlap), "mirrored": .bool(picture.match.mirrored),
                     "quarter_turns": .integer(Int64(picture.match.quarterTurns)),
                     "scale_x": .number(picture.match.scaleX), "scale_y": .number(picture.match.scaleY)])
        } ?? .null
        object["other_matches"] = .array(matches.dropFirst().map(Self.eventObject))
        object["warnings"] = .array(warnings.map { .string($0) })
        object["xmp_disagreements"] = .array(disagreements.map {
            .object(["property": .string($0.property), "xmp": .string($0.xmp), "ledger": .string($0.ledger)])
        })
        return String(decoding: JSONValue.object(object).canonicalBytes, as: UTF8.self)
    }

    private static func value(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }
    private static func value(_ number: Int?) -> JSONValue { number.map { .integer(Int64($0)) } ?? .null }
    private static func value(_ flag: Bool?) -> JSONValue { flag.map { .bool($0) } ?? .null }

    private static func eventObject(_ m: Match) -> JSONValue {
        let e = m.event
        return .object([
            "event_id": .string(e.eventID), "job": .string(e.job), "image_index": .integer(Int64(e.imageIndex)), "twin": .string(e.twin),
            "model": .string(e.model), "licensee": .string(e.licensee), "grant": .string(e.grant), "grant_hash": .string(e.grantHash),
            "purpose": .string(e.purpose), "territory": .string(e.territory), "delivered_at": .string(e.deliveredAt.description),
            "output_sha256": .string(e.outputSHA256), "watermark_payload": .string(RoyaltyEvent.watermarkPayloadHex(e.watermarkPayload)),
            "order_signer": .string(e.orderSigner), "order_sha256": .string(e.orderSHA256),
            "image_fingerprint": e.imageFingerprint.map { .string($0) } ?? .null,
            "host": .string(e.host), "seq": .integer(e.seq), "segment_file": .string(m.segmentFile),
            "segment_line": .integer(Int64(m.segmentLine)), "exact_file": .bool(m.exactFile),
        ])
    }
}
