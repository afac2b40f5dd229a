import Crypto
import Foundation

/// Stripe's side of a payment: a Checkout Session for an invoice, created through Stripe's
/// REST API (form-encoded), and the check of the signature on the events Stripe sends back.
/// No card data ever reaches Tenantry: the payer types it on Stripe's page.
struct StripeClient: Sendable {
    static let timeoutSeconds = 20

    let settings: StripeSettings
    /// Threads of our own for the blocking HTTPS call.
    let queue: WorkQueue

    struct Session: Sendable {
        let id: String
        let url: String
    }

    /// A Checkout Session for `invoice`'s total. The idempotency key is the invoice's, so a
    /// retry (a double click, a timeout) makes one session.
    func checkoutSession(for invoice: Invoice, description: String, successURL: String, cancelURL: String) async throws -> Session {
        let form = FormEncoding.encode([
            ("mode", "payment"), ("client_reference_id", invoice.id), ("success_url", successURL), ("cancel_url", cancelURL),
            ("line_items[0][quantity]", "1"), ("line_items[0][price_data][currency]", invoice.currency.lowercased()),
            ("line_items[0][price_data][unit_amount]", String(invoice.totalMinor)), ("line_items[0][price_data][product_data][name]", description),
            ("metadata[invoice_id]", invoice.id), ("metadata[tenant_id]", invoice.tenantId), ("payment_intent_data[metadata][invoice_id]", invoice.id),
        ])
        let url = settings.apiBase.trimmingSuffix("/") + "/v1/checkout/sessions"
        let headers = [
            "Authorization: Bearer \(settings.secretKey)", "Content-Type: application/x-www-form-urlencoded", "Idempotency-Key: tenantry-checkout-\(invoice.id)",
        ]
        let unavailable = DomainError.unavailable("the payment provider is busy; retry shortly", retryAfterSeconds: 5)
        let answer: (status: Int, body: [UInt8])
        do {
            answer = try await queue.run(refusal: unavailable) { try CurlTransfer.call(url: url, headers: headers, body: Array(form.utf8), timeoutSeconds: Self.timeoutSeconds) }
        } catch let failure as CurlTransfer.Failure {
            throw DomainError.unavailable("Stripe could not be reached: \(failure)", retryAfterSeconds: 30)
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [String: Any]
        guard (200..<300).contains(answer.status), let id = json?["id"] as? String, let session = json?["url"] as? String else {
            let reason = ((json?["error"] as? [String: Any])?["message"] as? String) ?? "HTTP \(answer.status)"
            throw DomainError.unavailable("Stripe did not create a checkout session: \(reason)", retryAfterSeconds: 30)
        }
        return Session(id: id, url: session)
    }

    /// Checks a `Stripe-Signature` header as Stripe documents it: `t=<unix seconds>` and one
    /// or more `v1=<hex HMAC-SHA256 of "t.payload">`, keyed by a signing secret (any of
    /// `secrets`, while one rotates), with `t` within `tolerance` seconds of `now`.
    static func verify(payload: [UInt8], header: String?, secrets: [String], now: Instant, toleranceSeconds: Int64 = 300) throws {
        guard let header, !header.isEmpty else { throw DomainError.invalidArgument("the Stripe-Signature header is missing") }
        var timestamp: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "t": timestamp = Int64(pair[1])
            case "v1": signatures.append(pair[1].lowercased())
            default: continue
            }
        }
        guard let timestamp else { throw DomainError.invalidArgument("the Stripe-Signature header has no timestamp") }
        guard !signatures.isEmpty else { throw DomainError.invalidArgument("the Stripe-Signature header has no v1 signature") }
        guard abs(now.milliseconds / 1000 - timestamp) <= toleranceSeconds else {
            throw DomainError.invalidArgument("the Stripe-Signature timestamp is more than \(toleranceSeconds) s from now: a stale or replayed delivery")
        }
        let signed = Data("\(timestamp).".utf8) + Data(payload)
        for secret in secrets {
            let expected = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
            let hex = expected.map { String(format: "%02x", $0) }.joined()
            if signatures.contains(where: { Secrets.constantTimeEqual(Data($0.utf8), Data(hex.utf8)) }) { return }
        }
        throw DomainError.invalidArgument("no Stripe-Signature v1 signature matches the payload")
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
