#!/usr/bin/env python3
"""Fills a database that `tenantryd migrate` just created with a large, consistent ledger.

    bench/generate-ledger.py DB [--tenants 100000] [--debits 10000000] [--seed 1] [--span-days 60]

Writes what the daemon itself would have written over the tenants' lives (read
Sources/TenantryCore: Subscriptions, Allowances, Ledger.draw, Journal.record, expireGrants),
so that `tenantryd check` passes on the result:

  * per tenant (ids shaped like Secrets.identifier: prefix, 48 bits of the creation's
    milliseconds, 80 random bits, base32): an owner (user + membership; a fifth of the
    tenants also have 1 to 3 admins/members), its NEW_USER_TRIAL subscription (EXPIRED, with
    its trial entitlement, trial grant of 10,000, its expiry and trial_warning), then FREE
    (ACTIVE, its `free` entitlement, one 100-credit plan grant per month since, each past
    month's expired with its credit_expiry and journal entry; the current month's grant live,
    `next_grant_at` and `rollover_due_at` at its end), one API key (usage.read, usage.write);
    tenants whose debits need more than FREE gives get an operator grant (priority 10) sized
    to what they use, made before their first debit;
  * DEBITS debits over the last SPAN_DAYS days, in time order over all tenants, skewed
    (Zipf, s = 1: tenant rank r gets a share ~ 1/(r+1); rank 0, the busiest, is the one the
    bench uses), amounts mostly 1 (a quarter 2 to 20), agents agent-0.. (64 for rank 0), a
    dataset on 30 %, each with what Ledger.draw writes: credit_debit (idempotency key,
    request hash, remaining_after, api_key_id), credit_debit_part in burn-down order (this
    month's plan grant, then the operator grant), the grants' `used`, the usage_total row of
    its allowance window (agent and dataset), and its credit_entry with the running
    balance_after / held_after.

Each tenant's current FREE month started between 1 hour and 20 days before the generation
and ends at least 8 days after it, so a daemon started on the result within a week has no
month to roll over (no catch-up grants competing with a benchmark). Alerts (credit_alert,
credit_alert_state), audit rows and sessions are not generated: the first debit of a tenant
evaluates its alert state as after a restart.

Fast: journal off, synchronous off, one transaction, the non-unique indexes of the big
tables dropped and rebuilt from their own CREATE INDEX text (the schema ends identical).
Progress on stderr; at the end key=value lines on stdout (bench_tenant_id,
bench_owner_email, generated_at_ms, counts, seconds).
"""
import argparse
import base64
import bisect
import calendar
import hashlib
import itertools
import os
import random
import sqlite3
import sys
import time
from array import array
from datetime import datetime, timezone

DAY = 86_400_000
CATEGORY = "USAGE_AI_CREDIT"
TRIAL_PLAN, TRIAL_AMOUNT, TRIAL_DAYS = "NEW_USER_TRIAL", 10_000, 14
FREE_PLAN, FREE_AMOUNT = "FREE", 100
OPERATOR_EXPIRES = 4_070_908_800_000  # 2099-01-01T00:00:00Z
OPERATOR_EMAIL = "ops@bench.test"
BIG_TABLES = ("credit_debit", "credit_debit_part", "credit_entry", "credit_grant", "usage_total", "credit_expiry")


def log(msg):
    print(f"generate-ledger: {msg}", file=sys.stderr, flush=True)


def months_add(ms, k):
    """Months.add: calendar months in UTC, the day clamped to the month's length."""
    days, tod = divmod(ms, DAY)
    d = datetime.fromtimestamp(days * 86400, tz=timezone.utc)
    total = d.year * 12 + d.month - 1 + k
    y, m = divmod(total, 12)
    day = min(d.day, calendar.monthrange(y, m + 1)[1])
    return calendar.timegm((y, m + 1, day, 0, 0, 0)) * 1000 + tod


_getrandbits = random.getrandbits  # replaced by the seeded generator's in main()
# RFC 4648 base32, lower-case, 15 bits (3 characters) a lookup: base64.b32encode is Python
# code in 3.11, and it would cost more than the rest of a debit.
_B32 = [a + b + c for a in "abcdefghijklmnopqrstuvwxyz234567" for b in "abcdefghijklmnopqrstuvwxyz234567" for c in "abcdefghijklmnopqrstuvwxyz234567"]


def b32_128(n):
    """The 26 unpadded base32 characters of a 128-bit number (as Secrets.base32 of its 16 bytes)."""
    n <<= 7  # 135 bits: 9 groups of 15, the last 9 bits padding (the 26th character's 2 zero bits and one unused character)
    t = _B32
    return (t[n >> 120] + t[(n >> 105) & 32767] + t[(n >> 90) & 32767] + t[(n >> 75) & 32767] + t[(n >> 60) & 32767]
            + t[(n >> 45) & 32767] + t[(n >> 30) & 32767] + t[(n >> 15) & 32767] + t[n & 32767])[:26]


def ident(prefix, ms):
    """Secrets.identifier: prefix_ + base32(48-bit milliseconds + 80 random bits)."""
    return prefix + "_" + b32_128((ms << 80) | _getrandbits(80))


def fake_argon2(rng):
    b64 = lambda n: base64.b64encode(rng.randbytes(n)).decode().rstrip("=")
    return f"$argon2id$v=19$m=19456,t=2,p=1${b64(16)}${b64(32)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("db")
    ap.add_argument("--tenants", type=int, default=100_000)
    ap.add_argument("--debits", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--span-days", type=int, default=60)
    ap.add_argument("--now-ms", type=int, default=0, help="the generation's 'now' (default: the system clock)")
    args = ap.parse_args()
    started = time.monotonic()
    n_t, n_d = args.tenants, args.debits
    if n_t < 1 or n_d < 0:
        sys.exit("generate-ledger: --tenants must be >= 1 and --debits >= 0")
    rng = random.Random(args.seed)
    global _getrandbits
    _getrandbits = rng.getrandbits
    now = args.now_ms or int(time.time() * 1000)
    span_end = now - 60_000
    span_start = span_end - args.span_days * DAY

    conn = sqlite3.connect(args.db, isolation_level=None)
    c = conn.cursor()
    if c.execute("SELECT count(*) FROM tenant").fetchone()[0] or c.execute("SELECT count(*) FROM credit_entry").fetchone()[0]:
        sys.exit("generate-ledger: the database is not fresh (run it on what `tenantryd migrate` just created)")
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "locking_mode = EXCLUSIVE", "temp_store = MEMORY",
                   "cache_size = -1500000", "foreign_keys = OFF"):
        c.execute("PRAGMA " + pragma)
    c.execute("BEGIN")
    # The big tables' secondary indexes, rebuilt at the end from their own text.
    indexes = c.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({','.join('?' * len(BIG_TABLES))})",
        BIG_TABLES).fetchall()
    for name, _ in indexes:
        c.execute(f"DROP INDEX {name}")

    # ------------------------------------------------------------ the skewed draw
    weights = [1.0 / (r + 1) for r in range(n_t)]
    cum = list(itertools.accumulate(weights))
    total_w = cum[-1]
    log(f"drawing {n_d:,} debits over {n_t:,} tenants (Zipf s=1; rank 0 gets {100 / total_w:.1f} %)")
    tenant_of = array("i")
    amount_of = array("h")
    used_by = [0] * n_t
    CH = 1_000_000
    rnd = rng.random
    for lo in range(0, n_d, CH):
        k = min(CH, n_d - lo)
        ts = [bisect.bisect(cum, rnd() * total_w, 0, n_t - 1) for _ in range(k)]
        am = [1 if rnd() < 0.75 else rng.randint(2, 20) for _ in range(k)]
        tenant_of.extend(ts)
        amount_of.extend(am)
        for t, a in zip(ts, am):
            used_by[t] += a

    # ------------------------------------------------------------ tenants and their calendars
    log("tenants, users, subscriptions, grants")
    tid, key_id, n_agents, n_ds, owner_email = [], [], [], [], []
    users, tenants, members, subs, ents, warnings, keys = [], [], [], [], [], [], []
    grants = []  # [seq, id, t, amount, used, effective, expires, source, priority, ent_id, month_start, reason, created_by, created_at, rollover_due_at]
    calendar_events = []  # (time, order, t, kind, grant index): kind 0 grant, 1 expiry
    first_created = now
    ranks = list(range(n_t))
    for t in ranks:
        while True:
            w = now - rng.randint(3_600_000, 20 * DAY)
            kmonths = rng.randint(3, 8)
            e_free = months_add(w, -kmonths)
            starts = [months_add(e_free, k) for k in range(0, 14)]
            cur = max(k for k, s in enumerate(starts) if s <= now)
            if starts[cur] <= now - 3_600_000 and starts[cur + 1] >= now + 8 * DAY:
                break
        created = e_free - TRIAL_DAYS * DAY
        first_created = min(first_created, created)
        owner = ident("usr", created)
        tenant = ident("tnt", created)
        tid.append(tenant)
        email = f"owner-{t}@large.bench.test"
        owner_email.append(email)
        users.append((owner, email, f"Owner {t}", fake_argon2(rng), created, created))
        tenants.append((tenant, f"Large bench tenant {t}", created, created))
        members.append((tenant, owner, "owner", created))
        if t > 0 and rng.random() < 0.2:
            for m in range(rng.randint(1, 3)):
                joined = created + rng.randint(DAY, 30 * DAY)
                uid = ident("usr", joined)
                users.append((uid, f"member-{t}-{m}@large.bench.test", f"Member {t}.{m}", fake_argon2(rng), joined, joined))
                members.append((tenant, uid, rng.choice(("admin", "member")), joined))
        trial_sub, trial_ent = ident("sub", created), ident("ent", created)
        subs.append((trial_sub, tenant, TRIAL_PLAN, "EXPIRED", created, e_free, e_free, created, e_free))
        ents.append((trial_ent, trial_sub, tenant, TRIAL_PLAN, "trial", created, e_free, None))
        warnings.append((trial_sub, e_free - 3 * DAY))
        free_sub, free_ent = ident("sub", e_free), ident("ent", e_free)
        subs.append((free_sub, tenant, FREE_PLAN, "ACTIVE", e_free, None, None, e_free, e_free))
        ents.append((free_ent, free_sub, tenant, FREE_PLAN, "free", e_free, None, starts[cur + 1]))
        kid = ident("key", created + DAY)
        key_id.append(kid)
        keys.append([kid, tenant, "production", "tnk_" + base64.urlsafe_b64encode(rng.randbytes(6)).decode(),
                     rng.randbytes(32), owner, created + DAY, None])
        n_agents.append(64 if t == 0 else max(1, min(64, used_by[t] // 20_000 + 1)))
        n_ds.append(16 if t == 0 else max(1, min(16, used_by[t] // 100_000 + 1)))
        # The trial grant, then one FREE grant per month; every one but the current expires.
        g = len(grants)
        grants.append([0, ident("grt", created), t, TRIAL_AMOUNT, 0, created, e_free, "trial", 0, trial_ent, created, "", None, created, None])
        calendar_events.append((created, 0, t, 0, g))
        calendar_events.append((e_free + 30_000, 1, t, 1, g))
        for k in range(cur + 1):
            g = len(grants)
            rollover = starts[k + 1] if k == cur else None
            grants.append([0, ident("grt", starts[k]), t, FREE_AMOUNT, 0, starts[k], starts[k + 1], "plan", 0, free_ent, starts[k], "", None,
                           starts[k], rollover])
            calendar_events.append((starts[k], 0, t, 0, g))
            if k < cur:
                calendar_events.append((starts[k + 1] + 30_000, 1, t, 1, g))
        if used_by[t] > FREE_AMOUNT:
            at = span_start - rng.randint(DAY, 5 * DAY)
            amount = (used_by[t] // 1000 + 2) * 1000
            g = len(grants)
            grants.append([0, ident("grt", at), t, amount, 0, at, OPERATOR_EXPIRES, "operator", 10, None, None,
                           "large bench: prepaid credits", OPERATOR_EMAIL, at, None])
            calendar_events.append((at, 0, t, 0, g))
    calendar_events.sort()
    ins = lambda sql, rows: c.executemany(sql, rows)
    ins("INSERT INTO user (id, email, name, password_hash, status, is_operator, created_at, updated_at) VALUES (?, ?, ?, ?, 'ACTIVE', 0, ?, ?)", users)
    ins("INSERT INTO tenant (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)", tenants)
    ins("INSERT INTO membership (tenant_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)", members)
    ins("""INSERT INTO subscription (id, tenant_id, plan, period, status, variant_id, start_at, end_at, cancel_at_period_end, ended_at, created_at, updated_at)
           VALUES (?, ?, ?, 'NOT_DEFINE', ?, NULL, ?, ?, 0, ?, ?, ?)""", subs)
    ins("""INSERT INTO entitlement (id, subscription_id, tenant_id, plan, kind, start_at, end_at, invoice_id, paid, next_grant_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 1, ?)""", ents)
    ins("INSERT INTO trial_warning (subscription_id, warned_at) VALUES (?, ?)", warnings)
    c.execute("UPDATE plan SET first_used_at = ? WHERE name IN (?, ?)", (first_created, TRIAL_PLAN, FREE_PLAN))
    del users, tenants, members, subs, ents, warnings
    log(f"{n_t:,} tenants, {len(grants):,} grants, {len(calendar_events):,} grant/expiry events "
        f"({time.monotonic() - started:.1f} s); writing the ledger")

    # ------------------------------------------------------------ the ledger, in time order
    plan_g = [None] * n_t  # the live plan/trial grant of each tenant (its window)
    op_g = [None] * n_t
    last_used = [None] * n_t
    usage = {}  # (t, window, dimension, subject) -> amount
    hashes = {}
    expiries = []
    debits, parts, entries = [], [], []
    grant_seq = 0
    debit_seq = 0
    entries_n = 0
    ev_i, ev_n = 0, len(calendar_events)
    agent_names = [f"agent-{i}" for i in range(64)]
    ds_names = [f"dataset-{i}" for i in range(16)]
    sha = hashlib.sha256
    grb = rng.getrandbits
    ins_debit = ("INSERT INTO credit_debit (seq, id, tenant_id, category, amount, agent_id, dataset_id, idempotency_key, request_hash, "
                 "remaining_after, api_key_id, created_at) VALUES (?, ?, ?, 'USAGE_AI_CREDIT', ?, ?, ?, ?, ?, ?, ?, ?)")
    ins_part = "INSERT INTO credit_debit_part (debit_seq, grant_seq, amount) VALUES (?, ?, ?)"
    ins_entry = ("INSERT INTO credit_entry (tenant_id, category, kind, amount, balance_after, held_after, grant_seq, debit_seq, hold_seq, "
                 "agent_id, dataset_id, created_at) VALUES (?, 'USAGE_AI_CREDIT', ?, ?, ?, 0, ?, ?, NULL, ?, ?, ?)")

    def flush():
        c.executemany(ins_debit, debits)
        c.executemany(ins_part, parts)
        c.executemany(ins_entry, entries)
        debits.clear()
        parts.clear()
        entries.clear()

    def live(t):
        p, o = plan_g[t], op_g[t]
        return (p[3] - p[4] if p else 0) + (o[3] - o[4] if o else 0)

    def calendar_until(limit):
        nonlocal ev_i, grant_seq
        while ev_i < ev_n and calendar_events[ev_i][0] <= limit:
            at, _, t, kind, gi = calendar_events[ev_i]
            ev_i += 1
            g = grants[gi]
            if kind == 0:
                grant_seq += 1
                g[0] = grant_seq
                if g[7] == "operator":
                    op_g[t] = g
                else:
                    plan_g[t] = g
                entries.append((tid[t], "grant", g[3], live(t), g[0], None, "", "", at))
            else:
                left = g[3] - g[4]
                if plan_g[t] is g:
                    plan_g[t] = None
                expiries.append((g[0], tid[t], CATEGORY, left, g[6]))
                entries.append((tid[t], "expiry", left, live(t), g[0], None, "", "", at))

    CHUNK = 200_000
    span = span_end - span_start
    next_report = time.monotonic() + 5
    loop_started = time.monotonic()
    for lo in range(0, n_d, CHUNK):
        k = min(CHUNK, n_d - lo)
        a0 = span_start + span * lo // max(n_d, 1)
        a1 = span_start + span * (lo + k) // max(n_d, 1)
        times = sorted(rng.randrange(a0, max(a1, a0 + 1)) for _ in range(k))
        for j in range(k):
            tm = times[j]
            if ev_i < ev_n and calendar_events[ev_i][0] <= tm:
                calendar_until(tm)
            i = lo + j
            t = tenant_of[i]
            amt = amount_of[i]
            r = rnd()
            agent = agent_names[int(r * 10 / 9 * n_agents[t])] if r < 0.9 else ""
            ds = ds_names[int(rnd() * n_ds[t])] if rnd() < 0.3 else ""
            hk = (amt, agent, ds)
            h = hashes.get(hk)
            if h is None:
                h = hashes[hk] = sha(f"{CATEGORY}\x1f{amt}\x1f{agent}\x1f{ds}".encode()).digest()
            debit_seq += 1
            p = plan_g[t]
            o = op_g[t]
            left = p[3] - p[4]
            if left >= amt:
                p[4] += amt
                parts.append((debit_seq, p[0], amt))
            else:
                if left > 0:
                    p[4] = p[3]
                    parts.append((debit_seq, p[0], left))
                o[4] += amt - left  # sized to what the tenant uses: never short
                parts.append((debit_seq, o[0], amt - left))
            remaining = (p[3] - p[4]) + (o[3] - o[4] if o else 0)
            tenant = tid[t]
            debits.append((debit_seq, "dbt_" + b32_128((tm << 80) | grb(80)),
                           tenant, amt, agent, ds, f"gen-{i}", h, remaining, key_id[t], tm))
            entries.append((tenant, "debit", amt, remaining, None, debit_seq, agent, ds, tm))
            w = p[5]
            if agent:
                uk = (t, w, "agent", agent)
                usage[uk] = usage.get(uk, 0) + amt
            if ds:
                uk = (t, w, "dataset", ds)
                usage[uk] = usage.get(uk, 0) + amt
            last_used[t] = tm
        entries_n += len(entries)
        flush()
        if time.monotonic() >= next_report or lo + k == n_d:
            el = time.monotonic() - loop_started
            log(f"  {lo + k:,} / {n_d:,} debits ({(lo + k) / max(el, 1e-9):,.0f}/s, {time.monotonic() - started:.0f} s)")
            next_report = time.monotonic() + 5
    calendar_until(now)
    entries_n += len(entries)
    flush()

    log(f"grants, expiries, usage totals, API keys ({time.monotonic() - started:.0f} s)")
    c.executemany(
        """INSERT INTO credit_grant (seq, id, tenant_id, category, amount, used, effective_at, expires_at, source, priority, entitlement_id,
               month_start, invoice_id, reason, created_by, created_at, expired, rollover_due_at, rolled_from_seq)
           VALUES (?, ?, ?, 'USAGE_AI_CREDIT', ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, NULL)""",
        sorted((g[0], g[1], tid[g[2]], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], 1 if g[6] <= now else 0, g[14])
               for g in grants if g[0]))
    c.executemany("INSERT INTO credit_expiry (grant_seq, tenant_id, category, amount, expired_at) VALUES (?, ?, ?, ?, ?)", expiries)
    c.executemany(
        "INSERT INTO usage_total (tenant_id, window_start, dimension, subject, category, amount) VALUES (?, ?, ?, ?, 'USAGE_AI_CREDIT', ?)",
        sorted((tid[t], w, dim, subj, amt) for (t, w, dim, subj), amt in usage.items()))
    for t, kr in enumerate(keys):
        kr[7] = last_used[t]
    c.executemany("""INSERT INTO api_key (id, tenant_id, name, key_prefix, key_hash, scopes, created_by, created_at, expires_at, last_used_at, revoked_at)
                     VALUES (?, ?, ?, ?, ?, '["usage.read","usage.write"]', ?, ?, NULL, ?, NULL)""", keys)
    log(f"rebuilding {len(indexes)} indexes ({time.monotonic() - started:.0f} s)")
    for name, sql in indexes:
        c.execute(sql)
    c.execute("COMMIT")
    c.execute("PRAGMA journal_mode = WAL")
    conn.close()
    size = os.path.getsize(args.db)
    secs = time.monotonic() - started
    log(f"done in {secs:.1f} s: {size / 2**20:,.0f} MiB")
    out = {
        "bench_tenant_id": tid[0], "bench_owner_email": owner_email[0], "generated_at_ms": now, "tenants": n_t, "debits": debit_seq,
        "bench_tenant_debits": tenant_of.count(0), "grants": grant_seq, "entries": entries_n,
        "usage_totals": len(usage), "expiries": len(expiries), "seed": args.seed, "span_days": args.span_days, "seconds": f"{secs:.1f}",
        "db_bytes": size,
    }
    for k, v in out.items():
        print(f"{k}={v}")


if __name__ == "__main__":
    main()
