import GRDB

/// Operators' coupons: create, list, change, deactivate.
public struct CouponService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) { self.context = context }

    private var database: AppDatabase { context.database }

    /// A coupon as an operator writes it (seed 004's CreateBillingCoupon).
    public struct Draft: Sendable {
        public var code: String
        public var discountType: String
        /// A decimal: a percent (`25`, `12.5`) or an amount of `currency` (`10.00`).
        public var discountValue: String
        public var currency: String
        public var maxUses: Int64?
        public var validFrom: Instant?
        public var validUntil: Instant?
        public var applicablePlans: [String]
        public var isActive: Bool

        public init(
            code: String, discountType: String, discountValue: String, currency: String, maxUses: Int64?, validFrom: Instant?, validUntil: Instant?,
            applicablePlans: [String], isActive: Bool
        ) {
            self.code = code
            self.discountType = discountType
            self.discountValue = discountValue
            self.currency = currency
            self.maxUses = maxUses
            self.validFrom = validFrom
            self.validUntil = validUntil
            self.applicablePlans = applicablePlans
            self.isActive = isActive
        }
    }

    /// A coupon with how often it has been used.
    public struct Counted: Sendable {
        public let coupon: Coupon
        public let uses: Int64
    }

    public func list() async throws -> [Counted] {
        try await database.report { db in
            try Coupon.order(Coupon.Columns.createdAt.desc).fetchAll(db).map { Counted(coupon: $0, uses: try Coupon.uses(db, couponId: $0.id)) }
        }
    }

    public func get(id: String) throws -> Counted {
        try database.read { db in
            guard let coupon = try Coupon.fetchOne(db, key: id) else { throw DomainError.notFound("no coupon \(id)") }
            return Counted(coupon: coupon, uses: try Coupon.uses(db, couponId: id))
        }
    }

    public func create(_ draft: Draft, by actor: AuditActor) async throws -> Counted {
        let now = context.clock.now()
        return try await database.write { db in
            let coupon = try Self.coupon(from: draft, id: Secrets.identifier("cpn"), createdAt: now, now: now, db)
            guard try Coupon.withCode(db, coupon.code) == nil else {
                throw DomainError.alreadyExists("a coupon \(coupon.code) exists")
            }
            try coupon.insert(db)
            try AuditLog.record(db, actor: actor, action: "coupon.create", targetType: "coupon", targetId: coupon.id, before: AuditLog.nothing, after: coupon, at: now)
            return Counted(coupon: coupon, uses: 0)
        }
    }

    /// Changes a coupon. Once used, its code and discount stay what the invoices say; its
    /// limit, dates, plans and whether it is active can still change.
    public func update(id: String, _ draft: Draft, by actor: AuditActor) async throws -> Counted {
        let now = context.clock.now()
        return try await database.write { db in
            guard let before = try Coupon.fetchOne(db, key: id) else { throw DomainError.notFound("no coupon \(id)") }
            let coupon = try Self.coupon(from: draft, id: id, createdAt: before.createdAt, now: now, db)
            let uses = try Coupon.uses(db, couponId: id)
            if uses > 0,
                coupon.code != before.code || coupon.discountType != before.discountType || coupon.discountValue != before.discountValue || coupon.currency != before.currency
            {
                throw DomainError.invalidArgument("coupon \(before.code) has been used \(uses) \(uses == 1 ? "time" : "times"): its code and discount stay; deactivate it and create another")
            }
            if let limit = coupon.maxUses, limit < uses { throw DomainError.invalidArgument("max_uses cannot be below the \(uses) uses already made") }
            if try Coupon.withCode(db, coupon.code, excluding: id) != nil {
                throw DomainError.alreadyExists("a coupon \(coupon.code) exists")
            }
            try coupon.update(db)
            try AuditLog.record(db, actor: actor, action: "coupon.update", targetType: "coupon", targetId: id, before: before, after: coupon, at: now)
            return Counted(coupon: coupon, uses: uses)
        }
    }

    /// Deletes a coupon never used; a used one is deactivated instead (code 3 says so).
    public func delete(id: String, by actor: AuditActor) async throws {
        let now = context.clock.now()
        try await database.write { db in
            guard let coupon = try Coupon.fetchOne(db, key: id) else { throw DomainError.notFound("no coupon \(id)") }
            guard try Int.fetchOne(db, sql: "SELECT count(*) FROM invoice WHERE coupon_id = ?", arguments: [id]) == 0 else {
                throw DomainError.invalidArgument("coupon \(coupon.code) is on invoices: deactivate it (is_active: false) instead")
            }
            try coupon.delete(db)
            try AuditLog.record(db, actor: actor, action: "coupon.delete", targetType: "coupon", targetId: id, before: coupon, after: AuditLog.nothing, at: now)
        }
    }

    private static func coupon(from draft: Draft, id: String, createdAt: Instant, now: Instant, _ db: Database) throws -> Coupon {
        let code = draft.code
        guard (1...40).contains(code.count), code.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D || $0 == 0x5F })
        else { throw DomainError.invalidArgument("code must be 1 to 40 letters, digits, - or _") }
        guard let type = Coupon.DiscountType(rawValue: draft.discountType) else { throw DomainError.invalidArgument("discount_type must be percent or fixed") }
        let value: Int64
        var currency = ""
        switch type {
        case .percent:
            // Hundredths of a percent: the same parser as a two-decimal price.
            value = try Money.minor(fromDecimal: draft.discountValue, currency: "USD", field: "discount_value")
            guard (1...10_000).contains(value) else { throw DomainError.invalidArgument("discount_value must be a percent above 0 and at most 100") }
            guard draft.currency.isEmpty else { throw DomainError.invalidArgument("currency is for a fixed discount; a percent has none") }
        case .fixed:
            currency = draft.currency.uppercased()
            guard currency.count == 3, currency.allSatisfy({ ("A"..."Z").contains($0) }) else {
                throw DomainError.invalidArgument("currency must be an ISO 4217 code such as USD for a fixed discount")
            }
            value = try Money.minor(fromDecimal: draft.discountValue, currency: currency, field: "discount_value")
            guard value > 0 else { throw DomainError.invalidArgument("discount_value must be above 0") }
        }
        if let limit = draft.maxUses, limit < 1 { throw DomainError.invalidArgument("max_uses must be at least 1, or absent for no limit") }
        let from = draft.validFrom ?? createdAt
        if let until = draft.validUntil, until <= from { throw DomainError.invalidArgument("valid_until must be after valid_from (\(from.rfc3339))") }
        for plan in draft.applicablePlans {
            guard try Plan.fetch(db, name: plan) != nil else { throw DomainError.invalidArgument("applicable_plans: plan \(plan) does not exist") }
        }
        return Coupon(
            id: id, code: code, discountType: type, discountValue: value, currency: currency, maxUses: draft.maxUses, validFrom: from,
            validUntil: draft.validUntil, applicablePlans: Array(Set(draft.applicablePlans)).sorted(), isActive: draft.isActive, createdAt: createdAt, updatedAt: now)
    }
}
