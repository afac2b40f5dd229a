import GRDB

/// A discount code (seed 004's BillingCoupon) that a tenant's owner applies to the invoice of
/// a new subscription or a plan change. It discounts that one invoice, never renewals.
public struct Coupon: TenantryRecord, Equatable {
    public enum DiscountType: String, Codable, Sendable, CaseIterable { case percent, fixed }

    public static let databaseTableName = "coupon"

    public var id: String
    /// Matched without regard to case; stored as the operator wrote it.
    public var code: String
    public var discountType: DiscountType
    /// percent: hundredths of a percent (2500 is 25%); fixed: minor units of `currency`.
    public var discountValue: Int64
    /// The currency of a fixed discount; empty for a percent.
    public var currency: String
    /// nil: no limit.
    public var maxUses: Int64?
    public var validFrom: Instant
    public var validUntil: Instant?
    /// Plan names it applies to; empty: every plan.
    public var applicablePlans: [String]
    public var isActive: Bool
    public var createdAt: Instant
    public var updatedAt: Instant

    /// The coupon `code` names, matched without regard to case; `excluding` one id (a coupon
    /// being renamed is not its own twin).
    static func withCode(_ db: Database, _ code: String, excluding id: String = "") throws -> Coupon? {
        try Coupon.fetchOne(db, sql: "SELECT * FROM coupon WHERE code = ? COLLATE NOCASE AND id != ?", arguments: [code, id])
    }

    /// Invoices open or paid with it: a void invoice gives its use back, so the count cannot
    /// drift from the invoices themselves.
    static func uses(_ db: Database, couponId: String) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT count(*) FROM invoice WHERE coupon_id = ? AND status != 'void'", arguments: [couponId]) ?? 0
    }

    /// What it takes off `amountMinor`: a percent rounded half up to the minor unit, a fixed
    /// amount at most the whole.
    func discount(on amountMinor: Int64) -> Int64 {
        switch discountType {
        // Split so the product cannot overflow: amount × value / 10 000, half up.
        case .percent: amountMinor / 10_000 * discountValue + (amountMinor % 10_000 * discountValue + 5_000) / 10_000
        case .fixed: min(discountValue, amountMinor)
        }
    }

    /// The discount as written: `25` or `12.5` (percent), `10.00` (an amount of `currency`).
    public var discountValueText: String {
        switch discountType {
        case .percent:
            var text = Money.decimal(discountValue, currency: "USD")
            while text.hasSuffix("0") { text.removeLast() }
            return text.hasSuffix(".") ? String(text.dropLast()) : text
        case .fixed: return Money.decimal(discountValue, currency: currency)
        }
    }

    /// How the discount reads on an invoice line: "Coupon SPRING: 25% off".
    var label: String {
        switch discountType {
        case .percent: "Coupon \(code): \(discountValueText)% off"
        case .fixed: "Coupon \(code): \(discountValueText) \(currency) off"
        }
    }

    /// The coupon `code` names, if it applies to `plan` priced in `currency` at `now`; code 3
    /// says which rule it fails. Called in the write that opens the invoice, so its uses
    /// are counted there and never pass `maxUses`, whatever runs beside it.
    static func redeemable(_ db: Database, code: String, plan: String, currency: String, at now: Instant) throws -> Coupon {
        guard let coupon = try withCode(db, code) else {
            throw DomainError.invalidArgument("coupon \(code) does not exist")
        }
        guard coupon.isActive else { throw DomainError.invalidArgument("coupon \(coupon.code) is no longer active") }
        guard coupon.validFrom <= now else { throw DomainError.invalidArgument("coupon \(coupon.code) is not valid before \(coupon.validFrom.rfc3339)") }
        if let until = coupon.validUntil, until <= now { throw DomainError.invalidArgument("coupon \(coupon.code) expired at \(until.rfc3339)") }
        guard coupon.applicablePlans.isEmpty || coupon.applicablePlans.contains(plan) else {
            throw DomainError.invalidArgument("coupon \(coupon.code) does not apply to \(plan); it applies to \(coupon.applicablePlans.joined(separator: ", "))")
        }
        guard coupon.discountType == .percent || coupon.currency == currency else {
            throw DomainError.invalidArgument("coupon \(coupon.code) takes \(coupon.currency) off; this price is in \(currency)")
        }
        if let limit = coupon.maxUses, try uses(db, couponId: coupon.id) >= limit {
            throw DomainError.invalidArgument("coupon \(coupon.code) has been used up (\(limit) uses)")
        }
        return coupon
    }
}

extension Coupon {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let code = Column("code")
        public static let createdAt = Column("created_at")
    }
}
