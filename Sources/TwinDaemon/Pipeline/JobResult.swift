// Role: the record written next to a delivered job (`done/<id>.result.json`) and the fields of its
// `job.delivered` status line, as Codable types instead of untyped dictionaries.
// Failure modes: none (plain values).

import Foundation

/// What a delivered job produced: where each image is, its hash and its royalty event, and who
/// ordered it.
struct JobResult: Codable, Equatable {
    /// One delivered image.
    struct Image: Codable, Equatable {
        var index: Int
        var path: String
        var sha256: String
        var event: String
    }

    var job: String
    var host: String
    var attempt: Int
    /// The licensee that signed the order, when the job was a signed order.
    var orderSigner: String?
    /// SHA-256 of the signed order bytes.
    var orderSHA256: String?
    var images: [Image]

    enum CodingKeys: String, CodingKey {
        case job, host, attempt, images
        case orderSigner = "order_signer"
        case orderSHA256 = "order_sha256"
    }

    /// Pretty, key-sorted JSON (for operators reading `done/`).
    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
