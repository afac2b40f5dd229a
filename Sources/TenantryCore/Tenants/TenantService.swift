import Foundation
import GRDB

/// Tenants, their members and invitations, seen from a member's session.
public struct TenantService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) {
        self.context = context
    }

    private var database: AppDatabase { context.database }

    /// A tenant as one of its members sees it.
    public struct TenantView: Sendable, Equatable {
        public let id: String
        public let name: String
        public let role: Role
        public let isCurrent: Bool
        public let createdAt: Instant
    }

    public struct Page<Item: Sendable>: Sendable {
        public let items: [Item]
        public let page: Int
        public let limit: Int
        public let total: Int
        public var hasMore: Bool { page * limit < total }
    }

    /// Creates a tenant owned by `owner`, with its starting subscription.
    static func createTenant(_ db: Database, name: String, owner: String, now: Instant, settings: Settings) throws -> Tenant {
        let tenant = Tenant(id: Secrets.identifier("tnt"), name: String(name.prefix(200)), createdAt: now, updatedAt: now)
        try tenant.insert(db)
        try Membership(tenantId: tenant.id, userId: owner, role: .owner, joinedAt: now).insert(db)
        try WebhookEvents.emit(db, "tenant.created", [("tenant_id", tenant.id), ("name", tenant.name)], at: now)
        try Subscriptions.startNewTenant(db, tenantId: tenant.id, at: now, settings: settings)
        return tenant
    }

    public func list(_ principal: Principal, page: Int, limit: Int) throws -> Page<TenantView> {
        let paging = try Paging(page: page, limit: limit)
        return try database.read { db in
            let total = try Membership.filter(Membership.Columns.userId == principal.user.id).fetchCount(db)
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT tenant.*, membership.role FROM membership JOIN tenant ON tenant.id = membership.tenant_id
                    WHERE membership.user_id = ? ORDER BY membership.joined_at, tenant.id LIMIT ? OFFSET ?
                    """, arguments: [principal.user.id, limit, paging.offset])
            let items = try rows.map { row in
                let tenant = try Tenant(row: row)
                return TenantView(id: tenant.id, name: tenant.name, role: Role(rawValue: row["role"]) ?? .member, isCurrent: tenant.id == principal.tenantId, createdAt: tenant.createdAt)
            }
            return Page(items: items, page: page, limit: limit, total: total)
        }
    }

    /// The role of a user in a tenant, or nil when they are not a member.
    public func role(of userId: String, in tenantId: String) throws -> Role? {
        try database.read { try Membership.fetchOne($0, key: ["tenant_id": tenantId, "user_id": userId])?.role }
    }

    public func current(_ principal: Principal) throws -> TenantView {
        let tenantId = try principal.tenant(atLeast: .member)
        return try database.read { db in
            guard let tenant = try Tenant.fetchOne(db, key: tenantId) else { throw DomainError.notFound("tenant not found") }
            return TenantView(id: tenant.id, name: tenant.name, role: principal.role ?? .member, isCurrent: true, createdAt: tenant.createdAt)
        }
    }

    /// Makes `tenantId` the session's current tenant; only a tenant the user belongs to.
    public func switchTenant(_ principal: Principal, to tenantId: String) async throws -> TenantView {
        guard !tenantId.isEmpty else { throw DomainError.invalidArgument("tenant_id is required") }
        return try await database.write { db in
            guard let membership = try Membership.fetchOne(db, key: ["tenant_id": tenantId, "user_id": principal.user.id]),
                let tenant = try Tenant.fetchOne(db, key: tenantId)
            else { throw DomainError.notFound("tenant \(tenantId) not found among your tenants") }
            try db.execute(sql: "UPDATE session SET current_tenant_id = ? WHERE id = ?", arguments: [tenantId, principal.sessionId])
            return TenantView(id: tenant.id, name: tenant.name, role: membership.role, isCurrent: true, createdAt: tenant.createdAt)
        }
    }

    // MARK: - Members

    public struct MemberView: Sendable, Equatable {
        public let email: String
        public let name: String
        public let role: Role
        /// The user's status, or `INVITED` for an invitation not yet accepted.
        public let status: String
        public let joinedAt: Instant
    }

    /// The current tenant's members, then its pending invitations.
    public func members(_ principal: Principal) throws -> [MemberView] {
        let tenantId = try principal.tenant(atLeast: .member)
        let now = context.clock.now()
        return try database.read { db in
            let members = try Row.fetchAll(
                db,
                sql: """
                    SELECT user.email, user.name, user.status, membership.role, membership.joined_at
                    FROM membership JOIN user ON user.id = membership.user_id
                    WHERE membership.tenant_id = ? ORDER BY membership.joined_at, user.email
                    """, arguments: [tenantId]
            ).map { row in
                MemberView(email: row["email"], name: row["name"], role: Role(rawValue: row["role"]) ?? .member, status: row["status"], joinedAt: row["joined_at"])
            }
            let invited = try Self.pendingInvites(db, tenantId: tenantId, now: now).map {
                MemberView(email: $0.email, name: "", role: $0.role, status: "INVITED", joinedAt: $0.createdAt)
            }
            return members + invited
        }
    }

    public struct InviteRequest: Sendable {
        public let email: String
        public let role: String
        public init(email: String, role: String) {
            self.email = email
            self.role = role
        }
    }

    public struct InviteResult: Sendable, Equatable {
        /// `SC_OK`, or `SC_` and the seed's name of the error that refused this address.
        public let status: String
        public let email: String
        public let message: String
        public let invitedURL: String
    }

    public static let maximumInvitesPerRequest = 50

    /// Invites each address (one result each): an emailed, single-use link that expires.
    /// Inviting an address again replaces its earlier link.
    public func invite(_ principal: Principal, _ requests: [InviteRequest]) async throws -> [InviteResult] {
        let tenantId = try principal.tenant(atLeast: .admin)
        let actorRole = principal.role ?? .member
        guard !requests.isEmpty else { throw DomainError.invalidArgument("members must list at least one address") }
        guard requests.count <= Self.maximumInvitesPerRequest else {
            throw DomainError.invalidArgument("at most \(Self.maximumInvitesPerRequest) members per request")
        }
        let now = context.clock.now()
        let settings = context.settings
        let mailer = context.mailer
        let baseURL = context.url("/invite?token=")
        let inviter = principal.user
        return try await database.write { db in
            guard let tenant = try Tenant.fetchOne(db, key: tenantId) else { throw DomainError.notFound("tenant not found") }
            var results: [InviteResult] = []
            for request in requests {
                do {
                    // A refused address changes nothing: its writes roll back with its savepoint.
                    var result: InviteResult?
                    try db.inSavepoint {
                        result = try Self.inviteOne(
                            db, request, tenant: tenant, inviter: inviter, actorRole: actorRole, now: now, settings: settings, mailer: mailer, baseURL: baseURL
                        )
                        return .commit
                    }
                    if let result { results.append(result) }
                } catch let error as DomainError {
                    results.append(InviteResult(status: error.statusName, email: request.email, message: error.message, invitedURL: ""))
                }
            }
            return results
        }
    }

    private static func inviteOne(
        _ db: Database, _ request: InviteRequest, tenant: Tenant, inviter: User, actorRole: Role, now: Instant, settings: Settings, mailer: Mailer, baseURL: String
    ) throws -> InviteResult {
        let email = try EmailAddress.normalize(request.email)
        let role = request.role.isEmpty ? Role.member : try Role.parse(request.role)
        guard role <= actorRole else { throw DomainError.permissionDenied("only an owner can invite an owner") }
        if let user = try User.withEmail(email, db), try Membership.fetchOne(db, key: ["tenant_id": tenant.id, "user_id": user.id]) != nil {
            throw DomainError.alreadyExists("\(email) is already a member")
        }
        // Inviting again replaces the earlier link (which frees its seat for the limit).
        try db.execute(
            sql: "UPDATE invite SET revoked_at = ? WHERE tenant_id = ? AND email = ? AND accepted_at IS NULL AND revoked_at IS NULL",
            arguments: [now, tenant.id, email]
        )
        try checkTeamLimit(db, tenantId: tenant.id, now: now, adding: 1)
        let token = Secrets.token(Invite.tokenPrefix)
        let expiresAt = now.adding(seconds: settings.inviteLifetimeSeconds)
        try Invite(
            id: Secrets.identifier("inv"), tenantId: tenant.id, email: email, role: role, tokenHash: Secrets.sha256(token),
            invitedBy: inviter.id, createdAt: now, expiresAt: expiresAt, acceptedAt: nil, revokedAt: nil
        ).insert(db)
        let url = baseURL + token
        try mailer.enqueue(
            db, to: email,
            Emails.invitation(tenantName: tenant.name, inviterName: inviter.name.isEmpty ? inviter.email : inviter.name, role: role.rawValue, days: settings.inviteLifetimeSeconds / 86_400),
            secret: url, secretExpiresAt: expiresAt
        )
        return InviteResult(status: "SC_OK", email: email, message: "", invitedURL: url)
    }

    public struct InviteDetails: Sendable {
        public let email: String
        public let tenantId: String
    }

    public func checkInvite(token: String) throws -> InviteDetails {
        guard !token.isEmpty else { throw DomainError.invalidArgument("invite_token is required") }
        let now = context.clock.now()
        return try database.read { db in
            let invite = try Self.usableInvite(db, token: token, now: now)
            return InviteDetails(email: invite.email, tenantId: invite.tenantId)
        }
    }

    public struct Acceptance: Sendable {
        public let email: String
        public let password: String
        public let tenantId: String
        public let inviteToken: String
        public let fromLink: String
        public let country: String
        public init(email: String, password: String, tenantId: String, inviteToken: String, fromLink: String, country: String) {
            self.email = email
            self.password = password
            self.tenantId = tenantId
            self.inviteToken = inviteToken
            self.fromLink = fromLink
            self.country = country
        }
    }

    /// Joins the invitation's tenant and logs in. An existing user proves it is them with
    /// their password; a new user is created (active) with the password given.
    public func acceptInvite(_ acceptance: Acceptance, client: String) async throws -> String {
        guard !acceptance.inviteToken.isEmpty else { throw DomainError.invalidArgument("invite_token is required") }
        let now = context.clock.now()
        let invite = try database.read { try Self.usableInvite($0, token: acceptance.inviteToken, now: now) }
        if !acceptance.email.isEmpty, try EmailAddress.normalize(acceptance.email) != invite.email {
            throw DomainError.permissionDenied("this invitation was sent to another address")
        }
        if !acceptance.tenantId.isEmpty, acceptance.tenantId != invite.tenantId {
            throw DomainError.invalidArgument("tenant_id does not match the invitation")
        }
        let existing = try database.read { try User.withEmail(invite.email, $0) }
        var newPasswordHash: String?
        if let existing {
            guard try await context.checkPassword(acceptance.password, against: existing.passwordHash, email: existing.email, client: client) else {
                throw DomainError.unauthenticated("invalid email or password")
            }
            guard existing.status != .disabled else { throw DomainError.permissionDenied("this account is disabled") }
        } else {
            try PasswordHasher.validate(acceptance.password)
            newPasswordHash = try await context.hasher.hash(acceptance.password)
        }
        let settings = context.settings
        return try await database.write { [newPasswordHash] db in
            try db.execute(sql: "UPDATE invite SET accepted_at = ? WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL", arguments: [now, invite.id])
            guard db.changesCount == 1 else { throw DomainError.notFound("this invitation is invalid, used or expired") }
            let userId: String
            if let user = try User.withEmail(invite.email, db) {
                userId = user.id
            } else {
                guard let newPasswordHash else { throw DomainError.alreadyExists("an account with this email was just created; accept again with its password") }
                var user = User.new(email: invite.email, name: EmailAddress.defaultName(invite.email), status: .active, passwordHash: newPasswordHash, now: now)
                user.fromLink = String(acceptance.fromLink.prefix(2048))
                user.country = String(acceptance.country.prefix(64))
                try user.insert(db)
                userId = user.id
            }
            if try Membership.fetchOne(db, key: ["tenant_id": invite.tenantId, "user_id": userId]) == nil {
                // The accepted invite no longer counts as pending; the new member does.
                try Self.checkTeamLimit(db, tenantId: invite.tenantId, now: now, adding: 1)
                try Membership(tenantId: invite.tenantId, userId: userId, role: invite.role, joinedAt: now).insert(db)
                try WebhookEvents.emit(
                    db, "member.added", [("tenant_id", invite.tenantId), ("user_id", userId), ("email", invite.email), ("role", invite.role.rawValue)], at: now)
            }
            return try AccountService.issueSession(db, userId: userId, tenantId: invite.tenantId, client: client, now: now, settings: settings).token
        }
    }

    /// Removes a member (or withdraws a pending invitation) by email.
    public func removeMember(_ principal: Principal, email rawEmail: String) async throws {
        let tenantId = try principal.tenant(atLeast: .admin)
        let email = try EmailAddress.normalize(rawEmail)
        let actorRole = principal.role ?? .member
        let now = context.clock.now()
        try await database.write { db in
            try db.execute(
                sql: "UPDATE invite SET revoked_at = ? WHERE tenant_id = ? AND email = ? AND accepted_at IS NULL AND revoked_at IS NULL",
                arguments: [now, tenantId, email]
            )
            let withdrewInvite = db.changesCount > 0
            guard let user = try User.withEmail(email, db),
                let membership = try Membership.fetchOne(db, key: ["tenant_id": tenantId, "user_id": user.id])
            else {
                if withdrewInvite { return }
                throw DomainError.notFound("\(email) is not a member of this tenant")
            }
            if membership.role == .owner {
                guard actorRole == .owner else { throw DomainError.permissionDenied("only an owner can remove an owner") }
                try Self.requireAnotherOwner(db, tenantId: tenantId)
            }
            _ = try membership.delete(db)
            try WebhookEvents.emit(db, "member.removed", [("tenant_id", tenantId), ("user_id", user.id), ("email", user.email), ("role", membership.role.rawValue)], at: now)
            try db.execute(sql: "UPDATE session SET current_tenant_id = NULL WHERE user_id = ? AND current_tenant_id = ?", arguments: [user.id, tenantId])
        }
    }

    public func changeRole(_ principal: Principal, email rawEmail: String, role rawRole: String) async throws {
        let tenantId = try principal.tenant(atLeast: .admin)
        let email = try EmailAddress.normalize(rawEmail)
        let role = try Role.parse(rawRole)
        let actorRole = principal.role ?? .member
        try await database.write { db in
            guard let user = try User.withEmail(email, db),
                var membership = try Membership.fetchOne(db, key: ["tenant_id": tenantId, "user_id": user.id])
            else { throw DomainError.notFound("\(email) is not a member of this tenant") }
            guard membership.role != role else { return }
            if (role == .owner || membership.role == .owner) && actorRole != .owner {
                throw DomainError.permissionDenied("only an owner can make or unmake an owner")
            }
            if membership.role == .owner { try Self.requireAnotherOwner(db, tenantId: tenantId) }
            membership.role = role
            try membership.update(db)
        }
    }

    // MARK: - Shared steps

    private static func requireAnotherOwner(_ db: Database, tenantId: String) throws {
        let owners = try Membership.filter(Membership.Columns.tenantId == tenantId && Membership.Columns.role == Role.owner.rawValue).fetchCount(db)
        guard owners > 1 else {
            throw DomainError.invalidArgument("a tenant needs at least one owner: make another member an owner first")
        }
    }

    private static func pendingInvites(_ db: Database, tenantId: String, now: Instant) throws -> [Invite] {
        try Invite.filter(Invite.Columns.tenantId == tenantId && Invite.Columns.acceptedAt == nil && Invite.Columns.revokedAt == nil && Invite.Columns.expiresAt > now)
            .order(Invite.Columns.createdAt).fetchAll(db)
    }

    private static func usableInvite(_ db: Database, token: String, now: Instant) throws -> Invite {
        guard let invite = try Invite.filter(Invite.Columns.tokenHash == Secrets.sha256(token)).fetchOne(db),
            invite.acceptedAt == nil, invite.revokedAt == nil, invite.expiresAt > now
        else { throw DomainError.notFound("this invitation is invalid, used or expired") }
        return invite
    }

    /// Refuses growth past the plan's `team_members`, counting members and pending invites.
    private static func checkTeamLimit(_ db: Database, tenantId: String, now: Instant, adding: Int) throws {
        guard let limit = try Subscriptions.teamMemberLimit(db, tenantId: tenantId) else { return }
        let members = try Membership.filter(Membership.Columns.tenantId == tenantId).fetchCount(db)
        let pending = try pendingInvites(db, tenantId: tenantId, now: now).count
        guard members + pending + adding <= limit else {
            throw DomainError.resourceExhausted("the plan allows \(limit) team members")
        }
    }
}
