// Role: territories: ISO 3166-1 alpha-2 country codes plus `EU` (the 27 member states since
// 1 February 2020). A grant keeps `EU` as signed; expansion happens when a request is matched.
// Reference: ISO 3166-1 (officially assigned codes).
// Failure modes: any other code throws `invalidValue`.

/// ISO 3166-1 alpha-2 territory codes and the `EU` group.
public enum Territory {
    /// The group code for the European Union.
    public static let euGroup = "EU"

    /// EU member states (ISO 3166-1 alpha-2; Greece is `GR`).
    public static let euMembers: Set<String> = [
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
        "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    ]

    /// All officially assigned ISO 3166-1 alpha-2 codes.
    public static let countries: Set<String> = Set("""
        AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
        CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
        FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE
        JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
        MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
        PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM
        TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))

    /// The countries a code stands for: `EU` gives the member states, a country code itself.
    /// Throws for anything that is neither.
    public static func expand(_ code: String) throws -> Set<String> {
        if code == euGroup { return euMembers }
        guard countries.contains(code) else {
            throw ConsentError.invalidValue("territory '\(code)' is not an ISO 3166-1 alpha-2 code or EU")
        }
        return [code]
    }
}
