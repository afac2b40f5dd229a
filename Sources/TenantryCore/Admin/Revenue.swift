import GRDB

/// Revenue for operators (seed 004's MrrSummary, RevenueByPlan, MonthlyRevenue): always per
/// currency, never summed across currencies.
extension AdminService {
    /// Monthly recurring revenue in one currency: what the live paid subscriptions renew at,
    /// a yearly price counting 1/12 a month.
    public struct MrrSummary: Sendable, Equatable {
        public let currency: String
        public let mrrMinor: Int64
        public let activeSubscriptions: Int
        public let pastDueSubscriptions: Int
    }

    public struct PlanRevenue: Sendable, Equatable {
        public let plan: String
        public let currency: String
        public let subscribers: Int
        public let mrrMinor: Int64
    }

    /// One UTC month in one currency: what was paid in it (less refunds), how many invoices
    /// were issued in it and how many were paid in it.
    public struct MonthRevenue: Sendable, Equatable {
        public let month: String
        public let currency: String
        public let revenueMinor: Int64
        public let invoiceCount: Int
        public let paidCount: Int
    }

    /// MRR per currency, and the tenants on a trial (which have no price yet).
    public func mrr() async throws -> (summaries: [MrrSummary], trials: Int) {
        try await database.report { db in
            let rows = try Self.recurring(db)
            let summaries = Dictionary(grouping: rows, by: \.currency).map { currency, subscriptions in
                MrrSummary(
                    currency: currency, mrrMinor: Self.monthly(subscriptions), activeSubscriptions: subscriptions.filter { $0.status == SubscriptionStatus.active.rawValue }.count,
                    pastDueSubscriptions: subscriptions.filter { $0.status == SubscriptionStatus.pastDue.rawValue }.count)
            }
            let trials = try Int.fetchOne(db, sql: "SELECT count(*) FROM subscription WHERE ended_at IS NULL AND status = 'TRIALING'") ?? 0
            return (summaries.sorted { $0.currency < $1.currency }, trials)
        }
    }

    public func revenueByPlan() async throws -> [PlanRevenue] {
        try await database.report { db in
            Dictionary(grouping: try Self.recurring(db), by: { [$0.plan, $0.currency] }).map { key, subscriptions in
                PlanRevenue(plan: key[0], currency: key[1], subscribers: subscriptions.count, mrrMinor: Self.monthly(subscriptions))
            }
            .sorted { ($0.currency, -$0.mrrMinor, $0.plan) < ($1.currency, -$1.mrrMinor, $1.plan) }
        }
    }

    /// The last `months` UTC months, this one included, oldest first; a month without
    /// invoices shows zeros in every currency seen in the window.
    public func monthlyRevenue(months: Int) async throws -> [MonthRevenue] {
        guard (1...36).contains(months) else { throw DomainError.invalidArgument("months must be between 1 and 36") }
        let now = context.clock.now()
        return try await database.report { db in
            // Months counted from year 0, so that stepping back crosses years by itself.
            let (year, month, _) = Instant.civil(fromDays: now.milliseconds / 86_400_000)
            let firstMonth = year * 12 + (month - 1) - Int64(months - 1)
            let labels = (0..<Int64(months)).map { step -> String in
                let (y, m) = ((firstMonth + step) / 12, (firstMonth + step) % 12 + 1)
                return "\(y)-\(m < 10 ? "0" : "")\(m)"
            }
            let start = Instant.days(fromCivil: firstMonth / 12, firstMonth % 12 + 1, 1) * 86_400_000
            func monthOf(_ column: String) -> String { "strftime('%Y-%m', \(column) / 1000, 'unixepoch')" }
            var cells: [String: (revenue: Int64, issued: Int, paid: Int)] = [:]
            var currencies = Set<String>()
            for row in try Row.fetchAll(
                db,
                sql: "SELECT \(monthOf("created_at")) AS month, currency, count(*) AS n FROM invoice WHERE created_at >= ? GROUP BY 1, 2",
                arguments: [start])
            {
                let key = "\(row["month"] as String) \(row["currency"] as String)"
                currencies.insert(row["currency"])
                cells[key, default: (0, 0, 0)].issued = row["n"]
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT \(monthOf("paid_at")) AS month, currency, count(*) AS n, sum(total_minor - refunded_minor) AS revenue
                    FROM invoice WHERE status = 'paid' AND paid_at >= ? GROUP BY 1, 2
                    """, arguments: [start])
            {
                let key = "\(row["month"] as String) \(row["currency"] as String)"
                currencies.insert(row["currency"])
                cells[key, default: (0, 0, 0)].paid = row["n"]
                cells[key, default: (0, 0, 0)].revenue = row["revenue"]
            }
            return labels.flatMap { label in
                currencies.sorted().map { currency in
                    let cell = cells["\(label) \(currency)"] ?? (0, 0, 0)
                    return MonthRevenue(month: label, currency: currency, revenueMinor: cell.revenue, invoiceCount: cell.issued, paidCount: cell.paid)
                }
            }
        }
    }

    private struct Recurring {
        let plan: String
        let status: String
        let currency: String
        let priceMinor: Int64
        let months: Int64
    }

    /// The live paid subscriptions (active or past due) with what they renew at.
    private static func recurring(_ db: Database) throws -> [Recurring] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT s.plan, s.status, s.period, v.currency, v.price_minor FROM subscription s JOIN variant v ON v.id = s.variant_id
                WHERE s.ended_at IS NULL AND s.period != 'NOT_DEFINE' AND s.status IN ('ACTIVE', 'PAST_DUE')
                """
        ).compactMap { row in
            guard let months = BillingPeriod(rawValue: row["period"])?.months else { return nil }
            return Recurring(plan: row["plan"], status: row["status"], currency: row["currency"], priceMinor: row["price_minor"], months: Int64(months))
        }
    }

    /// Σ price ÷ months, summed as a yearly figure first so a yearly price loses nothing,
    /// then rounded half up to the minor unit.
    private static func monthly(_ subscriptions: [Recurring]) -> Int64 {
        let yearly = subscriptions.reduce(Int64(0)) { $0 + $1.priceMinor * (12 / $1.months) }
        return (yearly + 6) / 12
    }
}
