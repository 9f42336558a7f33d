// Talking to Cork: the public Trello API (/1/...) and Cork's extensions (/cork/...), with
// the session cookie and the CSRF header the server checks on every write. Errors come
// back as Trello sends them (plain text or {"message"}); they are thrown as ApiError so
// that callers roll back and the UI shows them.

function meta(name) {
  const el = document.querySelector(`meta[name="${name}"]`);
  return el ? el.getAttribute('content') || '' : '';
}

export const session = {
  get csrf() { return meta('cork-csrf'); },
  get me() { return meta('cork-me'); },
};

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message || `request failed (${status})`);
    this.status = status;
    this.body = body;
  }
  /** 202: the write was held for review, nothing changed (yet). */
  get held() { return this.status === 202; }
  /** 412: the object changed since we read it. */
  get stale() { return this.status === 412; }
}

function withQuery(path, query) {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) q.set(k, String(v));
  const text = q.toString();
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path;
}

function parseBody(text, contentType) {
  if (!text) return null;
  if ((contentType || '').includes('json')) {
    try { return JSON.parse(text); } catch { return text; }
  }
  return text;
}

function errorMessage(status, body) {
  if (body && typeof body === 'object') return body.message || body.error || JSON.stringify(body);
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 500);
  return `request failed (${status})`;
}

/** Turns a finished response into a value or an ApiError. */
function settle(status, text, contentType, headers) {
  const body = parseBody(text, contentType);
  if (status === 202) throw new ApiError(202, 'Sent for review: an admin must approve this change', body);
  if (status === 412) {
    // Anyone showing the object should reload it.
    window.dispatchEvent(new CustomEvent('cork:stale'));
    throw new ApiError(412, 'Changed by someone else, reloaded', body);
  }
  if (status < 200 || status >= 300) throw new ApiError(status, errorMessage(status, body), body);
  if (headers && body && typeof body === 'object' && !Array.isArray(body)) {
    const etag = headers.get('etag');
    if (etag) Object.defineProperty(body, '__etag', { value: etag, enumerable: false });
  }
  return body;
}

/**
 * One request. `body` is sent as JSON; `headers` add to the defaults; `ifMatch` sends
 * If-Match (an ETag or a version number) so a stale write answers 412.
 */
export async function request(method, path, { query, body, headers = {}, ifMatch, signal, retry } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD') h['X-Cork-CSRF'] = session.csrf;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (ifMatch !== undefined && ifMatch !== null) h['If-Match'] = typeof ifMatch === 'number' ? `"${ifMatch}"` : ifMatch;
  let response;
  try {
    response = await fetch(withQuery(path, query), {
      method, headers: h, credentials: 'same-origin', signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The server cannot be reached');
  }
  if (response.redirected && /\/login/.test(response.url)) {
    // The session ended: go and sign in again, then come back here.
    location.assign(`/login?return_to=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, 'Signed out');
  }
  if (response.status === 429 && method === 'GET' && (retry ?? 2) > 0) {
    // Over the rate limit: reads wait for the window to pass and try again.
    const wait = Math.min(10, Number(response.headers.get('retry-after')) || 2) * 1000;
    await new Promise((resolve) => setTimeout(resolve, wait));
    return request(method, path, { query, body, headers, ifMatch, signal, retry: (retry ?? 2) - 1 });
  }
  const text = await response.text();
  return settle(response.status, text, response.headers.get('content-type'), response.headers);
}

export const api = {
  get: (path, query, opts = {}) => request('GET', path, { ...opts, query }),
  post: (path, body, opts = {}) => request('POST', path, { ...opts, body }),
  put: (path, body, opts = {}) => request('PUT', path, { ...opts, body }),
  del: (path, opts = {}) => request('DELETE', path, opts),
};

/** A multipart upload with progress (fetch cannot report upload progress). */
export function upload(path, formData, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('X-Cork-CSRF', session.csrf);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      try { resolve(settle(xhr.status, xhr.responseText, xhr.getResponseHeader('content-type'))); } catch (err) { reject(err); }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'The upload failed: the server cannot be reached')));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'The upload was cancelled')));
    xhr.send(formData);
  });
}

/** Same-origin path for an attachment or download URL, so the session cookie goes with it. */
export function localUrl(url) {
  try {
    const u = new URL(url, location.origin);
    // Cork's own download and picture routes, whatever public URL the server was told it has.
    if (/^\/1\/cards\/[^/]+\/attachments\/[^/]+\/download\//.test(u.pathname) || u.pathname.startsWith('/cork/pictures/')) return u.pathname;
    return u.href;
  } catch {
    return url;
  }
}
