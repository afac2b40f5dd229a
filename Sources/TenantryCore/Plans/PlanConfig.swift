import Foundation

/// A plan's configuration, field for field the seed's `SubscriptionConfig`.
public struct PlanConfig: Codable, Sendable, Equatable {
    public struct Allowance: Codable, Sendable, Equatable {
        public var category: String
        public var totalAmount: Int64

        public init(category: String, totalAmount: Int64) {
            self.category = category
            self.totalAmount = totalAmount
        }

        enum CodingKeys: String, CodingKey {
            case category
            case totalAmount = "total_amount"
        }
    }

    /// At a plan grant's period end, `percent` of what it has left (at most `maxAmount`,
    /// 0 for no cap) continues as a rollover grant valid `validDays` (0: the next month plus
    /// the plan's credit extension). Percent 0 rolls nothing over.
    public struct Rollover: Codable, Sendable, Equatable {
        public var percent: Int
        public var maxAmount: Int64
        public var validDays: Int

        public init(percent: Int = 0, maxAmount: Int64 = 0, validDays: Int = 0) {
            self.percent = percent
            self.maxAmount = maxAmount
            self.validDays = validDays
        }

        enum CodingKeys: String, CodingKey {
            case percent
            case maxAmount = "max_amount"
            case validDays = "valid_days"
        }
    }

    /// Alerts fire when this percentage of a period's allowance is used.
    public static let defaultAlertThresholds = [80, 100]

    public var usageConfigs: [Allowance] = []
    public var leadCollections: [String] = []
    public var trainMaterialTypes: [String] = []
    public var leadQualification = false
    public var aiWebWidget = false
    public var magicSpotlight = false
    public var multiLingual = false
    public var conversationInsights = false
    public var analytics = "ANALYTICS_BASIC"
    public var voiceAgent = false
    public var customBrandingFooter = false
    public var integrationTypes: [String] = []
    /// The most members plus pending invitations; `noMemberLimit` for none.
    public var teamMembers = 1
    public static let noMemberLimit = -1
    /// nil: `defaultAlertThresholds`. Beyond the seed's SubscriptionConfig, as is `rollover`.
    public var alertThresholds: [Int]?
    public var rollover: Rollover?

    public init() {}

    public var effectiveAlertThresholds: [Int] { alertThresholds ?? Self.defaultAlertThresholds }

    enum CodingKeys: String, CodingKey {
        case usageConfigs = "usage_configs"
        case leadCollections = "lead_collections"
        case trainMaterialTypes = "train_material_types"
        case leadQualification = "lead_qualification"
        case aiWebWidget = "ai_web_widget"
        case magicSpotlight = "magic_spotlight"
        case multiLingual = "multi_lingual"
        case conversationInsights = "conversation_insights"
        case analytics
        case voiceAgent = "voice_agent"
        case customBrandingFooter = "custom_branding_footer"
        case integrationTypes = "integration_types"
        case teamMembers = "team_members"
        case alertThresholds = "alert_thresholds"
        case rollover
    }

    /// Usage categories are `USAGE_[A-Z0-9_]+`; `USAGE_UNKNOWN` is the unset value.
    public static func validateCategory(_ category: String, field: String = "category") throws {
        try validateEnumValue(category, prefix: "USAGE_", field: field)
    }

    /// Enumerations of the seed are open here but must be well-formed: `PREFIX[A-Z0-9_]+`,
    /// never the `…_UNKNOWN` unset value.
    static func validateEnumValue(_ value: String, prefix: String, field: String) throws {
        let suffix = value.dropFirst(prefix.count)
        guard value.hasPrefix(prefix), !suffix.isEmpty, value.count <= 64,
            suffix.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        else { throw DomainError.invalidArgument("\(field) must look like \(prefix)NAME (capitals, digits, _), not \"\(value)\"") }
        guard value != prefix + "UNKNOWN" else { throw DomainError.invalidArgument("\(field) must not be \(value), the unset value") }
    }

    /// Checks every field; the first problem is thrown.
    public func validate() throws {
        var seen: Set<String> = []
        for (index, allowance) in usageConfigs.enumerated() {
            try Self.validateCategory(allowance.category, field: "config.usage_configs[\(index)].category")
            guard seen.insert(allowance.category).inserted else {
                throw DomainError.invalidArgument("config.usage_configs lists \(allowance.category) twice")
            }
            _ = try Amount.nonNegative(allowance.totalAmount, field: "config.usage_configs[\(index)].total_amount")
        }
        for (field, values, prefix) in [
            ("lead_collections", leadCollections, "LEADCOLLECTION_"), ("train_material_types", trainMaterialTypes, "TRAINMAT_"),
            ("integration_types", integrationTypes, "PLATFORM_"),
        ] {
            for (index, value) in values.enumerated() {
                try Self.validateEnumValue(value, prefix: prefix, field: "config.\(field)[\(index)]")
            }
            guard Set(values).count == values.count else { throw DomainError.invalidArgument("config.\(field) lists a value twice") }
        }
        try Self.validateEnumValue(analytics, prefix: "ANALYTICS_", field: "config.analytics")
        if let alertThresholds {
            guard alertThresholds.count <= 20, alertThresholds.allSatisfy({ (1...100).contains($0) }), Set(alertThresholds).count == alertThresholds.count else {
                throw DomainError.invalidArgument("config.alert_thresholds takes at most 20 different percentages, each from 1 to 100")
            }
        }
        if let rollover {
            guard (0...100).contains(rollover.percent) else { throw DomainError.invalidArgument("config.rollover.percent must be between 0 and 100") }
            _ = try Amount.nonNegative(rollover.maxAmount, field: "config.rollover.max_amount")
            guard (0...3650).contains(rollover.validDays) else { throw DomainError.invalidArgument("config.rollover.valid_days must be between 0 and 3650") }
        }
        guard teamMembers == Self.noMemberLimit || (1...100_000).contains(teamMembers) else {
            throw DomainError.invalidArgument("config.team_members must be between 1 and 100000, or -1 for no limit")
        }
    }

    /// The allowance of `category`, 0 when the plan grants none.
    public func allowance(of category: String) -> Int64 {
        usageConfigs.first { $0.category == category }?.totalAmount ?? 0
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
