import Foundation
import TenantryCore

/// How domain objects look in answers: the seed's field names, int64 as strings, dates
/// as RFC 3339. Each shape is written once, here, and described once in `Components`.
enum Present {
    static func planConfig(_ config: PlanConfig) -> JSON { PlanConfigField.present(config) }

    static func plan(_ plan: Plan) -> JSON {
        [
            "plan_name": .string(plan.name), "config": planConfig(plan.config), "has_used": .bool(plan.hasUsed),
            "description": .string(plan.description), "credit_extension": .integer(plan.creditExtensionDays),
            "trial_days": .integer(plan.trialDays ?? 0), "created_at": .date(plan.createdAt), "updated_at": .date(plan.updatedAt),
        ]
    }

    /// A price as the seed writes it: a decimal number.
    static func price(_ minor: Int64, currency: String) -> JSON { .number(Money.decimal(minor, currency: currency)) }

    /// The seed's `variant`. An add-on belongs to no plan, so it has no `plan` (the seed's
    /// enum has no empty value, and a missing field is the seed's "not set") and says what it
    /// sells instead.
    static func variant(_ variant: Variant) -> JSON {
        var members: [(String, JSON)] = [("id", .string(variant.id)), ("description", .string(variant.description)), ("period", .string(variant.period.rawValue))]
        if variant.kind == .plan { members.append(("plan", .string(variant.plan))) }
        members += [("price", price(variant.priceMinor, currency: variant.currency)), ("currency", .string(variant.currency))]
        if variant.kind == .addon {
            members += [("category", .string(variant.category)), ("units", .int64(variant.units))]
        }
        return .object(members)
    }

    static func adminVariant(_ variant: Variant) -> JSON {
        [
            "id": .string(variant.id), "kind": .string(variant.kind.rawValue), "plan": .string(variant.plan), "period": .string(variant.period.rawValue),
            "category": .string(variant.category), "units": .int64(variant.units), "price": price(variant.priceMinor, currency: variant.currency),
            "currency": .string(variant.currency), "description": .string(variant.description), "active": .bool(variant.active),
            "created_at": .date(variant.createdAt), "updated_at": .date(variant.updatedAt),
        ]
    }

    /// The seed's `subscription_info`.
    static func subscriptionInfo(_ info: SubscriptionInfo) -> JSON {
        [
            "plan": .string(info.plan), "period": .string(info.period), "status": .string(info.status),
            "start_at": .date(info.startAt), "end_at": .date(info.endAt),
        ]
    }

    /// The seed's `subscription`, with what else a subscription has; none is NO_SUBSCRIPTION.
    static func subscription(_ subscription: Subscription?) -> JSON {
        guard case .object(var members) = subscriptionInfo(subscription?.info ?? .none) else { return .null }
        members.insert(("id", .string(subscription?.id ?? "")), at: 0)
        members += [
            ("cancel_at_period_end", .bool(subscription?.cancelAtPeriodEnd ?? false)), ("ended_at", .date(subscription?.endedAt)),
            ("scheduled_variant_id", .string(subscription?.scheduledVariantId ?? "")),
            ("scheduled_at", .date(subscription?.scheduledVariantId == nil ? nil : subscription?.endAt)),
        ]
        return .object(members)
    }

    static func invoice(_ invoice: Invoice) -> JSON {
        [
            "id": .string(invoice.id), "number": .int64(invoice.number), "tenant_id": .string(invoice.tenantId), "kind": .string(invoice.kind.rawValue),
            "status": .string(invoice.status.rawValue), "plan": .string(invoice.plan), "period": .string(invoice.period.rawValue),
            "period_start": .date(invoice.periodStart), "period_end": .date(invoice.periodEnd),
            "lines": .array(
                invoice.lines.map {
                    [
                        "kind": .string($0.kind.rawValue), "description": .string($0.description), "amount": price($0.amountMinor, currency: invoice.currency),
                        "category": .string($0.category), "quantity": .int64($0.quantity), "units": .int64($0.units), "variant_id": .string($0.variantId),
                    ]
                }),
            "currency": .string(invoice.currency), "total": price(invoice.totalMinor, currency: invoice.currency),
            "created_at": .date(invoice.createdAt), "due_at": .date(invoice.dueAt), "paid_at": .date(invoice.paidAt), "paid_by": .string(invoice.paidBy ?? ""),
            "invoice_number": .string(invoice.displayNumber), "subtotal": price(invoice.subtotalMinor, currency: invoice.currency), "tax": price(0, currency: invoice.currency),
            "subscription_id": .string(invoice.subscriptionId ?? ""), "payment_url": .string(invoice.status == .open ? invoice.paymentUrl ?? "" : ""),
            "due_date": .date(invoice.dueAt), "refunded": price(invoice.refundedMinor, currency: invoice.currency), "dispute_status": .string(invoice.disputeStatus),
        ]
    }

    /// Seed 004's BillingCoupon.
    static func coupon(_ counted: CouponService.Counted) -> JSON {
        let coupon = counted.coupon
        return [
            "id": .string(coupon.id), "code": .string(coupon.code), "discount_type": .string(coupon.discountType.rawValue),
            "discount_value": .number(coupon.discountValueText), "currency": .string(coupon.currency), "current_uses": .int64(counted.uses),
            "max_uses": .int64(coupon.maxUses ?? 0), "valid_from": .date(coupon.validFrom), "valid_until": .date(coupon.validUntil),
            "applicable_plans": .array(coupon.applicablePlans.map(JSON.string)), "is_active": .bool(coupon.isActive),
            "created_at": .date(coupon.createdAt), "updated_at": .date(coupon.updatedAt),
        ]
    }

    /// What asking for a plan did.
    static func planChange(_ change: SubscriptionService.Change) -> JSON {
        ["redirect_url": .string(change.redirectURL), "invoice_id": .string(change.invoice?.id ?? ""), "effective_at": .date(change.effectiveAt)]
    }

    static func grant(_ grant: CreditGrant) -> JSON {
        [
            "id": .string(grant.id), "category": .string(grant.category), "amount": .int64(grant.amount), "used": .int64(grant.used),
            "remaining": .int64(grant.remaining), "effective_at": .date(grant.effectiveAt), "expires_at": .date(grant.expiresAt),
            "source": .string(grant.source.rawValue), "priority": .integer(grant.priority), "reason": .string(grant.reason),
        ]
    }

    /// Seed 004's `ApiKey`; never the secret.
    static func apiKey(_ key: ApiKey, now: Instant) throws -> JSON {
        [
            "id": .string(key.id), "agent_id": "", "name": .string(key.name), "key_type": .string(key.tenantId == nil ? "operator" : "tenant"),
            "key_prefix": .string(key.keyPrefix), "scopes": .array(try key.scopeList().map(JSON.string)), "is_active": .bool(key.isActive(at: now)),
            "created_at": .date(key.createdAt), "last_used_at": .date(key.lastUsedAt), "expires_at": .date(key.expiresAt), "revoked_at": .date(key.revokedAt),
        ]
    }

    static func adminUser(_ user: User) -> JSON {
        [
            "id": .string(user.id), "email": .string(user.email), "name": .string(user.name), "status": .string(user.status.rawValue),
            "is_operator": .bool(user.isOperator), "created_at": .date(user.createdAt), "updated_at": .date(user.updatedAt),
        ]
    }

    static func audit(_ entry: AuditEntry) throws -> JSON {
        func parsed(_ text: String?) throws -> JSON {
            try text.map { try JSONParser.parse(Array($0.utf8)) } ?? .null
        }
        return [
            "seq": .int64(entry.seq ?? 0), "at": .date(entry.at), "actor_id": .string(entry.actorId ?? ""), "actor_email": .string(entry.actorEmail),
            "action": .string(entry.action), "target_type": .string(entry.targetType), "target_id": .string(entry.targetId),
            "tenant_id": .string(entry.tenantId ?? ""), "before": try parsed(entry.before), "after": try parsed(entry.after),
        ]
    }

    static func page<Item>(_ page: TenantService.Page<Item>) -> JSON {
        ["has_more": .bool(page.hasMore), "limit": .int64(page.limit), "page": .int64(page.page), "total": .int64(page.total)]
    }

    static func usage(_ usage: CreditService.CategoryUsage) -> JSON {
        ["category": .string(usage.category), "used_amount": .int64(usage.used), "total_amount": .int64(usage.total), "expiration_time": .date(usage.expiresAt)]
    }

    static func tenantSummary(_ summary: AdminService.TenantSummary) -> JSON {
        [
            "id": .string(summary.tenant.id), "name": .string(summary.tenant.name), "created_at": .date(summary.tenant.createdAt),
            "members": .int64(summary.members), "subscription": Present.subscription(summary.subscription),
            "balances": .array(summary.balances.map { ["category": .string($0.category), "remaining": .int64($0.remaining)] }),
        ]
    }

    static func member(_ member: TenantService.MemberView) -> JSON {
        [
            "email": .string(member.email), "name": .string(member.name), "role": .string(member.role.rawValue),
            "status": .string(member.status), "joined_at": .date(member.joinedAt),
        ]
    }

    static func job(_ status: JobStatus) -> JSON {
        [
            "id": .string(status.id), "interval_seconds": .int64(status.intervalSeconds),
            "last_started_at": .date(status.state.lastStartedAt), "last_finished_at": .date(status.state.lastFinishedAt),
            "last_result": .string(status.state.lastResult.rawValue), "last_error": .string(status.state.lastError ?? ""),
            "items_processed": .int64(status.state.itemsProcessed), "next_run_at": .date(status.state.nextRunAt),
        ]
    }

    static func user(_ profile: AccountService.Profile) -> JSON {
        let user = profile.user
        return [
            "id": .string(user.id),
            "name": .string(user.name),
            "email": .string(user.email),
            "thumbnail_url": .string(profile.thumbnailURL),
            "status": .string(user.status.rawValue),
            "subscription_info": Present.subscriptionInfo(profile.subscription),
            "create_at": .date(user.createdAt),
            "update_at": .date(user.updatedAt),
        ]
    }

    static func tenantView(_ view: TenantService.TenantView) -> JSON {
        [
            "id": .string(view.id), "name": .string(view.name), "role": .string(view.role.rawValue),
            "is_current": .bool(view.isCurrent), "created_at": .date(view.createdAt),
        ]
    }

    static func outboxEmail(_ email: OutboxEmail, body: String) -> JSON {
        [
            "id": .string(email.id), "to": .string(email.recipient), "subject": .string(email.subject), "body": .string(body),
            "status": .string(email.status.rawValue), "attempts": .int64(email.attempts), "last_error": .string(email.lastError ?? ""),
            "next_attempt_at": .date(email.nextAttemptAt), "created_at": .date(email.createdAt), "sent_at": .date(email.sentAt),
        ]
    }

    static func webhook(_ webhook: Webhook) -> JSON {
        [
            "id": .string(webhook.id), "name": .string(webhook.name), "url": .string(webhook.url), "events": .array(webhook.events.map(JSON.string)),
            "is_active": .bool(webhook.isActive), "consecutive_failures": .int64(webhook.consecutiveFailures), "failing_since": .date(webhook.failingSince),
            "previous_secret_expires_at": .date(webhook.previousSecret == nil ? nil : webhook.previousSecretExpiresAt),
            "created_by": .string(webhook.createdBy), "created_at": .date(webhook.createdAt), "updated_at": .date(webhook.updatedAt),
            "last_triggered_at": .date(webhook.lastTriggeredAt), "last_success_at": .date(webhook.lastSuccessAt),
        ]
    }

    static func webhookDelivery(_ delivery: WebhookDelivery, attempts: [WebhookAttempt]) -> JSON {
        [
            "id": .string(delivery.id), "webhook_id": .string(delivery.webhookId), "message_id": .string(delivery.messageId), "event_type": .string(delivery.eventType),
            "payload": .string(delivery.payload), "status": .string(delivery.status.rawValue), "attempt": .int64(delivery.attempt),
            "created_at": .date(delivery.createdAt), "http_status": .int64(delivery.httpStatus ?? 0), "response_body": .string(delivery.responseBody ?? ""),
            "error_message": .string(delivery.errorMessage ?? ""), "next_retry_at": .date(delivery.nextRetryAt), "completed_at": .date(delivery.completedAt),
            "attempts": .array(
                attempts.map { attempt in
                    [
                        "attempt": .int64(attempt.attempt), "attempted_at": .date(attempt.attemptedAt), "http_status": .int64(attempt.httpStatus ?? 0),
                        "response_body": .string(attempt.responseBody ?? ""), "error_message": .string(attempt.errorMessage ?? ""), "next_retry_at": .date(attempt.nextRetryAt),
                    ]
                }),
        ]
    }

    static func webhookEventType(_ kind: WebhookEvents.Kind) -> JSON {
        [
            "name": .string(kind.name), "description": .string(kind.description),
            "example": [
                "type": .string(kind.name), "timestamp": "2026-12-02T10:00:00.000Z", "version": .integer(WebhookEvents.payloadVersion),
                "data": .object(kind.example.map { ($0.0, JSON.string($0.1)) }),
            ],
        ]
    }

    /// A hold, its status as of `now` (an open hold past its TTL is expired).
    static func hold(_ hold: CreditHold, now: Instant) -> JSON {
        [
            "id": .string(hold.id), "category": .string(hold.category), "amount": .int64(hold.amount), "agent_id": .string(hold.agentId),
            "dataset_id": .string(hold.datasetId), "status": .string(hold.status(at: now).rawValue), "expires_at": .date(hold.expiresAt),
            "created_at": .date(hold.createdAt), "ended_at": .date(hold.endedAt), "settled_amount": .int64(hold.settledAmount ?? 0),
        ]
    }

    static func creditLimit(_ usage: CreditLimitUsage) -> JSON {
        [
            "scope": .string(usage.limit.scope.rawValue), "subject": .string(usage.limit.subject), "category": .string(usage.limit.category),
            "limit": .int64(usage.limit.limit), "window": .string(usage.limit.window.rawValue), "used": .int64(usage.used),
            "window_start": .date(usage.windowStart), "window_end": .date(usage.windowEnd),
        ]
    }

    static func alertThreshold(_ threshold: AlertThreshold) -> JSON { ["percent": .integer(threshold.percent), "remaining": .int64(threshold.remaining)] }

    static func alertSettings(_ settings: AlertSettings) -> JSON {
        ["thresholds": .array(settings.thresholds.map(alertThreshold)), "email": .bool(settings.email), "inherited": .bool(settings.inherited)]
    }

    static func creditAlert(_ alert: CreditAlert) -> JSON {
        [
            "category": .string(alert.category), "event": .string(alert.event), "threshold": alertThreshold(alert.threshold), "level": .int64(alert.level),
            "available": .int64(alert.available), "allowance": .int64(alert.allowance), "window_start": .date(alert.windowStart), "fired_at": .date(alert.firedAt),
        ]
    }

    static func ledgerEntry(_ entry: Journal.Entry) -> JSON {
        [
            "seq": .int64(entry.seq), "kind": .string(entry.kind.rawValue), "category": .string(entry.category), "amount": .int64(entry.amount),
            "balance_after": .int64(entry.balanceAfter), "held_after": .int64(entry.heldAfter), "grant_id": .string(entry.grantId), "source": .string(entry.source),
            "debit_id": .string(entry.debitId), "hold_id": .string(entry.holdId), "agent_id": .string(entry.agentId), "dataset_id": .string(entry.datasetId),
            "drawn_from": .array(entry.drawnFrom.map { ["grant_id": .string($0.grantId), "amount": .int64($0.amount)] }), "created_at": .date(entry.createdAt),
        ]
    }

    static func balance(_ balance: CreditService.CategoryBalance) -> JSON {
        [
            "category": .string(balance.category), "available": .int64(balance.available), "held": .int64(balance.held), "granted_left": .int64(balance.grantedLeft),
            "next_expiry_at": .date(balance.nextExpiryAt), "next_expiry_amount": .int64(balance.nextExpiryAmount),
        ]
    }
}
