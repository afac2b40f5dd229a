import TenantryCore
import TenantryHTTP

/// Health, metrics, and the console's static files.
extension RouteBuilder {
    var serviceEndpoints: [Endpoint] {
        let app = self.app
        let metrics = self.metrics
        let files = StaticFiles(root: options.publicDirectory)
        let console: Endpoint.Action = .inline { request, _ in
            guard let response = files.response(for: request.parameter("path"), ifNoneMatch: request.header("if-none-match")) else {
                throw DomainError.notFound("no file \(request.path)")
            }
            return response
        }
        return [
            Endpoint(
                "GET", "/healthz", operationId: "Healthz", summary: "Liveness: answers while the process serves.", access: .everyone,
                answer: .json(.object([("status", .string())])),
                handler: .inline { _, _ in .ok(["status": "ok"]) }
            ),
            Endpoint(
                "GET", "/readyz", operationId: "Readyz",
                summary: "Readiness: 200 when the database answers and its newest commit succeeded; 503 (code 14) while writes fail, saying why.",
                access: .everyone, answer: .json(.object([("status", .string())])),
                handler: .inline { _, _ in
                    if let failure = app.database.writer.storageFailure { throw failure }
                    do {
                        try app.database.probe()
                    } catch {
                        throw DomainError.unavailable("the database cannot be read", retryAfterSeconds: 5)
                    }
                    return .ok(["status": "ready"])
                }
            ),
            Endpoint(
                "GET", "/metrics", operationId: "Metrics", summary: "Prometheus text: requests and latencies by route, the writer, the hashing pool.",
                access: .operatorOrLoopback, answer: .raw(contentType: "text/plain; version=0.0.4", description: "Prometheus exposition format"),
                handler: .inline { _, _ in
                    .text(metrics.render() + Self.domainMetrics(app), contentType: "text/plain; version=0.0.4; charset=utf-8")
                }
            ),
            Endpoint(
                "GET", "/", operationId: "ConsoleIndex", summary: "The admin console.", access: .everyone,
                answer: .raw(contentType: "text/html", description: "the console's page"), handler: console
            ),
            page(
                "/invite", "invite.html", in: files, operationId: "InvitePage",
                summary: "The page invitation emails link to (with the default --public-url): it checks the invitation and accepts it."),
            page(
                "/portal", "portal.html", in: files, operationId: "PortalPage",
                summary: "The billing portal for tenant owners and admins: plan, invoices and payment, credits and usage, API keys, members."),
            page("/register/verify", "register.html", in: files, operationId: "RegisterVerifyPage", summary: "The page sign-up emails link to: enter the code, then set a password."),
            page("/password/reset", "reset.html", in: files, operationId: "PasswordResetPage", summary: "The page password-reset emails link to: enter the code, then a new password."),
            Endpoint(
                "GET", "/console/{path...}", operationId: "ConsoleFile", summary: "The console's static files from Public/.", access: .everyone,
                answer: .raw(contentType: "*/*", description: "a file of the console"), handler: console
            ),
        ]
    }

    /// A page of Public/ served at its own path, for the links emails and redirects carry.
    private func page(_ path: String, _ file: String, in files: StaticFiles, operationId: String, summary: String) -> Endpoint {
        Endpoint(
            "GET", path, operationId: operationId, summary: summary, access: .everyone, answer: .raw(contentType: "text/html", description: "the page"),
            handler: .inline { request, caller in
                guard let response = files.response(for: file, ifNoneMatch: request.header("if-none-match")) else {
                    throw DomainError.notFound("no \(file) in the console's files")
                }
                return response
            })
    }

    static func domainMetrics(_ app: Tenantry) -> String {
        let writer = app.database.writer.statistics
        let hashing = app.hasher.statistics
        let mail = app.mailer.statistics
        let hooks = app.webhooks.statistics
        return """
            # HELP tenantry_db_commits_total Group commits of the database writer.
            # TYPE tenantry_db_commits_total counter
            tenantry_db_commits_total \(writer.commits)
            # HELP tenantry_db_writes_total Writes committed (each in its own savepoint).
            # TYPE tenantry_db_writes_total counter
            tenantry_db_writes_total \(writer.writes)
            # HELP tenantry_db_largest_batch Most writes committed in one transaction.
            # TYPE tenantry_db_largest_batch gauge
            tenantry_db_largest_batch \(writer.largestBatch)
            # HELP tenantry_db_failed_commits_total Commits and writes the storage refused (disk full, I/O errors).
            # TYPE tenantry_db_failed_commits_total counter
            tenantry_db_failed_commits_total \(writer.failedCommits)
            # HELP tenantry_mail_sent_total Emails delivered.
            # TYPE tenantry_mail_sent_total counter
            tenantry_mail_sent_total \(mail.delivered)
            # HELP tenantry_mail_failed_total Emails given up on: a permanent refusal, too old to retry, or a lost code.
            # TYPE tenantry_mail_failed_total counter
            tenantry_mail_failed_total \(mail.failed)
            # HELP tenantry_mail_retries_total Delivery attempts that failed and were scheduled again.
            # TYPE tenantry_mail_retries_total counter
            tenantry_mail_retries_total \(mail.retried)
            # HELP tenantry_mail_in_flight Emails being sent now.
            # TYPE tenantry_mail_in_flight gauge
            tenantry_mail_in_flight \(mail.inFlight)
            # HELP tenantry_webhooks_delivered_total Webhook deliveries acknowledged with a 2xx.
            # TYPE tenantry_webhooks_delivered_total counter
            tenantry_webhooks_delivered_total \(hooks.delivered)
            # HELP tenantry_webhooks_failed_total Webhook deliveries given up on.
            # TYPE tenantry_webhooks_failed_total counter
            tenantry_webhooks_failed_total \(hooks.failed)
            # HELP tenantry_webhooks_retries_total Webhook attempts that failed and were scheduled again.
            # TYPE tenantry_webhooks_retries_total counter
            tenantry_webhooks_retries_total \(hooks.retried)
            # HELP tenantry_webhooks_in_flight Webhook deliveries being sent now.
            # TYPE tenantry_webhooks_in_flight gauge
            tenantry_webhooks_in_flight \(hooks.inFlight)
            # HELP tenantry_password_hashes_total Password hashes and checks completed.
            # TYPE tenantry_password_hashes_total counter
            tenantry_password_hashes_total \(hashing.completed)
            # HELP tenantry_password_hashes_refused_total Hashes refused because the queue was full.
            # TYPE tenantry_password_hashes_refused_total counter
            tenantry_password_hashes_refused_total \(hashing.refused)
            # HELP tenantry_password_hash_queue Hashes waiting for a worker.
            # TYPE tenantry_password_hash_queue gauge
            tenantry_password_hash_queue \(hashing.waiting)
            # HELP tenantry_password_hash_memory_ceiling_bytes Most memory the hashing pool can hold at once.
            # TYPE tenantry_password_hash_memory_ceiling_bytes gauge
            tenantry_password_hash_memory_ceiling_bytes \(app.hasher.memoryCeilingKiB * 1024)

            """
    }
}
