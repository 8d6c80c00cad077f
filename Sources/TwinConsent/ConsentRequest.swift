// Role: what a job asks for, as far as consent is concerned (built by the daemon from a job).
// Reference: docs/consent-registry.md, "The decision".
// Failure modes: an empty id, a bad territory, a count below 1 throw `invalidValue`; a content
// tag that is not a token after normalisation throws `badTag` (the daemon's `job.bad_tag`).

import Foundation

/// What a job asks for, as far as consent is concerned. Built by the daemon from the job file.
public struct ConsentRequest: Codable, Equatable, Sendable {
    /// Job id (used for quota reservations and the audit log).
    public let job: String
    /// Twin id.
    public let twin: String
    /// Licensee party id (the brand the images are for).
    public let licensee: String
    /// Purpose token, e.g. `ecommerce`.
    public let purpose: String
    /// ISO 3166-1 alpha-2 territory of use, or `EU` (then every member state must be granted).
    public let territory: String
    /// Number of images the job delivers; at least 1.
    public let count: Int
    /// Content tags of the job, normalised by `ContentTag.normalize` (e.g. `swimwear`); none of
    /// them may be prohibited by the grant.
    public let contentTags: [String]
    /// Lowercase hex SHA-256 of the twin's weight file as it is now (computed by the daemon, see
    /// `WeightsDigestCache`); `nil` when the file is missing or unreadable.
    public let twinWeightsSHA256: String?

    /// Creates a request. Ids and the purpose need only be non-empty (one that is not in the
    /// registry, or a purpose outside `Purpose`, simply matches nothing); the territory must be a
    /// country code or `EU`; content tags are normalised (`ContentTag.normalize`, which throws
    /// `ConsentError.badTag`), so `Ｓwim-Wear ` is caught by a `swimwear` prohibition.
    public init(
        job: String, twin: String, licensee: String, purpose: String, territory: String, count: Int,
        contentTags: [String] = [], twinWeightsSHA256: String?
    ) throws {
        for (field, value) in [("job id", job), ("twin", twin), ("licensee", licensee), ("purpose", purpose)] where value.isEmpty {
            throw ConsentError.invalidValue("the request's \(field) is empty")
        }
        _ = try Territory.expand(territory)
        guard count >= 1 else { throw ConsentError.invalidValue("image count must be at least 1, got \(count)") }
        self.job = job
        self.twin = twin
        self.licensee = licensee
        self.purpose = purpose
        self.territory = territory
        self.count = count
        self.contentTags = try contentTags.map { try ContentTag.normalize($0) }
        self.twinWeightsSHA256 = twinWeightsSHA256
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            job: c.decode(String.self, forKey: .job), twin: c.decode(String.self, forKey: .twin),
            licensee: c.decode(String.self, forKey: .licensee), purpose: c.decode(String.self, forKey: .purpose),
            territory: c.decode(String.self, forKey: .territory), count: c.decode(Int.self, forKey: .count),
            contentTags: c.decodeIfPresent([String].self, forKey: .contentTags) ?? [],
            twinWeightsSHA256: c.decodeIfPresent(String.self, forKey: .twinWeightsSHA256))
    }
}
