// Import: a Trello board export (the file "Export as JSON" gives) uploaded to
// POST /cork/imports, which answers at once with a job; the page polls the job for its
// progress and shows the report. The job runs on without the page: the list below the
// form shows the member's imports, so one can leave and come back.

import { h, fill } from './dom.js';
import { api, session } from './api.js';
import { boardPath } from './logic.js';
import { link, reportError, toast } from './ui.js';

const POLL_MS = 500;

/** Sends the file as the request body (fetch streams a File), with its name in the query. */
async function send(file, strict) {
  const query = new URLSearchParams({ name: file.name });
  if (strict) query.set('strict', 'true');
  const response = await fetch(`/cork/imports?${query}`, {
    method: 'POST', credentials: 'same-origin', body: file,
    headers: { 'X-Cork-CSRF': session.csrf, Accept: 'application/json', 'Content-Type': 'application/json' },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(text || `The import was refused (${response.status})`);
  return JSON.parse(text);
}

function percent(job) {
  const p = job.progress || {};
  if (job.state !== 'running') return 100;
  if (!p.bytesTotal) return 0;
  // Two passes over the file: the first reads it, the second writes what it read.
  const pass = Math.max(1, Number(p.pass) || 1);
  return Math.min(99, Math.round(((pass - 1) * 50) + (50 * p.bytesRead) / p.bytesTotal));
}

function reportEl(job) {
  const r = job.report;
  if (!r) return null;
  const rows = Object.entries(r.counts || {}).filter(([, c]) => c.read > 0);
  return h('div', { class: 'import-report', 'data-testid': 'import-report' },
    r.ok
      ? h('p', null, 'Imported ', r.board ? link(boardPath(r.board), { 'data-testid': 'import-board-link' }, r.board.name) : 'the board', ` in ${(r.millis / 1000).toFixed(1)} s.`)
      : h('p', { class: 'error', 'data-testid': 'import-error' }, 'Nothing was imported: ', r.error || 'unknown error'),
    rows.length ? h('table', { class: 'import-counts' },
      h('thead', null, h('tr', null, h('th', null, ''), h('th', null, 'read'), h('th', null, 'new'), h('th', null, 'updated'), h('th', null, 'skipped'))),
      h('tbody', null, rows.map(([kind, c]) => h('tr', { dataset: { kind } }, h('th', null, kind), h('td', null, String(c.read)), h('td', null, String(c.imported)), h('td', null, String(c.updated)), h('td', null, String(c.skipped)))))) : null,
    (r.skipped || []).length ? h('details', { 'data-testid': 'import-skipped' }, h('summary', null, `${r.skipped.length} skipped`),
      h('ul', null, r.skipped.slice(0, 200).map((s) => h('li', null, `${s.type} #${s.index}${s.id ? ` (${s.id})` : ''}: ${s.reason}`)))) : null,
    (r.placeholders || []).length ? h('p', { class: 'muted' }, `Members made as placeholders: ${r.placeholders.map((m) => `@${m.username}`).join(', ')}`) : null,
    (r.warnings || []).slice(0, 20).map((w) => h('p', { class: 'muted small' }, w)));
}

function jobEl(job) {
  const bar = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(percent(job)) },
    h('div', { class: 'progress-bar' }));
  // Through the CSSOM: the page's policy refuses style attributes.
  bar.firstChild.style.width = `${percent(job)}%`;
  const p = job.progress || {};
  const what = job.state === 'running'
    ? (Number(p.pass) === 2 ? `Writing: ${p.itemsDone} of ${p.itemsTotal} items` : 'Reading the file')
    : job.state === 'done' ? 'Done' : 'Failed';
  return h('article', { class: 'import-job', 'data-testid': 'import-job', dataset: { jobId: job.id, state: job.state } },
    h('header', null, h('strong', null, job.fileName), h('span', { class: 'muted' }, ` · ${new Date(job.dateStarted).toLocaleString()}`)),
    bar, h('p', { class: 'small', 'data-testid': 'import-state' }, what), reportEl(job));
}

export async function mountImport(main) {
  document.title = 'Import · Cork';
  const jobsEl = h('div', { class: 'import-jobs', 'aria-live': 'polite', 'data-testid': 'import-jobs' });
  const file = h('input', { type: 'file', accept: 'application/json,.json', required: true, id: 'import-file', 'data-testid': 'import-file' });
  const strict = h('input', { type: 'checkbox', 'data-testid': 'import-strict' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'import-submit' }, 'Import');
  const form = h('form', { class: 'card-form', 'data-testid': 'import-form', on: { submit: async (e) => {
    e.preventDefault();
    if (!file.files.length) { file.focus(); return; }
    submit.disabled = true;
    try {
      await send(file.files[0], strict.checked);
      toast('Import started', 'success');
      file.value = '';
      await refresh();
    } catch (err) {
      reportError(err);
    } finally {
      submit.disabled = false;
    }
  } } },
    h('label', { for: 'import-file' }, 'Trello export (JSON)'), file,
    h('label', { class: 'check' }, strict, ' Import nothing if any item would be skipped'),
    submit);
  fill(main, h('div', { class: 'page-narrow', 'data-testid': 'import' },
    h('h1', null, 'Import a Trello board'),
    h('p', { class: 'muted' }, 'In Trello, open the board’s menu, then Print, export and share → Export as JSON, and choose the file here. Ids are kept, so importing the same file again updates the board instead of making a second one. You become an admin of the board.'),
    form, h('h2', null, 'Your imports'), jobsEl));

  let timer = null;
  let gone = false;
  async function refresh() {
    clearTimeout(timer);
    let jobs = [];
    try {
      jobs = await api.get('/cork/imports');
    } catch (err) {
      reportError(err);
    }
    if (gone) return;
    fill(jobsEl, jobs.length ? jobs.map(jobEl) : h('p', { class: 'muted' }, 'No imports yet.'));
    if (jobs.some((j) => j.state === 'running')) timer = setTimeout(refresh, POLL_MS);
  }
  await refresh();
  return { unmount: () => { gone = true; clearTimeout(timer); } };
}
