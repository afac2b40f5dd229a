import GRDB

/// The operator's views across tenants: the dashboard, tenants, users, the audit trail.
public struct AdminService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) { self.context = context }

    var database: AppDatabase { context.database }

    public struct Overview: Sendable {
        public let tenantsByStatus: [(String, Int)]
        public let trialsEnding: [(tenant: Tenant, endAt: Instant)]
        public let paidByPlan: [(plan: String, period: String, count: Int)]
        public let creditsPerDay: [(day: String, amount: Int64)]
        public let openInvoices: [(currency: String, count: Int, totalMinor: Int64)]
        /// Tenants whose balance is at or below an alert threshold that fired in their current window.
        public let tenantsBelowThreshold: Int
    }

    public func overview() async throws -> Overview {
        let now = context.clock.now()
        return try await database.report { db in
            var byStatus = Dictionary(uniqueKeysWithValues: (["NO_SUBSCRIPTION"] + SubscriptionStatus.allCases.map(\.rawValue)).map { ($0, 0) })
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT coalesce(s.status, 'NO_SUBSCRIPTION') AS status, count(*) AS n FROM tenant t
                    LEFT JOIN subscription s ON s.tenant_id = t.id AND s.ended_at IS NULL GROUP BY 1
                    """)
            {
                byStatus[row["status"]] = row["n"]
            }
            let order = ["TRIALING", "ACTIVE", "PAST_DUE", "CANCELED", "EXPIRED", "NO_SUBSCRIPTION"]
            let trials = try Row.fetchAll(
                db,
                sql: """
                    SELECT t.*, s.end_at AS trial_end FROM subscription s JOIN tenant t ON t.id = s.tenant_id
                    WHERE s.ended_at IS NULL AND s.status = 'TRIALING' AND s.end_at <= ? ORDER BY s.end_at LIMIT 200
                    """, arguments: [now.adding(days: 7)]
            ).map { (try Tenant(row: $0), $0["trial_end"] as Instant) }
            let paid = try Row.fetchAll(
                db,
                sql: """
                    SELECT plan, period, count(*) AS n FROM subscription WHERE ended_at IS NULL AND period != 'NOT_DEFINE' GROUP BY plan, period ORDER BY plan, period
                    """
            ).map { ($0["plan"] as String, $0["period"] as String, $0["n"] as Int) }
            let days = try DailyTotals.fetch(
                db, days: 30, endingAt: now,
                sql: """
                    SELECT (created_at - created_at % 86400000) AS day, sum(amount) AS total FROM credit_debit WHERE created_at >= ? GROUP BY 1
                    """, arguments: { [$0] }
            ).map { (String($0.day.rfc3339.prefix(10)), $0.amount) }
            let invoices = try Row.fetchAll(db, sql: "SELECT currency, count(*) AS n, sum(total_minor) AS total FROM invoice WHERE status = 'open' GROUP BY currency ORDER BY currency")
                .map { ($0["currency"] as String, $0["n"] as Int, $0["total"] as Int64) }
            let below =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(DISTINCT a.tenant_id) FROM credit_alert a
                        WHERE a.window_start = coalesce((
                                SELECT max(g.effective_at) FROM credit_grant g WHERE g.tenant_id = a.tenant_id AND g.source IN ('plan', 'trial') AND g.effective_at <= ?1), 0)
                          AND (SELECT coalesce(sum(g.amount - g.used), 0) FROM credit_grant g
                               WHERE g.tenant_id = a.tenant_id AND g.category = a.category AND g.expired = 0 AND g.effective_at <= ?1 AND g.expires_at > ?1)
                            - (SELECT coalesce(sum(h.amount), 0) FROM credit_hold h
                               WHERE h.tenant_id = a.tenant_id AND h.category = a.category AND h.status = 'open' AND h.expires_at > ?1) <= a.level
                        """, arguments: [now]) ?? 0
            return Overview(
                tenantsByStatus: order.map { ($0, byStatus[$0] ?? 0) }, trialsEnding: trials, paidByPlan: paid, creditsPerDay: days, openInvoices: invoices,
                tenantsBelowThreshold: below)
        }
    }

    public struct TenantSummary: Sendable {
        public let tenant: Tenant
        public let subscription: Subscription?
        public let members: Int
        public let balances: [(category: String, remaining: Int64)]
    }

    /// Tenants matching a name or member email, a subscription status and a plan, paged.
    public func tenants(query: String, status: String, plan: String, page: Int, limit: Int) async throws -> TenantService.Page<TenantSummary> {
        let paging = try Paging(page: page, limit: limit)
        guard status.isEmpty || status == "NO_SUBSCRIPTION" || SubscriptionStatus(rawValue: status) != nil else {
            throw DomainError.invalidArgument("status must be one of NO_SUBSCRIPTION, \(SubscriptionStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let now = context.clock.now()
        return try await database.report { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            let text = query.trimmingCharacters(in: .whitespaces).lowercased()
            if !text.isEmpty {
                let pattern = "%" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
                conditions.append(
                    """
                    (lower(t.name) LIKE ? ESCAPE '\\' OR t.id = ? OR EXISTS (SELECT 1 FROM membership m JOIN user u ON u.id = m.user_id
                     WHERE m.tenant_id = t.id AND u.email LIKE ? ESCAPE '\\'))
                    """)
                arguments += [pattern, text, pattern]
            }
            if status == "NO_SUBSCRIPTION" {
                conditions.append("s.id IS NULL")
            } else if !status.isEmpty {
                conditions.append("s.status = ?")
                arguments += [status]
            }
            if !plan.isEmpty {
                conditions.append("s.plan = ?")
                arguments += [plan]
            }
            let from = "FROM tenant t LEFT JOIN subscription s ON s.tenant_id = t.id AND s.ended_at IS NULL" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            let total = try Int.fetchOne(db, sql: "SELECT count(*) \(from)", arguments: arguments) ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT t.id \(from) ORDER BY t.created_at DESC, t.id LIMIT ? OFFSET ?", arguments: arguments + [limit, paging.offset])
            let items = try rows.map { row -> TenantSummary in
                let id: String = row["id"]
                return try summary(db, tenantId: id, now: now)
            }
            return TenantService.Page(items: items, page: page, limit: limit, total: total)
        }
    }

    private func summary(_ db: Database, tenantId: String, now: Instant) throws -> TenantSummary {
        guard let tenant = try Tenant.fetchOne(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
        return TenantSummary(
            tenant: tenant, subscription: try Subscription.live(db, tenantId: tenantId),
            members: try Membership.filter(Membership.Columns.tenantId == tenantId).fetchCount(db),
            balances: try Ledger.balances(db, tenantId: tenantId, at: now)
        )
    }

    public struct TenantDetail: Sendable {
        public let summary: TenantSummary
        public let members: [TenantService.MemberView]
        public let subscriptions: [Subscription]
        public let grants: [CreditGrant]
        public let agents: [(agentId: String, used: Int64)]
        public let invoices: [Invoice]
        public let keys: [ApiKey]
    }

    public func tenant(id: String) async throws -> TenantDetail {
        let now = context.clock.now()
        return try await database.report { db in
            let summary = try summary(db, tenantId: id, now: now)
            let members = try Row.fetchAll(
                db,
                sql: """
                    SELECT user.email, user.name, user.status, membership.role, membership.joined_at FROM membership JOIN user ON user.id = membership.user_id
                    WHERE membership.tenant_id = ? ORDER BY membership.joined_at
                    """, arguments: [id]
            ).map {
                TenantService.MemberView(email: $0["email"], name: $0["name"], role: Role(rawValue: $0["role"]) ?? .member, status: $0["status"], joinedAt: $0["joined_at"])
            }
            let agents = try Row.fetchAll(
                db,
                sql: """
                    SELECT subject, sum(amount) AS used FROM usage_total WHERE tenant_id = ? AND dimension = 'agent' GROUP BY subject ORDER BY used DESC, subject LIMIT 100
                    """, arguments: [id]
            ).map { ($0["subject"] as String, $0["used"] as Int64) }
            return TenantDetail(
                summary: summary, members: members,
                subscriptions: try Subscription.filter(Subscription.Columns.tenantId == id).order(Subscription.Columns.startAt.desc, Subscription.Columns.createdAt.desc).fetchAll(db),
                grants: try Ledger.liveGrants(db, tenantId: id, at: now), agents: agents,
                invoices: try Invoice.filter(Invoice.Columns.tenantId == id).order(Invoice.Columns.createdAt.desc).limit(100).fetchAll(db),
                keys: try ApiKey.filter(ApiKey.Columns.tenantId == id).order(ApiKey.Columns.createdAt.desc).fetchAll(db)
            )
        }
    }

    public func tenantExists(_ id: String) throws -> Bool {
        try database.read { try Tenant.exists($0, key: id) }
    }

    public func users(query: String, page: Int, limit: Int) async throws -> TenantService.Page<User> {
        let paging = try Paging(page: page, limit: limit)
        return try await database.report { db in
            var request = User.all()
            let text = query.trimmingCharacters(in: .whitespaces).lowercased()
            if !text.isEmpty {
                request = request.filter(User.Columns.email.like("%\(text)%") || User.Columns.name.like("%\(text)%") || User.Columns.id == text)
            }
            let total = try request.fetchCount(db)
            let users = try request.order(User.Columns.createdAt.desc, User.Columns.id).limit(limit, offset: paging.offset).fetchAll(db)
            return TenantService.Page(items: users, page: page, limit: limit, total: total)
        }
    }

    /// Disables a user (their sessions end at once) or enables them again.
    public func setUserStatus(id: String, status: String, by actor: AuditActor) async throws -> User {
        guard status == User.Status.active.rawValue || status == User.Status.disabled.rawValue else {
            throw DomainError.invalidArgument("status must be ACTIVE or DISABLED")
        }
        let now = context.clock.now()
        return try await database.write { db in
            guard var user = try User.fetchOne(db, key: id) else { throw DomainError.notFound("no user \(id)") }
            guard user.id != actor.id else { throw DomainError.invalidArgument("operators cannot disable themselves") }
            let before = user.redacted
            if status == User.Status.disabled.rawValue {
                user.status = .disabled
                try db.execute(sql: "UPDATE session SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", arguments: [now, id])
            } else if user.status == .disabled {
                user.status = user.passwordHash == nil ? .uninitialized : .active
            }
            user.updatedAt = now
            try user.update(db)
            try AuditLog.record(db, actor: actor, action: "user.status", targetType: "user", targetId: id, before: before, after: user.redacted, at: now)
            return user
        }
    }

    public func audit(action: String, actor: String, targetType: String, targetId: String, tenantId: String, page: Int, limit: Int) async throws -> TenantService.Page<AuditEntry> {
        let paging = try Paging(page: page, limit: limit)
        return try await database.report { db in
            var request = AuditEntry.all()
            if !action.isEmpty { request = request.filter(AuditEntry.Columns.action == action || AuditEntry.Columns.action.like("\(action).%")) }
            if !actor.isEmpty { request = request.filter(AuditEntry.Columns.actorEmail == actor.lowercased() || AuditEntry.Columns.actorId == actor) }
            if !targetType.isEmpty { request = request.filter(AuditEntry.Columns.targetType == targetType) }
            if !targetId.isEmpty { request = request.filter(AuditEntry.Columns.targetId == targetId) }
            if !tenantId.isEmpty { request = request.filter(AuditEntry.Columns.tenantId == tenantId) }
            let total = try request.fetchCount(db)
            let entries = try request.order(AuditEntry.Columns.seq.desc).limit(limit, offset: paging.offset).fetchAll(db)
            return TenantService.Page(items: entries, page: page, limit: limit, total: total)
        }
    }
}

extension User {
    /// The user as the audit trail keeps it (no password hash).
    var redacted: User {
        var copy = self
        copy.passwordHash = passwordHash == nil ? nil : "$argon2id$redacted"
        return copy
    }
}
