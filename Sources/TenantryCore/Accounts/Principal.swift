/// Who is calling: an authenticated session, its user, and its current tenant.
public struct Principal: Sendable {
    public let sessionId: String
    public let user: User
    public let tenantId: String?
    public let role: Role?
    /// The session has not been marked as used for a while.
    public let isStale: Bool

    public var isOperator: Bool { user.isOperator }

    /// The current tenant, if the session's user holds at least `role` in it.
    public func tenant(atLeast required: Role) throws -> String {
        guard let tenantId, let role else {
            throw DomainError.notFound("you are not a member of any tenant")
        }
        guard role >= required else {
            throw DomainError.permissionDenied("this needs the \(required.rawValue) role in the current tenant; you are \(role.rawValue)")
        }
        return tenantId
    }
}
