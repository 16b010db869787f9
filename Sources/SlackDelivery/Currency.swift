/// How money is shown in messages: an ISO 4217 code (a destination's `currency`, default USD)
/// with its symbol and minor units. Grouping is the same for every currency ("12,400"), so a
/// reader never has to guess which separator is the decimal one.
public struct Currency: Sendable, Hashable, CustomStringConvertible {
    /// The ISO 4217 code, upper case: "USD", "EUR".
    public let code: String

    /// A currency from its code (three ASCII letters, any case); nil for anything else.
    public init?(code raw: String) {
        let upper = raw.uppercased()
        guard upper.utf8.count == 3, upper.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
        else { return nil }
        self.code = upper
    }

    private init(known code: String) { self.code = code }

    /// US dollars, the default of every destination.
    public static let usd = Currency(known: "USD")

    /// Symbols shown before the amount; a code without one is shown after it ("1,200 SEK").
    static let symbols: [String: String] = [
        "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "CN¥", "INR": "₹", "CAD": "CA$", "AUD": "A$",
        "NZD": "NZ$", "BRL": "R$", "MXN": "MX$", "KRW": "₩", "ILS": "₪", "HKD": "HK$", "SGD": "S$",
    ]

    /// Currencies without minor units: their amounts are never shown with cents.
    static let wholeUnitCodes: Set<String> = ["JPY", "KRW", "ISK", "CLP", "VND", "HUF", "TWD", "UGX"]

    /// The symbol shown before amounts, if the currency has a well-known one.
    public var symbol: String? { Self.symbols[code] }

    public var description: String { code }

    /// An amount for people: `$12,400`, `€1,200.50`, `1,200 SEK`, `¥1,200`. `cents` asks for two
    /// decimals (an invoice amount) unless the currency has none; MRR is shown whole. Total for
    /// any value (see `SlackMessageRenderer.grouped`).
    public func format(_ amount: Double, cents: Bool) -> String {
        let digits = SlackMessageRenderer.grouped(amount, decimals: cents && !Self.wholeUnitCodes.contains(code))
        guard let symbol else { return "\(digits) \(code)" }
        if digits.hasPrefix("-") { return "-\(symbol)\(digits.dropFirst())" }
        return symbol + digits
    }
}
