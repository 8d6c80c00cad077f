// Role: the provenance record a delivered image carries (job, twin, licensee, grant, licence
// window, payload, model hash).
// Reference: IPTC Photo Metadata Extension, PLUS License Data Format 1.2 (see `XMPPacket`).
// Failure modes: none: plain values; formatting is total.

import Foundation

/// Everything a delivered image states about its origin and licence; written into the PNG as
/// XMP (IPTC + PLUS + twinrender namespace) and as `Software` / `Creation Time` text chunks.
public struct ProvenanceMetadata: Sendable, Equatable {
    /// PLUS model release status (`plus:ModelReleaseStatus`).
    public enum ModelReleaseStatus: String, Sendable, Equatable, CaseIterable {
        /// No model release.
        case none = "MR-NON"
        /// No model depicted.
        case notApplicable = "MR-NAP"
        /// Unlimited model releases.
        case unlimited = "MR-UMR"
        /// Limited or incomplete model releases (a consent grant with constraints).
        case limited = "MR-LMR"

        /// The full PLUS vocabulary URI written into XMP.
        public var uri: String { "http://ns.useplus.org/ldf/vocab/" + rawValue }
    }

    /// Render job identifier.
    public var jobID: String
    /// Index of this image within its job (0-based).
    public var imageIndex: Int
    /// Digital twin identifier.
    public var twinID: String
    /// Licensee's display name (`plus:LicenseeName`).
    public var licenseeName: String
    /// Licensee's identifier (`plus:LicenseeID`).
    public var licenseeID: String
    /// Consent grant identifier.
    public var grantUID: String
    /// First instant the licence is valid.
    public var licenceStart: Date
    /// Last instant the licence is valid.
    public var licenceEnd: Date
    /// Where the image may be used, e.g. "EU" (`plus:RegionConstraints`).
    public var region: String
    /// Media the image may be used in, e.g. "online catalogue" (`plus:MediaConstraints`).
    public var mediaConstraint: String
    /// Model release status; a consented twin is normally `.limited`.
    public var modelReleaseStatus: ModelReleaseStatus
    /// The 64-bit invisible-watermark payload embedded in the pixels.
    public var payload: UInt64
    /// Hash of the model package that rendered the image (hex).
    public var modelPackageHash: String
    /// Software name and version, e.g. "twinrender 0.1.0".
    public var software: String
    /// When the image was rendered.
    public var creationTime: Date

    /// Memberwise initialiser.
    public init(
        jobID: String, imageIndex: Int, twinID: String, licenseeName: String, licenseeID: String,
        grantUID: String, licenceStart: Date, licenceEnd: Date, region: String, mediaConstraint: String,
        modelReleaseStatus: ModelReleaseStatus, payload: UInt64, modelPackageHash: String,
        software: String, creationTime: Date
    ) {
        self.jobID = jobID
        self.imageIndex = imageIndex
        self.twinID = twinID
        self.licenseeName = licenseeName
        self.licenseeID = licenseeID
        self.grantUID = grantUID
        self.licenceStart = licenceStart
        self.licenceEnd = licenceEnd
        self.region = region
        self.mediaConstraint = mediaConstraint
        self.modelReleaseStatus = modelReleaseStatus
        self.payload = payload
        self.modelPackageHash = modelPackageHash
        self.software = software
        self.creationTime = creationTime
    }

    /// The payload as 16 lowercase hex digits, the form used in XMP, CLI and reports.
    public var payloadHex: String { ProvenanceMetadata.hex(payload) }

    /// `value` as 16 lowercase hex digits.
    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// ISO 8601 UTC timestamp with seconds, e.g. `2026-05-01T12:00:00Z`.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!))
    }
}
