import Foundation
import Testing
@testable import TwinConsent

/// Content tags: one normalisation, one grammar, and no spelling gets past a prohibition.
@Suite struct TagTests {
    @Test func normalisationFoldsWidthCaseAndSpaceAtTheEnds() throws {
        for (raw, normalized) in [
            ("swimwear", "swimwear"), (" Swimwear\n", "swimwear"), ("SWIMWEAR", "swimwear"), ("ｓｗｉｍｗｅａｒ", "swimwear"),
            ("ＳＷＩＭ-ＷＥＡＲ", "swim-wear"), ("\u{3000}swimwear", "swimwear"), ("ſwimwear", "swimwear"), ("swim-wear", "swim-wear"),
            ("lingerie", "lingerie"), ("ﬁne-art", "fine-art"),
        ] {
            #expect(try ContentTag.normalize(raw) == normalized, "\(raw)")
        }
    }

    @Test func anythingButOneTokenIsRefused() {
        for raw in [
            "swim wear", "swim\u{200B}wear", "swim\u{00AD}wear", "\u{FEFF}swimwear", "swim_wear", "swim--wear", "-swimwear", "swimwear-",
            "", "   ", "swımwear", "swim\u{0301}wear", "İnci", String(repeating: "a", count: 33), "swim\twear", "swim\u{2011}wear",
        ] {
            #expect(throws: ConsentError.badTag, "\(raw.unicodeScalars.map { String($0.value, radix: 16) })") { try ContentTag.normalize(raw) }
        }
    }

    @Test func noSpellingBypassesAProhibition() throws {
        let fixture = try Fixture()
        try fixture.writeGrant(fixture.terms(prohibited: ["swimwear"]))
        for tag in ["swimwear", "swim-wear", "SWIMWEAR", "ｓｗｉｍｗｅａｒ", " swimwear ", "Swim-Wear", "ſwimwear"] {
            #expect(try fixture.decide(fixture.request(tags: [tag])).denial?.code == .prohibitedContent, "\(tag)")
        }
        for tag in ["swim wear", "swim\u{200B}wear", "swim_wear"] {
            #expect(throws: ConsentError.badTag, "\(tag)") { try fixture.request(tags: [tag]) }
        }
        #expect(try fixture.decide(fixture.request(tags: ["studio"])).grant != nil)
    }

    @Test func hyphenatedProhibitionCatchesTheJoinedSpelling() throws {
        let fixture = try Fixture()
        try fixture.writeGrant(fixture.terms(prohibited: ["swim-wear"]))
        #expect(try fixture.decide(fixture.request(tags: ["swimwear"])).denial?.code == .prohibitedContent)
    }

    @Test func grantsOnlyCarryNormalisedTags() throws {
        let fixture = try Fixture()
        #expect(throws: ConsentError.badTag) { try fixture.terms(prohibited: ["Swimwear"]).validate() }
        #expect(throws: ConsentError.badTag) { try fixture.terms(prohibited: ["swim wear"]).validate() }
        try fixture.terms(prohibited: ["swim-wear", "lingerie"]).validate()
    }
}
