// Role: the one normalisation of content tags (grant prohibitions and job tags) and the one
// purpose vocabulary, so that a prohibited tag cannot be bypassed by spelling.
// Reference: Unicode NFKC (UAX #15) via Foundation's `precomposedStringWithCompatibilityMapping`,
// then `lowercased()`; the token grammar is `^[a-z0-9]+(-[a-z0-9]+)*$`, at most 32 bytes.
// Failure modes: a tag that is not one token after normalisation (inner spaces, zero-width or
// other format characters, underscores, letters outside a-z) throws `ConsentError.badTag`.
// Tags are compared by `matchKey`, which drops hyphens: `swim-wear` matches `swimwear`.

import Foundation

/// Content tags such as `swimwear`, `lingerie`, `political`.
public enum ContentTag {
    /// Longest tag, in bytes.
    public static let maxLength = 32

    /// NFKC, trimmed of white space, lowercased; then it must be one token of the grammar
    /// `^[a-z0-9]+(-[a-z0-9]+)*$` (1-32 bytes). `ＳＷＩＭＷＥＡＲ ` becomes `swimwear`;
    /// `swim wear` and `swim\u{200B}wear` throw `ConsentError.badTag`.
    public static func normalize(_ tag: String) throws(ConsentError) -> String {
        let folded = tag.precomposedStringWithCompatibilityMapping
            .trimmingCharacters(in: .whitespacesAndNewlines)
            .lowercased()
        guard isToken(folded) else {
            let shown = tag.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined()
            throw .badTag("content tag '\(shown)' is not a token of a-z, 0-9 and single inner hyphens (1-\(maxLength) characters)")
        }
        return folded
    }

    /// The comparison form of a normalised tag: hyphens removed, so `swim-wear` and `swimwear`
    /// are the same tag.
    public static func matchKey(_ normalized: String) -> String { normalized.replacingOccurrences(of: "-", with: "") }

    static func isToken(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...maxLength).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            return false
        }
        var previousHyphen = false
        for byte in bytes {
            let hyphen = byte == UInt8(ascii: "-")
            let alnum = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            guard alnum || (hyphen && !previousHyphen) else { return false }
            previousHyphen = hyphen
        }
        return true
    }
}

/// What images may be used for: the one vocabulary of grants and jobs.
public enum Purpose: String, CaseIterable, Codable, Sendable {
    case socialMedia = "social-media"
    case ecommerce
    case campaign
    case print
    case editorial
    case outdoor
    case video

    /// Every purpose token, in declaration order.
    public static var tokens: [String] { allCases.map(\.rawValue) }

    /// Throws `invalidValue` for a token outside the vocabulary (e.g. the typo `ecomerce`).
    public static func validate(_ token: String) throws(ConsentError) {
        guard Purpose(rawValue: token) != nil else {
            throw .invalidValue("purpose '\(token)' is not one of \(tokens.joined(separator: ", "))")
        }
    }
}
