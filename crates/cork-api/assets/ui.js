// Shared pieces of the interface: toasts, the aria-live announcer, confirmation dialogs,
// error reporting, in-app navigation, and the top bar with its review badge.

import { h, fill } from './dom.js';
import { api, ApiError } from './api.js';

// ---------- navigation ----------

let router = null;
export function setRouter(fn) { router = fn; }

/** In-app navigation: pushState and render, without a page load. */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else if (path !== location.pathname + location.search) history.pushState(null, '', path);
  if (router) router();
}

/** An <a> that navigates inside the app (a real href, so middle-click still works). */
export function link(path, attrs, ...children) {
  return h('a', { ...attrs, href: path, on: { click: (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(path);
  } } }, ...children);
}

// ---------- toasts and announcements ----------

function region(id, attrs) {
  let el = document.getElementById(id);
  if (!el) { el = h('div', { id, ...attrs }); document.body.appendChild(el); }
  return el;
}

/** A visible message; kind: info | success | error | review. Errors stay until dismissed. */
export function toast(message, kind = 'info') {
  const box = region('toasts', { class: 'toasts', 'data-testid': 'toasts' });
  const item = h('div', { class: ['toast', `toast-${kind}`], role: kind === 'error' ? 'alert' : 'status', 'data-testid': 'toast', dataset: { kind } },
    h('span', { class: 'toast-text' }, message),
    h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', on: { click: () => item.remove() } }, '×'));
  box.appendChild(item);
  // A few at a time: the oldest information goes first, errors stay longest.
  const items = [...box.children];
  if (items.length > 4) (items.find((t) => t.dataset.kind !== 'error') || items[0]).remove();
  if (kind !== 'error') setTimeout(() => item.remove(), 5000);
  else setTimeout(() => item.remove(), 20000);
  return item;
}

/** Screen readers hear this (drag/keyboard moves). */
export function announce(message) {
  const el = region('announcer', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true', 'data-testid': 'announcer' });
  el.textContent = '';
  // A new text node after a tick so that the same message is announced twice in a row.
  setTimeout(() => { el.textContent = message; }, 30);
}

/**
 * Shows what went wrong. 202: sent for review; 412: someone else changed it (the page
 * reloads it on `cork:stale`); everything else: the server's own message.
 */
export function reportError(err) {
  if (err && err.name === 'AbortError') return;
  if (err instanceof ApiError) {
    if (err.held) {
      const id = err.body && err.body.id ? ` (request ${String(err.body.id).slice(-6)})` : '';
      toast(`Sent for review${id}: an admin must approve it before it applies.`, 'review');
      window.dispatchEvent(new CustomEvent('cork:review-changed'));
      return;
    }
    if (err.stale) { toast('Changed by someone else, reloaded.', 'error'); return; }
    toast(err.message, 'error');
    return;
  }
  console.error(err);
  toast(err && err.message ? err.message : String(err), 'error');
}

/** Runs `fn`, reporting its failure; returns its result or undefined. */
export async function attempt(fn) {
  try { return await fn(); } catch (err) { reportError(err); return undefined; }
}

// ---------- dialogs ----------

/** A modal question with OK/Cancel; resolves true when confirmed. */
export function confirmDialog(message, { ok = 'OK', danger = false, body = null } = {}) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', 'data-testid': 'confirm-dialog', 'aria-label': message },
      h('p', { class: 'confirm-text' }, message),
      body,
      h('div', { class: 'row end' },
        h('button', { type: 'button', class: 'btn', 'data-testid': 'confirm-cancel', on: { click: () => dialog.close('cancel') } }, 'Cancel'),
        h('button', { type: 'button', class: ['btn', danger ? 'btn-danger' : 'btn-primary'], 'data-testid': 'confirm-ok', on: { click: () => dialog.close('ok') } }, ok)));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(dialog.returnValue === 'ok'); });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

/** A panel-sized modal dialog with a title and content; returns {dialog, close}. */
export function modal(title, content, { testid = 'modal', wide = false } = {}) {
  const dialog = h('dialog', { class: ['modal', wide && 'modal-wide'], 'data-testid': testid, 'aria-label': title },
    h('div', { class: 'modal-head' }, h('h2', null, title),
      h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close', on: { click: () => dialog.close() } }, '×')),
    content);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.appendChild(dialog);
  dialog.showModal();
  return { dialog, close: () => dialog.close() };
}

// ---------- top bar ----------

let reviewTimer = null;
// The badge's last count and what was learnt on the way, kept for the tab: asking every
// board on every page load would spend the session's request budget (100 per 10 s).
const memo = (() => {
  try { return JSON.parse(sessionStorage.getItem('cork-review') || '{}'); } catch { return {}; }
})();
let perBoardOnly = Boolean(memo.perBoardOnly); // the server wants idBoard on /cork/changeRequests
const notAdmin = new Set(memo.notAdmin || []); // boards whose change requests answered 401/403
function saveMemo(extra) {
  Object.assign(memo, extra, { perBoardOnly, notAdmin: [...notAdmin] });
  try { sessionStorage.setItem('cork-review', JSON.stringify(memo)); } catch { /* private mode */ }
}

/**
 * Boards the member may review (admin): from the memberships the board list carries, or,
 * where it carries none, by asking the board's change requests (non-admins are refused).
 */
let boardsRead = null; // {at, promise}: one read of the member's boards serves callers for 5 s
export async function administeredBoards() {
  const me = document.querySelector('meta[name="cork-me"]')?.getAttribute('content');
  if (!boardsRead || Date.now() - boardsRead.at > 5000) {
    boardsRead = { at: Date.now(), promise: api.get('/1/members/me/boards', { filter: 'open', fields: 'name,shortLink,url,memberships,prefs' }) };
  }
  const boards = await boardsRead.promise;
  return boards.filter((b) => {
    const ms = b.memberships || [];
    if (ms.length) return ms.some((m) => m.idMember === me && m.memberType === 'admin');
    return !notAdmin.has(b.id);
  });
}

/**
 * Pending change requests the member can decide. `GET /cork/changeRequests` without a board
 * is tried first; a server that wants `idBoard` is asked board by board.
 */
export async function pendingChangeRequests() {
  if (!perBoardOnly) {
    try {
      const all = await api.get('/cork/changeRequests', { state: 'pending' });
      if (Array.isArray(all)) return all;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 400) throw err;
      perBoardOnly = true;
      saveMemo({});
    }
  }
  const boards = await administeredBoards();
  const out = [];
  // Three at a time: a member on many boards should not spend the request budget at once.
  const queue = [...boards];
  const worker = async () => {
    for (let b = queue.shift(); b; b = queue.shift()) {
      try {
        out.push(...await api.get('/cork/changeRequests', { idBoard: b.id, state: 'pending' }));
      } catch (err) {
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) notAdmin.add(b.id);
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  saveMemo({});
  return out;
}

function showCount(n) {
  const badge = document.querySelector('[data-testid="review-count"]');
  if (!badge) return;
  badge.textContent = String(n);
  badge.hidden = n === 0;
  badge.parentElement.setAttribute('aria-label', `Review, ${n} pending`);
}

/** Refreshes the review badge; without `force`, at most every 10 s (a cached count meanwhile). */
async function refreshReviewCount(force = false) {
  if (typeof memo.count === 'number') showCount(memo.count);
  if (!force && Date.now() - (memo.at || 0) < 10000) return;
  saveMemo({ at: Date.now() });
  try {
    const pending = await pendingChangeRequests();
    saveMemo({ count: pending.length, at: Date.now() });
    showCount(pending.length);
  } catch { /* the badge is a hint; the review page shows errors */ }
}

export function topbar(me) {
  const q = new URLSearchParams(location.search).get('q') || '';
  const input = h('input', { type: 'search', name: 'q', value: location.pathname === '/search' ? q : '', placeholder: 'Search cards and boards', 'aria-label': 'Search', 'data-testid': 'search-input' });
  const menu = h('details', { class: 'member-menu', 'data-testid': 'member-menu' },
    h('summary', { 'aria-label': 'Account menu' }, h('span', { class: 'avatar' }, me ? (me.initials || (me.username || '?')[0]) : '?')),
    h('div', { class: 'menu-pop' },
      h('div', { class: 'menu-who' }, me ? `${me.fullName || me.username} (@${me.username})` : ''),
      h('a', { href: '/account' }, 'Account and log out'),
      h('a', { href: '/account/tokens' }, 'Tokens'),
      h('a', { href: '/app-key' }, 'API keys')));
  const bar = h('header', { class: 'topbar', 'data-testid': 'topbar' },
    link('/', { class: 'brand', 'data-testid': 'home-link' }, 'Cork'),
    h('form', { class: 'search-form', role: 'search', on: { submit: (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (text) navigate(`/search?q=${encodeURIComponent(text)}`);
    } } }, input),
    link('/review', { class: 'review-link', 'data-testid': 'review-link' }, 'Review ',
      h('span', { class: 'badge', 'data-testid': 'review-count', hidden: true }, '0')),
    menu);
  document.addEventListener('click', (e) => { if (!menu.contains(e.target)) menu.open = false; });
  clearInterval(reviewTimer);
  reviewTimer = setInterval(() => refreshReviewCount(), 30000);
  window.addEventListener('cork:review-changed', () => refreshReviewCount());
  setTimeout(() => refreshReviewCount(), 0);
  return bar;
}

/** Sets the search box's text (the search page keeps it in step with its query). */
export function setSearchText(text) {
  const input = document.querySelector('[data-testid="search-input"]');
  if (input) input.value = text;
}

export { refreshReviewCount, fill };
