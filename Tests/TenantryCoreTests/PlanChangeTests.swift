import Foundation
import GRDB
import Testing

@testable import TenantryCore

/// Plan changes mid-period, coupons and revenue, against a temp database and a moved clock.
@Suite("Billing: plan changes, coupons, revenue")
struct PlanChangeTests {
    static let day: Int64 = 86_400

    func owner(_ harness: Harness, _ email: String) async throws -> (Principal, String) {
        let principal = try harness.principal(try await harness.activeUser(email))
        return (principal, try #require(principal.tenantId))
    }

    func price(_ harness: Harness, _ plan: String, _ period: String, _ amount: String, currency: String = "USD") async throws -> Variant {
        try await harness.tenantry.plans.createVariant(
            .init(kind: .plan, plan: plan, period: period, category: "", units: 0, price: amount, currency: currency, description: "", active: true), by: .system)
    }

    func live(_ harness: Harness, _ tenantId: String) throws -> Subscription {
        try #require(try harness.database.read { try Subscription.live($0, tenantId: tenantId) })
    }

    /// Subscribes and pays; answers the paid invoice.
    @discardableResult
    func subscribe(_ harness: Harness, _ principal: Principal, _ variant: Variant, coupon: String = "") async throws -> Invoice {
        let invoice = try #require(try await harness.tenantry.subscriptions.create(principal, variantId: variant.id, coupon: coupon).invoice)
        return invoice.status == .paid ? invoice : try await harness.tenantry.subscriptions.markPaid(invoiceId: invoice.id, by: .system)
    }

    func coupon(
        _ harness: Harness, _ code: String, type: String = "percent", value: String = "25", currency: String = "", maxUses: Int64? = nil,
        from: Instant? = nil, until: Instant? = nil, plans: [String] = [], active: Bool = true
    ) async throws -> Coupon {
        try await harness.tenantry.coupons.create(
            .init(
                code: code, discountType: type, discountValue: value, currency: currency, maxUses: maxUses, validFrom: from, validUntil: until,
                applicablePlans: plans, isActive: active), by: .system
        ).coupon
    }

    @Test("an upgrade credits the unused part of the paid period on its invoice, takes effect when paid, and ends the old period's credits")
    func upgradeProrates() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness, "up@example.com")
        let pro = try await price(harness, "PRO", "MONTHLY", "30.00")
        let business = try await price(harness, "BUSINESS", "MONTHLY", "90.00")
        let first = try await subscribe(harness, principal, pro)
        let start = try #require(first.periodStart)
        let end = try #require(first.periodEnd)
        let proGrants = try harness.database.read { try CreditGrant.filter(Column("source") == "plan").fetchAll($0) }
        #expect(!proGrants.isEmpty)

        harness.clock.advance(seconds: 10 * Self.day)
        let now = harness.clock.now()
        let change = try await harness.tenantry.subscriptions.update(principal, variantId: business.id)
        #expect(change.effectiveAt == nil)
        let invoice = try #require(change.invoice)
        let credit = 3000 * (end.milliseconds - now.milliseconds) / (end.milliseconds - start.milliseconds)
        #expect(invoice.lines.map(\.kind) == [.plan, .proration])
        #expect(invoice.lines[0].amountMinor == 9000)
        #expect(invoice.lines[1].amountMinor == -credit)
        #expect(invoice.lines[1].description.contains("Unused time on PRO monthly"))
        #expect(invoice.totalMinor == 9000 - credit)
        #expect(invoice.subtotalMinor == 9000)
        // Unpaid, nothing changes yet.
        #expect(try live(harness, tenantId).plan == "PRO")

        _ = try await harness.tenantry.subscriptions.markPaid(invoiceId: invoice.id, by: .system)
        let upgraded = try live(harness, tenantId)
        #expect(upgraded.plan == "BUSINESS")
        #expect(upgraded.startAt == now)
        let old = try harness.database.read { db in try CreditGrant.filter(keys: proGrants.map(\.seq)).fetchAll(db) }
        #expect(old.allSatisfy { $0.expiresAt <= now }, "the PRO period's credits end with it")
        #expect(try harness.database.read { try Ledger.inconsistencies($0) } == [])
    }

    @Test("a downgrade waits for the period's end, then the new plan's period and invoice open in place of the renewal; resume drops it")
    func downgradeAtPeriodEnd() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness, "down@example.com")
        let pro = try await price(harness, "PRO", "MONTHLY", "30.00")
        let business = try await price(harness, "BUSINESS", "MONTHLY", "90.00")
        try await subscribe(harness, principal, business)
        let end = try #require(try live(harness, tenantId).endAt)

        // Asked and withdrawn: resume keeps the plan.
        _ = try await harness.tenantry.subscriptions.update(principal, variantId: pro.id)
        #expect(try live(harness, tenantId).scheduledVariantId == pro.id)
        #expect(try await harness.tenantry.subscriptions.resume(principal).scheduledVariantId == nil)
        await expectDomainError(.invalidArgument("")) { try await harness.tenantry.subscriptions.resume(principal) }

        harness.clock.advance(seconds: 5 * Self.day)
        let change = try await harness.tenantry.subscriptions.update(principal, variantId: pro.id)
        #expect(change.effectiveAt == end)
        #expect(change.invoice == nil)
        #expect(try await harness.tenantry.subscriptions.invoices(tenantId: tenantId, status: "open").isEmpty)
        await expectDomainError(.invalidArgument("")) { try await harness.tenantry.subscriptions.update(principal, variantId: pro.id, coupon: "ANY") }
        #expect(try live(harness, tenantId).plan == "BUSINESS")

        harness.clock.advance(seconds: 30 * Self.day)
        await harness.tenantry.scheduler.runDue()
        let now = try live(harness, tenantId)
        #expect(now.plan == "PRO")
        #expect(now.startAt == end)
        #expect(now.scheduledVariantId == nil)
        let renewal = try #require(try await harness.tenantry.subscriptions.invoices(tenantId: tenantId, status: "open").first)
        #expect(renewal.kind == .renewal)
        #expect(renewal.subscriptionId == now.id)
        #expect(renewal.totalMinor == 3000)
        #expect(renewal.lines.map(\.kind) == [.plan])
        let history = try harness.tenantry.subscriptions.history(tenantId: tenantId)
        #expect(history[1].plan == "BUSINESS")
        #expect(history[1].endedAt == end)
    }

    @Test("a cheaper price per month, another currency, or a credit above the new price waits for the period's end; an unpaid change is void at the period's end")
    func whatWaits() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness, "wait@example.com")
        let yearly = try await price(harness, "PRO", "YEARLY", "300.00")
        let monthlyBusiness = try await price(harness, "BUSINESS", "MONTHLY", "90.00")
        let euro = try await price(harness, "BUSINESS", "YEARLY", "2000", currency: "EUR")
        let yearlyBusiness = try await price(harness, "BUSINESS", "YEARLY", "1000.00")
        try await subscribe(harness, principal, yearly)
        // 90 a month is more than 25 a month, but the unused year (≈300) is more than 90.
        #expect(try await harness.tenantry.subscriptions.update(principal, variantId: monthlyBusiness.id).effectiveAt != nil)
        #expect(try await harness.tenantry.subscriptions.update(principal, variantId: euro.id).effectiveAt != nil)
        // An upgrade left unpaid: void when the period it credited ends.
        let pending = try #require(try await harness.tenantry.subscriptions.update(principal, variantId: yearlyBusiness.id).invoice)
        #expect(pending.lines.map(\.kind) == [.plan, .proration])
        #expect(try live(harness, tenantId).scheduledVariantId == euro.id, "an upgrade invoice leaves a scheduled change until it is paid")
        harness.clock.advance(seconds: 366 * Self.day)
        await harness.tenantry.scheduler.runDue()
        #expect(try harness.tenantry.subscriptions.invoice(id: pending.id).status == .void)
    }

    @Test("a coupon's discount is a line of the invoice; percent or fixed, never below zero; a full discount starts the plan at once")
    func couponDiscounts() async throws {
        let harness = try Harness()
        let pro = try await price(harness, "PRO", "MONTHLY", "29.00")
        _ = try await coupon(harness, "Quarter", value: "25")
        _ = try await coupon(harness, "TENOFF", type: "fixed", value: "10", currency: "usd")
        _ = try await coupon(harness, "FREEMONTH", value: "100")
        _ = try await coupon(harness, "HALFCENT", value: "12.5")

        let (a, _) = try await owner(harness, "a@example.com")
        let quarter = try #require(try await harness.tenantry.subscriptions.create(a, variantId: pro.id, coupon: "quarter").invoice)
        #expect(quarter.lines.map(\.amountMinor) == [2900, -725])
        #expect(quarter.lines[1].description == "Coupon Quarter: 25% off")
        #expect(quarter.totalMinor == 2175)
        // Replacing the pending invoice gives its use back and takes another coupon.
        let fixed = try #require(try await harness.tenantry.subscriptions.create(a, variantId: pro.id, coupon: "TENOFF").invoice)
        #expect(fixed.totalMinor == 1900)
        #expect(fixed.lines[1].description == "Coupon TENOFF: 10.00 USD off")
        #expect(try await harness.tenantry.coupons.list().first { $0.coupon.code == "Quarter" }?.uses == 0)
        let eighth = try #require(try await harness.tenantry.subscriptions.create(a, variantId: pro.id, coupon: "HALFCENT").invoice)
        #expect(eighth.lines[1].amountMinor == -363, "12.5% of 29.00 is 3.625, rounded half up")

        let (b, tenantB) = try await owner(harness, "b@example.com")
        let change = try await harness.tenantry.subscriptions.create(b, variantId: pro.id, coupon: "FREEMONTH")
        let free = try #require(change.invoice)
        #expect(free.status == .paid)
        #expect(free.totalMinor == 0)
        #expect(change.redirectURL.hasSuffix("/portal#/invoices/\(free.id)"))
        #expect(try live(harness, tenantB).plan == "PRO")
    }

    @Test("an unknown, inactive, early, expired, used-up, other-plan or other-currency coupon is code 3 saying which")
    func couponRefusals() async throws {
        let harness = try Harness()
        let pro = try await price(harness, "PRO", "MONTHLY", "29.00")
        let now = harness.clock.now()
        _ = try await coupon(harness, "OFF", active: false)
        _ = try await coupon(harness, "LATER", from: now.adding(days: 2))
        _ = try await coupon(harness, "GONE", from: now.adding(days: -9), until: now.adding(days: -1))
        _ = try await coupon(harness, "ONCE", maxUses: 1)
        _ = try await coupon(harness, "BIZ", plans: ["BUSINESS"])
        _ = try await coupon(harness, "EURO", type: "fixed", value: "5", currency: "EUR")
        let (first, _) = try await owner(harness, "first@example.com")
        try await subscribe(harness, first, pro, coupon: "ONCE")
        let (principal, tenantId) = try await owner(harness, "refused@example.com")
        let cases = [
            ("NOPE", "does not exist"), ("OFF", "no longer active"), ("LATER", "not valid before"), ("GONE", "expired at"), ("ONCE", "used up (1 uses)"),
            ("BIZ", "does not apply to PRO; it applies to BUSINESS"), ("EURO", "takes EUR off; this price is in USD"),
        ]
        for (code, message) in cases {
            let error = await expectDomainError(.invalidArgument("")) { try await harness.tenantry.subscriptions.create(principal, variantId: pro.id, coupon: code) }
            #expect(error?.message.contains(message) == true, "\(code): \(error?.message ?? "")")
        }
        #expect(try await harness.tenantry.subscriptions.invoices(tenantId: tenantId, status: nil).isEmpty, "a refused coupon opens no invoice")

        // The operator's rules: a used coupon keeps its code and discount; its limit cannot go below its uses.
        let once = try #require(try await harness.tenantry.coupons.list().first { $0.coupon.code == "ONCE" })
        #expect(once.uses == 1)
        let draft = CouponService.Draft(
            code: "ONCE", discountType: "percent", discountValue: "50", currency: "", maxUses: 1, validFrom: nil, validUntil: nil, applicablePlans: [], isActive: true)
        await expectDomainError(.invalidArgument("")) { try await harness.tenantry.coupons.update(id: once.coupon.id, draft, by: .system) }
        await expectDomainError(.invalidArgument("")) { try await harness.tenantry.coupons.delete(id: once.coupon.id, by: .system) }
        await expectDomainError(.alreadyExists("")) { try await coupon(harness, "once") }
        for bad in [("percent", "0", ""), ("percent", "100.5", ""), ("percent", "10", "USD"), ("fixed", "5", ""), ("fixed", "0", "USD"), ("cash", "5", "USD")] {
            await expectDomainError(.invalidArgument("")) { try await coupon(harness, "BAD\(bad.0)", type: bad.0, value: bad.1, currency: bad.2) }
        }
        await expectDomainError(.invalidArgument("")) { try await coupon(harness, "bad code!") }
        await expectDomainError(.invalidArgument("")) { try await coupon(harness, "NOPLAN", plans: ["GOLD"]) }
    }

    @Test("max_uses holds when many tenants redeem the last uses at once")
    func couponUsesUnderConcurrency() async throws {
        let harness = try Harness()
        let pro = try await price(harness, "PRO", "MONTHLY", "29.00")
        let limited = try await coupon(harness, "LAUNCH", maxUses: 3)
        var owners: [Principal] = []
        for index in 0..<12 { owners.append(try await owner(harness, "rush\(index)@example.com").0) }
        let tenantry = harness.tenantry
        let results = await withTaskGroup(of: Bool.self) { group in
            for principal in owners {
                group.addTask { (try? await tenantry.subscriptions.create(principal, variantId: pro.id, coupon: "LAUNCH")) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 3)
        #expect(try harness.tenantry.coupons.get(id: limited.id).uses == 3)
        #expect(try harness.count("SELECT count(*) FROM invoice WHERE coupon_id = ?", [limited.id]) == 3)
    }

    @Test("MRR per currency counts a yearly price 1/12 a month; revenue per month is what was paid in it, less refunds")
    func revenue() async throws {
        let harness = try Harness()
        let proMonthly = try await price(harness, "PRO", "MONTHLY", "30.00")
        let businessYearly = try await price(harness, "BUSINESS", "YEARLY", "1000.00")
        let euro = try await price(harness, "PRO", "MONTHLY", "25", currency: "EUR")
        for (index, variant) in [proMonthly, proMonthly, businessYearly, euro].enumerated() {
            let (principal, _) = try await owner(harness, "payer\(index)@example.com")
            try await subscribe(harness, principal, variant)
        }
        _ = try await owner(harness, "trialing@example.com")
        let (summaries, trials) = try await harness.tenantry.admin.mrr()
        // 2 × 30.00 + 1000.00 / 12 = 143.33 USD; 25.00 EUR, never added to it.
        #expect(
            summaries == [
                .init(currency: "EUR", mrrMinor: 2500, activeSubscriptions: 1, pastDueSubscriptions: 0), .init(currency: "USD", mrrMinor: 14333, activeSubscriptions: 3, pastDueSubscriptions: 0),
            ])
        #expect(trials == 1)
        #expect(
            try await harness.tenantry.admin.revenueByPlan() == [
                .init(plan: "PRO", currency: "EUR", subscribers: 1, mrrMinor: 2500), .init(plan: "BUSINESS", currency: "USD", subscribers: 1, mrrMinor: 8333),
                .init(plan: "PRO", currency: "USD", subscribers: 2, mrrMinor: 6000),
            ])

        try await harness.database.write {
            try $0.execute(sql: "UPDATE invoice SET refunded_minor = 1000 WHERE total_minor = 3000 AND rowid = (SELECT min(rowid) FROM invoice WHERE total_minor = 3000)")
        }
        let months = try await harness.tenantry.admin.monthlyRevenue(months: 3)
        #expect(months.count == 6, "3 months × 2 currencies")
        #expect(months.map(\.month) == ["2026-11", "2026-11", "2026-12", "2026-12", "2027-01", "2027-01"])
        let thisMonth = months.filter { $0.month == "2027-01" }
        #expect(
            thisMonth == [
                .init(month: "2027-01", currency: "EUR", revenueMinor: 2500, invoiceCount: 1, paidCount: 1),
                .init(month: "2027-01", currency: "USD", revenueMinor: 6000 + 100_000 - 1000, invoiceCount: 3, paidCount: 3),
            ])
        #expect(months.filter { $0.month != "2027-01" }.allSatisfy { $0.revenueMinor == 0 && $0.invoiceCount == 0 })
        await expectDomainError(.invalidArgument("")) { try await harness.tenantry.admin.monthlyRevenue(months: 0) }
    }
}
