import ArgumentParser
import Foundation
import TenantryCore

/// Stripe as the payment provider: `serve`'s payment flags, each also from TENANTRY_*.
struct PaymentOptions: ParsableArguments {
    @Option(name: .long, help: "A file holding the Stripe secret key (sk_…); set, invoices are paid through Stripe Checkout (TENANTRY_STRIPE_SECRET_KEY_FILE).")
    var stripeSecretKeyFile: String = Environment.string("stripe-secret-key-file", "")

    @Option(
        name: .long,
        help: "A file holding the Stripe webhook signing secret (whsec_…), one per line while one rotates; required with the secret key (TENANTRY_STRIPE_WEBHOOK_SECRET_FILE).")
    var stripeWebhookSecretFile: String = Environment.string("stripe-webhook-secret-file", "")

    @Option(name: .long, help: "Stripe's API base URL; the tests point it at a local fake (TENANTRY_STRIPE_API_BASE).")
    var stripeApiBase: String = Environment.string("stripe-api-base", "https://api.stripe.com")

    func validate() throws { _ = try settings() }

    /// The Stripe settings these flags describe; nil without a secret key.
    func settings() throws -> StripeSettings? {
        guard !stripeSecretKeyFile.isEmpty || !stripeWebhookSecretFile.isEmpty else { return nil }
        guard !stripeSecretKeyFile.isEmpty, !stripeWebhookSecretFile.isEmpty else {
            throw ValidationError("--stripe-secret-key-file and --stripe-webhook-secret-file go together")
        }
        func lines(_ path: String, _ flag: String) throws -> [String] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("\(flag) \(path) cannot be read") }
            return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        guard let key = try lines(stripeSecretKeyFile, "--stripe-secret-key-file").first, key.hasPrefix("sk_") || key.hasPrefix("rk_") else {
            throw ValidationError("--stripe-secret-key-file must hold a Stripe secret key (sk_… or rk_…)")
        }
        let secrets = try lines(stripeWebhookSecretFile, "--stripe-webhook-secret-file")
        guard !secrets.isEmpty, secrets.allSatisfy({ $0.hasPrefix("whsec_") }) else {
            throw ValidationError("--stripe-webhook-secret-file must hold signing secrets (whsec_…), one per line")
        }
        guard let base = URL(string: stripeApiBase), ["https", "http"].contains(base.scheme ?? ""), base.host != nil else {
            throw ValidationError("--stripe-api-base must be an http(s) URL")
        }
        return StripeSettings(secretKey: key, webhookSecrets: secrets, apiBase: stripeApiBase)
    }
}
