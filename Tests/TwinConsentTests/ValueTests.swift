import Foundation
import Testing
@testable import TwinConsent

/// Canonical JSON, dates, money, territories, request validation.
@Suite struct ValueTests {
    @Test func canonicalJSONSortsKeysAndEscapesMinimally() throws {
        let bytes = canonicalJSON(["b": .int(-3), "a": .strings(["x", "y\"z"]), "c": .string("é\n\\")])
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"a":["x","y\"z"],"b":-3,"c":"é\u000a\\"}"#)
        let nested = canonicalJSON(["z": .object(["b": .bool(true), "a": .strings([])]), "y": .int(0)])
        #expect(String(decoding: nested, as: UTF8.self) == #"{"y":0,"z":{"a":[],"b":true}}"#)
        #expect(try CanonicalValue.parseObject(nested) == ["z": .object(["b": .bool(true), "a": .strings([])]), "y": .int(0)])
        #expect(throws: ConsentError.malformedFile) { try CanonicalValue.parseObject(Array(#"{"a":1.5}"#.utf8)) }
        #expect(throws: ConsentError.malformedFile) { try CanonicalValue.parseObject(Array(#"{"a":null}"#.utf8)) }
    }

    @Test func grantHashIsStableAndCoversTheTerms() throws {
        let key = PartyKey.generate()
        let terms = GrantTerms(
            twin: "t", licensee: "l", purposes: ["editorial", "ecommerce", "ecommerce"], territories: ["FR"], validFrom: Date(timeIntervalSince1970: 0.5),
            validUntil: Date(timeIntervalSince1970: 86_400), maxImages: 1, feeMinorUnits: 1, currency: "EUR")
        #expect(terms.purposes == ["ecommerce", "editorial"])
        let a = try Grant.sign(terms, assigner: "m", key: key, at: Date(timeIntervalSince1970: 10), uid: "u1")
        let b = try Grant.sign(terms, assigner: "m", key: key, at: Date(timeIntervalSince1970: 10.7), uid: "u1")
        #expect(a == b)  // Ed25519 is deterministic and times are whole seconds.
        var changed = terms
        changed.feeMinorUnits = 2
        #expect(try Grant.sign(changed, assigner: "m", key: key, at: Date(timeIntervalSince1970: 10), uid: "u1").sha256 != a.sha256)
        guard case .grant(let parsed) = try LoggedRecord.parse(a.fields) else { Issue.record("not a grant"); return }
        #expect(parsed == a)
    }

    @Test func datesAreStrictUTC() throws {
        #expect(UTCDate.format(try UTCDate.parse("2026-02-28", field: "d", allowDateOnly: true)) == "2026-02-28T00:00:00Z")
        #expect(UTCDate.format(try UTCDate.parse("2024-02-29T23:59:59Z", field: "d")) == "2024-02-29T23:59:59Z")
        for bad in ["2026-02-29", "2026-13-01", "2026-1-01", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00+01:00", "yesterday"] {
            #expect(throws: ConsentError.invalidValue, "\(bad)") { try UTCDate.parse(bad, field: "d", allowDateOnly: true) }
        }
        #expect(throws: ConsentError.invalidValue) { try UTCDate.parse("2026-01-01", field: "d") }
        #expect(UTCDate.format(try UTCDate.parseWindowBound("2026-12-31", field: "d", endOfDay: true)) == "2027-01-01T00:00:00Z")
        #expect(UTCDate.format(try UTCDate.parseWindowBound("2026-12-31T10:00:00Z", field: "d", endOfDay: true)) == "2026-12-31T10:00:00Z")
    }

    @Test func moneyIsExactIntegerMinorUnits() throws {
        #expect(try Money.minorUnits("25", currency: "EUR") == 2500)
        #expect(try Money.minorUnits("12.5", currency: "USD") == 1250)
        #expect(try Money.minorUnits("1500", currency: "JPY") == 1500)
        #expect(try Money.minorUnits("1.125", currency: "KWD") == 1125)
        #expect(Money.format(minorUnits: 1205, currency: "EUR") == "12.05")
        #expect(try Money.basisPoints("12.5") == 1250)
        for (amount, currency) in [("1.5", "JPY"), ("1.234", "EUR"), ("-1", "EUR"), ("1e3", "EUR"), ("", "EUR"), ("1.", "EUR"), ("5", "EURO"), ("5", "XYZ")] {
            #expect(throws: ConsentError.invalidValue, "\(amount) \(currency)") { try Money.minorUnits(amount, currency: currency) }
        }
    }

    @Test func territories() throws {
        #expect(Territory.countries.count == 249)
        #expect(Territory.euMembers.count == 27 && Territory.euMembers.isSubset(of: Territory.countries))
        #expect(try Territory.expand("EU").contains("GR"))
        #expect(throws: ConsentError.invalidValue) { try Territory.expand("UK") }
        #expect(throws: ConsentError.invalidValue) { try Territory.expand("fr") }
    }

    @Test func requestsAreValidated() throws {
        #expect(throws: ConsentError.invalidValue) {
            try ConsentRequest(job: "j", twin: "t", licensee: "l", purpose: "p", territory: "FR", count: 0, twinWeightsSHA256: nil)
        }
        #expect(throws: ConsentError.invalidValue) {
            try ConsentRequest(job: "j", twin: "", licensee: "l", purpose: "p", territory: "FR", count: 1, twinWeightsSHA256: nil)
        }
        #expect(throws: ConsentError.invalidValue) {
            try ConsentRequest(job: "j", twin: "t", licensee: "l", purpose: "p", territory: "UK", count: 1, twinWeightsSHA256: nil)
        }
        let json = #"{"job":"j1","twin":"t","licensee":"l","purpose":"ecommerce","territory":"DE","count":2,"contentTags":["studio"]}"#
        let request = try JSONDecoder().decode(ConsentRequest.self, from: Data(json.utf8))
        #expect(request.count == 2 && request.twinWeightsSHA256 == nil && request.contentTags == ["studio"])
    }
}
