import TenantryCore

/// The named schemas the routes share, as `#/components/schemas/…`.
enum Components {
    static let all: [(String, Schema)] = [
        ("Error", .object([("code", .integer(description: "the seed's error code")), ("message", .string())])),
        (
            "SubscriptionInfo",
            .object([
                ("plan", .enumeration(Plan.builtIn)),
                ("period", .cases(of: BillingPeriod.self)),
                ("status", .cases(of: SubscriptionStatus.self, before: ["NO_SUBSCRIPTION"])),
                ("start_at", .dateTime(nullable: true)),
                ("end_at", .dateTime(nullable: true)),
            ])
        ),
        (
            "User",
            .object([
                ("id", .string()),
                ("name", .string()),
                ("email", .string()),
                ("thumbnail_url", .string(description: "the avatar's absolute URL (from --public-url), or empty")),
                ("status", .cases(of: User.Status.self)),
                ("subscription_info", .reference("SubscriptionInfo")),
                ("create_at", .dateTime()),
                ("update_at", .dateTime()),
            ])
        ),
        (
            "TenantInfo",
            .object([
                ("id", .string()),
                ("name", .string()),
                ("role", .cases(of: Role.self)),
                ("is_current", .boolean()),
                ("created_at", .dateTime()),
            ])
        ),
        (
            "TenantSummary",
            .object([
                ("id", .string()), ("name", .string()), ("created_at", .dateTime()), ("members", .int64()),
                ("subscription", .reference("Subscription")), ("balances", .array(.object([("category", .string()), ("remaining", .int64())]))),
            ])
        ),
        ("Page", .object([("has_more", .boolean()), ("limit", .int64()), ("page", .int64()), ("total", .int64())])),
        (
            "Hold",
            .object([
                ("id", .string()), ("category", .string()), ("amount", .int64()), ("agent_id", .string()), ("dataset_id", .string()),
                ("status", .cases(of: CreditHold.Status.self, description: "as of now: an open hold past expires_at is expired")),
                ("expires_at", .dateTime()), ("created_at", .dateTime()), ("ended_at", .dateTime(nullable: true)),
                ("settled_amount", .int64(description: "what its settlement debited; 0 unless settled")),
            ])
        ),
        (
            "CreditLimit",
            .object([
                ("scope", .cases(of: CreditLimit.Scope.self)), ("subject", .string(description: "an agent id, or an API key id (key_…)")), ("category", .string()),
                ("limit", .int64()), ("window", .cases(of: CreditLimit.Window.self, description: "a UTC day, a UTC calendar month, or the allowance window")),
                ("used", .int64(description: "debited in the current window")), ("window_start", .dateTime()),
                ("window_end", .dateTime(nullable: true, description: "null for period: it ends when the next allowance begins")),
            ])
        ),
        ("AlertThreshold", .object([("percent", .integer(description: "1 to 100 of the period's allowance used; 0 when remaining is the threshold")), ("remaining", .int64())])),
        (
            "CreditAlert",
            .object([
                ("category", .string()), ("event", .enumeration(["credits.low", "credits.depleted"])), ("threshold", .reference("AlertThreshold")),
                ("level", .int64(description: "the balance at or below which it fired")), ("available", .int64(description: "the balance when it fired")),
                ("allowance", .int64()), ("window_start", .dateTime()), ("fired_at", .dateTime()),
            ])
        ),
        (
            "AlertSettings",
            .object([
                ("thresholds", .array(.reference("AlertThreshold"))), ("email", .boolean(description: "whether the tenant's owners get an email")),
                ("inherited", .boolean(description: "true when the thresholds are the plan's")),
            ])
        ),
        (
            "LedgerEntry",
            .object([
                ("seq", .int64()), ("kind", .cases(of: Journal.Kind.self)), ("category", .string()), ("amount", .int64()),
                ("balance_after", .int64(description: "available after it: live grants minus open holds")), ("held_after", .int64()),
                ("grant_id", .string()), ("source", .string(description: "the grant's source, for grant, rollover and expiry entries")),
                ("debit_id", .string()), ("hold_id", .string()), ("agent_id", .string()), ("dataset_id", .string()),
                ("drawn_from", .array(.object([("grant_id", .string()), ("amount", .int64())]))), ("created_at", .dateTime()),
            ])
        ),
        (
            "Member",
            .object([
                ("email", .string()),
                ("name", .string()),
                ("role", .cases(of: Role.self)),
                ("status", .enumeration(User.Status.allCases.map(\.rawValue) + ["INVITED"])),
                ("joined_at", .dateTime(description: "when the member joined, or when a pending invitation was sent")),
            ])
        ),
        (
            "InviteResult",
            .object([
                ("status", .enumeration(["SC_OK", "SC_INVALID_ARGUMENT", "SC_ALREADY_EXISTS", "SC_PERMISSION_DENIED", "SC_RESOURCE_EXHAUSTED"])),
                ("email", .string()),
                ("message", .string()),
                ("invited_url", .string(description: "the single-use link emailed to the address; empty when refused")),
            ])
        ),
        (
            "OutboxEmail",
            .object([
                ("id", .string()),
                ("to", .string()),
                ("subject", .string()),
                ("body", .string(description: "one-time codes and links show while valid, then read [expired]")),
                ("status", .cases(of: OutboxEmail.Status.self)),
                ("attempts", .int64(description: "delivery attempts made")),
                ("last_error", .string(description: "why the last attempt failed, or empty")),
                ("next_attempt_at", .dateTime(nullable: true)),
                ("created_at", .dateTime()),
                ("sent_at", .dateTime(nullable: true)),
            ])
        ),
        (
            "Job",
            .object([
                ("id", .string()),
                ("interval_seconds", .int64()),
                ("last_started_at", .dateTime(nullable: true)),
                ("last_finished_at", .dateTime(nullable: true)),
                ("last_result", .cases(of: JobState.Result.self)),
                ("last_error", .string()),
                ("items_processed", .int64()),
                ("next_run_at", .dateTime(nullable: true)),
            ])
        ),
        (
            "Subscription",
            .object([
                ("id", .string(description: "empty when the tenant has none")),
                ("plan", .string(description: "FREE, PRO, BUSINESS, CUSTOM, NEW_USER_TRIAL or BYOA_USER_TRIAL")),
                ("period", .cases(of: BillingPeriod.self)),
                ("status", .cases(of: SubscriptionStatus.self, before: ["NO_SUBSCRIPTION"])),
                ("start_at", .dateTime(nullable: true)),
                ("end_at", .dateTime(nullable: true, description: "the trial's end or the current period's end; null for FREE")),
                ("cancel_at_period_end", .boolean()),
                ("ended_at", .dateTime(nullable: true)),
                ("scheduled_variant_id", .string(description: "a downgrade the owner asked for, taking effect at scheduled_at; empty when none")),
                ("scheduled_at", .dateTime(nullable: true, description: "the period's end, when a change is scheduled")),
            ])
        ),
        ("PlanConfig", .object(PlanConfigField.schema)),
        (
            "Plan",
            .object([
                ("plan_name", .string(description: "a built-in name, or the tenant id of a tenant-specific plan")),
                ("config", .reference("PlanConfig")),
                ("has_used", .boolean(description: "a subscription has used the plan: it cannot be deleted")),
                ("description", .string()),
                ("credit_extension", .integer(description: "days credits stay valid after their period")),
                ("trial_days", .integer(description: "the trial's length for trial plans, else 0")),
                ("created_at", .dateTime()),
                ("updated_at", .dateTime()),
            ])
        ),
        (
            "Variant",
            .object([
                ("id", .string()), ("description", .string()), ("period", .cases(of: BillingPeriod.self)),
                ("plan", .string()), ("price", .number(description: "in the currency's major unit, e.g. 19.99")), ("currency", .string()),
            ])
        ),
        (
            "AddonVariant",
            .object([
                ("id", .string()), ("description", .string()), ("period", .cases(of: BillingPeriod.self)),
                ("price", .number()), ("currency", .string()),
                ("category", .string(description: "the usage category it adds credits to")), ("units", .int64(description: "credits per quantity")),
            ])
        ),
        (
            "AdminVariant",
            .object([
                ("id", .string()), ("kind", .cases(of: Variant.Kind.self)), ("plan", .string()), ("period", .cases(of: BillingPeriod.self)),
                ("category", .string()), ("units", .int64()), ("price", .number()), ("currency", .string()), ("description", .string()),
                ("active", .boolean()), ("created_at", .dateTime()), ("updated_at", .dateTime()),
            ])
        ),
        (
            "Invoice",
            .object([
                ("id", .string()), ("number", .int64()), ("tenant_id", .string()), ("kind", .cases(of: Invoice.Kind.self)),
                ("status", .cases(of: Invoice.Status.self)), ("plan", .string()), ("period", .cases(of: BillingPeriod.self)),
                ("period_start", .dateTime(nullable: true)), ("period_end", .dateTime(nullable: true)),
                (
                    "lines",
                    .array(
                        .object([
                            (
                                "kind",
                                .cases(
                                    of: Invoice.Line.Kind.self,
                                    description: "plan: a period's price; proration: the unused part of the period a change replaces; discount: a coupon; addon: credits bought")
                            ),
                            ("description", .string()), ("amount", .number(description: "negative for a credit or a discount")),
                            ("category", .string(description: "add-ons: the usage category")), ("quantity", .int64()), ("units", .int64(description: "add-ons: credits per quantity")),
                            ("variant_id", .string()),
                        ]))
                ),
                ("currency", .string()), ("total", .number()), ("created_at", .dateTime()), ("due_at", .dateTime()),
                ("paid_at", .dateTime(nullable: true)), ("paid_by", .string()),
                ("invoice_number", .string(description: "seed 004: INV-000042")), ("subtotal", .number(description: "the charges before credits and discounts")),
                ("tax", .number(description: "0 until taxes exist")),
                ("subscription_id", .string()), ("payment_url", .string(description: "the provider's checkout while it is open, else empty")),
                ("due_date", .dateTime(description: "seed 004's name for due_at")), ("refunded", .number(description: "what the payment provider refunded")),
                ("dispute_status", .string(description: "the provider's dispute status, empty when none")),
            ])
        ),
        (
            "Coupon",
            .object([
                ("id", .string()), ("code", .string(description: "matched without regard to case")), ("discount_type", .cases(of: Coupon.DiscountType.self)),
                ("discount_value", .number(description: "percent: 25 or 12.5; fixed: an amount of currency")),
                ("currency", .string(description: "a fixed discount's; empty for a percent")),
                ("current_uses", .int64(description: "invoices open or paid with it; a void invoice gives its use back")),
                ("max_uses", .int64(description: "0: no limit")), ("valid_from", .dateTime()), ("valid_until", .dateTime(nullable: true)),
                ("applicable_plans", .array(.string(description: "plan names; empty: every plan"))), ("is_active", .boolean()),
                ("created_at", .dateTime()), ("updated_at", .dateTime()),
            ])
        ),
        (
            "PlanChange",
            .object([
                ("redirect_url", .string(description: "where the payer goes next: the invoice's checkout, or the portal when nothing is to pay now")),
                ("invoice_id", .string(description: "the invoice opened (paid already when nothing was due); empty when the change is scheduled")),
                ("effective_at", .dateTime(nullable: true, description: "when a downgrade takes effect (the period's end); null when the change takes effect once paid")),
            ])
        ),
        (
            "Grant",
            .object([
                ("id", .string()), ("category", .string()), ("amount", .int64()), ("used", .int64()), ("remaining", .int64()),
                ("effective_at", .dateTime()), ("expires_at", .dateTime()), ("source", .cases(of: CreditGrant.Source.self)),
                ("priority", .integer(description: "lower burns first")), ("reason", .string()),
            ])
        ),
        (
            "UsageConfig",
            .object([
                ("category", .string()), ("used_amount", .int64()), ("total_amount", .int64()), ("expiration_time", .dateTime(nullable: true)),
            ])
        ),
        (
            "ApiKey",
            .object([
                ("id", .string()), ("agent_id", .string()), ("name", .string()), ("key_type", .enumeration(["tenant", "operator"])),
                ("key_prefix", .string(description: "the first 12 characters of the key, not secret")), ("scopes", .array(.string())),
                ("is_active", .boolean()), ("created_at", .dateTime()), ("last_used_at", .dateTime(nullable: true)),
                ("expires_at", .dateTime(nullable: true)), ("revoked_at", .dateTime(nullable: true)),
            ])
        ),
        (
            "AdminUser",
            .object([
                ("id", .string()), ("email", .string()), ("name", .string()), ("status", .cases(of: User.Status.self)),
                ("is_operator", .boolean()), ("created_at", .dateTime()), ("updated_at", .dateTime()),
            ])
        ),
        (
            "AuditEntry",
            .object([
                ("seq", .int64()), ("at", .dateTime()), ("actor_id", .string()), ("actor_email", .string()), ("action", .string()),
                ("target_type", .string()), ("target_id", .string()), ("tenant_id", .string()),
                ("before", .any(description: "the state before, or null")), ("after", .any(description: "the state after, or null")),
            ])
        ),
        (
            "Webhook",
            .object([
                ("id", .string()), ("name", .string()), ("url", .string()), ("events", .array(.string())), ("is_active", .boolean()),
                ("consecutive_failures", .int64()), ("failing_since", .dateTime(nullable: true)),
                ("previous_secret_expires_at", .dateTime(nullable: true, description: "until when the secret before the last rotation still signs")),
                ("created_by", .string()), ("created_at", .dateTime()), ("updated_at", .dateTime()),
                ("last_triggered_at", .dateTime(nullable: true)), ("last_success_at", .dateTime(nullable: true)),
            ])
        ),
        (
            "WebhookDelivery",
            .object([
                ("id", .string()), ("webhook_id", .string()), ("message_id", .string(description: "the webhook-id header, the same on every attempt")),
                ("event_type", .string()), ("payload", .string(description: "the JSON body sent")), ("status", .cases(of: WebhookDelivery.Status.self)),
                ("attempt", .int64()), ("created_at", .dateTime()), ("http_status", .int64(description: "0 when no answer came")),
                ("response_body", .string(description: "the start of the answer")), ("error_message", .string()),
                ("next_retry_at", .dateTime(nullable: true)), ("completed_at", .dateTime(nullable: true)),
                (
                    "attempts",
                    .array(
                        .object([
                            ("attempt", .int64()), ("attempted_at", .dateTime()), ("http_status", .int64()), ("response_body", .string()),
                            ("error_message", .string()), ("next_retry_at", .dateTime(nullable: true)),
                        ]))
                ),
            ])
        ),
        (
            "WebhookEventType",
            .object([
                ("name", .string()), ("description", .string()),
                ("example", .object([("type", .string()), ("timestamp", .dateTime()), ("version", .integer()), ("data", .map(.string()))])),
            ])
        ),
    ]
}
