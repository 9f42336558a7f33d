# shellcheck shell=bash
# What the client runners (run-trellojs.sh, run-python-suite.sh) share: stopping the
# `cork serve` they start, cleaning up on exit (showing the server log on failure), and
# waiting for the server to answer. Sourced after `log` is defined; the runner sets WORK,
# SERVER_PID, SERVER_LOG, PORT and START_TIMEOUT.
# record_secret, record_issued, server_log_path (the run's check that no log holds a secret).
# shellcheck source=tests/clients/secrets-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/secrets-lib.sh"

# Never let a proxy get between us and the local server.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy=$NO_PROXY

# ---------------------------------------------------------------- cleanup ---
WORK=""
SERVER_PID=""
SERVER_LOG=""
# More nodes on the same database (CORK_NODES), stopped like the first.
EXTRA_PIDS=()

stop_server() {
  local extra
  for extra in ${EXTRA_PIDS[@]+"${EXTRA_PIDS[@]}"}; do
    kill -TERM "$extra" 2>/dev/null || true
  done
  for extra in ${EXTRA_PIDS[@]+"${EXTRA_PIDS[@]}"}; do
    wait "$extra" 2>/dev/null || true
  done
  EXTRA_PIDS=()
  [[ -n $SERVER_PID ]] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    # Direct children too, in case CORK_BIN is a wrapper script.
    local kids i
    kids=$(pgrep -P "$SERVER_PID" 2>/dev/null | tr '\n' ' ' || true)
    # shellcheck disable=SC2086 # $kids is a list of pids
    kill -TERM "$SERVER_PID" $kids 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server did not stop on SIGTERM within 10s; sending SIGKILL"
      # shellcheck disable=SC2086
      kill -KILL "$SERVER_PID" $kids 2>/dev/null || true
    fi
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server
  if [[ $rc -ne 0 && -n $SERVER_LOG && -s $SERVER_LOG ]]; then
    log "last lines of the cork server log ($SERVER_LOG):"
    tail -n 40 "$SERVER_LOG" | sed 's/^/    | /' >&2
  fi
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ ${CORK_KEEP_WORKDIR:-0} == 1 ]]; then
      log "kept work dir $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# Returns 0 when up, 1 when the server died, 2 on timeout.
wait_for_server() {
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      return 1
    fi
    # Any HTTP response at all means the port answers.
    if curl -s -o /dev/null --noproxy '*' --max-time 2 "http://127.0.0.1:$PORT/1/"; then
      return 0
    fi
    sleep 0.2
  done
  return 2
}
