// The card dialog: a modal <dialog> over the board with every part of a card. Sections
// re-render on refresh (other people's writes) except one the member is editing.

import { h, fill, syncChildren, keepFocus } from './dom.js';
import { api, upload, localUrl, session, ApiError } from './api.js';
import { renderMarkdown } from './markdown.js';
import { byPos, posAt, toLocalInput, fromLocalInput, dueState, relativeTime, memberName, boardPath, cardPath } from './logic.js';
import { toast, attempt, reportError, confirmDialog, modal, navigate, announce } from './ui.js';
import { labelChip, avatar } from './widgets.js';
import { activityEntry } from './boardmenu.js';

export function openCardDialog(ref, ctx) {
  let card = null; // the card as last fetched (with checklists, attachments, items)
  let actions = [];
  let closedSilently = false;
  let reloadTimer = null;
  const S = {}; // sections by name: {el, render, busy}

  const dialog = h('dialog', { class: 'card-dialog', 'data-testid': 'card-dialog', 'aria-labelledby': 'card-dialog-title' });
  const content = h('div', { class: 'card-dialog-inner' }, h('p', { class: 'muted pad' }, 'Loading card…'));
  dialog.append(content);
  dialog.addEventListener('close', () => {
    clearTimeout(reloadTimer);
    dialog.remove();
    if (!closedSilently) ctx.onClose(card ? card.id : ref);
  });
  document.body.appendChild(dialog);
  dialog.showModal();

  const write = () => ctx.canWrite() && card && !card.closed;
  const cid = () => card.id;

  // ---------- loading ----------

  async function load() {
    const [c, a] = await Promise.all([
      api.get(`/1/cards/${encodeURIComponent(ref)}`, { fields: 'all', attachments: 'true', checklists: 'all', customFieldItems: 'true', list: 'true', members: 'true' },
        { headers: { 'X-Cork-Version': 'true' } }),
      api.get(`/1/cards/${encodeURIComponent(ref)}/actions`, { filter: 'all', limit: 100 }).catch(() => []),
    ]);
    card = c;
    actions = a;
    if (ctx.board && card.idBoard !== ctx.board.id) {
      // A card of another board: load that board's page instead.
      closedSilently = true;
      dialog.close();
      location.assign(cardPath(card));
      return false;
    }
    return true;
  }

  async function reload() {
    try {
      if (!(await load())) return;
      renderAll();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) { toast('This card no longer exists', 'error'); dialog.close(); return; }
      reportError(err);
    }
  }

  function scheduleReload(delay = 60) {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(reload, delay);
  }

  /**
   * After a write: tell the board, then refetch what the dialog shows. The board's event
   * stream usually asks first (one refetch serves both); the timer covers a missed event.
   */
  function changed(updated) {
    if (updated && updated.id === card.id && updated.idList) ctx.cardChanged(updated);
    scheduleReload(700);
  }

  async function putCard(body, opts) {
    const updated = await api.put(`/1/cards/${cid()}`, body, opts);
    // The answer is the card's plain fields: show them now (nested parts are kept).
    Object.assign(card, updated, { corkVersion: undefined });
    renderAll();
    changed(updated);
    return updated;
  }

  // ---------- sections ----------

  /**
   * Whether the member is working in a section: an editor open, a text field focused, or
   * one typed in. A refresh then leaves it alone and redraws it once focus leaves.
   */
  function busy(el) {
    if (!el) return false;
    if (el.dataset.editing === '1') return true;
    if (el.querySelector('[data-dirty="1"]')) return true;
    const a = document.activeElement;
    // Fields that save on change (dates, numbers, boxes) do not hold a refresh by focus alone.
    return Boolean(a && el.contains(a) && a.matches('textarea, input[type=text], input[type=url], input:not([type])'));
  }

  const TYPING = 'textarea, input[type=text], input[type=url], input[type=number], input[type=datetime-local], input:not([type])';
  const markDirty = (e) => { if (e.target.matches(TYPING)) e.target.dataset.dirty = '1'; };
  dialog.addEventListener('input', markDirty);
  // Fields that save on change are no longer being typed in once changed.
  dialog.addEventListener('change', (e) => { if (e.target.matches('input:not([type=text]):not([type=url]), select')) delete e.target.dataset.dirty; });

  /** A section; `keepsInputs`: its render leaves inputs alone, so it may run at any time. */
  function section(name, title, testid, render, { keepsInputs = false } = {}) {
    const body = h('div', { class: 'section-body' });
    const el = h('section', { class: ['card-section', `cs-${name}`], 'data-testid': testid, 'aria-label': title },
      title ? h('h3', null, title) : null, body);
    S[name] = { el, body, render, keepsInputs };
    return el;
  }

  function renderSection(name, force = false) {
    const s = S[name];
    if (!s) return;
    if (!force && !s.keepsInputs && busy(s.el)) { s.stale = true; return; }
    s.stale = false;
    s.render(s.body, s.el);
  }

  // A section skipped while busy is redrawn when the member leaves it.
  dialog.addEventListener('focusout', () => setTimeout(() => {
    for (const name of Object.keys(S)) if (S[name].stale && card) renderSection(name);
  }, 0));

  function renderAll() {
    if (!S.title) build();
    for (const name of Object.keys(S)) renderSection(name);
  }

  // ---------- title and header ----------

  function renderTitle(body) {
    const listName = (ctx.lists.find((l) => l.id === card.idList) || card.list || {}).name || '';
    const input = h('textarea', { class: 'card-title-input', rows: 1, id: 'card-dialog-title', 'data-testid': 'card-title', 'aria-label': 'Card title', disabled: !write(), value: card.name });
    input.value = card.name;
    const save = async () => {
      const name = input.value.replace(/\s+/g, ' ').trim();
      delete input.dataset.dirty;
      if (!name) { input.value = card.name; return; }
      if (name === card.name) return;
      await attempt(() => putCard({ name }));
    };
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); input.blur(); } });
    input.addEventListener('blur', save);
    fill(body,
      input,
      h('p', { class: 'muted card-where' }, 'in list ', h('strong', { 'data-testid': 'card-list' }, listName),
        card.closed ? h('span', { class: 'archived-banner', 'data-testid': 'card-archived-banner' }, ' · This card is archived') : null));
  }

  // ---------- labels, members, dates ----------

  function renderLabels(body) {
    const on = new Set(card.idLabels || []);
    fill(body, h('div', { class: 'chip-row' }, ctx.labels.map((label) => h('button', {
      type: 'button', class: ['toggle-chip', on.has(label.id) && 'on'], 'aria-pressed': String(on.has(label.id)), disabled: !write(),
      // A label may have a colour and no name: the button still says which label it is.
      'aria-label': `${label.name || 'Unnamed'} label${label.color ? ` (${label.color})` : ''}`,
      'data-testid': 'card-label-toggle', dataset: { labelId: label.id },
      on: { click: async () => {
        const next = on.has(label.id) ? [...on].filter((id) => id !== label.id) : [...on, label.id];
        await attempt(() => putCard({ idLabels: next }));
      } },
    }, labelChip(label), on.has(label.id) ? ' ✓' : ''))),
    ctx.labels.length ? null : h('p', { class: 'muted' }, 'This board has no labels (add them in the board menu).'));
  }

  function renderMembers(body) {
    const on = new Set(card.idMembers || []);
    fill(body, h('div', { class: 'chip-row' }, ctx.members.map((m) => h('button', {
      type: 'button', class: ['toggle-chip', on.has(m.id) && 'on'], 'aria-pressed': String(on.has(m.id)), disabled: !write(),
      'data-testid': 'card-member-toggle', dataset: { memberId: m.id },
      on: { click: () => attempt(() => putCard({ idMembers: on.has(m.id) ? [...on].filter((id) => id !== m.id) : [...on, m.id] })) },
    }, avatar(m), ` ${memberName(m)}`, on.has(m.id) ? ' ✓' : ''))));
  }

  function renderDates(body) {
    const due = h('input', { type: 'datetime-local', id: 'card-due', 'data-testid': 'card-due', value: toLocalInput(card.due), disabled: !write() });
    const start = h('input', { type: 'datetime-local', id: 'card-start', 'data-testid': 'card-start', value: toLocalInput(card.start), disabled: !write() });
    const complete = h('input', { type: 'checkbox', id: 'card-due-complete', 'data-testid': 'card-due-complete', checked: Boolean(card.dueComplete), disabled: !write() || !card.due });
    due.addEventListener('change', () => attempt(() => putCard({ due: fromLocalInput(due.value) })));
    start.addEventListener('change', () => attempt(() => putCard({ start: fromLocalInput(start.value) })));
    complete.addEventListener('change', () => attempt(() => putCard({ dueComplete: complete.checked })));
    const state = dueState(card);
    fill(body,
      h('div', { class: 'date-row' },
        h('label', { for: 'card-start' }, 'Start'), start,
        card.start && write() ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'card-start-clear', on: { click: () => attempt(() => putCard({ start: null })) } }, 'Remove') : null),
      h('div', { class: 'date-row' },
        h('label', { for: 'card-due' }, 'Due'), due,
        card.due && write() ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'card-due-clear', on: { click: () => attempt(() => putCard({ due: null })) } }, 'Remove') : null),
      h('div', { class: 'date-row' }, complete, h('label', { for: 'card-due-complete' }, 'Complete'),
        state ? h('span', { class: ['due-pill', `due-${state}`], 'data-testid': 'card-due-state' }, { complete: 'complete', overdue: 'overdue', soon: 'due soon', later: 'due later' }[state]) : null));
  }

  // ---------- description ----------

  function renderDesc(body, el) {
    const view = () => {
      delete el.dataset.editing;
      const shown = h('div', { class: 'markdown', 'data-testid': 'card-desc' });
      if (card.desc) shown.appendChild(renderMarkdown(card.desc));
      else shown.appendChild(h('p', { class: 'muted' }, 'No description.'));
      fill(body, shown, write() ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'card-desc-edit', on: { click: () => edit(card.desc || '') } }, 'Edit') : null);
    };
    // `base` is the description the member started from. Saving when the card's text is no
    // longer `base` shows theirs first (a second Save keeps the draft); If-Match with the
    // latest version read catches a change that has not reached this dialog yet.
    const edit = (draft, base = card.desc || '') => {
      el.dataset.editing = '1';
      const input = h('textarea', { class: 'desc-input', rows: 8, 'data-testid': 'card-desc-input', 'aria-label': 'Description (Markdown)' });
      input.value = draft;
      const conflict = () => {
        toast('Changed by someone else, reloaded. Their text is shown above your draft; Save again to keep yours.', 'error');
        edit(input.value, card.desc || '');
        body.prepend(h('div', { class: 'notice', 'data-testid': 'card-desc-conflict' }, h('strong', null, 'The description was changed by someone else. Theirs:'),
          h('div', { class: 'markdown' }, renderMarkdown(card.desc || ''))));
      };
      const save = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'card-desc-save', on: { click: async () => {
        if ((card.desc || '') !== base) { conflict(); return; }
        save.disabled = true;
        try {
          await putCard({ desc: input.value }, { ifMatch: typeof card.corkVersion === 'number' ? card.corkVersion : undefined });
          delete el.dataset.editing;
          view();
        } catch (err) {
          if (!(err instanceof ApiError && err.stale)) { reportError(err); return; }
          await load().catch(() => {});
          renderAll();
          if ((card.desc || '') !== base) conflict();
          else { save.disabled = false; save.click(); } // only other fields changed: save over the new version
        } finally { save.disabled = false; }
      } } }, 'Save');
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); view(); }
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); save.click(); }
      });
      fill(body, input, h('div', { class: 'row' }, save,
        h('button', { type: 'button', class: 'btn', 'data-testid': 'card-desc-cancel', on: { click: view } }, 'Cancel'),
        h('span', { class: 'muted small' }, 'Markdown: **bold**, *italic*, `code`, lists, > quotes, [links](https://…)')));
      input.focus();
    };
    if (el.dataset.editing !== '1') view();
  }

  // ---------- custom fields ----------

  function renderCustomFields(body, el) {
    const fields = [...ctx.customFields].sort(byPos);
    el.hidden = fields.length === 0;
    const items = new Map((card.customFieldItems || []).map((i) => [i.idCustomField, i]));
    const set = (field, payload) => attempt(async () => { await api.put(`/1/cards/${cid()}/customField/${field.id}/item`, payload); changed(); });
    fill(body, fields.map((f) => {
      const item = items.get(f.id);
      const value = item?.value || {};
      const id = `cf-${f.id}`;
      let input;
      switch (f.type) {
        case 'checkbox':
          input = h('input', { type: 'checkbox', id, checked: value.checked === 'true' || value.checked === true });
          input.addEventListener('change', () => set(f, { value: { checked: input.checked ? 'true' : 'false' } }));
          break;
        case 'number':
          input = h('input', { type: 'number', id, step: 'any', value: value.number ?? '' });
          input.addEventListener('change', () => set(f, input.value === '' ? { value: '' } : { value: { number: input.value } }));
          break;
        case 'date':
          input = h('input', { type: 'datetime-local', id, value: toLocalInput(value.date) });
          input.addEventListener('change', () => set(f, input.value ? { value: { date: fromLocalInput(input.value) } } : { value: '' }));
          break;
        case 'list': {
          const options = f.options || f.display?.options || [];
          input = h('select', { id }, h('option', { value: '' }, '—'),
            options.map((o) => h('option', { value: o.id, selected: item?.idValue === o.id }, o.value?.text ?? '')));
          input.addEventListener('change', () => set(f, { idValue: input.value }));
          break;
        }
        default:
          input = h('input', { type: 'text', id, value: value.text ?? '' });
          input.addEventListener('change', () => { delete input.dataset.dirty; set(f, input.value === '' ? { value: '' } : { value: { text: input.value } }); });
      }
      input.disabled = !write();
      input.dataset.testid = 'custom-field-input';
      input.setAttribute('data-testid', 'custom-field-input');
      return h('div', { class: 'field-row', 'data-testid': 'custom-field', dataset: { fieldId: f.id, type: f.type } },
        h('label', { for: id }, f.name || f.display?.name || 'Field'), input);
    }));
  }

  // ---------- checklists ----------

  function inlineEdit(text, save, testid, label) {
    // Text shown as a button; clicking edits it in place.
    const wrap = h('span', { class: 'inline-edit' });
    const show = () => fill(wrap, h('button', { type: 'button', class: 'text-btn', 'data-testid': testid, disabled: !write(), on: { click: edit } }, text));
    const edit = () => {
      const input = h('input', { type: 'text', value: text, 'aria-label': label, 'data-testid': `${testid}-input` });
      let done = false;
      const finish = async (keep) => {
        if (done) return;
        done = true;
        const v = input.value.trim();
        if (keep && v && v !== text) await attempt(() => save(v));
        show();
      };
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') { e.preventDefault(); finish(true); }
        if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); finish(false); }
      });
      input.addEventListener('blur', () => finish(true));
      fill(wrap, input);
      input.focus();
    };
    show();
    return wrap;
  }

  // Checklists are kept per id across refreshes: a refresh redraws their items and
  // progress but never the inputs, so text being typed (a new item, a new checklist's
  // name) survives other people's writes and this dialog's own reloads.
  const checklistEls = new Map();
  let addChecklistForm = null;

  function checklistEl(id) {
    const st = { cl: null };
    const itemsEl = h('ul', { class: 'plain checkitems' });
    const progressText = h('span', { class: 'muted', 'data-testid': 'checklist-progress' });
    const progress = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('div', { class: 'progress-bar' }));
    const nameBox = h('span', { class: 'checklist-name' });
    const drawItems = () => {
      const cl = st.cl;
      const items = [...(cl.checkItems || [])].sort(byPos);
      const done = items.filter((i) => i.state === 'complete').length;
      const pct = items.length ? Math.round((done / items.length) * 100) : 0;
      progressText.textContent = `${done}/${items.length}`;
      progress.setAttribute('aria-valuenow', String(pct));
      progress.setAttribute('aria-label', `${cl.name} progress`);
      progress.firstChild.style.width = `${pct}%`;
      // An item being renamed keeps its row until the rename ends.
      if (itemsEl.querySelector('input[type=text]')) return;
      // The rows are new elements: focus goes back to the same control of the same item.
      const a = document.activeElement;
      const was = a && itemsEl.contains(a) ? [a.closest('[data-check-item-id]')?.dataset.checkItemId, a.dataset.testid] : null;
      fill(itemsEl, items.map((item, i) => itemEl(item, i, items)));
      if (was) itemsEl.querySelector(`[data-check-item-id="${was[0]}"] [data-testid="${was[1]}"]`)?.focus();
    };
    const itemEl = (item, i, items) => {
      const box = h('input', { type: 'checkbox', checked: item.state === 'complete', 'data-testid': 'checkitem-toggle', 'aria-label': item.name, disabled: !write() });
      box.addEventListener('change', async () => {
        const state = box.checked ? 'complete' : 'incomplete';
        if (!(await attempt(() => api.put(`/1/cards/${cid()}/checkItem/${item.id}`, { state })))) box.checked = !box.checked;
        else { item.state = state; drawItems(); changed(); }
      });
      const move = (delta) => attempt(async () => {
        const others = items.filter((x) => x.id !== item.id);
        const pos = posAt(others, i + delta);
        await api.put(`/1/cards/${cid()}/checkItem/${item.id}`, { pos });
        item.pos = pos;
        drawItems();
        changed();
      });
      return h('li', { class: ['checkitem', item.state === 'complete' && 'done'], 'data-testid': 'checkitem', dataset: { checkItemId: item.id } },
        box,
        inlineEdit(item.name, async (name) => { await api.put(`/1/cards/${cid()}/checkItem/${item.id}`, { name }); item.name = name; changed(); }, 'checkitem-name', 'Item name'),
        write() ? h('span', { class: 'item-tools' },
          h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Move up', 'data-testid': 'checkitem-up', disabled: i === 0, on: { click: () => move(-1) } }, '↑'),
          h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Move down', 'data-testid': 'checkitem-down', disabled: i === items.length - 1, on: { click: () => move(1) } }, '↓'),
          h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Delete item', 'data-testid': 'checkitem-delete', on: { click: () => attempt(async () => {
            await api.del(`/1/checklists/${st.cl.id}/checkItems/${item.id}`);
            st.cl.checkItems = (st.cl.checkItems || []).filter((x) => x.id !== item.id);
            drawItems();
            changed();
          }) } }, '×')) : null);
    };
    const addInput = h('input', { type: 'text', placeholder: 'Add an item', 'data-testid': 'add-checkitem' });
    // Enter adds and empties the input at once; the posts go one after another, so items
    // typed quickly keep their order and the input never loses focus.
    let queue = Promise.resolve();
    const addItem = () => {
      const name = addInput.value.trim();
      if (!name) return;
      addInput.value = '';
      delete addInput.dataset.dirty;
      queue = queue.then(async () => {
        const item = await attempt(() => api.post(`/1/checklists/${id}/checkItems`, { name, pos: 'bottom' }));
        if (item) { st.cl.checkItems = [...(st.cl.checkItems || []).filter((x) => x.id !== item.id), item]; drawItems(); changed(); }
        else if (!addInput.value) addInput.value = name;
      });
    };
    addInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); addItem(); } });
    const addRow = h('div', { class: 'inline-form' }, addInput,
      h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'add-checkitem-submit', on: { click: () => { addItem(); addInput.focus(); } } }, 'Add'));
    const deleteBtn = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'checklist-delete', on: { click: async () => {
      if (!(await confirmDialog(`Delete the checklist ${st.cl.name}?`, { ok: 'Delete', danger: true }))) return;
      if (await attempt(() => api.del(`/1/checklists/${id}`))) {
        card.checklists = (card.checklists || []).filter((c) => c.id !== id);
        renderSection('checklists', true);
        changed();
      }
    } } }, 'Delete');
    const el = h('div', { class: 'checklist', 'data-testid': 'checklist', dataset: { checklistId: id } },
      h('div', { class: 'checklist-head' }, nameBox, progressText, deleteBtn), progress, itemsEl, addRow);
    el.update = (cl) => {
      st.cl = cl;
      if (!nameBox.querySelector('input')) {
        fill(nameBox, inlineEdit(cl.name, async (name) => { await api.put(`/1/checklists/${id}`, { name }); st.cl.name = name; changed(); }, 'checklist-name', 'Checklist name'));
      }
      addInput.setAttribute('aria-label', `Add an item to ${cl.name}`);
      addInput.disabled = !write();
      deleteBtn.hidden = !write();
      addRow.hidden = !write();
      drawItems();
    };
    el.addInput = addInput;
    return el;
  }

  function renderChecklists(body) {
    const lists = [...(card.checklists || [])].sort(byPos);
    const els = lists.map((cl) => {
      let el = checklistEls.get(cl.id);
      if (!el) { el = checklistEl(cl.id); checklistEls.set(cl.id, el); }
      el.update(cl);
      return el;
    });
    for (const id of checklistEls.keys()) if (!lists.some((cl) => cl.id === id)) checklistEls.delete(id);
    if (!addChecklistForm) {
      const name = h('input', { type: 'text', value: 'Checklist', 'aria-label': 'New checklist name', 'data-testid': 'add-checklist-name' });
      const add = async () => {
        const title = name.value.trim() || 'Checklist';
        name.value = 'Checklist';
        delete name.dataset.dirty;
        const created = await attempt(() => api.post(`/1/cards/${cid()}/checklists`, { name: title }));
        if (!created) { name.value = title; return; }
        card.checklists = [...(card.checklists || []).filter((c) => c.id !== created.id), { ...created, checkItems: created.checkItems || [] }];
        renderSection('checklists', true);
        changed();
        // Straight on to its first item, unless the member has moved on to typing elsewhere.
        if (!document.activeElement || document.activeElement === document.body || document.activeElement === addButton || document.activeElement === name) {
          checklistEls.get(created.id)?.addInput.focus();
        }
      };
      const addButton = h('button', { type: 'button', class: 'btn', 'data-testid': 'add-checklist', on: { click: add } }, 'Add checklist');
      name.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); add(); } });
      addChecklistForm = h('div', { class: 'inline-form add-checklist' }, name, addButton);
    }
    addChecklistForm.hidden = !write();
    keepFocus(() => syncChildren(body, [...els, addChecklistForm]));
  }

  // ---------- attachments ----------

  // The upload and link forms are made once: a refresh redraws the list only, so an upload
  // in progress keeps its bar and a link being typed keeps its text.
  let attachForms = null;
  const attachList = h('ul', { class: 'plain attachments' });

  function makeAttachForms() {
    const file = h('input', { type: 'file', multiple: true, 'data-testid': 'attach-file', 'aria-label': 'Attach files' });
    const progressBox = h('div', { class: 'uploads', 'aria-live': 'polite' });
    file.addEventListener('change', async () => {
      const files = [...file.files];
      file.value = '';
      for (const f of files) {
        const bar = h('progress', { max: 1, value: 0, 'data-testid': 'upload-progress', 'aria-label': `Uploading ${f.name}` });
        const row = h('div', { class: 'upload-row' }, h('span', null, f.name), bar);
        progressBox.appendChild(row);
        const form = new FormData();
        form.append('file', f);
        form.append('name', f.name);
        try {
          await upload(`/1/cards/${cid()}/attachments`, form, (p) => { bar.value = p; });
          toast(`Attached ${f.name}`, 'success');
        } catch (err) { reportError(err); }
        row.remove();
        changed();
      }
    });
    const url = h('input', { type: 'url', placeholder: 'https://…', 'aria-label': 'Link to attach', 'data-testid': 'attach-url' });
    const urlName = h('input', { type: 'text', placeholder: 'Link name (optional)', 'aria-label': 'Link name', 'data-testid': 'attach-url-name' });
    return h('div', { class: 'attach-forms' },
      h('label', { class: 'file-label' }, 'Upload files ', file), progressBox,
      h('form', { class: 'inline-form', on: { submit: async (e) => {
        e.preventDefault();
        if (!url.value.trim()) return;
        const ok = await attempt(() => api.post(`/1/cards/${cid()}/attachments`, { url: url.value.trim(), name: urlName.value.trim() || undefined }));
        if (ok) { url.value = ''; urlName.value = ''; delete url.dataset.dirty; delete urlName.dataset.dirty; changed(); }
      } } }, url, urlName, h('button', { type: 'submit', class: 'btn btn-small', 'data-testid': 'attach-url-submit' }, 'Attach link')));
  }

  function renderAttachments(body) {
    const list = [...(card.attachments || [])].sort((a, b) => (a.pos ?? 0) - (b.pos ?? 0));
    const row = (a) => {
      const href = localUrl(a.url);
      const isImage = /^image\//.test(a.mimeType || '') || (a.previews || []).length > 0;
      const isCover = card.idAttachmentCover === a.id;
      return h('li', { class: 'attachment', 'data-testid': 'attachment', dataset: { attachmentId: a.id } },
        isImage && a.isUpload ? h('img', { class: 'thumb', src: href, alt: '', loading: 'lazy' }) : h('span', { class: 'thumb thumb-file', 'aria-hidden': 'true' }, a.isUpload ? 'FILE' : 'LINK'),
        h('div', { class: 'grow' },
          h('a', { href, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'attachment-link', ...(a.isUpload ? { download: a.fileName || a.name } : {}) }, a.name || a.fileName || a.url),
          h('div', { class: 'muted small' }, a.date ? relativeTime(a.date) : '', a.bytes ? ` · ${Math.ceil(a.bytes / 1024)} KB` : '', isCover ? ' · cover' : '')),
        write() ? h('span', { class: 'item-tools' },
          isImage ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'attachment-cover', on: { click: () => attempt(() => putCard({ idAttachmentCover: isCover ? '' : a.id })) } }, isCover ? 'Remove cover' : 'Make cover') : null,
          h('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'attachment-delete', on: { click: async () => {
            if (!(await confirmDialog(`Delete the attachment ${a.name}?`, { ok: 'Delete', danger: true }))) return;
            if (await attempt(() => api.del(`/1/cards/${cid()}/attachments/${a.id}`))) changed();
          } } }, 'Delete')) : null);
    };
    fill(attachList, list.map(row));
    if (!attachForms) attachForms = makeAttachForms();
    attachForms.hidden = !write();
    keepFocus(() => syncChildren(body, [attachList, attachForms]));
  }

  // ---------- comments ----------

  function renderComments(body, el) {
    const comments = actions.filter((a) => a.type === 'commentCard');
    const commentEl = (a) => {
      const mine = a.idMemberCreator === session.me;
      const text = h('div', { class: 'markdown', 'data-testid': 'comment-body' }, renderMarkdown(a.data?.text || ''));
      const box = h('li', { class: 'comment', 'data-testid': 'comment', dataset: { actionId: a.id } },
        h('div', { class: 'comment-head' }, avatar(a.memberCreator), h('strong', null, memberName(a.memberCreator)),
          h('time', { class: 'muted', datetime: a.date, title: new Date(a.date).toLocaleString() }, ` ${relativeTime(a.date)}`),
          a.data?.dateLastEdited ? h('span', { class: 'muted' }, ' (edited)') : null),
        text,
        mine && ctx.canWrite() ? h('div', { class: 'row' },
          h('button', { type: 'button', class: 'text-btn', 'data-testid': 'comment-edit', on: { click: () => {
            el.dataset.editing = '1';
            const input = h('textarea', { rows: 3, 'data-testid': 'comment-edit-input', 'aria-label': 'Edit comment' });
            input.value = a.data?.text || '';
            const stop = () => { delete el.dataset.editing; delete input.dataset.dirty; renderSection('comments', true); };
            text.replaceWith(h('div', { class: 'stack' }, input, h('div', { class: 'row' },
              h('button', { type: 'button', class: 'btn btn-primary btn-small', 'data-testid': 'comment-save', on: { click: async () => {
                if (!input.value.trim()) return;
                if (await attempt(() => api.put(`/1/cards/${cid()}/actions/${a.id}/comments`, { text: input.value }))) {
                  delete el.dataset.editing;
                  delete input.dataset.dirty;
                  changed();
                }
              } } }, 'Save'),
              h('button', { type: 'button', class: 'btn btn-small', on: { click: stop } }, 'Cancel'))));
            input.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); stop(); } });
            input.focus();
          } } }, 'Edit'),
          h('button', { type: 'button', class: 'text-btn', 'data-testid': 'comment-delete', on: { click: async () => {
            if (!(await confirmDialog('Delete this comment?', { ok: 'Delete', danger: true }))) return;
            if (await attempt(() => api.del(`/1/cards/${cid()}/actions/${a.id}/comments`))) changed();
          } } }, 'Delete')) : null);
      return box;
    };
    fill(body, h('ul', { class: 'plain comments', 'data-testid': 'comments' }, comments.map(commentEl)));
  }

  function commentComposer() {
    const input = h('textarea', { rows: 2, placeholder: 'Write a comment… (Markdown)', 'data-testid': 'comment-input', 'aria-label': 'Comment' });
    const submit = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'comment-submit', on: { click: async () => {
      const text = input.value.trim();
      if (!text) { input.focus(); return; }
      submit.disabled = true;
      const done = await attempt(() => api.post(`/1/cards/${cid()}/actions/comments`, { text }));
      submit.disabled = false;
      if (done) { input.value = ''; delete input.dataset.dirty; announce('Comment added'); changed(); }
    } } }, 'Comment');
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit.click(); } });
    return h('div', { class: 'comment-composer' }, input, h('div', { class: 'row' }, submit));
  }

  // ---------- activity ----------

  function renderActivity(body) {
    fill(body, actions.length
      ? h('ul', { class: 'activity plain', 'data-testid': 'card-activity' }, actions.map((a) => activityEntry(a, { canWrite: ctx.canWrite(), members: ctx.members, onUndone: () => { ctx.refreshBoard(); scheduleReload(); } })))
      : h('p', { class: 'muted', 'data-testid': 'card-activity' }, 'No activity yet.'));
  }

  // ---------- side actions ----------

  function renderSide(body) {
    const can = ctx.canWrite();
    fill(body,
      h('button', { type: 'button', class: 'btn side-btn', 'data-testid': 'card-move', disabled: !write(), on: { click: moveDialog } }, 'Move'),
      h('button', { type: 'button', class: 'btn side-btn', 'data-testid': 'card-copy', disabled: !can, on: { click: copyDialog } }, 'Copy'),
      h('button', { type: 'button', class: 'btn side-btn', 'data-testid': 'card-archive', disabled: !can, on: { click: async () => {
        const closed = !card.closed;
        if (await attempt(() => putCard({ closed }))) { toast(closed ? 'Card archived' : 'Card sent back to the board', 'success'); renderAll(); }
      } } }, card.closed ? 'Send to board' : 'Archive'),
      h('button', { type: 'button', class: 'btn side-btn btn-danger', 'data-testid': 'card-delete', disabled: !can, on: { click: async () => {
        if (!(await confirmDialog(`Delete the card ${card.name}? There is no archive for deleted cards (an admin can undo it from the activity).`, { ok: 'Delete card', danger: true }))) return;
        if (await attempt(() => api.del(`/1/cards/${cid()}`))) {
          toast(`Deleted ${card.name}`, 'success');
          ctx.cardRemoved(card.id);
          dialog.close();
        }
      } } }, 'Delete'),
      h('a', { class: 'muted small', href: cardPath(card) }, 'Link to this card'));
  }

  async function boardLists(idBoard) {
    return (await api.get(`/1/boards/${idBoard}/lists`, { filter: 'open', fields: 'name,pos' })).sort(byPos);
  }

  async function moveDialog() {
    const boards = await attempt(() => api.get('/1/members/me/boards', { filter: 'open', fields: 'name,url,shortLink' }));
    if (!boards) return;
    const boardSel = h('select', { id: 'mv-board', 'data-testid': 'move-board' }, boards.map((b) => h('option', { value: b.id, selected: b.id === card.idBoard }, b.name)));
    const listSel = h('select', { id: 'mv-list', 'data-testid': 'move-list' });
    const where = h('select', { id: 'mv-pos', 'data-testid': 'move-position' }, h('option', { value: 'top' }, 'Top'), h('option', { value: 'bottom', selected: true }, 'Bottom'));
    const loadLists = async () => {
      const lists = await attempt(() => boardLists(boardSel.value));
      fill(listSel, (lists || []).map((l) => h('option', { value: l.id, selected: l.id === card.idList }, l.name)));
    };
    boardSel.addEventListener('change', loadLists);
    await loadLists();
    const { close } = modal('Move card', h('form', { class: 'stack', on: { submit: async (e) => {
      e.preventDefault();
      if (!listSel.value) return;
      const body = { idList: listSel.value, pos: where.value };
      if (boardSel.value !== card.idBoard) body.idBoard = boardSel.value;
      const moved = await attempt(() => api.put(`/1/cards/${cid()}`, body));
      if (!moved) return;
      close();
      if (moved.idBoard !== ctx.board.id) {
        ctx.cardRemoved(moved.id);
        toast(`Moved ${moved.name} to another board`, 'success');
        closedSilently = true;
        dialog.close();
        navigate(boardPath(ctx.board));
      } else { Object.assign(card, moved); changed(moved); toast('Card moved', 'success'); }
    } } },
      h('label', { for: 'mv-board' }, 'Board'), boardSel, h('label', { for: 'mv-list' }, 'List'), listSel, h('label', { for: 'mv-pos' }, 'Position'), where,
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'move-submit' }, 'Move')), { testid: 'move-dialog' });
  }

  async function copyDialog() {
    const name = h('input', { type: 'text', id: 'cp-name', value: card.name, 'data-testid': 'copy-name' });
    const listSel = h('select', { id: 'cp-list', 'data-testid': 'copy-list' }, ctx.lists.map((l) => h('option', { value: l.id, selected: l.id === card.idList }, l.name)));
    const { close } = modal('Copy card', h('form', { class: 'stack', on: { submit: async (e) => {
      e.preventDefault();
      const copy = await attempt(() => api.post('/1/cards', { idList: listSel.value, idCardSource: cid(), keepFromSource: 'all', name: name.value.trim() || card.name, pos: 'bottom' }));
      if (copy) { close(); ctx.cardChanged(copy); toast(`Copied to ${copy.name}`, 'success'); }
    } } },
      h('label', { for: 'cp-name' }, 'Name'), name, h('label', { for: 'cp-list' }, 'List'), listSel,
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'copy-submit' }, 'Copy')), { testid: 'copy-dialog' });
  }

  // ---------- assembly ----------

  function build() {
    const coverEl = h('div', { class: 'dialog-cover' });
    fill(content,
      h('div', { class: 'card-dialog-head' },
        section('title', null, 'card-title-section', renderTitle),
        h('button', { type: 'button', class: 'icon-btn close-btn', 'aria-label': 'Close', 'data-testid': 'card-close', on: { click: () => dialog.close() } }, '×')),
      coverEl,
      h('div', { class: 'card-dialog-cols' },
        h('div', { class: 'card-main' },
          section('labels', 'Labels', 'card-labels', renderLabels),
          section('members', 'Members', 'card-members', renderMembers),
          section('dates', 'Dates', 'card-dates', renderDates),
          section('desc', 'Description', 'card-desc-section', renderDesc),
          section('fields', 'Custom fields', 'card-custom-fields', renderCustomFields),
          section('checklists', 'Checklists', 'card-checklists', renderChecklists, { keepsInputs: true }),
          section('attachments', 'Attachments', 'card-attachments', renderAttachments, { keepsInputs: true }),
          h('section', { class: 'card-section', 'aria-label': 'Comments' }, h('h3', null, 'Comments'), commentComposer()),
          section('comments', null, 'card-comments', renderComments),
          section('activity', 'Activity', 'card-activity-section', renderActivity)),
        h('aside', { class: 'card-side' }, section('side', 'Actions', 'card-actions', renderSide))));
  }

  reload();

  return {
    matches: (r) => Boolean(card && (r === card.id || r === card.shortLink)) || r === ref,
    refresh: () => scheduleReload(0),
    close: ({ silent = false } = {}) => { closedSilently = silent; if (dialog.open) dialog.close(); else dialog.remove(); },
  };
}
