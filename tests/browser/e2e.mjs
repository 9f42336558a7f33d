// The web board, used the way a person uses it, in Debian's Chromium (playwright-core):
// two Cork nodes on one PostgreSQL database, one browser, a context per person.
// Run by run.sh, which sets CORK_BIN, CORK_CHROMIUM, CORK_BROWSER_DB, CORK_BROWSER_WORK
// and CORK_SCREENSHOTS. Prints "browser tests: N passed, M failed".

import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, openSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { recordFetchSecrets, recordSecret } from '../clients/record-secrets.mjs';

const BIN = process.env.CORK_BIN;
const DB = process.env.CORK_BROWSER_DB;
const WORK = process.env.CORK_BROWSER_WORK;
const SHOTS = process.env.CORK_SCREENSHOTS;
const DATA = join(WORK, 'data');
const PASSWORD = 'correct horse battery';
mkdirSync(DATA, { recursive: true });
// The servers log where the run keeps its logs (scripts/test checks them for secrets).
const LOGS = process.env.CORK_TEST_LOG_DIR || WORK;
const logName = (name) => (process.env.CORK_TEST_LOG_DIR ? `browser-node-${name}-${process.pid}.log` : `node-${name}.log`);
recordSecret('password', PASSWORD);
recordFetchSecrets();

// ------------------------------------------------------------------ servers ---
function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
  });
}

const children = [];
async function startNode(name) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = openSync(join(LOGS, logName(name)), 'a');
  const child = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', DATA, '--database', DB, '--public-url', base], {
    stdio: ['ignore', log, log],
    // The board re-reads after every event; a test is not a rate-limit test.
    env: { ...process.env, CORK_RATE_LIMITS_OFF: '1' },
  });
  children.push(child);
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`${base}/login`)).ok) return base; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`node ${name} did not start (see ${join(LOGS, logName(name))})`);
}

function cork(...args) {
  return execFileSync(BIN, [...args, '--data-dir', DATA, '--database', DB], { env: { ...process.env, CORK_PASSWORD: PASSWORD }, encoding: 'utf8' });
}

function tokenFor(user, ...extra) {
  const out = cork('token', 'create', '--user', user, ...extra);
  const issued = JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).pop());
  recordSecret('token', issued.token);
  recordSecret('app-secret', issued.secret);
  return issued;
}

// The API as a script would call it (checks of what the pages did).
function apiClient(base, creds) {
  const call = async (method, path, body) => {
    const url = new URL(base + path);
    url.searchParams.set('key', creds.key);
    url.searchParams.set('token', creds.token);
    const response = await fetch(url, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    const text = await response.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* text answer */ }
    return { status: response.status, json, text, headers: response.headers };
  };
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    put: (path, body) => call('PUT', path, body),
    del: (path) => call('DELETE', path),
  };
}

// --------------------------------------------------------------------- runner ---
const results = [];
async function test(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${error.stack || error}`);
    // What the page showed when it failed, for the person reading the log.
    const at = join(WORK, `failed-${results.length}.png`);
    await page?.screenshot({ path: at }).then(() => console.log(`     screenshot: ${at}`), () => {});
  }
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

async function login(page, base, user) {
  await page.goto(`${base}/login?return_to=/`);
  await page.fill('#username', user);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);
  await page.getByTestId('home').waitFor();
  // The session cookie and the page's CSRF token are secrets the logs must not show.
  for (const cookie of await page.context().cookies()) recordSecret(`cookie ${cookie.name}`, cookie.value);
  recordSecret('csrf', (await page.locator('meta[name=cork-csrf]').getAttribute('content')) ?? '');
}

// Every browser error and failed script is a test failure: collected per page.
function watch(page, label) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`${label}: page error: ${error.message}`));
  page.on('console', (message) => { if (message.type() === 'error' && !/status of (4|5)\d\d|Failed to load resource/.test(message.text())) problems.push(`${label}: console: ${message.text()}`); });
  page.on('dialog', (dialog) => { problems.push(`${label}: unexpected dialog: ${dialog.message()}`); dialog.dismiss().catch(() => {}); });
  return problems;
}

const card = (page, name) => page.locator('[data-testid=card]', { hasText: name });
const list = (page, name) => page.locator('[data-testid=list]', { has: page.locator('.list-head', { hasText: name }) });

// ---------------------------------------------------------------------- tests ---
const [nodeA, nodeB] = [await startNode('a'), await startNode('b')];
for (const user of ['alice', 'bob', 'sync']) cork('user', 'create', user, '--full-name', `${user[0].toUpperCase()}${user.slice(1)} Example`, '--email', `${user}@example.com`, '--password-env');
const alice = apiClient(nodeA, tokenFor('alice'));
const browser = await chromium.launch({ executablePath: process.env.CORK_CHROMIUM, args: ['--no-sandbox'] });
const aliceContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
var page = await aliceContext.newPage();
page.setDefaultTimeout(8000);
const problems = watch(page, 'alice');
const state = {};

await test('a visitor is sent to log in and back', async () => {
  await page.goto(`${nodeA}/b/AbCdEfGh/some-board`);
  assert.match(page.url(), /\/login\?return_to=%2Fb%2FAbCdEfGh%2Fsome-board$/);
});

await test('sign in', async () => {
  await login(page, nodeA, 'alice');
  const csp = (await (await fetch(`${nodeA}/login`)).headers.get('content-security-policy')) || '';
  assert.ok(!csp.includes("'unsafe-inline'") || !/script-src[^;]*unsafe-inline/.test(csp), csp);
});

await test('create a workspace, a board, lists and cards', async () => {
  await page.getByTestId('create-workspace-name').fill('Launch team');
  await page.getByTestId('create-workspace-submit').click();
  await page.getByTestId('create-board-workspace').locator('option', { hasText: 'Launch team' }).waitFor({ state: 'attached' });
  await page.getByTestId('create-board-name').fill('Product launch');
  await page.getByTestId('create-board-workspace').selectOption({ label: 'Launch team' });
  await page.getByTestId('create-board-background').selectOption('green');
  await page.getByTestId('create-board-submit').click();
  await page.getByTestId('board').waitFor();
  state.boardUrl = page.url();
  assert.match(state.boardUrl, /\/b\/[A-Za-z0-9]{8}\/product-launch$/);
  for (const name of ['To do', 'Doing', 'Done']) {
    // The composer stays open for the next list, as on Trello.
    if (!(await page.getByTestId('add-list-input').isVisible())) await page.getByTestId('add-list').click();
    await page.getByTestId('add-list-input').fill(name);
    await page.getByTestId('add-list-input').press('Enter');
    await list(page, name).waitFor();
  }
  const todo = list(page, 'To do');
  await todo.getByTestId('add-card').click();
  for (const name of ['Write the brief', 'Call the supplier', 'Book the venue']) {
    await todo.getByTestId('add-card-input').fill(name);
    await todo.getByTestId('add-card-input').press('Enter');
    await card(page, name).waitFor();
  }
  await page.keyboard.press('Escape');
  const shortLink = state.boardUrl.split('/b/')[1].split('/')[0];
  const board = (await alice.get(`/1/boards/${shortLink}?lists=open&cards=open`)).json;
  state.board = board;
  assert.deepEqual(board.lists.map((l) => l.name), ['To do', 'Doing', 'Done']);
  assert.equal(board.cards.length, 3);
  const orgs = (await alice.get('/1/members/me/organizations')).json;
  assert.equal(board.idOrganization, orgs.find((o) => o.displayName === 'Launch team').id);
  state.lists = Object.fromEntries(board.lists.map((l) => [l.name, l.id]));
  state.cards = Object.fromEntries(board.cards.map((c) => [c.name, c.id]));
});

// A second person, on the second node, watching the same board.
const bobContext = await browser.newContext({ viewport: { width: 1000, height: 700 } });
const bobPage = await bobContext.newPage();
bobPage.setDefaultTimeout(8000);
const bobProblems = watch(bobPage, 'bob');

await test('a second browser on the second node, and a second window on the first, see a drag within 1 s', async () => {
  await alice.put(`/1/boards/${state.board.id}/members/${(await alice.get('/1/members/bob')).json.id}`, { type: 'normal' });
  await login(bobPage, nodeB, 'bob');
  await bobPage.goto(state.boardUrl.replace(nodeA, nodeB));
  await card(bobPage, 'Write the brief').waitFor();
  // Wait for bob's event stream to be open before the move.
  await bobPage.waitForFunction(() => document.body.dataset.live === 'open', null, { timeout: 5000 }).catch(() => {});
  // And alice in a second window on the same node.
  const again = await aliceContext.newPage();
  await again.goto(state.boardUrl);
  await card(again, 'Write the brief').waitFor();
  await again.waitForFunction(() => document.body.dataset.live === 'open', null, { timeout: 5000 }).catch(() => {});
  await card(page, 'Write the brief').dragTo(list(page, 'Doing').getByTestId('list-cards'));
  const moved = Date.now();
  await Promise.all([bobPage, again].map((p) => list(p, 'Doing').locator('[data-testid=card]', { hasText: 'Write the brief' }).waitFor({ timeout: 1000 })));
  state.liveMs = Date.now() - moved;
  await again.close();
  const stored = (await alice.get(`/1/cards/${state.cards['Write the brief']}`)).json;
  assert.equal(stored.idList, state.lists.Doing, 'the move is stored');
  const actions = (await alice.get(`/1/cards/${stored.id}/actions?filter=updateCard`)).json;
  assert.ok(actions.some((a) => a.data.listAfter && a.data.listAfter.id === state.lists.Doing), 'an updateCard action records the move');
});

await test('reorder a list by dragging it', async () => {
  await list(page, 'Done').locator('.list-head').dragTo(list(page, 'To do').locator('.list-head'));
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=list] .list-head')][0]?.textContent.includes('Done'), null, { timeout: 3000 });
  // The page moves the list at once; the server has it when the PUT answers.
  let lists = [];
  for (let i = 0; i < 30; i++) {
    lists = (await alice.get(`/1/boards/${state.board.id}/lists`)).json.map((l) => l.name);
    if (lists[0] === 'Done') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(lists, ['Done', 'To do', 'Doing']);
  await list(bobPage, 'Done').waitFor();
  await bobPage.waitForFunction(() => [...document.querySelectorAll('[data-testid=list] .list-head')][0]?.textContent.includes('Done'), null, { timeout: 2000 });
});

await test('keyboard only: reach a card with Tab and arrows, move it to the next list, open it', async () => {
  // From the filter box, Tab until a card has the focus; then arrows to the card wanted.
  await page.getByTestId('filter-text').focus();
  const focusedName = () => page.evaluate(() => document.activeElement?.dataset.cardId ? document.activeElement.textContent : null);
  for (let i = 0; i < 40 && !(await focusedName()); i++) await page.keyboard.press('Tab');
  assert.ok(await focusedName(), 'Tab reaches the cards');
  const target = state.cards['Call the supplier'];
  for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement?.dataset.cardId)) !== target; i++) {
    const inTodo = await page.evaluate((todo) => document.activeElement?.closest('[data-list-id]')?.dataset.listId === todo, state.lists['To do']);
    await page.keyboard.press(inTodo ? 'ArrowDown' : 'ArrowRight');
  }
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.cardId), target, 'arrows reach the card');
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).boxShadow);
  assert.ok(!/^none none$/.test(ring), `the focus is visible: ${ring}`);
  await page.keyboard.press('Alt+ArrowRight');
  await list(page, 'Doing').locator('[data-testid=card]', { hasText: 'Call the supplier' }).waitFor({ timeout: 3000 });
  const focused = await page.evaluate(() => document.activeElement?.dataset.cardId);
  assert.equal(focused, state.cards['Call the supplier'], 'focus stays on the moved card');
  await page.waitForFunction(async (id) => true, state.cards['Call the supplier']);
  let stored;
  for (let i = 0; i < 20; i++) {
    stored = (await alice.get(`/1/cards/${state.cards['Call the supplier']}`)).json;
    if (stored.idList === state.lists.Doing) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(stored.idList, state.lists.Doing);
  // Enter opens it; Escape closes.
  await page.keyboard.press('Enter');
  await page.getByTestId('card-dialog').waitFor();
  await page.keyboard.press('Escape');
  await page.getByTestId('card-dialog').waitFor({ state: 'hidden' });
});

await test('edit a card: description, label, due date, checklist, comment', async () => {
  await card(page, 'Book the venue').click();
  const dialog = page.getByTestId('card-dialog');
  await dialog.waitFor();
  assert.match(page.url(), /\/c\/[A-Za-z0-9]{8}\/\d+-book-the-venue$/);
  await dialog.getByTestId('card-desc-edit').click();
  await dialog.getByTestId('card-desc-input').fill('Three **options**, see [the sheet](https://example.com/sheet).');
  await dialog.getByTestId('card-desc-save').click();
  await dialog.getByTestId('card-desc').locator('strong', { hasText: 'options' }).waitFor();
  await dialog.getByTestId('card-label-toggle').first().click();
  await dialog.getByTestId('card-due').fill('2030-05-01T10:00');
  await dialog.getByTestId('card-due').press('Tab');
  await dialog.getByTestId('add-checklist').click();
  const checklistName = dialog.getByTestId('add-checklist-name');
  if (await checklistName.isVisible()) { await checklistName.fill('Venues'); await checklistName.press('Enter'); }
  await dialog.getByTestId('checklist').first().waitFor();
  for (const item of ['Town hall', 'Old mill']) {
    await dialog.getByTestId('add-checkitem').first().fill(item);
    await dialog.getByTestId('add-checkitem').first().press('Enter');
    await dialog.getByTestId('checkitem').filter({ hasText: item }).waitFor();
  }
  await dialog.getByTestId('checkitem').filter({ hasText: 'Town hall' }).getByTestId('checkitem-toggle').check();
  await dialog.getByTestId('comment-input').fill('Asked the **mill** for a quote');
  await dialog.getByTestId('comment-submit').click();
  await dialog.getByTestId('comment').filter({ hasText: 'for a quote' }).waitFor();
  await shot(page, 'card');
  const id = state.cards['Book the venue'];
  let stored;
  for (let i = 0; i < 30; i++) {
    stored = (await alice.get(`/1/cards/${id}?checklists=all`)).json;
    if (stored.due && stored.idLabels.length && stored.badges.checkItemsChecked === 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(stored.desc, /Three \*\*options\*\*/);
  assert.equal(stored.idLabels.length, 1);
  assert.ok(stored.due && stored.due.startsWith('2030-05-01'), stored.due);
  assert.equal(stored.badges.checkItems, 2);
  assert.equal(stored.badges.checkItemsChecked, 1);
  assert.equal(stored.badges.comments, 1);
});

await test('upload and download an attachment', async () => {
  const dialog = page.getByTestId('card-dialog');
  const bytes = Buffer.from('venue quotes\n'.repeat(2000));
  await dialog.getByTestId('attach-file').setInputFiles({ name: 'quotes.txt', mimeType: 'text/plain', buffer: bytes });
  const link = dialog.getByTestId('attachment').filter({ hasText: 'quotes.txt' }).getByTestId('attachment-link');
  await link.waitFor({ timeout: 5000 });
  const href = await link.getAttribute('href');
  const download = await page.request.get(new URL(href, nodeA).toString());
  assert.equal(download.status(), 200);
  assert.equal((await download.body()).length, bytes.length);
  const stored = (await alice.get(`/1/cards/${state.cards['Book the venue']}/attachments`)).json;
  assert.equal(stored.length, 1);
  assert.equal(stored[0].name, 'quotes.txt');
  await page.keyboard.press('Escape');
});

await test('undo an action from the activity feed', async () => {
  // Rename a card through the API, then undo the rename in the board's activity.
  const id = state.cards['Call the supplier'];
  const renamed = await alice.put(`/1/cards/${id}`, { name: 'Call the supplier (urgent)' });
  const [action] = JSON.parse(renamed.headers.get('x-cork-actions'));
  await card(page, 'Call the supplier (urgent)').waitFor({ timeout: 2000 });
  await page.getByTestId('board-menu').click();
  const entry = page.locator(`[data-testid=activity] [data-action-id="${action.id}"]`);
  await entry.waitFor();
  await entry.getByTestId('undo').click();
  await card(page, 'Call the supplier (urgent)').waitFor({ state: 'detached', timeout: 3000 });
  assert.equal((await alice.get(`/1/cards/${id}`)).json.name, 'Call the supplier');
  await shot(page, 'activity');
  await page.keyboard.press('Escape');
});

await test('export the board as JSON from the board menu', async () => {
  // The menu may still be open from the step before.
  if (!(await page.getByTestId('board-panel').isVisible())) await page.getByTestId('board-menu').click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-link').click()]);
  const text = readFileSync(await download.path(), 'utf8');
  const exported = JSON.parse(text);
  assert.equal(download.suggestedFilename(), `${exported.shortLink}-product-launch.json`);
  assert.equal(exported.id, state.board.id);
  const cards = (await alice.get(`/1/boards/${state.board.id}/cards/all`)).json;
  assert.equal(exported.cards.length, cards.length, 'every card, open and archived');
  assert.ok(exported.actions.length > 0 && Array.isArray(exported.lists) && Array.isArray(exported.checklists));
  await page.keyboard.press('Escape');
});

await test('import a Trello export from the import page and come back to its report', async () => {
  const file = new URL('../../spec/exports/05-public-template-productivity-2019.json', import.meta.url).pathname;
  const exported = JSON.parse(readFileSync(file, 'utf8'));
  await page.goto(`${nodeA}/`);
  await page.getByTestId('import-link').click();
  await page.getByTestId('import-file').setInputFiles(file);
  await page.getByTestId('import-submit').click();
  const job = page.locator('[data-testid=import-job][data-state=done]');
  await job.waitFor({ timeout: 20000 });
  assert.match(await job.getByTestId('import-report').textContent(), /Imported/);
  const cards = job.locator('tr[data-kind=cards] td');
  assert.equal(await cards.nth(0).textContent(), String(exported.cards.length), 'cards read');
  assert.equal(await cards.nth(1).textContent(), String(exported.cards.length), 'cards new');
  await shot(page, 'import');
  // Leave and come back: the job and its report are still there.
  await page.goto(`${nodeA}/`);
  await page.goto(`${nodeA}/import`);
  await page.locator('[data-testid=import-job][data-state=done]').waitFor();
  await page.getByTestId('import-board-link').click();
  await page.locator('[data-testid=list]').first().waitFor();
  const imported = (await alice.get(`/1/boards/${exported.id}/cards`)).json;
  assert.equal(imported.length, exported.cards.filter((c) => !c.closed).length);
});

await test('approve a gated delete from the review queue', async () => {
  const sync = tokenFor('sync', '--gate', 'destructive');
  const syncApi = apiClient(nodeA, sync);
  await alice.put(`/1/boards/${state.board.id}/members/${sync.idMember}`, { type: 'normal' });
  const held = await syncApi.del(`/1/cards/${state.cards['Write the brief']}`);
  assert.equal(held.status, 202, held.text);
  await page.goto(`${nodeA}/review`);
  const request = page.getByTestId('change-request').first();
  await request.waitFor();
  assert.match(await request.textContent(), /sync/i);
  await shot(page, 'review');
  await request.getByTestId('review-comment').fill('Fine, it moved to the wiki.');
  await request.getByTestId('approve').click();
  await page.getByTestId('change-request').first().waitFor({ state: 'detached', timeout: 5000 });
  assert.equal((await alice.get(`/1/cards/${state.cards['Write the brief']}`)).status, 404, 'the card is deleted once approved');
});

await test('XSS payloads in names, descriptions, comments and attachment names render inert', async () => {
  const payloads = ['<script>window.__pwned=1</script>', '<img src=x onerror="window.__pwned=1">', '[click](javascript:window.__pwned=1)'];
  const listId = state.lists['To do'];
  const made = (await alice.post('/1/cards', { idList: listId, name: payloads.join(' '), desc: payloads.join('\n\n') + '\n\njavascript:window.__pwned=1' })).json;
  await alice.post(`/1/cards/${made.id}/actions/comments`, { text: payloads.join(' ') });
  await alice.post(`/1/cards/${made.id}/attachments`, { url: 'javascript:window.__pwned=1', name: '<img src=x onerror="window.__pwned=1">' });
  await alice.put(`/1/lists/${listId}`, { name: `To do <img src=x onerror="window.__pwned=1">` });
  await page.goto(`${made.shortUrl.replace(/^https?:\/\/[^/]+/, nodeA)}`);
  await page.getByTestId('card-dialog').waitFor();
  await page.getByTestId('comment').first().waitFor();
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no payload ran');
  const hrefs = await page.$$eval('a[href]', (links) => links.map((a) => a.getAttribute('href')));
  assert.ok(!hrefs.some((h) => /^\s*javascript:/i.test(h)), `no javascript: link: ${hrefs}`);
  assert.equal(await page.locator('img[onerror], script:not([src])').count(), 0);
  assert.ok((await page.getByTestId('card-title').first().textContent() || (await page.getByTestId('card-title').first().inputValue())).includes('<script>'));
  await page.keyboard.press('Escape');
  await alice.del(`/1/cards/${made.id}`);
  await alice.put(`/1/lists/${listId}`, { name: 'To do' });
});

await test('screenshots: home, board, reports, account, phone width', async () => {
  await page.goto(`${nodeA}/`);
  await page.getByTestId('board-tile').first().waitFor();
  await shot(page, 'home');
  await page.goto(state.boardUrl);
  await card(page, 'Book the venue').waitFor();
  await shot(page, 'board');
  const shortLink = state.boardUrl.split('/b/')[1].split('/')[0];
  await page.goto(`${nodeA}/r/${shortLink}`);
  await page.getByTestId('chart-cfd').waitFor();
  await shot(page, 'reports');
  await page.goto(`${nodeA}/account`);
  await shot(page, 'account');
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const phonePage = await phone.newPage();
  await phonePage.context().addCookies(await aliceContext.cookies());
  await phonePage.goto(state.boardUrl);
  await card(phonePage, 'Book the venue').waitFor();
  await shot(phonePage, 'board-phone');
  await phone.close();
});

await test('a mirrored board shows its source and lag, takes the source\'s changes and refuses edits', async () => {
  // The source: another Cork on a SQLite file of its own.
  const sourceData = join(WORK, 'source');
  mkdirSync(sourceData, { recursive: true });
  const port = await freePort();
  const source = `http://127.0.0.1:${port}`;
  const log = openSync(join(LOGS, logName('source')), 'a');
  const sourceCork = (...args) => execFileSync(BIN, [...args, '--data-dir', sourceData], { env: { ...process.env, CORK_PASSWORD: PASSWORD }, encoding: 'utf8' });
  children.push(spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', sourceData, '--public-url', source], { stdio: ['ignore', log, log] }));
  for (let i = 0; i < 300 && !(await fetch(`${source}/login`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  sourceCork('user', 'create', 'carol', '--full-name', 'Carol Source', '--email', 'carol@example.org', '--password-env');
  const creds = JSON.parse(sourceCork('token', 'create', '--user', 'carol').trim().split('\n').filter((l) => l.startsWith('{')).pop());
  const carol = apiClient(source, creds);
  const board = (await carol.post('/1/boards', { name: 'Upstream plan', defaultLists: false })).json;
  const backlog = (await carol.post('/1/lists', { name: 'Backlog', idBoard: board.id })).json;
  await carol.post('/1/cards', { name: 'Imported from upstream', idList: backlog.id });
  const mirror = () => execFileSync(BIN, ['mirror', '--once', '--from', source, '--key', creds.key, '--token', creds.token, '--board', board.id,
    '--admin', 'alice', '--data-dir', DATA, '--database', DB], { encoding: 'utf8', env: { ...process.env, CORK_LOG: 'warn' } });
  mirror();
  await page.goto(`${nodeA}/b/${board.shortLink}`);
  await card(page, 'Imported from upstream').waitFor();
  const badge = page.getByTestId('board-mirror');
  await badge.waitFor();
  assert.match(await badge.textContent(), new RegExp(`^Mirror of ${source} · in step \\d+ s ago$`));
  assert.ok(await page.getByTestId('board').evaluate((el) => el.classList.contains('read-only')), 'a mirrored board is read-only here');
  await shot(page, 'board-mirror');
  // A change on the source, one mirror step, and the open page shows it by itself.
  await carol.post('/1/cards', { name: 'Added upstream later', idList: backlog.id });
  mirror();
  await card(page, 'Added upstream later').waitFor({ timeout: 12000 });
  // An edit here is refused, naming the source.
  const refused = await alice.put(`/1/boards/${board.id}`, { name: 'Renamed here' });
  assert.equal(refused.status, 409, refused.text);
  assert.match(refused.text, new RegExp(`the mirror of board ${board.id} at ${source}`));
});

// Every control has a name a screen reader can say, and text meets WCAG AA contrast
// (4.5:1, 3:1 for large text) against the first opaque background behind it.
async function accessibilityProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const visible = (el) => { const r = el.getBoundingClientRect(); const cs = getComputedStyle(el); return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none'; };
    for (const el of document.querySelectorAll('button, input:not([type=hidden]), select, textarea, a[href], [role=button]')) {
      if (!visible(el)) continue;
      const labelled = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.getAttribute('title')
        || (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)) || el.closest('label')
        || (['BUTTON', 'A'].includes(el.tagName) || el.getAttribute('role') === 'button' ? el.textContent.trim() : '')
        || (el.type === 'submit' && el.value) || el.getAttribute('placeholder');
      if (!labelled) problems.push(`unlabelled ${el.tagName.toLowerCase()} ${el.outerHTML.slice(0, 80)}`);
    }
    const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => { const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
    // The colour behind an element: translucent layers blended over the first opaque one.
    const background = (el) => {
      const layers = [];
      let base = [255, 255, 255];
      for (let e = el; e; e = e.parentElement) {
        // An overlay drawn by ::before (a tile's shade) lies between the box and its text.
        const before = getComputedStyle(e, '::before');
        if (before.content !== 'none' && before.position === 'absolute') {
          const o = rgb(before.backgroundColor);
          if (o.length >= 4 && o[3] > 0 && o[3] < 0.99) layers.push(o);
        }
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length < 3 || (c.length >= 4 && c[3] === 0)) continue;
        if (c.length < 4 || c[3] >= 0.99) { base = c.slice(0, 3); break; }
        layers.push(c);
      }
      for (const [r, g, b, a] of layers.reverse()) base = [r * a + base[0] * (1 - a), g * a + base[1] * (1 - a), b * a + base[2] * (1 - a)];
      return base.map(Math.round);
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || seen.has(el) || !node.textContent.trim() || !visible(el)) continue;
      seen.add(el);
      const cs = getComputedStyle(el);
      if (el.closest('[disabled], [aria-disabled=true], svg, option')) continue;
      const fg = rgb(cs.color);
      if (fg.length >= 4 && fg[3] < 1) continue; // translucent text: skip rather than guess
      const [a, b] = [lum(fg), lum(background(el))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const large = parseFloat(cs.fontSize) >= 24 || (parseFloat(cs.fontSize) >= 18.66 && Number(cs.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} for "${node.textContent.trim().slice(0, 30)}" (${cs.color} on ${background(el)})`);
    }
    return problems;
  });
}

await test('labelled controls and readable contrast on home, board, card and review', async () => {
  const found = [];
  await page.goto(`${nodeA}/`);
  await page.getByTestId('board-tile').first().waitFor();
  found.push(...(await accessibilityProblems(page)).map((p) => `home: ${p}`));
  await page.goto(state.boardUrl);
  await card(page, 'Book the venue').waitFor();
  found.push(...(await accessibilityProblems(page)).map((p) => `board: ${p}`));
  await card(page, 'Book the venue').click();
  await page.getByTestId('card-dialog').waitFor();
  found.push(...(await accessibilityProblems(page)).map((p) => `card: ${p}`));
  await page.keyboard.press('Escape');
  await page.goto(`${nodeA}/review`);
  await page.getByTestId('review').waitFor();
  found.push(...(await accessibilityProblems(page)).map((p) => `review: ${p}`));
  assert.deepEqual(found, []);
});

await test('no page errors', async () => {
  assert.deepEqual([...problems, ...bobProblems], []);
});

await browser.close();
for (const child of children) child.kill('SIGTERM');
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
if (state.liveMs !== undefined) console.log(`live: the second node's browser showed the move ${state.liveMs} ms after the drop`);
writeFileSync(join(WORK, 'results.json'), JSON.stringify({ results, liveMs: state.liveMs }));
console.log(`browser tests: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
