// The web board's speed in Chromium on a board of 1,000 cards with labels and
// checklists: time to first render, to interactive, and a drag's time to settle,
// beside this machine's floor measured in the same run (the same 1,000 cards as static
// HTML: what any page costs Chromium here). Run by scripts/bench-web, which sets
// CORK_BIN (a release build), CORK_CHROMIUM and CORK_BENCH_OUT; writes its section of
// docs/benchmarks.md between the web-bench markers. Nothing here asserts a figure.

import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.CORK_BIN;
const OUT = process.env.CORK_BENCH_OUT;
const RUNS = Number(process.env.CORK_BENCH_RUNS || 7);
const WORK = mkdtempSync(join(tmpdir(), 'cork-web-bench-'));
const DATA = join(WORK, 'data');
const PASSWORD = 'correct horse battery';
const LISTS = 5;
const CARDS = 1000;

const port = await new Promise((resolve) => {
  const server = createServer();
  server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});
const base = `http://127.0.0.1:${port}`;
const cork = (...args) => execFileSync(BIN, [...args, '--data-dir', DATA], { env: { ...process.env, CORK_PASSWORD: PASSWORD }, encoding: 'utf8' });
cork('user', 'create', 'alice', '--full-name', 'Alice Example', '--password-env');
const creds = JSON.parse(cork('token', 'create', '--user', 'alice').trim().split('\n').filter((l) => l.startsWith('{')).pop());
const log = openSync(join(WORK, 'server.log'), 'a');
const server = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', DATA, '--public-url', base], {
  stdio: ['ignore', log, log], env: { ...process.env, CORK_RATE_LIMITS_OFF: '1' },
});
for (let i = 0; i < 300; i++) {
  try { if ((await fetch(`${base}/login`)).ok) break; } catch { /* starting */ }
  await new Promise((r) => setTimeout(r, 100));
}

async function api(method, path, body) {
  const url = new URL(base + path);
  url.searchParams.set('key', creds.key);
  url.searchParams.set('token', creds.token);
  const response = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

// The board: 5 lists of 200 cards, each card with one or two of six labels and a
// checklist of three items (one checked), every tenth with a due date and a comment.
console.error('building a board of 1,000 cards…');
const built = Date.now();
const board = await api('POST', '/1/boards', { name: 'Thousand cards', defaultLists: false, prefs_background: 'blue' });
const labels = [];
for (const [name, color] of [['Design', 'green'], ['Backend', 'blue'], ['Bug', 'red'], ['Docs', 'yellow'], ['Ops', 'purple'], ['Later', 'sky']]) {
  labels.push((await api('POST', `/1/boards/${board.id}/labels`, { name, color })).id);
}
const lists = [];
for (let l = 0; l < LISTS; l++) lists.push((await api('POST', '/1/lists', { idBoard: board.id, name: `Stage ${l + 1}`, pos: 'bottom' })).id);
const jobs = [...Array(CARDS).keys()];
async function worker() {
  for (let n = jobs.shift(); n !== undefined; n = jobs.shift()) {
    const idLabels = [labels[n % 6], ...(n % 3 === 0 ? [labels[(n + 1) % 6]] : [])].join(',');
    const card = await api('POST', '/1/cards', {
      idList: lists[n % LISTS], name: `Card ${n}: ${['plan', 'build', 'review', 'ship'][n % 4]} the ${['login page', 'export', 'search box', 'report'][n % 4]}`,
      idLabels, pos: 'bottom', ...(n % 10 === 0 ? { due: new Date(Date.now() + (n - 500) * 3600e3).toISOString() } : {}),
    });
    const checklist = await api('POST', `/1/cards/${card.id}/checklists`, { name: 'Steps' });
    for (const [i, item] of ['Write', 'Test', 'Ship'].entries()) {
      await api('POST', `/1/checklists/${checklist.id}/checkItems`, { name: item, checked: i === 0 });
    }
    if (n % 10 === 0) await api('POST', `/1/cards/${card.id}/actions/comments`, { text: 'Looks good' });
  }
}
await Promise.all([worker(), worker(), worker(), worker()]);
console.error(`built in ${((Date.now() - built) / 1000).toFixed(1)} s`);

const browser = await chromium.launch({ executablePath: process.env.CORK_CHROMIUM, args: ['--no-sandbox'] });
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await context.newPage();
await page.goto(`${base}/login?return_to=/`);
await page.fill('#username', 'alice');
await page.fill('#password', PASSWORD);
await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);

// Marks, relative to navigation start: the first card in the DOM, all of them, the
// first paint after that, and the first idle moment of the main thread after it.
await context.addInitScript((cards) => {
  window.__bench = {};
  const seen = () => document.querySelectorAll('[data-testid=card]').length;
  const observer = new MutationObserver(() => {
    const count = seen();
    if (count > 0 && !window.__bench.first) window.__bench.first = performance.now();
    if (count >= cards && !window.__bench.all) {
      window.__bench.all = performance.now();
      observer.disconnect();
      requestAnimationFrame(() => setTimeout(() => { window.__bench.painted = performance.now(); }, 0));
      requestIdleCallback(() => { window.__bench.idle = performance.now(); });
    }
  });
  document.addEventListener('DOMContentLoaded', () => observer.observe(document.body, { childList: true, subtree: true }));
}, CARDS);

const median = (values) => { const s = [...values].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const boardUrl = `${base}/b/${board.shortLink}/thousand-cards`;
const samples = { first: [], all: [], painted: [], idle: [], heap: [], settleShown: [], settleServer: [] };
for (let run = 0; run < RUNS; run++) {
  await page.goto(boardUrl);
  await page.waitForFunction(() => window.__bench.idle, null, { timeout: 60000, polling: 50 });
  const marks = await page.evaluate(() => ({ ...window.__bench, heap: performance.memory ? performance.memory.usedJSHeapSize : 0 }));
  for (const key of ['first', 'all', 'painted', 'idle', 'heap']) samples[key].push(marks[key]);
  // A drag from the first list to the top of the second: shown (the card is in its new
  // list in the DOM) and settled (the server's answer is back and applied).
  const card = page.locator(`[data-list-id="${lists[0]}"] [data-testid=card]`).first();
  const id = await card.getAttribute('data-card-id');
  const target = page.locator(`[data-list-id="${lists[1]}"] [data-testid=card]`).first();
  const answered = page.waitForResponse((r) => r.url().includes(`/1/cards/${id}`) && r.request().method() === 'PUT');
  const started = await page.evaluate(() => performance.now());
  await page.evaluate((id) => { window.__moved = null; const seen = () => document.querySelector(`[data-list-id] [data-card-id="${id}"]`)?.closest('[data-list-id]')?.dataset.listId; window.__from = seen(); const tick = () => { if (seen() !== window.__from) window.__moved = performance.now(); else requestAnimationFrame(tick); }; requestAnimationFrame(tick); }, id);
  await card.dragTo(target);
  await answered;
  const settled = await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now()))));
  const shown = await page.evaluate(() => window.__moved);
  samples.settleShown.push((shown || settled) - started);
  samples.settleServer.push(settled - started);
}

// The floor: the same number of card-sized elements as static HTML, no script.
const staticHtml = `<!doctype html><meta charset=utf-8><style>.l{display:inline-block;vertical-align:top;width:272px;margin:4px;background:#f1f2f4}.c{background:#fff;margin:6px;padding:6px;border-radius:8px;box-shadow:0 1px 1px #0003}</style>${[...Array(LISTS).keys()].map((l) => `<div class=l>${[...Array(CARDS / LISTS).keys()].map((n) => `<div class=c data-testid=card><span style="background:#4bce97;display:inline-block;width:40px;height:8px"></span><div>Card ${n * LISTS + l} plan the login page</div><small>1/3 · 1</small></div>`).join('')}</div>`).join('')}`;
writeFileSync(join(WORK, 'static.html'), staticHtml);
const floor = [];
for (let run = 0; run < RUNS; run++) {
  const fresh = await browser.newPage();
  await fresh.goto(`file://${join(WORK, 'static.html')}`);
  floor.push(await fresh.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0)))));
  await fresh.close();
}

const version = execFileSync(process.env.CORK_CHROMIUM, ['--version'], { encoding: 'utf8' }).trim();
await browser.close();

// The report route on a long history: card moves through the API until the board's
// log holds CORK_BENCH_ACTIONS actions (100,000 by default), then the report, timed.
const wanted = Number(process.env.CORK_BENCH_ACTIONS || 100000);
const cardIds = (await api('GET', `/1/boards/${board.id}/cards?fields=id`)).map((c) => c.id);
const logged = async () => (await api('GET', `/1/boards/${board.id}/actions?limit=1000&fields=id`)).length;
let moves = Math.max(0, wanted - 5 * CARDS - (CARDS / 10) - 20);
console.error(`moving cards ${moves} times for a log of about ${wanted} actions…`);
const movedAt = Date.now();
const moveJobs = [...Array(moves).keys()];
async function mover() {
  for (let n = moveJobs.shift(); n !== undefined; n = moveJobs.shift()) {
    await api('PUT', `/1/cards/${cardIds[(n * 7919) % cardIds.length]}`, { idList: lists[(n + 1) % LISTS], pos: 'bottom' });
  }
}
await Promise.all([...Array(8)].map(mover));
const moveSeconds = (Date.now() - movedAt) / 1000;
await logged();
const reportTimes = [];
let reportRead = 0;
for (let run = 0; run < RUNS; run++) {
  const t = performance.now();
  const report = await api('GET', `/cork/boards/${board.id}/report?from=${new Date(Date.now() - 30 * 86400e3).toISOString().slice(0, 10)}`);
  reportTimes.push(performance.now() - t);
  reportRead = report.actionsRead;
}
server.kill('SIGTERM');
const ms = (v) => `${Math.round(v)} ms`;
const commit = (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return '?'; } })();
const report = `## The web board in Chromium (issue 11)

Run of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC at git ${commit}, \`scripts/bench-web\`: a release build on SQLite, ${version}
headless, ${cpus().length} cores, viewport 1440×900. The board: ${CARDS} open cards in ${LISTS} lists, each card with one or two
of six labels and a three-item checklist, every tenth with a due date and a comment. Medians of ${RUNS} loads
(times from navigation start; the page, its modules and \`GET /1/boards/{id}\` with every card all included).

| measure | median | all runs |
|---|---|---|
| first card in the page | ${ms(median(samples.first))} | ${samples.first.map(Math.round).join(', ')} |
| all ${CARDS} cards in the page | ${ms(median(samples.all))} | ${samples.all.map(Math.round).join(', ')} |
| **first render** (the paint after all cards) | **${ms(median(samples.painted))}** | ${samples.painted.map(Math.round).join(', ')} |
| **interactive** (first idle moment after it) | **${ms(median(samples.idle))}** | ${samples.idle.map(Math.round).join(', ')} |
| the machine's floor: the same ${CARDS} cards as static HTML, painted | ${ms(median(floor))} | ${floor.map(Math.round).join(', ')} |
| a drag, shown in its new list | ${ms(median(samples.settleShown))} | ${samples.settleShown.map(Math.round).join(', ')} |
| **a drag, settled** (the server's answer applied) | **${ms(median(samples.settleServer))}** | ${samples.settleServer.map(Math.round).join(', ')} |
| JS heap after render | ${(median(samples.heap) / 1048576).toFixed(1)} MB | |
| \`GET /cork/boards/{id}/report\` (30 days) after ${moves} more moves: ${reportRead} card-placing actions replayed | ${ms(median(reportTimes))} | ${reportTimes.map(Math.round).join(', ')} |

The moves ran at ${Math.round(moves / moveSeconds)} writes/s (8 clients); the report reads and replays the board's
whole card-placing history once per request (no cache).

Goal: first render under 500 ms on this 2-core machine. The drag is measured from the start of
Playwright's pointer sequence, so it includes the synthetic mouse moves.
`;
console.log(report);
if (OUT) {
  const current = readFileSync(OUT, 'utf8');
  const [begin, end] = ['<!-- web-bench:begin -->', '<!-- web-bench:end -->'];
  const block = `${begin}\n${report}${end}`;
  const at = current.indexOf(begin);
  const next = at >= 0 ? current.slice(0, at) + block + current.slice(current.indexOf(end) + end.length) : current.replace('\n<!-- cork-bench:begin -->', `\n${block}\n\n<!-- cork-bench:begin -->`);
  writeFileSync(OUT, next);
}
rmSync(WORK, { recursive: true, force: true });
