// The board menu: a side panel with members and roles, labels, visibility and background,
// archived items, the activity feed with Undo, the policy editor and the rollback dialog.
// Sections load when opened; open ones reload on board events.

import { h, fill } from './dom.js';
import { api } from './api.js';
import { actionSentence, canUndo, relativeTime, memberName, toLocalInput, fromLocalInput, cardPath } from './logic.js';
import { toast, attempt, reportError, confirmDialog, modal, link } from './ui.js';
import { LABEL_COLOURS, BACKGROUNDS, labelChip } from './widgets.js';

/** One activity entry, with Undo when the member may revert it. */
export function activityEntry(action, { canWrite, onUndone, members = [] }) {
  const lookup = { member: (id) => { const m = members.find((x) => x.id === id); return m ? memberName(m) : null; } };
  const undo = canUndo(action, canWrite) ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'undo', on: { click: async (e) => {
    const btn = e.currentTarget;
    btn.disabled = true;
    try {
      await api.post(`/cork/actions/${action.id}/revert`);
      toast(`Undone: ${actionSentence(action, lookup)}`, 'success');
      btn.textContent = 'Undone';
      if (onUndone) onUndone();
    } catch (err) {
      btn.disabled = false;
      reportError(err);
    }
  } } }, 'Undo') : null;
  return h('li', { class: 'activity-entry', 'data-testid': 'activity-entry', dataset: { actionId: action.id, type: action.type } },
    h('span', { class: 'activity-text' }, actionSentence(action, lookup)),
    h('time', { datetime: action.date, title: new Date(action.date).toLocaleString() }, relativeTime(action.date)),
    undo);
}

export function createPanel(ctx) {
  const sections = [];
  const el = h('aside', { class: 'panel', 'data-testid': 'board-panel', hidden: true, 'aria-label': 'Board menu' });
  let destroyed = false;

  /** A collapsible section whose body is (re)built by `load` when open. */
  function section(title, testid, load, { open = false, admin = false } = {}) {
    const body = h('div', { class: 'panel-body' });
    const details = h('details', { class: 'panel-section', 'data-testid': testid, open },
      h('summary', null, title), body);
    const s = { details, body, admin, busy: false,
      async reload() {
        if (!details.open || el.hidden || destroyed) return;
        // Keep a form the member is typing in.
        if (body.contains(document.activeElement) && /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) return;
        try { await load(body); } catch (err) { fill(body, h('p', { class: 'error' }, err.message)); }
      } };
    details.addEventListener('toggle', () => s.reload());
    sections.push(s);
    return details;
  }

  // ---------- members ----------

  async function members(body) {
    const board = await api.get(`/1/boards/${ctx.board.id}`, { fields: 'name', members: 'all', member_fields: 'fullName,username,initials', memberships: 'all' });
    const byId = new Map((board.members || []).map((m) => [m.id, m]));
    const admin = ctx.isAdmin();
    const rows = (board.memberships || []).map((ms) => {
      const m = byId.get(ms.idMember) || { id: ms.idMember };
      const role = h('select', { 'aria-label': `Role of ${memberName(m)}`, 'data-testid': 'member-role', disabled: !admin, on: { change: async () => {
        if (await attempt(() => api.put(`/1/boards/${ctx.board.id}/members/${ms.idMember}`, { type: role.value }))) { toast('Role changed', 'success'); ctx.refresh(); }
        else role.value = ms.memberType;
      } } }, ['admin', 'normal', 'observer'].map((t) => h('option', { value: t, selected: t === ms.memberType }, t)));
      return h('li', { class: 'member-row', 'data-testid': 'member-row', dataset: { memberId: ms.idMember } },
        h('span', { class: 'avatar' }, m.initials || '?'),
        h('span', { class: 'grow' }, memberName(m), m.username ? h('span', { class: 'muted' }, ` @${m.username}`) : null, ms.unconfirmed ? h('span', { class: 'muted' }, ' (invited)') : null),
        role,
        admin || ms.idMember === ctx.me() ? h('button', { type: 'button', class: 'icon-btn', 'data-testid': 'member-remove', 'aria-label': `Remove ${memberName(m)}`, on: { click: async () => {
          if (!(await confirmDialog(`Remove ${memberName(m)} from this board?`, { ok: 'Remove', danger: true }))) return;
          if (await attempt(() => api.del(`/1/boards/${ctx.board.id}/members/${ms.idMember}`))) { toast('Member removed', 'success'); ctx.refresh(); s0.reload(); }
        } } }, '×') : null);
    });
    const username = h('input', { type: 'text', placeholder: 'username', 'aria-label': 'Username to add', 'data-testid': 'add-member-username' });
    const addRole = h('select', { 'aria-label': 'Role', 'data-testid': 'add-member-role' }, ['normal', 'admin', 'observer'].map((t) => h('option', { value: t }, t)));
    const email = h('input', { type: 'email', placeholder: 'name@example.com', 'aria-label': 'Email to invite', 'data-testid': 'invite-email' });
    fill(body,
      h('ul', { class: 'plain' }, rows),
      admin ? [
        h('form', { class: 'inline-form', on: { submit: async (e) => {
          e.preventDefault();
          const name = username.value.trim().replace(/^@/, '');
          if (!name) return;
          if (await attempt(() => api.put(`/1/boards/${ctx.board.id}/members/${encodeURIComponent(name)}`, { type: addRole.value }))) {
            toast(`${name} added`, 'success'); ctx.refresh(); s0.reload();
          }
        } } }, username, addRole, h('button', { type: 'submit', class: 'btn', 'data-testid': 'add-member-submit' }, 'Add')),
        h('form', { class: 'inline-form', on: { submit: async (e) => {
          e.preventDefault();
          if (!email.value.trim()) return;
          if (await attempt(() => api.put(`/1/boards/${ctx.board.id}/members`, { email: email.value.trim(), type: 'normal' }))) {
            toast(`Invitation sent to ${email.value.trim()}`, 'success'); ctx.refresh(); s0.reload();
          }
        } } }, email, h('button', { type: 'submit', class: 'btn', 'data-testid': 'invite-submit' }, 'Invite')),
      ] : h('p', { class: 'muted' }, 'Only board admins change members.'));
  }

  // ---------- labels ----------

  async function labels(body) {
    const write = ctx.canWrite();
    const colourSelect = (value, testid) => h('select', { 'aria-label': 'Colour', 'data-testid': testid, disabled: !write },
      h('option', { value: '' }, 'no colour'), LABEL_COLOURS.map((c) => h('option', { value: c, selected: c === value }, c)));
    const rows = ctx.labels.map((label) => {
      const name = h('input', { type: 'text', value: label.name || '', 'aria-label': 'Label name', 'data-testid': 'label-name', disabled: !write });
      const colour = colourSelect(label.color || '', 'label-color');
      const save = async () => {
        if (name.value === (label.name || '') && colour.value === (label.color || '')) return;
        if (await attempt(() => api.put(`/1/labels/${label.id}`, { name: name.value, color: colour.value || 'null' }))) ctx.refresh();
      };
      name.addEventListener('change', save);
      colour.addEventListener('change', save);
      return h('li', { class: 'label-row', 'data-testid': 'label-row', dataset: { labelId: label.id } },
        labelChip(label, { 'aria-hidden': 'true' }), name, colour,
        write ? h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Delete label', 'data-testid': 'label-delete', on: { click: async () => {
          if (!(await confirmDialog(`Delete the label ${label.name || label.color}? It is removed from every card.`, { ok: 'Delete', danger: true }))) return;
          if (await attempt(() => api.del(`/1/labels/${label.id}`))) ctx.refresh();
        } } }, '×') : null);
    });
    const newName = h('input', { type: 'text', placeholder: 'New label', 'aria-label': 'New label name', 'data-testid': 'new-label-name' });
    const newColour = colourSelect('green', 'new-label-color');
    fill(body, h('ul', { class: 'plain' }, rows),
      write ? h('form', { class: 'inline-form', on: { submit: async (e) => {
        e.preventDefault();
        if (await attempt(() => api.post(`/1/boards/${ctx.board.id}/labels`, { name: newName.value.trim(), color: newColour.value || 'null' }))) {
          newName.value = '';
          ctx.refresh();
        }
      } } }, newName, newColour, h('button', { type: 'submit', class: 'btn', 'data-testid': 'new-label-submit' }, 'Create')) : null);
  }

  // ---------- settings ----------

  async function settings(body) {
    const admin = ctx.isAdmin();
    const prefs = ctx.board.prefs || {};
    const vis = h('select', { id: 'bp-vis', 'data-testid': 'board-visibility', disabled: !admin },
      [['private', 'Private'], ['org', 'Workspace'], ['public', 'Public']].map(([v, t]) => h('option', { value: v, selected: prefs.permissionLevel === v }, t)));
    const bg = h('select', { id: 'bp-bg', 'data-testid': 'board-background', disabled: !ctx.canWrite() },
      BACKGROUNDS.map((c) => h('option', { value: c, selected: prefs.background === c }, c)));
    const put = async (key, value) => {
      const board = await attempt(() => api.put(`/1/boards/${ctx.board.id}`, { [key]: value }));
      if (board) { ctx.applyBoard({ prefs: board.prefs || { ...prefs } }); toast('Board updated', 'success'); }
      else ctx.refresh();
    };
    vis.addEventListener('change', () => put('prefs/permissionLevel', vis.value));
    bg.addEventListener('change', () => put('prefs/background', bg.value));
    fill(body, h('label', { for: 'bp-vis' }, 'Visibility'), vis, h('label', { for: 'bp-bg' }, 'Background'), bg);
  }

  // ---------- archived ----------

  async function archived(body) {
    const [cards, lists] = await Promise.all([
      api.get(`/1/boards/${ctx.board.id}/cards/closed`, { fields: 'name,idList,shortLink,url,idShort' }),
      api.get(`/1/boards/${ctx.board.id}/lists/closed`, { fields: 'name,pos' }),
    ]);
    const write = ctx.canWrite();
    const done = () => { ctx.refresh(); sArchived.reload(); };
    fill(body,
      h('h3', null, 'Cards'),
      cards.length ? h('ul', { class: 'plain' }, cards.map((c) => h('li', { class: 'archived-row', 'data-testid': 'archived-card', dataset: { cardId: c.id } },
        link(cardPath(c), { class: 'grow' }, c.name),
        write ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'restore', on: { click: async () => {
          if (await attempt(() => api.put(`/1/cards/${c.id}`, { closed: false }))) { toast(`${c.name} restored`, 'success'); done(); }
        } } }, 'Restore') : null,
        write ? h('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'delete', on: { click: async () => {
          if (!(await confirmDialog(`Delete ${c.name} for good? (An admin can still undo it from the activity.)`, { ok: 'Delete', danger: true }))) return;
          if (await attempt(() => api.del(`/1/cards/${c.id}`))) { toast(`${c.name} deleted`, 'success'); done(); }
        } } }, 'Delete') : null))) : h('p', { class: 'muted' }, 'No archived cards.'),
      h('h3', null, 'Lists'),
      lists.length ? h('ul', { class: 'plain' }, lists.map((l) => h('li', { class: 'archived-row', 'data-testid': 'archived-list', dataset: { listId: l.id } },
        h('span', { class: 'grow' }, l.name),
        write ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'restore', on: { click: async () => {
          if (await attempt(() => api.put(`/1/lists/${l.id}`, { closed: false }))) { toast(`${l.name} restored`, 'success'); done(); }
        } } }, 'Restore') : null))) : h('p', { class: 'muted' }, 'No archived lists.'));
  }

  // ---------- activity ----------

  async function activity(body) {
    const actions = await api.get(`/1/boards/${ctx.board.id}/actions`, { limit: 50, filter: 'all' });
    fill(body, actions.length
      ? h('ul', { class: 'activity plain', 'data-testid': 'activity' }, actions.map((a) => activityEntry(a, { canWrite: ctx.canWrite(), onUndone: ctx.refresh, members: ctx.members })))
      : h('p', { class: 'muted', 'data-testid': 'activity' }, 'Nothing has happened yet.'));
  }

  // ---------- policy ----------

  async function policy(body) {
    const current = await api.get(`/cork/boards/${ctx.board.id}/policy`);
    const admin = ctx.isAdmin();
    const gateRows = h('div', { class: 'rules' });
    const ownerRows = h('div', { class: 'rules' });
    const csv = (v) => String(v || '').split(',').map((x) => x.trim()).filter(Boolean);
    const multi = (items, chosen, label, testid) => h('select', { multiple: true, 'aria-label': label, 'data-testid': testid, size: Math.min(4, Math.max(2, items.length)) },
      items.map((i) => h('option', { value: i.id, selected: (chosen || []).includes(i.id) }, i.name || i.color || i.id)));

    const gateRow = (g = {}) => {
      const kinds = h('select', { 'aria-label': 'Holds', 'data-testid': 'gate-kinds' },
        [['destructive', 'destructive changes'], ['writes', 'all writes'], ['', 'only over the threshold']].map(([v, t]) => h('option', { value: v, selected: (g.kinds || '') === v }, t)));
      const tokens = h('input', { type: 'text', value: (g.tokens || []).join(', '), placeholder: 'token ids (none: every token)', 'aria-label': 'Tokens', 'data-testid': 'gate-tokens' });
      const keys = h('input', { type: 'text', value: (g.keys || []).join(', '), placeholder: 'application keys', 'aria-label': 'Keys', 'data-testid': 'gate-keys' });
      const threshold = h('input', { type: 'number', min: 1, value: g.threshold ?? '', placeholder: 'threshold', 'aria-label': 'Threshold (objects touched)', 'data-testid': 'gate-threshold' });
      const row = h('fieldset', { class: 'rule', 'data-testid': 'gate-rule' }, h('legend', null, 'Review gate'),
        h('label', null, 'Holds ', kinds), tokens, keys, threshold,
        h('button', { type: 'button', class: 'btn btn-small', on: { click: () => row.remove() } }, 'Remove gate'));
      row.read = () => {
        const out = { kinds: kinds.value || null, tokens: csv(tokens.value), keys: csv(keys.value) };
        if (threshold.value) out.threshold = Number(threshold.value);
        return out;
      };
      return row;
    };

    const ownerRow = (o = {}) => {
      const name = h('input', { type: 'text', value: o.name || '', placeholder: 'name shown in refusals (e.g. CRM sync)', 'aria-label': 'Owner name', 'data-testid': 'owner-name', required: true });
      const key = h('input', { type: 'text', value: o.key || '', placeholder: 'application key', 'aria-label': 'Owner key', 'data-testid': 'owner-key' });
      const token = h('input', { type: 'text', value: o.token || '', placeholder: 'or token id', 'aria-label': 'Owner token', 'data-testid': 'owner-token' });
      const mode = h('select', { 'aria-label': 'Mode', 'data-testid': 'owner-mode' },
        [['lock', 'lock: refuse others'], ['review', 'review: hold others']].map(([v, t]) => h('option', { value: v, selected: o.mode === v }, t)));
      const lists = multi(ctx.lists, o.lists, 'Owned lists', 'owner-lists');
      const labels = multi(ctx.labels, o.labels, 'Owned labels', 'owner-labels');
      const fields = multi(ctx.customFields, o.customFields, 'Owned custom fields', 'owner-custom-fields');
      const cardFields = h('input', { type: 'text', value: (o.cardFields || []).join(', '), placeholder: 'card fields: due, start, name, desc…', 'aria-label': 'Owned card fields', 'data-testid': 'owner-card-fields' });
      const row = h('fieldset', { class: 'rule', 'data-testid': 'owner-rule' }, h('legend', null, 'Source of truth'),
        name, key, token, mode,
        h('label', null, 'Lists', lists), h('label', null, 'Labels', labels),
        ctx.customFields.length ? h('label', null, 'Custom fields', fields) : null, cardFields,
        h('button', { type: 'button', class: 'btn btn-small', on: { click: () => row.remove() } }, 'Remove rule'));
      const chosen = (sel) => [...sel.selectedOptions].map((op) => op.value);
      row.read = () => ({
        name: name.value.trim(), key: key.value.trim() || null, token: token.value.trim() || null, mode: mode.value,
        lists: chosen(lists), labels: chosen(labels), customFields: chosen(fields), cardFields: csv(cardFields.value),
      });
      return row;
    };

    fill(gateRows, (current.gates || []).map(gateRow));
    fill(ownerRows, (current.owners || []).map(ownerRow));
    const form = h('form', { class: 'policy-form', 'data-testid': 'policy', on: { submit: async (e) => {
      e.preventDefault();
      const doc = { gates: [...gateRows.children].map((r) => r.read()), owners: [...ownerRows.children].map((r) => r.read()) };
      if (await attempt(() => api.put(`/cork/boards/${ctx.board.id}/policy`, doc))) toast('Policy saved', 'success');
    } } },
      h('p', { class: 'muted' }, 'Gates hold integrations’ writes for review; source-of-truth rules give part of the board to one integration. Writes made in the browser are never held.'),
      gateRows,
      h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'add-gate', on: { click: () => gateRows.appendChild(gateRow({ kinds: 'destructive' })) } }, '+ Gate'),
      ownerRows,
      h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'add-owner', on: { click: () => ownerRows.appendChild(ownerRow({ mode: 'lock' })) } }, '+ Source-of-truth rule'),
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'policy-save', disabled: !admin }, 'Save policy')));
    if (!admin) for (const c of form.querySelectorAll('input, select, button')) c.disabled = true;
    fill(body, form);
  }

  // ---------- rollback ----------

  function rollbackDialog() {
    const scope = h('select', { id: 'rb-scope', 'data-testid': 'rollback-scope' },
      [['idToken', 'Token id'], ['appKey', 'Application key'], ['idMember', 'Member']].map(([v, t]) => h('option', { value: v }, t)));
    const value = h('input', { type: 'text', id: 'rb-value', 'data-testid': 'rollback-value', required: true, placeholder: 'token id, key or member id', list: 'rb-members' });
    const members = h('datalist', { id: 'rb-members' }, ctx.members.map((m) => h('option', { value: m.id }, memberName(m))));
    const since = h('input', { type: 'datetime-local', id: 'rb-since', 'data-testid': 'rollback-since', required: true, value: toLocalInput(new Date(Date.now() - 86400000).toISOString()) });
    const before = h('input', { type: 'datetime-local', id: 'rb-before', 'data-testid': 'rollback-before' });
    const onlyBoard = h('input', { type: 'checkbox', id: 'rb-board', checked: true, 'data-testid': 'rollback-board-only' });
    const report = h('div', { class: 'rollback-report', 'data-testid': 'rollback-report', 'aria-live': 'polite' });
    const params = () => {
      const p = { [scope.value]: value.value.trim(), since: fromLocalInput(since.value) };
      if (before.value) p.before = fromLocalInput(before.value);
      if (onlyBoard.checked) p.idBoard = ctx.board.id;
      return p;
    };
    const show = (r, dry) => {
      const item = (i) => h('li', null, `${i.type}${i.idCard ? ` on card ${i.idCard}` : ''}`,
        i.reason ? h('span', { class: 'muted' }, ` — ${i.reason}`) : null,
        i.changedBy && i.changedBy.length ? h('span', { class: 'muted' }, ` (changed since by ${i.changedBy.map((c) => (typeof c === 'string' ? c : c.fullName || c.username || c.id)).join(', ')})`) : null,
        i.partlyReverted ? h('span', { class: 'muted' }, ' (other fields put back)') : null);
      const part = (title, items) => h('div', null, h('h3', null, `${title}: ${items.length}`), items.length ? h('ul', null, items.slice(0, 200).map(item)) : null);
      fill(report, h('p', null, dry ? 'This is what a rollback would do (nothing has changed yet):' : 'Rolled back:'),
        part('Reverted', r.reverted || []), part('Conflicts (kept, someone changed them since)', r.conflicts || []), part('Skipped', r.skipped || []),
        dry && (r.reverted || []).length + (r.conflicts || []).length > 0 ? h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'rollback-confirm', on: { click: async () => {
          if (!(await confirmDialog('Roll these changes back now?', { ok: 'Roll back', danger: true }))) return;
          const done = await attempt(() => api.post('/cork/rollback', params()));
          if (done) { show(done, false); toast(`Rolled back ${done.counts?.reverted ?? 0} actions`, 'success'); ctx.refresh(); }
        } } }, 'Roll back now') : null);
    };
    const form = h('form', { class: 'stack', on: { submit: async (e) => {
      e.preventDefault();
      if (!value.value.trim() || !since.value) return;
      const r = await attempt(() => api.post('/cork/rollback', params(), { headers: { 'X-Cork-Dry-Run': 'true' } }));
      if (r) show(r, true);
    } } },
      h('p', { class: 'muted' }, 'Undo everything one token, application key or member did in a period, newest first. Fields someone else changed since are kept.'),
      h('label', { for: 'rb-scope' }, 'Whose actions'), scope,
      h('label', { for: 'rb-value' }, 'Id'), value, members,
      h('label', { for: 'rb-since' }, 'Since'), since,
      h('label', { for: 'rb-before' }, 'Before (optional)'), before,
      h('label', { class: 'check' }, onlyBoard, ' Only this board'),
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'rollback-preview' }, 'Preview (dry run)'),
      report);
    modal('Roll back an integration', form, { testid: 'rollback-dialog', wide: true });
  }

  // ---------- assembly ----------

  const s0 = { reload: () => sections[0].reload() };
  const sArchived = { reload: () => sections[3].reload() };
  el.append(
    h('div', { class: 'panel-head' }, h('h2', null, 'Menu'),
      h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close menu', on: { click: () => api_toggle(false) } }, '×')),
    section('Members', 'panel-members', members),
    section('Labels', 'panel-labels', labels),
    section('Visibility and background', 'panel-settings', settings),
    section('Archived items', 'archived', archived),
    section('Activity', 'panel-activity', activity, { open: true }),
    h('div', { class: 'panel-links' },
      link(`/r/${ctx.board.shortLink}`, { class: 'btn', 'data-testid': 'report-link' }, 'Reports'),
      // The session cookie authenticates the download; the server names the file.
      h('a', { class: 'btn', href: `/cork/boards/${ctx.board.id}/export`, download: '', 'data-testid': 'export-link' }, 'Export as JSON'),
      h('button', { type: 'button', class: 'btn', 'data-testid': 'rollback-open', on: { click: rollbackDialog } }, 'Roll back an integration…')),
    section('Review gates and source of truth', 'panel-policy', policy));

  function api_toggle(force) {
    const open = force ?? el.hidden;
    el.hidden = !open;
    document.querySelector('[data-testid="board-menu"]')?.setAttribute('aria-expanded', String(open));
    if (open) for (const s of sections) s.reload();
    return open;
  }

  return {
    el,
    toggle: () => api_toggle(),
    refresh: () => { for (const s of sections) s.reload(); },
    destroy: () => { destroyed = true; },
  };
}
