import TenantryCore
import TenantryHTTP

/// Plans (operators) and usage reports.
extension RouteBuilder {
    var usageEndpoints: [Endpoint] {
        let app = self.app
        let planBody: Schema = .object([
            ("plan_name", .string()), ("config", .reference("PlanConfig")), ("description", .string()),
            ("credit_extension", .integer()), ("trial_days", .integer(description: "trial plans only; default 14")),
        ])
        let usageAnswer: Schema = .object([
            (
                "config",
                .object(
                    [
                        ("current_plan", .string()), ("usage_configs", .array(.reference("UsageConfig"))), ("dataset_usages", .map(.reference("UsageConfig"))),
                    ] + PlanConfigField.schema.filter { $0.0 != "usage_configs" } + [("updated_at", .dateTime(nullable: true))])
            )
        ])
        return [
            Endpoint(
                "POST", "/v1/usage/plans", operationId: "CreateSubscriptionPlan",
                summary: "Creates a plan: a built-in name, or a tenant id for a tenant-specific plan (used by that tenant's CUSTOM subscription).",
                access: .operatorOnly, body: .json(planBody), answer: .json(.object([("plan", .reference("Plan"))])),
                handler: .offloaded { request, caller in
                    let actor = caller.actor
                    let body = try request.jsonBody()
                    let plan = try await app.plans.create(name: try body.string("plan_name"), draft: try Self.planDraft(body), by: actor)
                    return .ok(["plan": Present.plan(plan)])
                }
            ),
            Endpoint(
                "GET", "/v1/usage/plans", operationId: "ListSubscriptionPlans", summary: "Every plan.", access: .operatorOnly,
                answer: .json(.object([("plans", .array(.reference("Plan")))])),
                handler: .inline { request, caller in
                    return .ok(["plans": .array(try app.plans.list().map(Present.plan))])
                }
            ),
            Endpoint(
                "GET", "/v1/usage/plans/{plan_name}", operationId: "GetSubscriptionPlan", summary: "One plan.", access: .operatorOnly,
                answer: .json(.object([("plan", .reference("Plan"))])),
                handler: .inline { request, caller in
                    return .ok(["plan": Present.plan(try app.plans.get(name: request.parameter("plan_name")))])
                }
            ),
            Endpoint(
                "PUT", "/v1/usage/plans/{plan_name}", operationId: "UpdateSubscriptionPlan",
                summary: "Changes a plan: each top-level field sent replaces its value (config as a whole), one left out keeps it; credits already granted keep their amounts and expiries.",
                access: .operatorOnly,
                body: .json(.object(planBody.properties.filter { $0.0 != "plan_name" })), answer: .json(.object([("plan", .reference("Plan"))])),
                handler: .offloaded { request, caller in
                    let actor = caller.actor
                    let body = try request.jsonBody()
                    let draft = try Self.planDraft(body)
                    let changes = PlanService.Changes(
                        config: body.has("config") ? draft.config : nil, description: body.has("description") ? draft.description : nil,
                        creditExtensionDays: body.has("credit_extension") ? draft.creditExtensionDays : nil, trialDays: draft.trialDays
                    )
                    let plan = try await app.plans.update(name: request.parameter("plan_name"), changes: changes, by: actor)
                    return .ok(["plan": Present.plan(plan)])
                }
            ),
            Endpoint(
                "DELETE", "/v1/usage/plans/{plan_name}", operationId: "DeleteSubscriptionPlan",
                summary: "Deletes a plan no subscription has used (code 3 once has_used); built-in plans are changed, not deleted.",
                access: .operatorOnly, answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await app.plans.delete(name: request.parameter("plan_name"), by: caller.actor)
                    return .empty
                }
            ),
            Endpoint(
                "GET", "/v1/usage/tenants/{tenant_id}/current", operationId: "GetTenantCurrentUsage",
                summary: "The tenant's plan features and, per category, credits used and held by live grants, with the soonest expiry of what is left.",
                access: .tenantUsage, answer: .json(usageAnswer),
                handler: .offloaded { request, caller in
                    let tenantId = request.parameter("tenant_id")
                    let usage = try await app.credits.currentUsage(tenantId: tenantId)
                    guard case .object(var features) = Present.planConfig(usage.config) else { return .empty }
                    features.removeAll { $0.0 == "usage_configs" }
                    let config: [(String, JSON)] =
                        [
                            ("current_plan", .string(usage.plan)), ("usage_configs", .array(usage.categories.map(Present.usage))),
                            ("dataset_usages", .object(usage.datasets.sorted { $0.key < $1.key }.map { ($0.key, Present.usage($0.value)) })),
                        ] + features + [("updated_at", .date(usage.updatedAt))]
                    return .ok(["config": .object(config)])
                }
            ),
            Endpoint(
                "POST", "/v1/usage/tenants/{tenant_id}/agents/credits", operationId: "ListTenantAgentsCreditUsage",
                summary: "Credits each agent used in the current allowance window.", access: .tenantUsage,
                body: .json(.object([("agent_ids", .array(.string()))])), answer: .json(.object([("agent_credits", .map(.int64()))])),
                handler: .offloaded { request, caller in
                    let tenantId = request.parameter("tenant_id")
                    let agents = try request.jsonBody().strings("agent_ids")
                    guard agents.count <= 1000 else { throw DomainError.invalidArgument("at most 1000 agent_ids at once") }
                    let usage = try await app.credits.agentUsage(tenantId: tenantId, agentIds: agents)
                    return .ok(["agent_credits": .object(agents.map { ($0, .int64(usage[$0] ?? 0)) })])
                }
            ),
            Endpoint(
                "GET", "/v1/usage/tenants/{tenant_id}/agents", operationId: "ListTenantAgentsUsage",
                summary: "Every agent that used credits in the current allowance window, most first.", access: .tenantUsage,
                answer: .json(.object([("agents", .array(.object([("agent_id", .string()), ("category", .string()), ("used", .int64())])))])),
                handler: .offloaded { request, caller in
                    let agents = try await app.credits.agents(tenantId: request.parameter("tenant_id"))
                    return .ok(["agents": .array(agents.map { ["agent_id": .string($0.agentId), "category": .string($0.category), "used": .int64($0.used)] })])
                }
            ),
            Endpoint(
                "GET", "/v1/usage/tenants/{tenant_id}/daily", operationId: "GetTenantDailyUsage",
                summary: "Credits debited per UTC day (debits and settled holds), today included, with zeros for quiet days.", access: .tenantUsage,
                query: [("days", "1 to 366 (default 30)")],
                answer: .json(.object([("days", .array(.object([("day", .string(description: "YYYY-MM-DD, UTC")), ("amount", .int64())])))])),
                handler: .offloaded { request, caller in
                    let days = try await app.credits.daily(tenantId: request.parameter("tenant_id"), days: try request.queryInteger("days", default: 30))
                    return .ok(["days": .array(days.map { ["day": .string(String($0.day.rfc3339.prefix(10))), "amount": .int64($0.amount)] })])
                }
            ),
            Endpoint(
                "GET", "/v1/usage/tenants/{tenant_id}/agents/{agent_id}/credits", operationId: "GetTenantAgentCreditUsage",
                summary: "Credits one agent used in the current allowance window.", access: .tenantUsage,
                answer: .json(.object([("credits", .int64())])),
                handler: .offloaded { request, caller in
                    let tenantId = request.parameter("tenant_id")
                    let agent = request.parameter("agent_id")
                    return .ok(["credits": .int64(try await app.credits.agentUsage(tenantId: tenantId, agentIds: [agent])[agent] ?? 0)])
                }
            ),
        ]
    }

    /// A plan's fields from a request, the seed's way (missing fields take defaults).
    static func planDraft(_ body: RequestBody) throws -> PlanService.Draft {
        let config = try body.object("config").map(PlanConfigField.parse) ?? PlanConfig()
        let trialDays = try body.int32("trial_days")
        return PlanService.Draft(
            config: config, description: try body.string("description"), creditExtensionDays: Int(try body.int32("credit_extension")),
            trialDays: body.has("trial_days") ? Int(trialDays) : nil
        )
    }
}

extension Schema {
    /// The properties of an object schema.
    var properties: [(String, Schema)] {
        if case .object(let properties) = self { return properties }
        return []
    }
}
