import Crypto
import Foundation
import GRDB
import Testing

@testable import TenantryCore

/// Stripe's signatures and events, against a temp database; Stripe's API itself is faked
/// by the Python suite (Tests/integration/test_payments.py).
@Suite("Payments: Stripe signatures and events")
struct PaymentTests {
    static let secret = "whsec_test_secret"

    func sign(_ payload: String, secret: String = secret, at seconds: Int64 = Int64(Date().timeIntervalSince1970)) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(seconds).\(payload)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(seconds),v1=\(mac.map { String(format: "%02x", $0) }.joined())"
    }

    @Test("a signature is checked as Stripe documents it: any v1, any secret, within 5 minutes")
    func signatures() throws {
        let payload = #"{"id":"evt_1"}"#
        let now = Instant(Date())
        let bytes = Array(payload.utf8)
        try StripeClient.verify(payload: bytes, header: sign(payload), secrets: [Self.secret], now: now)
        try StripeClient.verify(payload: bytes, header: sign(payload, secret: "whsec_new") + ",v1=00ff", secrets: ["whsec_old", "whsec_new"], now: now)
        try StripeClient.verify(payload: bytes, header: "v1=00ff," + sign(payload), secrets: [Self.secret], now: now)
        for header in [nil, "", "v1=abc", "t=123", sign(payload, secret: "whsec_other"), sign(#"{"id":"evt_2"}"#), sign(payload, at: now.milliseconds / 1000 - 301)] as [String?] {
            #expect(throws: DomainError.self, "\(String(describing: header))") { try StripeClient.verify(payload: bytes, header: header, secrets: [Self.secret], now: now) }
        }
    }

    @Test("form encoding escapes what Stripe's form parser would misread")
    func formEncoding() {
        #expect(
            FormEncoding.encode([("line_items[0][name]", "Pro & more = 100%"), ("url", "https://x.test/#/a?b=c")])
                == "line_items%5B0%5D%5Bname%5D=Pro%20%26%20more%20%3D%20100%25&url=https%3A%2F%2Fx.test%2F%23%2Fa%3Fb%3Dc")
    }

    @Test("Stripe unreachable: the invoice stays open; a signed paid checkout pays it once, as an operator would")
    func paidCheckout() async throws {
        let harness = try Harness { $0.stripe = StripeSettings(secretKey: "sk_test_x", webhookSecrets: [Self.secret], apiBase: "http://127.0.0.1:9") }
        let principal = try harness.principal(try await harness.activeUser("owner@example.com"))
        let tenantId = try #require(principal.tenantId)
        let variant = try await harness.tenantry.plans.createVariant(
            .init(kind: .plan, plan: "PRO", period: "MONTHLY", category: "", units: 0, price: "29.00", currency: "USD", description: "Pro", active: true), by: .system)
        await expectDomainError(.unavailable("", retryAfterSeconds: 30)) { try await harness.tenantry.subscriptions.create(principal, variantId: variant.id) }
        let invoice = try #require(try await harness.tenantry.subscriptions.invoices(principal, page: 1, limit: 10).items.first)
        #expect(invoice.status == .open)
        let payments = harness.tenantry.payments
        func event(_ id: String, amount: Int64 = 2900) -> String {
            #"{"id":"\#(id)","type":"checkout.session.completed","data":{"object":{"id":"cs_1","client_reference_id":"\#(invoice.id)","payment_status":"paid","amount_total":\#(amount),"currency":"usd","payment_intent":"pi_1"}}}"#
        }
        #expect(try await payments.stripeWebhook(payload: Array(event("evt_short", amount: 100).utf8), signature: sign(event("evt_short", amount: 100))).hasPrefix("refund it"))
        #expect(try harness.tenantry.subscriptions.current(tenantId: tenantId)?.plan == "NEW_USER_TRIAL")
        #expect(try await payments.stripeWebhook(payload: Array(event("evt_1").utf8), signature: sign(event("evt_1"))) == "paid")
        await expectDomainError(.invalidArgument("")) { try await payments.stripeWebhook(payload: Array(event("evt_1").utf8), signature: sign(event("evt_1"))) }
        let paid = try harness.tenantry.subscriptions.invoice(principal, id: invoice.id)
        #expect(paid.status == .paid && paid.paidBy == "provider:stripe" && paid.paymentIntentId == "pi_1")
        #expect(try harness.tenantry.subscriptions.current(tenantId: tenantId)?.plan == "PRO")
        let refund = #"{"id":"evt_2","type":"charge.refunded","data":{"object":{"id":"ch_1","payment_intent":"pi_1","amount_refunded":900}}}"#
        #expect(try await payments.stripeWebhook(payload: Array(refund.utf8), signature: sign(refund)) == "refunded 900")
        #expect(try harness.tenantry.subscriptions.invoice(principal, id: invoice.id).refundedMinor == 900)
        #expect(try harness.count("SELECT count(*) FROM audit WHERE actor_email = 'provider:stripe'") == 2)
    }
}
