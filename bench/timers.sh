#!/usr/bin/env bash
# Timer throughput: the billing jobs over many tenants (100,000 by default).
#
#   1. `tenantryd migrate` on a fresh database, then python3's sqlite3 inserts N tenants,
#      (random ids shaped like the daemon's) each with a live TRIALING NEW_USER_TRIAL subscription whose trial ended within the
#      last 24 hours (by the system clock, which the test clock starts from), its `trial`
#      entitlement (paid, next_grant_at NULL: its grant was made) and, unless
#      TIMERS_TRIAL_GRANTS=0, that trial grant (10,000 USAGE_AI_CREDIT, expiring at the
#      trial's end).
#   2. `tenantryd serve --test-clock` on it. Its start runs every due job (catch-up):
#      expireTrials ends every trial (→ EXPIRED, FREE from the trial's end, a FREE
#      entitlement and its first monthly grant), expireGrants records the trial grants'
#      expiry. GET /v1/admin/jobs is polled until each job has finished once.
#   3. POST /v1/admin/clock/advance 31 days: it answers once every due job ran, so
#      grantAllowances makes each tenant's second FREE month and expireGrants expires the
#      first month's grants.
#   4. The daemon stopped, sqlite3 checks the outcome (N FREE subscriptions, exactly two
#      FREE grants per tenant at the expected month starts), then `tenantryd check`.
#
# Prints a summary on stdout (progress on stderr). Run on its own it also keeps the summary
# in bench/results/timers-latest.txt; bench/run.sh calls it at the end (TIMERS_EMBEDDED=1)
# and puts the summary in its own.
#
# Environment: TIMERS_TENANTS (100000), TIMERS_TRIAL_GRANTS (1), TIMERS_JOB_TIMEOUT (600,
# seconds to wait for the start's catch-up), TIMERS_PERF (0; 1: `perf record --call-graph
# dwarf` of the daemon for the first TIMERS_PERF_SECONDS (10) of (a) and of (b), summed up by
# bench/perf-breakdown.py: which Tenantry function and which kind of work (SQL prepare,
# SQL step, Codable, ...) the CPU went to; it slows the daemon a little while it samples),
# TENANTRYD (.build/release/tenantryd), BENCH_DAEMON_ARGS (extra serve flags).
#
# The CPU figures: the daemon's CPU time over the phase, and what other processes used
# meanwhile (a concurrent build or test run on the machine makes the timings noisy).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
RESULTS_DIR=$ROOT/bench/results
BIN=${TENANTRYD:-.build/release/tenantryd}
TENANTS=${TIMERS_TENANTS:-100000}
TRIAL_GRANTS=${TIMERS_TRIAL_GRANTS:-1}
JOB_TIMEOUT=${TIMERS_JOB_TIMEOUT:-600}
PERF=${TIMERS_PERF:-0}
PERF_SECONDS=${TIMERS_PERF_SECONDS:-10}
ADVANCE_SECONDS=2678400
read -r -a DAEMON_ARGS <<<"${BENCH_DAEMON_ARGS:-}"

OPS_EMAIL=ops@bench.test
OPS_PASSWORD=pw-for-bench-1

die() { echo "timers: $*" >&2; exit 1; }
say() { echo "timers: $*" >&2; }

for tool in curl python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (make bench-deps)"
done
[ -x "$BIN" ] || die "$BIN not found: run 'swift build -c release' (or 'make bench')"
if [ "$PERF" = 1 ] && ! { command -v perf >/dev/null && command -v swift-demangle >/dev/null &&
  perf record -q -o /dev/null -- true >/dev/null 2>&1; }; then
  say "TIMERS_PERF=1 needs perf (allowed to record) and swift-demangle: no profile"
  PERF=0
fi

WORK=$(mktemp -d -t tenantry-timers.XXXXXX)
DB=$WORK/timers.sqlite
DAEMON_LOG=$WORK/daemon.log
DAEMON_PID=
PERF_PID=

stop_perf() {
  [ -n "$PERF_PID" ] || return 0
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=
}
STOP_GRACE=30
BENCH_NAME=timers
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cleanup() {
  local rc=$?
  trap - EXIT
  stop_perf
  stop_daemon
  if [ "$rc" != 0 ] && [ -s "$DAEMON_LOG" ]; then daemon_log_tail; fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# start_perf NAME: samples the daemon with call stacks for PERF_SECONDS or until stop_perf.
start_perf() {
  [ "$PERF" = 1 ] || return 0
  perf record -q --call-graph dwarf,32768 -F 199 -p "$DAEMON_PID" -o "$WORK/perf-$1.data" -- sleep "$PERF_SECONDS" >/dev/null 2>&1 &
  PERF_PID=$!
  sleep 0.3
}
# perf_top NAME: where the daemon's CPU went during that phase's sample.
perf_top() {
  [ "$PERF" = 1 ] && [ -s "$WORK/perf-$1.data" ] || return 0
  perf script -i "$WORK/perf-$1.data" -F comm,tid,ip,sym 2>/dev/null |
    python3 "$ROOT/bench/perf-breakdown.py" >"$WORK/perf-$1.top" || true
}

CLK_TCK=$(getconf CLK_TCK)
machine_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
daemon_cpu() { sed 's/.*) //' "/proc/$DAEMON_PID/stat" | awk '{ print $12 + $13 }'; }
# cpu_mark NAME: remembers the machine's and the daemon's CPU jiffies; cpu_since NAME SINCE
# prints "wall_s daemon_cpu_s other_cpu_s" from mark SINCE to now.
declare -A MARK_BUSY MARK_DAEMON MARK_NS
cpu_mark() { MARK_BUSY[$1]=$(machine_busy); MARK_DAEMON[$1]=$(daemon_cpu); MARK_NS[$1]=$(date +%s%N); }
cpu_since() {
  local busy daemon ns
  busy=$(machine_busy); daemon=$(daemon_cpu); ns=$(date +%s%N)
  awk -v b0="${MARK_BUSY[$1]}" -v b1="$busy" -v d0="${MARK_DAEMON[$1]}" -v d1="$daemon" -v n0="${MARK_NS[$1]}" -v n1="$ns" -v t="$CLK_TCK" \
    'BEGIN { printf "%.2f %.2f %.2f\n", (n1 - n0) / 1e9, (d1 - d0) / t, ((b1 - b0) - (d1 - d0)) / t }'
}

# ---------------------------------------------------------------- the database
T0=$(date +%s.%N)
"$BIN" migrate --db "$DB" >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log" >&2; die "migrate failed"; }
printf '%s\n' "$OPS_PASSWORD" |
  "$BIN" admin create --email "$OPS_EMAIL" --password-stdin --db "$DB" >"$WORK/admin.log" 2>&1 ||
  { cat "$WORK/admin.log" >&2; die "admin create failed"; }

say "inserting $TENANTS tenants with an ended trial"
python3 - "$DB" "$TENANTS" "$TRIAL_GRANTS" >"$WORK/seed.txt" <<'PY'
import base64, json, os, sqlite3, sys, time

db, n, trial_grants = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA synchronous = NORMAL")
plan = conn.execute("SELECT config, trial_days FROM plan WHERE name = 'NEW_USER_TRIAL'").fetchone()
allowances = [(u["category"], u["total_amount"]) for u in json.loads(plan[0])["usage_configs"] if u["total_amount"] > 0]
trial_ms = plan[1] * 86_400_000
now = int(time.time() * 1000)
# Trials ended between 24 h and 1 min ago, tenant 0 the most recent.
newest_end, spread = now - 60_000, 86_400_000 - 60_000
started = time.monotonic()
conn.execute("BEGIN")
def rows():
    for i in range(n):
        end = newest_end - (spread * i) // max(n - 1, 1)
        yield i, end, end - trial_ms
def identifier(prefix):  # as Secrets.identifier: 128 random bits, base32 (random keys, as in production)
    return prefix + "_" + base64.b32encode(os.urandom(16)).decode().rstrip("=").lower()
tenants, subs, ents, grants = [], [], [], []
for i, end, start in rows():
    t, s, e = identifier("ten"), identifier("sub"), identifier("ent")
    tenants.append((t, f"bench tenant {i}", start, start))
    subs.append((s, t, start, end, start, start))
    ents.append((e, s, t, start, end))
    if trial_grants:
        for k, (category, amount) in enumerate(allowances):
            grants.append((identifier("grt"), t, category, amount, start, end, e, start, start))
conn.executemany("INSERT INTO tenant (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)", tenants)
conn.executemany("""INSERT INTO subscription (id, tenant_id, plan, period, status, variant_id, start_at, end_at,
    cancel_at_period_end, ended_at, created_at, updated_at)
    VALUES (?, ?, 'NEW_USER_TRIAL', 'NOT_DEFINE', 'TRIALING', NULL, ?, ?, 0, NULL, ?, ?)""", subs)
conn.executemany("""INSERT INTO entitlement (id, subscription_id, tenant_id, plan, kind, start_at, end_at, invoice_id, paid, next_grant_at)
    VALUES (?, ?, ?, 'NEW_USER_TRIAL', 'trial', ?, ?, NULL, 1, NULL)""", ents)
conn.executemany("""INSERT INTO credit_grant (id, tenant_id, category, amount, used, effective_at, expires_at, source, priority,
    entitlement_id, month_start, reason, created_at, expired)
    VALUES (?, ?, ?, ?, 0, ?, ?, 'trial', 0, ?, ?, '', ?, 0)""", grants)
conn.execute("UPDATE plan SET first_used_at = ? WHERE name = 'NEW_USER_TRIAL'", (newest_end - spread - trial_ms,))
conn.execute("COMMIT")
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
conn.execute("ANALYZE")
print(f"seed_seconds={time.monotonic() - started:.2f}")
print(f"seed_now_ms={now}")
print(f"trial_grants={len(grants)}")
PY
SEED_SECONDS=$(awk -F= '$1 == "seed_seconds" { print $2 }' "$WORK/seed.txt")
DB_MIB_SEEDED=$(du -m "$DB" | cut -f1)

# ---------------------------------------------------------------- the daemon
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
say "starting tenantryd serve --test-clock (its start expires the $TENANTS trials)"
START_NS=$(date +%s%N)
"$BIN" serve --db "$DB" --listen "127.0.0.1:$PORT" --public Public --test-clock "${DAEMON_ARGS[@]}" >"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
cpu_mark start
for _ in $(seq 300); do
  kill -0 "$DAEMON_PID" 2>/dev/null || die "the daemon died while starting"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)" = 200 ] && break
  sleep 0.05
done
HEALTHY_NS=$(date +%s%N)
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)" = 200 ] || die "GET /healthz did not answer 200 within 15 s"
# (perf -p follows the threads that exist when it attaches: the daemon's are up once it answers.)
start_perf start

login() {
  OPS_TOKEN=$(curl -sS -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"email\":\"$OPS_EMAIL\",\"password\":\"$OPS_PASSWORD\"}" "$BASE/v1/account/login" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])') || die "operator login failed"
}
login

# poll_jobs OUT TIMEOUT AFTER_MS: polls GET /v1/admin/jobs until every job has a run that
# started at or after AFTER_MS (test-clock time) and finished; keeps each job's first such
# state (a later timer tick could overwrite it) as JSON in OUT.
poll_jobs() {
  python3 - "$BASE" "$OPS_TOKEN" "$1" "$2" "$3" "$DAEMON_PID" <<'PY'
import json, os, sys, time, urllib.request
from datetime import datetime

base, token, out, timeout, after_ms, pid = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
def ms(text):
    return None if not text else int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
seen, deadline = {}, time.monotonic() + timeout
while True:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("timers: the daemon died while its jobs ran")
    req = urllib.request.Request(base + "/v1/admin/jobs", headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        jobs = json.load(r)["jobs"]
    for j in jobs:
        started, finished = ms(j["last_started_at"]), ms(j["last_finished_at"])
        if j["id"] not in seen and finished is not None and started is not None and started >= after_ms:
            seen[j["id"]] = dict(j, started_ms=started, finished_ms=finished, seen_wall=time.time())
    if len(seen) == len(jobs):
        break
    if time.monotonic() > deadline:
        sys.exit(f"timers: jobs not all run after {timeout:.0f} s: " + json.dumps(jobs))
    time.sleep(0.1)
json.dump([seen[j["id"]] for j in jobs], open(out, "w"))
PY
}

poll_jobs "$WORK/jobs-start.json" "$JOB_TIMEOUT" 0 || die "the start's catch-up did not finish"
CATCHUP_DONE_NS=$(date +%s%N)
CPU_START=$(cpu_since start)
stop_perf
perf_top start
kill -0 "$DAEMON_PID" 2>/dev/null || die "the daemon died"

say "POST /v1/admin/clock/advance $ADVANCE_SECONDS s (31 days): the monthly grants"
# Runs that start once the clock moved start at or after this (test-clock time).
MOVED_MS=$(( $(date +%s%3N) + ADVANCE_SECONDS * 1000 ))
cpu_mark advance
start_perf advance
ADVANCE=$(curl -sS -o "$WORK/advance.out" -w '%{http_code} %{time_total}' --max-time "$JOB_TIMEOUT" -X POST \
  -H "Authorization: Bearer $OPS_TOKEN" -H 'Content-Type: application/json' \
  --data-binary "{\"seconds\":$ADVANCE_SECONDS}" "$BASE/v1/admin/clock/advance") || die "clock advance: curl failed"
CPU_ADVANCE=$(cpu_since advance)
stop_perf
perf_top advance
[ "${ADVANCE%% *}" = 200 ] || die "clock advance answered ${ADVANCE%% *}: $(cat "$WORK/advance.out")"
ADVANCE_WALL=${ADVANCE#* }
# Every due job ran before the answer; the poll only reads their states. 31 days on, the
# operator's session has expired: log in again.
login
poll_jobs "$WORK/jobs-advance.json" 60 "$MOVED_MS" || die "the jobs did not run on the clock advance"
HWM_KIB=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$DAEMON_PID/status")
stop_daemon
grep -E ' (warning|error|critical) ' "$DAEMON_LOG" | grep -v -e 'no operator account yet' -e 'test clock on' | tail -n 5 >"$WORK/log-problems.txt" || true

# ---------------------------------------------------------------- verify
say "verifying the database"
python3 - "$DB" "$TENANTS" "$TRIAL_GRANTS" >"$WORK/verify.txt" <<'PY'
import calendar, sqlite3, sys
from datetime import datetime, timezone

db, n, trial_grants = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
c = sqlite3.connect(db)
q = lambda sql, *a: c.execute(sql, a).fetchone()[0]
problems = []
def expect(what, got, want):
    print(f"{what}={got}")
    if got != want:
        problems.append(f"{what}: {got}, expected {want}")

def add_months(ms, k):  # Months.add: calendar months in UTC, the day clamped to the month's length
    day_ms = 86_400_000
    days, tod = divmod(ms, day_ms)
    d = datetime.fromtimestamp(days * 86400, tz=timezone.utc)
    total = d.year * 12 + d.month - 1 + k
    y, m = divmod(total, 12)
    day = min(d.day, calendar.monthrange(y, m + 1)[1])
    return int(datetime(y, m + 1, day, tzinfo=timezone.utc).timestamp()) * 1000 + tod

expect("trialing", q("SELECT count(*) FROM subscription WHERE status = 'TRIALING'"), 0)
expect("expired_trials", q("SELECT count(*) FROM subscription WHERE plan = 'NEW_USER_TRIAL' AND status = 'EXPIRED' AND ended_at = end_at"), n)
expect("free_subscriptions", q("SELECT count(*) FROM subscription WHERE plan = 'FREE'"), n)
expect("free_live_active", q("SELECT count(*) FROM subscription WHERE plan = 'FREE' AND status = 'ACTIVE' AND ended_at IS NULL"), n)
expect("free_starting_at_trial_end", q("""SELECT count(*) FROM subscription f JOIN subscription t ON t.tenant_id = f.tenant_id
    AND t.plan = 'NEW_USER_TRIAL' WHERE f.plan = 'FREE' AND f.start_at = t.end_at"""), n)
expect("tenants_with_one_live_subscription", q("SELECT count(DISTINCT tenant_id) FROM subscription WHERE ended_at IS NULL"), n)
expect("free_entitlements", q("SELECT count(*) FROM entitlement WHERE kind = 'free' AND plan = 'FREE' AND paid = 1 AND end_at IS NULL"), n)
free_amount = q("SELECT json_extract(config, '$.usage_configs[0].total_amount') FROM plan WHERE name = 'FREE'")
expect("free_grants", q("SELECT count(*) FROM credit_grant WHERE source = 'plan'"), 2 * n)
expect("free_grants_distinct", q("SELECT count(*) FROM (SELECT DISTINCT entitlement_id, month_start, category FROM credit_grant WHERE source = 'plan')"), 2 * n)
expect("tenants_with_2_free_grants", q("""SELECT count(*) FROM (SELECT tenant_id, count(*) AS k FROM credit_grant WHERE source = 'plan'
    GROUP BY tenant_id HAVING k = 2)"""), n)
expect("free_grants_of_wrong_amount", q("SELECT count(*) FROM credit_grant WHERE source = 'plan' AND amount != ?", free_amount), 0)
# Month starts: the trial's end, then one calendar month later; next grant one more month on.
wrong = 0
rows = c.execute("""SELECT e.start_at, e.next_grant_at, group_concat(g.month_start) FROM entitlement e
    JOIN credit_grant g ON g.entitlement_id = e.id WHERE e.kind = 'free' GROUP BY e.id""")
for start, next_grant, months in rows:
    got = sorted(int(x) for x in months.split(","))
    if got != [start, add_months(start, 1)] or next_grant != add_months(start, 2):
        wrong += 1
expect("free_entitlements_with_wrong_month_starts", wrong, 0)
expect("trial_grants", q("SELECT count(*) FROM credit_grant WHERE source = 'trial'"), n if trial_grants else 0)
expect("expired_grants", q("SELECT count(*) FROM credit_grant WHERE expired = 1"), (n if trial_grants else 0) + n)
expect("credit_expiry_rows", q("SELECT count(*) FROM credit_expiry"), (n if trial_grants else 0) + n)
print(f"db_mib={q('PRAGMA page_count') * q('PRAGMA page_size') / 1048576:.0f}")
print("problems=" + " | ".join(problems))
PY
CHECK_OUT=$("$BIN" check --db "$DB" 2>&1) && CHECK_RC=0 || CHECK_RC=$?

# ---------------------------------------------------------------- report
python3 - "$WORK" "$TENANTS" "$SEED_SECONDS" "$DB_MIB_SEEDED" "$START_NS" "$HEALTHY_NS" "$CATCHUP_DONE_NS" \
  "$ADVANCE_WALL" "$HWM_KIB" "$CHECK_RC" "$CHECK_OUT" "$PERF" "$TRIAL_GRANTS" "$CPU_START" "$CPU_ADVANCE" "$PERF_SECONDS" >"$WORK/summary.txt" <<'PY'
import json, sys

work, n, seed_s, db_mib0 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
start_ns, healthy_ns, catchup_ns = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
advance_wall, hwm_kib, check_rc, check_out, perf, trial_grants = float(sys.argv[8]), int(sys.argv[9]), sys.argv[10], sys.argv[11], sys.argv[12], sys.argv[13]
cpu = {"start": [float(x) for x in sys.argv[14].split()], "advance": [float(x) for x in sys.argv[15].split()]}
perf_seconds = sys.argv[16]
def cpu_line(ph):
    wall, daemon, other = cpu[ph]
    return (f"CPU over these {wall:.1f} s: daemon {daemon:.1f} s ({daemon / wall:.2f} cores), "
            f"other processes {other / wall:.2f} cores" + ("  NOISY: other processes were busy" if other / wall > 0.25 else ""))
verify = dict(l.rstrip("\n").split("=", 1) for l in open(f"{work}/verify.txt") if "=" in l)
problems = [l.rstrip("\n") for l in open(f"{work}/log-problems.txt") if l.strip()]
phases = {name: json.load(open(f"{work}/jobs-{name}.json")) for name in ("start", "advance")}

def top(name):
    try:
        return [l.rstrip("\n") for l in open(f"{work}/perf-{name}.top") if l.strip()]
    except OSError:
        return []

out = []
p = out.append
p(f"Timers over {n:,} tenants (bench/timers.sh; fresh database, {n:,} ended trials"
  f"{' with their trial grants' if trial_grants == '1' else ''} inserted in {seed_s:.1f} s, {db_mib0} MiB)")
def job_lines(title, jobs, extra):
    p(f"  {title}")
    for j in jobs:
        secs = (j["finished_ms"] - j["started_ms"]) / 1000
        items = int(j["items_processed"])
        rate = f", {items / secs:,.0f}/s" if items and secs >= 0.1 and j["id"] != "checkpointWAL" else ""
        flag = "" if j["last_result"] == "ok" else f"  {j['last_result'].upper()}: {j['last_error']}"
        p(f"    {j['id']:<16} {secs:8.2f} s  {items:>9,} items{rate}{flag}")
    for e in extra:
        p(f"    {e}")
job_lines("(a) at start, catch-up (expireTrials: trial → EXPIRED, FREE from its end, FREE entitlement, first monthly grant):",
          phases["start"], [f"start to /healthz {(healthy_ns - start_ns) / 1e9:.2f} s; start to all jobs done (as polled) {(catchup_ns - start_ns) / 1e9:.2f} s",
                            cpu_line("start")])
job_lines("(b) POST /v1/admin/clock/advance 31 days (grantAllowances: each tenant's second FREE month):",
          phases["advance"], [f"advance call wall time {advance_wall:.2f} s (it answers after every due job ran)", cpu_line("advance")])
by_id = {ph: {j["id"]: j for j in jobs} for ph, jobs in phases.items()}
def secs(ph, job):
    j = by_id[ph].get(job)
    return (j["finished_ms"] - j["started_ms"]) / 1000 if j else float("nan")
def items(ph, job):
    j = by_id[ph].get(job)
    return int(j["items_processed"]) if j else -1
def verdict(ph, job):
    return "met" if secs(ph, job) <= 3 and items(ph, job) == n else "NOT met"
p(f"  => (a) expireTrials {secs('start', 'expireTrials'):.2f} s for {items('start', 'expireTrials'):,} trials (aim <= 3 s: {verdict('start', 'expireTrials')});"
  f" (b) grantAllowances {secs('advance', 'grantAllowances'):.2f} s for {items('advance', 'grantAllowances'):,} entitlements (aim <= 3 s: {verdict('advance', 'grantAllowances')})")
for ph, title in (("start", "(a)"), ("advance", "(b)")):
    t = top(ph)
    if t:
        p(f"  daemon CPU profile, first {perf_seconds} s of {title} (perf --call-graph dwarf, bench/perf-breakdown.py):")
        for l in t:
            p(f"  {l}")
vp = verify.get("problems", "")
p(f"  verify: {verify['free_subscriptions']} FREE subscriptions ({verify['free_live_active']} live ACTIVE), "
  f"{verify['expired_trials']} EXPIRED trials, {verify['free_grants']} FREE grants in {verify['free_grants_distinct']} distinct "
  f"(entitlement, month, category), {verify['tenants_with_2_free_grants']} tenants with exactly 2 at the expected month starts, "
  f"{verify['expired_grants']} grants expired; " + ("all as expected" if not vp else "PROBLEMS: " + vp))
p(f"  tenantryd check: {'exit 0' if check_rc == '0' else 'EXIT ' + check_rc}: {check_out.strip().splitlines()[-1] if check_out.strip() else '(no output)'}")
p(f"  daemon peak RSS {hwm_kib / 1024:.0f} MiB; database {verify['db_mib']} MiB afterwards")
if problems:
    p("  daemon log warnings/errors (last 5):")
    for l in problems:
        p("    " + l)
print("\n".join(out))
PY
cat "$WORK/summary.txt"
if [ "${TIMERS_EMBEDDED:-0}" != 1 ]; then
  mkdir -p "$RESULTS_DIR"
  cp "$WORK/summary.txt" "$RESULTS_DIR/timers-latest.txt"
  say "summary kept in bench/results/timers-latest.txt"
fi
say "done in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s"
[ "$CHECK_RC" = 0 ] && ! grep -q '^problems=.' "$WORK/verify.txt" || exit 1
