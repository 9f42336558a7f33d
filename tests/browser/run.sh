#!/usr/bin/env bash
# The web board's end-to-end tests in Debian's Chromium (tests/browser/e2e.mjs), driven
# by playwright-core, against two `cork serve` nodes on one fresh PostgreSQL database
# (so a second browser on the second node must see the first one's changes live).
#
# Usage: tests/browser/run.sh POSTGRES_URL [screenshots-dir]
#
#   POSTGRES_URL   an existing, empty database for this run (postgres://...)
#   screenshots    where the pages' screenshots go (default: the run's temp dir);
#                  scripts/screenshots passes docs/screenshots
#
# Environment: CORK_BIN (default $CARGO_TARGET_DIR/debug/cork), CORK_CHROMIUM
# (default /usr/bin/chromium), CORK_NODE, CORK_NPM, CORK_KEEP_WORKDIR=1.
# Prints "browser tests: N passed, M failed"; exits non-zero if any failed.
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 POSTGRES_URL [screenshots-dir]" >&2; exit 64; }
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
NODE=${CORK_NODE:-node}
NPM=${CORK_NPM:-npm}
export CORK_BIN=${CORK_BIN:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/cork}
export CORK_CHROMIUM=${CORK_CHROMIUM:-/usr/bin/chromium}
export CORK_BROWSER_DB=$1
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

log() { printf 'browser tests: %s\n' "$*" >&2; }
[[ -x $CORK_BIN ]] || { log "cork binary not found at $CORK_BIN"; exit 10; }
[[ -x $CORK_CHROMIUM ]] || { log "chromium not found at $CORK_CHROMIUM (apt-get install chromium)"; exit 11; }

# playwright-core from the committed lock file, reinstalled when the lock changes.
STAMP=$SCRIPT_DIR/node_modules/.cork-installed-lock
LOCK_SUM=$(sha256sum "$SCRIPT_DIR/package-lock.json" | cut -d' ' -f1)
exec {LOCK_FD}>"$HOME/.cache/cork-browser-npm.lock"
flock -x "$LOCK_FD"
if [[ ! -f $STAMP || $(cat "$STAMP") != "$LOCK_SUM" ]]; then
  log "npm ci (playwright-core from package-lock.json)"
  (cd "$SCRIPT_DIR" && "$NPM" ci --no-audit --no-fund --loglevel=error)
  echo "$LOCK_SUM" >"$STAMP"
fi
flock -u "$LOCK_FD"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cork-browser.XXXXXX")
export CORK_BROWSER_WORK=$WORK
export CORK_SCREENSHOTS=${2:-$WORK/screenshots}
mkdir -p "$CORK_SCREENSHOTS"
cleanup() {
  local rc=$?
  if [[ ${CORK_KEEP_WORKDIR:-0} == 1 || $rc -ne 0 ]]; then
    log "work dir kept: $WORK (server logs: ${CORK_TEST_LOG_DIR:-$WORK}/*node-*.log)"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
cd "$SCRIPT_DIR"
"$NODE" e2e.mjs
