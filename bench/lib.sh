# Shared by bench/run.sh and bench/timers.sh.

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
