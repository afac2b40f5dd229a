import TenantryCore

/// PlanConfig's fields, each written once: its JSON name and schema, how a request sets it
/// (the seed's way: a missing field keeps the default) and how an answer shows it. The
/// document, the presenter and the request parser all read this list.
struct PlanConfigField: Sendable {
    let name: String
    let schema: Schema
    let read: @Sendable (RequestBody, inout PlanConfig) throws -> Void
    let show: @Sendable (PlanConfig) -> JSON

    static let all: [PlanConfigField] = [
        PlanConfigField(
            name: "usage_configs",
            schema: .array(.object([("category", .string(description: "USAGE_[A-Z0-9_]+")), ("total_amount", .int64())])),
            read: { body, config in
                config.usageConfigs = try body.objects("usage_configs").map { .init(category: try $0.string("category"), totalAmount: try $0.int64("total_amount")) }
            },
            show: { .array($0.usageConfigs.map { ["category": .string($0.category), "total_amount": .int64($0.totalAmount)] }) }
        ),
        list("lead_collections", \.leadCollections, prefix: "LEADCOLLECTION_"),
        list("train_material_types", \.trainMaterialTypes, prefix: "TRAINMAT_"),
        flag("lead_qualification", \.leadQualification),
        flag("ai_web_widget", \.aiWebWidget),
        flag("magic_spotlight", \.magicSpotlight),
        flag("multi_lingual", \.multiLingual),
        flag("conversation_insights", \.conversationInsights),
        PlanConfigField(
            name: "analytics", schema: .string(description: "ANALYTICS_[A-Z0-9_]+"),
            // Empty or ANALYTICS_UNKNOWN (a generated client's zero value): not set, the default stays.
            read: { body, config in
                let analytics = try body.string("analytics")
                if !analytics.isEmpty, analytics != "ANALYTICS_UNKNOWN" { config.analytics = analytics }
            },
            show: { .string($0.analytics) }
        ),
        flag("voice_agent", \.voiceAgent),
        flag("custom_branding_footer", \.customBrandingFooter),
        list("integration_types", \.integrationTypes, prefix: "PLATFORM_"),
        PlanConfigField(
            name: "team_members", schema: .integer(description: "the most members plus pending invitations; -1: no limit; 0 or absent: not set (1)"),
            // 0 is a generated client's zero value, so it cannot mean "no limit": -1 does.
            read: { body, config in
                let limit = Int(try body.int32("team_members"))
                if limit != 0 { config.teamMembers = limit }
            },
            show: { .integer($0.teamMembers) }
        ),
        PlanConfigField(
            name: "alert_thresholds", schema: .array(.integer(description: "percent of a period's allowance used; default [80, 100], [] for none")),
            read: { body, config in
                guard body.has("alert_thresholds") else { return }
                config.alertThresholds = try body.array("alert_thresholds").enumerated().map { index, value in
                    guard case .number(let text) = value, let percent = Int(text) else {
                        throw DomainError.invalidArgument("config.alert_thresholds[\(index)] must be an integer percentage")
                    }
                    return percent
                }
            },
            show: { .array($0.effectiveAlertThresholds.map(JSON.integer)) }
        ),
        PlanConfigField(
            name: "rollover",
            schema: .object([
                ("percent", .integer(description: "0 to 100; 0 rolls nothing over")), ("max_amount", .int64(description: "0 for no cap")),
                ("valid_days", .integer(description: "0: the next month plus credit_extension")),
            ]),
            read: { body, config in
                guard let rollover = try body.object("rollover") else { return }
                config.rollover = PlanConfig.Rollover(
                    percent: Int(try rollover.int32("percent")), maxAmount: try rollover.int64("max_amount"), validDays: Int(try rollover.int32("valid_days")))
            },
            show: { config in
                let rollover = config.rollover ?? PlanConfig.Rollover()
                return ["percent": .integer(rollover.percent), "max_amount": .int64(rollover.maxAmount), "valid_days": .integer(rollover.validDays)]
            }
        ),
    ]

    static var schema: [(String, Schema)] { all.map { ($0.name, $0.schema) } }

    static func present(_ config: PlanConfig) -> JSON { .object(all.map { ($0.name, $0.show(config)) }) }

    static func parse(_ body: RequestBody) throws -> PlanConfig {
        var config = PlanConfig()
        for field in all { try field.read(body, &config) }
        return config
    }

    private static func flag(_ name: String, _ path: WritableKeyPath<PlanConfig, Bool> & Sendable) -> PlanConfigField {
        PlanConfigField(name: name, schema: .boolean(), read: { body, config in config[keyPath: path] = try body.bool(name) }, show: { .bool($0[keyPath: path]) })
    }

    private static func list(_ name: String, _ path: WritableKeyPath<PlanConfig, [String]> & Sendable, prefix: String) -> PlanConfigField {
        PlanConfigField(
            name: name, schema: .array(.string(description: "\(prefix)[A-Z0-9_]+")),
            // PREFIX_UNKNOWN is a generated client's zero value: not set, so left out.
            read: { body, config in config[keyPath: path] = try body.strings(name).filter { $0 != prefix + "UNKNOWN" } },
            show: { .array($0[keyPath: path].map(JSON.string)) }
        )
    }
}
