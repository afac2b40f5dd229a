import Foundation
import GRDB
import Logging
import Synchronization

/// How webhooks are delivered.
public struct WebhookSettings: Sendable {
    /// Let endpoints be loopback, private or link-local addresses (off: tests and on-box receivers only).
    public var allowPrivate = false
    /// From 30 s, doubling up to 6 hours, for 3 days.
    public var retry = RetryPolicy(firstDelaySeconds: 30, maximumDelaySeconds: 6 * 3600, maximumAgeSeconds: 3 * 86_400)
    /// An endpoint that has failed without a success for this long is disabled.
    public var disableAfterFailingSeconds: Int64 = 5 * 86_400
    /// Delivery threads.
    public var concurrency = 4
    /// Finished deliveries are kept this long.
    public var retentionDays: Int64 = 30

    public init() {}
}

/// Operators' webhook endpoints, and their deliveries through the delivery engine.
public final class WebhookService: Sendable {
    static let dispatchBatch = 200
    /// A rotated-out secret keeps signing this long.
    static let previousSecretSeconds: Int64 = 86_400

    let context: ServiceContext
    private let engine: DeliveryEngine
    private let sender: WebhookSender
    /// The last dispatch left due deliveries behind: hand more over as the threads free up,
    /// instead of waiting for the job's next run.
    private let moreDue = Atomic<Bool>(false)
    private let refilling = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)

    init(context: ServiceContext) {
        self.context = context
        engine = DeliveryEngine(name: "tenantry-hooks", concurrency: context.settings.webhooks.concurrency, queueLimit: Self.dispatchBatch * 2)
        sender = WebhookSender(allowPrivate: context.settings.webhooks.allowPrivate)
    }

    private var database: AppDatabase { context.database }
    private var settings: WebhookSettings { context.settings.webhooks }

    public var statistics: DeliveryStatistics { engine.statistics }

    // MARK: - Endpoints

    public struct Draft: Sendable {
        public var name: String
        public var url: String
        public var events: [String]
        public var isActive: Bool

        public init(name: String, url: String, events: [String], isActive: Bool) {
            self.name = name
            self.url = url
            self.events = events
            self.isActive = isActive
        }

        func validate(allowPrivate: Bool) throws {
            let name = name.trimmingCharacters(in: .whitespaces)
            guard (1...200).contains(name.count) else { throw DomainError.invalidArgument("name is required (at most 200 characters)") }
            guard url.count <= 2000 else { throw DomainError.invalidArgument("url must be at most 2000 characters") }
            _ = try WebhookSender.target(url, allowPrivate: allowPrivate)
            guard !events.isEmpty else { throw DomainError.invalidArgument("events must list at least one event type (or \"*\" for all)") }
            for event in events where event != "*" && !WebhookEvents.names.contains(event) {
                throw DomainError.invalidArgument("events: unknown event type \(event); GET /v1/admin/webhook-events lists them")
            }
            guard Set(events).count == events.count else { throw DomainError.invalidArgument("events lists an event type twice") }
        }
    }

    public func list() throws -> [Webhook] {
        try database.read { try Webhook.order(Webhook.Columns.createdAt, Webhook.Columns.id).fetchAll($0) }
    }

    public func get(id: String) throws -> Webhook {
        guard let webhook = try database.read({ try Webhook.fetchOne($0, key: id) }) else { throw DomainError.notFound("no webhook \(id)") }
        return webhook
    }

    /// A new endpoint; its secret is in the answer, the only time the API shows it.
    public func create(_ draft: Draft, by actor: AuditActor) async throws -> Webhook {
        try draft.validate(allowPrivate: settings.allowPrivate)
        let now = context.clock.now()
        let webhook = Webhook(
            id: Secrets.identifier("whk"), name: draft.name.trimmingCharacters(in: .whitespaces), url: draft.url, secret: Webhook.newSecret(),
            previousSecret: nil, previousSecretExpiresAt: nil, events: draft.events, isActive: draft.isActive, consecutiveFailures: 0, failingSince: nil,
            createdBy: actor.email, createdAt: now, updatedAt: now, lastTriggeredAt: nil, lastSuccessAt: nil
        )
        try await database.write { db in
            try webhook.insert(db)
            try AuditLog.record(db, actor: actor, action: "webhook.create", targetType: "webhook", targetId: webhook.id, before: AuditLog.nothing, after: webhook.redacted, at: now)
        }
        return webhook
    }

    public func update(id: String, _ draft: Draft, by actor: AuditActor) async throws -> Webhook {
        try draft.validate(allowPrivate: settings.allowPrivate)
        let now = context.clock.now()
        return try await database.write { db in
            guard var webhook = try Webhook.fetchOne(db, key: id) else { throw DomainError.notFound("no webhook \(id)") }
            let before = webhook.redacted
            webhook.name = draft.name.trimmingCharacters(in: .whitespaces)
            webhook.url = draft.url
            webhook.events = draft.events
            if draft.isActive && !webhook.isActive {
                // Turned back on: its failures so far no longer count toward disabling it.
                webhook.consecutiveFailures = 0
                webhook.failingSince = nil
            }
            webhook.isActive = draft.isActive
            webhook.updatedAt = now
            try webhook.update(db)
            try AuditLog.record(db, actor: actor, action: "webhook.update", targetType: "webhook", targetId: id, before: before, after: webhook.redacted, at: now)
            return webhook
        }
    }

    public func delete(id: String, by actor: AuditActor) async throws {
        let now = context.clock.now()
        try await database.write { db in
            guard let webhook = try Webhook.fetchOne(db, key: id) else { throw DomainError.notFound("no webhook \(id)") }
            try webhook.delete(db)
            try AuditLog.record(db, actor: actor, action: "webhook.delete", targetType: "webhook", targetId: id, before: webhook.redacted, after: AuditLog.nothing, at: now)
        }
    }

    /// A new secret; the old one keeps signing for 24 hours, so receivers can switch over.
    public func rotateSecret(id: String, by actor: AuditActor) async throws -> Webhook {
        let now = context.clock.now()
        return try await database.write { db in
            guard var webhook = try Webhook.fetchOne(db, key: id) else { throw DomainError.notFound("no webhook \(id)") }
            webhook.previousSecret = webhook.secret
            webhook.previousSecretExpiresAt = now.adding(seconds: Self.previousSecretSeconds)
            webhook.secret = Webhook.newSecret()
            webhook.updatedAt = now
            try webhook.update(db)
            try AuditLog.record(db, actor: actor, action: "webhook.rotate_secret", targetType: "webhook", targetId: id, before: AuditLog.nothing, after: AuditLog.nothing, at: now)
            return webhook
        }
    }

    // MARK: - Deliveries

    public func deliveries(webhookId: String, page: Int, limit: Int) throws -> TenantService.Page<(delivery: WebhookDelivery, attempts: [WebhookAttempt])> {
        let paging = try Paging(page: page, limit: limit)
        return try database.read { db in
            guard try Webhook.exists(db, key: webhookId) else { throw DomainError.notFound("no webhook \(webhookId)") }
            let request = WebhookDelivery.filter(WebhookDelivery.Columns.webhookId == webhookId)
            let total = try request.fetchCount(db)
            let deliveries = try request.order(WebhookDelivery.Columns.createdAt.desc, WebhookDelivery.Columns.id.desc).limit(limit, offset: paging.offset).fetchAll(db)
            let items = try deliveries.map { delivery in
                (delivery, try WebhookAttempt.filter(WebhookAttempt.Columns.deliveryId == delivery.id).order(WebhookAttempt.Columns.attempt).fetchAll(db))
            }
            return TenantService.Page(items: items, page: page, limit: limit, total: total)
        }
    }

    /// Sends a delivery again, with its id and payload, whatever became of it.
    public func redeliver(deliveryId: String, webhookId: String, by actor: AuditActor) async throws -> WebhookDelivery {
        let now = context.clock.now()
        return try await database.write { db in
            guard var delivery = try WebhookDelivery.fetchOne(db, key: deliveryId), delivery.webhookId == webhookId else {
                throw DomainError.notFound("no delivery \(deliveryId) of webhook \(webhookId)")
            }
            guard delivery.status != .pending else { throw DomainError.invalidArgument("delivery \(deliveryId) is still being tried") }
            delivery.status = .pending
            delivery.nextRetryAt = now
            delivery.completedAt = nil
            try delivery.update(db)
            try AuditLog.record(db, actor: actor, action: "webhook.redeliver", targetType: "webhook", targetId: webhookId, before: AuditLog.nothing, after: AuditLog.nothing, at: now)
            return delivery
        }
    }

    /// Queues a `webhook.test` event for one active endpoint. (A turned-off endpoint's
    /// deliveries wait, and go out when it is turned back on.)
    public func sendTest(webhookId: String, by actor: AuditActor) async throws -> WebhookDelivery {
        let now = context.clock.now()
        return try await database.write { db in
            guard var webhook = try Webhook.fetchOne(db, key: webhookId) else { throw DomainError.notFound("no webhook \(webhookId)") }
            guard webhook.isActive else { throw DomainError.invalidArgument("webhook \(webhook.name) is turned off: turn it on to send a test") }
            webhook.lastTriggeredAt = now
            try webhook.update(db)
            let delivery = WebhookDelivery(
                id: Secrets.identifier("whd"), webhookId: webhook.id, messageId: Secrets.identifier("msg"), eventType: "webhook.test",
                payload: WebhookEvents.payload("webhook.test", [("webhook_id", webhook.id), ("message", "a test event from Tenantry, sent by \(actor.email)")], at: now),
                status: .pending, attempt: 0, createdAt: now, httpStatus: nil, responseBody: nil, errorMessage: nil, nextRetryAt: now, completedAt: nil
            )
            try delivery.insert(db)
            return delivery
        }
    }

    /// The `deliverWebhooks` job: hands due deliveries to the delivery threads without
    /// waiting for them. Answers how many were handed over.
    func dispatchDue() async throws -> Int {
        let now = context.clock.now()
        let busy = engine.busy
        let due = try database.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT d.id, d.message_id, d.payload, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at
                        FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook_id
                        WHERE d.status = 'pending' AND d.next_retry_at <= ? AND w.is_active = 1 ORDER BY d.next_retry_at LIMIT ?
                        """),
                arguments: [now, Self.dispatchBatch + busy.count]
            ).filter { !busy.contains($0["id"]) }
        }
        let sender = self.sender
        let database = self.database
        let items = due.prefix(Self.dispatchBatch).map { row -> DeliveryEngine.Item<WebhookSender.Response> in
            let id: String = row["id"]
            let url: String = row["url"]
            let messageId: String = row["message_id"]
            let payload: String = row["payload"]
            let current: String = row["secret"]
            let previous: String? = row["previous_secret"]
            let expires: Instant? = row["previous_secret_expires_at"]
            let secrets = [current] + (previous.flatMap { secret in expires.map { $0 > now } == true ? [secret] : nil } ?? [])
            return DeliveryEngine.Item(id: id) {
                // Work waits in the queue: send only if the delivery is still due and its
                // endpoint still on, at the same URL (an operator may have turned it off).
                let current = try? database.read { db in
                    try Row.fetchOne(
                        db.cachedStatement(sql: "SELECT d.status, w.url, w.is_active FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook_id WHERE d.id = ?"),
                        arguments: [id])
                }
                guard let row = current ?? nil, row["status"] == "pending", row["is_active"] == true, row["url"] == url else { return .skipped }
                return sender.post(url: url, messageId: messageId, payload: payload, secrets: secrets, at: now)
            }
        }
        moreDue.store(due.count > items.count || items.count == Self.dispatchBatch, ordering: .relaxed)
        return engine.dispatch(items) { [self] id, response in
            let verdict = await record(id, response)
            await refillIfDue()
            return verdict
        }
    }

    private func refillIfDue() async {
        guard moreDue.load(ordering: .relaxed), !stopping.load(ordering: .relaxed), engine.busy.count <= Self.dispatchBatch / 4,
            !refilling.exchange(true, ordering: .acquiringAndReleasing)
        else { return }
        defer { refilling.store(false, ordering: .releasing) }
        do { _ = try await dispatchDue() } catch {
            context.logger.error("could not hand over due webhook deliveries", metadata: ["error": "\(error)"])
        }
    }

    /// Writes an attempt and what follows from it: delivered, retried later, or failed; the
    /// endpoint's failure count, and disabling it (operators are emailed) after days of failing.
    private func record(_ id: String, _ response: WebhookSender.Response) async -> DeliveryEngine.Verdict? {
        guard !response.skipped else { return nil }
        let now = context.clock.now()
        let settings = self.settings
        let mailer = context.mailer
        do {
            let status = try await database.write { db -> WebhookDelivery.Status? in
                guard var delivery = try WebhookDelivery.fetchOne(db, key: id), delivery.status == .pending,
                    var webhook = try Webhook.fetchOne(db, key: delivery.webhookId)
                else { return nil }
                delivery.attempt += 1
                delivery.httpStatus = response.httpStatus
                delivery.responseBody = response.body
                switch response.outcome {
                case .delivered:
                    delivery.status = .delivered
                    delivery.errorMessage = nil
                    delivery.nextRetryAt = nil
                    delivery.completedAt = now
                    webhook.consecutiveFailures = 0
                    webhook.failingSince = nil
                    webhook.lastSuccessAt = now
                case .transient(let error), .permanent(let error):
                    delivery.errorMessage = error
                    let permanent = if case .permanent = response.outcome { true } else { false }
                    delivery.nextRetryAt = permanent ? nil : settings.retry.nextAttempt(afterAttempt: delivery.attempt, queuedAt: delivery.createdAt, now: now)
                    if delivery.nextRetryAt == nil {
                        delivery.status = .failed
                        delivery.completedAt = now
                    }
                    webhook.consecutiveFailures += 1
                    let since = webhook.failingSince ?? now
                    webhook.failingSince = since
                    if webhook.isActive, now.milliseconds - since.milliseconds >= settings.disableAfterFailingSeconds * 1000 {
                        webhook.isActive = false
                        try Self.tellOperators(db, mailer: mailer, webhook: webhook, error: error)
                    }
                }
                try WebhookAttempt(
                    deliveryId: id, attempt: delivery.attempt, attemptedAt: now, httpStatus: response.httpStatus, responseBody: response.body,
                    errorMessage: delivery.errorMessage, nextRetryAt: delivery.nextRetryAt
                ).insert(db)
                webhook.updatedAt = now
                try delivery.update(db)
                try webhook.update(db)
                return delivery.status
            }
            switch status {
            case .delivered?: return .delivered
            case .pending?: return .retrying
            case .failed?: return .failed
            case nil: return nil
            }
        } catch {
            context.logger.error("could not record a webhook delivery", metadata: ["id": "\(id)", "error": "\(error)"])
            return nil
        }
    }

    private static func tellOperators(_ db: Database, mailer: Mailer, webhook: Webhook, error: String) throws {
        let operators = try String.fetchAll(db, sql: "SELECT email FROM user WHERE is_operator = 1 AND status = 'ACTIVE'")
        for address in operators {
            try mailer.enqueue(db, to: address, Emails.webhookDisabled(name: webhook.name, url: webhook.url, error: error))
        }
    }

    /// Drops finished deliveries past the retention period; answers how many.
    func purge(at now: Instant) async throws -> Int {
        let cutoff = now.adding(days: -settings.retentionDays)
        return try await database.write { db in
            try db.execute(sql: "DELETE FROM webhook_delivery WHERE status != 'pending' AND created_at < ?", arguments: [cutoff])
            return db.changesCount
        }
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        engine.stop()
    }
}

extension Webhook {
    /// The endpoint as the audit trail keeps it: no secrets.
    var redacted: Webhook {
        var copy = self
        copy.secret = "whsec_[redacted]"
        copy.previousSecret = previousSecret.map { _ in "whsec_[redacted]" }
        return copy
    }
}
