# Shared by bench/run.sh, bench/timers.sh and bench/large.sh.

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
