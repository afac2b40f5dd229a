import GRDB

/// Plans read once per job run: a run over many tenants decodes each plan once.
final class PlanCache {
    private var plans: [String: Plan?] = [:]

    func effective(_ db: Database, planName: String, tenantId: String) throws -> Plan? {
        let key = planName == "CUSTOM" ? "CUSTOM/\(tenantId)" : planName
        if let cached = plans[key] { return cached }
        let plan = try Plan.effective(db, planName: planName, tenantId: tenantId)
        plans[key] = plan
        return plan
    }
}
