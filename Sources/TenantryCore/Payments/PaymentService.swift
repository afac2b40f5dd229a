import Foundation
import GRDB
import Logging

/// The payment provider behind invoices, when one is configured: Stripe Checkout. Shared
/// by every service through the context, like the mailer.
public final class PaymentGateway: Sendable {
    let stripe: StripeClient?
    private let queue: WorkQueue?

    init(settings: Settings) {
        if let stripe = settings.stripe {
            let queue = WorkQueue(name: "tenantry-payments", threads: 2, limit: 64)
            self.queue = queue
            self.stripe = StripeClient(settings: stripe, queue: queue)
        } else {
            queue = nil
            stripe = nil
        }
    }

    /// "stripe", or "manual" when invoices are paid by hand or through `--checkout-url`.
    public var provider: String { stripe == nil ? "manual" : "stripe" }

    func stop() { queue?.stop() }
}

/// What the payment provider tells Tenantry: Stripe's signed events, each applied once.
public struct PaymentService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) { self.context = context }

    /// The fields of a Stripe event that Tenantry reads.
    struct StripeEvent: Sendable {
        let id: String
        let type: String
        let objectId: String
        let clientReferenceId: String
        let paymentStatus: String
        let amountTotal: Int64?
        let currency: String
        let paymentIntent: String
        let amountRefunded: Int64?
        let status: String

        init(payload: [UInt8]) throws {
            guard let event = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any], let id = event["id"] as? String, let type = event["type"] as? String,
                let object = (event["data"] as? [String: Any])?["object"] as? [String: Any]
            else { throw DomainError.invalidArgument("the body is not a Stripe event (id, type, data.object)") }
            func text(_ key: String) -> String { object[key] as? String ?? "" }
            func integer(_ key: String) -> Int64? { (object[key] as? NSNumber).map { $0.int64Value } }
            self.id = id
            self.type = type
            objectId = text("id")
            clientReferenceId = text("client_reference_id")
            paymentStatus = text("payment_status")
            amountTotal = integer("amount_total")
            currency = text("currency")
            paymentIntent = text("payment_intent")
            amountRefunded = integer("amount_refunded")
            status = text("status")
        }
    }

    static let stripeActor = AuditActor(id: nil, email: "provider:stripe")

    /// Checks a delivery's `Stripe-Signature` and applies its event once: a paid checkout
    /// marks its invoice paid exactly as an operator does; a refund or a dispute is recorded
    /// on the invoice. An unsigned, mis-signed, stale or replayed delivery is code 3 and
    /// changes nothing. Answers what was done.
    public func stripeWebhook(payload: [UInt8], signature: String?) async throws -> String {
        guard let stripe = context.settings.stripe else {
            throw DomainError.unimplemented("Stripe is not configured: start the daemon with --stripe-secret-key-file and --stripe-webhook-secret-file")
        }
        // Stripe signs with the real time, whatever the daemon's (test) clock says.
        try StripeClient.verify(payload: payload, header: signature, secrets: stripe.webhookSecrets, now: SystemClock().now())
        let event = try StripeEvent(payload: payload)
        let now = context.clock.now()
        let settings = context.settings
        let logger = context.logger
        return try await context.database.write { db in
            guard try Int.fetchOne(db, sql: "SELECT count(*) FROM payment_event WHERE id = ?", arguments: [event.id]) == 0 else {
                throw DomainError.invalidArgument("event \(event.id) was already processed")
            }
            let (invoiceId, outcome) = try Self.apply(event, db, settings: settings, logger: logger, at: now)
            try db.execute(
                sql: "INSERT INTO payment_event (id, provider, type, invoice_id, outcome, received_at) VALUES (?, 'stripe', ?, ?, ?, ?)",
                arguments: [event.id, event.type, invoiceId, outcome, now])
            return outcome
        }
    }

    private static func apply(_ event: StripeEvent, _ db: Database, settings: Settings, logger: Logger, at now: Instant) throws -> (invoiceId: String?, outcome: String) {
        switch event.type {
        case "checkout.session.completed", "checkout.session.async_payment_succeeded":
            guard var invoice = try Invoice.fetchOne(db, key: event.clientReferenceId) else { return (nil, "no invoice \(event.clientReferenceId)") }
            guard event.paymentStatus == "paid" else { return (invoice.id, "not paid yet (payment_status \(event.paymentStatus))") }
            // Money taken that pays nothing is for the operator to refund at Stripe.
            func refundDue(_ reason: String) -> (String?, String) {
                logger.warning("a Stripe payment pays no open invoice: refund it", metadata: ["invoice": "\(invoice.id)", "event": "\(event.id)", "reason": "\(reason)"])
                return (invoice.id, "refund it: \(reason)")
            }
            guard event.amountTotal == invoice.totalMinor, event.currency.lowercased() == invoice.currency.lowercased() else {
                return refundDue("paid \(event.amountTotal ?? 0) \(event.currency) for an invoice of \(invoice.totalMinor) \(invoice.currency)")
            }
            switch invoice.status {
            case .paid: return (invoice.id, "already paid")
            case .void:
                invoice.paymentIntentId = event.paymentIntent
                try invoice.update(db)
                return refundDue("invoice \(invoice.number) was void when it was paid")
            case .open:
                try Billing.settle(
                    db, invoiceId: invoice.id, by: stripeActor, at: now, settings: settings, payment: (sessionId: event.objectId, intentId: event.paymentIntent))
                return (invoice.id, "paid")
            }
        case "charge.refunded":
            guard var invoice = try invoice(paidBy: event.paymentIntent, db) else { return (nil, "no invoice paid by \(event.paymentIntent)") }
            let before = invoice
            // Stripe's amount_refunded is the charge's running total; it cannot pass what was paid.
            let refunded = event.amountRefunded ?? invoice.totalMinor
            guard refunded >= 0 else { throw DomainError.invalidArgument("amount_refunded must not be negative") }
            if refunded > invoice.totalMinor {
                logger.warning("a Stripe refund exceeds its invoice; recorded as the whole", metadata: ["invoice": "\(invoice.id)", "event": "\(event.id)"])
            }
            invoice.refundedMinor = min(refunded, invoice.totalMinor)
            try invoice.update(db)
            try AuditLog.record(db, actor: stripeActor, action: "invoice.refunded", targetType: "invoice", targetId: invoice.id, tenantId: invoice.tenantId, before: before, after: invoice, at: now)
            return (invoice.id, "refunded \(invoice.refundedMinor)")
        case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed":
            guard var invoice = try invoice(paidBy: event.paymentIntent, db) else { return (nil, "no invoice paid by \(event.paymentIntent)") }
            let before = invoice
            invoice.disputeStatus = event.status.isEmpty ? "disputed" : event.status
            try invoice.update(db)
            try AuditLog.record(db, actor: stripeActor, action: "invoice.dispute", targetType: "invoice", targetId: invoice.id, tenantId: invoice.tenantId, before: before, after: invoice, at: now)
            return (invoice.id, "dispute \(invoice.disputeStatus)")
        default:
            return (nil, "ignored")
        }
    }

    private static func invoice(paidBy paymentIntent: String, _ db: Database) throws -> Invoice? {
        guard !paymentIntent.isEmpty else { return nil }
        return try Invoice.filter(Invoice.Columns.paymentIntentId == paymentIntent).fetchOne(db)
    }
}
