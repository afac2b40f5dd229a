import GRDB

/// A price: of a plan for a period, or of an add-on (`units` credits of `category` each).
public struct Variant: TenantryRecord, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case plan, addon }

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
    static let zeroDecimal: Set<String> = ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"]
    /// Currencies with thousandths (ISO 4217 exponent 3).
    static let threeDecimal: Set<String> = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]

    /// How many decimals the currency's minor unit has (ISO 4217): 0, 3, or else 2.
    public static func exponent(_ currency: String) -> Int {
        zeroDecimal.contains(currency) ? 0 : threeDecimal.contains(currency) ? 3 : 2
    }

    /// `1999` USD → `"19.99"`; `1999` KWD → `"1.999"`; `1999` JPY → `"1999"`.
    public static func decimal(_ minor: Int64, currency: String) -> String {
        let exponent = exponent(currency)
        guard exponent > 0 else { return String(minor) }
        let sign = minor < 0 ? "-" : ""
        var scale: UInt64 = 1
        for _ in 0..<exponent { scale *= 10 }
        let fraction = String(minor.magnitude % scale)
        return "\(sign)\(minor.magnitude / scale).\(String(repeating: "0", count: exponent - fraction.count))\(fraction)"
    }

    /// A decimal price (`"19.99"`, `19.99`, `20`) → minor units, refusing more decimals than
    /// the currency has.
    public static func minor(fromDecimal text: String, currency: String, field: String = "price") throws -> Int64 {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let exponent = exponent(currency)
        // ASCII digits only: Character.isNumber also takes ٣, ½ and Ⅻ.
        func digits(_ part: Substring) -> Bool { !part.isEmpty && part.utf8.allSatisfy { (0x30...0x39).contains($0) } }
        guard (1...2).contains(parts.count), digits(parts[0]), parts.count == 1 || digits(parts[1])
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

extension Variant {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let kind = Column("kind")
        public static let plan = Column("plan")
        public static let period = Column("period")
        public static let category = Column("category")
        public static let units = Column("units")
        public static let priceMinor = Column("price_minor")
        public static let currency = Column("currency")
        public static let description = Column("description")
        public static let active = Column("active")
        public static let createdAt = Column("created_at")
        public static let updatedAt = Column("updated_at")
    }
}
