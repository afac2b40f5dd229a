import GRDB

/// A price: of a plan for a period, or of an add-on (`units` credits of `category` each).
public struct Variant: TenantryRecord, Equatable {
    public enum Kind: String, Codable, Sendable { case plan, addon }

    public static let databaseTableName = "variant"

    public var id: String
    public var kind: Kind
    public var plan: String
    public var period: BillingPeriod
    public var category: String
    public var units: Int64
    public var priceMinor: Int64
    public var currency: String
    public var description: String
    public var active: Bool
    public var createdAt: Instant
    public var updatedAt: Instant
}

/// Amounts of money: minor units in storage, decimal numbers at the edge.
public enum Money {
    /// Currencies without minor units (ISO 4217 exponent 0).
    static let zeroDecimal: Set<String> = ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]

    public static func exponent(_ currency: String) -> Int { zeroDecimal.contains(currency) ? 0 : 2 }

    /// `1999` USD → `"19.99"`.
    public static func decimal(_ minor: Int64, currency: String) -> String {
        let exponent = exponent(currency)
        guard exponent > 0 else { return String(minor) }
        let sign = minor < 0 ? "-" : ""
        let magnitude = minor.magnitude
        let fraction = String(magnitude % 100)
        return "\(sign)\(magnitude / 100).\(fraction.count == 1 ? "0" + fraction : fraction)"
    }

    /// A decimal price (`"19.99"`, `19.99`, `20`) → minor units, refusing more decimals than
    /// the currency has.
    public static func minor(fromDecimal text: String, currency: String, field: String = "price") throws -> Int64 {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let exponent = exponent(currency)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy(\.isNumber),
              parts.count == 1 || (!parts[1].isEmpty && parts[1].allSatisfy(\.isNumber))
        else { throw DomainError.invalidArgument("\(field) must be a non-negative decimal amount such as 19.99") }
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        while fraction.count > exponent, fraction.hasSuffix("0") { fraction.removeLast() }
        guard fraction.count <= exponent else {
            throw DomainError.invalidArgument("\(field) has more decimals than \(currency) allows (\(exponent))")
        }
        fraction += String(repeating: "0", count: exponent - fraction.count)
        guard let whole = Int64(parts[0]), let cents = Int64(fraction.isEmpty ? "0" : fraction),
              whole < 1_000_000_000_000
        else { throw DomainError.invalidArgument("\(field) is too large") }
        var scale: Int64 = 1
        for _ in 0..<exponent { scale *= 10 }
        return whole * scale + cents
    }
}
