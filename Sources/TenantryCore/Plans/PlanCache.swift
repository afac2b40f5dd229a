import GRDB

/// Plans read once per batch: a timer run over many tenants decodes each plan once, and
/// marks each plan used once.
final class PlanCache {
    private var plans: [String: Plan?] = [:]
    private var marked: Set<String> = []

    func markUsed(_ db: Database, name: String, at now: Instant) throws {
        guard marked.insert(name).inserted else { return }
        try Plan.markUsed(db, name: name, at: now)
    }

    func effective(_ db: Database, planName: String, tenantId: String) throws -> Plan? {
        let key = planName == "CUSTOM" ? "CUSTOM/\(tenantId)" : planName
        if let cached = plans[key] { return cached }
        let plan = try Plan.effective(db, planName: planName, tenantId: tenantId)
        plans[key] = plan
        return plan
    }
}
