import GRDB

/// Plans and their prices, managed by operators; every change is audited.
public struct PlanService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) { self.context = context }

    private var database: AppDatabase { context.database }

    public struct Draft: Sendable {
        public var config: PlanConfig
        public var description: String
        public var creditExtensionDays: Int
        public var trialDays: Int?

        public init(config: PlanConfig, description: String, creditExtensionDays: Int, trialDays: Int?) {
            self.config = config
            self.description = description
            self.creditExtensionDays = creditExtensionDays
            self.trialDays = trialDays
        }

        func validate() throws {
            try config.validate()
            guard (0...3650).contains(creditExtensionDays) else { throw DomainError.invalidArgument("credit_extension must be between 0 and 3650 days") }
            if let trialDays, !(1...3650).contains(trialDays) { throw DomainError.invalidArgument("trial_days must be between 1 and 3650") }
            guard description.count <= 500 else { throw DomainError.invalidArgument("description must be at most 500 characters") }
        }
    }

    /// A plan name is a built-in name, or the id of the tenant it is specific to.
    private static func validateName(_ db: Database, _ name: String) throws {
        guard !name.isEmpty else { throw DomainError.invalidArgument("plan_name is required") }
        guard try Plan.builtIn.contains(name) || Tenant.fetchOne(db, key: name) != nil else {
            throw DomainError.invalidArgument("plan_name must be one of \(Plan.builtIn.joined(separator: ", ")) or a tenant id")
        }
    }

    public func create(name: String, draft: Draft, by actor: AuditActor) async throws -> Plan {
        try draft.validate()
        let now = context.clock.now()
        return try await database.write { db in
            try Self.validateName(db, name)
            guard try Plan.fetchOne(db, key: name) == nil else { throw DomainError.alreadyExists("plan \(name) already exists") }
            let isTrial = Plan.trialPlans.contains(name)
            let plan = Plan(
                name: name, config: draft.config, description: draft.description.isEmpty ? name : draft.description,
                creditExtensionDays: draft.creditExtensionDays, trialDays: isTrial ? (draft.trialDays ?? 14) : nil,
                firstUsedAt: nil, createdAt: now, updatedAt: now
            )
            try plan.insert(db)
            try Alerts.forgetLevels(db)
            try AuditLog.record(
                db, actor: actor, action: "plan.create", targetType: "plan", targetId: name, tenantId: Plan.builtIn.contains(name) ? nil : name, before: AuditLog.nothing, after: plan, at: now)
            return plan
        }
    }

    public func get(name: String) throws -> Plan {
        guard let plan = try database.read({ try Plan.fetch($0, name: name) }) else { throw DomainError.notFound("no plan \(name)") }
        return plan
    }

    /// The built-in plans in their usual order, then tenant-specific ones by age.
    public func list() throws -> [Plan] {
        let plans = try database.read { db in try Plan.order(Plan.Columns.createdAt, Plan.Columns.name).fetchAll(db) }
        let rank = { (plan: Plan) in Plan.builtIn.firstIndex(of: plan.name) ?? Plan.builtIn.count }
        return plans.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
    }

    /// What an update changes: a field left nil keeps its value.
    public struct Changes: Sendable {
        public var config: PlanConfig?
        public var description: String?
        public var creditExtensionDays: Int?
        public var trialDays: Int?

        public init(config: PlanConfig?, description: String?, creditExtensionDays: Int?, trialDays: Int?) {
            self.config = config
            self.description = description
            self.creditExtensionDays = creditExtensionDays
            self.trialDays = trialDays
        }
    }

    /// Changes a plan; grants already made keep their amounts and expiries.
    public func update(name: String, changes: Changes, by actor: AuditActor) async throws -> Plan {
        let now = context.clock.now()
        return try await database.write { db in
            guard var plan = try Plan.fetch(db, name: name) else { throw DomainError.notFound("no plan \(name)") }
            let before = plan
            if let config = changes.config { plan.config = config }
            if let description = changes.description, !description.isEmpty { plan.description = description }
            if let days = changes.creditExtensionDays { plan.creditExtensionDays = days }
            if plan.isTrial, let days = changes.trialDays { plan.trialDays = days }
            try Draft(config: plan.config, description: plan.description, creditExtensionDays: plan.creditExtensionDays, trialDays: plan.trialDays).validate()
            plan.updatedAt = now
            try plan.update(db)
            // Alert levels come from plans' thresholds: worked out again at the next debit.
            try Alerts.forgetLevels(db)
            try AuditLog.record(db, actor: actor, action: "plan.update", targetType: "plan", targetId: name, before: before, after: plan, at: now)
            return plan
        }
    }

    /// Deletes a plan no subscription has used; built-in plans stay (they can be changed).
    public func delete(name: String, by actor: AuditActor) async throws {
        let now = context.clock.now()
        let newTenantPlan = context.settings.newTenantPlan
        try await database.write { db in
            guard let plan = try Plan.fetch(db, name: name) else { throw DomainError.notFound("no plan \(name)") }
            guard !plan.hasUsed else { throw DomainError.invalidArgument("plan \(name) has been used by a subscription and cannot be deleted") }
            guard !Plan.builtIn.contains(name), name != newTenantPlan else {
                throw DomainError.invalidArgument("\(name) is a built-in plan: change it instead of deleting it")
            }
            guard try Variant.filter(Variant.Columns.plan == name).fetchCount(db) == 0 else {
                throw DomainError.invalidArgument("plan \(name) has price variants: delete them first")
            }
            try Plan.deleteOne(db, key: name)
            try AuditLog.record(db, actor: actor, action: "plan.delete", targetType: "plan", targetId: name, before: plan, after: AuditLog.nothing, at: now)
        }
    }

    // MARK: - Variants

    public struct VariantDraft: Sendable {
        public var kind: Variant.Kind
        public var plan: String
        public var period: String
        public var category: String
        public var units: Int64
        public var price: String
        public var currency: String
        public var description: String
        public var active: Bool

        public init(kind: Variant.Kind, plan: String, period: String, category: String, units: Int64, price: String, currency: String, description: String, active: Bool) {
            self.kind = kind
            self.plan = plan
            self.period = period
            self.category = category
            self.units = units
            self.price = price
            self.currency = currency
            self.description = description
            self.active = active
        }
    }

    public func createVariant(_ draft: VariantDraft, by actor: AuditActor) async throws -> Variant {
        let now = context.clock.now()
        return try await database.write { db in
            let variant = try Self.variant(from: draft, id: Secrets.identifier("var"), createdAt: now, now: now, db)
            try variant.insert(db)
            try AuditLog.record(db, actor: actor, action: "variant.create", targetType: "variant", targetId: variant.id, before: AuditLog.nothing, after: variant, at: now)
            return variant
        }
    }

    public func updateVariant(id: String, _ draft: VariantDraft, by actor: AuditActor) async throws -> Variant {
        let now = context.clock.now()
        return try await database.write { db in
            guard let before = try Variant.fetchOne(db, key: id) else { throw DomainError.notFound("no variant \(id)") }
            guard draft.kind == before.kind else { throw DomainError.invalidArgument("kind cannot change: create another variant") }
            let variant = try Self.variant(from: draft, id: id, createdAt: before.createdAt, now: now, db)
            try variant.update(db)
            try AuditLog.record(db, actor: actor, action: "variant.update", targetType: "variant", targetId: id, before: before, after: variant, at: now)
            return variant
        }
    }

    /// Deletes a variant nothing refers to; one that was sold is deactivated instead.
    public func deleteVariant(id: String, by actor: AuditActor) async throws {
        let now = context.clock.now()
        try await database.write { db in
            guard let variant = try Variant.fetchOne(db, key: id) else { throw DomainError.notFound("no variant \(id)") }
            let sold =
                try Invoice.filter(Invoice.Columns.variantId == id).fetchCount(db) + Subscription.filter(Subscription.Columns.variantId == id).fetchCount(db)
                + (try Int.fetchOne(db, sql: "SELECT count(*) FROM invoice, json_each(invoice.lines) WHERE json_each.value ->> 'variant_id' = ?", arguments: [id]) ?? 0)
            guard sold == 0 else { throw DomainError.invalidArgument("variant \(id) has been sold: deactivate it (active: false) instead") }
            try variant.delete(db)
            try AuditLog.record(db, actor: actor, action: "variant.delete", targetType: "variant", targetId: id, before: variant, after: AuditLog.nothing, at: now)
        }
    }

    public func variant(id: String, activeOnly: Bool) throws -> Variant {
        guard let variant = try database.read({ try Variant.fetchOne($0, key: id) }), !activeOnly || variant.active else {
            throw DomainError.notFound("no variant \(id)")
        }
        return variant
    }

    /// Variants, filtered; users see active ones only.
    public func variants(kind: Variant.Kind?, plan: String? = nil, period: String? = nil, activeOnly: Bool) throws -> [Variant] {
        try database.read { db in
            var request = Variant.order(Variant.Columns.kind, Variant.Columns.plan, Variant.Columns.period, Variant.Columns.category, Variant.Columns.priceMinor)
            if let kind { request = request.filter(Variant.Columns.kind == kind.rawValue) }
            if let plan, !plan.isEmpty { request = request.filter(Variant.Columns.plan == plan) }
            if let period, !period.isEmpty { request = request.filter(Variant.Columns.period == period) }
            if activeOnly { request = request.filter(Variant.Columns.active == true) }
            return try request.fetchAll(db)
        }
    }

    private static func variant(from draft: VariantDraft, id: String, createdAt: Instant, now: Instant, _ db: Database) throws -> Variant {
        let currency = draft.currency.uppercased()
        guard currency.count == 3, currency.allSatisfy({ ("A"..."Z").contains($0) }) else {
            throw DomainError.invalidArgument("currency must be an ISO 4217 code such as USD")
        }
        let price = try Money.minor(fromDecimal: draft.price, currency: currency)
        switch draft.kind {
        case .plan:
            guard let period = BillingPeriod(rawValue: draft.period), period != .notDefined else {
                throw DomainError.invalidArgument("period must be MONTHLY or YEARLY for a plan variant")
            }
            guard let plan = try Plan.fetch(db, name: draft.plan) else { throw DomainError.invalidArgument("plan \(draft.plan) does not exist") }
            guard !plan.isTrial, plan.name != Subscriptions.freePlan else {
                throw DomainError.invalidArgument("\(plan.name) cannot be sold: trials and FREE have no price")
            }
            return Variant(
                id: id, kind: .plan, plan: plan.name, period: period, category: "", units: 0, priceMinor: price, currency: currency,
                description: draft.description, active: draft.active, createdAt: createdAt, updatedAt: now)
        case .addon:
            try PlanConfig.validateCategory(draft.category)
            _ = try Amount.positive(draft.units, field: "units (the credits one add-on buys)")
            if draft.active,
                try Variant.filter(Variant.Columns.kind == "addon" && Variant.Columns.category == draft.category && Variant.Columns.active == true && Variant.Columns.id != id).fetchCount(db) > 0
            {
                throw DomainError.alreadyExists("an active add-on for \(draft.category) exists: deactivate it first")
            }
            return Variant(
                id: id, kind: .addon, plan: "", period: .notDefined, category: draft.category, units: draft.units, priceMinor: price,
                currency: currency, description: draft.description, active: draft.active, createdAt: createdAt, updatedAt: now)
        }
    }
}
