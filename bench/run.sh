#!/usr/bin/env bash
# HTTP benchmark of the release daemon (`make bench` builds it, then runs this).
#
# Starts .build/release/tenantryd on a free loopback port with a fresh database in a temp
# dir and default settings, creates an operator and a user through the real API, then runs
# wrk against each scenario (a warm-up, then the measured run) and prints a summary, also
# kept in bench/results/latest.txt and bench/results/<timestamp>.txt (git-ignored).
#
# Adding a scenario is one line at the bottom, e.g.
#   scenario "GET /v1/user" GET /v1/user "" "$SESSION"
# Per-call settings go in front of it: CONNS=8 CODES=1 scenario ...
#   CONNS        wrk connections for this scenario (default $BENCH_CONNECTIONS)
#   CODES        1 = tally every non-2xx status code with a Lua response() hook (costs wrk
#                CPU on each response; use it on slow scenarios only). Without it, non-2xx
#                counts the responses with status >= 400 (wrk's own count).
#   REQUEST_LUA  Lua text added to the scenario's wrk script, e.g. a request() function
#                that builds each body (it sees `thread_id` and $BENCH_RUN, unique per wrk
#                run: see wrk-common.lua), or a response() that counts things of its own in
#                `counters` (kept as counter_<name>). BODY then only serves the first,
#                checking request.
#   COUNT_SQL    a SELECT of one number, read from the database (read-only) before and
#                after the measured run, each time once it has not changed for 1 s (the
#                requests wrk abandoned have committed by then); the summary shows the difference (e.g. debits
#                made, against the responses counted). It may select several, named with
#                AS: each one's difference is kept as rows_delta_<name> (the first's also
#                as rows_delta), its value before as rows_before_<name>.
#   TAG          a label the summary picks scenarios by (consume-full, consume-normal, holds,
#                hold-settle, batch, hello, spread, auth-key, auth-session, user).
#   SETTLE       0 = do not wait for the password-hash queue to empty after the warm-up and
#                the measured run (runs under the login flood, whose queue never empties).
#   SERVER       hello = the scenario measures the C hello-world (bench/hello-mhd.c) at
#                $HELLO_BASE instead of the daemon (which is idle meanwhile); its CPU column
#                is the hello-world's.
#
# The scenarios, in order: GET /healthz, then GET / on the C hello-world right after it
# (bench/hello-mhd.c, built by the bench with cc -O2 and pkg-config's libmicrohttpd flags
# into the temp dir: libmicrohttpd with the daemon's flags, internal polling thread, epoll,
# turbo, a thread pool of one thread a core, answering {"status":"ok"} on the access
# handler's second call from a persistent buffer); GET /v1/auth/check with the API key and
# with the session, GET /v1/user, POST consume; the webhooks, holds and batches below; POST
# consume spread over $BENCH_TENANTS tenants (below); the logins; the login flood; consume
# with synchronous=normal. The summary's "Aims" table holds every figure against the aim
# set for it: GET /healthz >= 0.8 x the hello-world; as ratios to /healthz, auth/check
# (API key and session) >= 0.7, GET /v1/user >= 0.5, consume >= 0.5 with p99 <= 5 ms on
# one tenant and over the tenants, holds and hold+settle pairs >= 0.35, consume/batch
# >= 200,000 debits/s; no debit lost or doubled; idle memory <= 25 MB; beside consume, the
# same debit done by PostgreSQL (below).
#
# Memory: the daemon's VmRSS (/proc/PID/status) once its start-up and the setup calls (the
# operator's login, the user, the API key, the credits) are done and it has been idle 2 s
# (aim: <= 25 MB; 25,000,000 bytes), also right after start-up (1 s after /healthz first
# answered, before the setup calls), and its peak (VmHWM) under the load of every scenario
# of the first daemon (the one with synchronous=full), with its RSS after them.
#
# Consume over many tenants (BENCH_TENANTS, 1000; 0 skips it): bench/make-tenants.py
# creates them through the API (a user each, registered with the code from the outbox: the
# API makes a tenant only with its user; an API key each; 1e9 credits each granted by the
# operator) and writes the (tenant, key) pairs to a file that the scenario's wrk Lua reads:
# each request goes to the next tenant of the list (its path and its API key), every wrk
# thread starting elsewhere in it. The debits are counted before and after (COUNT_SQL), as
# for consume on one tenant, and the tenants that got debits during its runs.
#
# PostgreSQL beside the debit (BENCH_POSTGRES, 1; 0 skips it; needs Debian's postgresql):
# once the daemons have stopped, a cluster of Debian's PostgreSQL (the newest
# /usr/lib/postgresql/*/bin) is made in a temp dir (initdb, run as the postgres system
# user when the bench runs as root: initdb refuses root), on a free loopback port with
# its unix socket in that dir, its defaults otherwise (fsync on, synchronous_commit on;
# max_connections raised to fit the clients). Its schema: a balance table (1,000 rows of
# 1e9) and a debit table (balance id, amount, balance after, agent id, idempotency key,
# unique per balance, time). One debit is one SQL transaction: one statement that
# decrements the balance only when it covers the amount and inserts the debit row with a
# new idempotency key (gen_random_uuid()) in the same transaction. pgbench drives it
# (-c $BENCH_PG_CLIENTS -j 2 -n -M prepared, over TCP on loopback as wrk does; a warm-up,
# then the measured run with per-transaction logs for p50/p99), on one balance and then
# spread over the 1,000 (\set id random(1, 1000)). The summary gives its tps beside
# consume on one tenant and over the tenants (ratio Tenantry / PostgreSQL) and checks that
# the debits counted in PostgreSQL equal the transactions pgbench reported and that each
# balance's decrease equals the sum of its debits. The cluster is stopped and removed at
# the end, whatever happens.
#
# The credit consumption scenario (the hot path) runs twice: on the daemon as started
# (synchronous=full by default), then on the same database after a restart with
# --synchronous normal. bench/timers.sh (the billing timers over 100,000 tenants, with its
# own daemon) runs at the end unless BENCH_TIMERS=0; its summary joins this one. With it
# the whole bench takes about 4 minutes (most of it the timers' trial expiry).
#
# The login flood (unless BENCH_FLOOD=0; under a minute with the default duration): a second
# wrk, in the background, with 300 connections POSTing /v1/account/login with a wrong
# password, over 256 emails (the first 4 registered accounts, the rest unknown: the daemon
# checks those against a decoy hash, the same argon2id work) and a new X-Forwarded-For
# 10.x.y.z on every request (loopback is a trusted proxy by default), so the per-client and
# per-account throttles do not turn it into 429s and the hashing workers stay busy. While it
# runs, GET /v1/user (session), GET /v1/auth/check and POST consume (API key) are measured
# again, as the runs without the flood were; the summary gives each one's ratio flood/alone
# against the aim (>= 0.7), and the wrong passwords hashed per second during each run.
#
# Holds and batches (unless BENCH_HOLDS=0; about 45 s with the default duration), after the
# webhooks, on two tenants of their own (users holds@ and settle@bench.test, an API key and
# 1e9 credits each, granted by the operator as for consume): a hold left open makes each later
# hold, settle and debit of its tenant slower (they sum its open holds), so the holds
# scenario's pile stays away from the others. Every request has a new idempotency key, and
# holds have ttl_seconds 86400 (none expires during the bench).
#   POST holds            a hold of 1 credit a request; holds/s and the ratio to /healthz, and
#                         the open holds on its tenant before and after the run.
#   POST hold+settle      each connection alternates: a hold of 2, then the settlement of 1 of
#                         it (POST .../holds/{id}/settle, the id taken by a response() hook
#                         from the hold's answer, per wrk thread); pairs (= settles) per second
#                         and the ratio.
#   POST consume/batch    batches of 100 debits of 1 credit; debits per second (2xx requests/s
#                         x 100) and the ratio.
# Each run's database difference is held against what wrk got 2xx answers for, and once the
# daemon has stopped (after the synchronous=normal run), sqlite3 counts both tenants' holds,
# settled holds (each with its debit) and batch debits against every 2xx answer of the
# probes, warm-ups and measured runs: none may be missing, and no more may be there than the
# requests wrk left in flight when it stopped (the Lua counts the requests it sent) can
# explain ("Ledger of holds and batches: met"); tenantryd check must pass as well.
#
# Webhooks (unless BENCH_WEBHOOKS=0; about 45 s with the default duration): the daemon runs
# with --webhooks-allow-private from the start; right after the consume scenario, one active
# endpoint subscribed to "*" is created (its URL a local receiver: Debian's nginx on a free
# loopback port answering 204, run as the current user from the temp dir; a Python
# http.server if nginx cannot run) and consume is measured again, against the run just
# before it without webhooks (aim: ratio >= 0.95; consume emits no event today, so this is
# the cost of having an endpoint configured). Then wrk POSTs /v1/admin/webhooks/{id}/test
# until $BENCH_WEBHOOK_DELIVERIES webhook.test deliveries are queued, and the bench waits
# (at most $BENCH_WEBHOOK_WAIT s) until each has been tried once (a failure's retry, 30 s
# later at the earliest, is not waited for): deliveries per second from the first
# completed_at to the last, and how many failed or are being retried (must be 0). The
# endpoint is deleted afterwards, so that later scenarios emit nothing.
#
# Environment: BENCH_DURATION (10s), BENCH_WARMUP (2s), BENCH_CONNECTIONS (64),
# BENCH_WRK_THREADS (1), BENCH_TIMEOUT (10s, wrk's per-request timeout),
# TENANTRYD (.build/release/tenantryd), BENCH_TIMERS (1; 0 skips bench/timers.sh, whose
# own settings are TIMERS_*), BENCH_LARGE (1; 0 skips bench/large.sh, the routes, check and
# backup on 100,000 tenants and 10 million debits, whose own settings are LARGE_*; its first
# run generates the database, about 6 minutes, then reuses it for a week), BENCH_FLOOD (1; 0 skips the login flood), BENCH_FLOOD_CONNECTIONS
# (300, the flood's connections), BENCH_WEBHOOKS (1; 0 skips the webhooks),
# BENCH_WEBHOOK_DELIVERIES (3000), BENCH_WEBHOOK_WAIT (120, seconds), BENCH_HOLDS (1; 0 skips the
# holds and batches; 1 needs sqlite3), BENCH_NGINX (nginx, else
# /usr/sbin/nginx; a command that does not run means the Python receiver), BENCH_TENANTS
# (1000; 0 skips consume over many tenants), BENCH_POSTGRES (1; 0 skips PostgreSQL),
# BENCH_PG_CLIENTS (64, pgbench's clients), CC (cc, for the hello-world). Extra daemon flags: BENCH_DAEMON_ARGS, e.g.
# BENCH_DAEMON_ARGS="--synchronous normal" (the consume scenario then runs once).
#
# wrk and the daemon share the machine's cores: the CPU columns say who used what
# (in cores: 1.00 = one core busy for the whole run; "other" = processes outside the
# bench, e.g. a concurrent build, which make the figures noisy).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BENCH_DIR=$ROOT/bench
RESULTS_DIR=$BENCH_DIR/results
BIN=${TENANTRYD:-.build/release/tenantryd}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNS_DEFAULT=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-1}
WRK_TIMEOUT=${BENCH_TIMEOUT:-10s}
read -r -a DAEMON_ARGS <<<"${BENCH_DAEMON_ARGS:-}"
RUN_TIMERS=${BENCH_TIMERS:-1}
RUN_LARGE=${BENCH_LARGE:-1}
RUN_FLOOD=${BENCH_FLOOD:-1}
FLOOD_CONNS=${BENCH_FLOOD_CONNECTIONS:-300}
RUN_WEBHOOKS=${BENCH_WEBHOOKS:-1}
RUN_HOLDS=${BENCH_HOLDS:-1}
WEBHOOK_DELIVERIES=${BENCH_WEBHOOK_DELIVERIES:-3000}
WEBHOOK_WAIT=${BENCH_WEBHOOK_WAIT:-120}
SPREAD_TENANTS=${BENCH_TENANTS:-1000}
RUN_POSTGRES=${BENCH_POSTGRES:-1}
PG_CLIENTS=${BENCH_PG_CLIENTS:-64}
CC=${CC:-cc}
# Deliveries to the bench's loopback receiver need it; it only widens the URLs allowed.
[ "$RUN_WEBHOOKS" = 0 ] || DAEMON_ARGS+=(--webhooks-allow-private)

OPS_EMAIL=ops@bench.test
OPS_PASSWORD=pw-for-bench-1
USER_EMAIL=user@bench.test
USER_PASSWORD=bench-user-password-1
# The login flood's targets: flood-0@ ... flood-255@bench.test, the first 4 registered.
FLOOD_EMAILS=256
FLOOD_ACCOUNTS=4
FLOOD_PASSWORD=flood-account-password-1
FLOOD_WRONG_PASSWORD=not-the-password-1

die() { echo "bench: $*" >&2; exit 1; }

for tool in wrk curl python3 "$CC" pkg-config $([ "$RUN_HOLDS" = 0 ] || echo sqlite3) $([ "$RUN_POSTGRES" = 0 ] || echo psql pgbench); do
  command -v "$tool" >/dev/null || die "$tool is not installed (make bench-deps)"
done
pkg-config --exists libmicrohttpd || die "pkg-config does not know libmicrohttpd (make bench-deps)"
if [ "$RUN_POSTGRES" != 0 ]; then
  # Debian's server binaries (initdb, pg_ctl) are not on PATH: the newest installed version.
  PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    die "no /usr/lib/postgresql/*/bin/initdb: install postgresql (make bench-deps), or BENCH_POSTGRES=0"
  fi
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root, initdb needs the postgres system user (Debian's postgresql makes it)"
  fi
fi
[ -x "$BIN" ] || die "$BIN not found: run 'swift build -c release' (or 'make bench')"

WORK=$(mktemp -d -t tenantry-bench.XXXXXX)
DB=$WORK/tenantry.sqlite
DAEMON_LOG=$WORK/daemon.log
DAEMON_PID=
FLOOD_PID=
RECEIVER_PID=
WEBHOOK_QUEUE_PID=
HELLO_PID=
PG_WORK=
PG_STARTED=

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Stops the webhooks' receiver (RECEIVER_PID, nginx's master or the Python server), if running.
receiver_stop() {
  [ -n "$RECEIVER_PID" ] || return 0
  # nginx: QUIT, its graceful stop (its worker goes too); Python: TERM.
  kill -"${RECEIVER_SIGNAL:-TERM}" "$RECEIVER_PID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$RECEIVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$RECEIVER_PID" 2>/dev/null || true
  wait "$RECEIVER_PID" 2>/dev/null || true
  RECEIVER_PID=
}
# Stops the C hello-world (HELLO_PID), if running.
hello_stop() {
  [ -n "$HELLO_PID" ] || return 0
  kill -TERM "$HELLO_PID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$HELLO_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$HELLO_PID" 2>/dev/null || true
  wait "$HELLO_PID" 2>/dev/null || true
  HELLO_PID=
}
# as_pg CMD...: runs CMD as the cluster's owner (the postgres system user when root).
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# Stops the PostgreSQL cluster (fast: its clients are gone), if started, and removes its dir.
pg_stop() {
  [ -n "$PG_WORK" ] || return 0
  if [ -n "$PG_STARTED" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_WORK/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      as_pg "$PG_BIN/pg_ctl" -D "$PG_WORK/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
    PG_STARTED=
  fi
  rm -rf "$PG_WORK"
  PG_WORK=
}
cleanup() {
  local rc=$?
  trap - EXIT
  # The login flood's wrk, if the bench stopped while it ran.
  if [ -n "$FLOOD_PID" ]; then kill -TERM "$FLOOD_PID" 2>/dev/null || true; wait "$FLOOD_PID" 2>/dev/null || true; fi
  # The webhooks' queueing wrk and their receiver (nginx or Python), likewise.
  if [ -n "$WEBHOOK_QUEUE_PID" ]; then kill -TERM "$WEBHOOK_QUEUE_PID" 2>/dev/null || true; wait "$WEBHOOK_QUEUE_PID" 2>/dev/null || true; fi
  receiver_stop
  hello_stop
  pg_stop
  stop_daemon
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

daemon_alive() { kill -0 "$DAEMON_PID" 2>/dev/null; }
check_alive() { daemon_alive || { daemon_log_tail; die "the daemon died ($*)"; }; }

# ---------------------------------------------------------------- start the daemon
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT

printf '%s\n' "$OPS_PASSWORD" |
  "$BIN" admin create --email "$OPS_EMAIL" --password-stdin --db "$DB" >"$WORK/admin.log" 2>&1 ||
  { cat "$WORK/admin.log" >&2; die "admin create failed"; }

# start_daemon [EXTRA FLAGS]: serves $DB on $PORT (log appended to $DAEMON_LOG).
start_daemon() {
  "$BIN" serve --db "$DB" --listen "127.0.0.1:$PORT" --public Public "${DAEMON_ARGS[@]}" "$@" >>"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 150); do
    check_alive "while starting"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)" = 200 ] && break
    sleep 0.1
  done
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)" = 200 ] ||
    { daemon_log_tail; die "GET /healthz did not answer 200 within 15 s"; }
}
start_daemon
# Its resident set once started, before the setup calls (the idle figure comes after them).
sleep 1
STARTUP_RSS_KIB=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$DAEMON_PID/status")

# ---------------------------------------------------------------- API helpers
# A value from GET /metrics (loopback needs no token).
metrics_snapshot() { curl -sS "$BASE/metrics" >"$1" || die "GET /metrics failed"; }
metric() { awk -v n="$1" '$1 == n { print $2; found=1 } END { if (!found) print "nan" }' "$2"; }

# ---------------------------------------------------------------- a user to log in as
OPS_TOKEN=$(api POST /v1/account/login "{\"email\":\"$OPS_EMAIL\",\"password\":\"$OPS_PASSWORD\"}" | json token)
# create_user EMAIL PASSWORD: registers EMAIL through the API (the code read from the
# operator's outbox), sets its password; prints the session token.
create_user() {
  local email=$1 password=$2 reg_token code= verify_token
  reg_token=$(api POST /v1/account/register "{\"email\":\"$email\"}" | json token)
  code=$(outbox_code "$email")
  verify_token=$(api POST /v1/account/register/verify \
    "{\"email\":\"$email\",\"code\":\"$code\",\"token\":\"$reg_token\"}" | json token)
  api POST /v1/user/initial "{\"password\":\"$password\"}" "$verify_token" | json token
}
SESSION=$(create_user "$USER_EMAIL" "$USER_PASSWORD")
api GET /v1/user "" "$SESSION" >/dev/null

# ---------------------------------------------------------------- an API key and credits
TENANT_ID=$(api GET /v1/user/tenants/current "" "$SESSION" | python3 -c 'import json, sys; print(json.load(sys.stdin)["tenant"]["id"])')
API_KEY=$(api POST /v1/tenant/api-keys '{"name":"bench","scopes":["usage.write","usage.read"]}' "$SESSION" | json plaintext_key)
api POST "/v1/admin/tenants/$TENANT_ID/credits" \
  '{"category":"USAGE_AI_CREDIT","amount":"1000000000","expires_at":"2100-01-01T00:00:00Z","reason":"bench"}' "$OPS_TOKEN" >/dev/null
CONSUME_PATH=/v1/usage/tenants/$TENANT_ID/consume
# One credit a request; agent ids cycle over 64; the idempotency key is unique per request
# (wrk run, thread, counter), else the daemon would answer replays without debiting.
CONSUME_LUA='
local consumed, prefix = 0, nil
function request()
  if not prefix then prefix = (os.getenv("BENCH_RUN") or "run") .. "-t" .. tostring(thread_id or 0) .. "-" end
  consumed = consumed + 1
  counters.sent = (counters.sent or 0) + 1
  return wrk.format(nil, nil, nil, string.format(
    [[{"category":"USAGE_AI_CREDIT","amount":1,"agent_id":"agent-%d","dataset_id":"","idempotency_key":"%s%d"}]],
    consumed % 64, prefix, consumed))
end'
consume_body() { printf '{"category":"USAGE_AI_CREDIT","amount":1,"agent_id":"agent-0","dataset_id":"","idempotency_key":"%s"}' "$1"; }
DEBITS_SQL="SELECT count(*) FROM credit_debit"

# ---------------------------------------------------------------- the C hello-world
# bench/hello-mhd.c, built into the temp dir, on a port of its own, a thread a core.
HELLO_PORT=$(free_port)
HELLO_BASE=http://127.0.0.1:$HELLO_PORT
# shellcheck disable=SC2046 # pkg-config's flags are words
"$CC" -O2 -o "$WORK/hello-mhd" "$BENCH_DIR/hello-mhd.c" $(pkg-config --cflags --libs libmicrohttpd) >"$WORK/hello-build.log" 2>&1 ||
  { cat "$WORK/hello-build.log" >&2; die "could not build bench/hello-mhd.c"; }
"$WORK/hello-mhd" "$HELLO_PORT" "$(nproc)" >"$WORK/hello.log" 2>&1 &
HELLO_PID=$!
for _ in $(seq 50); do
  kill -0 "$HELLO_PID" 2>/dev/null || { cat "$WORK/hello.log" >&2; die "the C hello-world did not start"; }
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$HELLO_BASE/" || true)" = 200 ] && break
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$HELLO_BASE/" || true)" = 200 ] || die "the C hello-world did not answer 200 within 5 s"

# ---------------------------------------------------------------- idle memory
# After start-up and the setup calls above, idle for 2 s: the daemon's resident set.
sleep 2
IDLE_RSS_KIB=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$DAEMON_PID/status")
IDLE_HWM_KIB=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$DAEMON_PID/status")
IDLE_THREADS=$(awk '$1 == "Threads:" { print $2 }' "/proc/$DAEMON_PID/status")

# ---------------------------------------------------------------- scenarios
CLK_TCK=$(getconf CLK_TCK)
N_SCENARIOS=0
RESULT_FILES=()

# Busy jiffies of the whole machine (all cores), and of the daemon.
machine_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
daemon_cpu() { sed 's/.*) //' "/proc/$DAEMON_PID/stat" | awk '{ print $12 + $13 }'; }
# User+system jiffies of a process (the flood's wrk), 0 once it is gone.
proc_cpu() { { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null || echo; } | awk '{ print $12 + $13 }'; }
daemon_hwm_kib() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$DAEMON_PID/status"; }
# The running daemon's synchronous setting, from its start-up line.
daemon_synchronous() { grep -o 'synchronous=[a-z]*' "$DAEMON_LOG" | tail -n 1 | cut -d= -f2; }
# db_count SQL: one number from the database, read-only (WAL: alongside the daemon).
db_count() {
  python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute(sys.argv[2]).fetchone()[0])' "$DB" "$1" || die "could not read the database: $1"
}
# db_counts SQL: a SELECT of one or more numbers (one read, so consistent with each other),
# printed as column=value lines, e.g. "settled=12" for "... AS settled".
db_counts() {
  python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
cur = c.execute(sys.argv[2])
for d, v in zip(cur.description, cur.fetchone()):
    print(f"{d[0]}={v}")' "$DB" "$1" || die "could not read the database: $1"
}
# db_counts_idle SQL: db_counts once the numbers have not moved for 1 s (at most 30 s): the
# requests wrk abandoned when it stopped may still be queued and commit afterwards, some
# scenarios' requests take a second or more, and the writer commits them in groups.
db_counts_idle() {
  local now last same=0
  last=$(db_counts "$1")
  for _ in $(seq 120); do
    sleep 0.25
    now=$(db_counts "$1")
    if [ "$now" = "$last" ]; then same=$((same + 1)); [ "$same" -ge 4 ] && break; else same=0; last=$now; fi
  done
  printf '%s\n' "$now"
}

# Waits until no password hash is queued (wrk abandons its requests in flight when it stops,
# and the daemon still hashes them), so a run does not inherit the previous one's backlog.
settle() {
  for _ in $(seq 100); do
    metrics_snapshot "$WORK/settle.prom"
    [ "$(metric tenantry_password_hash_queue "$WORK/settle.prom")" = 0 ] && break
    sleep 0.1
  done
  sleep 0.2
}

# run_wrk LUA OUT DURATION CONNS URL: runs wrk; its user+sys CPU seconds go to $OUT.time.
run_wrk() {
  local lua=$1 out=$2 duration=$3 conns=$4 url=$5 TIMEFORMAT='%3U %3S'
  if ! { time BENCH_OUT=$out BENCH_RUN=$(basename "$out" .txt) wrk -t"$WRK_THREADS" -c"$conns" -d"$duration" --timeout "$WRK_TIMEOUT" \
      --latency -s "$lua" "$url" >"$out.wrk" 2>"$out.err"; } 2>"$out.time"; then
    cat "$out.err" "$out.wrk" >&2
    die "wrk failed on $url"
  fi
  [ -s "$out" ] || { cat "$out.err" "$out.wrk" >&2; die "wrk wrote no figures for $url"; }
}

# scenario NAME METHOD PATH [BODY] [TOKEN] (settings CONNS=, CODES= in front, see the top)
scenario() {
  local name=$1 method=$2 path=$3 body=${4:-} token=${5:-}
  local conns=${CONNS:-$CONNS_DEFAULT} codes=${CODES:-0} request_lua=${REQUEST_LUA:-} count_sql=${COUNT_SQL:-} tag=${TAG:-}
  local do_settle=${SETTLE:-1} server=${SERVER:-daemon} url_base=$BASE server_pid=$DAEMON_PID auth=none
  if [ "$server" = hello ]; then url_base=$HELLO_BASE server_pid=$HELLO_PID; fi
  case $token in '') ;; tnk_*) auth="API key" ;; *) auth=session ;; esac
  N_SCENARIOS=$((N_SCENARIOS + 1))
  local id
  id=$(printf '%02d' "$N_SCENARIOS")
  local lua=$WORK/scenario-$id.lua out=$WORK/scenario-$id.txt
  echo "bench: [$id] $name: $method $path, $conns connections, warm-up $WARMUP, measure $DURATION" >&2

  check_alive "before $name"
  [ "$server" != hello ] || kill -0 "$HELLO_PID" 2>/dev/null || die "the C hello-world died (before $name)"
  # One request first: a scenario that is refused (401, 404, ...) is a broken bench, not a figure.
  API_BASE=$url_base api "$method" "$path" "$body" "$token" >/dev/null

  {
    printf -- '-- %s (generated by bench/run.sh)\n' "$name"
    printf 'wrk.method = "%s"\n' "$method"
    if [ -n "$body" ]; then
      printf 'wrk.body = [==[%s]==]\n' "$body"
      printf 'wrk.headers["Content-Type"] = "application/json"\n'
    fi
    [ -n "$token" ] && printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$token"
    if [ "$codes" = 1 ]; then echo 'count_statuses = true'; else echo 'count_statuses = false'; fi
    printf 'dofile("%s/wrk-common.lua")\n' "$BENCH_DIR"
    [ -z "$request_lua" ] || printf '%s\n' "$request_lua"
  } >"$lua"

  run_wrk "$lua" "$WORK/warmup-$id.txt" "$WARMUP" "$conns" "$url_base$path"
  [ "$do_settle" = 0 ] || settle
  check_alive "after the warm-up of $name"

  local busy0 daemon0 busy1 daemon1 flood0=0 flood1=0 rows0= rows1=
  # The warm-up's abandoned requests first (they must not count in the difference).
  [ -z "$count_sql" ] || rows0=$(db_counts_idle "$count_sql")
  metrics_snapshot "$WORK/before-$id.prom"
  busy0=$(machine_busy); daemon0=$(proc_cpu "$server_pid")
  [ -z "$FLOOD_PID" ] || flood0=$(proc_cpu "$FLOOD_PID")
  run_wrk "$lua" "$out" "$DURATION" "$conns" "$url_base$path"
  busy1=$(machine_busy); daemon1=$(proc_cpu "$server_pid")
  [ -z "$FLOOD_PID" ] || { flood1=$(proc_cpu "$FLOOD_PID"); flood_alive "during $name"; }
  check_alive "during $name"
  [ "$server" != hello ] || kill -0 "$HELLO_PID" 2>/dev/null || die "the C hello-world died (during $name)"
  metrics_snapshot "$WORK/after-$id.prom"
  # Requests wrk abandoned when it stopped may still commit: wait for the writer to be idle.
  [ -z "$count_sql" ] || rows1=$(db_counts_idle "$count_sql")

  local m delta
  {
    echo "name=$name"
    echo "tag=$tag"
    echo "server=$server"
    echo "auth=$auth"
    echo "synchronous=$(daemon_synchronous)"
    if [ -n "$count_sql" ]; then
      echo "count_sql=$count_sql"
      # rows_delta: the first column's difference; rows_delta_<column>: each column's.
      awk -F= 'NR == FNR { before[$1] = $2; next }
        { d = $2 - before[$1]; if (FNR == 1) print "rows_delta=" d; print "rows_delta_" $1 "=" d; print "rows_before_" $1 "=" before[$1] }' \
        <(printf '%s\n' "$rows0") <(printf '%s\n' "$rows1")
    fi
    echo "method=$method"
    echo "path=$path"
    echo "conns=$conns"
    echo "machine_cpu_s=$(awk -v a="$busy0" -v b="$busy1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')"
    echo "daemon_cpu_s=$(awk -v a="$daemon0" -v b="$daemon1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')"
    echo "wrk_cpu_s=$(awk '{ printf "%.3f", $1 + $2 }' "$out.time")"
    # The login flood's wrk, when it ran alongside (counted apart from "other").
    echo "under_flood=$([ -n "$FLOOD_PID" ] && echo 1 || echo 0)"
    echo "flood_wrk_cpu_s=$(awk -v a="$flood0" -v b="$flood1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')"
    echo "daemon_hwm_kib=$(daemon_hwm_kib)"
    for m in tenantry_password_hashes_total tenantry_password_hashes_refused_total \
      tenantry_db_writes_total tenantry_db_commits_total; do
      delta=$(awk -v a="$(metric "$m" "$WORK/before-$id.prom")" -v b="$(metric "$m" "$WORK/after-$id.prom")" \
        'BEGIN { printf "%d", b - a }')
      echo "delta_$m=$delta"
    done
    echo "largest_batch=$(metric tenantry_db_largest_batch "$WORK/after-$id.prom")"
  } >>"$out"
  RESULT_FILES+=("$out")
  [ "$do_settle" = 0 ] || settle
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

scenario "GET /healthz" GET /healthz
# Right after it, the same wrk settings on the C hello-world (the daemon idle meanwhile).
SERVER=hello TAG=hello scenario "GET / (C hello-world)" GET /
TAG=auth-key scenario "GET /v1/auth/check (API key)" GET /v1/auth/check "" "$API_KEY"
TAG=auth-session scenario "GET /v1/auth/check (session)" GET /v1/auth/check "" "$SESSION"
TAG=user scenario "GET /v1/user" GET /v1/user "" "$SESSION"
SYNC_FIRST=$(daemon_synchronous)
CODES=1 REQUEST_LUA=$CONSUME_LUA COUNT_SQL=$DEBITS_SQL TAG=consume-$SYNC_FIRST \
  scenario "POST consume (synchronous=$SYNC_FIRST)" POST "$CONSUME_PATH" "$(consume_body "probe-$SYNC_FIRST")" "$API_KEY"

# ---------------------------------------------------------------- webhooks
# Right after consume without webhooks: one active endpoint subscribed to "*" (its URL a
# local receiver), consume again beside it, then deliveries to the receiver; the figures go
# to webhooks.txt. The endpoint is deleted at the end: later scenarios emit nothing.
WEBHOOKS_OUT=$WORK/webhooks.txt
: >"$WEBHOOKS_OUT"

# receiver_start: a webhook receiver on 127.0.0.1:$RECEIVER_PORT answering 204 to any POST,
# with its request count at GET /receiver-status (nginx's stub_status); sets RECEIVER.
receiver_start() {
  local dir=$WORK/receiver nginx=${BENCH_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)} built k
  mkdir -p "$dir/tmp"
  RECEIVER_PORT=$(free_port)
  built=$("$nginx" -V 2>&1 || true)
  {
    echo "# the webhooks' receiver (generated by bench/run.sh)"
    echo "daemon off;"
    echo "worker_processes 1;"
    echo "pid $dir/nginx.pid;"
    echo "error_log $dir/error.log warn;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "  access_log off;"
    # Its temporary files in the temp dir as well (the built-in paths are root's).
    for k in client_body proxy fastcgi uwsgi scgi; do
      [[ $built == *"--without-http_${k}_module"* ]] || echo "  ${k}_temp_path $dir/tmp/$k;"
    done
    echo "  server {"
    echo "    listen 127.0.0.1:$RECEIVER_PORT;"
    echo "    location = /receiver-status { stub_status; }"
    echo "    location / { return 204; }"
    echo "  }"
    echo "}"
  } >"$dir/nginx.conf"
  if "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -t >"$dir/test.log" 2>&1; then
    "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >>"$dir/error.log" 2>&1 &
    RECEIVER_PID=$! RECEIVER_SIGNAL=QUIT
    RECEIVER="nginx $("$nginx" -v 2>&1 | sed 's|^.*nginx/||')"
  else
    echo "bench: nginx cannot run ($(tail -n 1 "$dir/test.log" 2>/dev/null)): a Python receiver instead (it measures Python too)" >&2
    cat >"$dir/receiver.py" <<'PY'
# The webhooks' receiver when nginx cannot run (generated by bench/run.sh).
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
lock, count = threading.Lock(), 0
class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def counted(self):
        global count
        with lock:
            count += 1
            return count
    def do_POST(self):
        self.counted()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()
    def do_GET(self):  # stub_status's format: the request count is the third line's third field
        body = f"Active connections: 0 \nserver accepts handled requests\n 0 0 {self.counted()} \n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
PY
    python3 "$dir/receiver.py" "$RECEIVER_PORT" >>"$dir/error.log" 2>&1 &
    RECEIVER_PID=$! RECEIVER_SIGNAL=TERM
    RECEIVER="Python $(python3 -c 'import platform; print(platform.python_version())') http.server"
  fi
  RECEIVER_URL=http://127.0.0.1:$RECEIVER_PORT
  for _ in $(seq 50); do
    kill -0 "$RECEIVER_PID" 2>/dev/null || { cat "$dir/error.log" >&2; die "the webhooks' receiver ($RECEIVER) did not start"; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{}' "$RECEIVER_URL/probe" || true)" = 204 ] && return 0
    sleep 0.1
  done
  cat "$dir/error.log" >&2
  die "the webhooks' receiver ($RECEIVER) did not answer 204 within 5 s"
}
# POSTs (and GETs) the receiver has answered so far.
receiver_requests() { curl -sS "$RECEIVER_URL/receiver-status" | awk 'NR == 3 { print $3 }'; }

# webhook_stats ID: the endpoint's deliveries (read-only, from the database) as key=value:
# the webhook.test ones queued, their outcome, and how the delivery job handed them over.
webhook_stats() {
  python3 - "$DB" "$1" <<'PY' || die "could not read the webhook deliveries"
import sqlite3, statistics, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
w = sys.argv[2]
rows = c.execute("SELECT status, attempt, created_at, completed_at FROM webhook_delivery"
                 " WHERE webhook_id = ? AND event_type = 'webhook.test'", (w,)).fetchall()
done = sorted(r[3] for r in rows if r[0] == "delivered")
out = {
    "queued": len(rows),
    "other_events": c.execute("SELECT count(*) FROM webhook_delivery WHERE webhook_id = ? AND event_type != 'webhook.test'", (w,)).fetchone()[0],
    "delivered": len(done),
    "failed": sum(r[0] == "failed" for r in rows),
    "retrying": sum(r[0] == "pending" and r[1] > 0 for r in rows),
    "untried": sum(r[0] == "pending" and r[1] == 0 for r in rows),
    "queued_first_ms": min((r[2] for r in rows), default=0),
    "queued_last_ms": max((r[2] for r in rows), default=0),
    "done_first_ms": done[0] if done else 0,
    "done_last_ms": done[-1] if done else 0,
}
a = c.execute("SELECT count(*), coalesce(sum(a.http_status BETWEEN 200 AND 299), 0) FROM webhook_attempt a"
              " JOIN webhook_delivery d ON d.id = a.delivery_id WHERE d.webhook_id = ?", (w,)).fetchone()
out["attempts"], out["attempts_2xx"] = a
e = c.execute("SELECT a.error_message FROM webhook_attempt a JOIN webhook_delivery d ON d.id = a.delivery_id"
              " WHERE d.webhook_id = ? AND a.error_message IS NOT NULL ORDER BY a.attempted_at LIMIT 1", (w,)).fetchone()
out["first_error"] = (e[0] if e else "").replace("\n", " ")
# The delivery job's runs: completions more than 500 ms apart belong to different runs.
runs, cur = [], []
for t in done:
    if cur and t - cur[-1] > 500:
        runs.append(cur)
        cur = []
    cur.append(t)
if cur:
    runs.append(cur)
out["job_runs"] = len(runs)
out["largest_run"] = max((len(r) for r in runs), default=0)
gaps = [b[0] - a[0] for a, b in zip(runs, runs[1:])]
out["run_interval_ms"] = statistics.median(gaps) if gaps else 0
# How fast the delivery threads went through one run's deliveries.
bursts = [(len(r) - 1) * 1000 / (r[-1] - r[0]) for r in runs if len(r) > 1 and r[-1] > r[0]]
out["burst_per_s"] = f"{statistics.median(bursts):.1f}" if bursts else "nan"
for k, v in out.items():
    print(f"{k}={v}")
PY
}

if [ "$RUN_WEBHOOKS" != 0 ]; then
  receiver_start
  echo "bench: webhooks: an endpoint subscribed to \"*\", to $RECEIVER at $RECEIVER_URL" >&2
  WEBHOOK_ID=$(api POST /v1/admin/webhooks \
    "{\"name\":\"bench\",\"url\":\"$RECEIVER_URL/tenantry-webhook\",\"events\":[\"*\"],\"is_active\":true}" "$OPS_TOKEN" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["webhook"]["id"])')
  [[ $WEBHOOK_ID =~ ^[A-Za-z0-9_-]+$ ]] || die "POST /v1/admin/webhooks answered an odd id: $WEBHOOK_ID"
  # Consume as just before, now with the endpoint there (consume emits no event today).
  CODES=1 REQUEST_LUA=$CONSUME_LUA COUNT_SQL=$DEBITS_SQL TAG=webhooks \
    scenario "POST consume (1 webhook, events *)" POST "$CONSUME_PATH" "$(consume_body probe-webhooks)" "$API_KEY"
  emitted=$(db_count "SELECT count(*) FROM webhook_delivery WHERE webhook_id = '$WEBHOOK_ID'")

  # Queue the deliveries: wrk POSTs .../test, each thread stopping after its share of 2xx
  # answers; stopped (SIGINT) once the database holds them all, or after 60 s.
  TEST_PATH=/v1/admin/webhooks/$WEBHOOK_ID/test
  got0=$(receiver_requests)
  api POST "$TEST_PATH" "" "$OPS_TOKEN" >/dev/null
  QUEUE_OUT=$WORK/webhook-queue.txt
  cat >"$WORK/webhook-queue.lua" <<LUA
-- webhook.test deliveries queued (generated by bench/run.sh)
wrk.method = "POST"
wrk.body = ""
wrk.headers["Authorization"] = "Bearer $OPS_TOKEN"
count_statuses = true
dofile("$BENCH_DIR/wrk-common.lua")
local tally, ok = response, 0
function response(status, headers, body)
  tally(status, headers, body)
  if status >= 200 and status <= 299 then
    ok = ok + 1
    if ok >= $(((WEBHOOK_DELIVERIES + WRK_THREADS - 1) / WRK_THREADS)) then wrk.thread:stop() end
  end
end
LUA
  TESTS_SQL="SELECT count(*) FROM webhook_delivery WHERE webhook_id = '$WEBHOOK_ID' AND event_type = 'webhook.test'"
  echo "bench: webhooks: queueing $WEBHOOK_DELIVERIES deliveries (POST $TEST_PATH, $CONNS_DEFAULT connections)" >&2
  BENCH_OUT=$QUEUE_OUT BENCH_RUN=webhook-queue wrk -t"$WRK_THREADS" -c"$CONNS_DEFAULT" -d60s --timeout "$WRK_TIMEOUT" \
    -s "$WORK/webhook-queue.lua" "$BASE$TEST_PATH" >"$QUEUE_OUT.wrk" 2>"$QUEUE_OUT.err" &
  WEBHOOK_QUEUE_PID=$!
  while kill -0 "$WEBHOOK_QUEUE_PID" 2>/dev/null && [ "$(db_count "$TESTS_SQL")" -lt "$WEBHOOK_DELIVERIES" ]; do sleep 0.2; done
  kill -INT "$WEBHOOK_QUEUE_PID" 2>/dev/null || true
  if ! wait "$WEBHOOK_QUEUE_PID"; then WEBHOOK_QUEUE_PID=; cat "$QUEUE_OUT.err" "$QUEUE_OUT.wrk" >&2; die "wrk failed on $TEST_PATH"; fi
  WEBHOOK_QUEUE_PID=
  [ -s "$QUEUE_OUT" ] || { cat "$QUEUE_OUT.err" "$QUEUE_OUT.wrk" >&2; die "wrk wrote no figures for $TEST_PATH"; }
  check_alive "while queueing webhook deliveries"

  # Until every one has been tried (a failed attempt is retried 30 s later at the earliest:
  # not waited for; it counts against the figure), at most $WEBHOOK_WAIT s.
  echo "bench: webhooks: waiting (at most $WEBHOOK_WAIT s) for $(db_count "$TESTS_SQL") deliveries to $RECEIVER" >&2
  busy0=$(machine_busy); daemon0=$(daemon_cpu); wait0=$EPOCHREALTIME; timed_out=0
  while [ "$(db_count "$TESTS_SQL AND status = 'pending' AND attempt = 0")" != 0 ]; do
    awk -v a="$wait0" -v b="$EPOCHREALTIME" -v l="$WEBHOOK_WAIT" 'BEGIN { exit !(b - a < l) }' || { timed_out=1; break; }
    check_alive "while delivering webhooks"
    sleep 0.5
  done
  sleep 0.5  # the last outcomes' writes
  busy1=$(machine_busy); daemon1=$(daemon_cpu); wait1=$EPOCHREALTIME; got1=$(receiver_requests)
  {
    echo "receiver=$RECEIVER"
    echo "url=$RECEIVER_URL/tenantry-webhook"
    echo "webhook_id=$WEBHOOK_ID"
    echo "requested=$WEBHOOK_DELIVERIES"
    echo "conns=$CONNS_DEFAULT"
    echo "emitted_during_consume=$emitted"
    awk -F= '$1 ~ /^(requests|duration_us|non2xx|status_codes|err_)/ { print "queue_" $0 }' "$QUEUE_OUT"
    webhook_stats "$WEBHOOK_ID"
    echo "wait_limit_s=$WEBHOOK_WAIT"
    echo "timed_out=$timed_out"
    # What the receiver answered from the first test on (its status GETs aside).
    echo "receiver_got=$((got1 - got0 - 1))"
    echo "drain_machine_cpu_s=$(awk -v a="$busy0" -v b="$busy1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')"
    echo "drain_daemon_cpu_s=$(awk -v a="$daemon0" -v b="$daemon1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')"
    echo "drain_secs=$(awk -v a="$wait0" -v b="$wait1" 'BEGIN { printf "%.3f", b - a }')"
  } >"$WEBHOOKS_OUT"
  api DELETE "/v1/admin/webhooks/$WEBHOOK_ID" "" "$OPS_TOKEN" >/dev/null
  receiver_stop
  settle
fi

# ---------------------------------------------------------------- holds and batches
# Two tenants of their own, each a user with an API key (usage.write) and 1e9 credits granted
# by the operator, as the consume tenant above: a hold left open makes every later hold,
# settle and debit of its tenant slower (each sums the tenant's open holds), so the holds
# scenario's pile stays on its tenant, away from hold+settle, the batches and consume. The
# figures of the ledger check after the daemon stops go to holds.txt.
HOLDS_OUT=$WORK/holds.txt
: >"$HOLDS_OUT"
HOLD_TTL=86400     # none expires during the bench: the expireHolds job has nothing to do
HOLD_AMOUNT=2      # what a hold reserves; hold+settle settles SETTLE_AMOUNT of it
SETTLE_AMOUNT=1
BATCH_ITEMS=100

# credited_tenant EMAIL: registers EMAIL, gives its tenant an API key and 1e9 credits;
# prints "TENANT_ID API_KEY".
credited_tenant() {
  local session tenant key
  session=$(create_user "$1" "$USER_PASSWORD")
  tenant=$(api GET /v1/user/tenants/current "" "$session" | python3 -c 'import json, sys; print(json.load(sys.stdin)["tenant"]["id"])')
  key=$(api POST /v1/tenant/api-keys '{"name":"bench","scopes":["usage.write","usage.read"]}' "$session" | json plaintext_key)
  api POST "/v1/admin/tenants/$tenant/credits" \
    '{"category":"USAGE_AI_CREDIT","amount":"1000000000","expires_at":"2100-01-01T00:00:00Z","reason":"bench"}' "$OPS_TOKEN" >/dev/null
  echo "$tenant $key"
}

# The Lua of the three scenarios: keys unique per request (wrk run, thread, counter), as
# consume's; counters.sent counts the requests sent, so that the ledger check knows how many
# were still in flight (never answered) when wrk stopped.
KEY_PREFIX_LUA='if not prefix then prefix = (os.getenv("BENCH_RUN") or "run") .. "-t" .. tostring(thread_id or 0) .. "-" end
  n = n + 1
  counters.sent = (counters.sent or 0) + 1'
# POST holds: one hold of 1 credit a request.
HOLDS_LUA="
local n, prefix = 0, nil
function request()
  $KEY_PREFIX_LUA
  return wrk.format(nil, nil, nil, string.format(
    [[{\"category\":\"USAGE_AI_CREDIT\",\"amount\":1,\"agent_id\":\"agent-%d\",\"dataset_id\":\"\",\"ttl_seconds\":$HOLD_TTL,\"idempotency_key\":\"%s%d\"}]],
    n % 64, prefix, n))
end"
hold_body() { printf '{"category":"USAGE_AI_CREDIT","amount":%s,"agent_id":"agent-0","dataset_id":"","ttl_seconds":%s,"idempotency_key":"%s"}' "$2" "$HOLD_TTL" "$1"; }
# hold+settle: wrk's Lua state is per thread, not per connection, and a connection sends its
# next request right after its response went through response(): so response() puts the id
# of each hold placed on the thread's list, and request() settles one from the list if there
# is one, else places a hold. Each connection thus alternates hold, settle, hold, ... and
# every hold answered is settled once (those answered as wrk stops stay open).
HOLD_SETTLE_LUA="
local n, prefix, placed = 0, nil, {}
function request()
  $KEY_PREFIX_LUA
  local id = table.remove(placed)
  if id then
    return wrk.format(nil, wrk.path .. \"/\" .. id .. \"/settle\", nil,
      string.format([[{\"amount\":$SETTLE_AMOUNT,\"idempotency_key\":\"%ss%d\"}]], prefix, n))
  end
  return wrk.format(nil, nil, nil, string.format(
    [[{\"category\":\"USAGE_AI_CREDIT\",\"amount\":$HOLD_AMOUNT,\"agent_id\":\"agent-%d\",\"dataset_id\":\"\",\"ttl_seconds\":$HOLD_TTL,\"idempotency_key\":\"%sh%d\"}]],
    n % 64, prefix, n))
end
local tally_status = response  -- wrk-common.lua's non-2xx tally (CODES=1)
function response(status, headers, body)
  if tally_status then tally_status(status, headers, body) end
  if status < 200 or status > 299 then return end
  if body:find('\"status\"%s*:%s*\"open\"') then
    local id = body:match('\"id\"%s*:%s*\"([^\"]+)\"')
    if id then
      table.insert(placed, id)
      counters.held = (counters.held or 0) + 1
    end
  elseif body:find('\"status\"%s*:%s*\"settled\"') then
    counters.settled = (counters.settled or 0) + 1
  end
end"
# consume/batch: BATCH_ITEMS debits of 1 credit a request; response() counts the items
# debited (code 0) and refused in each 2xx answer.
BATCH_LUA="
local n, prefix = 0, nil
function request()
  $KEY_PREFIX_LUA
  local items = {}
  for i = 1, $BATCH_ITEMS do
    items[i] = string.format(
      [[{\"category\":\"USAGE_AI_CREDIT\",\"amount\":1,\"agent_id\":\"agent-%d\",\"dataset_id\":\"\",\"idempotency_key\":\"%s%d-%d\"}]],
      i % 64, prefix, n, i)
  end
  return wrk.format(nil, nil, nil, '{\"items\":[' .. table.concat(items, ',') .. ']}')
end
local tally_status = response
function response(status, headers, body)
  if tally_status then tally_status(status, headers, body) end
  if status < 200 or status > 299 then return end
  local _, items = body:gsub('\"code\"%s*:', '')
  local _, ok = body:gsub('\"code\"%s*:%s*0[^%d]', '')
  counters.debited = (counters.debited or 0) + ok
  counters.refused = (counters.refused or 0) + items - ok
end"
batch_body() {
  python3 -c 'import json, sys
print(json.dumps({"items": [{"category": "USAGE_AI_CREDIT", "amount": 1, "agent_id": f"agent-{i % 64}", "dataset_id": "",
                             "idempotency_key": f"{sys.argv[1]}-{i}"} for i in range(int(sys.argv[2]))]}, separators=(",", ":")))' "$1" "$BATCH_ITEMS"
}

if [ "$RUN_HOLDS" != 0 ]; then
  echo "bench: holds: two tenants of their own (holds@, settle@bench.test), 1e9 credits each" >&2
  read -r HOLDS_TENANT HOLDS_KEY <<<"$(credited_tenant holds@bench.test)"
  read -r SETTLE_TENANT SETTLE_KEY <<<"$(credited_tenant settle@bench.test)"
  [[ $HOLDS_TENANT =~ ^[A-Za-z0-9_-]+$ && $SETTLE_TENANT =~ ^[A-Za-z0-9_-]+$ ]] ||
    die "odd tenant ids: $HOLDS_TENANT, $SETTLE_TENANT"
  HOLDS_PATH=/v1/usage/tenants/$HOLDS_TENANT/holds
  SETTLE_HOLDS_PATH=/v1/usage/tenants/$SETTLE_TENANT/holds
  BATCH_PATH=/v1/usage/tenants/$SETTLE_TENANT/consume/batch
  # The probe (scenario's first request) of hold+settle is a hold only: it stays open.
  CODES=1 REQUEST_LUA=$HOLDS_LUA TAG=holds \
    COUNT_SQL="SELECT count(*) AS holds, coalesce(sum(status = 'open'), 0) AS open FROM credit_hold WHERE tenant_id = '$HOLDS_TENANT'" \
    scenario "POST holds" POST "$HOLDS_PATH" "$(hold_body probe-holds 1)" "$HOLDS_KEY"
  HOLDS_RUN=$N_SCENARIOS
  CODES=1 REQUEST_LUA=$HOLD_SETTLE_LUA TAG=hold-settle \
    COUNT_SQL="SELECT (SELECT count(*) FROM credit_hold WHERE tenant_id = '$SETTLE_TENANT' AND status = 'settled') AS settled, (SELECT count(*) FROM credit_hold WHERE tenant_id = '$SETTLE_TENANT') AS holds, (SELECT count(*) FROM credit_debit WHERE tenant_id = '$SETTLE_TENANT') AS debits" \
    scenario "POST hold+settle" POST "$SETTLE_HOLDS_PATH" "$(hold_body probe-hold-settle "$HOLD_AMOUNT")" "$SETTLE_KEY"
  HOLD_SETTLE_RUN=$N_SCENARIOS
  CODES=1 REQUEST_LUA=$BATCH_LUA TAG=batch \
    COUNT_SQL="SELECT count(*) AS debits FROM credit_debit WHERE tenant_id = '$SETTLE_TENANT'" \
    scenario "POST consume/batch ($BATCH_ITEMS items)" POST "$BATCH_PATH" "$(batch_body probe-batch)" "$SETTLE_KEY"
  BATCH_RUN=$N_SCENARIOS
  {
    echo "holds_tenant=$HOLDS_TENANT"
    echo "settle_tenant=$SETTLE_TENANT"
    echo "ttl_seconds=$HOLD_TTL"
    echo "hold_amount=$HOLD_AMOUNT"
    echo "settle_amount=$SETTLE_AMOUNT"
    echo "batch_items=$BATCH_ITEMS"
    # Each scenario's warm-up and measured run, for the check after the daemon stops.
    for k in HOLDS_RUN HOLD_SETTLE_RUN BATCH_RUN; do
      id=$(printf '%02d' "${!k}")
      echo "${k,,}_warmup=$WORK/warmup-$id.txt"
      echo "${k,,}_measured=$WORK/scenario-$id.txt"
    done
  } >>"$HOLDS_OUT"
fi

# ---------------------------------------------------------------- consume over many tenants
# $SPREAD_TENANTS tenants made through the API by bench/make-tenants.py, each with its API
# key and 1e9 credits; the (tenant, key) pairs go to a file that the wrk Lua reads, and each
# request goes to the next tenant of the list (every wrk thread starting elsewhere in it).
SPREAD_OUT=$WORK/spread.txt
: >"$SPREAD_OUT"
if [ "$SPREAD_TENANTS" != 0 ]; then
  SPREAD_FILE=$WORK/spread-tenants.txt
  echo "bench: consume over $SPREAD_TENANTS tenants: creating them through the API (bench/make-tenants.py)" >&2
  SPREAD_SECS=$(python3 "$BENCH_DIR/make-tenants.py" "$BASE" "$OPS_TOKEN" "$SPREAD_TENANTS" "$SPREAD_FILE" spread) ||
    die "could not create the $SPREAD_TENANTS tenants"
  [ "$(wc -l <"$SPREAD_FILE")" = "$SPREAD_TENANTS" ] || die "bench/make-tenants.py wrote $(wc -l <"$SPREAD_FILE") tenants, not $SPREAD_TENANTS"
  read -r SPREAD_TENANT0 SPREAD_KEY0 <"$SPREAD_FILE"
  settle
  SPREAD_LUA="
local tenants = {}
for line in io.lines(\"$SPREAD_FILE\") do
  local t, k = line:match('^(%S+) (%S+)$')
  tenants[#tenants + 1] = { '/v1/usage/tenants/' .. t .. '/consume', 'Bearer ' .. k }
end
local consumed, prefix, start = 0, nil, 0
function request()
  if not prefix then
    prefix = (os.getenv(\"BENCH_RUN\") or \"run\") .. \"-t\" .. tostring(thread_id or 0) .. \"-\"
    start = ((thread_id or 1) - 1) * 389
  end
  consumed = consumed + 1
  counters.sent = (counters.sent or 0) + 1
  local t = tenants[(start + consumed) % #tenants + 1]
  wrk.headers['Authorization'] = t[2]
  return wrk.format(nil, t[1], nil, string.format(
    [[{\"category\":\"USAGE_AI_CREDIT\",\"amount\":1,\"agent_id\":\"agent-%d\",\"dataset_id\":\"\",\"idempotency_key\":\"%s%d\"}]],
    consumed % 64, prefix, consumed))
end"
  SEQ_BEFORE=$(db_count "SELECT coalesce(max(seq), 0) FROM credit_debit")
  CODES=1 REQUEST_LUA=$SPREAD_LUA COUNT_SQL=$DEBITS_SQL TAG=spread \
    scenario "POST consume ($SPREAD_TENANTS tenants)" POST "/v1/usage/tenants/$SPREAD_TENANT0/consume" "$(consume_body probe-spread)" "$SPREAD_KEY0"
  {
    echo "tenants=$SPREAD_TENANTS"
    echo "create_secs=$SPREAD_SECS"
    # The tenants debited during its probe, warm-up and measured run.
    echo "tenants_debited=$(db_count "SELECT count(DISTINCT tenant_id) FROM credit_debit WHERE seq > $SEQ_BEFORE")"
    echo "first_tenant=$SPREAD_TENANT0"
  } >>"$SPREAD_OUT"
fi

LOGIN_BODY="{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\"}"
CODES=1 scenario "POST /v1/account/login" POST /v1/account/login "$LOGIN_BODY"
# More connections than hashing workers + queue (64 by default): the overflow must be
# refused quickly (429) rather than time out.
CONNS=128 CODES=1 scenario "POST /v1/account/login (overload)" POST /v1/account/login "$LOGIN_BODY"

# ---------------------------------------------------------------- the login flood
# A second wrk in the background (FLOOD_PID) sends wrong passwords while scenarios run as
# usual beside it (SETTLE=0: its hash queue never empties); its figures go to flood.txt.
FLOOD_OUT=$WORK/flood.txt
: >"$FLOOD_OUT"
flood_state() { { sed 's/.*) //' "/proc/$FLOOD_PID/stat" 2>/dev/null || echo gone; } | awk '{ print $1 }'; }
flood_alive() {
  case $(flood_state) in
    gone | Z | X) cat "$FLOOD_OUT.err" "$FLOOD_OUT.wrk" >&2; die "the login flood's wrk ended early ($*)" ;;
  esac
}
# The daemon's hashing threads (named argon2-N) and their nice values: "argon2-0:10 argon2-1:10".
hash_thread_nice() {
  local t out=
  for t in /proc/"$DAEMON_PID"/task/*; do
    case $(cat "$t/comm" 2>/dev/null) in
      argon2*) out+="$(cat "$t/comm"):$(sed 's/.*) //' "$t/stat" | awk '{ print $17 }') " ;;
    esac
  done
  echo "${out% }"
}
flood_login_body() { printf '{"email":"flood-%s@bench.test","password":"%s"}' "$1" "$FLOOD_WRONG_PASSWORD"; }

flood_start() {
  local lua=$WORK/flood.lua code
  # One wrong password first: it must be refused as such (401), not throttled or let in.
  code=$(curl -sS -o "$WORK/api.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H 'X-Forwarded-For: 10.255.255.255' --data-binary "$(flood_login_body 0)" "$BASE/v1/account/login") ||
    die "POST /v1/account/login (wrong password): curl failed"
  [ "$code" = 401 ] || { echo "response: $(cat "$WORK/api.out")" >&2; die "a wrong password answered $code, not 401"; }
  cat >"$lua" <<EOF
-- the login flood (generated by bench/run.sh)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
count_statuses = true
dofile("$BENCH_DIR/wrk-common.lua")
local n = 0
function request()
  n = n + 1
  -- A new client address each request (10.0.0.0/8, 2^22 a thread before they repeat): the
  -- per-client (30) and per-account-and-client (5) limits never apply; spread over
  -- $FLOOD_EMAILS emails, the per-account one (100 in 15 min) neither.
  local c = ((thread_id or 1) * 4194304 + n) % 16777216
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(c / 65536), math.floor(c / 256) % 256, c % 256)
  return wrk.format(nil, nil, nil, string.format([[{"email":"flood-%d@bench.test","password":"$FLOOD_WRONG_PASSWORD"}]], n % $FLOOD_EMAILS))
end
EOF
  echo "bench: the login flood starts: POST /v1/account/login, wrong passwords, $FLOOD_CONNS connections" >&2
  metrics_snapshot "$WORK/flood-before.prom"
  FLOOD_BUSY0=$(machine_busy); FLOOD_DAEMON0=$(daemon_cpu)
  # Until flood_stop (SIGINT: wrk then stops and writes its figures); 1 h is only a bound.
  BENCH_OUT=$FLOOD_OUT BENCH_RUN=flood wrk -t"$WRK_THREADS" -c"$FLOOD_CONNS" -d3600s --timeout "$WRK_TIMEOUT" \
    --latency -s "$lua" "$BASE/v1/account/login" >"$FLOOD_OUT.wrk" 2>"$FLOOD_OUT.err" &
  FLOOD_PID=$!
  # The flood is under way once hashes wait for a worker (at most 2 s; the first scenario's
  # warm-up follows anyway).
  for _ in $(seq 20); do
    sleep 0.1
    metrics_snapshot "$WORK/flood-ramp.prom"
    [ "$(metric tenantry_password_hash_queue "$WORK/flood-ramp.prom")" = 0 ] || break
  done
  flood_alive "at its start"
}

flood_stop() {
  flood_alive "before its end"
  local cpu busy1 daemon1
  # Its CPU while it still exists; the rest once it has stopped, so that the metrics cover
  # the responses it counted (its duration is wrk's own).
  cpu=$(proc_cpu "$FLOOD_PID")
  kill -INT "$FLOOD_PID"
  if ! wait "$FLOOD_PID"; then FLOOD_PID=; cat "$FLOOD_OUT.err" "$FLOOD_OUT.wrk" >&2; die "the login flood's wrk failed"; fi
  FLOOD_PID=
  busy1=$(machine_busy); daemon1=$(daemon_cpu)
  metrics_snapshot "$WORK/flood-after.prom"
  [ -s "$FLOOD_OUT" ] || { cat "$FLOOD_OUT.err" "$FLOOD_OUT.wrk" >&2; die "the login flood's wrk wrote no figures"; }
  check_alive "during the login flood"
  local m
  {
    echo "name=login flood"
    echo "conns=$FLOOD_CONNS"
    echo "threads=$WRK_THREADS"
    echo "hash_thread_nice=$(hash_thread_nice)"
    echo "emails=$FLOOD_EMAILS"
    echo "accounts=$FLOOD_ACCOUNTS"
    echo "wrk_cpu_s=$(awk -v c="$cpu" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", c / t }')"
    echo "machine_cpu_s=$(awk -v a="$FLOOD_BUSY0" -v b="$busy1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')"
    echo "daemon_cpu_s=$(awk -v a="$FLOOD_DAEMON0" -v b="$daemon1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')"
    for m in tenantry_password_hashes_total tenantry_password_hashes_refused_total; do
      echo "delta_$m=$(awk -v a="$(metric "$m" "$WORK/flood-before.prom")" -v b="$(metric "$m" "$WORK/flood-after.prom")" \
        'BEGIN { printf "%d", b - a }')"
    done
  } >>"$FLOOD_OUT"
  settle
}

if [ "$RUN_FLOOD" != 0 ]; then
  echo "bench: the login flood: registering $FLOOD_ACCOUNTS of its $FLOOD_EMAILS emails" >&2
  for i in $(seq 0 $((FLOOD_ACCOUNTS - 1))); do create_user "flood-$i@bench.test" "$FLOOD_PASSWORD" >/dev/null; done
  settle
  # Alone: GET /v1/user, GET /v1/auth/check and POST consume were measured above, the same way.
  flood_start
  SETTLE=0 scenario "GET /v1/user (login flood)" GET /v1/user "" "$SESSION"
  SETTLE=0 scenario "GET /v1/auth/check (login flood)" GET /v1/auth/check "" "$API_KEY"
  SETTLE=0 CODES=1 REQUEST_LUA=$CONSUME_LUA TAG=flood \
    scenario "POST consume (login flood)" POST "$CONSUME_PATH" "$(consume_body probe-flood)" "$API_KEY"
  flood_stop
fi

# ---------------------------------------------------------------- report
metrics_snapshot "$WORK/final.prom"
{
  echo "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "tenant_id=$TENANT_ID"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$( [ -n "$(git status --porcelain -- Sources Package.swift 2>/dev/null)" ] && echo ' (Sources/ has uncommitted changes)')"
  echo "version=$("$BIN" --version 2>/dev/null || echo unknown)"
  echo "daemon_settings=$(grep -m1 -o 'argon2id=[^[]*' "$DAEMON_LOG" || echo unknown)"
  echo "daemon_args=${DAEMON_ARGS[*]:-}"
  echo "cores=$(nproc)"
  echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "load_before=$LOAD_BEFORE"
  echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "wrk=$(wrk -v 2>&1 | head -n1 | awk '{ print $1, $2 }') -t$WRK_THREADS --timeout $WRK_TIMEOUT, warm-up $WARMUP, measured $DURATION"
  echo "hash_memory_ceiling_bytes=$(metric tenantry_password_hash_memory_ceiling_bytes "$WORK/final.prom")"
  echo "startup_rss_kib=$STARTUP_RSS_KIB"
  echo "idle_rss_kib=$IDLE_RSS_KIB"
  echo "idle_hwm_kib=$IDLE_HWM_KIB"
  echo "idle_threads=$IDLE_THREADS"
  echo "hello=bench/hello-mhd.c: libmicrohttpd $(pkg-config --modversion libmicrohttpd), $(nproc) threads, $("$CC" --version | head -n 1)"
  awk '$1 == "VmHWM:" || $1 == "VmRSS:" || $1 == "Threads:" { sub(":", "", $1); print "daemon_" $1 "=" $2 }' \
    "/proc/$DAEMON_PID/status"
} >"$WORK/meta.txt"
hello_stop

# ---------------------------------------------------------------- consume again, synchronous=normal
# The same database, API key and balance, the daemon restarted with --synchronous normal
# (the figures above are the first daemon's; this adds one row).
if [ "$SYNC_FIRST" != normal ]; then
  echo "bench: restarting the daemon with --synchronous normal" >&2
  stop_daemon
  start_daemon --synchronous normal
  [ "$(daemon_synchronous)" = normal ] || die "the restarted daemon does not say synchronous=normal"
  CODES=1 REQUEST_LUA=$CONSUME_LUA COUNT_SQL=$DEBITS_SQL TAG=consume-normal \
    scenario "POST consume (synchronous=normal)" POST "$CONSUME_PATH" "$(consume_body probe-normal)" "$API_KEY"
fi
echo "debits_total=$(db_count "$DEBITS_SQL")" >>"$WORK/meta.txt"
stop_daemon
# The holds' and batches' ledger, read with sqlite3 once the daemon has stopped (nothing in
# flight any more); the summary holds it against what wrk got 2xx answers for.
if [ "$RUN_HOLDS" != 0 ]; then
  sq() { sqlite3 -readonly "$DB" "$1" || die "sqlite3 could not read the database: $1"; }
  {
    echo "db_holds=$(sq "SELECT count(*) FROM credit_hold WHERE tenant_id = '$HOLDS_TENANT'")"
    echo "db_holds_open=$(sq "SELECT count(*) FROM credit_hold WHERE tenant_id = '$HOLDS_TENANT' AND status = 'open'")"
    echo "db_settle_holds=$(sq "SELECT count(*) FROM credit_hold WHERE tenant_id = '$SETTLE_TENANT'")"
    echo "db_settle_settled=$(sq "SELECT count(*) FROM credit_hold WHERE tenant_id = '$SETTLE_TENANT' AND status = 'settled'")"
    # Settled for SETTLE_AMOUNT with a debit of that amount (check proves the rest).
    echo "db_settle_settled_debited=$(sq "SELECT count(*) FROM credit_hold h JOIN credit_debit d ON d.seq = h.debit_seq
      WHERE h.tenant_id = '$SETTLE_TENANT' AND h.status = 'settled' AND h.settled_amount = $SETTLE_AMOUNT AND d.amount = $SETTLE_AMOUNT")"
    echo "db_settle_debits=$(sq "SELECT count(*) FROM credit_debit WHERE tenant_id = '$SETTLE_TENANT'")"
    # The batches' debits: the tenant's debits that no hold's settlement made.
    echo "db_batch_debits=$(sq "SELECT count(*) FROM credit_debit WHERE tenant_id = '$SETTLE_TENANT'
      AND seq NOT IN (SELECT debit_seq FROM credit_hold WHERE debit_seq IS NOT NULL)")"
  } >>"$HOLDS_OUT"
fi
grep -E ' (warning|error|critical) ' "$DAEMON_LOG" | grep -v 'no operator account yet' | tail -n 5 >"$WORK/log-problems.txt" || true
CHECK_OUT=$("$BIN" check --db "$DB" 2>&1) && CHECK_RC=0 || CHECK_RC=$?
{ echo "check_rc=$CHECK_RC"; echo "check_out=$(printf '%s' "$CHECK_OUT" | tail -n 1)"; } >>"$WORK/meta.txt"

# ---------------------------------------------------------------- PostgreSQL beside the debit
# The daemons have stopped. A cluster of Debian's PostgreSQL in a temp dir of its own (the
# postgres user must be able to enter it), on a free loopback port, its defaults otherwise;
# pgbench runs the debit, one transaction each, on one balance and then over 1,000. The
# figures go to postgres.txt.
PG_OUT=$WORK/postgres.txt
: >"$PG_OUT"
# pgsql SQL: one psql call over the unix socket (-At: bare values, one a line).
pgsql() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_WORK" -p "$PG_PORT" -U postgres -d postgres -c "$1" || die "psql failed: $1"; }
# pg_run NAME BALANCES: a warm-up, then the measured pgbench run with per-transaction logs;
# its figures as NAME_* lines of postgres.txt.
pg_run() {
  local name=$1 balances=$2 dir=$WORK/pgbench-$1 before after busy0 busy1 TIMEFORMAT='%3U %3S'
  mkdir -p "$dir"
  local args=(-h 127.0.0.1 -p "$PG_PORT" -U postgres -n -c "$PG_CLIENTS" -j 2 -M prepared -D "balances=$balances" -f "$WORK/pg-debit.sql")
  echo "bench: postgres: $name: pgbench ${args[*]:4}, warm-up $WARMUP, measure $DURATION" >&2
  pgbench "${args[@]}" -T "$(pg_secs "$WARMUP")" postgres >"$dir/warmup.out" 2>&1 ||
    { cat "$dir/warmup.out" >&2; die "pgbench failed ($name, warm-up)"; }
  before=$(pgsql "SELECT count(*) FROM debit")
  busy0=$(machine_busy)
  if ! { time (cd "$dir" && pgbench "${args[@]}" -T "$(pg_secs "$DURATION")" -l --log-prefix=tx postgres >"$dir/run.out" 2>&1); } 2>"$dir/time"; then
    cat "$dir/run.out" >&2; die "pgbench failed ($name)"
  fi
  busy1=$(machine_busy)
  after=$(pgsql "SELECT count(*) FROM debit")
  python3 - "$name" "$dir" "$before" "$after" <<'PY' >>"$PG_OUT" || die "could not read pgbench's figures ($name)"
import glob, re, sys
name, d, before, after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
text = open(d + "/run.out").read()
def grab(pattern, cast=float, default=None):
    m = re.search(pattern, text, re.M)
    if not m:
        if default is not None:
            return default
        raise SystemExit(f"pgbench output lacks {pattern!r}:\n{text}")
    return cast(m.group(1))
lat = []
for path in glob.glob(d + "/tx.*"):
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2].isdigit():  # client tx latency_us script epoch us
                lat.append(int(parts[2]))
lat.sort()
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0
out = {
    "tps": grab(r"^tps = ([\d.]+)"),
    "transactions": grab(r"^number of transactions actually processed: (\d+)", int),
    "failed": grab(r"^number of failed transactions: (\d+)", int, 0),
    "lat_avg_ms": grab(r"^latency average = ([\d.]+) ms"),
    "logged": len(lat),
    "lat_p50": pct(0.50),
    "lat_p99": pct(0.99),
    "lat_max": lat[-1] if lat else 0,
    "debits": after - before,
}
m = re.search(r"^number of transactions actually processed: (\d+)", open(d + "/warmup.out").read(), re.M)
out["warmup_transactions"] = int(m.group(1)) if m else -1
for k, v in out.items():
    print(f"{name}_{k}={v}")
PY
  {
    echo "${name}_balances=$balances"
    echo "${name}_machine_cpu_s=$(awk -v a="$busy0" -v b="$busy1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')"
    echo "${name}_pgbench_cpu_s=$(awk '{ printf "%.3f", $1 + $2 }' "$dir/time")"
  } >>"$PG_OUT"
}
# pg_secs 10s|2m|10: whole seconds, as pgbench -T takes them.
pg_secs() {
  case $1 in
    *ms) echo 1 ;;
    *s) echo "${1%s}" ;;
    *m) echo $((${1%m} * 60)) ;;
    *) echo "$1" ;;
  esac
}

if [ "$RUN_POSTGRES" != 0 ]; then
  PG_WORK=$(mktemp -d -t tenantry-bench-pg.XXXXXX)
  chmod 755 "$PG_WORK"
  [ "$(id -u)" != 0 ] || chown postgres: "$PG_WORK"
  PG_PORT=$(free_port)
  echo "bench: postgres: a cluster of $("$PG_BIN/postgres" --version) in $PG_WORK, 127.0.0.1:$PG_PORT" >&2
  # initdb's --no-sync only skips syncing the files it writes (the cluster runs with fsync on).
  as_pg "$PG_BIN/initdb" -D "$PG_WORK/data" -A trust -U postgres -E UTF8 --no-sync >"$PG_WORK/initdb.log" 2>&1 ||
    { cat "$PG_WORK/initdb.log" >&2; die "initdb failed"; }
  PG_STARTED=1
  as_pg "$PG_BIN/pg_ctl" -D "$PG_WORK/data" -l "$PG_WORK/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_WORK -c max_connections=$((PG_CLIENTS + 16))" \
    start >"$PG_WORK/pg_ctl.log" 2>&1 || { cat "$PG_WORK/pg_ctl.log" "$PG_WORK/server.log" >&2; die "PostgreSQL did not start"; }
  # Shaped like a Tenantry debit: the balance row is decremented only when it covers the
  # amount, and the debit row (with the balance after it and an idempotency key unique per
  # balance) is inserted in the same transaction, or neither is.
  pgsql "CREATE TABLE balance (id integer PRIMARY KEY, available bigint NOT NULL CHECK (available >= 0), updated_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE debit (seq bigserial PRIMARY KEY, balance_id integer NOT NULL REFERENCES balance, category text NOT NULL,
      amount bigint NOT NULL CHECK (amount > 0), agent_id text NOT NULL DEFAULT '', dataset_id text NOT NULL DEFAULT '',
      idempotency_key text NOT NULL, remaining_after bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (balance_id, idempotency_key));
    INSERT INTO balance (id, available) SELECT g, 1000000000 FROM generate_series(1, 1000) g;" >/dev/null
  pgsql "VACUUM ANALYZE" >/dev/null
  cat >"$WORK/pg-debit.sql" <<'SQL'
-- One debit of 1 credit (generated by bench/run.sh): one transaction, one statement.
\set id random(1, :balances)
\set agent random(0, 63)
WITH b AS (
  UPDATE balance SET available = available - 1, updated_at = now()
  WHERE id = :id AND available >= 1
  RETURNING id, available)
INSERT INTO debit (balance_id, category, amount, agent_id, dataset_id, idempotency_key, remaining_after)
SELECT id, 'USAGE_AI_CREDIT', 1, 'agent-' || :agent, '', gen_random_uuid()::text, available FROM b;
SQL
  pg_run one 1
  pg_run spread 1000
  {
    echo "version=$(pgsql "SHOW server_version")"
    for k in fsync synchronous_commit wal_sync_method shared_buffers max_connections; do echo "setting_$k=$(pgsql "SHOW $k")"; done
    echo "clients=$PG_CLIENTS"
    echo "debits_total=$(pgsql "SELECT count(*) FROM debit")"
    # Each balance's decrease against its debits: the balances that do not match.
    echo "balances_off=$(pgsql "SELECT count(*) FROM balance b LEFT JOIN (SELECT balance_id, sum(amount) AS s FROM debit GROUP BY balance_id) d
      ON d.balance_id = b.id WHERE 1000000000 - b.available != coalesce(d.s, 0)")"
    echo "debited_total=$(pgsql "SELECT coalesce(sum(amount), 0) FROM debit")"
    echo "balances_decrease=$(pgsql "SELECT sum(1000000000 - available) FROM balance")"
    echo "balances_touched=$(pgsql "SELECT count(*) FROM balance WHERE available < 1000000000")"
    echo "keys_repeated=$(pgsql "SELECT count(*) - count(DISTINCT (balance_id, idempotency_key)) FROM debit")"
  } >>"$PG_OUT"
  pg_stop
fi

# ---------------------------------------------------------------- timers (their own daemon)
TIMERS_RC=skipped
: >"$WORK/timers.txt"
if [ "$RUN_TIMERS" != 0 ]; then
  echo "bench: bench/timers.sh (billing timers over ${TIMERS_TENANTS:-100000} tenants)" >&2
  TENANTRYD=$BIN TIMERS_EMBEDDED=1 "$BENCH_DIR/timers.sh" >"$WORK/timers.txt" && TIMERS_RC=0 || TIMERS_RC=$?
fi
echo "timers_rc=$TIMERS_RC" >>"$WORK/meta.txt"

# ---------------------------------------------------------------- a large database (its own daemons)
LARGE_RC=skipped
: >"$WORK/large.txt"
if [ "$RUN_LARGE" != 0 ]; then
  echo "bench: bench/large.sh (${LARGE_TENANTS:-100000} tenants, ${LARGE_DEBITS:-10000000} debits)" >&2
  TENANTRYD=$BIN LARGE_EMBEDDED=1 "$BENCH_DIR/large.sh" >"$WORK/large.txt" && LARGE_RC=0 || LARGE_RC=$?
fi

mkdir -p "$RESULTS_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
python3 - "$WORK/meta.txt" "$WORK/log-problems.txt" "$WORK/timers.txt" "$FLOOD_OUT" "$WEBHOOKS_OUT" "$HOLDS_OUT" "$SPREAD_OUT" "$PG_OUT" "${RESULT_FILES[@]}" <<'PY' | tee "$RESULTS_DIR/latest.txt" "$RESULTS_DIR/$STAMP.txt"
import sys

def read_kv(path):
    d = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                d[k] = v
    return d

meta = read_kv(sys.argv[1])
with open(sys.argv[2]) as f:
    problems = [l.rstrip("\n") for l in f if l.strip()]
with open(sys.argv[3]) as f:
    timers = f.read().rstrip("\n")
flood = read_kv(sys.argv[4])
hooks = read_kv(sys.argv[5])
holds = read_kv(sys.argv[6])
spread = read_kv(sys.argv[7])
pg = read_kv(sys.argv[8])
runs = [read_kv(p) for p in sys.argv[9:]]

def ms(us):
    us = float(us)
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e4:
        return f"{us / 1e3:.0f} ms"
    return f"{us / 1e3:.2f} ms"

def rate(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"

def run_ok(r):  # 2xx answers
    return int(r["requests"]) - int(r["non2xx"])
def run_counter(r, k):
    return int(r.get("counter_" + k, "0"))
def run_in_flight(r):  # sent, never answered: still in flight when wrk stopped (or a socket error)
    return max(0, run_counter(r, "sent") - int(r["requests"]))
def debit_ledger(db, answered, flight):
    # What the database holds against the 2xx answers: fewer = lost; more than the requests
    # left in flight can explain = doubled.
    if db < answered:
        return f"NOT MET: {answered - db:,} LOST"
    if db > answered + flight:
        return f"NOT MET: {db - answered - flight:,} MORE than answered + in flight (doubled?)"
    return "met"
def find_run(tag):
    return next((r for r in runs if r.get("tag") == tag), None)
ledger_problems = []  # every debit ledger check that failed, for the aims table

for r in runs:
    secs = int(r["duration_us"]) / 1e6
    r["secs"] = secs
    r["rps"] = int(r["requests"]) / secs
    r["ok_rps"] = (int(r["requests"]) - int(r["non2xx"])) / secs
    r["sockerr"] = sum(int(r[k]) for k in ("err_connect", "err_read", "err_write", "err_timeout"))
    for k in ("machine_cpu_s", "daemon_cpu_s", "wrk_cpu_s", "flood_wrk_cpu_s"):
        r[k] = float(r[k])
    r["flooded"] = r["under_flood"] == "1"
    r["other_cpu_s"] = max(0.0, r["machine_cpu_s"] - r["daemon_cpu_s"] - r["wrk_cpu_s"] - r["flood_wrk_cpu_s"])

out = []
p = out.append
p("Tenantry HTTP benchmark")
p(f"  when      {meta['started']}   commit {meta['commit']}   {meta['version']}")
p(f"  daemon    {meta['daemon_settings'].strip()}{(' ' + meta['daemon_args']) if meta['daemon_args'] else ''}")
p(f"  machine   {meta['cores']} cores ({meta['cpu_model']}), shared by wrk and the daemon; "
  f"load avg before {meta['load_before']}, after {meta['load_after']}")
p(f"  client    {meta['wrk']}")
p("")
any_flood = any(r["flooded"] for r in runs)
hdr = ("scenario", "conns", "req/s", "p50", "p99", "max", "non-2xx", "sock err", "cpu daemon", "wrk") + \
    (("flood wrk",) if any_flood else ()) + ("other",)
rows = []
for r in runs:
    rows.append((r["name"], r["conns"], rate(r["rps"]), ms(r["lat_p50"]), ms(r["lat_p99"]), ms(r["lat_max"]),
                 f"{int(r['non2xx']):,}", f"{r['sockerr']:,}",
                 f"{r['daemon_cpu_s'] / r['secs']:.2f}", f"{r['wrk_cpu_s'] / r['secs']:.2f}") +
                ((f"{r['flood_wrk_cpu_s'] / r['secs']:.2f}" if r["flooded"] else "-",) if any_flood else ()) +
                (f"{r['other_cpu_s'] / r['secs']:.2f}",))
widths = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)]
def line(cells):
    return "  " + "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
p(line(hdr))
p("  " + "  ".join("-" * w for w in widths))
for row in rows:
    p(line(row))
p("  (latencies from wrk, of completed requests; CPU in cores used over the run: 1.00 = one core busy throughout"
  + ("; the C hello-world's row: its CPU in the daemon column" if any(r.get("server") == "hello" for r in runs) else "")
  + ("; flood wrk: the login flood's wrk, running beside the scenario's" if any_flood else "") + ")")
noisy = [r["name"] for r in runs if r["other_cpu_s"] / r["secs"] > 0.25]
if noisy:
    p(f"  NOTE: other processes took more than a quarter of a core during {', '.join(noisy)}: those figures are noisy.")
p("")
base = runs[0]
AIMS_AT = len(out)  # the aims table goes here, once every section has been worked out
hello = find_run("hello")
if hello:
    p(f"The HTTP layer: {base['name']} against the C hello-world on the same libmicrohttpd, measured right after it "
      f"with the same wrk settings ({meta['hello']}; the daemon idle meanwhile):")
    x = base["ok_rps"] / hello["ok_rps"]
    p(f"  C hello-world GET /: {rate(hello['ok_rps'])} req/s, p50 {ms(hello['lat_p50'])}, p99 {ms(hello['lat_p99'])}, "
      f"hello-world {hello['daemon_cpu_s'] / hello['secs']:.2f} cores, wrk {hello['wrk_cpu_s'] / hello['secs']:.2f}")
    p(f"  {base['name']}: {rate(base['ok_rps'])} req/s = {x:.3f} x the hello-world (aim >= 0.8: {'met' if x >= 0.8 else 'NOT MET'}), "
      f"p50 {ms(base['lat_p50'])}, p99 {ms(base['lat_p99'])}, daemon {base['daemon_cpu_s'] / base['secs']:.2f} cores, "
      f"wrk {base['wrk_cpu_s'] / base['secs']:.2f}")
    p("")
p(f"Against {base['name']} ({rate(base['ok_rps'])} req/s), successful (2xx) requests per second:")
for r in runs[1:]:
    if r["flooded"] or r.get("server") == "hello":
        continue  # in the login flood's own section; the hello-world just above
    p(f"  {r['name']}: {rate(r['ok_rps'])} req/s = {r['ok_rps'] / base['ok_rps']:.3g} × {base['path']}")
consume = [r for r in runs if r.get("tag", "").startswith("consume")]
spread_run = find_run("spread")
if consume or spread_run:
    p("")
    p("Credit consumption, the hot path: POST /v1/usage/tenants/{tenant_id}/consume with an API key, 1 credit a request,")
    p(f"a unique idempotency_key each (aim: ratio to {base['path']} >= 0.5, p99 <= 5 ms at 64 connections, on one tenant and over "
      f"{int(spread.get('tenants', '1000')):,}; in flight: requests wrk sent and had no answer for when it stopped):")
    for r in consume + ([spread_run] if spread_run else []):
        ratio = r["ok_rps"] / base["ok_rps"]
        w = int(r["delta_tenantry_db_writes_total"]); c = int(r["delta_tenantry_db_commits_total"])
        oks = run_ok(r)
        debits = int(r.get("rows_delta", "-1"))
        verdict = debit_ledger(debits, oks, run_in_flight(r))
        if verdict != "met":
            ledger_problems.append(f"{r['name']}: {verdict}")
        label = f"{int(spread['tenants']):,} tenants" if r is spread_run else "1 tenant"
        p(f"  {label + ', synchronous=' + r['synchronous']:<32}  {rate(r['ok_rps'])} req/s = {ratio:.3f} x {base['path']} "
          f"({'met' if ratio >= 0.5 else 'NOT MET'}); p50 {ms(r['lat_p50'])}, p99 {ms(r['lat_p99'])} "
          f"({'met' if float(r['lat_p99']) <= 5000 else 'NOT MET'}) at {r['conns']} connections; "
          f"non-2xx {int(r['non2xx']):,}{(' (' + r['status_codes'] + ')') if r['status_codes'] else ''}, socket errors {r['sockerr']:,}; "
          f"{(w / c if c else float('nan')):.1f} writes per commit ({w:,} in {c:,}, largest batch {r['largest_batch']}); "
          f"{debits:,} debits for {oks:,} 2xx responses (+ {run_in_flight(r):,} in flight): {verdict}; daemon {r['daemon_cpu_s'] / r['secs']:.2f} cores")
    if len(consume) > 1:
        p(f"  (the synchronous=normal row: the same database after a restart; ratio against the first daemon's {base['path']})")
    if spread_run:
        p(f"  (the {int(spread['tenants']):,} tenants: made through the API in {float(spread['create_secs']):.1f} s by bench/make-tenants.py, "
          f"a user, an API key and 1e9 credits each; each request to the next tenant of the list; "
          f"{int(spread['tenants_debited']):,} of them got debits during the probe, warm-up and measured run)")
if holds:
    hr, sr, br = (next(r for r in runs if r["tag"] == t) for t in ("holds", "hold-settle", "batch"))
    items = int(holds["batch_items"])
    def counter(r, k):
        return int(r.get("counter_" + k, "0"))
    def oks(r):
        return int(r["requests"]) - int(r["non2xx"])
    def in_flight(r):  # sent, never answered: still in flight when wrk stopped (or a socket error)
        return max(0, counter(r, "sent") - int(r["requests"]))
    def codes(r):
        return f"non-2xx {int(r['non2xx']):,}{(' (' + r['status_codes'] + ')') if r['status_codes'] else ''}, socket errors {r['sockerr']:,}"
    problems_h = []
    def verdict(v):
        if v != "met":
            problems_h.append(v)
        return v
    p("")
    p(f"Holds and batches, on two tenants of their own (1e9 credits each; ttl_seconds {holds['ttl_seconds']}: none expires during the bench), "
      f"against {base['path']} ({rate(base['ok_rps'])} req/s):")
    ho = oks(hr)
    p(f"  POST holds (1 credit, a new key each): {rate(ho / hr['secs'])} holds/s = {ho / hr['secs'] / base['ok_rps']:.3f} x {base['path']}; "
      f"p50 {ms(hr['lat_p50'])}, p99 {ms(hr['lat_p99'])}; {codes(hr)}; daemon {hr['daemon_cpu_s'] / hr['secs']:.2f} cores")
    p(f"    open holds on its tenant {int(hr['rows_before_open']):,} before the run, {int(hr['rows_before_open']) + int(hr['rows_delta_open']):,} after "
      f"(what they reserve is a running total: a hold's cost does not grow with them); "
      f"{int(hr['rows_delta_holds']):,} holds made for {ho:,} 2xx answers: {verdict(debit_ledger(int(hr['rows_delta_holds']), ho, in_flight(hr)))}")
    settled, held = counter(sr, "settled"), counter(sr, "held")
    p(f"  hold ({holds['hold_amount']}) + settle ({holds['settle_amount']}), each connection alternating: {rate(settled / sr['secs'])} pairs/s (settles/s) "
      f"= {settled / sr['secs'] / base['ok_rps']:.3f} x {base['path']}; {rate(sr['rps'])} requests/s, {held:,} holds and {settled:,} settles answered 2xx; "
      f"p50 {ms(sr['lat_p50'])}, p99 {ms(sr['lat_p99'])} (both kinds); {codes(sr)}; daemon {sr['daemon_cpu_s'] / sr['secs']:.2f} cores")
    p(f"    {int(sr['rows_delta_settled']):,} holds settled for {settled:,} settles answered: {verdict(debit_ledger(int(sr['rows_delta_settled']), settled, in_flight(sr)))}; "
      f"{int(sr['rows_delta_debits']):,} debits for them: "
      f"{verdict('met' if int(sr['rows_delta_debits']) == int(sr['rows_delta_settled']) else 'NOT MET: not one debit a settlement')}")
    debited, refused = counter(br, "debited"), counter(br, "refused")
    p(f"  POST consume/batch ({items} items of 1 credit, a new key each): {rate(debited / br['secs'])} debits/s "
      f"= {debited / br['secs'] / base['ok_rps']:.3f} x {base['path']} ({rate(br['ok_rps'])} requests/s x {items}); "
      f"p50 {ms(br['lat_p50'])}, p99 {ms(br['lat_p99'])} a batch; {codes(br)}; items refused {refused:,}"
      f"{'' if refused == 0 else ' (NOT 0)'}; daemon {br['daemon_cpu_s'] / br['secs']:.2f} cores")
    if refused:
        problems_h.append(f"{refused:,} batch items refused")
    p(f"    {int(br['rows_delta_debits']):,} debits for {debited:,} items answered code 0: "
      f"{verdict(debit_ledger(int(br['rows_delta_debits']), debited, in_flight(br) * items))}")
    # After the daemon stopped: the whole tenants against every answer (probes, warm-ups, measured runs).
    runs_of = {k: [read_kv(holds[f"{k}_run_{w}"]) for w in ("warmup", "measured")] for k in ("holds", "hold_settle", "batch")}
    def total(k, f):
        return sum(f(r) for r in runs_of[k])
    exp_holds, fl_holds = 1 + total("holds", oks), total("holds", in_flight)
    exp_settled, fl_settle = total("hold_settle", lambda r: counter(r, "settled")), total("hold_settle", in_flight)
    exp_sholds = 1 + total("hold_settle", lambda r: counter(r, "held"))
    exp_batch, fl_batch = items + total("batch", lambda r: counter(r, "debited")), total("batch", in_flight) * items
    db = {k: int(v) for k, v in holds.items() if k.startswith("db_")}
    p(f"  The ledger after the daemon stopped (sqlite3), against every 2xx answer (the probes, warm-ups and measured runs; "
      f"at most the requests left in flight when wrk stopped may add to it):")
    p(f"    holds tenant: {db['db_holds']:,} holds for {exp_holds:,} answered (+ {fl_holds:,} in flight): {verdict(debit_ledger(db['db_holds'], exp_holds, fl_holds))}; "
      f"{db['db_holds_open']:,} open")
    p(f"    settle tenant: {db['db_settle_settled']:,} settled holds for {exp_settled:,} settles answered (+ {fl_settle:,} in flight): "
      f"{verdict(debit_ledger(db['db_settle_settled'], exp_settled, fl_settle))}; "
      f"{db['db_settle_holds']:,} holds for {exp_sholds:,} answered: {verdict(debit_ledger(db['db_settle_holds'], exp_sholds, fl_settle))}; "
      f"{db['db_settle_settled_debited']:,} of the settled with their debit of {holds['settle_amount']}: "
      f"{verdict('met' if db['db_settle_settled_debited'] == db['db_settle_settled'] else 'NOT MET')}")
    p(f"    settle tenant: {db['db_batch_debits']:,} batch debits for {exp_batch:,} items answered code 0 (+ {fl_batch:,} in flight): "
      f"{verdict(debit_ledger(db['db_batch_debits'], exp_batch, fl_batch))}; {db['db_settle_debits']:,} debits in all = settled + batch: "
      f"{verdict('met' if db['db_settle_debits'] == db['db_settle_settled'] + db['db_batch_debits'] else 'NOT MET')}")
    p(f"  Ledger of holds and batches: {'met' if not problems_h else 'NOT MET (' + '; '.join(problems_h) + ')'}")
    ledger_problems.extend(f"holds and batches: {x}" for x in problems_h)
if hooks:
    # Consume beside one endpoint, against the consume run just before it (same daemon).
    wh = next(r for r in runs if r["tag"] == "webhooks")
    plain = next(r for r in runs if r["tag"].startswith("consume") and r["synchronous"] == wh["synchronous"])
    ratio = wh["ok_rps"] / plain["ok_rps"]
    oks = int(wh["requests"]) - int(wh["non2xx"])
    p("")
    p(f"Webhooks (the daemon runs with --webhooks-allow-private; the receiver: {hooks['receiver']} at {hooks['url']}, answering 204):")
    p(f"  consume with one active endpoint subscribed to \"*\": {rate(wh['ok_rps'])} req/s = {ratio:.3f} x consume without webhooks "
      f"just before it ({rate(plain['ok_rps'])} req/s, synchronous={plain['synchronous']}); aim >= 0.95: {'met' if ratio >= 0.95 else 'NOT MET'}; "
      f"p50 {ms(wh['lat_p50'])} (without {ms(plain['lat_p50'])}), p99 {ms(wh['lat_p99'])} (without {ms(plain['lat_p99'])}); "
      f"non-2xx {int(wh['non2xx']):,}; {int(wh.get('rows_delta', '-1')):,} debits for {oks:,} 2xx responses; "
      f"daemon {wh['daemon_cpu_s'] / wh['secs']:.2f} cores (without {plain['daemon_cpu_s'] / plain['secs']:.2f})"
      + ("; NOISY: other processes took more than a quarter of a core (see the NOTE above)"
         if max(r["other_cpu_s"] / r["secs"] for r in (wh, plain)) > 0.25 else ""))
    p(f"  (consume emits no event today, credit alerts come later: the ratio is the cost of having an endpoint configured, "
      f"not of emitting; deliveries queued during that run: {int(hooks['emitted_during_consume']):,})")
    queued = int(hooks["queued"]); delivered = int(hooks["delivered"])
    qsecs = (int(hooks["queued_last_ms"]) - int(hooks["queued_first_ms"])) / 1000
    span = (int(hooks["done_last_ms"]) - int(hooks["done_first_ms"])) / 1000
    bad = int(hooks["failed"]) + int(hooks["retrying"]) + int(hooks["untried"])
    qerr = sum(int(hooks[k]) for k in ("queue_err_connect", "queue_err_read", "queue_err_write", "queue_err_timeout"))
    p(f"  queued: {queued:,} webhook.test deliveries (asked {int(hooks['requested']):,}) by wrk POSTing /v1/admin/webhooks/{{id}}/test "
      f"({hooks['conns']} connections), in {qsecs:.1f} s" + (f" ({rate(queued / qsecs)}/s)" if qsecs > 0 else "")
      + f"; non-2xx {int(hooks['queue_non2xx']):,}{(' (' + hooks['queue_status_codes'] + ')') if hooks['queue_status_codes'] else ''}, socket errors {qerr:,}")
    p(f"  delivered: {delivered:,} in {span:.1f} s from the first completed_at to the last"
      + (f" = {rate((delivered - 1) / span)} deliveries/s" if span > 0 and delivered > 1 else "")
      + f"; failed {int(hooks['failed']):,}, retrying {int(hooks['retrying']):,}, never tried {int(hooks['untried']):,} "
      f"(must be 0: {'met' if bad == 0 else 'NOT MET'}); {int(hooks['attempts']):,} attempts, {int(hooks['attempts_2xx']):,} answered 2xx; "
      f"the receiver answered {int(hooks['receiver_got']):,} POSTs")
    p(f"  the deliverWebhooks job handed them over in {int(hooks['job_runs']):,} runs, every {float(hooks['run_interval_ms']) / 1000:.1f} s (median), "
      f"at most {int(hooks['largest_run']):,} a run; within a run the delivery threads sent {rate(float(hooks['burst_per_s']))}/s (median); "
      f"daemon {float(hooks['drain_daemon_cpu_s']) / float(hooks['drain_secs']):.2f} cores, machine {float(hooks['drain_machine_cpu_s']) / float(hooks['drain_secs']):.2f} "
      f"over the {float(hooks['drain_secs']):.1f} s waited")
    if hooks["timed_out"] == "1":
        p(f"  NOT ALL TRIED: still {int(hooks['untried']):,} never attempted after {hooks['wait_limit_s']} s (BENCH_WEBHOOK_WAIT)")
    if hooks["first_error"]:
        p(f"  first error: {hooks['first_error']}")
if flood:
    # Each route under the flood against its run alone: the first run without the flood of
    # the same request, connections and synchronous setting.
    def alone_of(r):
        for a in runs:
            if not a["flooded"] and all(a.get(k) == r.get(k) for k in ("method", "path", "conns", "synchronous", "auth", "server")):
                return a
        return None
    fsecs = int(flood["duration_us"]) / 1e6
    freq = int(flood["requests"])
    fh = int(flood["delta_tenantry_password_hashes_total"]); fref = int(flood["delta_tenantry_password_hashes_refused_total"])
    codes = dict((int(c), int(n)) for c, n in (x.split(":") for x in flood["status_codes"].split(",") if x))
    f429 = codes.get(429, 0)
    ferr = sum(int(flood[k]) for k in ("err_connect", "err_read", "err_write", "err_timeout"))
    p("")
    p(f"Login flood: a second wrk (-t{flood['threads']}, {flood['conns']} connections) POSTing /v1/account/login with a wrong password "
      f"over {int(flood['emails']):,} emails ({flood['accounts']} of them registered accounts, the rest unknown: checked against a decoy hash), "
      f"a new X-Forwarded-For 10.x.y.z each request, beside each route's warm-up and measured run:")
    p(f"  {freq:,} requests in {fsecs:.1f} s ({rate(freq / fsecs)}/s): 401 (wrong password, hashed) {codes.get(401, 0):,}; "
      f"429 {f429:,} (the daemon refused {fref:,} with its hash queue full, some to requests wrk abandoned when it stopped; "
      f"throttled about {max(0, f429 - fref):,}); "
      + (f"other {', '.join(f'{c}: {n:,}' for c, n in sorted(codes.items()) if c not in (401, 429))}; " if set(codes) - {401, 429} else "")
      + f"2xx {freq - sum(codes.values()):,}; socket errors {ferr:,}")
    p(f"  hashing threads (name:nice): {flood['hash_thread_nice'] or 'none found'}")
    p(f"  password hashes completed {fh:,} = {fh / fsecs:.1f}/s; flood wrk {float(flood['wrk_cpu_s']) / fsecs:.2f} cores, "
      f"daemon {float(flood['daemon_cpu_s']) / fsecs:.2f}, machine {float(flood['machine_cpu_s']) / fsecs:.2f} of {meta['cores']}")
    cap = [r for r in runs if not r["flooded"] and r["path"] == "/v1/account/login" and int(r["delta_tenantry_password_hashes_total"])]
    if cap:
        c = max(cap, key=lambda r: int(r["delta_tenantry_password_hashes_total"]) / r["secs"])
        p(f"  (the hashing workers alone, in {c['name']}: {int(c['delta_tenantry_password_hashes_total']) / c['secs']:.1f} hashes/s)")
    p("Each route alone and during the flood, successful (2xx) requests per second; aim: flood/alone >= 0.7.")
    p("hashed/s and refused/s: logins hashed, and refused with the hash queue full, during the route's measured run")
    p("(refusals mean the queue stayed full: the hashing workers never lacked work, whatever CPU they were given).")
    fhdr = ("route", "alone", "flood", "ratio", "aim", "", "p99 alone", "p99 flood", "non-2xx", "hashed/s", "refused/s")
    frows = []
    for r in runs:
        if not r["flooded"]:
            continue
        a = alone_of(r)
        ratio = r["ok_rps"] / a["ok_rps"] if a and a["ok_rps"] else float("nan")
        frows.append((r["name"].replace(" (login flood)", ""), rate(a["ok_rps"]) if a else "?", rate(r["ok_rps"]),
                      f"{ratio:.2f}", ">= 0.7", "met" if ratio >= 0.7 else "NOT MET",
                      ms(a["lat_p99"]) if a else "?", ms(r["lat_p99"]),
                      f"{int(r['non2xx']):,}" + (f" ({r['status_codes']})" if r["status_codes"] else ""),
                      f"{int(r['delta_tenantry_password_hashes_total']) / r['secs']:.1f}",
                      f"{int(r['delta_tenantry_password_hashes_refused_total']) / r['secs']:,.0f}"))
    fw = [max(len(str(x)) for x in col) for col in zip(fhdr, *frows)]
    def fline(cells):
        return "  " + "  ".join(str(c).ljust(w) if i in (0, 5) else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, fw)))
    p(fline(fhdr))
    p("  " + "  ".join("-" * w for w in fw))
    for row in frows:
        p(fline(row))
    p("  (alone: the same route's run above without the flood, on the same daemon)")
    if any(int(r["delta_tenantry_password_hashes_total"]) == 0 for r in runs if r["flooded"]):
        p("  NOTE: no password was hashed during some run under the flood: it was not a flood there.")
    p("")
# PostgreSQL beside the debit, once the daemons had stopped.
pg_ratio = {}
if pg:
    if out[-1] != "":
        p("")
    p(f"PostgreSQL {pg['version']} beside the debit (Debian's package; a cluster made by the bench in a temp dir, on 127.0.0.1; its defaults: "
      f"fsync {pg['setting_fsync']}, synchronous_commit {pg['setting_synchronous_commit']}, wal_sync_method {pg['setting_wal_sync_method']}, "
      f"shared_buffers {pg['setting_shared_buffers']}; max_connections {pg['setting_max_connections']}):")
    p(f"  one debit = one transaction, one statement: the balance decremented only when it covers the amount, and the debit row "
      f"(idempotency key unique per balance, gen_random_uuid()) inserted with it; pgbench -c {pg['clients']} -j 2 -n -M prepared over TCP, "
      f"a warm-up then the measured run (latencies from its per-transaction log):")
    pg_problems = []
    for name, label, tag in (("one", "1 balance", None), ("spread", "1,000 balances", "spread")):
        tps = float(pg[f"{name}_tps"]); tx = int(pg[f"{name}_transactions"]); debits = int(pg[f"{name}_debits"])
        failed = int(pg[f"{name}_failed"])
        secs = tx / tps if tps else float("nan")
        ok = debits == tx and failed == 0
        if not ok:
            pg_problems.append(f"{label}: {debits:,} debits for {tx:,} transactions, {failed:,} failed")
        p(f"  {label:<14}  {rate(tps)} tps; p50 {ms(pg[f'{name}_lat_p50'])}, p99 {ms(pg[f'{name}_lat_p99'])}, max {ms(pg[f'{name}_lat_max'])}; "
          f"failed {failed:,}; {debits:,} debits counted for {tx:,} transactions pgbench reported: {'met' if ok else 'NOT MET'}; "
          f"machine {float(pg[f'{name}_machine_cpu_s']) / secs:.2f} cores (pgbench {float(pg[f'{name}_pgbench_cpu_s']) / secs:.2f})")
        t = next((r for r in runs if r.get("tag") == "consume-full"), None) if tag is None else find_run(tag)
        if t and tps:
            pg_ratio[name] = (t, t["ok_rps"] / tps)
    for name, (t, x) in pg_ratio.items():
        what = "1 balance" if name == "one" else "1,000 balances"
        p(f"  Tenantry {t['name']}: {rate(t['ok_rps'])} req/s = {x:.2f} x PostgreSQL on {what} "
          f"(p99 {ms(t['lat_p99'])} against {ms(pg[f'{name}_lat_p99'])})")
    total = int(pg["debits_total"])
    expected = sum(int(pg[f"{n}_transactions"]) + int(pg[f"{n}_warmup_transactions"]) for n in ("one", "spread"))
    bal_ok = int(pg["balances_off"]) == 0 and int(pg["debited_total"]) == int(pg["balances_decrease"])
    keys_ok = int(pg["keys_repeated"]) == 0
    if total != expected:
        pg_problems.append(f"{total:,} debits in all for {expected:,} transactions (warm-ups included)")
    if not bal_ok:
        pg_problems.append(f"{int(pg['balances_off']):,} balances whose decrease is not the sum of their debits")
    if not keys_ok:
        pg_problems.append(f"{int(pg['keys_repeated']):,} idempotency keys twice")
    p(f"  afterwards: {total:,} debits for {expected:,} transactions (warm-ups included); each balance's decrease = the sum of its debits "
      f"({int(pg['balances_touched']):,} balances debited, {int(pg['balances_decrease']):,} credits in all): {'met' if bal_ok else 'NOT MET'}; "
      f"no idempotency key twice: {'met' if keys_ok else 'NOT MET'}")
    p(f"  PostgreSQL ledger: {'met' if not pg_problems else 'NOT MET (' + '; '.join(pg_problems) + ')'}")
    p("")
p(f"After the runs: {int(meta['debits_total']):,} debits in the database; tenantryd check "
  f"{'ok' if meta['check_rc'] == '0' else 'FAILED (exit ' + meta['check_rc'] + ')'}: {meta['check_out']}")
p("")
p("Per scenario (measured run only):")
for r in runs:
    bits = [f"{int(r['requests']):,} requests in {r['secs']:.1f} s"]
    bits.append(f"p90 {ms(r['lat_p90'])}, p99.9 {ms(r['lat_p999'])}")
    if r["status_codes"]:
        bits.append(f"non-2xx by status {r['status_codes']}")
    errs = {k[4:]: int(r[k]) for k in ("err_connect", "err_read", "err_write", "err_timeout") if int(r[k])}
    if errs:
        bits.append("socket errors " + ", ".join(f"{k} {v}" for k, v in errs.items()))
    h = int(r["delta_tenantry_password_hashes_total"]); ref = int(r["delta_tenantry_password_hashes_refused_total"])
    if h or ref:
        bits.append(f"argon2id hashes {h:,} ({h / r['secs']:.1f}/s), refused (queue full) {ref:,}")
    w = int(r["delta_tenantry_db_writes_total"]); c = int(r["delta_tenantry_db_commits_total"])
    bits.append(f"db writes {w:,} in {c:,} commits" + (f" ({w / c:.1f} per commit)" if c else ""))
    bits.append(f"peak RSS so far {int(r['daemon_hwm_kib']) / 1024:.1f} MiB")
    p(f"  {r['name']}: " + "; ".join(bits))
p("")
ceiling = float(meta["hash_memory_ceiling_bytes"])
p(f"Hashing pool memory ceiling (tenantry_password_hash_memory_ceiling_bytes): {ceiling / 1048576:.1f} MiB")
hwm = int(meta["daemon_VmHWM"]); rss = int(meta["daemon_VmRSS"]); idle = int(meta["idle_rss_kib"])
p(f"Daemon RSS right after start-up (before any call but GET /healthz, 1 s idle): {int(meta['startup_rss_kib']) / 1024:.1f} MiB")
p(f"Daemon idle RSS (VmRSS after start-up and the setup calls, 2 s idle): {idle / 1024:.1f} MiB = {idle * 1024 / 1e6:.1f} MB "
  f"(aim <= 25 MB: {'met' if idle * 1024 <= 25e6 else 'NOT MET'}; peak so far {int(meta['idle_hwm_kib']) / 1024:.1f} MiB, {meta['idle_threads']} threads)")
p(f"Daemon peak RSS under load (VmHWM after every run of the first daemon): {hwm / 1024:.1f} MiB (RSS after them {rss / 1024:.1f} MiB, "
  f"{meta['daemon_Threads']} threads; the hashing pool's ceiling above is part of it)")
if problems:
    p("Daemon log warnings/errors (last 5):")
    for l in problems:
        p("  " + l)
else:
    p("Daemon log: no warnings or errors.")
if timers:
    p("")
    p(timers)
if meta["timers_rc"] not in ("0", "skipped"):
    p(f"bench/timers.sh FAILED (exit {meta['timers_rc']})")
elif meta["timers_rc"] == "skipped":
    p("")
    p("Timers: skipped (BENCH_TIMERS=0).")
if not flood:
    p("Login flood: skipped (BENCH_FLOOD=0).")
if not hooks:
    p("Webhooks: skipped (BENCH_WEBHOOKS=0).")
if not holds:
    p("Holds and batches: skipped (BENCH_HOLDS=0).")
if not spread:
    p("Consume over many tenants: skipped (BENCH_TENANTS=0).")
if not pg:
    p("PostgreSQL: skipped (BENCH_POSTGRES=0).")

# The aims, each figure with its ratio, put in after the first table.
aims = []
def aim_row(figure, measured, ratio, aim, ok):
    aims.append((figure, measured, ratio, aim, ok if isinstance(ok, str) else ("met" if ok else "NOT MET")))
def vs_base(r):
    return r["ok_rps"] / base["ok_rps"]
if hello:
    x = base["ok_rps"] / hello["ok_rps"]
    aim_row(f"{base['name']} / C hello-world", f"{rate(base['ok_rps'])} / {rate(hello['ok_rps'])} req/s", f"{x:.2f}", ">= 0.8", x >= 0.8)
for tag, label, a in (("auth-key", "GET /v1/auth/check, API key", 0.7), ("auth-session", "GET /v1/auth/check, session", 0.7),
                      ("user", "GET /v1/user, session", 0.5)):
    r = find_run(tag)
    if r:
        aim_row(label, f"{rate(r['ok_rps'])} req/s", f"{vs_base(r):.2f}", f">= {a}", vs_base(r) >= a)
full = next((r for r in runs if r.get("tag") == "consume-full"), None) or (consume[0] if consume else None)
for r, label in ((full, "POST consume, 1 tenant"), (spread_run, f"POST consume, {int(spread.get('tenants', '0')):,} tenants")):
    if r:
        label += f" (synchronous={r['synchronous']})"
        aim_row(label, f"{rate(r['ok_rps'])} req/s", f"{vs_base(r):.2f}", ">= 0.5", vs_base(r) >= 0.5)
        aim_row(f"  its p99 at {r['conns']} connections", ms(r["lat_p99"]), "", "<= 5 ms", float(r["lat_p99"]) <= 5000)
if holds:
    hr, sr, br = (find_run(t) for t in ("holds", "hold-settle", "batch"))
    x = run_ok(hr) / hr["secs"]
    aim_row("POST holds", f"{rate(x)} holds/s", f"{x / base['ok_rps']:.2f}", ">= 0.35", x / base["ok_rps"] >= 0.35)
    x = run_counter(sr, "settled") / sr["secs"]
    aim_row("POST hold + settle, pairs", f"{rate(x)} pairs/s", f"{x / base['ok_rps']:.2f}", ">= 0.35", x / base["ok_rps"] >= 0.35)
    x = run_counter(br, "debited") / br["secs"]
    aim_row(f"POST consume/batch, {holds['batch_items']} items", f"{rate(x)} debits/s", f"{x / base['ok_rps']:.2f}",
            ">= 200,000 debits/s", x >= 200000)
checked = len([r for r in runs if "rows_delta" in r and r.get("tag", "") in ("consume-full", "consume-normal", "spread", "webhooks")]) + (3 if holds else 0)
aim_row("debits lost or doubled", f"{checked} runs checked", "", "none",
        "met" if not ledger_problems else "NOT MET: " + "; ".join(ledger_problems))
idle = int(meta["idle_rss_kib"])
aim_row("idle memory (VmRSS)", f"{idle / 1024:.1f} MiB = {idle * 1024 / 1e6:.1f} MB", "", "<= 25 MB", idle * 1024 <= 25e6)
aim_row("memory under load (peak VmHWM)", f"{int(meta['daemon_VmHWM']) / 1024:.1f} MiB", "", "bounded, reported", "reported")
for name, (t, x) in pg_ratio.items():
    what = "1 balance" if name == "one" else "1,000 balances"
    aim_row(f"PostgreSQL debit, {what}", f"{rate(float(pg[name + '_tps']))} tps", f"{x:.2f}", "(Tenantry / PG)", "reference")
ahdr = ("figure", "measured", "ratio", "aim", "")
aw = [max(len(str(x)) for x in col) for col in zip(ahdr, *aims)] if aims else []
def aline(cells):
    return "  " + "  ".join(str(c).ljust(w) if i in (0, 3, 4) else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, aw)))
table = [f"Aims (ratio: to {base['name']} in this run, unless said; sections below give the details):", aline(ahdr).rstrip(),
         "  " + "  ".join("-" * w for w in aw)] + [aline(r).rstrip() for r in aims] + [""]
out[AIMS_AT:AIMS_AT] = table
print("\n".join(out))
PY
{
  echo
  case $LARGE_RC in
    0) cat "$WORK/large.txt" ;;
    skipped) echo "Large database: skipped (BENCH_LARGE=0)." ;;
    *) cat "$WORK/large.txt"; echo "bench/large.sh FAILED (exit $LARGE_RC)" ;;
  esac
} | tee -a "$RESULTS_DIR/latest.txt" "$RESULTS_DIR/$STAMP.txt"
echo "bench: summary kept in bench/results/latest.txt and bench/results/$STAMP.txt" >&2
