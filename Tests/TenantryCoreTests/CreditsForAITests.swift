import Foundation
import GRDB
import Testing

@testable import TenantryCore

/// Holds, caps, alerts, rollover, the ledger and batches, against a temp database and a
/// manual clock that the tests move.
@Suite("Credits for AI workloads: holds, caps, alerts, rollover, ledger")
struct CreditsForAITests {
    static let category = "USAGE_AI_CREDIT"

    /// An owner with a fresh tenant (a trial of 10,000 credits); answers (principal, tenant id).
    func owner(_ harness: Harness, _ email: String = "owner@example.com") async throws -> (Principal, String) {
        let principal = try harness.principal(try await harness.activeUser(email))
        return (principal, try #require(principal.tenantId))
    }

    func item(_ tenantId: String, _ amount: Int64, key: String, agent: String = "") -> CreditService.Consumption {
        .init(tenantId: tenantId, category: Self.category, amount: amount, agentId: agent, datasetId: "", idempotencyKey: key)
    }

    func consume(_ harness: Harness, _ tenantId: String, _ amount: Int64, key: String, agent: String = "", apiKeyId: String? = nil) async throws -> CreditService.Consumed {
        try await harness.tenantry.credits.consume(item(tenantId, amount, key: key, agent: agent), apiKeyId: apiKeyId).value
    }

    func hold(_ harness: Harness, _ tenantId: String, _ amount: Int64, key: String, agent: String = "", ttl: Int64 = 0) async throws -> CreditService.HoldOutcome {
        try await harness.tenantry.credits.hold(item(tenantId, amount, key: key, agent: agent), ttlSeconds: ttl, apiKeyId: nil).value
    }

    func balance(_ harness: Harness, _ tenantId: String) throws -> Int64 {
        try harness.tenantry.credits.balance(tenantId: tenantId, category: Self.category)
    }

    func problems(_ harness: Harness) throws -> [String] {
        try harness.database.read { try Ledger.inconsistencies($0) }
    }

    func kinds(_ harness: Harness, _ tenantId: String) async throws -> [Journal.Kind] {
        try await harness.tenantry.credits.ledger(tenantId: tenantId, filter: .init(), page: 1, limit: 100).items.map(\.kind)
    }

    @Test("a hold reserves its amount at once; short is code 9 and reserves nothing")
    func holdReserves() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let placed = try await hold(harness, tenantId, 4_000, key: "h1", agent: "bot")
        #expect(placed.remaining == 6_000)
        #expect(placed.hold.status == .open)
        #expect(placed.hold.expiresAt == harness.clock.now().adding(seconds: 300), "the default TTL is 300 s")
        #expect(try balance(harness, tenantId) == 6_000)
        let short = await expectDomainError(.failedPrecondition("")) { try await consume(harness, tenantId, 6_001, key: "c1") }
        #expect(short?.message.contains("4000 of the 10000 left in live grants is reserved by 1 open hold") == true, "\(String(describing: short))")
        await expectDomainError(.failedPrecondition("")) { try await hold(harness, tenantId, 6_001, key: "h2") }
        #expect(try harness.count("SELECT count(*) FROM credit_hold") == 1, "a refused hold reserves nothing")
        let balances = try harness.tenantry.credits.balances(tenantId: tenantId)
        #expect(balances.map(\.available) == [6_000])
        #expect(balances.map(\.held) == [4_000])
        await expectDomainError(.invalidArgument("")) { try await hold(harness, tenantId, 1, key: "h3", ttl: 86_401) }
        await expectDomainError(.invalidArgument("")) { try await hold(harness, tenantId, 1, key: "h3", ttl: -1) }
        #expect(try problems(harness) == [])
    }

    @Test("settling debits the actual amount and frees the rest; more than held needs the balance")
    func settle() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let credits = harness.tenantry.credits
        let first = try await hold(harness, tenantId, 1_000, key: "h1", agent: "bot")
        let settled = try await credits.settle(tenantId: tenantId, holdId: first.hold.id, amount: 300, idempotencyKey: "s1").value
        #expect(settled.consumed == 300)
        #expect(settled.remaining == 9_700)
        #expect(settled.hold.status == .settled)
        #expect(try await harness.tenantry.credits.agentUsage(tenantId: tenantId, agentIds: ["bot"]) == ["bot": 300], "usage counts what was settled")
        let replay = try await credits.settle(tenantId: tenantId, holdId: first.hold.id, amount: 300, idempotencyKey: "s1").value
        #expect(replay.replayed && replay.remaining == 9_700)
        await expectDomainError(.alreadyExists("")) { try await credits.settle(tenantId: tenantId, holdId: first.hold.id, amount: 301, idempotencyKey: "s1").value }
        await expectDomainError(.failedPrecondition("")) { try await credits.settle(tenantId: tenantId, holdId: first.hold.id, amount: 300, idempotencyKey: "s2").value }
        await expectDomainError(.failedPrecondition("")) { try await credits.release(tenantId: tenantId, holdId: first.hold.id).value }

        // More than held: fine while the balance covers it; refused, the hold stays open.
        let second = try await hold(harness, tenantId, 500, key: "h2")
        _ = try await consume(harness, tenantId, 8_900, key: "drain")
        #expect(try balance(harness, tenantId) == 300)
        #expect(try await credits.settle(tenantId: tenantId, holdId: second.hold.id, amount: 700, idempotencyKey: "s3").value.remaining == 100)
        let third = try await hold(harness, tenantId, 100, key: "h3")
        await expectDomainError(.failedPrecondition("")) { try await credits.settle(tenantId: tenantId, holdId: third.hold.id, amount: 101, idempotencyKey: "s4").value }
        #expect(try harness.database.read { try Ledger.hold($0, tenantId: tenantId, id: third.hold.id) }.status == .open)
        #expect(try await credits.settle(tenantId: tenantId, holdId: third.hold.id, amount: 0, idempotencyKey: "s5").value.remaining == 100, "0 frees it all")
        await expectDomainError(.notFound("")) { try await credits.settle(tenantId: tenantId, holdId: "hld_missing", amount: 1, idempotencyKey: "s6").value }
        #expect(try problems(harness) == [])
    }

    @Test("a hold past its TTL reserves nothing from that instant; the job marks it and says so; settling it needs the balance")
    func expiry() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let credits = harness.tenantry.credits
        let placed = try await hold(harness, tenantId, 9_000, key: "h1", ttl: 60)
        let released = try await hold(harness, tenantId, 500, key: "h2", ttl: 3_600)
        _ = try await credits.release(tenantId: tenantId, holdId: released.hold.id).value
        #expect(try await credits.release(tenantId: tenantId, holdId: released.hold.id).value.replayed)
        harness.clock.advance(seconds: 60)
        #expect(try balance(harness, tenantId) == 10_000, "no job has run, and the hold reserves nothing")
        #expect(try await credits.holds(tenantId: tenantId, status: .expired, page: 1, limit: 10).items.map(\.id) == [placed.hold.id])
        #expect(try await credits.release(tenantId: tenantId, holdId: placed.hold.id).value.hold.status(at: harness.clock.now()) == .expired)
        await harness.tenantry.scheduler.runDue()
        #expect(try harness.database.read { try Ledger.hold($0, tenantId: tenantId, id: placed.hold.id) }.status == .expired)
        #expect(try await kinds(harness, tenantId) == [.grant, .hold, .hold, .release, .holdExpiry])
        _ = try await consume(harness, tenantId, 9_500, key: "c1")
        await expectDomainError(.failedPrecondition("")) { try await credits.settle(tenantId: tenantId, holdId: placed.hold.id, amount: 9_000, idempotencyKey: "late").value }
        let late = try await credits.settle(tenantId: tenantId, holdId: placed.hold.id, amount: 400, idempotencyKey: "late").value
        #expect(late.hold.status == .settled && late.remaining == 100)
        #expect(try problems(harness) == [])
    }

    @Test("holds, settles, releases and expiries racing: nothing overdrawn, every hold ends once")
    func holdsRacing() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let credits = harness.tenantry.credits
        _ = try await consume(harness, tenantId, 9_000, key: "drain")
        // 64 workers each hold 30 of the 1,000 left, then settle 40, settle 10, release, or let it lapse.
        let outcomes = await withTaskGroup(of: String.self) { group in
            for worker in 0..<64 {
                group.addTask {
                    guard let placed = try? await hold(harness, tenantId, 30, key: "h\(worker)", ttl: 30) else { return "refused" }
                    switch worker % 4 {
                    case 0: return (try? await credits.settle(tenantId: tenantId, holdId: placed.hold.id, amount: 40, idempotencyKey: "s\(worker)").value) != nil ? "settled" : "short"
                    case 1: return (try? await credits.settle(tenantId: tenantId, holdId: placed.hold.id, amount: 10, idempotencyKey: "s\(worker)").value) != nil ? "settled" : "short"
                    case 2: return (try? await credits.release(tenantId: tenantId, holdId: placed.hold.id).value) != nil ? "released" : "failed"
                    default: return "open"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(!outcomes.contains("failed"))
        harness.clock.advance(seconds: 31)
        await harness.tenantry.scheduler.runDue()
        let statuses = try harness.database.read { try String.fetchAll($0, sql: "SELECT status FROM credit_hold") }
        #expect(statuses.count == outcomes.filter { $0 != "refused" }.count)
        #expect(!statuses.contains("open"), "every hold ended")
        #expect(statuses.filter { $0 == "settled" }.count == outcomes.filter { $0 == "settled" }.count)
        let settled = try harness.count("SELECT coalesce(sum(settled_amount), 0) FROM credit_hold WHERE status = 'settled'")
        #expect(try harness.count("SELECT count(*) FROM credit_debit WHERE idempotency_key LIKE 'settle:%'") == statuses.filter { $0 == "settled" }.count)
        #expect(try balance(harness, tenantId) == Int64(1_000 - settled))
        #expect(try balance(harness, tenantId) >= 0)
        #expect(try problems(harness) == [])
    }

    @Test("an agent's day cap counts debits and holds; a new day opens a new window; a key's cap binds that key only")
    func caps() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness)
        let credits = harness.tenantry.credits
        _ = try await consume(harness, tenantId, 30, key: "before", agent: "bot")
        let key = try await harness.tenantry.apiKeys.create(principal, name: "gateway", scopes: [ApiKey.writeScope], expiresAt: nil)
        let set = try await credits.setLimits(
            tenantId: tenantId,
            [
                CreditLimit(scope: .agent, subject: "bot", category: Self.category, limit: 100, window: .day),
                CreditLimit(scope: .apiKey, subject: key.key.id, category: Self.category, limit: 50, window: .month),
            ], by: .system)
        #expect(set.map(\.used) == [30, 0], "a cap starts with what its window used already")
        _ = try await hold(harness, tenantId, 50, key: "h1", agent: "bot")
        let refused = await expectDomainError(.failedPrecondition("")) { try await consume(harness, tenantId, 21, key: "c1", agent: "bot") }
        #expect(refused?.message == "over the cap on agent bot for USAGE_AI_CREDIT per day: limit 100, used 30, held 50, requested 21")
        _ = try await consume(harness, tenantId, 20, key: "c2", agent: "bot")
        _ = try await consume(harness, tenantId, 500, key: "c3", agent: "other")
        _ = try await consume(harness, tenantId, 50, key: "k1", apiKeyId: key.key.id)
        await expectDomainError(.failedPrecondition("")) { try await consume(harness, tenantId, 1, key: "k2", apiKeyId: key.key.id) }
        _ = try await consume(harness, tenantId, 1, key: "k3")
        #expect(try credits.limits(tenantId: tenantId).map(\.used) == [50, 50])
        harness.clock.advance(seconds: 86_400)
        _ = try await consume(harness, tenantId, 100, key: "c4", agent: "bot")
        #expect(try credits.limits(tenantId: tenantId).map(\.used) == [100, 50])
        await expectDomainError(.invalidArgument("")) {
            try await credits.setLimits(tenantId: tenantId, [CreditLimit(scope: .apiKey, subject: "key_missing", category: Self.category, limit: 1, window: .day)], by: .system)
        }
        let twice = CreditLimit(scope: .agent, subject: "bot", category: Self.category, limit: 1, window: .day)
        await expectDomainError(.invalidArgument("")) { try await credits.setLimits(tenantId: tenantId, [twice, twice], by: .system) }
        #expect(try credits.limits(tenantId: tenantId).count == 2, "a refused set changes nothing")
        #expect(try problems(harness) == [])
    }

    @Test("many debits of one agent against its cap at once: exactly the cap is spent")
    func capsRacing() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        _ = try await harness.tenantry.credits.setLimits(
            tenantId: tenantId, [CreditLimit(scope: .agent, subject: "bot", category: Self.category, limit: 25, window: .period)], by: .system)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<64 {
                group.addTask { (try? await consume(harness, tenantId, 1, key: "k\(index)", agent: "bot")) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 25)
        #expect(try harness.tenantry.credits.limits(tenantId: tenantId).map(\.used) == [25])
    }

    @Test("thresholds crossed by parallel debits fire once each, by webhook and email; a tenant's own thresholds and email switch")
    func alerts() async throws {
        let harness = try Harness { $0.webhooks.allowPrivate = true }
        let (_, tenantId) = try await owner(harness)
        let credits = harness.tenantry.credits
        _ = try await harness.tenantry.webhooks.create(
            .init(name: "alerts", url: "http://127.0.0.1:9/hook", events: ["credits.low", "credits.depleted"], isActive: true), by: .system)
        _ = try await consume(harness, tenantId, 7_990, key: "start")
        #expect(try harness.count("SELECT count(*) FROM credit_alert") == 0)
        _ = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<64 {
                group.addTask { (try? await consume(harness, tenantId, 50, key: "k\(index)")) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(try balance(harness, tenantId) == 10)
        #expect(try harness.count("SELECT count(*) FROM credit_alert WHERE event = 'credits.low'") == 1)
        #expect(try harness.count("SELECT count(*) FROM webhook_delivery WHERE event_type = 'credits.low'") == 1)
        #expect(try harness.count("SELECT count(*) FROM webhook_delivery WHERE event_type = 'credits.depleted'") == 0)
        _ = try await consume(harness, tenantId, 10, key: "last")
        #expect(try harness.count("SELECT count(*) FROM webhook_delivery WHERE event_type = 'credits.depleted'") == 1)
        let emails = try harness.mails(to: "owner@example.com").map(\.email.subject)
        #expect(emails.filter { $0.contains("running low") }.count == 1)
        #expect(emails.filter { $0.contains("run out") }.count == 1)
        let view = try await credits.alerts(tenantId: tenantId, page: 1, limit: 10)
        #expect(view.alerts.items.map(\.event) == ["credits.depleted", "credits.low"])
        #expect(view.alerts.items.last?.level == 2_000)
        #expect(view.settings.inherited)

        // The tenant's own threshold, emails off: it fires by webhook only.
        _ = try await credits.setAlerts(tenantId: tenantId, .init(thresholds: [.remaining(500)], inherit: false, email: false), by: .system)
        _ = try await credits.grant(tenantId: tenantId, category: Self.category, amount: 1_000, expiresAt: harness.clock.now().adding(days: 30), reason: "top-up", by: .system)
        _ = try await consume(harness, tenantId, 600, key: "again")
        #expect(try harness.count("SELECT count(*) FROM credit_alert WHERE threshold = 'remaining:500'") == 1)
        #expect(try harness.mails(to: "owner@example.com").filter { $0.email.subject.contains("running low") }.count == 1, "email is off")
        let settings = try await credits.setAlerts(tenantId: tenantId, .init(thresholds: nil, inherit: true, email: nil), by: .system)
        #expect(settings.inherited && !settings.email && settings.thresholds == [.percent(80), .percent(100)])
        await expectDomainError(.invalidArgument("")) {
            try await credits.setAlerts(tenantId: tenantId, .init(thresholds: [.percent(101)], inherit: false, email: nil), by: .system)
        }
        #expect(try await harness.tenantry.admin.overview().tenantsBelowThreshold == 1)
    }

    /// PRO with a rollover of half of what is left, at most 3,000, bought yearly (its months
    /// are granted without renewals) and paid.
    func proWithRollover(_ harness: Harness, _ principal: Principal, validDays: Int = 0) async throws {
        let plans = harness.tenantry.plans
        var config = try plans.get(name: "PRO").config
        config.rollover = PlanConfig.Rollover(percent: 50, maxAmount: 3_000, validDays: validDays)
        _ = try await plans.update(name: "PRO", changes: .init(config: config, description: nil, creditExtensionDays: 0, trialDays: nil), by: .system)
        let variant = try await plans.createVariant(
            .init(kind: .plan, plan: "PRO", period: "YEARLY", category: "", units: 0, price: "290.00", currency: "USD", description: "Pro", active: true), by: .system)
        let invoice = try #require(try await harness.tenantry.subscriptions.create(principal, variantId: variant.id).invoice)
        _ = try await harness.tenantry.subscriptions.markPaid(invoiceId: invoice.id, by: .system)
    }

    @Test("at a period's end half of what is left rolls over, capped; the old grant ends there; a rollover never rolls again")
    func rollover() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness)
        try await proWithRollover(harness, principal)
        let paidAt = harness.clock.now()
        // Spend the trial's credits and 6,000 of the month's 10,000 (burn-down: trial first, it expires first).
        _ = try await consume(harness, tenantId, 16_000, key: "spend")
        harness.clock.advance(seconds: Months.add(1, to: paidAt).milliseconds / 1000 - paidAt.milliseconds / 1000)
        await harness.tenantry.scheduler.runDue()
        let grants = try harness.database.read { try CreditGrant.filter(Column("tenant_id") == tenantId).order(Column("seq")).fetchAll($0) }
        let month = try #require(grants.first { $0.source == .plan })
        let rolled = try #require(grants.first { $0.source == .rollover })
        #expect(rolled.amount == 2_000, "half of the 4,000 left")
        #expect(rolled.rolledFromSeq == month.seq)
        #expect(rolled.effectiveAt == Months.add(1, to: paidAt))
        #expect(rolled.expiresAt == Months.add(2, to: paidAt), "the next month plus PRO's credit_extension (0 here)")
        #expect(month.expired && month.expiresAt == Months.add(1, to: paidAt), "the old grant ends at its period's end")
        #expect(try balance(harness, tenantId) == 12_000, "the new month's 10,000 and the rollover's 2,000")
        await harness.tenantry.scheduler.runDue()
        #expect(try harness.count("SELECT count(*) FROM credit_grant WHERE source = 'rollover'") == 1, "once")
        #expect(try await kinds(harness, tenantId).contains(.rollover))
        #expect(try problems(harness) == [])
    }

    @Test("a daemon down for 100 days rolls each missed period over once, capped, and never a rollover")
    func rolloverCatchUp() async throws {
        let harness = try Harness()
        let (principal, tenantId) = try await owner(harness)
        try await proWithRollover(harness, principal, validDays: 10)
        await harness.tenantry.scheduler.runDue()
        harness.clock.advance(seconds: 100 * 86_400)
        await harness.tenantry.scheduler.runDue()
        let rolled = try harness.database.read {
            try CreditGrant.filter(Column("tenant_id") == tenantId && Column("source") == "rollover").order(Column("seq")).fetchAll($0)
        }
        #expect(rolled.count == 3, "the months ending on days ~31, ~59 and ~90")
        #expect(rolled.map(\.amount) == [3_000, 3_000, 3_000], "half of 10,000 left, capped at 3,000")
        #expect(rolled.allSatisfy { $0.expired }, "valid 10 days, long past")
        let sources = try harness.database.read { db in
            try String.fetchAll(db, sql: "SELECT g.source FROM credit_grant r JOIN credit_grant g ON g.seq = r.rolled_from_seq WHERE r.source = 'rollover'")
        }
        #expect(sources == ["plan", "plan", "plan"])
        #expect(try problems(harness) == [])
    }

    @Test("the ledger lists every change with the grants drawn and the balance after; filters and order")
    func ledger() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let credits = harness.tenantry.credits
        _ = try await credits.grant(tenantId: tenantId, category: Self.category, amount: 500, expiresAt: harness.clock.now().adding(days: 1), reason: "gift", by: .system)
        _ = try await consume(harness, tenantId, 10_200, key: "big", agent: "bot")
        let placed = try await hold(harness, tenantId, 100, key: "h1", agent: "other")
        harness.clock.advance(seconds: 10)
        _ = try await credits.settle(tenantId: tenantId, holdId: placed.hold.id, amount: 60, idempotencyKey: "s1").value
        let page = try await credits.ledger(tenantId: tenantId, filter: .init(), page: 1, limit: 100)
        #expect(page.items.map(\.kind) == [.grant, .grant, .debit, .hold, .settle])
        #expect(page.items.map(\.balanceAfter) == [10_000, 10_500, 300, 200, 240])
        #expect(page.items.map(\.heldAfter) == [0, 0, 0, 100, 0])
        #expect(page.items[2].drawnFrom.map(\.amount) == [10_000, 200], "the trial first, then the operator's gift")
        #expect(page.items[4].holdId == placed.hold.id && !page.items[4].debitId.isEmpty)
        #expect(page.items[0].source == "trial" && page.items[1].source == "operator")
        let bot = try await credits.ledger(tenantId: tenantId, filter: .init(agentId: "bot"), page: 1, limit: 100)
        #expect(bot.items.map(\.kind) == [.debit])
        let newest = try await credits.ledger(tenantId: tenantId, filter: .init(newestFirst: true), page: 1, limit: 2)
        #expect(newest.items.map(\.kind) == [.settle, .hold] && newest.total == 5 && newest.hasMore)
        let later = try await credits.ledger(tenantId: tenantId, filter: .init(from: harness.clock.now()), page: 1, limit: 100)
        #expect(later.items.map(\.kind) == [.settle])
    }

    @Test("a batch commits together, each item on its own: a refused item undoes no other; a replay answers the same")
    func batch() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let credits = harness.tenantry.credits
        _ = try await credits.setLimits(tenantId: tenantId, [CreditLimit(scope: .agent, subject: "capped", category: Self.category, limit: 5, window: .day)], by: .system)
        let items = [
            item(tenantId, 100, key: "a"), item(tenantId, 20_000, key: "short"), item(tenantId, 6, key: "cap", agent: "capped"),
            .init(tenantId: tenantId, category: "BAD", amount: 1, agentId: "", datasetId: "", idempotencyKey: "bad"), item(tenantId, 200, key: "b"),
            item(tenantId, 999, key: "a"),
        ]
        let results = try await credits.consumeBatch(tenantId: tenantId, items, apiKeyId: nil).value
        func code(_ result: Result<CreditService.Consumed, DomainError>) -> String {
            switch result {
            case .success(let debit): "ok \(debit.remaining)"
            case .failure(let error): error.statusName
            }
        }
        #expect(
            results.map(code) == ["ok 9900", "SC_FAILED_PRECONDITION", "SC_FAILED_PRECONDITION", "SC_INVALID_ARGUMENT", "ok 9700", "SC_ALREADY_EXISTS"])
        #expect(try balance(harness, tenantId) == 9_700)
        let again = try await credits.consumeBatch(tenantId: tenantId, [item(tenantId, 100, key: "a"), item(tenantId, 200, key: "b")], apiKeyId: nil).value
        #expect(again.map { (try? $0.get())?.replayed } == [true, true])
        await expectDomainError(.invalidArgument("")) { try await credits.consumeBatch(tenantId: tenantId, [], apiKeyId: nil).value }
        #expect(try problems(harness) == [])
    }

    @Test("check finds a hold that does not add up")
    func checkFindsHolds() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        let placed = try await hold(harness, tenantId, 100, key: "h1")
        _ = try await harness.tenantry.credits.settle(tenantId: tenantId, holdId: placed.hold.id, amount: 40, idempotencyKey: "s1").value
        #expect(try problems(harness) == [])
        try await harness.database.write { try $0.execute(sql: "UPDATE credit_hold SET settled_amount = 41") }
        #expect(try problems(harness).contains { $0.contains("is settled for 41 but its debit is 40") })
        try await harness.database.write { try $0.execute(sql: "UPDATE credit_hold SET settled_amount = 40, status = 'open', ended_at = NULL, settled_amount = NULL, debit_seq = NULL") }
        #expect(try problems(harness).contains { $0.contains("placed 1, settled 1") })
    }

    @Test("what open holds reserve is a running total: right through placing, settling, releasing, lapsing and the expiry timer")
    func openHoldTotals() async throws {
        let harness = try Harness()
        let (_, tenantId) = try await owner(harness)
        var held: [CreditHold] = []
        for index in 0..<40 { held.append(try await hold(harness, tenantId, 10, key: "h\(index)", ttl: index < 10 ? 60 : 600).hold) }
        #expect(try balance(harness, tenantId) == 10_000 - 400)
        _ = try await harness.tenantry.credits.settle(tenantId: tenantId, holdId: held[20].id, amount: 7, idempotencyKey: "s20").value
        _ = try await harness.tenantry.credits.release(tenantId: tenantId, holdId: held[21].id).value
        #expect(try balance(harness, tenantId) == 10_000 - 7 - 380)
        // Ten holds pass their TTL: they stop reserving at once, before the timer marks them.
        harness.clock.advance(seconds: 61)
        #expect(try balance(harness, tenantId) == 10_000 - 7 - 280)
        #expect(try problems(harness) == [])
        await harness.tenantry.scheduler.runDue()
        #expect(try balance(harness, tenantId) == 10_000 - 7 - 280)
        #expect(try harness.count("SELECT holds FROM credit_hold_total WHERE tenant_id = ?", [tenantId]) == 28)
        #expect(try problems(harness) == [])
        // The check notices a total that drifted from the holds.
        try await harness.database.write { try $0.execute(sql: "UPDATE credit_hold_total SET amount = amount + 1 WHERE tenant_id = ?", arguments: [tenantId]) }
        #expect(try problems(harness).contains { $0.contains("the open-hold total says 281 but open holds add up to 280") })
    }
}

@Suite("Migration v6: the journal of an upgraded database")
struct CreditsMigrationTests {
    @Test("an upgraded database starts its ledger with one opening entry per live balance")
    func openingEntries() throws {
        let path = temporaryDatabasePath()
        defer { removeDatabaseFiles(path) }
        let queue = try DatabaseQueue(path: path)
        try Migrations.migrator.migrate(queue, upTo: "v5_webhooks")
        let now = Instant(Date()).milliseconds
        try queue.write { db in
            try db.execute(sql: "INSERT INTO tenant (id, name, created_at, updated_at) VALUES ('tnt_a', 'A', 0, 0)")
            for (id, category, amount, used, expires) in [
                ("grt_1", "USAGE_AI_CREDIT", 100, 30, now + 86_400_000), ("grt_2", "USAGE_AI_CREDIT", 50, 0, now + 86_400_000),
                ("grt_3", "USAGE_VOICE_MINUTE", 10, 10, now + 86_400_000), ("grt_4", "USAGE_AI_CREDIT", 999, 0, now - 1),
            ] as [(String, String, Int64, Int64, Int64)] {
                try db.execute(
                    sql: """
                        INSERT INTO credit_grant (id, tenant_id, category, amount, used, effective_at, expires_at, source, created_at)
                        VALUES (?, 'tnt_a', ?, ?, ?, 0, ?, 'operator', 0)
                        """, arguments: [id, category, amount, used, expires])
            }
        }
        try Migrations.migrator.migrate(queue)
        let entries = try queue.read { try Row.fetchAll($0, sql: "SELECT category, kind, amount, balance_after FROM credit_entry ORDER BY category") }
        #expect(
            entries.map { "\($0["category"] as String) \($0["kind"] as String) \($0["amount"] as Int64) \($0["balance_after"] as Int64)" } == [
                "USAGE_AI_CREDIT opening 120 120", "USAGE_VOICE_MINUTE opening 0 0",
            ])
    }

}
