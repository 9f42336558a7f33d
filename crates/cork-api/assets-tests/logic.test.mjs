// Unit tests of the browser code's pure parts: `node --test crates/cork-api/assets-tests/`.
// The Markdown renderer is checked both as a token tree and through a tiny fake document
// that records what the renderer builds (so a test sees every tag, attribute and text node).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The assets are ES modules named .js with no package.json above them (they are served,
// not packaged), so node would read them as CommonJS: they are copied beside a
// package.json saying "module" and imported from there.
const here = path.dirname(fileURLToPath(import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cork-assets-'));
fs.cpSync(path.join(here, '../assets'), dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const load = (name) => import(pathToFileURL(path.join(dir, name)).href);

const { parseMarkdown, parseInline, renderMarkdown, safeUrl } = await load('markdown.js');
const {
  posBetween, posAt, cardMatches, EMPTY_FILTER, dueState, actionSentence, canUndo, parseRoute, slugify, boardPath, cardPath,
  previewDiff, describeCommand, commandParams, toLocalInput, fromLocalInput,
} = await load('logic.js');
const { attrUrlOk, h } = await load('dom.js');

// ---------- a fake document ----------

class FakeNode {
  constructor(tag) { this.tagName = tag; this.children = []; this.attrs = {}; this._text = null; this.dataset = {}; this.ownerDocument = doc; this.listeners = {}; }
  addEventListener(type, fn) { this.listeners[type] = fn; }
  appendChild(c) { this.children.push(c); return c; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  set textContent(t) { this.children = [new FakeText(t)]; }
  get textContent() { return this.children.map((c) => c.textContent).join(''); }
  /** Serializes like HTML, escaping text, so a test can look for injected markup. */
  get html() {
    const attrs = Object.entries(this.attrs).map(([k, v]) => ` ${k}="${v.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`).join('');
    const inner = this.children.map((c) => c.html).join('');
    return this.tagName === '#fragment' ? inner : `<${this.tagName}${attrs}>${inner}</${this.tagName}>`;
  }
  all(tag) { return this.children.flatMap((c) => (c instanceof FakeNode ? [...(c.tagName === tag ? [c] : []), ...c.all(tag)] : [])); }
}
class FakeText {
  constructor(t) { this.textContent = String(t); }
  get html() { return this.textContent.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'); }
}
const doc = {
  createElement: (tag) => new FakeNode(tag),
  createTextNode: (t) => new FakeText(t),
  createDocumentFragment: () => new FakeNode('#fragment'),
};
const render = (md) => renderMarkdown(md, doc);

// ---------- markdown ----------

test('markdown: headings, paragraphs, emphasis, code, lists, quotes', () => {
  const blocks = parseMarkdown('# Title\n\nSome **bold** and *italic* and `code`.\n\n- one\n- two\n\n1. a\n2. b\n\n> quoted\n\n```\nlet x = 1;\n```');
  assert.deepEqual(blocks.map((b) => b.type), ['heading', 'paragraph', 'list', 'list', 'quote', 'code']);
  assert.equal(blocks[0].level, 1);
  assert.deepEqual(blocks[1].children.map((c) => c.type), ['text', 'strong', 'text', 'em', 'text', 'code', 'text']);
  assert.equal(blocks[2].ordered, false);
  assert.equal(blocks[2].items.length, 2);
  assert.equal(blocks[3].ordered, true);
  assert.equal(blocks[5].text, 'let x = 1;');
  const html = render('## Sub\n\n**b** _i_ `c`').html;
  assert.equal(html, '<h4>Sub</h4><p><strong>b</strong> <em>i</em> <code>c</code></p>');
});

test('markdown: snake_case words are not italic', () => {
  assert.equal(render('a snake_case_name here').html, '<p>a snake_case_name here</p>');
});

test('markdown: links get rel and target; bare URLs become links without trailing punctuation', () => {
  const out = render('See [the docs](https://example.com/a?b=1) or https://example.org/x.');
  const links = out.all('a');
  assert.equal(links.length, 2);
  assert.equal(links[0].attrs.href, 'https://example.com/a?b=1');
  assert.equal(links[0].attrs.rel, 'noopener noreferrer');
  assert.equal(links[0].attrs.target, '_blank');
  assert.equal(links[0].textContent, 'the docs');
  assert.equal(links[1].attrs.href, 'https://example.org/x');
  assert.ok(out.html.endsWith('</a>.</p>'));
  assert.equal(render('mail [me](mailto:a@example.com)').all('a')[0].attrs.href, 'mailto:a@example.com');
});

test('markdown: XSS payloads stay inert text', () => {
  const payloads = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '[click](javascript:alert(1))',
    '[x](JaVaScRiPt:alert(1))',
    '[x]( javascript:alert(1))',
    '[x](data:text/html;base64,PHNjcmlwdD4=)',
    '[x](vbscript:msgbox)',
    'javascript:alert(1)',
    '"><svg onload=alert(1)>',
    '**<b onmouseover=alert(1)>x</b>**',
    '`<script>`',
    '```\n</code><script>alert(1)</script>\n```',
    '> <iframe src=javascript:alert(1)>',
    '[a](java\tscript:alert(1))',
    '[a](https://ok.example/"onmouseover="alert(1))',
  ];
  for (const p of payloads) {
    const out = render(p);
    const html = out.html;
    // No element other than the renderer's own, and no event-handler attribute.
    const tags = [...html.matchAll(/<([a-z0-9]+)[\s>]/g)].map((m) => m[1]);
    for (const t of tags) assert.ok(['p', 'strong', 'em', 'code', 'pre', 'blockquote', 'a', 'br', 'h3', 'h4', 'h5', 'ul', 'ol', 'li', 'hr'].includes(t), `${p} → ${html}`);
    for (const a of out.all('a')) {
      assert.match(a.attrs.href, /^(https?|mailto):/, `${p} → ${a.attrs.href}`);
      assert.ok(!/["<>\s]/.test(a.attrs.href), `${p} → ${a.attrs.href}`);
      assert.deepEqual(Object.keys(a.attrs).sort(), ['href', 'rel', 'target']);
    }
    assert.ok(!/<(script|img|svg|iframe)/i.test(html), `${p} → ${html}`);
  }
  // The unsafe link shows what was written, as text.
  assert.equal(render('[click](javascript:alert(1))').textContent, '[click](javascript:alert(1))');
  assert.equal(render('<script>alert(1)</script>').textContent, '<script>alert(1)</script>');
});

test('safeUrl accepts only http, https and mailto', () => {
  assert.equal(safeUrl('https://a.example/'), 'https://a.example/');
  assert.equal(safeUrl('HTTP://A.example'), 'http://a.example/');
  assert.equal(safeUrl('mailto:x@y.z'), 'mailto:x@y.z');
  for (const bad of ['javascript:alert(1)', ' javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', '//evil.example', '/relative', 'java\nscript:x', 'ftp://x']) {
    assert.equal(safeUrl(bad), null, bad);
  }
});

test('inline parser terminates on unclosed markers', () => {
  for (const text of ['**open', '*open', '`open', '[open](', '[x]', '_x', 'a * b * c', '\\', 'h', 'http://']) {
    const tokens = parseInline(text);
    assert.equal(tokens.map((t) => (t.type === 'text' ? t.text : '?')).join(''), text, text);
  }
});

test('dom: h() builds text nodes and refuses handlers, style and unsafe URLs', () => {
  globalThis.document = doc;
  try {
    const el = h('a', { href: 'javascript:alert(1)', class: ['x', false, 'y'], 'data-testid': 't', on: { click: () => 1 } }, '<img src=x onerror=alert(1)>', ['a', null, 2]);
    assert.equal(el.attrs.href, undefined);
    assert.equal(el.attrs.class, 'x y');
    assert.equal(el.attrs['data-testid'], 't');
    assert.equal(typeof el.listeners.click, 'function');
    assert.equal(el.html, '<a class="x y" data-testid="t">&lt;img src=x onerror=alert(1)&gt;a2</a>');
    assert.equal(h('a', { href: '/b/abc' }).attrs.href, '/b/abc');
    assert.throws(() => h('div', { onclick: 'alert(1)' }), /refused/);
    assert.throws(() => h('div', { ONMOUSEOVER: 'alert(1)' }), /refused/);
    assert.throws(() => h('div', { style: 'color:red' }), /refused/);
  } finally {
    delete globalThis.document;
  }
});

test('dom: attribute URLs are checked', () => {
  assert.ok(attrUrlOk('href', '/b/abc'));
  assert.ok(attrUrlOk('href', 'https://x.example'));
  assert.ok(!attrUrlOk('href', 'javascript:alert(1)'));
  assert.ok(!attrUrlOk('href', '//evil.example/x'));
  assert.ok(attrUrlOk('src', 'data:image/png;base64,AAA'));
  assert.ok(!attrUrlOk('href', 'data:image/png;base64,AAA'));
});

// ---------- positions ----------

test('pos: between neighbours, at the top, at the bottom, alone', () => {
  assert.equal(posBetween(null, null), 65536);
  assert.equal(posBetween(null, 1000), 500);
  assert.equal(posBetween(1000, null), 1000 + 65536);
  assert.equal(posBetween(1000, 2000), 1500);
  const others = [{ pos: 100 }, { pos: 200 }, { pos: 400 }];
  assert.equal(posAt(others, 0), 50);
  assert.equal(posAt(others, 1), 150);
  assert.equal(posAt(others, 2), 300);
  assert.equal(posAt(others, 3), 400 + 65536);
  assert.equal(posAt(others, 99), 400 + 65536);
  assert.equal(posAt([], 0), 65536);
});

// ---------- filters ----------

const NOW = Date.parse('2026-12-02T12:00:00Z');
const card = (extra) => ({ name: 'Write report', desc: 'quarterly numbers', idLabels: [], idMembers: [], due: null, dueComplete: false, ...extra });

test('filter: text in name or description, every word', () => {
  assert.ok(cardMatches(card(), { ...EMPTY_FILTER, text: 'report' }, NOW));
  assert.ok(cardMatches(card(), { ...EMPTY_FILTER, text: 'QUARTERLY write' }, NOW));
  assert.ok(!cardMatches(card(), { ...EMPTY_FILTER, text: 'budget' }, NOW));
  assert.ok(cardMatches(card(), EMPTY_FILTER, NOW));
});

test('filter: label and member, with "none"', () => {
  const c = card({ idLabels: ['l1'], idMembers: ['m1'] });
  assert.ok(cardMatches(c, { ...EMPTY_FILTER, label: 'l1' }, NOW));
  assert.ok(!cardMatches(c, { ...EMPTY_FILTER, label: 'l2' }, NOW));
  assert.ok(!cardMatches(c, { ...EMPTY_FILTER, label: 'none' }, NOW));
  assert.ok(cardMatches(card(), { ...EMPTY_FILTER, label: 'none' }, NOW));
  assert.ok(cardMatches(c, { ...EMPTY_FILTER, member: 'm1' }, NOW));
  assert.ok(!cardMatches(c, { ...EMPTY_FILTER, member: 'none' }, NOW));
});

test('filter: due windows', () => {
  const overdue = card({ due: '2026-12-01T12:00:00Z' });
  const soon = card({ due: '2026-12-03T06:00:00Z' });
  const week = card({ due: '2026-12-06T12:00:00Z' });
  const done = card({ due: '2026-12-01T12:00:00Z', dueComplete: true });
  const f = (due) => ({ ...EMPTY_FILTER, due });
  assert.deepEqual([overdue, soon, week, done, card()].map((c) => cardMatches(c, f('overdue'), NOW)), [true, false, false, false, false]);
  assert.deepEqual([overdue, soon, week, done, card()].map((c) => cardMatches(c, f('day'), NOW)), [false, true, false, false, false]);
  assert.deepEqual([overdue, soon, week, done, card()].map((c) => cardMatches(c, f('week'), NOW)), [false, true, true, false, false]);
  assert.deepEqual([overdue, soon, week, done, card()].map((c) => cardMatches(c, f('none'), NOW)), [false, false, false, false, true]);
});

test('due state colours', () => {
  assert.equal(dueState(card(), NOW), null);
  assert.equal(dueState(card({ due: '2026-12-01T00:00:00Z' }), NOW), 'overdue');
  assert.equal(dueState(card({ due: '2026-12-02T20:00:00Z' }), NOW), 'soon');
  assert.equal(dueState(card({ due: '2026-12-20T00:00:00Z' }), NOW), 'later');
  assert.equal(dueState(card({ due: '2026-12-01T00:00:00Z', dueComplete: true }), NOW), 'complete');
});

test('datetime-local round trip', () => {
  const iso = '2026-12-02T09:30:00.000Z';
  assert.equal(fromLocalInput(toLocalInput(iso)), iso);
  assert.equal(fromLocalInput(''), null);
  assert.equal(toLocalInput(null), '');
});

// ---------- routes ----------

test('routes', () => {
  assert.deepEqual(parseRoute('/'), { page: 'home' });
  assert.deepEqual(parseRoute('/b/abcd1234/my-board'), { page: 'board', board: 'abcd1234' });
  assert.deepEqual(parseRoute('/c/wxyz9876/12-card'), { page: 'card', card: 'wxyz9876' });
  assert.deepEqual(parseRoute('/search', '?q=label%3Ared'), { page: 'search', q: 'label:red' });
  assert.deepEqual(parseRoute('/review'), { page: 'review' });
  assert.deepEqual(parseRoute('/r/abcd1234'), { page: 'report', board: 'abcd1234' });
  assert.equal(parseRoute('/nope').page, 'notFound');
  assert.equal(slugify('Hello, Wörld!'), 'hello-world');
  assert.equal(boardPath({ url: 'https://cork.example/b/abc/name' }), '/b/abc/name');
  assert.equal(boardPath({ shortLink: 'abc', name: 'My Board' }), '/b/abc/my-board');
  assert.equal(cardPath({ shortLink: 'xyz', idShort: 3, name: 'Do it' }), '/c/xyz/3-do-it');
});

// ---------- activity ----------

const alice = { fullName: 'alice', username: 'alice' };

test('activity sentences', () => {
  assert.equal(actionSentence({ type: 'updateCard', memberCreator: alice, data: {
    card: { name: 'Card X' }, old: { idList: 'a' }, listBefore: { name: 'To do' }, listAfter: { name: 'Doing' },
  } }), 'alice moved Card X from To do to Doing');
  assert.equal(actionSentence({ type: 'createCard', memberCreator: alice, data: { card: { name: 'C' }, list: { name: 'L' } } }), 'alice added C to L');
  assert.equal(actionSentence({ type: 'updateCard', memberCreator: alice, data: { card: { name: 'C', closed: true }, old: { closed: false } } }), 'alice archived C');
  assert.equal(actionSentence({ type: 'updateCard', memberCreator: alice, data: { card: { name: 'New' }, old: { name: 'Old' } } }), 'alice renamed Old to New');
  assert.equal(actionSentence({ type: 'commentCard', memberCreator: alice, data: { card: { name: 'C' }, text: 'hi there' } }), 'alice commented on C: “hi there”');
  assert.equal(actionSentence({ type: 'updateCard', memberCreator: alice, data: { card: { name: 'C' }, old: { name: 'B' }, revertOf: 'x' } }), 'alice renamed B to C (undo)');
  assert.equal(actionSentence({ type: 'someNewThing', memberCreator: alice, data: {} }), 'alice some new thing');
  // Names are text: the sentence is set with textContent, never parsed.
  assert.equal(actionSentence({ type: 'createCard', memberCreator: { fullName: '<img src=x onerror=alert(1)>' }, data: { card: { name: '<script>' }, list: { name: 'L' } } }),
    '<img src=x onerror=alert(1)> added <script> to L');
});

test('undo is offered for card, list, label, checklist and comment actions to writers', () => {
  for (const t of ['updateCard', 'createCard', 'deleteCard', 'commentCard', 'deleteComment', 'createList', 'updateList', 'createLabel', 'addChecklistToCard', 'updateCheckItemStateOnCard', 'addLabelToCard']) {
    assert.ok(canUndo({ type: t }), t);
  }
  for (const t of ['createBoard', 'updateBoard', 'addMemberToBoard', 'rejectChangeRequest']) assert.ok(!canUndo({ type: t }), t);
  assert.ok(!canUndo({ type: 'updateCard' }, false));
});

// ---------- change requests ----------

test('change request summary and diff', () => {
  const change = {
    command: { method: 'PUT', target: '/1/cards/abc?due=2031-01-01', body: '{"name":"New"}' },
    preview: { status: 200, actions: [
      { type: 'updateCard', data: { card: { id: 'abc', name: 'New', due: '2031-01-01T00:00:00.000Z' }, old: { name: 'Old', due: null } } },
      { type: 'updateCard', data: { card: { name: 'Moved' }, old: { idList: 'l1' }, listBefore: { name: 'To do' }, listAfter: { name: 'Done' } } },
      { type: 'deleteCard', data: { card: { id: 'c9' }, deleted: { card: { id: 'c9', name: 'Gone' }, checklists: [] } } },
      { type: 'createCard', data: { card: { name: 'Fresh' } } },
    ] },
  };
  assert.equal(describeCommand(change.command), 'Change card abc');
  assert.equal(describeCommand({ method: 'DELETE', target: '/1/cards/abc' }), 'Delete card abc');
  assert.deepEqual(commandParams(change.command), { due: '2031-01-01', name: 'New' });
  assert.deepEqual(commandParams({ target: '/1/cards/x', body: 'name=A&desc=B' }), { name: 'A', desc: 'B' });
  const rows = previewDiff(change.preview);
  assert.deepEqual(rows[0], { type: 'updateCard', subject: 'New', field: 'name', old: 'Old', new: 'New' });
  assert.deepEqual(rows[1], { type: 'updateCard', subject: 'New', field: 'due', old: '(none)', new: '2031-01-01T00:00:00.000Z' });
  assert.deepEqual(rows[2], { type: 'updateCard', subject: 'Moved', field: 'list', old: 'To do', new: 'Done' });
  assert.deepEqual(rows[3], { type: 'deleteCard', subject: 'Gone', field: '', old: 'Gone', new: '(deleted)' });
  assert.deepEqual(rows[4], { type: 'createCard', subject: 'Fresh', field: '', old: '', new: 'Fresh' });
});
