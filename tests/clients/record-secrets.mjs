// The run's check that no log holds a secret (scripts/test with CORK_CHECK_LOG_SECRETS=1,
// checked by scripts/check-log-secrets), for the Node drivers (the trello.js scenario,
// the browser tests): recordSecret notes a secret in CORK_SECRETS_RECORD as
// KIND<TAB>VALUE, and recordFetchSecrets wraps the global fetch so that every token,
// app secret and cookie an answer hands out is noted. Without the variable both do nothing.
import { appendFileSync } from 'node:fs';

const RECORD = process.env.CORK_SECRETS_RECORD;
const seen = new Set();

export function recordSecret(kind, value) {
  if (!RECORD || typeof value !== 'string' || !value || value.includes('\n') || seen.has(value)) return;
  seen.add(value);
  appendFileSync(RECORD, `${kind}\t${value}\n`);
}

const FIELDS = { token: 'token', secret: 'app-secret', oauth_token_secret: 'oauth-token-secret' };

function walk(value) {
  if (Array.isArray(value)) {
    value.forEach(walk);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (FIELDS[key] && typeof item === 'string') recordSecret(FIELDS[key], item);
      else walk(item);
    }
  }
}

export function recordFetchSecrets() {
  if (!RECORD || globalThis.fetch.recordsSecrets) return;
  const original = globalThis.fetch;
  const recording = async (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    recordSecret('token', url.searchParams.get('token') ?? '');
    const response = await original(input, init);
    for (const cookie of response.headers.getSetCookie?.() ?? []) {
      const [name, ...rest] = cookie.split(';')[0].split('=');
      recordSecret(`cookie ${name.trim()}`, rest.join('=').trim());
    }
    if ((response.headers.get('content-type') ?? '').includes('json')) {
      try { walk(await response.clone().json()); } catch { /* not JSON after all */ }
    }
    return response;
  };
  recording.recordsSecrets = true;
  globalThis.fetch = recording;
}
