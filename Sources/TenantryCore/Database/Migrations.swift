import Foundation
import GRDB

/// The schema, as named migrations. A migration that has shipped is never edited: later
/// changes are new migrations.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1_accounts_and_tenants") { db in
            try db.execute(
                sql: """
                    CREATE TABLE user (
                        id TEXT PRIMARY KEY NOT NULL,
                        email TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
                        name TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 100),
                        password_hash TEXT CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
                        status TEXT NOT NULL CHECK (status IN ('UNINITIALIZED', 'ACTIVE', 'DISABLED')),
                        is_operator INTEGER NOT NULL DEFAULT 0 CHECK (is_operator IN (0, 1)),
                        avatar_id TEXT,
                        timezone TEXT NOT NULL DEFAULT '',
                        country TEXT NOT NULL DEFAULT '',
                        from_link TEXT NOT NULL DEFAULT '',
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        CHECK (status = 'UNINITIALIZED' OR password_hash IS NOT NULL OR status = 'DISABLED')
                    ) STRICT;

                    CREATE TABLE tenant (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    ) STRICT;

                    CREATE TABLE membership (
                        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
                        user_id TEXT NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                        role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
                        joined_at INTEGER NOT NULL,
                        PRIMARY KEY (tenant_id, user_id)
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX membership_by_user ON membership(user_id, joined_at);

                    CREATE TABLE session (
                        id TEXT PRIMARY KEY NOT NULL,
                        token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
                        user_id TEXT NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                        current_tenant_id TEXT REFERENCES tenant(id) ON DELETE SET NULL,
                        client_address TEXT NOT NULL DEFAULT '',
                        created_at INTEGER NOT NULL,
                        last_seen_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL CHECK (expires_at > created_at),
                        revoked_at INTEGER
                    ) STRICT;
                    CREATE INDEX session_by_user ON session(user_id);
                    CREATE INDEX session_by_expiry ON session(expires_at);

                    -- One-time codes and tokens of registration and password reset.
                    CREATE TABLE verification (
                        id TEXT PRIMARY KEY NOT NULL,
                        purpose TEXT NOT NULL CHECK (purpose IN ('register', 'reset_code', 'reset')),
                        token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
                        email TEXT NOT NULL,
                        user_id TEXT REFERENCES user(id) ON DELETE CASCADE,
                        code_hash BLOB CHECK (code_hash IS NULL OR length(code_hash) = 32),
                        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL CHECK (expires_at > created_at),
                        consumed_at INTEGER,
                        CHECK ((purpose = 'reset') = (code_hash IS NULL))
                    ) STRICT;
                    CREATE INDEX verification_by_expiry ON verification(expires_at);

                    CREATE TABLE invite (
                        id TEXT PRIMARY KEY NOT NULL,
                        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
                        email TEXT NOT NULL CHECK (email = lower(email)),
                        role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
                        token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
                        invited_by TEXT REFERENCES user(id) ON DELETE SET NULL,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL CHECK (expires_at > created_at),
                        accepted_at INTEGER,
                        revoked_at INTEGER
                    ) STRICT;
                    CREATE UNIQUE INDEX invite_pending_per_email ON invite(tenant_id, email)
                        WHERE accepted_at IS NULL AND revoked_at IS NULL;

                    CREATE TABLE avatar (
                        id TEXT PRIMARY KEY NOT NULL,
                        user_id TEXT NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                        content_type TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
                        data BLOB NOT NULL CHECK (length(data) BETWEEN 1 AND 1048576),
                        created_at INTEGER NOT NULL
                    ) STRICT;
                    CREATE INDEX avatar_by_user ON avatar(user_id);

                    -- Emails queued for the mail transport. Secrets (codes, links) are never
                    -- stored: the body holds a placeholder, filled from memory while valid.
                    CREATE TABLE outbox (
                        id TEXT PRIMARY KEY NOT NULL,
                        recipient TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        body TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
                        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                        created_at INTEGER NOT NULL,
                        sent_at INTEGER,
                        last_error TEXT
                    ) STRICT;
                    CREATE INDEX outbox_by_created ON outbox(created_at);

                    CREATE TABLE job_state (
                        id TEXT PRIMARY KEY NOT NULL,
                        last_started_at INTEGER,
                        last_finished_at INTEGER,
                        last_result TEXT NOT NULL DEFAULT 'never' CHECK (last_result IN ('never', 'ok', 'failed')),
                        last_error TEXT,
                        items_processed INTEGER NOT NULL DEFAULT 0,
                        next_run_at INTEGER
                    ) STRICT;
                    """)
        }
        migrator.registerMigration("v2_billing_and_credits") { db in
            try db.execute(sql: BillingSchema.v2)
            try db.execute(sql: BillingSchema.v2Plans)
        }
        migrator.registerMigration("v3_usage_totals") { db in
            try db.execute(sql: BillingSchema.v3)
        }
        migrator.registerMigration("v4_mail_delivery") { db in
            try db.execute(
                sql: """
                    ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;
                    UPDATE outbox SET next_attempt_at = created_at WHERE status = 'queued';
                    CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'queued';
                    """)
        }
        migrator.registerMigration("v5_webhooks") { db in
            try db.execute(sql: BillingSchema.v5)
        }
        migrator.registerMigration("v6_credits_for_ai") { db in
            try db.execute(sql: BillingSchema.v6)
        }
        migrator.registerMigration("v7_payments") { db in
            try db.execute(sql: BillingSchema.v7)
        }
        migrator.registerMigration("v8_plan_changes_and_coupons") { db in
            try db.execute(sql: BillingSchema.v8)
        }
        migrator.registerMigration("v9_no_member_limit") { db in
            try db.execute(sql: BillingSchema.v9)
        }
        migrator.registerMigration("v10_operator_two_factor") { db in
            try db.execute(sql: BillingSchema.v10)
        }
        migrator.registerMigration("v11_oidc_sign_in") { db in
            try db.execute(sql: BillingSchema.v11)
        }
        migrator.registerMigration("v12_open_hold_totals") { db in
            try db.execute(sql: BillingSchema.v12)
        }
        migrator.registerMigration("v13_credential_changes_and_entry_counts") { db in
            try db.execute(sql: BillingSchema.v13)
        }
        return migrator
    }
}
