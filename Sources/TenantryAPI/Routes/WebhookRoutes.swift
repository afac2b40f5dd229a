import TenantryCore
import TenantryHTTP

/// Operators' outgoing webhooks: endpoints, their deliveries, and the event catalogue.
extension RouteBuilder {
    var webhookEndpoints: [Endpoint] {
        let webhooks = app.webhooks
        let body: Schema = .object([
            ("name", .string()), ("url", .string(description: "http:// or https://; never a loopback, private or link-local address")),
            ("events", .array(.string(description: "event types from GET /v1/admin/webhook-events, or \"*\" for all"))), ("is_active", .boolean()),
        ])
        let one: Schema = .object([("webhook", .reference("Webhook"))])
        let withSecret: Schema = .object([("webhook", .reference("Webhook")), ("secret", .string(description: "the signing secret (whsec_…), shown this once"))])
        @Sendable func draft(_ request: Request) throws -> WebhookService.Draft {
            let body = try request.jsonBody()
            return .init(name: try body.string("name"), url: try body.string("url"), events: try body.strings("events"), isActive: body.has("is_active") ? try body.bool("is_active") : true)
        }
        return [
            Endpoint(
                "GET", "/v1/admin/webhook-events", operationId: "WebhookEventList", summary: "Every event type webhooks can receive, with an example payload.",
                access: .operatorOnly, answer: .json(.object([("events", .array(.reference("WebhookEventType")))])),
                handler: .inline { _, _ in .ok(["events": .array(WebhookEvents.catalogue.map(Present.webhookEventType))]) }
            ),
            Endpoint(
                "GET", "/v1/admin/webhooks", operationId: "OutgoingWebhookList", summary: "Every webhook endpoint (never its secret).", access: .operatorOnly,
                answer: .json(.object([("webhooks", .array(.reference("Webhook")))])),
                handler: .inline { _, _ in .ok(["webhooks": .array(try webhooks.list().map(Present.webhook))]) }
            ),
            Endpoint(
                "POST", "/v1/admin/webhooks", operationId: "CreateOutgoingWebhook",
                summary: "Adds an endpoint; answers its signing secret, the only time it is shown.", access: .operatorOnly, body: .json(body), answer: .json(withSecret),
                handler: .offloaded { request, caller in
                    let webhook = try await webhooks.create(try draft(request), by: caller.actor)
                    return .ok(["webhook": Present.webhook(webhook), "secret": .string(webhook.secret)])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/webhooks/{id}", operationId: "OutgoingWebhookGet", summary: "One endpoint.", access: .operatorOnly, answer: .json(one),
                handler: .inline { request, _ in .ok(["webhook": Present.webhook(try webhooks.get(id: request.parameter("id")))]) }
            ),
            Endpoint(
                "PUT", "/v1/admin/webhooks/{id}", operationId: "UpdateOutgoingWebhook",
                summary: "Changes an endpoint (every field as sent); turning it back on clears its failure count.", access: .operatorOnly, body: .json(body), answer: .json(one),
                handler: .offloaded { request, caller in
                    .ok(["webhook": Present.webhook(try await webhooks.update(id: request.parameter("id"), try draft(request), by: caller.actor))])
                }
            ),
            Endpoint(
                "DELETE", "/v1/admin/webhooks/{id}", operationId: "DeleteOutgoingWebhook", summary: "Deletes an endpoint and its deliveries.", access: .operatorOnly,
                answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await webhooks.delete(id: request.parameter("id"), by: caller.actor)
                    return .empty
                }
            ),
            Endpoint(
                "POST", "/v1/admin/webhooks/{id}/rotate-secret", operationId: "RotateOutgoingWebhookSecret",
                summary: "A new signing secret, shown this once; the old one keeps signing too for 24 hours.", access: .operatorOnly, answer: .json(withSecret),
                handler: .offloaded { request, caller in
                    let webhook = try await webhooks.rotateSecret(id: request.parameter("id"), by: caller.actor)
                    return .ok(["webhook": Present.webhook(webhook), "secret": .string(webhook.secret)])
                }
            ),
            Endpoint(
                "POST", "/v1/admin/webhooks/{id}/test", operationId: "TestOutgoingWebhook", summary: "Sends a webhook.test event to this endpoint.", access: .operatorOnly,
                answer: .json(.object([("delivery", .reference("WebhookDelivery"))])),
                handler: .offloaded { request, caller in
                    .ok(["delivery": Present.webhookDelivery(try await webhooks.sendTest(webhookId: request.parameter("id"), by: caller.actor), attempts: [])])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/webhooks/{id}/deliveries", operationId: "WebhookDeliveryList", summary: "The endpoint's deliveries, newest first, each with every attempt.",
                access: .operatorOnly, query: [("page", "from 1"), ("limit", "1 to 100 (default 20)")],
                answer: .json(.object([("deliveries", .array(.reference("WebhookDelivery"))), ("page", .reference("Page"))])),
                handler: .offloaded { request, _ in
                    let found = try await webhooks.deliveries(
                        webhookId: request.parameter("id"), page: try request.queryInteger("page", default: 1), limit: try request.queryInteger("limit", default: 20))
                    return .ok(["deliveries": .array(found.items.map { Present.webhookDelivery($0.delivery, attempts: $0.attempts) }), "page": Present.page(found)])
                }
            ),
            Endpoint(
                "POST", "/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver", operationId: "RedeliverWebhookDelivery",
                summary: "Sends a finished delivery again, with the same webhook-id and payload.", access: .operatorOnly,
                answer: .json(.object([("delivery", .reference("WebhookDelivery"))])),
                handler: .offloaded { request, caller in
                    let delivery = try await webhooks.redeliver(deliveryId: request.parameter("delivery_id"), webhookId: request.parameter("id"), by: caller.actor)
                    return .ok(["delivery": Present.webhookDelivery(delivery, attempts: [])])
                }
            ),
        ]
    }
}
