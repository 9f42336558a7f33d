#!/usr/bin/env bash
# Drive a fresh Cork through the trello.js npm client (tests/clients/trellojs).
#
# Usage: tests/clients/run-trellojs.sh [DATABASE_URL]
#
#   DATABASE_URL  passed to `cork serve --database` when non-empty
#                 (sqlite://PATH or postgres://...); empty = SQLite in the data dir
#
# Environment:
#   CORK_BIN             cork binary (default ${CARGO_TARGET_DIR:-<repo>/target}/debug/cork)
#   CORK_NODE            node interpreter (default node)
#   CORK_NPM             npm (default npm)
#   CORK_START_TIMEOUT   seconds to wait for the server (default 60)
#   CORK_KEEP_WORKDIR=1  keep the temp dir (data dir, server log) after the run
#
# trello.js 2.2.0 checks every response against its zod schemas, strict (unknown keys
# refused: TRELLO_STRICT_SCHEMAS=true unless set otherwise); the scenario
# (tests/clients/trellojs/scenario.mjs) prints "trello.js scenario: N passed,
# M failed". Its dependencies are installed with `npm ci` from the committed
# package-lock.json into tests/clients/trellojs/node_modules when missing or
# when the lock file changed since the last install.
# Exit status: the scenario's exit status, or 10+ if setup failed before it ran.
# shellcheck disable=SC2317 # functions are invoked via trap
set -euo pipefail

usage() { echo "usage: $0 [DATABASE_URL]" >&2; exit 64; }
[[ $# -le 1 ]] || usage
DBURL=${1:-}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
CLIENT_DIR=$SCRIPT_DIR/trellojs
ORIG_PWD=$PWD

log() { printf 'run-trellojs: %s\n' "$*" >&2; }
die() { local code=$1; shift; log "ERROR: $*"; exit "$code"; }
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$ORIG_PWD" "$1" ;; esac; }
# Hide a password in a database URL for logging.
redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

if [[ -n ${CORK_BIN:-} ]]; then
  CORK_BIN=$(abspath "$CORK_BIN")
elif [[ -n ${CARGO_TARGET_DIR:-} ]]; then
  CORK_BIN=$(abspath "$CARGO_TARGET_DIR")/debug/cork
else
  CORK_BIN=$REPO_ROOT/target/debug/cork
fi
NODE=${CORK_NODE:-node}
NPM=${CORK_NPM:-npm}
START_TIMEOUT=${CORK_START_TIMEOUT:-60}

[[ -x $CORK_BIN ]] || die 10 "cork binary not found at $CORK_BIN (build it, or set CORK_BIN)"
command -v "$NODE" >/dev/null 2>&1 || die 11 "node not found (set CORK_NODE)"
command -v "$NPM" >/dev/null 2>&1 || die 11 "npm not found (set CORK_NPM)"
# trello.js declares engines.node >=22, but all it uses at run time is fetch,
# URLSearchParams and zod 4, which Node 20 provides (Node 18 has them too).
NODE_MAJOR=$("$NODE" -p 'process.versions.node.split(".")[0]') || die 11 "could not run $NODE"
((NODE_MAJOR >= 20)) || die 11 "node $("$NODE" --version) is too old; trello.js needs a global fetch (Node 20+)"

# No proxy for 127.0.0.1, the server stop and clean-up on exit, wait_for_server.
# shellcheck source=tests/clients/server-lib.sh
source "$SCRIPT_DIR/server-lib.sh"

# ----------------------------------------------------------- node_modules ---
# The stamp records which package-lock.json the last `npm ci` installed, so an
# edited lock file (a version bump) triggers a clean reinstall.
STAMP=$CLIENT_DIR/node_modules/.cork-installed-lock
lock_sum() { sha256sum "$CLIENT_DIR/package-lock.json" | cut -d' ' -f1; }

modules_ok() {
  [[ -f $STAMP && $(cat "$STAMP") == "$(lock_sum)" ]] || return 1
  (cd "$CLIENT_DIR" && "$NODE" -e '
    const v = JSON.parse(require("fs").readFileSync("node_modules/trello.js/package.json", "utf8")).version;
    if (v !== "2.2.0") process.exit(1);' >/dev/null 2>&1)
}

install_modules() {
  log "npm ci in $CLIENT_DIR (trello.js 2.2.0 from package-lock.json)"
  # engines says node >=22; Node 20 runs the library (see above), so a local
  # engine-strict setting must not turn npm's warning into a failure.
  (cd "$CLIENT_DIR" && "$NPM" ci --no-audit --no-fund --engine-strict=false --loglevel=error) || return 1
  lock_sum >"$STAMP"
}

# Exclusive lock while checking/installing, so two concurrent runs do not both
# rewrite node_modules; shared while the scenario runs. The lock file lives
# outside node_modules, which npm ci deletes.
LOCK_FILE=$HOME/.cache/cork-trellojs-npm.lock
mkdir -p "$(dirname "$LOCK_FILE")"
exec {MODULES_LOCK_FD}>"$LOCK_FILE"
command -v flock >/dev/null 2>&1 && flock -x "$MODULES_LOCK_FD"
modules_ok || install_modules || die 12 "npm ci in $CLIENT_DIR failed"
modules_ok || die 12 "$CLIENT_DIR/node_modules does not hold trello.js 2.2.0 after npm ci"
command -v flock >/dev/null 2>&1 && flock -s "$MODULES_LOCK_FD"

# ----------------------------------------------------------------- server ---
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cork-trellojs.XXXXXX")
DATA_DIR=$WORK/data
mkdir -p "$DATA_DIR"
DB_ARGS=()
[[ -n $DBURL ]] && DB_ARGS=(--database "$DBURL")
SERVER_LOG=$(server_log_path "$WORK" serve-trellojs)
# With CORK_ROUTE_LOG_DIR set, the server logs each routed request there for the
# compatibility table (scripts/compat.py).
if [[ -n ${CORK_ROUTE_LOG_DIR:-} ]]; then
  export CORK_ROUTE_LOG=$CORK_ROUTE_LOG_DIR/trello.js.log
fi

free_port() {
  "$NODE" -e '
const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}


started=0
for attempt in 1 2 3; do
  PORT=$(free_port)
  log "starting $CORK_BIN serve on 127.0.0.1:$PORT (data dir $DATA_DIR, database: $(redact "${DBURL:-<sqlite in data dir>}"))"
  # A compatibility check, not a rate-limit test (crates/cork/tests/rate_limits.rs is).
  CORK_RATE_LIMITS_OFF=1 CORK_WEBHOOK_ALLOWED_HOSTS=127.0.0.1 "$CORK_BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA_DIR" ${DB_ARGS[@]+"${DB_ARGS[@]}"} \
    >>"$SERVER_LOG" 2>&1 </dev/null {MODULES_LOCK_FD}>&- &
  SERVER_PID=$!
  status=0
  wait_for_server || status=$?
  if [[ $status -eq 0 ]]; then
    started=1
    break
  fi
  if [[ $status -eq 1 ]]; then
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    if grep -qiE 'address (already )?in use' "$SERVER_LOG" && [[ $attempt -lt 3 ]]; then
      log "port $PORT was taken; retrying"
      continue
    fi
    die 13 "cork serve exited before answering on port $PORT"
  fi
  die 13 "cork serve did not answer on port $PORT within ${START_TIMEOUT}s"
done
[[ $started -eq 1 ]] || die 13 "could not start cork serve"
export CORK_BASE_URL=http://127.0.0.1:$PORT
log "server up at $CORK_BASE_URL (pid $SERVER_PID)"

# ------------------------------------------------------------ credentials ---
"$CORK_BIN" user create jsuser --full-name "Js User" --email jsuser@example.com \
  --data-dir "$DATA_DIR" ${DB_ARGS[@]+"${DB_ARGS[@]}"} >&2 \
  || die 14 "cork user create failed"
TOKEN_JSON=$("$CORK_BIN" token create --user jsuser --scope read,write,account \
  --data-dir "$DATA_DIR" ${DB_ARGS[@]+"${DB_ARGS[@]}"}) \
  || die 14 "cork token create failed"
# The CLI prints one JSON object (possibly after other lines): take key/token.
CREDS=$("$NODE" -e '
let text = "";
process.stdin.on("data", (d) => (text += d)).on("end", () => {
  let obj = null;
  try { obj = JSON.parse(text); } catch {
    for (const line of text.split("\n").reverse()) {
      if (!line.trim().startsWith("{")) continue;
      try { obj = JSON.parse(line); break; } catch {}
    }
  }
  if (!obj || !obj.key || !obj.token || !obj.idMember) {
    console.error("token create output lacks key/token/idMember: " + text.slice(0, 500));
    process.exit(1);
  }
  console.log(obj.key); console.log(obj.token); console.log(obj.idMember);
});' <<<"$TOKEN_JSON") || die 14 "could not parse the output of cork token create"
{ read -r TRELLO_API_KEY; read -r TRELLO_TOKEN; read -r JS_MEMBER_ID; } <<<"$CREDS"
export TRELLO_API_KEY TRELLO_TOKEN
record_issued "$TOKEN_JSON"
# The other members and records the sweep needs, made with the command line.
cork_cli() { "$CORK_BIN" "$@" --data-dir "$DATA_DIR" ${DB_ARGS[@]+"${DB_ARGS[@]}"}; }
json_field() { "$NODE" -p "JSON.parse(process.argv[1]).$2" "$1"; }
# member_with_token NAME "FULL NAME" [--admin]: the member's read,write,account token (its JSON line).
member_with_token() {
  local name=$1 full=$2
  shift 2
  cork_cli user create "$name" "$@" --full-name "$full" --email "$name@example.com" >&2 || return 1
  cork_cli token create --user "$name" --scope read,write,account | grep '^{' | tail -1
}
# A second member, whose acts give jsuser notifications (the sweep reads them).
FRIEND_LINE=$(member_with_token jsfriend "Js Friend") || die 14 "could not make jsfriend and its token"
TRELLO_FRIEND_KEY=$(json_field "$FRIEND_LINE" key) || die 14 "no jsfriend key"
TRELLO_FRIEND_TOKEN=$(json_field "$FRIEND_LINE" token) || die 14 "no jsfriend token"
# An administrator of the instance (so of its enterprise), for the enterprise routes.
ADMIN_LINE=$(member_with_token jsadmin "Js Admin" --admin) || die 14 "could not make jsadmin and its token"
TRELLO_ADMIN_KEY=$(json_field "$ADMIN_LINE" key) || die 14 "no jsadmin key"
TRELLO_ADMIN_TOKEN=$(json_field "$ADMIN_LINE" token) || die 14 "no jsadmin token"
# A Power-Up record, which only an administrator makes (for the plugin routes).
PLUGIN_LINE=$(cork_cli plugin create "Swept Power-Up" --user jsadmin --author "Cork tests" --url https://example.com/power-up | grep '^{' | tail -1) \
  || die 14 "cork plugin create failed"
TRELLO_PLUGIN_ID=$(json_field "$PLUGIN_LINE" id) || die 14 "no plugin id"
export TRELLO_FRIEND_KEY TRELLO_FRIEND_TOKEN TRELLO_ADMIN_KEY TRELLO_ADMIN_TOKEN TRELLO_PLUGIN_ID
record_issued "$FRIEND_LINE"
record_issued "$ADMIN_LINE"
log "user jsuser ($JS_MEMBER_ID) has a read,write,account token"

# --------------------------------------------------------------- scenario ---
# Strict: the library's object schemas refuse keys they do not know (its own live tests
# against Trello run this way), so a stray key in an answer fails the run.
export TRELLO_STRICT_SCHEMAS=${TRELLO_STRICT_SCHEMAS:-true}
log "running the trello.js scenario (node scenario.mjs, Node $("$NODE" --version), strict schemas: $TRELLO_STRICT_SCHEMAS)"
cd "$CLIENT_DIR"
set +e
"$NODE" scenario.mjs {MODULES_LOCK_FD}>&-
rc=$?
set -e
log "scenario exited with $rc"
exit "$rc"
