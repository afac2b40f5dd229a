import TenantryCore
import TenantryHTTP

/// The operator's API behind the console.
extension RouteBuilder {
    var adminEndpoints: [Endpoint] {
        let app = self.app
        let gate = self.gate
        return [
            Endpoint(
                "GET", "/v1/admin/outbox", operationId: "AdminOutboxList",
                summary: "Queued and sent emails, newest first (the log transport's inbox).", access: .operatorOnly,
                query: [("to", "only emails to this address"), ("limit", "how many, 1 to 500 (default 100)")],
                answer: .json(.object([("emails", .array(.reference("OutboxEmail")))])),
                handler: .inline { request in
                    _ = try gate.operatorSession(request)
                    let limit = try request.queryInteger("limit", default: 100)
                    guard (1...500).contains(limit) else { throw DomainError.invalidArgument("limit must be between 1 and 500") }
                    let to = request.query["to"].flatMap { $0.isEmpty ? nil : $0 }
                    let emails = try app.outbox(limit: limit, recipient: to)
                    return .ok(["emails": .array(emails.map { entry in
                        [
                            "id": .string(entry.email.id), "to": .string(entry.email.recipient), "subject": .string(entry.email.subject),
                            "body": .string(entry.body), "status": .string(entry.email.status.rawValue), "created_at": .date(entry.email.createdAt),
                        ]
                    })])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/jobs", operationId: "AdminJobList",
                summary: "Each timer: last run, next run, last result, items processed.", access: .operatorOnly,
                answer: .json(.object([("jobs", .array(.reference("Job")))])),
                handler: .inline { request in
                    _ = try gate.operatorSession(request)
                    return .ok(["jobs": .array(try app.scheduler.statuses().map { status in
                        [
                            "id": .string(status.id), "interval_seconds": .int64(status.intervalSeconds),
                            "last_started_at": .date(status.state.lastStartedAt), "last_finished_at": .date(status.state.lastFinishedAt),
                            "last_result": .string(status.state.lastResult.rawValue), "last_error": .string(status.state.lastError ?? ""),
                            "items_processed": .int64(status.state.itemsProcessed), "next_run_at": .date(status.state.nextRunAt),
                        ]
                    })])
                }
            ),
        ]
    }
}
