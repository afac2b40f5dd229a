/// The tables of plans, subscriptions, invoices, credits, API keys, the audit trail and
/// the test clock (migration `v2_billing_and_credits`).
enum BillingSchema {
    static let v2 = """
        CREATE TABLE plan (
            name TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
            config TEXT NOT NULL CHECK (json_valid(config)),
            description TEXT NOT NULL DEFAULT '',
            credit_extension_days INTEGER NOT NULL DEFAULT 0 CHECK (credit_extension_days BETWEEN 0 AND 3650),
            trial_days INTEGER CHECK (trial_days IS NULL OR trial_days BETWEEN 1 AND 3650),
            first_used_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) STRICT;

        -- A price of a plan for a period, or an add-on: `units` credits of `category` per quantity.
        CREATE TABLE variant (
            id TEXT PRIMARY KEY NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('plan', 'addon')),
            plan TEXT NOT NULL DEFAULT '',
            period TEXT NOT NULL DEFAULT 'NOT_DEFINE' CHECK (period IN ('NOT_DEFINE', 'MONTHLY', 'YEARLY')),
            category TEXT NOT NULL DEFAULT '',
            units INTEGER NOT NULL DEFAULT 0 CHECK (units >= 0),
            price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
            description TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            CHECK ((kind = 'plan' AND plan != '' AND period IN ('MONTHLY', 'YEARLY') AND category = '')
                OR (kind = 'addon' AND plan = '' AND category LIKE 'USAGE\\_%' ESCAPE '\\' AND units > 0))
        ) STRICT;

        CREATE TABLE subscription (
            id TEXT PRIMARY KEY NOT NULL,
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            plan TEXT NOT NULL,
            period TEXT NOT NULL CHECK (period IN ('NOT_DEFINE', 'MONTHLY', 'YEARLY')),
            status TEXT NOT NULL CHECK (status IN ('TRIALING', 'ACTIVE', 'PAST_DUE', 'CANCELED', 'EXPIRED')),
            variant_id TEXT REFERENCES variant(id) ON DELETE SET NULL,
            start_at INTEGER NOT NULL,
            -- The trial's end, or the end of the current paid period; NULL for FREE.
            end_at INTEGER,
            cancel_at_period_end INTEGER NOT NULL DEFAULT 0 CHECK (cancel_at_period_end IN (0, 1)),
            ended_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            CHECK ((ended_at IS NULL) = (status IN ('TRIALING', 'ACTIVE', 'PAST_DUE'))),
            CHECK (end_at IS NULL OR end_at > start_at)
        ) STRICT;
        -- One live subscription per tenant; ended ones are its history.
        CREATE UNIQUE INDEX subscription_live_per_tenant ON subscription(tenant_id) WHERE ended_at IS NULL;
        CREATE INDEX subscription_by_tenant ON subscription(tenant_id, start_at);
        CREATE INDEX subscription_live_by_end ON subscription(status, end_at) WHERE ended_at IS NULL;

        -- The stretches of a subscription that carry allowances: the trial, each paid period,
        -- FREE from its start. `next_grant_at` is the next monthly grant still to make.
        CREATE TABLE entitlement (
            id TEXT PRIMARY KEY NOT NULL,
            subscription_id TEXT NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            plan TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('trial', 'period', 'free')),
            start_at INTEGER NOT NULL,
            end_at INTEGER,
            invoice_id TEXT,
            paid INTEGER NOT NULL CHECK (paid IN (0, 1)),
            next_grant_at INTEGER,
            UNIQUE (subscription_id, start_at)
        ) STRICT;
        CREATE INDEX entitlement_due ON entitlement(next_grant_at) WHERE next_grant_at IS NOT NULL AND paid = 1;

        CREATE TABLE invoice (
            id TEXT PRIMARY KEY NOT NULL,
            number INTEGER NOT NULL UNIQUE,
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('subscription', 'renewal', 'addon')),
            subscription_id TEXT REFERENCES subscription(id) ON DELETE SET NULL,
            variant_id TEXT REFERENCES variant(id) ON DELETE SET NULL,
            plan TEXT NOT NULL DEFAULT '',
            period TEXT NOT NULL DEFAULT 'NOT_DEFINE',
            period_start INTEGER,
            period_end INTEGER,
            -- The add-ons bought: [{"category", "quantity", "units", "variant_id"}].
            lines TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(lines)),
            currency TEXT NOT NULL,
            total_minor INTEGER NOT NULL CHECK (total_minor >= 0),
            status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'void')),
            created_at INTEGER NOT NULL,
            due_at INTEGER NOT NULL,
            paid_at INTEGER,
            paid_by TEXT,
            voided_at INTEGER,
            CHECK ((status = 'paid') = (paid_at IS NOT NULL))
        ) STRICT;
        CREATE INDEX invoice_by_tenant ON invoice(tenant_id, created_at);
        CREATE INDEX invoice_open_by_due ON invoice(due_at) WHERE status = 'open';
        CREATE UNIQUE INDEX invoice_renewal_once ON invoice(subscription_id, period_start) WHERE kind = 'renewal';

        CREATE TABLE credit_grant (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            category TEXT NOT NULL CHECK (category LIKE 'USAGE\\_%' ESCAPE '\\' AND category != 'USAGE_UNKNOWN'),
            amount INTEGER NOT NULL CHECK (amount > 0),
            used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0 AND used <= amount),
            effective_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL CHECK (expires_at > effective_at),
            source TEXT NOT NULL CHECK (source IN ('plan', 'trial', 'addon', 'operator', 'rollover')),
            priority INTEGER NOT NULL DEFAULT 0,
            entitlement_id TEXT,
            month_start INTEGER,
            invoice_id TEXT,
            reason TEXT NOT NULL DEFAULT '',
            created_by TEXT,
            created_at INTEGER NOT NULL,
            expired INTEGER NOT NULL DEFAULT 0 CHECK (expired IN (0, 1))
        ) STRICT;
        -- A plan or trial allowance is granted once per entitlement, month and category.
        CREATE UNIQUE INDEX credit_grant_allowance_once ON credit_grant(entitlement_id, month_start, category) WHERE entitlement_id IS NOT NULL;
        CREATE INDEX credit_grant_live ON credit_grant(tenant_id, category, priority, expires_at, seq) WHERE expired = 0;
        CREATE INDEX credit_grant_expiring ON credit_grant(expires_at) WHERE expired = 0;

        CREATE TABLE credit_debit (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            category TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount > 0),
            agent_id TEXT NOT NULL DEFAULT '',
            dataset_id TEXT NOT NULL DEFAULT '',
            idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
            request_hash BLOB NOT NULL,
            remaining_after INTEGER NOT NULL,
            api_key_id TEXT,
            created_at INTEGER NOT NULL,
            UNIQUE (tenant_id, idempotency_key)
        ) STRICT;
        CREATE INDEX credit_debit_by_agent ON credit_debit(tenant_id, agent_id) WHERE agent_id != '';
        CREATE INDEX credit_debit_by_dataset ON credit_debit(tenant_id, dataset_id) WHERE dataset_id != '';
        CREATE INDEX credit_debit_by_time ON credit_debit(created_at);

        -- Which grants a debit drew from, and how much from each.
        CREATE TABLE credit_debit_part (
            debit_seq INTEGER NOT NULL REFERENCES credit_debit(seq) ON DELETE CASCADE,
            grant_seq INTEGER NOT NULL REFERENCES credit_grant(seq) ON DELETE CASCADE,
            amount INTEGER NOT NULL CHECK (amount > 0),
            PRIMARY KEY (debit_seq, grant_seq)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX credit_debit_part_by_grant ON credit_debit_part(grant_seq);

        -- What was left of a grant when it expired.
        CREATE TABLE credit_expiry (
            grant_seq INTEGER PRIMARY KEY REFERENCES credit_grant(seq) ON DELETE CASCADE,
            tenant_id TEXT NOT NULL,
            category TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount >= 0),
            expired_at INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE api_key (
            id TEXT PRIMARY KEY NOT NULL,
            tenant_id TEXT REFERENCES tenant(id) ON DELETE CASCADE,
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            key_prefix TEXT NOT NULL,
            key_hash BLOB NOT NULL UNIQUE CHECK (length(key_hash) = 32),
            scopes TEXT NOT NULL CHECK (json_valid(scopes)),
            created_by TEXT REFERENCES user(id) ON DELETE SET NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            last_used_at INTEGER,
            revoked_at INTEGER
        ) STRICT;
        CREATE INDEX api_key_by_tenant ON api_key(tenant_id, created_at);

        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor_id TEXT,
            actor_email TEXT NOT NULL DEFAULT '',
            action TEXT NOT NULL,
            target_type TEXT NOT NULL,
            target_id TEXT NOT NULL,
            tenant_id TEXT,
            before TEXT CHECK (before IS NULL OR json_valid(before)),
            after TEXT CHECK (after IS NULL OR json_valid(after))
        ) STRICT;
        CREATE INDEX audit_by_target ON audit(target_type, target_id);
        CREATE INDEX audit_by_tenant ON audit(tenant_id, seq);

        -- The test clock's offset from the system clock, kept across restarts.
        CREATE TABLE clock_offset (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            milliseconds INTEGER NOT NULL
        ) STRICT;
        """

    /// The plans a fresh database starts with, frozen as they shipped: a migration never
    /// calls application code, which may change after it ran. Operators change them freely.
    static let v2Plans = """
        WITH seed(name, config, description, credit_extension_days, trial_days) AS (VALUES
            ('FREE', '{"ai_web_widget":true,"analytics":"ANALYTICS_BASIC","conversation_insights":false,"custom_branding_footer":false,"integration_types":[],"lead_collections":[],"lead_qualification":false,"magic_spotlight":false,"multi_lingual":false,"team_members":1,"train_material_types":[],"usage_configs":[{"category":"USAGE_AI_CREDIT","total_amount":100}],"voice_agent":false}',
             'Free', 0, NULL),
            ('NEW_USER_TRIAL', '{"ai_web_widget":true,"analytics":"ANALYTICS_ADVANCED","conversation_insights":true,"custom_branding_footer":false,"integration_types":[],"lead_collections":[],"lead_qualification":true,"magic_spotlight":true,"multi_lingual":true,"team_members":5,"train_material_types":[],"usage_configs":[{"category":"USAGE_AI_CREDIT","total_amount":10000}],"voice_agent":false}',
             'Free trial of Pro', 0, 14),
            ('BYOA_USER_TRIAL', '{"ai_web_widget":true,"analytics":"ANALYTICS_ADVANCED","conversation_insights":true,"custom_branding_footer":false,"integration_types":[],"lead_collections":[],"lead_qualification":true,"magic_spotlight":true,"multi_lingual":true,"team_members":5,"train_material_types":[],"usage_configs":[{"category":"USAGE_AI_CREDIT","total_amount":10000}],"voice_agent":false}',
             'Free trial of Pro, bring your own agent', 0, 14),
            ('PRO', '{"ai_web_widget":true,"analytics":"ANALYTICS_ADVANCED","conversation_insights":true,"custom_branding_footer":false,"integration_types":[],"lead_collections":[],"lead_qualification":true,"magic_spotlight":true,"multi_lingual":true,"team_members":5,"train_material_types":[],"usage_configs":[{"category":"USAGE_AI_CREDIT","total_amount":10000}],"voice_agent":false}',
             'Pro', 7, NULL),
            ('BUSINESS', '{"ai_web_widget":true,"analytics":"ANALYTICS_ADVANCED","conversation_insights":true,"custom_branding_footer":true,"integration_types":[],"lead_collections":[],"lead_qualification":true,"magic_spotlight":true,"multi_lingual":true,"team_members":25,"train_material_types":[],"usage_configs":[{"category":"USAGE_AI_CREDIT","total_amount":50000}],"voice_agent":true}',
             'Business', 7, NULL),
            ('CUSTOM', '{"ai_web_widget":true,"analytics":"ANALYTICS_ADVANCED","conversation_insights":true,"custom_branding_footer":true,"integration_types":[],"lead_collections":[],"lead_qualification":true,"magic_spotlight":true,"multi_lingual":true,"team_members":25,"train_material_types":[],"usage_configs":[{"category":"USAGE_AI_CREDIT","total_amount":50000}],"voice_agent":true}',
             'Custom: a tenant-specific plan named by the tenant''s id overrides this one', 7, NULL)
        ), clock(now) AS (SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        INSERT INTO plan (name, config, description, credit_extension_days, trial_days, first_used_at, created_at, updated_at)
        SELECT name, config, description, credit_extension_days, trial_days, NULL, now, now FROM seed, clock;
        """

    /// Running totals, kept in each debit's transaction, so usage reports cost what their
    /// answer does instead of what the ledger holds.
    static let v3 = """
        -- Credits used per agent and per dataset in each allowance window (the window starts
        -- where the newest plan or trial grant that has begun starts; 0 before any).
        CREATE TABLE usage_total (
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            window_start INTEGER NOT NULL,
            dimension TEXT NOT NULL CHECK (dimension IN ('agent', 'dataset')),
            subject TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
            category TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount > 0),
            PRIMARY KEY (tenant_id, window_start, dimension, subject, category)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX outbox_by_recipient ON outbox(recipient, created_at);
        CREATE INDEX credit_grant_allowance_start ON credit_grant(tenant_id, effective_at) WHERE source IN ('plan', 'trial');

        INSERT INTO usage_total (tenant_id, window_start, dimension, subject, category, amount)
        SELECT tenant_id, window_start, 'agent', agent_id, category, sum(amount) FROM (
            SELECT d.tenant_id, d.agent_id, d.category, d.amount, coalesce((
                SELECT max(g.effective_at) FROM credit_grant g
                WHERE g.tenant_id = d.tenant_id AND g.source IN ('plan', 'trial') AND g.effective_at <= d.created_at), 0) AS window_start
            FROM credit_debit d WHERE d.agent_id != '')
        GROUP BY tenant_id, window_start, agent_id, category;
        INSERT INTO usage_total (tenant_id, window_start, dimension, subject, category, amount)
        SELECT tenant_id, window_start, 'dataset', dataset_id, category, sum(amount) FROM (
            SELECT d.tenant_id, d.dataset_id, d.category, d.amount, coalesce((
                SELECT max(g.effective_at) FROM credit_grant g
                WHERE g.tenant_id = d.tenant_id AND g.source IN ('plan', 'trial') AND g.effective_at <= d.created_at), 0) AS window_start
            FROM credit_debit d WHERE d.dataset_id != '')
        GROUP BY tenant_id, window_start, dataset_id, category;
        """

    /// Outgoing webhooks: endpoints, the deliveries an event fans out to (written in the
    /// transaction of the change that caused it), and every attempt.
    static let v5 = """
        CREATE TABLE webhook (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            url TEXT NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
            secret TEXT NOT NULL CHECK (secret LIKE 'whsec_%'),
            previous_secret TEXT,
            previous_secret_expires_at INTEGER,
            events TEXT NOT NULL,
            is_active INTEGER NOT NULL CHECK (is_active IN (0, 1)),
            consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
            failing_since INTEGER,
            created_by TEXT NOT NULL DEFAULT '',
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            last_triggered_at INTEGER,
            last_success_at INTEGER
        ) STRICT;

        CREATE TABLE webhook_delivery (
            id TEXT PRIMARY KEY NOT NULL,
            webhook_id TEXT NOT NULL REFERENCES webhook(id) ON DELETE CASCADE,
            message_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
            attempt INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
            created_at INTEGER NOT NULL,
            http_status INTEGER,
            response_body TEXT,
            error_message TEXT,
            next_retry_at INTEGER,
            completed_at INTEGER
        ) STRICT;
        CREATE INDEX webhook_delivery_due ON webhook_delivery(next_retry_at) WHERE status = 'pending';
        CREATE INDEX webhook_delivery_by_webhook ON webhook_delivery(webhook_id, created_at);
        CREATE INDEX webhook_delivery_by_age ON webhook_delivery(created_at);

        CREATE TABLE webhook_attempt (
            delivery_id TEXT NOT NULL REFERENCES webhook_delivery(id) ON DELETE CASCADE,
            attempt INTEGER NOT NULL,
            attempted_at INTEGER NOT NULL,
            http_status INTEGER,
            response_body TEXT,
            error_message TEXT,
            next_retry_at INTEGER,
            PRIMARY KEY (delivery_id, attempt)
        ) STRICT, WITHOUT ROWID;

        -- Trials warned 3 days before their end, once each.
        CREATE TABLE trial_warning (
            subscription_id TEXT PRIMARY KEY NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,
            warned_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        """

    /// Credits for AI workloads: holds (reserve, then settle or release), caps per agent and
    /// per API key, alerts before credits run out, rollover, and the journal the ledger
    /// route reads (one row per change of a balance, with the balance after it).
    static let v6 = """
        CREATE TABLE credit_hold (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            category TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount > 0),
            agent_id TEXT NOT NULL DEFAULT '',
            dataset_id TEXT NOT NULL DEFAULT '',
            api_key_id TEXT,
            idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
            request_hash BLOB NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open', 'settled', 'released', 'expired')),
            expires_at INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            remaining_after INTEGER NOT NULL,
            ended_at INTEGER,
            settled_amount INTEGER CHECK (settled_amount >= 0),
            settle_key TEXT,
            debit_seq INTEGER REFERENCES credit_debit(seq),
            end_remaining INTEGER,
            UNIQUE (tenant_id, idempotency_key),
            CHECK ((status = 'open') = (ended_at IS NULL)),
            CHECK ((status = 'settled') = (settled_amount IS NOT NULL))
        ) STRICT;
        CREATE INDEX credit_hold_open ON credit_hold(tenant_id, category, expires_at) WHERE status = 'open';
        CREATE INDEX credit_hold_expiring ON credit_hold(expires_at) WHERE status = 'open';
        CREATE INDEX credit_hold_by_tenant ON credit_hold(tenant_id, seq);

        -- A cap on what one agent or one API key may spend of a category per window; the
        -- row also counts what was used in its current window (window_start).
        CREATE TABLE credit_limit (
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            category TEXT NOT NULL,
            scope TEXT NOT NULL CHECK (scope IN ('agent', 'api_key')),
            subject TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
            window_kind TEXT NOT NULL CHECK (window_kind IN ('day', 'month', 'period')),
            amount INTEGER NOT NULL CHECK (amount >= 0),
            window_start INTEGER NOT NULL,
            used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
            created_at INTEGER NOT NULL,
            PRIMARY KEY (tenant_id, category, scope, subject, window_kind)
        ) STRICT, WITHOUT ROWID;

        -- A tenant's own alert thresholds (NULL: its plan's) and whether its owners get email.
        CREATE TABLE credit_alert_setting (
            tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            thresholds TEXT,
            email INTEGER NOT NULL CHECK (email IN (0, 1)),
            updated_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        -- Each threshold fires once per allowance window and category.
        CREATE TABLE credit_alert (
            seq INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            category TEXT NOT NULL,
            window_start INTEGER NOT NULL,
            threshold TEXT NOT NULL,
            event TEXT NOT NULL CHECK (event IN ('credits.low', 'credits.depleted')),
            level INTEGER NOT NULL,
            available INTEGER NOT NULL,
            allowance INTEGER NOT NULL,
            fired_at INTEGER NOT NULL,
            UNIQUE (tenant_id, category, window_start, threshold)
        ) STRICT;
        CREATE INDEX credit_alert_by_tenant ON credit_alert(tenant_id, seq);
        -- The highest level of a category's window that has not fired yet (-1: none left), so
        -- a debit above it costs one lookup; dropped whenever thresholds or plans change.
        CREATE TABLE credit_alert_state (
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            category TEXT NOT NULL,
            window_start INTEGER NOT NULL,
            next_level INTEGER NOT NULL,
            PRIMARY KEY (tenant_id, category)
        ) STRICT, WITHOUT ROWID;

        -- A plan grant's period end, until the rollover step has looked at it.
        ALTER TABLE credit_grant ADD COLUMN rollover_due_at INTEGER;
        ALTER TABLE credit_grant ADD COLUMN rolled_from_seq INTEGER REFERENCES credit_grant(seq);
        CREATE INDEX credit_grant_rollover_due ON credit_grant(rollover_due_at) WHERE rollover_due_at IS NOT NULL;
        CREATE UNIQUE INDEX credit_grant_rolled_once ON credit_grant(rolled_from_seq) WHERE rolled_from_seq IS NOT NULL;

        CREATE TABLE credit_entry (
            seq INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            category TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('opening', 'grant', 'rollover', 'debit', 'hold', 'settle', 'release', 'hold_expiry', 'expiry')),
            amount INTEGER NOT NULL CHECK (amount >= 0),
            balance_after INTEGER NOT NULL,
            held_after INTEGER NOT NULL,
            grant_seq INTEGER,
            debit_seq INTEGER,
            hold_seq INTEGER,
            agent_id TEXT NOT NULL DEFAULT '',
            dataset_id TEXT NOT NULL DEFAULT '',
            created_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX credit_entry_by_tenant ON credit_entry(tenant_id, seq);

        -- A database from before the journal starts it with each live balance.
        INSERT INTO credit_entry (tenant_id, category, kind, amount, balance_after, held_after, created_at)
        SELECT tenant_id, category, 'opening', sum(amount - used), sum(amount - used), 0, now
        FROM credit_grant, (SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) + coalesce((SELECT milliseconds FROM clock_offset), 0) AS now)
        WHERE expired = 0 AND effective_at <= now AND expires_at > now
        GROUP BY tenant_id, category;
        """

    /// A payment provider (Stripe): each invoice's checkout, what paid it, refunds and
    /// disputes; every provider event applied once.
    static let v7 = """
        ALTER TABLE invoice ADD COLUMN payment_session_id TEXT;
        ALTER TABLE invoice ADD COLUMN payment_url TEXT;
        ALTER TABLE invoice ADD COLUMN payment_session_at INTEGER;
        ALTER TABLE invoice ADD COLUMN payment_intent_id TEXT;
        ALTER TABLE invoice ADD COLUMN refunded_minor INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0);
        ALTER TABLE invoice ADD COLUMN dispute_status TEXT NOT NULL DEFAULT '';
        CREATE INDEX invoice_by_payment_intent ON invoice(payment_intent_id) WHERE payment_intent_id IS NOT NULL;

        CREATE TABLE payment_event (
            id TEXT PRIMARY KEY NOT NULL,
            provider TEXT NOT NULL,
            type TEXT NOT NULL,
            invoice_id TEXT REFERENCES invoice(id) ON DELETE SET NULL,
            outcome TEXT NOT NULL,
            received_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        """

    static let v8 = """
        CREATE TABLE coupon (
            id TEXT PRIMARY KEY NOT NULL,
            code TEXT NOT NULL UNIQUE COLLATE NOCASE,
            discount_type TEXT NOT NULL CHECK (discount_type IN ('percent', 'fixed')),
            discount_value INTEGER NOT NULL CHECK (discount_value > 0),
            currency TEXT NOT NULL DEFAULT '',
            max_uses INTEGER CHECK (max_uses IS NULL OR max_uses > 0),
            valid_from INTEGER NOT NULL,
            valid_until INTEGER CHECK (valid_until IS NULL OR valid_until > valid_from),
            applicable_plans TEXT NOT NULL DEFAULT '[]',
            is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            CHECK ((discount_type = 'percent' AND discount_value <= 10000 AND currency = '') OR (discount_type = 'fixed' AND length(currency) = 3))
        ) STRICT;
        ALTER TABLE invoice ADD COLUMN coupon_id TEXT REFERENCES coupon(id);
        CREATE INDEX invoice_by_coupon ON invoice(coupon_id) WHERE coupon_id IS NOT NULL;
        CREATE INDEX invoice_by_paid_at ON invoice(paid_at) WHERE status = 'paid';
        CREATE INDEX invoice_by_created_at ON invoice(created_at);
        ALTER TABLE subscription ADD COLUMN scheduled_variant_id TEXT REFERENCES variant(id);

        -- Every invoice lists its lines now: a plan's price, or what add-ons cost (priced as
        -- sold when an invoice had one line; by the variant's price when it had several).
        UPDATE invoice SET lines = json_array(json_object(
                'kind', 'plan', 'description', plan || ' ' || lower(period), 'amount_minor', total_minor,
                'category', '', 'quantity', 1, 'units', 0, 'variant_id', coalesce(variant_id, '')))
            WHERE kind IN ('subscription', 'renewal') AND lines = '[]';
        UPDATE invoice SET lines = (
            SELECT json_group_array(json_object(
                'kind', 'addon',
                'description', (j.value ->> 'quantity') * (j.value ->> 'units') || ' ' || (j.value ->> 'category') || ' credits ('
                    || (j.value ->> 'quantity') || ' × ' || (j.value ->> 'units') || ')',
                'amount_minor', CASE WHEN json_array_length(invoice.lines) = 1 THEN invoice.total_minor
                    ELSE (j.value ->> 'quantity') * coalesce((SELECT v.price_minor FROM variant v WHERE v.id = j.value ->> 'variant_id'), 0) END,
                'category', j.value ->> 'category', 'quantity', j.value ->> 'quantity', 'units', j.value ->> 'units', 'variant_id', j.value ->> 'variant_id'))
            FROM json_each(invoice.lines) j)
            WHERE kind = 'addon' AND lines != '[]';
        """

    /// team_members 0 meant "no limit"; it is a generated client's zero value ("not set")
    /// now, and -1 means no limit.
    static let v9 = """
        UPDATE plan SET config = json_set(config, '$.team_members', -1) WHERE json_extract(config, '$.team_members') = 0;
        """

    /// Operators' second factor: a TOTP secret (confirmed by a first code), single-use
    /// recovery codes (hashed), and the short-lived challenge between password and code.
    static let v10 = """
        CREATE TABLE totp_factor (
            user_id TEXT PRIMARY KEY NOT NULL REFERENCES user(id) ON DELETE CASCADE,
            secret BLOB NOT NULL CHECK (length(secret) = 20),
            confirmed_at INTEGER,
            last_step INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE totp_recovery_code (
            user_id TEXT NOT NULL REFERENCES user(id) ON DELETE CASCADE,
            code_hash BLOB NOT NULL,
            used_at INTEGER,
            PRIMARY KEY (user_id, code_hash)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE login_challenge (
            token_hash BLOB PRIMARY KEY NOT NULL,
            user_id TEXT NOT NULL REFERENCES user(id) ON DELETE CASCADE,
            expires_at INTEGER NOT NULL,
            used_at INTEGER
        ) STRICT, WITHOUT ROWID;
        """

    /// Sign-in through OpenID Connect: identities linked to users, the attempts under way
    /// (state, nonce, PKCE verifier, the browser's binding) and the tickets they end with.
    static let v11 = """
        CREATE TABLE user_identity (
            provider TEXT NOT NULL,
            subject TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES user(id) ON DELETE CASCADE,
            email TEXT NOT NULL DEFAULT '',
            linked_at INTEGER NOT NULL,
            PRIMARY KEY (provider, subject)
        ) STRICT, WITHOUT ROWID;
        CREATE UNIQUE INDEX user_identity_one_per_provider ON user_identity(user_id, provider);
        CREATE TABLE oauth_state (
            state_hash BLOB PRIMARY KEY NOT NULL,
            provider TEXT NOT NULL,
            nonce TEXT NOT NULL,
            code_verifier TEXT NOT NULL,
            binding_hash BLOB NOT NULL,
            redirect_to TEXT NOT NULL,
            link_user_id TEXT REFERENCES user(id) ON DELETE CASCADE,
            expires_at INTEGER NOT NULL,
            used_at INTEGER
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE oauth_ticket (
            ticket_hash BLOB PRIMARY KEY NOT NULL,
            user_id TEXT NOT NULL REFERENCES user(id) ON DELETE CASCADE,
            expires_at INTEGER NOT NULL,
            used_at INTEGER
        ) STRICT, WITHOUT ROWID;
        """

    /// What the open holds of each tenant and category reserve, kept by triggers in the
    /// statement that opens or ends a hold, so a debit reads one row instead of summing every
    /// open hold. Open holds past their TTL that the timer has not marked yet are subtracted
    /// by an index range (`credit_hold_open` index, expires_at <= now): a few at most.
    static let v12 = """
        CREATE TABLE credit_hold_total (
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            category TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount >= 0),
            holds INTEGER NOT NULL CHECK (holds >= 0),
            PRIMARY KEY (tenant_id, category)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO credit_hold_total (tenant_id, category, amount, holds)
            SELECT tenant_id, category, sum(amount), count(*) FROM credit_hold WHERE status = 'open' GROUP BY tenant_id, category;
        CREATE TRIGGER credit_hold_opened AFTER INSERT ON credit_hold WHEN NEW.status = 'open' BEGIN
            INSERT OR IGNORE INTO credit_hold_total (tenant_id, category, amount, holds) VALUES (NEW.tenant_id, NEW.category, 0, 0);
            UPDATE credit_hold_total SET amount = amount + NEW.amount, holds = holds + 1 WHERE tenant_id = NEW.tenant_id AND category = NEW.category;
        END;
        CREATE TRIGGER credit_hold_ended AFTER UPDATE OF status ON credit_hold WHEN OLD.status = 'open' AND NEW.status != 'open' BEGIN
            UPDATE credit_hold_total SET amount = amount - OLD.amount, holds = holds - 1 WHERE tenant_id = OLD.tenant_id AND category = OLD.category;
        END;
        CREATE TRIGGER credit_hold_removed AFTER DELETE ON credit_hold WHEN OLD.status = 'open' BEGIN
            UPDATE credit_hold_total SET amount = amount - OLD.amount, holds = holds - 1 WHERE tenant_id = OLD.tenant_id AND category = OLD.category;
        END;
        """

    /// Two running counts for the hot paths. `credential_change` counts the changes that make
    /// a credential held in memory wrong (`CredentialCache`): triggers bump a row of it, which
    /// the writer's observer sees in the commit that made the change. Triggers, rather than
    /// SQLite's per-row update hook, because `membership` is a WITHOUT ROWID table, whose
    /// changes that hook never reports. Row 1 counts every change but two: marking a key used
    /// (`last_used_at`) is none, and marking a session used (`last_seen_at`, which moves its
    /// idle expiry) counts in row 2, for sessions only. The SQL is literal, as every
    /// migration's is, so that it stays as shipped.
    static let v13 = """
        CREATE TABLE credential_change (
            id INTEGER PRIMARY KEY CHECK (id IN (1, 2)),
            changes INTEGER NOT NULL
        ) STRICT;
        INSERT INTO credential_change (id, changes) VALUES (1, 0), (2, 0);
        CREATE TRIGGER api_key_update_changes_credentials
            AFTER UPDATE OF id, tenant_id, name, key_prefix, key_hash, scopes, created_by, created_at, expires_at, revoked_at ON api_key
            BEGIN UPDATE credential_change SET changes = changes + 1 WHERE id = 1; END;
        CREATE TRIGGER api_key_delete_changes_credentials AFTER DELETE ON api_key BEGIN UPDATE credential_change SET changes = changes + 1 WHERE id = 1; END;
        CREATE TRIGGER session_update_changes_credentials
            AFTER UPDATE OF id, token_hash, user_id, current_tenant_id, expires_at, revoked_at ON session
            BEGIN UPDATE credential_change SET changes = changes + 1 WHERE id = 1; END;
        CREATE TRIGGER session_delete_changes_credentials AFTER DELETE ON session BEGIN UPDATE credential_change SET changes = changes + 1 WHERE id = 1; END;
        -- A session marked as used changes how long it stays open, and no other credential.
        CREATE TRIGGER session_used_changes_credentials AFTER UPDATE OF last_seen_at ON session
            BEGIN UPDATE credential_change SET changes = changes + 1 WHERE id = 2; END;
        CREATE TRIGGER user_update_changes_credentials AFTER UPDATE ON user BEGIN UPDATE credential_change SET changes = changes + 1 WHERE id = 1; END;
        CREATE TRIGGER user_delete_changes_credentials AFTER DELETE ON user BEGIN UPDATE credential_change SET changes = changes + 1 WHERE id = 1; END;
        CREATE TRIGGER membership_insert_changes_credentials AFTER INSERT ON membership BEGIN UPDATE credential_change SET changes = changes + 1 WHERE id = 1; END;
        CREATE TRIGGER membership_update_changes_credentials AFTER UPDATE ON membership BEGIN UPDATE credential_change SET changes = changes + 1 WHERE id = 1; END;
        CREATE TRIGGER membership_delete_changes_credentials AFTER DELETE ON membership BEGIN UPDATE credential_change SET changes = changes + 1 WHERE id = 1; END;
        CREATE TRIGGER tenant_delete_changes_credentials AFTER DELETE ON tenant BEGIN UPDATE credential_change SET changes = changes + 1 WHERE id = 1; END;

        -- How many journal entries each tenant has per category, kept in the statement that
        -- appends one: the ledger page's total costs a lookup, not a count of the journal.
        CREATE TABLE credit_entry_count (
            tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
            category TEXT NOT NULL,
            entries INTEGER NOT NULL CHECK (entries >= 0),
            PRIMARY KEY (tenant_id, category)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO credit_entry_count (tenant_id, category, entries) SELECT tenant_id, category, count(*) FROM credit_entry GROUP BY tenant_id, category;
        CREATE TRIGGER credit_entry_counted AFTER INSERT ON credit_entry BEGIN
            INSERT INTO credit_entry_count (tenant_id, category, entries) VALUES (NEW.tenant_id, NEW.category, 1)
            ON CONFLICT DO UPDATE SET entries = entries + 1;
        END;
        """
}
