import Foundation
import GRDB

/// A bill: for a new or changed subscription, a renewal, or add-on credits. Payments are
/// confirmed by hand (an operator marks it paid), by a checkout that calls the same, or by
/// the payment provider's signed event.
public struct Invoice: TenantryRecord, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case subscription, renewal, addon }
    public enum Status: String, Codable, Sendable, CaseIterable { case open, paid, void }

    /// One add-on bought on an invoice.
    public struct Line: Codable, Sendable, Equatable {
        public var category: String
        public var quantity: Int64
        public var units: Int64
        public var variantId: String

        enum CodingKeys: String, CodingKey {
            case category, quantity, units
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
    /// The add-ons bought, stored as a JSON column: a row that does not decode fails its read.
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
