import Foundation
import GRDB
import Testing

@testable import TenantryCore

/// Subscriptions, allowances, the ledger and the timers, against a temp database and a
/// manual clock that the tests move.
@Suite("Billing: subscriptions, allowances, ledger, timers")
struct BillingTests {
    static let day: Int64 = 86_400

    /// An owner with a fresh tenant; answers (session principal, tenant id).
    func owner(_ harness: Harness, _ email: String = "owner@example.com") async throws -> (Principal, String) {
        let token = try await harness.activeUser(email)
        let principal = try harness.principal(token)
        return (principal, try #require(principal.tenantId))
    }

    func grants(_ harness: Harness, _ tenantId: String) throws -> [CreditGrant] {
        try harness.database.read { try CreditGrant.filter(Column("tenant_id") == tenantId).order(Column("seq")).fetchAll($0) }
    }

    func live(_ harness: Harness, _ tenantId: String) throws -> Subscription {
        try #require(try harness.database.read { try Subscription.live($0, tenantId: tenantId) })
    }

    func consume(_ harness: Harness, _ tenantId: String, _ amount: Int64, key: String, agent: String = "", dataset: String = "") async throws -> CreditService.Consumed {
        try await harness.tenantry.credits.consume(.init(tenantId: tenantId, category: "USAGE_AI_CREDIT", amount: amount, agentId: agent, datasetId: dataset, idempotencyKey: key), apiKeyId: nil).value
    }

    func ledgerProblems(_ harness: Harness) throws -> [String] {
        try harness.database.read { try Ledger.inconsistencies($0) }
    }

    @Test("calendar months keep the anchor's day, or the month's last day")
    func months() {
        let jan31 = Instant(rfc3339: "2027-01-31T10:00:00Z")!
        #expect(Months.add(1, to: jan31).rfc3339 == "2027-02-28T10:00:00.000Z")
        #expect(Months.add(2, to: jan31).rfc3339 == "2027-03-31T10:00:00.000Z")
        #expect(Months.add(13, to: jan31).rfc3339 == "2028-02-29T10:00:00.000Z")
        #expect(Months.add(12, to: Instant(rfc3339: "2028-02-29T00:00:00Z")!).rfc3339 == "2029-02-28T00:00:00.000Z")
        #expect(Allowances.months(between: jan31, and: Months.add(5, to: jan31)) == 5)
    }

    @Test("a new tenant starts on the trial with its credits, valid to the trial's end plus the extension")
    func newTenantTrial() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let subscription = try live(harness, tenantId)
        #expect(subscription.plan == "NEW_USER_TRIAL")
        #expect(subscription.status == .trialing)
        #expect(subscription.period == .notDefined)
        #expect(subscription.endAt == subscription.startAt.adding(days: 14))
        let trialGrants = try grants(harness, tenantId)
        #expect(trialGrants.count == 1)
        #expect(trialGrants[0].source == .trial)
        #expect(trialGrants[0].amount == 10_000)
        #expect(trialGrants[0].expiresAt == subscription.endAt)
        #expect(try harness.tenantry.credits.balance(tenantId: tenantId, category: "USAGE_AI_CREDIT") == 10_000)
        let plan = try harness.tenantry.plans.get(name: "NEW_USER_TRIAL")
        #expect(plan.hasUsed)
    }

    @Test("a trial that ends falls back to FREE from its end; trial credits expire, FREE's month is granted")
    func trialExpiry() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let trialEnd = try #require(try live(harness, tenantId).endAt)
        harness.clock.advance(seconds: 14 * Self.day + 60)
        await harness.tenantry.scheduler.runDue()
        let free = try live(harness, tenantId)
        #expect(free.plan == "FREE")
        #expect(free.status == .active)
        #expect(free.period == .notDefined)
        #expect(free.startAt == trialEnd)
        let history = try harness.tenantry.subscriptions.history(tenantId: tenantId)
        #expect(history.map(\.status) == [.active, .expired])
        #expect(history[1].endedAt == trialEnd)
        #expect(try harness.tenantry.credits.balance(tenantId: tenantId, category: "USAGE_AI_CREDIT") == 100)
        let all = try grants(harness, tenantId)
        #expect(all.first { $0.source == .trial }?.expired == true)
        let month = try #require(all.first { $0.source == .plan })
        #expect(month.effectiveAt == trialEnd)
        #expect(month.expiresAt == Months.add(1, to: trialEnd))
        #expect(try ledgerProblems(harness) == [])
        #expect(try harness.count("SELECT amount FROM credit_expiry") == 10_000)
    }

    @Test("debits burn by priority, then soonest expiry, then age; all or nothing")
    func burnDownOrder() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let now = harness.clock.now()
        let credits = harness.tenantry.credits
        // The trial grant: 10,000, priority 0, expires in 14 days.
        let addon = try await harness.database.write { db -> CreditGrant in
            let grant = CreditGrant.new(tenantId: tenantId, category: "USAGE_AI_CREDIT", amount: 50, effectiveAt: now, expiresAt: now.adding(days: 1), source: .addon, now: now)
            try grant.insert(db)
            return grant
        }
        let gift = try await credits.grant(tenantId: tenantId, category: "USAGE_AI_CREDIT", amount: 30, expiresAt: now.adding(days: 2), reason: "sorry", by: .system)
        let soon = try await harness.database.write { db -> CreditGrant in
            let grant = CreditGrant.new(tenantId: tenantId, category: "USAGE_AI_CREDIT", amount: 20, effectiveAt: now, expiresAt: now.adding(days: 3), source: .plan, now: now)
            try grant.insert(db)
            return grant
        }
        let first = try await consume(harness, tenantId, 10_015, key: "a")
        #expect(first == .init(consumed: 10_015, remaining: 85, replayed: false))
        let after = try grants(harness, tenantId)
        // Priority 0 first: the plan grant expiring in 3 days before the trial's 14 days.
        #expect(after.first { $0.id == soon.id }?.used == 20)
        #expect(after.first { $0.source == .trial }?.used == 9_995)
        #expect(after.first { $0.id == gift.id }?.used == 0)
        #expect(after.first { $0.id == addon.id }?.used == 0)

        _ = try await consume(harness, tenantId, 40, key: "b")
        let later = try grants(harness, tenantId)
        #expect(later.first { $0.source == .trial }?.used == 10_000)
        #expect(later.first { $0.id == gift.id }?.used == 30, "an operator's gift (priority 10) burns before add-ons (20)")
        #expect(later.first { $0.id == addon.id }?.used == 5)

        await expectDomainError(.failedPrecondition("")) { try await consume(harness, tenantId, 46, key: "c") }
        #expect(try grants(harness, tenantId).map(\.used) == later.map(\.used), "a refused debit changes nothing")
        #expect(try harness.count("SELECT count(*) FROM credit_debit WHERE idempotency_key = 'c'") == 0)
        _ = try await consume(harness, tenantId, 45, key: "d")
        #expect(try credits.balance(tenantId: tenantId, category: "USAGE_AI_CREDIT") == 0)
        #expect(try ledgerProblems(harness) == [])
    }

    @Test("an idempotency key answers the first debit again; with other content it is refused")
    func idempotency() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let first = try await consume(harness, tenantId, 7, key: "req-1", agent: "bot")
        let again = try await consume(harness, tenantId, 7, key: "req-1", agent: "bot")
        #expect(again == .init(consumed: 7, remaining: first.remaining, replayed: true))
        #expect(try harness.tenantry.credits.balance(tenantId: tenantId, category: "USAGE_AI_CREDIT") == 10_000 - 7)
        await expectDomainError(.alreadyExists("")) { try await consume(harness, tenantId, 8, key: "req-1", agent: "bot") }
        await expectDomainError(.alreadyExists("")) { try await consume(harness, tenantId, 7, key: "req-1", agent: "other") }
        // Keys are per tenant.
        let (_, otherTenant) = try await owner(harness, "other@example.com")
        #expect(try await consume(harness, otherTenant, 7, key: "req-1").replayed == false)
        // Keys are kept (at least 24 hours): a day later the replay still answers.
        harness.clock.advance(seconds: 2 * Self.day)
        #expect(try await consume(harness, tenantId, 7, key: "req-1", agent: "bot").replayed)
    }

    @Test("many debits at once against one balance: exactly the right number succeed, none overdraws")
    func concurrentDebits() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        _ = try await consume(harness, tenantId, 10_000 - 150, key: "drain")
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<400 {
                group.addTask { (try? await consume(harness, tenantId, 1, key: "k\(index)")) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 150)
        #expect(try harness.tenantry.credits.balance(tenantId: tenantId, category: "USAGE_AI_CREDIT") == 0)
        #expect(try harness.count("SELECT count(*) FROM credit_debit") == 151)
        #expect(try harness.count("SELECT count(*) FROM credit_grant WHERE used > amount") == 0)
        #expect(try ledgerProblems(harness) == [])
        let statistics = harness.database.writer.statistics
        #expect(statistics.commits < statistics.writes, "debits were committed in groups")
    }

    /// A PRO monthly price, bought and paid; answers the invoice paid.
    func subscribePro(_ harness: Harness, _ principal: Principal, price: String = "29.00", period: String = "MONTHLY") async throws -> Invoice {
        let variant = try await harness.tenantry.plans.createVariant(
            .init(kind: .plan, plan: "PRO", period: period, category: "", units: 0, price: price, currency: "USD", description: "Pro", active: true), by: .system
        )
        let change = try await harness.tenantry.subscriptions.create(principal, variantId: variant.id)
        let invoice = try #require(change.invoice)
        #expect(change.redirectURL == "https://tenantry.test/portal#/invoices/\(invoice.id)")
        #expect(change.effectiveAt == nil)
        return try await harness.tenantry.subscriptions.markPaid(invoiceId: invoice.id, by: .system)
    }

    @Test("a paid plan starts when its invoice is paid; each month is granted; credits outlive the period by credit_extension")
    func paidPlanAndExtension() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness)
        let paidAt = harness.clock.now()
        let invoice = try await subscribePro(harness, principal)
        #expect(invoice.status == .paid)
        let pro = try live(harness, tenantId)
        #expect(pro.plan == "PRO")
        #expect(pro.status == .active)
        #expect(pro.endAt == Months.add(1, to: paidAt))
        let month = try #require(try grants(harness, tenantId).first { $0.source == .plan })
        #expect(month.amount == 10_000)
        #expect(month.expiresAt == Months.add(1, to: paidAt).adding(days: 7), "PRO's credit_extension is 7 days")
        // The trial it replaced ended; its unexpired credits stay valid to their own expiry.
        #expect(try harness.tenantry.subscriptions.history(tenantId: tenantId).map(\.status) == [.active, .expired])
        #expect(try harness.tenantry.credits.balance(tenantId: tenantId, category: "USAGE_AI_CREDIT") == 20_000)
        await expectDomainError(.invalidArgument("")) { try await harness.tenantry.subscriptions.markPaid(invoiceId: invoice.id, by: .system) }
    }

    @Test("a yearly plan grants its allowance month by month")
    func yearlyMonthlyGrants() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness)
        let start = harness.clock.now()
        _ = try await subscribePro(harness, principal, price: "290", period: "YEARLY")
        #expect(try live(harness, tenantId).endAt == Months.add(12, to: start))
        harness.clock.advance(seconds: 95 * Self.day)
        await harness.tenantry.scheduler.runDue()
        let monthly = try grants(harness, tenantId).filter { $0.source == .plan }.map(\.effectiveAt)
        #expect(monthly == [0, 1, 2, 3].map { Months.add($0, to: start) })
        await harness.tenantry.scheduler.runDue()
        #expect(try grants(harness, tenantId).filter { $0.source == .plan }.count == 4, "granting again changes nothing")
    }

    @Test("renewal: a new period and invoice; unpaid past grace → PAST_DUE, then EXPIRED → FREE; paid → ACTIVE with credits")
    func renewalAndDunning() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness)
        _ = try await subscribePro(harness, principal)
        let periodEnd = try #require(try live(harness, tenantId).endAt)
        harness.clock.set(periodEnd.adding(seconds: 10))
        await harness.tenantry.scheduler.runDue()
        var pro = try live(harness, tenantId)
        #expect(pro.status == .active)
        #expect(pro.endAt == Months.add(1, to: periodEnd))
        let renewal = try #require(try await harness.tenantry.subscriptions.invoices(tenantId: tenantId, status: "open").first)
        #expect(renewal.kind == .renewal)
        #expect(renewal.periodStart == periodEnd)
        #expect(renewal.dueAt == periodEnd.adding(days: 3))
        #expect(try grants(harness, tenantId).filter { $0.source == .plan }.count == 1, "an unpaid period grants nothing yet")

        harness.clock.set(periodEnd.adding(days: 3).adding(seconds: 1))
        await harness.tenantry.scheduler.runDue()
        #expect(try live(harness, tenantId).status == .pastDue)

        _ = try await harness.tenantry.subscriptions.markPaid(invoiceId: renewal.id, by: .system)
        pro = try live(harness, tenantId)
        #expect(pro.status == .active)
        let paidMonths = try grants(harness, tenantId).filter { $0.source == .plan }
        #expect(paidMonths.count == 2)
        #expect(paidMonths.last?.effectiveAt == periodEnd, "the renewed period's month starts at the old period's end")

        // The next renewal is never paid: PAST_DUE after 3 days, EXPIRED 7 days later, then FREE.
        let secondEnd = try #require(pro.endAt)
        harness.clock.set(secondEnd.adding(days: 11))
        await harness.tenantry.scheduler.runDue()
        let free = try live(harness, tenantId)
        #expect(free.plan == "FREE")
        #expect(free.startAt == secondEnd.adding(days: 10))
        let ended = try harness.tenantry.subscriptions.history(tenantId: tenantId)[1]
        #expect(ended.status == .expired)
        #expect(ended.endedAt == secondEnd.adding(days: 10))
        #expect(try await harness.tenantry.subscriptions.invoices(tenantId: tenantId, status: "open").isEmpty, "the unpaid invoice is void")
        #expect(try ledgerProblems(harness) == [])
    }

    @Test("cancel at period end: CANCELED at the end, then FREE")
    func cancelAtPeriodEnd() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness)
        _ = try await subscribePro(harness, principal)
        let canceled = try await harness.tenantry.subscriptions.cancel(principal)
        #expect(canceled.cancelAtPeriodEnd)
        let end = try #require(canceled.endAt)
        harness.clock.set(end.adding(seconds: 1))
        await harness.tenantry.scheduler.runDue()
        #expect(try live(harness, tenantId).plan == "FREE")
        #expect(try harness.tenantry.subscriptions.history(tenantId: tenantId)[1].status == .canceled)
        #expect(try await harness.tenantry.subscriptions.invoices(tenantId: tenantId, status: "open").isEmpty)
    }

    @Test("a daemon down for 90 days catches up every missed period exactly once")
    func catchUpAfterDowntime() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let start = harness.clock.now()
        await harness.tenantry.scheduler.runDue()
        harness.clock.advance(seconds: 90 * Self.day)
        await harness.tenantry.scheduler.runDue()
        let trialEnd = start.adding(days: 14)
        let free = try grants(harness, tenantId).filter { $0.source == .plan }
        // FREE from day 14: months starting on days 14, ~45, ~73 have passed by day 90.
        #expect(free.map(\.effectiveAt) == [0, 1, 2].map { Months.add($0, to: trialEnd) })
        #expect(free.map(\.expired) == [true, true, false])
        await harness.tenantry.scheduler.runDue()
        harness.clock.advance(seconds: 1)
        await harness.tenantry.scheduler.runDue()
        #expect(try grants(harness, tenantId).filter { $0.source == .plan }.count == 3)
        #expect(try harness.tenantry.credits.balance(tenantId: tenantId, category: "USAGE_AI_CREDIT") == 100)
        #expect(try ledgerProblems(harness) == [])
    }

    /// The state that matters, without generated ids.
    func snapshot(_ harness: Harness) throws -> [String] {
        try harness.database.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT 'sub ' || plan || ' ' || status || ' ' || start_at || ' ' || coalesce(end_at, '-') || ' ' || coalesce(ended_at, '-') FROM subscription
                    UNION ALL SELECT 'grant ' || category || ' ' || amount || ' ' || used || ' ' || effective_at || ' ' || expires_at || ' ' || source || ' ' || expired FROM credit_grant
                    UNION ALL SELECT 'expiry ' || amount || ' ' || expired_at FROM credit_expiry
                    ORDER BY 1
                    """)
        }
    }

    @Test("a timer run killed half-way and run again ends as one clean run would")
    func crashHalfWay() async throws {
        func world() async throws -> Harness {
            let harness = try Harness { $0.timerBatchSize = 2 }
            for index in 0..<5 { _ = try await owner(harness, "owner\(index)@example.com") }
            harness.clock.advance(seconds: 40 * Self.day)
            return harness
        }
        let clean = try await world()
        await clean.tenantry.scheduler.runDue()

        // The real job dies in its second batch: the writer's connection aborts the third
        // FREE subscription it starts, after the first batch of two has committed.
        let crashed = try await world()
        try await crashed.database.write { db in
            try db.execute(
                sql: """
                    CREATE TEMP TABLE started (n INTEGER NOT NULL);
                    INSERT INTO started VALUES (0);
                    CREATE TEMP TRIGGER count_free AFTER INSERT ON main.subscription WHEN NEW.plan = 'FREE' BEGIN UPDATE started SET n = n + 1; END;
                    CREATE TEMP TRIGGER die_third BEFORE INSERT ON main.subscription WHEN NEW.plan = 'FREE' AND (SELECT n FROM started) >= 2
                    BEGIN SELECT RAISE(ABORT, 'killed'); END;
                    """)
        }
        await crashed.tenantry.scheduler.runDue()
        let states = try crashed.tenantry.scheduler.statuses()
        #expect(states.first { $0.id == "expireTrials" }?.state.lastResult == .failed)
        let expired = try crashed.database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM subscription WHERE status = 'EXPIRED'") }
        #expect(expired == 2, "the first batch committed, the second did not")
        // The fault is gone; the job's next run, a minute later, picks up what is still due.
        try await crashed.database.write { try $0.execute(sql: "DROP TRIGGER temp.die_third; DROP TRIGGER temp.count_free; DROP TABLE temp.started") }
        crashed.clock.advance(seconds: 60)
        #expect(await crashed.tenantry.scheduler.runDue().contains("expireTrials"))
        let expected = try snapshot(clean)
        let got = try snapshot(crashed)
        #expect(expected.count > 10)
        #expect(got == expected, "only in the crashed run: \(got.filter { !expected.contains($0) }); only in the clean one: \(expected.filter { !got.contains($0) })")
        #expect(try ledgerProblems(crashed) == [])
    }

    @Test("add-ons: one invoice for what is bought; paid, the credits arrive (priority 20, valid a year)")
    func addons() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness)
        let plans = harness.tenantry.plans
        let variant = try await plans.createVariant(
            .init(kind: .addon, plan: "", period: "", category: "USAGE_AI_CREDIT", units: 1000, price: "5", currency: "USD", description: "1k credits", active: true), by: .system)
        await expectDomainError(.alreadyExists("")) {
            try await plans.createVariant(.init(kind: .addon, plan: "", period: "", category: "USAGE_AI_CREDIT", units: 10, price: "1", currency: "USD", description: "", active: true), by: .system)
        }
        await expectDomainError(.notFound("")) { try await harness.tenantry.subscriptions.purchaseAddons(principal, [.init(category: "USAGE_VOICE", quantity: 1)]) }
        let url = try await harness.tenantry.subscriptions.purchaseAddons(principal, [.init(category: "USAGE_AI_CREDIT", quantity: 3)])
        let invoice = try #require(try await harness.tenantry.subscriptions.invoices(tenantId: tenantId, status: "open").first)
        #expect(url.hasSuffix(invoice.id))
        #expect(invoice.totalMinor == 1500)
        #expect(
            invoice.lines == [
                .init(kind: .addon, description: "3000 USAGE_AI_CREDIT credits (3 × 1000)", amountMinor: 1500, category: "USAGE_AI_CREDIT", quantity: 3, units: 1000, variantId: variant.id)
            ])
        _ = try await harness.tenantry.subscriptions.markPaid(invoiceId: invoice.id, by: .system)
        let addon = try #require(try grants(harness, tenantId).first { $0.source == .addon })
        #expect(addon.amount == 3000)
        #expect(addon.priority == 20)
        #expect(addon.expiresAt == harness.clock.now().adding(days: 365))
        await expectDomainError(.invalidArgument("")) { try await plans.deleteVariant(id: variant.id, by: .system) }
    }

    @Test("an operator moves a trial's end; its credits follow; other subscriptions cannot be changed")
    func trialEndChange() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness)
        let start = try live(harness, tenantId).startAt
        let moved = try await harness.tenantry.subscriptions.changeTrialEnd(tenantId: tenantId, to: start.adding(days: 30), by: .system)
        #expect(moved.endAt == start.adding(days: 30))
        #expect(try grants(harness, tenantId).first { $0.source == .trial }?.expiresAt == start.adding(days: 30))
        harness.clock.advance(seconds: 20 * Self.day)
        await harness.tenantry.scheduler.runDue()
        #expect(try live(harness, tenantId).status == .trialing)
        await expectDomainError(.invalidArgument("")) { try await harness.tenantry.subscriptions.changeTrialEnd(tenantId: tenantId, to: start.adding(seconds: -1), by: .system) }
        _ = try await subscribePro(harness, principal)
        await expectDomainError(.invalidArgument("")) { try await harness.tenantry.subscriptions.changeTrialEnd(tenantId: tenantId, to: start.adding(days: 60), by: .system) }
        let audit = try await harness.tenantry.admin.audit(action: "subscription", actor: "", targetType: "", targetId: "", tenantId: tenantId, page: 1, limit: 10)
        #expect(audit.items.map(\.action).contains("subscription.trial_end"))
    }

    @Test("editing a plan changes future grants only; a used plan cannot be deleted")
    func planEdits() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let plans = harness.tenantry.plans
        var free = try plans.get(name: "FREE")
        free.config.usageConfigs = [.init(category: "USAGE_AI_CREDIT", totalAmount: 500)]
        _ = try await plans.update(name: "FREE", changes: .init(config: free.config, description: nil, creditExtensionDays: 2, trialDays: nil), by: .system)
        #expect(try grants(harness, tenantId).first?.amount == 10_000, "the trial grant is untouched")
        harness.clock.advance(seconds: 15 * Self.day)
        await harness.tenantry.scheduler.runDue()
        let month = try #require(try grants(harness, tenantId).first { $0.source == .plan })
        #expect(month.amount == 500)
        #expect(month.expiresAt == Months.add(1, to: month.effectiveAt).adding(days: 2))
        await expectDomainError(.invalidArgument("")) { try await plans.delete(name: "NEW_USER_TRIAL", by: .system) }
        _ = try await plans.create(name: tenantId, draft: .init(config: PlanConfig(), description: "", creditExtensionDays: 0, trialDays: nil), by: .system)
        try await plans.delete(name: tenantId, by: .system)
        await expectDomainError(.invalidArgument("")) {
            try await plans.create(name: "ENTERPRISE", draft: .init(config: PlanConfig(), description: "", creditExtensionDays: 0, trialDays: nil), by: .system)
        }
        var bad = PlanConfig()
        bad.usageConfigs = [.init(category: "USAGE_UNKNOWN", totalAmount: 1)]
        await expectDomainError(.invalidArgument("")) { try await plans.update(name: "FREE", changes: .init(config: bad, description: nil, creditExtensionDays: nil, trialDays: nil), by: .system) }
    }

    @Test("a CUSTOM subscription uses the plan named by its tenant's id")
    func tenantSpecificPlan() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness)
        var config = PlanConfig()
        config.usageConfigs = [.init(category: "USAGE_AI_CREDIT", totalAmount: 777)]
        _ = try await harness.tenantry.plans.create(name: tenantId, draft: .init(config: config, description: "ACME deal", creditExtensionDays: 0, trialDays: nil), by: .system)
        let variant = try await harness.tenantry.plans.createVariant(
            .init(kind: .plan, plan: "CUSTOM", period: "MONTHLY", category: "", units: 0, price: "999", currency: "EUR", description: "", active: true), by: .system)
        let invoice = try #require(try await harness.tenantry.subscriptions.create(principal, variantId: variant.id).invoice)
        _ = try await harness.tenantry.subscriptions.markPaid(invoiceId: invoice.id, by: .system)
        #expect(try grants(harness, tenantId).first { $0.source == .plan }?.amount == 777)
        #expect(try harness.tenantry.plans.get(name: tenantId).hasUsed)
    }

    @Test("the plan's team_members limits members plus pending invitations")
    func teamLimit() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness)
        harness.clock.advance(seconds: 15 * Self.day)
        await harness.tenantry.scheduler.runDue()
        #expect(try live(harness, tenantId).plan == "FREE")
        let results = try await harness.tenants.invite(
            try harness.principal(try await harness.accounts.sessionLogin(email: principal.user.email, password: "correct horse", client: "10.0.0.1")),
            [.init(email: "second@example.com", role: "member")])
        #expect(results.map(\.status) == ["SC_RESOURCE_EXHAUSTED"])
        #expect(results[0].message.contains("1 team members"))
    }
}

@Suite("Money")
struct MoneyTests {
    @Test("minor units follow ISO 4217: 0 decimals for JPY and KRW, 3 for KWD, BHD, JOD, OMR and TND, 2 otherwise")
    func exponents() throws {
        #expect(try Money.minor(fromDecimal: "1999", currency: "JPY") == 1999)
        #expect(Money.decimal(1999, currency: "KRW") == "1999")
        #expect(throws: DomainError.self) { try Money.minor(fromDecimal: "19.5", currency: "JPY") }
        for currency in ["KWD", "BHD", "JOD", "OMR", "TND"] {
            #expect(try Money.minor(fromDecimal: "1.999", currency: currency) == 1999)
            #expect(Money.decimal(1005, currency: currency) == "1.005")
        }
        #expect(try Money.minor(fromDecimal: "19.99", currency: "USD") == 1999)
        #expect(Money.decimal(1905, currency: "EUR") == "19.05")
        #expect(Money.decimal(-5, currency: "USD") == "-0.05")
    }

    @Test("decimal prices take ASCII digits only")
    func asciiDigits() {
        for text in ["١٩.٩٩", "½", "Ⅻ", "１９", "19.９", "-1", "1e3", " 19", ""] {
            #expect(throws: DomainError.self, "\(text)") { try Money.minor(fromDecimal: text, currency: "USD") }
        }
    }
}
