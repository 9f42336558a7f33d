// Review: pending change requests (writes held by a review gate or a source-of-truth rule)
// on the boards the member administers, each with its dry-run preview as old → new, and
// Approve / Reject with a comment.

import { h, fill } from './dom.js';
import { api } from './api.js';
import { describeCommand, commandParams, previewDiff, relativeTime, memberName, boardPath } from './logic.js';
import { link, toast, reportError, pendingChangeRequests, administeredBoards, refreshReviewCount } from './ui.js';

/** Members of the boards with requests, by id (the requester is almost always one). */
async function boardMembers(ids) {
  const lists = await Promise.all(ids.map((id) => api.get(`/1/boards/${id}/members`, { fields: 'fullName,username,initials' }).catch(() => [])));
  return new Map(lists.flat().map((m) => [m.id, m]));
}

export async function mountReview(main) {
  document.title = 'Review · Cork';
  const listEl = h('div', { class: 'change-requests', 'aria-live': 'polite' });
  const root = h('div', { class: 'page-narrow', 'data-testid': 'review' }, h('h1', null, 'Changes waiting for review'),
    h('p', { class: 'muted' }, 'Integrations’ writes held by a board’s review gates or source-of-truth rules. Approving runs the write as its requester; if the board changed since the preview, approval is refused and the request stays.'),
    listEl);
  fill(main, root);

  const [pending, boards] = await Promise.all([pendingChangeRequests(), administeredBoards().catch(() => [])]);
  const boardById = new Map(boards.map((b) => [b.id, b]));
  if (!pending.length) { fill(listEl, h('p', { class: 'muted', 'data-testid': 'review-empty' }, 'Nothing is waiting for review.')); return {}; }
  const requesters = await boardMembers([...new Set(pending.map((c) => c.idBoard).filter(Boolean))]);
  fill(listEl, pending.sort((a, b) => String(b.dateCreated).localeCompare(String(a.dateCreated)))
    .map((c) => changeEl(c, boardById.get(c.idBoard), requesters.get(c.requester) || { id: c.requester, username: c.requester })));
  return {};

  function changeEl(change, board, who) {
    const params = commandParams(change.command);
    const rows = previewDiff(change.preview);
    const comment = h('textarea', { rows: 2, placeholder: 'Comment (optional)', 'aria-label': 'Comment', 'data-testid': 'review-comment' });
    const decide = async (verb, btn) => {
      for (const b of el.querySelectorAll('button')) b.disabled = true;
      try {
        const body = comment.value.trim() ? { comment: comment.value.trim() } : {};
        await api.post(`/cork/changeRequests/${change.id}/${verb}`, body);
        toast(verb === 'approve' ? 'Approved and applied' : 'Rejected', 'success');
        el.remove();
        if (!listEl.querySelector('.change-request')) fill(listEl, h('p', { class: 'muted', 'data-testid': 'review-empty' }, 'Nothing is waiting for review.'));
        refreshReviewCount(true);
      } catch (err) {
        reportError(err);
        for (const b of el.querySelectorAll('button')) b.disabled = false;
        btn.focus();
      }
    };
    const approve = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'approve', on: { click: () => decide('approve', approve) } }, 'Approve');
    const reject = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'reject', on: { click: () => decide('reject', reject) } }, 'Reject');
    const el = h('article', { class: 'change-request', 'data-testid': 'change-request', dataset: { changeId: change.id } },
      h('header', { class: 'cr-head' },
        h('strong', { 'data-testid': 'cr-summary' }, describeCommand(change.command), rows[0]?.subject ? ` “${rows[0].subject}”` : ''),
        h('span', { class: 'muted' }, ' by ', h('span', { 'data-testid': 'cr-requester' }, memberName(who)), who?.username ? ` (@${who.username})` : '',
          ' · ', h('time', { datetime: change.dateCreated, title: new Date(change.dateCreated).toLocaleString() }, relativeTime(change.dateCreated)),
          ' · on ', board ? link(boardPath(board), { 'data-testid': 'cr-board' }, board.name) : h('span', null, change.idBoard || 'no board'))),
      h('p', { class: 'cr-reason' }, 'Held because: ', change.reason || '—'),
      h('p', { class: 'small' }, h('code', null, `${change.command?.method} ${String(change.command?.target || '').split('?')[0]}`),
        change.idToken ? h('span', { class: 'muted' }, ` · token ${change.idToken}`) : null,
        change.key ? h('span', { class: 'muted' }, ` · key ${change.key}`) : null),
      Object.keys(params).length ? h('details', null, h('summary', null, 'Parameters sent'),
        h('table', { class: 'kv' }, h('tbody', null, Object.entries(params).map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, typeof v === 'object' ? JSON.stringify(v) : String(v))))))) : null,
      h('h3', null, `What it would do (preview answered ${change.preview?.status ?? '?'})`),
      rows.length ? h('table', { class: 'diff', 'data-testid': 'cr-diff' },
        h('thead', null, h('tr', null, h('th', null, 'Action'), h('th', null, 'Object'), h('th', null, 'Field'), h('th', null, 'Before'), h('th', null, 'After'))),
        h('tbody', null, rows.map((r) => h('tr', null, h('td', null, r.type), h('td', null, r.subject), h('td', null, r.field),
          h('td', { class: 'old' }, r.old), h('td', { class: 'new' }, r.new))))) : h('p', { class: 'muted' }, 'It records no actions.'),
      comment,
      h('div', { class: 'row' }, approve, reject));
    return el;
  }
}
