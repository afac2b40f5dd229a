import GRDB

/// The daemon's own upkeep: delivering mail, dropping what has expired, and keeping the
/// WAL short.
enum Housekeeping {
    static func jobs(_ context: ServiceContext, webhooks: WebhookService) -> [any Job] {
        let database = context.database
        let mailer = context.mailer
        let settings = context.settings
        return [
            ClosureJob(id: "deliverMail", intervalSeconds: 5) { _ in
                try await mailer.dispatchDue(database)
            },
            ClosureJob(id: "deliverWebhooks", intervalSeconds: 2) { _ in
                try await webhooks.dispatchDue()
            },
            ClosureJob(id: "purgeExpired", intervalSeconds: 3600) { now in
                let forgotten = mailer.forgetExpiredSecrets()
                let deleted = try await database.write { db -> Int in
                    // Sessions are kept through their refresh window; codes and invites a day
                    // past expiry, so that a late click still gets a clear "expired" answer.
                    let sessionCutoff = now.adding(seconds: -settings.sessionRefreshWindowSeconds)
                    try db.execute(sql: "DELETE FROM session WHERE expires_at < ? OR revoked_at < ?", arguments: [sessionCutoff, now.adding(days: -1)])
                    var count = db.changesCount
                    try db.execute(sql: "DELETE FROM verification WHERE expires_at < ?", arguments: [now.adding(days: -1)])
                    count += db.changesCount
                    try db.execute(sql: "DELETE FROM invite WHERE expires_at < ? AND accepted_at IS NULL", arguments: [now.adding(days: -30)])
                    count += db.changesCount
                    try db.execute(sql: "DELETE FROM outbox WHERE status IN ('sent', 'failed') AND created_at < ?", arguments: [now.adding(days: -30)])
                    return count + db.changesCount
                }
                return forgotten + deleted + (try await webhooks.purge(at: now))
            },
            ClosureJob(id: "checkpointWAL", intervalSeconds: 300) { _ in
                try database.checkpoint()
            },
        ]
    }
}
