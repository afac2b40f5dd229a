import GRDB

/// Consumption, balances and usage reports of a tenant's credits.
public struct CreditService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) { self.context = context }

    var database: AppDatabase { context.database }

    public struct Consumption: Sendable {
        public let tenantId: String
        public let category: String
        public let amount: Int64
        public let agentId: String
        public let datasetId: String
        public let idempotencyKey: String

        public init(tenantId: String, category: String, amount: Int64, agentId: String, datasetId: String, idempotencyKey: String) {
            self.tenantId = tenantId
            self.category = category
            self.amount = amount
            self.agentId = agentId
            self.datasetId = datasetId
            self.idempotencyKey = idempotencyKey
        }

        func spend(apiKeyId: String?) -> Ledger.Spend {
            Ledger.Spend(tenantId: tenantId, category: category, amount: amount, agentId: agentId, datasetId: datasetId, apiKeyId: apiKeyId)
        }

        static func validateKey(_ idempotencyKey: String) throws {
            guard !idempotencyKey.isEmpty else { throw DomainError.invalidArgument("idempotency_key is required") }
            guard idempotencyKey.utf8.count <= 200 else { throw DomainError.invalidArgument("idempotency_key must be at most 200 bytes") }
            guard !idempotencyKey.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw DomainError.invalidArgument("idempotency_key must not contain control characters")
            }
        }

        func validate() throws {
            try PlanConfig.validateCategory(category)
            _ = try Amount.positive(amount, field: "amount")
            try Self.validateKey(idempotencyKey)
            guard agentId.utf8.count <= 200, datasetId.utf8.count <= 200 else {
                throw DomainError.invalidArgument("agent_id and dataset_id must be at most 200 bytes")
            }
            for (field, value) in [("agent_id", agentId), ("dataset_id", datasetId)] {
                guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                    throw DomainError.invalidArgument("\(field) must not contain control characters")
                }
            }
        }
    }

    public struct Consumed: Sendable, Equatable {
        public let consumed: Int64
        public let remaining: Int64
        public let replayed: Bool
    }

    /// Debits credits all or nothing; short balance is `failedPrecondition` and debits nothing.
    public func consume(_ consumption: Consumption, apiKeyId: String?) throws -> PendingWrite<Consumed> {
        try consumption.validate()
        return PendingWrite(context) { db, now in
            let debit = try Self.explainingMissingTenant(db, consumption.tenantId) {
                try Ledger.debit(db, consumption.spend(apiKeyId: apiKeyId), idempotencyKey: consumption.idempotencyKey, at: now)
            }
            return Consumed(consumed: debit.consumed, remaining: debit.remaining, replayed: debit.replayed)
        }
    }

    public static let maximumBatch = 1000

    /// Up to 1000 debits of one tenant committed together, each all or nothing on its own:
    /// an item's failure (short, over a cap, a reused key) is its answer and undoes no other.
    public func consumeBatch(tenantId: String, _ items: [Consumption], apiKeyId: String?) throws -> PendingWrite<[Result<Consumed, DomainError>]> {
        guard (1...Self.maximumBatch).contains(items.count) else { throw DomainError.invalidArgument("items takes 1 to \(Self.maximumBatch) debits") }
        var checked: [Result<Consumption, DomainError>] = []
        for item in items {
            do {
                try item.validate()
                checked.append(.success(item))
            } catch let error as DomainError {
                checked.append(.failure(error))
            }
        }
        let valid = checked
        return PendingWrite(context) { db, now in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            return try valid.map { item in
                let consumption: Consumption
                switch item {
                case .failure(let error): return .failure(error)
                case .success(let value): consumption = value
                }
                do {
                    var debit: Ledger.Debit?
                    try db.inSavepoint {
                        debit = try Ledger.debit(db, consumption.spend(apiKeyId: apiKeyId), idempotencyKey: consumption.idempotencyKey, at: now)
                        return .commit
                    }
                    guard let debit else { throw DomainError.internalError("a batch item's savepoint answered nothing") }
                    return .success(Consumed(consumed: debit.consumed, remaining: debit.remaining, replayed: debit.replayed))
                } catch let error as DomainError {
                    return .failure(error)
                }
            }
        }
    }

    public struct HoldOutcome: Sendable, Equatable {
        public let hold: CreditHold
        public let consumed: Int64
        public let remaining: Int64
        public let replayed: Bool
    }

    /// Reserves credits for `ttlSeconds` (default 300, at most a day).
    public func hold(_ consumption: Consumption, ttlSeconds: Int64, apiKeyId: String?) throws -> PendingWrite<HoldOutcome> {
        try consumption.validate()
        let ttl = ttlSeconds == 0 ? CreditHold.defaultTTLSeconds : ttlSeconds
        guard (1...CreditHold.maximumTTLSeconds).contains(ttl) else {
            throw DomainError.invalidArgument("ttl_seconds must be between 1 and \(CreditHold.maximumTTLSeconds) (0 for the default of \(CreditHold.defaultTTLSeconds))")
        }
        return PendingWrite(context) { db, now in
            try Self.explainingMissingTenant(db, consumption.tenantId) {
                Self.outcome(try Ledger.placeHold(db, consumption.spend(apiKeyId: apiKeyId), ttlSeconds: ttl, idempotencyKey: consumption.idempotencyKey, at: now))
            }
        }
    }

    /// Debits the actual cost of a held call (0 is allowed) and frees the rest of the hold.
    public func settle(tenantId: String, holdId: String, amount: Int64, idempotencyKey: String) throws -> PendingWrite<HoldOutcome> {
        _ = try Amount.nonNegative(amount, field: "amount")
        try Consumption.validateKey(idempotencyKey)
        return PendingWrite(context) { db, now in
            Self.outcome(try Ledger.settleHold(db, tenantId: tenantId, holdId: holdId, amount: amount, idempotencyKey: idempotencyKey, at: now))
        }
    }

    public func release(tenantId: String, holdId: String) -> PendingWrite<HoldOutcome> {
        return PendingWrite(context) { db, now in Self.outcome(try Ledger.releaseHold(db, tenantId: tenantId, holdId: holdId, at: now)) }
    }

    public func holds(tenantId: String, status: CreditHold.Status?, page: Int, limit: Int) async throws -> TenantService.Page<CreditHold> {
        let paging = try Paging(page: page, limit: limit)
        let now = context.clock.now()
        return try await database.report { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            let found = try Ledger.holds(db, tenantId: tenantId, status: status, paging: paging, at: now)
            return TenantService.Page(items: found.holds, page: page, limit: limit, total: found.total)
        }
    }

    private static func outcome(_ result: Ledger.HoldResult) -> HoldOutcome {
        HoldOutcome(hold: result.hold, consumed: result.consumed, remaining: result.remaining, replayed: result.replayed)
    }

    /// A refusal for want of credits, from a tenant that does not exist, says so instead.
    private static func explainingMissingTenant<T>(_ db: Database, _ tenantId: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch DomainError.failedPrecondition(let message) {
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            throw DomainError.failedPrecondition(message)
        }
    }

    public func balance(tenantId: String, category: String) throws -> Int64 {
        try database.read { try Ledger.balance($0, tenantId: tenantId, category: category, at: context.clock.now()) }
    }

    /// What a reverse proxy's check answers: the balance and the live plan (FREE when none),
    /// in one read, as it runs on every request of the services behind the proxy.
    public func standing(tenantId: String, category: String) throws -> (remaining: Int64, plan: String) {
        try database.read { db in
            (try Ledger.balance(db, tenantId: tenantId, category: category, at: context.clock.now()), try Subscriptions.planName(db, tenantId: tenantId))
        }
    }

    public struct CategoryBalance: Sendable, Equatable {
        public let category: String
        public let available: Int64
        public let held: Int64
        public let grantedLeft: Int64
        public let nextExpiryAt: Instant?
        public let nextExpiryAmount: Int64
    }

    /// Per category: what can be spent, what holds reserve, and the next credits to expire.
    /// Indexed reads of live rows only, cheap enough for every request.
    public func balances(tenantId: String) throws -> [CategoryBalance] {
        let now = context.clock.now()
        return try database.read { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            let grants = try Ledger.liveGrants(db, tenantId: tenantId, at: now)
            var categories: [String] = []
            for grant in grants where !categories.contains(grant.category) { categories.append(grant.category) }
            return try categories.map { category in
                let own = grants.filter { $0.category == category && $0.remaining > 0 }
                let funds = try Ledger.funds(db, tenantId: tenantId, category: category, granted: own.map(\.remaining).saturatingSum(), at: now)
                let next = own.map(\.expiresAt).min()
                return CategoryBalance(
                    category: category, available: funds.available, held: funds.held, grantedLeft: funds.granted, nextExpiryAt: next,
                    nextExpiryAmount: own.filter { $0.expiresAt == next }.map(\.remaining).saturatingSum())
            }
        }
    }

    /// One page of the tenant's ledger.
    public func ledger(tenantId: String, filter: Journal.Filter, page: Int, limit: Int) async throws -> TenantService.Page<Journal.Entry> {
        let paging = try Paging(page: page, limit: limit)
        if let category = filter.category { try PlanConfig.validateCategory(category) }
        if let from = filter.from, let to = filter.to, to <= from { throw DomainError.invalidArgument("to must be after from") }
        return try await database.report { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            let found = try Journal.entries(db, tenantId: tenantId, filter: filter, paging: paging)
            return TenantService.Page(items: found.entries, page: page, limit: limit, total: found.total)
        }
    }

    public func liveGrants(tenantId: String) throws -> [CreditGrant] {
        try database.read { try Ledger.liveGrants($0, tenantId: tenantId, at: context.clock.now()) }
    }

    /// An operator's grant of credits, with a reason, audited.
    public func grant(tenantId: String, category: String, amount: Int64, expiresAt: Instant, reason: String, by actor: AuditActor) async throws -> CreditGrant {
        try PlanConfig.validateCategory(category)
        _ = try Amount.positive(amount, field: "amount")
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.count <= 500 else { throw DomainError.invalidArgument("reason is required (at most 500 characters)") }
        let now = context.clock.now()
        guard expiresAt > now else { throw DomainError.invalidArgument("expires_at must be in the future") }
        return try await database.write { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            _ = try Amount.sum(try Ledger.grantedLeft(db, tenantId: tenantId, category: category, at: now), amount, field: "the \(category) balance")
            var grant = CreditGrant.new(
                tenantId: tenantId, category: category, amount: amount, effectiveAt: now, expiresAt: expiresAt, source: .operator, reason: reason, createdBy: actor.email, now: now)
            try Ledger.insert(&grant, db, at: now)
            try AuditLog.record(db, actor: actor, action: "credits.grant", targetType: "tenant", targetId: tenantId, tenantId: tenantId, before: AuditLog.nothing, after: grant, at: now)
            return grant
        }
    }

    public struct CategoryUsage: Sendable, Equatable {
        public let category: String
        public let used: Int64
        public let total: Int64
        public let expiresAt: Instant?
    }

    public struct CurrentUsage: Sendable {
        public let plan: String
        public let config: PlanConfig
        public let categories: [CategoryUsage]
        public let datasets: [String: CategoryUsage]
        public let updatedAt: Instant?
    }

    /// The tenant's plan features and, per category, what its live grants hold and have
    /// used, with the soonest expiry of credits still left; per dataset, what debits used in
    /// the current window (since the newest live allowance began).
    public func currentUsage(tenantId: String) async throws -> CurrentUsage {
        let now = context.clock.now()
        return try await database.report { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            let live = try Subscription.live(db, tenantId: tenantId)
            let plan = try live.flatMap { try Plan.effective(db, planName: $0.plan, tenantId: tenantId) }
            let grants = try Ledger.liveGrants(db, tenantId: tenantId, at: now)
            var categories = plan?.config.usageConfigs.map(\.category) ?? []
            for grant in grants where !categories.contains(grant.category) { categories.append(grant.category) }
            let usage = categories.map { category in
                let own = grants.filter { $0.category == category }
                return CategoryUsage(
                    category: category, used: own.map(\.used).saturatingSum(), total: own.map(\.amount).saturatingSum(),
                    expiresAt: own.filter { $0.remaining > 0 }.map(\.expiresAt).min()
                )
            }
            var datasets: [String: CategoryUsage] = [:]
            for row in try Ledger.windowUsage(db, tenantId: tenantId, dimension: "dataset", at: now) {
                let total = usage.first { $0.category == row.category }
                datasets[row.subject] = CategoryUsage(category: row.category, used: row.used, total: total?.total ?? 0, expiresAt: total?.expiresAt)
            }
            return CurrentUsage(plan: live?.plan ?? Subscriptions.freePlan, config: plan?.config ?? PlanConfig(), categories: usage, datasets: datasets, updatedAt: live?.updatedAt)
        }
    }

    /// Credits used per agent in the current window, for the agents asked about (0 for others).
    public func agentUsage(tenantId: String, agentIds: [String]) async throws -> [String: Int64] {
        let now = context.clock.now()
        return try await database.report { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            var usage = Dictionary(agentIds.map { ($0, Int64(0)) }, uniquingKeysWith: { first, _ in first })
            for row in try Ledger.windowUsage(db, tenantId: tenantId, dimension: "agent", subjects: Array(usage.keys), at: now) {
                usage[row.subject] = [usage[row.subject] ?? 0, row.used].saturatingSum()
            }
            return usage
        }
    }

    /// Credits debited per UTC day over the last `days` days (today included), zeros for quiet days.
    public func daily(tenantId: String, days: Int) async throws -> [(day: Instant, amount: Int64)] {
        guard (1...366).contains(days) else { throw DomainError.invalidArgument("days must be between 1 and 366") }
        let now = context.clock.now()
        return try await database.report { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            return try DailyTotals.fetch(
                db, days: days, endingAt: now,
                sql: """
                    SELECT created_at - created_at % 86400000 AS day, sum(amount) AS total FROM credit_entry
                    WHERE tenant_id = ? AND kind IN ('debit', 'settle') AND created_at >= ? GROUP BY 1
                    """, arguments: { [tenantId, $0] })
        }
    }

    /// Every agent that used credits in the current window, with what it used, most first.
    public func agents(tenantId: String) async throws -> [(agentId: String, category: String, used: Int64)] {
        let now = context.clock.now()
        return try await database.report { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            let usage = try Ledger.windowUsage(db, tenantId: tenantId, dimension: "agent", at: now)
            return usage.sorted { $0.used != $1.used ? $0.used > $1.used : $0.subject < $1.subject }.map { (agentId: $0.subject, category: $0.category, used: $0.used) }
        }
    }
}
