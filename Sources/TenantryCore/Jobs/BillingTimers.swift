import GRDB

/// The timers of subscriptions and credits. Each works in batches, one transaction a batch,
/// so a run killed half-way has committed whole batches only, and the next run picks up
/// what is still due by the stored timestamps.
enum BillingTimers {
    static func jobs(_ context: ServiceContext) -> [any Job] {
        let database = context.database
        let settings = context.settings
        let batchSize = settings.timerBatchSize
        func batched(_ step: @escaping @Sendable (Database, Instant) throws -> Int) -> @Sendable (Instant) async throws -> Int {
            { now in
                var total = 0
                while true {
                    let done = try await database.write { try step($0, now) }
                    total += done
                    if done < batchSize { return total }
                }
            }
        }
        return [
            ClosureJob(
                id: "expireTrials", intervalSeconds: 60,
                body: batched { db, now in
                    try Subscriptions.expireTrials(db, at: now, limit: batchSize)
                }),
            ClosureJob(
                id: "renewPeriods", intervalSeconds: 60,
                body: batched { db, now in
                    try Subscriptions.advancePaid(db, at: now, settings: settings, limit: batchSize)
                }),
            ClosureJob(
                id: "grantAllowances", intervalSeconds: 60,
                body: batched { db, now in
                    try Allowances.grantAllDue(db, at: now, limit: batchSize).entitlements
                }),
            // Before expiry: a grant that rolls over ends at its period's end, and the expiry
            // step then records what was left of it.
            ClosureJob(
                id: "rollOverGrants", intervalSeconds: 60,
                body: batched { db, now in
                    try Rollover.rollDue(db, at: now, limit: batchSize)
                }),
            ClosureJob(id: "expireGrants", intervalSeconds: 60) { now in
                try await database.write { try Ledger.expireGrants($0, at: now) }
            },
            ClosureJob(
                id: "expireHolds", intervalSeconds: 10,
                body: batched { db, now in
                    try Ledger.expireHolds(db, at: now, limit: batchSize)
                }),
            ClosureJob(
                id: "warnTrials", intervalSeconds: 60,
                body: batched { db, now in
                    try Subscriptions.warnEndingTrials(db, at: now, limit: batchSize)
                }),
        ]
    }
}
