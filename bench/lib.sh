# Shared by bench/run.sh, bench/timers.sh and bench/large.sh. The callers define die(), and
# set $WORK, $BASE and $DAEMON_LOG.

# Stops the daemon in $DAEMON_PID: SIGTERM, then SIGKILL after $STOP_GRACE seconds
# (default 10); $BENCH_NAME labels the message.
stop_daemon() {
  [ -n "${DAEMON_PID:-}" ] || return 0
  local grace=${STOP_GRACE:-10}
  if kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    for _ in $(seq $((grace * 10))); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
      echo "${BENCH_NAME:-bench}: daemon $DAEMON_PID ignored SIGTERM for $grace s; killing it" >&2
      kill -KILL "$DAEMON_PID" 2>/dev/null || true
    fi
  fi
  wait "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=
}

# outbox_code EMAIL: the newest 6-digit code emailed to EMAIL, read from the outbox with the
# caller's api function and $OPS_TOKEN (an operator's session); die()s without one.
outbox_code() {
  local code=
  for _ in $(seq 50); do
    code=$(api GET "/v1/admin/outbox?to=$1" "" "$OPS_TOKEN" | python3 -c '
import json, re, sys
for e in json.load(sys.stdin)["emails"]:
    m = re.search(r"\b(\d{6})\b", e["body"])
    if m:
        print(m.group(1))
        break')
    [ -n "$code" ] && break
    sleep 0.1
  done
  [ -n "$code" ] || die "no code in the outbox for $1"
  printf '%s\n' "$code"
}

# daemon_log_tail: the daemon log's last 20 lines, on stderr.
daemon_log_tail() { echo "--- ${BENCH_NAME:-bench} daemon log (last 20 lines) ---" >&2; tail -n 20 "$DAEMON_LOG" >&2 || true; }

# api METHOD PATH [BODY] [TOKEN]: prints the response body; dies unless the status is 2xx.
# The daemon's ($BASE) unless API_BASE names another server (run.sh's hello-world).
api() {
  local method=$1 path=$2 body=${3:-} token=${4:-} code
  local args=(-sS -o "$WORK/api.out" -w '%{http_code}' -X "$method")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  code=$(curl "${args[@]}" "${API_BASE:-$BASE}$path") || die "$method $path: curl failed"
  [[ $code == 2?? ]] || { echo "response: $(cat "$WORK/api.out")" >&2; die "$method $path answered $code"; }
  cat "$WORK/api.out"
}
# json FIELD: reads a JSON object on stdin, prints the field.
json() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
