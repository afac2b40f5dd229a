import TenantryCore
import TenantryHTTP

/// What the payment provider calls: Stripe's signed events.
extension RouteBuilder {
    var paymentEndpoints: [Endpoint] {
        let app = self.app
        return [
            Endpoint(
                "POST", "/v1/payments/stripe/webhook", operationId: "StripeWebhook",
                summary:
                    "Stripe's events, checked by their Stripe-Signature (t=…,v1=…: HMAC-SHA256 of \"t.body\" with a signing secret, within 5 minutes) and applied once each: checkout.session.completed (paid) marks its invoice paid; charge.refunded and charge.dispute.* are recorded on it. Unsigned, mis-signed, stale or replayed deliveries are code 3 and change nothing; code 12 when Stripe is not configured.",
                access: .everyone, body: .json(.object([("id", .string()), ("type", .string()), ("data", .any(description: "the event's object"))])),
                answer: .json(.object([("outcome", .string(description: "what Tenantry did with the event"))])), bodyLimit: 1 << 20,
                handler: .offloaded { request, caller in
                    .ok(["outcome": .string(try await app.payments.stripeWebhook(payload: request.body, signature: request.header("stripe-signature")))])
                }
            )
        ]
    }
}
