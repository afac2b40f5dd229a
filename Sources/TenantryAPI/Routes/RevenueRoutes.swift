import TenantryCore
import TenantryHTTP

/// Operators' coupons and revenue figures.
extension RouteBuilder {
    var revenueEndpoints: [Endpoint] {
        let app = self.app
        let couponBody: Schema = .object([
            ("code", .string(description: "1 to 40 letters, digits, - or _; matched without regard to case")),
            ("discount_type", .cases(of: Coupon.DiscountType.self)),
            ("discount_value", .string(description: "percent: above 0 and at most 100 (25, 12.5); fixed: an amount of currency (10.00); a number is accepted too")),
            ("currency", .string(description: "a fixed discount's ISO 4217 code; none for a percent")),
            ("max_uses", .int64(description: "absent or 0: no limit")), ("valid_from", .dateTime(description: "default: now")),
            ("valid_until", .dateTime(nullable: true, description: "absent: no end")), ("applicable_plans", .array(.string(description: "plan names; empty: every plan"))),
            ("is_active", .boolean(description: "default true")),
        ])
        let couponAnswer: Endpoint.Answer = .json(.object([("coupon", .reference("Coupon"))]))
        return [
            Endpoint(
                "GET", "/v1/admin/coupons", operationId: "AdminCouponList", summary: "Every coupon, newest first, with its uses.", access: .operatorOnly,
                answer: .json(.object([("coupons", .array(.reference("Coupon")))])),
                handler: .offloaded { request, caller in
                    .ok(["coupons": .array(try await app.coupons.list().map(Present.coupon))])
                }
            ),
            Endpoint(
                "POST", "/v1/admin/coupons", operationId: "AdminCouponCreate", summary: "Creates a coupon (seed 004's CreateBillingCoupon).", access: .operatorOnly,
                body: .json(couponBody), answer: couponAnswer,
                handler: .offloaded { request, caller in
                    .ok(["coupon": Present.coupon(try await app.coupons.create(try Self.couponDraft(try request.jsonBody()), by: caller.actor))])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/coupons/{id}", operationId: "AdminCouponGet", summary: "One coupon.", access: .operatorOnly, answer: couponAnswer,
                handler: .inline { request, caller in
                    .ok(["coupon": Present.coupon(try app.coupons.get(id: request.parameter("id")))])
                }
            ),
            Endpoint(
                "PUT", "/v1/admin/coupons/{id}", operationId: "AdminCouponUpdate",
                summary: "Changes a coupon; once used, its code and discount stay (code 3) while its limit, dates, plans and is_active can change.",
                access: .operatorOnly, body: .json(couponBody), answer: couponAnswer,
                handler: .offloaded { request, caller in
                    .ok(["coupon": Present.coupon(try await app.coupons.update(id: request.parameter("id"), try Self.couponDraft(try request.jsonBody()), by: caller.actor))])
                }
            ),
            Endpoint(
                "DELETE", "/v1/admin/coupons/{id}", operationId: "AdminCouponDelete",
                summary: "Deletes a coupon on no invoice; one on invoices is deactivated instead (code 3 says so).", access: .operatorOnly, answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await app.coupons.delete(id: request.parameter("id"), by: caller.actor)
                    return .empty
                }
            ),
            Endpoint(
                "GET", "/v1/admin/revenue/mrr", operationId: "AdminRevenueMrr",
                summary: "Monthly recurring revenue per currency (seed 004's MrrSummary): live paid subscriptions at their renewal price, a yearly one counting 1/12.",
                access: .operatorOnly,
                answer: .json(
                    .object([
                        (
                            "mrr",
                            .array(
                                .object([
                                    ("total_mrr", .number(description: "in the currency's major unit")), ("active_subscriptions", .int64()),
                                    ("trial_subscriptions", .int64(description: "trials have no price: every row counts all of them")),
                                    ("past_due_subscriptions", .int64()), ("currency", .string()),
                                ]))
                        ), ("trial_subscriptions", .int64()),
                    ])),
                handler: .offloaded { request, caller in
                    let (summaries, trials) = try await app.admin.mrr()
                    return .ok([
                        "mrr": .array(
                            summaries.map {
                                [
                                    "total_mrr": Present.price($0.mrrMinor, currency: $0.currency), "active_subscriptions": .int64($0.activeSubscriptions),
                                    "trial_subscriptions": .int64(trials), "past_due_subscriptions": .int64($0.pastDueSubscriptions), "currency": .string($0.currency),
                                ]
                            }), "trial_subscriptions": .int64(trials),
                    ])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/revenue/by-plan", operationId: "AdminRevenueByPlan",
                summary: "Subscribers and monthly recurring revenue per plan and currency (seed 004's RevenueByPlan), the largest first.", access: .operatorOnly,
                answer: .json(
                    .object([
                        (
                            "plans",
                            .array(
                                .object([
                                    ("plan_id", .string(description: "the plan's name")), ("plan_name", .string()), ("subscriber_count", .int64()),
                                    ("monthly_revenue", .number()), ("currency", .string()),
                                ]))
                        )
                    ])),
                handler: .offloaded { request, caller in
                    .ok([
                        "plans": .array(
                            try await app.admin.revenueByPlan().map {
                                [
                                    "plan_id": .string($0.plan), "plan_name": .string($0.plan), "subscriber_count": .int64($0.subscribers),
                                    "monthly_revenue": Present.price($0.mrrMinor, currency: $0.currency), "currency": .string($0.currency),
                                ]
                            })
                    ])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/revenue/monthly", operationId: "AdminRevenueMonthly",
                summary:
                    "Revenue per UTC month and currency, oldest first (seed 004's MonthlyRevenue): what was paid in the month less refunds, invoices issued in it, invoices paid in it.",
                access: .operatorOnly, query: [("months", "1 to 36 (default 12), this month included")],
                answer: .json(
                    .object([
                        (
                            "months",
                            .array(
                                .object([
                                    ("month", .string(description: "YYYY-MM, UTC")), ("total_revenue", .number()), ("invoice_count", .int64()), ("paid_count", .int64()),
                                    ("currency", .string()),
                                ]))
                        )
                    ])),
                handler: .offloaded { request, caller in
                    .ok([
                        "months": .array(
                            try await app.admin.monthlyRevenue(months: try request.queryInteger("months", default: 12)).map {
                                [
                                    "month": .string($0.month), "total_revenue": Present.price($0.revenueMinor, currency: $0.currency),
                                    "invoice_count": .int64($0.invoiceCount), "paid_count": .int64($0.paidCount), "currency": .string($0.currency),
                                ]
                            })
                    ])
                }
            ),
        ]
    }

    static func couponDraft(_ body: RequestBody) throws -> CouponService.Draft {
        let maxUses = try body.int64("max_uses")
        return CouponService.Draft(
            code: try body.string("code"), discountType: try body.string("discount_type"), discountValue: try body.decimal("discount_value"),
            currency: try body.string("currency"), maxUses: maxUses == 0 ? nil : maxUses, validFrom: try body.date("valid_from"),
            validUntil: try body.date("valid_until"), applicablePlans: try body.strings("applicable_plans"),
            isActive: body.has("is_active") ? try body.bool("is_active") : true)
    }
}
