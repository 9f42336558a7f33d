#!/usr/bin/env bash
# Cork's OAuth 1.0a flow driven by real clients (requests-oauthlib, py-trello's
# create_oauth_token and TrelloClient): tests/clients/oauth/test_oauth_flow.py
# against a fresh `cork serve`.
#
# Usage: tests/clients/run-oauth.sh [DATABASE_URL]
#   DATABASE_URL  passed to `cork serve --database` when non-empty; empty = SQLite
#
# Environment:
#   CORK_BIN            cork binary (default ${CARGO_TARGET_DIR:-<repo>/target}/debug/cork)
#   CORK_OAUTH_VENV     Python venv (default ~/.cache/cork-venv-oauth); created if missing.
#                       Its own venv: the suite runner swaps py-trello and ha-py-trello
#                       in ~/.cache/cork-venv, and this test needs py-trello itself.
#   CORK_PYTHON         interpreter used to create the venv (default python3)
#   CORK_START_TIMEOUT  seconds to wait for the server (default 60)
#
# The last line pytest prints is its "N passed, M failed" summary (scripts/test reads it).
# Exit status: pytest's, or 10+ if setup failed before pytest ran.
set -euo pipefail

DBURL=${1:-}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
PYTRELLO_VERSION=0.20.1

log() { printf 'run-oauth: %s\n' "$*" >&2; }
die() { local code=$1; shift; log "ERROR: $*"; exit "$code"; }
redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }
# record_secret, record_issued, server_log_path (the run's check that no log holds a secret).
# shellcheck source=tests/clients/secrets-lib.sh
source "$SCRIPT_DIR/secrets-lib.sh"

if [[ -n ${CORK_BIN:-} ]]; then
  BIN=$CORK_BIN
elif [[ -n ${CARGO_TARGET_DIR:-} ]]; then
  BIN=$CARGO_TARGET_DIR/debug/cork
else
  BIN=$REPO_ROOT/target/debug/cork
fi
[[ -x $BIN ]] || die 10 "cork binary not found at $BIN (build it, or set CORK_BIN)"
VENV=${CORK_OAUTH_VENV:-$HOME/.cache/cork-venv-oauth}
PY=$VENV/bin/python
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy=$NO_PROXY

# ------------------------------------------------------------------- venv ---
venv_ok() {
  [[ -x $PY ]] && "$PY" - "$PYTRELLO_VERSION" <<'PYEOF' >/dev/null 2>&1
import importlib.metadata as md, sys
assert md.version("py-trello") == sys.argv[1]
import pytest, requests, requests_oauthlib, trello.util
PYEOF
}
mkdir -p "$(dirname "$VENV")"
exec {LOCK_FD}>"$VENV.lock"
command -v flock >/dev/null 2>&1 && flock -x "$LOCK_FD"
if ! venv_ok; then
  log "installing pytest, requests-oauthlib and py-trello==$PYTRELLO_VERSION into $VENV"
  [[ -x $PY ]] || "${CORK_PYTHON:-python3}" -m venv "$VENV" || die 11 "could not create $VENV"
  "$PY" -m pip install -q --disable-pip-version-check \
    pytest requests requests-oauthlib python-dateutil pytz "py-trello==$PYTRELLO_VERSION" \
    || die 11 "pip install failed"
  venv_ok || die 11 "the venv at $VENV lacks the test's dependencies"
fi
command -v flock >/dev/null 2>&1 && flock -u "$LOCK_FD"

# ----------------------------------------------------------------- server ---
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cork-oauth.XXXXXX")
SERVER_PID=""
SERVER_LOG=$(server_log_path "$WORK" serve-oauth)
cleanup() {
  local rc=$?
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 && -s $SERVER_LOG ]]; then
    log "last lines of the server log:"
    tail -n 30 "$SERVER_LOG" | sed 's/^/    | /' >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DB_ARGS=(--data-dir "$WORK/data")
[[ -n $DBURL ]] && DB_ARGS+=(--database "$DBURL")
# These requests are not a Trello client's: keep them out of the compatibility table's logs.
unset CORK_ROUTE_LOG

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log "starting $BIN serve on 127.0.0.1:$PORT (database: $(redact "${DBURL:-<sqlite in data dir>}"))"
"$BIN" serve --listen "127.0.0.1:$PORT" "${DB_ARGS[@]}" >>"$SERVER_LOG" 2>&1 </dev/null {LOCK_FD}>&- &
SERVER_PID=$!
deadline=$((SECONDS + ${CORK_START_TIMEOUT:-60}))
until curl -s -o /dev/null --noproxy '*' --max-time 2 "http://127.0.0.1:$PORT/login"; do
  kill -0 "$SERVER_PID" 2>/dev/null || die 13 "cork serve exited before answering"
  ((SECONDS < deadline)) || die 13 "cork serve did not answer within ${CORK_START_TIMEOUT:-60}s"
  sleep 0.2
done
export CORK_BASE_URL=http://127.0.0.1:$PORT

# ------------------------------------------------------------ credentials ---
export CORK_OAUTH_USER=oauthuser
export CORK_OAUTH_PASSWORD="oauth-pass-$RANDOM-$RANDOM"
record_secret password "$CORK_OAUTH_PASSWORD"
CORK_PASSWORD=$CORK_OAUTH_PASSWORD "$BIN" user create "$CORK_OAUTH_USER" --full-name "OAuth User" --password-env "${DB_ARGS[@]}" >&2 \
  || die 14 "cork user create failed"
"$BIN" user create oauthdev "${DB_ARGS[@]}" >&2 || die 14 "cork user create failed"
KEY_JSON=$("$BIN" key create --user oauthdev --name "OAuth test app" "${DB_ARGS[@]}") || die 14 "cork key create failed"
{ read -r TRELLO_API_KEY; read -r TRELLO_API_SECRET; } < <("$PY" -c '
import json, sys
key = json.loads(sys.stdin.read())
assert all(key.get(k) for k in ("key", "secret", "idMember", "name")), key
print(key["key"]); print(key["secret"])' <<<"$KEY_JSON") || die 14 "could not parse cork key create"
[[ -n ${TRELLO_API_KEY:-} && -n ${TRELLO_API_SECRET:-} ]] || die 14 "cork key create printed no key/secret"
export TRELLO_API_KEY TRELLO_API_SECRET
record_secret app-secret "$TRELLO_API_SECRET"

# ------------------------------------------------------------------ pytest ---
log "running tests/clients/oauth against $CORK_BASE_URL"
cd "$SCRIPT_DIR/oauth"
export PYTHONDONTWRITEBYTECODE=1
# cork_secrets.py notes the tokens, token secrets and cookies the flow hands out.
export PYTHONPATH=$SCRIPT_DIR${PYTHONPATH:+:$PYTHONPATH}
set +e
"$PY" -m pytest -p no:cacheprovider -p cork_secrets -q -rA test_oauth_flow.py
rc=$?
set -e
exit "$rc"
