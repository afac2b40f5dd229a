import Foundation
import GRDB

/// A bill: for a new or changed subscription, a renewal, or add-on credits. Payments are
/// confirmed by hand (an operator marks it paid), by a checkout that calls the same, or by
/// the payment provider's signed event.
public struct Invoice: TenantryRecord, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case subscription, renewal, addon }
    public enum Status: String, Codable, Sendable, CaseIterable { case open, paid, void }

    /// One line of an invoice: the plan's price, a credit for the unused part of the period a
    /// change replaces, a coupon's discount, or add-on credits bought. The total is their sum.
    public struct Line: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable, CaseIterable { case plan, proration, discount, addon }

        public var kind: Kind
        public var description: String
        /// Signed, in minor units: a credit or a discount is negative.
        public var amountMinor: Int64
        /// What an add-on line buys (zero and empty on other lines); a plan line's variant.
        public var category = ""
        public var quantity: Int64 = 0
        public var units: Int64 = 0
        public var variantId = ""

        public init(kind: Kind, description: String, amountMinor: Int64, category: String = "", quantity: Int64 = 0, units: Int64 = 0, variantId: String = "") {
            self.kind = kind
            self.description = description
            self.amountMinor = amountMinor
            self.category = category
            self.quantity = quantity
            self.units = units
            self.variantId = variantId
        }

        enum CodingKeys: String, CodingKey {
            case kind, description, category, quantity, units
            case amountMinor = "amount_minor"
            case variantId = "variant_id"
        }
    }

    public static let databaseTableName = "invoice"

    public var id: String
    public var number: Int64
    public var tenantId: String
    public var kind: Kind
    public var subscriptionId: String?
    public var variantId: String?
    public var plan: String
    public var period: BillingPeriod
    public var periodStart: Instant?
    public var periodEnd: Instant?
    /// Every line, stored as a JSON column: a row that does not decode fails its read.
    public var lines: [Line]
    public var currency: String
    public var totalMinor: Int64
    public var status: Status
    public var createdAt: Instant
    public var dueAt: Instant
    public var paidAt: Instant?
    public var paidBy: String?
    public var voidedAt: Instant?
    /// The payment provider's checkout for it (Stripe: a Checkout Session), reused while fresh.
    public var paymentSessionId: String? = nil
    public var paymentUrl: String? = nil
    public var paymentSessionAt: Instant? = nil
    /// What paid it at the provider (Stripe: the PaymentIntent), which refunds and disputes name.
    public var paymentIntentId: String? = nil
    /// What the provider refunded of it, in minor units.
    public var refundedMinor: Int64 = 0
    /// The provider's dispute status ("" when none): needs_response, won, lost…
    public var disputeStatus: String = ""
    /// The coupon applied to it; a void invoice gives its use back.
    public var couponId: String? = nil

    /// The charges before credits and discounts (seed 004's `subtotal`, as Stripe counts it).
    public var subtotalMinor: Int64 {
        lines.isEmpty ? totalMinor : lines.filter { $0.kind == .plan || $0.kind == .addon }.reduce(0) { $0 + $1.amountMinor }
    }

    /// The number as a payer reads it (seed 004's `invoice_number`).
    public var displayNumber: String { "INV-" + String(repeating: "0", count: max(0, 6 - String(number).count)) + String(number) }

    /// The next invoice number: invoices are numbered without gaps.
    static func nextNumber(_ db: Database) throws -> Int64 {
        (try Int64.fetchOne(db, sql: "SELECT max(number) FROM invoice") ?? 0) + 1
    }
}

extension Invoice {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let number = Column("number")
        public static let tenantId = Column("tenant_id")
        public static let kind = Column("kind")
        public static let subscriptionId = Column("subscription_id")
        public static let variantId = Column("variant_id")
        public static let plan = Column("plan")
        public static let period = Column("period")
        public static let periodStart = Column("period_start")
        public static let periodEnd = Column("period_end")
        public static let lines = Column("lines")
        public static let currency = Column("currency")
        public static let totalMinor = Column("total_minor")
        public static let status = Column("status")
        public static let createdAt = Column("created_at")
        public static let dueAt = Column("due_at")
        public static let paidAt = Column("paid_at")
        public static let paidBy = Column("paid_by")
        public static let voidedAt = Column("voided_at")
        public static let paymentIntentId = Column("payment_intent_id")
    }
}
