# shellcheck shell=bash
# The run's proof that no log holds a secret (scripts/test with CORK_CHECK_LOG_SECRETS=1,
# checked by scripts/check-log-secrets): the runners note every secret they issue or set
# in CORK_SECRETS_RECORD, and their servers log into CORK_TEST_LOG_DIR. Both unset: the
# runners keep their logs in their own work dirs and record nothing.

# record_secret KIND VALUE: one "KIND<TAB>VALUE" line (a single append).
record_secret() {
  [[ -n ${CORK_SECRETS_RECORD:-} && -n ${2:-} ]] || return 0
  printf '%s\t%s\n' "$1" "$2" >>"$CORK_SECRETS_RECORD"
}

# record_issued JSON: the token and app secret `cork token create` or `cork key create` printed.
record_issued() {
  [[ -n ${CORK_SECRETS_RECORD:-} ]] || return 0
  local token secret
  token=$(sed -nE 's/.*"token":"([^"]+)".*/\1/p' <<<"$1" | tail -n 1)
  secret=$(sed -nE 's/.*"secret":"([^"]+)".*/\1/p' <<<"$1" | tail -n 1)
  record_secret token "$token"
  record_secret app-secret "$secret"
}

# server_log_path WORK NAME: where a server this runner starts logs (stdout and stderr).
server_log_path() {
  if [[ -n ${CORK_TEST_LOG_DIR:-} ]]; then
    mkdir -p "$CORK_TEST_LOG_DIR"
    printf '%s/%s-%s.log\n' "$CORK_TEST_LOG_DIR" "$2" "$$"
  else
    printf '%s/%s.log\n' "$1" "$2"
  fi
}
