// Entry module: the top bar and a router over location.pathname. Each page module mounts
// into <main> and returns {unmount, update?}; update(route) lets the board page take a
// card URL of its own board without rebuilding (the card dialog opens over it).

import { h, fill } from './dom.js';
import { api, session } from './api.js';
import { parseRoute } from './logic.js';
import { topbar, setRouter, reportError } from './ui.js';
import { mountHome } from './home.js';
import { mountBoard } from './board.js';
import { mountSearch } from './search.js';
import { mountReview } from './review.js';
import { mountReport } from './report.js';
import { mountImport } from './import.js';

const PAGES = {
  home: mountHome,
  board: mountBoard,
  card: mountBoard,
  search: mountSearch,
  review: mountReview,
  report: mountReport,
  import: mountImport,
  notFound: (main) => {
    fill(main, h('div', { class: 'page-narrow', 'data-testid': 'not-found' }, h('h1', null, 'Not found'), h('p', null, 'There is nothing at this address.')));
    return {};
  },
};

const ctx = { me: null };
let current = null; // {page, handle}
let main = null;

/**
 * The signed-in member's names, for the top bar. Read through the nested field routes:
 * Trello limits the top-level /1/members/{id} to 100 requests per 15 minutes, which page
 * loads alone could use up.
 */
async function loadMe() {
  const field = (name) => api.get(`/1/members/me/${name}`).then((v) => (v && typeof v === 'object' ? v._value : v));
  const [username, fullName, initials] = await Promise.all([field('username'), field('fullName'), field('initials')]);
  return { id: session.me, username, fullName, initials };
}

let seq = 0;

async function route() {
  const r = parseRoute(location.pathname, location.search);
  // The board page keeps itself when only the card part changes, or the board re-shows.
  if (current && current.handle.update && current.handle.update(r)) { current.page = r.page; return; }
  if (current && current.handle.unmount) current.handle.unmount();
  current = null;
  const mine = ++seq;
  // Each page gets a container of its own: a page still loading when the member moves on
  // writes into a detached node, never over the next page.
  const container = h('div', { class: `page-body page-${r.page}` });
  document.body.dataset.page = r.page;
  fill(main, container);
  let handle = {};
  try {
    handle = (await PAGES[r.page](container, r, ctx)) || {};
  } catch (err) {
    reportError(err);
    fill(container, h('div', { class: 'page-narrow', 'data-testid': 'page-error' }, h('h1', null, 'This page could not be shown'), h('p', null, err.message || String(err))));
  }
  if (mine !== seq) { if (handle.unmount) handle.unmount(); return; }
  current = { page: r.page, handle };
}

async function start() {
  const app = document.getElementById('app');
  main = h('main', { id: 'page', class: 'page' });
  try {
    ctx.me = await loadMe();
  } catch (err) {
    reportError(err);
  }
  fill(app, topbar(ctx.me), main);
  setRouter(route);
  window.addEventListener('popstate', route);
  route();
}

start();
