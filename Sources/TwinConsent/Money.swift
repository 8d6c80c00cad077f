// Role: money and percentages as exact integers (fees in ISO 4217 minor units, commission in
// basis points), converted from decimal text without floating point.
// Reference: ISO 4217 (currency codes and minor-unit exponents).
// Failure modes: unknown currencies, negative amounts, too many decimals or overflow throw
// `invalidValue`.

/// ISO 4217 currencies and conversions of decimal amounts into integer minor units.
public enum Money {
    /// Active ISO 4217 currency codes accepted in grants.
    public static let currencies: Set<String> = Set("""
        AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF
        CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL
        HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD
        MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
        QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
        TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))

    private static let exponentZero: Set<String> = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    ]
    private static let exponentThree: Set<String> = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]

    /// Number of decimal places of the currency's minor unit.
    public static func exponent(of currency: String) throws -> Int {
        guard currencies.contains(currency) else {
            throw ConsentError.invalidValue("currency '\(currency)' is not an ISO 4217 code")
        }
        if exponentZero.contains(currency) { return 0 }
        if exponentThree.contains(currency) { return 3 }
        return 2
    }

    /// Converts a decimal amount such as `12.50` into minor units of `currency` (`1250` for EUR).
    /// Rejects negative amounts, more decimals than the currency has, and overflow.
    public static func minorUnits(_ amount: String, currency: String) throws -> Int {
        let places = try exponent(of: currency)
        guard let value = parseDecimal(amount, places: places) else {
            throw ConsentError.invalidValue(
                "amount '\(amount)' is not a non-negative decimal with at most \(places) decimal places for \(currency)")
        }
        return value
    }

    /// Formats minor units back into a decimal amount (`1250`, EUR -> `12.50`).
    public static func format(minorUnits: Int, currency: String) -> String {
        let places = (try? exponent(of: currency)) ?? 2
        guard places > 0 else { return String(minorUnits) }
        var scale = 1
        for _ in 0..<places { scale *= 10 }
        let fraction = String(minorUnits % scale)
        return "\(minorUnits / scale).\(String(repeating: "0", count: places - fraction.count))\(fraction)"
    }

    /// Converts a percentage such as `15` or `12.5` into basis points (`1500`, `1250`).
    public static func basisPoints(_ percent: String) throws -> Int {
        guard let value = parseDecimal(percent, places: 2) else {
            throw ConsentError.invalidValue("percentage '\(percent)' is not a non-negative decimal with at most 2 decimal places")
        }
        return value
    }

    /// Parses `digits[.digits]` with at most `places` decimals into an integer scaled by 10^places.
    private static func parseDecimal(_ text: String, places: Int) -> Int? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !whole.isEmpty, whole.utf8.count <= 12, whole.allSatisfy(\.isASCIIDigit),
              parts.count == 1 || !fraction.isEmpty, fraction.count <= places, fraction.allSatisfy(\.isASCIIDigit),
              var value = Int(whole)
        else { return nil }
        for i in 0..<places {
            let digits = Array(fraction)
            value = value * 10 + (i < digits.count ? Int(String(digits[i]))! : 0)
        }
        return value
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
