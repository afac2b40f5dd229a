#!/usr/bin/env bash
# The large-database benchmark: do the hot routes, `tenantryd check` and `tenantryd backup`
# hold up with 10 million debits and 100,000 tenants in the database?
#
#   1. The database: bench/generate-ledger.py on what `tenantryd migrate` creates (100,000
#      tenants, each with its owner, trial history, FREE subscription, monthly grants, API
#      key; 10,000,000 debits over the last 60 days, skewed, with their parts, journal entries
#      and usage totals: see the script's docstring). It takes minutes, so it is cached in
#      bench/results/cache/ledger-<tenants>t-<debits>d-<key>.sqlite (git-ignored), the key a
#      hash of the generator, the migrated schema (`sqlite3 .schema`) and the sizes; a cached
#      file older than LARGE_CACHE_DAYS (7) days is made again (each tenant's current FREE
#      month ends at least 8 days after the generation: a younger one has no month for the
#      daemon to roll over when it starts). Other cached files of the same sizes are removed.
#   2. A copy of it in a temp dir, and a fresh database made the same way with one tenant
#      (and LARGE_FRESH_DEBITS, 100, debits: a full ledger page). On each in turn: an
#      operator (`tenantryd admin create`), `tenantryd serve`, then through the API the bench
#      tenant's owner sets a password (password/forgot, the code read from the operator's
#      outbox), logs in and creates an API key (usage.write, usage.read), and the operator
#      grants the tenant 1e9 credits, as bench/run.sh does. The bench tenant is the busiest
#      one of the large database (Zipf rank 0: about 8 % of the debits).
#   3. wrk (BENCH_WRK_THREADS threads, LARGE_CONNECTIONS = 64 connections, a BENCH_WARMUP
#      warm-up then BENCH_DURATION measured) on each of the six routes of the aim, the reads
#      first (so that the fresh tenant's ledger is still fresh when they run), consume last
#      (a new idempotency key per request, agent ids cycling over 64):
#         GET  /v1/auth/check                         (API key)
#         GET  /v1/usage/tenants/{t}/current
#         POST /v1/usage/tenants/{t}/agents/credits   ({"agent_ids": agent-0 .. agent-9})
#         GET  /v1/usage/tenants/{t}/balance
#         GET  /v1/usage/tenants/{t}/ledger           (the default page)
#         POST /v1/usage/tenants/{t}/consume          (1 credit)
#      The summary gives each rate on both databases and large/fresh against the aim (>= 0.8).
#   4. The daemon stopped: the large database's size and row counts, then `tenantryd check`
#      (aim: under 60 s) and `tenantryd backup` (aim: under 30 s) on it, timed.
#
# Run it under the machine's lock when anything else may be building: flock /tmp/machine.lock
# bench/large.sh (it takes no lock itself, so bench/run.sh can call it under its own).
#
# Prints a summary on stdout (progress on stderr). Run on its own it also keeps the summary in
# bench/results/large-latest.txt; bench/run.sh calls it with LARGE_EMBEDDED=1 and puts the
# summary in its own.
#
# Environment: LARGE_TENANTS (100000), LARGE_DEBITS (10000000), LARGE_FRESH_DEBITS (100),
# LARGE_SEED (1), LARGE_CONNECTIONS (64), LARGE_CACHE_DAYS (7), LARGE_CHECK_LIMIT and
# LARGE_BACKUP_LIMIT (600: seconds after which check / backup are stopped and reported as
# not finished), BENCH_DURATION (10s),
# BENCH_WARMUP (2s), BENCH_WRK_THREADS (1), BENCH_TIMEOUT (10s), TENANTRYD
# (.build/release/tenantryd), BENCH_DAEMON_ARGS (extra serve flags).
#
# The CPU columns: the daemon's cores over the measured run, and what other processes used
# (wrk included; a concurrent build makes the figures noisy, and the summary says so).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BENCH_DIR=$ROOT/bench
RESULTS_DIR=$BENCH_DIR/results
CACHE_DIR=$RESULTS_DIR/cache
BIN=${TENANTRYD:-.build/release/tenantryd}
TENANTS=${LARGE_TENANTS:-100000}
DEBITS=${LARGE_DEBITS:-10000000}
FRESH_DEBITS=${LARGE_FRESH_DEBITS:-100}
SEED=${LARGE_SEED:-1}
SPAN_DAYS=60
CACHE_DAYS=${LARGE_CACHE_DAYS:-7}
CONNS=${LARGE_CONNECTIONS:-64}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
WRK_THREADS=${BENCH_WRK_THREADS:-1}
WRK_TIMEOUT=${BENCH_TIMEOUT:-10s}
read -r -a DAEMON_ARGS <<<"${BENCH_DAEMON_ARGS:-}"

OPS_EMAIL=ops@bench.test
OPS_PASSWORD=pw-for-bench-1
OWNER_PASSWORD=bench-owner-password-1
CHECK_AIM=60
BACKUP_AIM=30
CHECK_LIMIT=${LARGE_CHECK_LIMIT:-600}
BACKUP_LIMIT=${LARGE_BACKUP_LIMIT:-600}
RATIO_AIM=0.8

die() { echo "large: $*" >&2; exit 1; }
say() { echo "large: $*" >&2; }

for tool in wrk curl python3 sqlite3 sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is not installed (make bench-deps)"
done
[ -x "$BIN" ] || die "$BIN not found: run 'swift build -c release' (or 'make bench')"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

WORK=$(mktemp -d -t tenantry-large.XXXXXX)
DAEMON_LOG=$WORK/daemon.log
DAEMON_PID=
STOP_GRACE=30
BENCH_NAME=large
. "$BENCH_DIR/lib.sh"
cleanup() {
  local rc=$?
  trap - EXIT
  stop_daemon
  if [ "$rc" != 0 ] && [ -s "$DAEMON_LOG" ]; then daemon_log_tail; fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
T0=$(date +%s.%N)
now_s() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- the cached large database
"$BIN" migrate --db "$WORK/schema.sqlite" >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log" >&2; die "migrate failed"; }
KEY=$({
  cat "$BENCH_DIR/generate-ledger.py"
  printf '\n--schema--\n'
  sqlite3 "$WORK/schema.sqlite" .schema
  printf 'tenants=%s debits=%s seed=%s span_days=%s\n' "$TENANTS" "$DEBITS" "$SEED" "$SPAN_DAYS"
} | sha256sum | cut -c1-16)
CACHED=$CACHE_DIR/ledger-${TENANTS}t-${DEBITS}d-$KEY
mkdir -p "$CACHE_DIR"
meta() { awk -F= -v k="$1" '$1 == k { print $2 }' "$2"; }
CACHE_NOTE=reused
if [ -s "$CACHED.sqlite" ] && [ -s "$CACHED.meta" ]; then
  AGE_DAYS=$(awk -v g="$(meta generated_at_ms "$CACHED.meta")" -v n="$(date +%s%3N)" 'BEGIN { printf "%.1f", (n - g) / 86400000 }')
  if awk -v a="$AGE_DAYS" -v m="$CACHE_DAYS" 'BEGIN { exit !(a >= m) }'; then
    say "the cached database is $AGE_DAYS days old (LARGE_CACHE_DAYS=$CACHE_DAYS): making it again"
    rm -f "$CACHED.sqlite" "$CACHED.meta"
  fi
fi
if ! [ -s "$CACHED.sqlite" ] || ! [ -s "$CACHED.meta" ]; then
  # Older generations of the same sizes are of no use any more (and take gigabytes).
  for f in "$CACHE_DIR"/ledger-"${TENANTS}"t-"${DEBITS}"d-*; do
    [ -e "$f" ] || continue
    case $f in "$CACHED".*) ;; *) say "removing the stale cache file $f"; rm -f "$f" ;; esac
  done
  say "generating $TENANTS tenants and $DEBITS debits (bench/generate-ledger.py; cached as $CACHED.sqlite)"
  rm -f "$CACHED".partial*
  cp "$WORK/schema.sqlite" "$CACHED.partial.sqlite"
  nice -n 10 python3 "$BENCH_DIR/generate-ledger.py" "$CACHED.partial.sqlite" --tenants "$TENANTS" --debits "$DEBITS" \
    --seed "$SEED" --span-days "$SPAN_DAYS" >"$CACHED.partial.meta" || { rm -f "$CACHED".partial*; die "bench/generate-ledger.py failed"; }
  mv "$CACHED.partial.sqlite" "$CACHED.sqlite"
  mv "$CACHED.partial.meta" "$CACHED.meta"
  CACHE_NOTE=generated
fi
GEN_META=$CACHED.meta
BENCH_TENANT=$(meta bench_tenant_id "$GEN_META")
OWNER_EMAIL=$(meta bench_owner_email "$GEN_META")

LARGE_DB=$WORK/large.sqlite
say "copying the cached database ($(du -m "$CACHED.sqlite" | cut -f1) MiB) to $LARGE_DB"
T_COPY=$(now_s)
cp "$CACHED.sqlite" "$LARGE_DB"
COPY_SECS=$(since "$T_COPY")

FRESH_DB=$WORK/fresh.sqlite
cp "$WORK/schema.sqlite" "$FRESH_DB"
python3 "$BENCH_DIR/generate-ledger.py" "$FRESH_DB" --tenants 1 --debits "$FRESH_DEBITS" --seed "$SEED" --span-days "$SPAN_DAYS" \
  >"$WORK/fresh.meta" 2>"$WORK/fresh.log" || { cat "$WORK/fresh.log" >&2; die "bench/generate-ledger.py failed on the fresh database"; }
FRESH_TENANT=$(meta bench_tenant_id "$WORK/fresh.meta")

# ---------------------------------------------------------------- the daemon and the API
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
CLK_TCK=$(getconf CLK_TCK)
machine_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
daemon_cpu() { sed 's/.*) //' "/proc/$DAEMON_PID/stat" | awk '{ print $12 + $13 }'; }
daemon_alive() { kill -0 "$DAEMON_PID" 2>/dev/null; }
check_alive() { daemon_alive || die "the daemon died ($*)"; }

# start_daemon DB: serves DB on a new free port (log appended to $DAEMON_LOG); sets BASE.
start_daemon() {
  PORT=$(free_port)
  BASE=http://127.0.0.1:$PORT
  echo "=== serve --db $1" >>"$DAEMON_LOG"
  "$BIN" serve --db "$1" --listen "127.0.0.1:$PORT" --public Public "${DAEMON_ARGS[@]}" >>"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 300); do
    check_alive "while starting"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)" = 200 ] && return 0
    sleep 0.1
  done
  die "GET /healthz did not answer 200 within 30 s"
}



# setup DB TENANT: the operator, the daemon, the owner's password, session, API key and
# credits; sets OPS_TOKEN, SESSION, API_KEY.
setup() {
  local db=$1 tenant=$2 token code reset current
  printf '%s\n' "$OPS_PASSWORD" | "$BIN" admin create --email "$OPS_EMAIL" --password-stdin --db "$db" >"$WORK/admin.log" 2>&1 ||
    { cat "$WORK/admin.log" >&2; die "admin create failed on $db"; }
  start_daemon "$db"
  OPS_TOKEN=$(api POST /v1/account/login "{\"email\":\"$OPS_EMAIL\",\"password\":\"$OPS_PASSWORD\"}" | json token)
  token=$(api POST /v1/account/password/forgot "{\"email\":\"$OWNER_EMAIL\"}" | json token)
  code=$(outbox_code "$OWNER_EMAIL")
  reset=$(api POST /v1/account/password/forgot/verify "{\"email\":\"$OWNER_EMAIL\",\"code\":\"$code\",\"token\":\"$token\"}" | json new_token)
  [ -n "$reset" ] || die "the reset code of $OWNER_EMAIL was not accepted"
  api POST /v1/account/password/forgot/reset "{\"token\":\"$reset\",\"new_password\":\"$OWNER_PASSWORD\",\"password_confirm\":\"$OWNER_PASSWORD\"}" >/dev/null
  SESSION=$(api POST /v1/account/login "{\"email\":\"$OWNER_EMAIL\",\"password\":\"$OWNER_PASSWORD\"}" | json token)
  current=$(api GET /v1/user/tenants/current "" "$SESSION" | python3 -c 'import json, sys; print(json.load(sys.stdin)["tenant"]["id"])')
  [ "$current" = "$tenant" ] || die "the owner's current tenant is $current, not $tenant"
  API_KEY=$(api POST /v1/tenant/api-keys '{"name":"bench","scopes":["usage.write","usage.read"]}' "$SESSION" | json plaintext_key)
  api POST "/v1/admin/tenants/$tenant/credits" \
    '{"category":"USAGE_AI_CREDIT","amount":"1000000000","expires_at":"2100-01-01T00:00:00Z","reason":"bench"}' "$OPS_TOKEN" >/dev/null
}

# run_wrk LUA OUT DURATION URL
run_wrk() {
  local lua=$1 out=$2 duration=$3 url=$4
  BENCH_OUT=$out BENCH_RUN=$(basename "$out" .txt) wrk -t"$WRK_THREADS" -c"$CONNS" -d"$duration" --timeout "$WRK_TIMEOUT" \
    --latency -s "$lua" "$url" >"$out.wrk" 2>"$out.err" || { cat "$out.err" "$out.wrk" >&2; die "wrk failed on $url"; }
  [ -s "$out" ] || { cat "$out.err" "$out.wrk" >&2; die "wrk wrote no figures for $url"; }
}

CONSUME_LUA='
local consumed, prefix = 0, nil
function request()
  if not prefix then prefix = (os.getenv("BENCH_RUN") or "run") .. "-t" .. tostring(thread_id or 0) .. "-" end
  consumed = consumed + 1
  return wrk.format(nil, nil, nil, string.format(
    [[{"category":"USAGE_AI_CREDIT","amount":1,"agent_id":"agent-%d","dataset_id":"","idempotency_key":"%s%d"}]],
    consumed % 64, prefix, consumed))
end'
AGENTS_BODY='{"agent_ids":["agent-0","agent-1","agent-2","agent-3","agent-4","agent-5","agent-6","agent-7","agent-8","agent-9"]}'

# scenario DBNAME ID METHOD PATH BODY [REQUEST_LUA]: a probe, a warm-up, the measured run;
# figures (wrk's key=value lines, the CPU) in $WORK/<DBNAME>-<ID>.txt.
scenario() {
  local dbname=$1 id=$2 method=$3 path=$4 body=$5 request_lua=${6:-}
  local lua=$WORK/$dbname-$id.lua out=$WORK/$dbname-$id.txt busy0 daemon0 busy1 daemon1
  say "[$dbname] $id: $method $path, $CONNS connections, warm-up $WARMUP, measure $DURATION"
  check_alive "before $id"
  api "$method" "$path" "$body" "$API_KEY" >/dev/null
  {
    printf -- '-- %s %s (generated by bench/large.sh)\n' "$dbname" "$id"
    printf 'wrk.method = "%s"\n' "$method"
    if [ -n "$body" ]; then
      printf 'wrk.body = [==[%s]==]\n' "$body"
      printf 'wrk.headers["Content-Type"] = "application/json"\n'
    fi
    printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$API_KEY"
    echo 'count_statuses = false'
    printf 'dofile("%s/wrk-common.lua")\n' "$BENCH_DIR"
    [ -z "$request_lua" ] || printf '%s\n' "$request_lua"
  } >"$lua"
  run_wrk "$lua" "$WORK/$dbname-$id-warmup.txt" "$WARMUP" "$BASE$path"
  sleep 0.5
  busy0=$(machine_busy); daemon0=$(daemon_cpu)
  run_wrk "$lua" "$out" "$DURATION" "$BASE$path"
  busy1=$(machine_busy); daemon1=$(daemon_cpu)
  check_alive "during $id"
  {
    echo "method=$method"
    echo "path=$path"
    echo "machine_cpu_s=$(awk -v a="$busy0" -v b="$busy1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')"
    echo "daemon_cpu_s=$(awk -v a="$daemon0" -v b="$daemon1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')"
  } >>"$out"
  sleep 0.5
}

# bench DBNAME DB TENANT: the six routes on DB.
bench() {
  local dbname=$1 db=$2 tenant=$3 u=/v1/usage/tenants/$3
  say "[$dbname] setting up ($db)"
  setup "$db" "$tenant"
  scenario "$dbname" auth-check GET /v1/auth/check ""
  scenario "$dbname" current GET "$u/current" ""
  scenario "$dbname" agents-credits POST "$u/agents/credits" "$AGENTS_BODY"
  scenario "$dbname" balance GET "$u/balance" ""
  scenario "$dbname" ledger GET "$u/ledger" ""
  scenario "$dbname" consume POST "$u/consume" \
    '{"category":"USAGE_AI_CREDIT","amount":1,"agent_id":"agent-0","dataset_id":"","idempotency_key":"probe-consume"}' "$CONSUME_LUA"
  grep -E ' (warning|error|critical) ' "$DAEMON_LOG" | grep -v -e 'no operator account yet' | tail -n 5 >"$WORK/$dbname-log-problems.txt" || true
  stop_daemon
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
bench large "$LARGE_DB" "$BENCH_TENANT"
bench fresh "$FRESH_DB" "$FRESH_TENANT"

# ---------------------------------------------------------------- size, rows, check, backup
say "counting the large database's rows"
python3 - "$LARGE_DB" "$BENCH_TENANT" >"$WORK/rows.txt" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
q = lambda sql, *a: c.execute(sql, a).fetchone()[0]
for t in ("tenant", "user", "membership", "subscription", "api_key", "credit_grant", "credit_debit", "credit_debit_part",
          "credit_entry", "credit_expiry", "usage_total"):
    print(f"rows_{t}={q(f'SELECT count(*) FROM {t}')}")
print(f"bench_debits={q('SELECT count(*) FROM credit_debit WHERE tenant_id = ?', sys.argv[2])}")
print(f"bench_entries={q('SELECT count(*) FROM credit_entry WHERE tenant_id = ?', sys.argv[2])}")
print(f"db_bytes={q('PRAGMA page_count') * q('PRAGMA page_size')}")
PY
# timed LIMIT CMD...: runs it, stopped (SIGTERM, rc 124) after LIMIT seconds; prints
# "seconds rc" (its output in $WORK/timed.out).
timed() {
  local t rc=0 limit=$1
  shift
  t=$(now_s)
  timeout "$limit" "$@" >"$WORK/timed.out" 2>&1 || rc=$?
  printf '%s %s\n' "$(since "$t")" "$rc"
}
say "tenantryd check on the large database (stopped after $CHECK_LIMIT s)"
read -r CHECK_SECS CHECK_RC < <(timed "$CHECK_LIMIT" "$BIN" check --db "$LARGE_DB")
CHECK_OUT=$(tail -n 3 "$WORK/timed.out")
say "tenantryd backup of the large database (stopped after $BACKUP_LIMIT s)"
read -r BACKUP_SECS BACKUP_RC < <(timed "$BACKUP_LIMIT" "$BIN" backup --db "$LARGE_DB" --to "$WORK/backup.sqlite")
BACKUP_OUT=$(tail -n 3 "$WORK/timed.out")
BACKUP_BYTES=$(stat -c %s "$WORK/backup.sqlite" 2>/dev/null || echo 0)
rm -f "$WORK/backup.sqlite"

# ---------------------------------------------------------------- report
python3 - "$WORK" "$GEN_META" "$CACHE_NOTE" "$CONNS" "$DURATION" "$WARMUP" "$COPY_SECS" "$CHECK_SECS" "$CHECK_RC" "$CHECK_OUT" \
  "$BACKUP_SECS" "$BACKUP_RC" "$BACKUP_OUT" "$BACKUP_BYTES" "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)" "$FRESH_DEBITS" \
  "$CHECK_AIM" "$BACKUP_AIM" "$RATIO_AIM" "$(basename "$CACHED").sqlite" >"$WORK/summary.txt" <<'PY' && SUMMARY_RC=0 || SUMMARY_RC=$?
import sys

(work, gen_meta, cache_note, conns, duration, warmup, copy_s, check_s, check_rc, check_out, backup_s, backup_rc, backup_out,
 backup_bytes, load0, load1, fresh_debits, check_aim, backup_aim, ratio_aim, cache_name) = sys.argv[1:22]
kv = lambda path: dict(l.rstrip("\n").split("=", 1) for l in open(path) if "=" in l)
gen, rows = kv(gen_meta), kv(f"{work}/rows.txt")
check_aim, backup_aim, ratio_aim = float(check_aim), float(backup_aim), float(ratio_aim)
out = []
p = out.append
n = lambda k: f"{int(rows[k]):,}"
p(f"Large database (bench/large.sh): {int(gen['tenants']):,} tenants, {int(gen['debits']):,} debits "
  f"(bench/generate-ledger.py in {float(gen['seconds']):.0f} s, {cache_note}: {cache_name}); "
  f"wrk {conns} connections, {duration} after a {warmup} warm-up")
p(f"  database {int(rows['db_bytes']) / 2**20:,.0f} MiB (copied in {float(copy_s):.0f} s); rows: tenant {n('rows_tenant')}, user {n('rows_user')}, "
  f"membership {n('rows_membership')}, subscription {n('rows_subscription')}, api_key {n('rows_api_key')}, credit_grant {n('rows_credit_grant')},")
p(f"    credit_debit {n('rows_credit_debit')}, credit_debit_part {n('rows_credit_debit_part')}, credit_entry {n('rows_credit_entry')}, "
  f"credit_expiry {n('rows_credit_expiry')}, usage_total {n('rows_usage_total')} (after the bench's own debits)")
p(f"  bench tenant {gen['bench_tenant_id']} (the busiest): {n('bench_debits')} debits, {n('bench_entries')} ledger entries; "
  f"fresh database: the same tenant set-up alone, {int(fresh_debits):,} generated debits")
names = [("auth-check", "GET /v1/auth/check"), ("current", "GET  …/current"), ("agents-credits", "POST …/agents/credits (10 agents)"),
         ("balance", "GET  …/balance"), ("ledger", "GET  …/ledger (default page)"), ("consume", "POST …/consume")]
order = ["consume", "auth-check", "current", "agents-credits", "balance", "ledger"]
label = dict(names)
def fig(db, sid):
    f = kv(f"{work}/{db}-{sid}.txt")
    secs = int(f["duration_us"]) / 1e6
    rate = int(f["requests"]) / secs
    return dict(rate=rate, p50=int(f["lat_p50"]) / 1000, p99=int(f["lat_p99"]) / 1000, bad=int(f["non2xx"]),
                errs=sum(int(f[k]) for k in ("err_connect", "err_read", "err_write", "err_timeout")),
                daemon=float(f["daemon_cpu_s"]) / secs, other=(float(f["machine_cpu_s"]) - float(f["daemon_cpu_s"])) / secs)
p(f"  {'route':<36} {'large req/s':>11} {'fresh req/s':>11} {'large/fresh':>11}  aim >= {ratio_aim:.1f}   "
  f"{'p50 ms large/fresh':>18} {'p99 ms large/fresh':>18}  cores daemon/other large, fresh")
missed, problems, noisy = [], [], False
for sid in order:
    L, F = fig("large", sid), fig("fresh", sid)
    ratio = L["rate"] / F["rate"] if F["rate"] else float("nan")
    ok = ratio >= ratio_aim
    if not ok:
        missed.append(f"{label[sid].split(' (')[0].replace('  ', ' ')} {ratio:.2f}")
    for db, x in (("large", L), ("fresh", F)):
        if x["bad"] or x["errs"]:
            problems.append(f"{db} {sid}: {x['bad']} non-2xx, {x['errs']} socket errors")
        noisy = noisy or x["other"] > 1.25
    p(f"  {label[sid]:<36} {L['rate']:>11,.0f} {F['rate']:>11,.0f} {ratio:>11.2f}  {'met' if ok else 'MISSED':<10} "
      f"{L['p50']:>8.2f} / {F['p50']:<7.2f} {L['p99']:>8.2f} / {F['p99']:<7.2f}  "
      f"{L['daemon']:.2f}/{L['other']:.2f}, {F['daemon']:.2f}/{F['other']:.2f}")
check_ok = check_rc == "0" and float(check_s) < check_aim
backup_ok = backup_rc == "0" and float(backup_s) < backup_aim
def outcome(rc, out):
    if rc == "0":
        return ""
    if rc in ("124", "143"):
        return "  NOT FINISHED: stopped at the time limit"
    last = out.strip().splitlines()[-1] if out.strip() else ""
    return f"  EXIT {rc}: {last}"
last_check = check_out.strip().splitlines()[-1] if check_out.strip() and check_rc == "0" else ""
p(f"  tenantryd check  (large, daemon stopped): {float(check_s):6.1f} s  aim < {check_aim:.0f} s: "
  f"{'met' if check_ok else 'MISSED'}{outcome(check_rc, check_out)}{': ' + last_check if last_check else ''}")
p(f"  tenantryd backup (large, daemon stopped): {float(backup_s):6.1f} s  aim < {backup_aim:.0f} s: "
  f"{'met' if backup_ok else 'MISSED'}{outcome(backup_rc, backup_out)} ({int(backup_bytes) / 2**20:,.0f} MiB written)")
if not check_ok:
    missed.append(f"check {'>' if check_rc in ('124', '143') else ''}{float(check_s):.0f} s")
if not backup_ok:
    missed.append(f"backup {'>' if backup_rc in ('124', '143') else ''}{float(backup_s):.0f} s")
p(f"  => aims {'all met' if not missed else 'MISSED: ' + ', '.join(missed)}"
  f"{'; PROBLEMS: ' + '; '.join(problems) if problems else ''}")
p(f"  load average before {load0}, after {load1}" + ("  NOISY: other processes used more than wrk would (another build?)" if noisy else ""))
for db in ("large", "fresh"):
    lines = [l.rstrip("\n") for l in open(f"{work}/{db}-log-problems.txt") if l.strip()]
    if lines:
        p(f"  {db} daemon log warnings/errors (last 5):")
        for l in lines:
            p("    " + l)
print("\n".join(out))
# A check that found problems means the generated ledger is wrong (one stopped at its limit
# is a missed aim only).
if problems or check_rc not in ("0", "124", "143"):
    sys.exit(1)
PY
cat "$WORK/summary.txt"
if [ "${LARGE_EMBEDDED:-0}" != 1 ]; then
  mkdir -p "$RESULTS_DIR"
  cp "$WORK/summary.txt" "$RESULTS_DIR/large-latest.txt"
  say "summary kept in bench/results/large-latest.txt"
fi
say "done in $(since "$T0") s"
exit "$SUMMARY_RC"
