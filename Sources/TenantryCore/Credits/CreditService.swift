import GRDB

/// Consumption, balances and usage reports of a tenant's credits.
public struct CreditService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) { self.context = context }

    private var database: AppDatabase { context.database }

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

        func validate() throws {
            try PlanConfig.validateCategory(category)
            _ = try Amount.positive(amount, field: "amount")
            guard !idempotencyKey.isEmpty else { throw DomainError.invalidArgument("idempotency_key is required") }
            guard idempotencyKey.utf8.count <= 200 else { throw DomainError.invalidArgument("idempotency_key must be at most 200 bytes") }
            guard agentId.utf8.count <= 200, datasetId.utf8.count <= 200 else {
                throw DomainError.invalidArgument("agent_id and dataset_id must be at most 200 bytes")
            }
            for (field, value) in [("idempotency_key", idempotencyKey), ("agent_id", agentId), ("dataset_id", datasetId)] {
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
    public func consume(_ consumption: Consumption, apiKeyId: String?) async throws -> Consumed {
        try consumption.validate()
        let now = context.clock.now()
        let debit = try await database.write { db in
            do {
                return try Ledger.debit(
                    db, tenantId: consumption.tenantId, category: consumption.category, amount: consumption.amount, agentId: consumption.agentId,
                    datasetId: consumption.datasetId, idempotencyKey: consumption.idempotencyKey, apiKeyId: apiKeyId, at: now
                )
            } catch DomainError.failedPrecondition(let message) {
                // A tenant that does not exist has no credits either: say which it is.
                guard try Tenant.exists(db, key: consumption.tenantId) else { throw DomainError.notFound("no tenant \(consumption.tenantId)") }
                throw DomainError.failedPrecondition(message)
            }
        }
        return Consumed(consumed: debit.consumed, remaining: debit.remaining, replayed: debit.replayed)
    }

    public func balance(tenantId: String, category: String) throws -> Int64 {
        try database.read { try Ledger.balance($0, tenantId: tenantId, category: category, at: context.clock.now()) }
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
            _ = try Amount.sum(try Ledger.balance(db, tenantId: tenantId, category: category, at: now), amount, field: "the \(category) balance")
            let grant = CreditGrant.new(
                tenantId: tenantId, category: category, amount: amount, effectiveAt: now, expiresAt: expiresAt, source: .operator, reason: reason, createdBy: actor.email, now: now)
            try grant.insert(db)
            try WebhookEvents.emit(db, "credits.granted", WebhookEvents.grant(grant), at: now)
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
}
