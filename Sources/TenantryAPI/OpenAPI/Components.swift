/// The named schemas the routes share, as `#/components/schemas/…`.
enum Components {
    static let all: [(String, Schema)] = [
        ("Error", .object([("code", .integer(description: "the seed's error code")), ("message", .string())])),
        ("SubscriptionInfo", .object([
            ("plan", .enumeration(["FREE", "PRO", "BUSINESS", "CUSTOM", "NEW_USER_TRIAL", "BYOA_USER_TRIAL"])),
            ("period", .enumeration(["NOT_DEFINE", "MONTHLY", "YEARLY"])),
            ("status", .enumeration(["NO_SUBSCRIPTION", "TRIALING", "ACTIVE", "PAST_DUE", "CANCELED", "EXPIRED"])),
            ("start_at", .dateTime(nullable: true)),
            ("end_at", .dateTime(nullable: true)),
        ])),
        ("User", .object([
            ("id", .string()),
            ("name", .string()),
            ("email", .string()),
            ("thumbnail_url", .string(description: "the avatar's URL path, or empty")),
            ("status", .enumeration(["UNINITIALIZED", "ACTIVE", "DISABLED"])),
            ("subscription_info", .reference("SubscriptionInfo")),
            ("create_at", .dateTime()),
            ("update_at", .dateTime()),
        ])),
        ("TenantInfo", .object([
            ("id", .string()),
            ("name", .string()),
            ("role", .enumeration(["owner", "admin", "member"])),
            ("is_current", .boolean()),
            ("created_at", .dateTime()),
        ])),
        ("Page", .object([("has_more", .boolean()), ("limit", .int64()), ("page", .int64()), ("total", .int64())])),
        ("Member", .object([
            ("email", .string()),
            ("name", .string()),
            ("role", .enumeration(["owner", "admin", "member"])),
            ("status", .enumeration(["UNINITIALIZED", "ACTIVE", "DISABLED", "INVITED"])),
            ("joined_at", .dateTime(description: "when the member joined, or when a pending invitation was sent")),
        ])),
        ("InviteResult", .object([
            ("status", .enumeration(["SC_OK", "SC_INVALID_ARGUMENT", "SC_ALREADY_EXISTS", "SC_PERMISSION_DENIED", "SC_RESOURCE_EXHAUSTED"])),
            ("email", .string()),
            ("message", .string()),
            ("invited_url", .string(description: "the single-use link emailed to the address; empty when refused")),
        ])),
        ("OutboxEmail", .object([
            ("id", .string()),
            ("to", .string()),
            ("subject", .string()),
            ("body", .string(description: "one-time codes and links show while valid, then read [expired]")),
            ("status", .enumeration(["queued", "sent", "failed"])),
            ("created_at", .dateTime()),
        ])),
        ("Job", .object([
            ("id", .string()),
            ("interval_seconds", .int64()),
            ("last_started_at", .dateTime(nullable: true)),
            ("last_finished_at", .dateTime(nullable: true)),
            ("last_result", .enumeration(["never", "ok", "failed"])),
            ("last_error", .string()),
            ("items_processed", .int64()),
            ("next_run_at", .dateTime(nullable: true)),
        ])),
    ]
}
