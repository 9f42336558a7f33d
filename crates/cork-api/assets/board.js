// The board page: lists as columns, cards, the filter bar, drag and drop, keyboard moves,
// live updates from the board's event stream, and the card dialog over it.
//
// Elements are kept per id across refreshes (a refresh re-renders what changed and moves
// what moved), so open inputs, composers and focus survive other people's writes.

import { h, fill, syncChildren, keepFocus } from './dom.js';
import { api, localUrl, session } from './api.js';
import {
  byPos, posAt, dueState, shortDate, cardMatches, filterActive, EMPTY_FILTER, boardPath, cardPath, memberName,
} from './logic.js';
import { navigate, toast, announce, reportError, attempt, confirmDialog, link } from './ui.js';
import { paintBackground, BACKGROUNDS, labelChip, labelClass, avatar, icon } from './widgets.js';
import { openCardDialog } from './card.js';
import { createPanel } from './boardmenu.js';

const BOARD_QUERY = {
  fields: 'all', lists: 'open', cards: 'visible', labels: 'all', label_fields: 'all', members: 'all', member_fields: 'fullName,username,initials,avatarUrl',
  memberships: 'all', customFields: 'true', card_customFieldItems: 'true',
};

const coverCache = new Map(); // idAttachment → image url or null

export async function mountBoard(main, route, ctx) {
  const st = {
    board: null, lists: [], cards: new Map(), labels: [], members: [], memberships: [], customFields: [],
    filter: { ...EMPTY_FILTER }, starId: null, pending: 0, refreshQueued: false, drag: null, destroyed: false,
  };
  const listEls = new Map();
  const cardEls = new Map();
  let dialog = null; // the open card dialog's controller
  let events = null;
  let refreshTimer = null;

  fill(main, h('p', { class: 'muted pad' }, 'Loading board…'));

  // A card URL names the card: find its board first.
  let boardRef = route.board;
  let openCardRef = null;
  if (route.page === 'card') {
    const card = await api.get(`/1/cards/${encodeURIComponent(route.card)}`, { fields: 'idBoard,shortLink,name' });
    boardRef = card.idBoard;
    openCardRef = card.id;
  }

  // ---------- data ----------

  const myRole = () => st.memberships.find((m) => m.idMember === session.me)?.memberType || null;
  // A mirrored board takes its changes from its source only: shown, never edited here.
  const mirror = () => st.board?.cork?.mirror || null;
  const canWrite = () => !mirror() && ['admin', 'normal'].includes(myRole());
  const isAdmin = () => myRole() === 'admin';
  const listById = (id) => st.lists.find((l) => l.id === id);
  const cardsOf = (idList) => [...st.cards.values()].filter((c) => c.idList === idList && !c.closed).sort(byPos);
  const visibleCardsOf = (idList) => cardsOf(idList).filter((c) => cardMatches(c, st.filter));

  async function load() {
    const b = await api.get(`/1/boards/${encodeURIComponent(boardRef)}`, BOARD_QUERY);
    st.board = b;
    st.lists = (b.lists || []).filter((l) => !l.closed).sort(byPos);
    st.cards = new Map((b.cards || []).map((c) => [c.id, c]));
    st.labels = b.labels || [];
    st.members = b.members || [];
    st.memberships = b.memberships || [];
    st.customFields = b.customFields || [];
  }

  async function loadStar() {
    const stars = await api.get('/1/members/me/boardStars').catch(() => []);
    st.starId = stars.find((s) => s.idBoard === st.board.id)?.id || null;
  }

  /**
   * Refetches the board (and the open card) soon; several events make one refetch, and a
   * busy board is read at most about once a second (the session's budget is 100 requests
   * per 10 s).
   */
  let lastRefresh = 0;
  function scheduleRefresh(delay = 100, { throttle = true } = {}) {
    clearTimeout(refreshTimer);
    const wait = throttle ? Math.max(delay, lastRefresh + 500 - Date.now()) : delay;
    refreshTimer = setTimeout(refresh, wait);
  }
  // After the member's own action the board is read at once.
  const refreshNow = () => scheduleRefresh(0, { throttle: false });

  async function refresh() {
    if (st.destroyed) return;
    // Our own write in flight would be shown undone by a read taken before it commits.
    if (st.pending > 0 || st.drag) { st.refreshQueued = true; return; }
    lastRefresh = Date.now();
    try {
      await load();
      render();
      if (panel) panel.refresh();
      if (dialog) dialog.refresh();
    } catch (err) {
      reportError(err);
    }
  }

  function settled() {
    st.pending = Math.max(0, st.pending - 1);
    if (st.pending === 0 && st.refreshQueued) { st.refreshQueued = false; scheduleRefresh(0); }
  }

  /** Replaces a card with the server's version of it. */
  function putCard(card) {
    if (!card || !card.id) return;
    const old = st.cards.get(card.id);
    st.cards.set(card.id, old ? { ...old, ...card } : card);
  }

  // ---------- writes ----------

  /** Moves a card to `index` among the visible cards of `idList` (itself excluded). */
  async function moveCard(id, idList, index, { announceIt = false } = {}) {
    const card = st.cards.get(id);
    if (!card || !canWrite()) return;
    const others = visibleCardsOf(idList).filter((c) => c.id !== id);
    const pos = posAt(others, index);
    const before = { idList: card.idList, pos: card.pos };
    if (before.idList === idList && before.pos === pos) return;
    Object.assign(card, { idList, pos });
    render();
    if (announceIt) {
      focusCard(id);
      const list = listById(idList);
      announce(`${card.name} moved to ${list ? list.name : 'list'}, position ${Math.min(index, others.length) + 1} of ${others.length + 1}`);
    }
    st.pending++;
    try {
      const body = { pos };
      if (before.idList !== idList) body.idList = idList;
      putCard(await api.put(`/1/cards/${id}`, body));
    } catch (err) {
      Object.assign(card, before);
      reportError(err);
      if (announceIt) announce(`Move of ${card.name} undone: ${err.message}`);
    } finally {
      settled();
      render();
      if (announceIt) focusCard(id);
    }
  }

  async function moveList(id, index, { announceIt = false } = {}) {
    const list = listById(id);
    if (!list || !canWrite()) return;
    const others = st.lists.filter((l) => l.id !== id);
    const pos = posAt(others, index);
    const before = list.pos;
    list.pos = pos;
    st.lists.sort(byPos);
    render();
    listEls.get(id)?.focus();
    if (announceIt) announce(`List ${list.name} moved to position ${Math.min(index, others.length) + 1} of ${others.length + 1}`);
    st.pending++;
    try {
      const saved = await api.put(`/1/lists/${id}`, { pos });
      if (saved && saved.pos !== undefined) list.pos = saved.pos;
    } catch (err) {
      list.pos = before;
      reportError(err);
    } finally {
      st.lists.sort(byPos);
      settled();
      render();
    }
  }

  async function addCard(idList, name) {
    const card = await api.post('/1/cards', { idList, name, pos: 'bottom' });
    putCard(card);
    render();
    return card;
  }

  async function addList(name) {
    const last = st.lists[st.lists.length - 1];
    const list = await api.post('/1/lists', { idBoard: st.board.id, name, pos: last ? last.pos + 65536 : 65536 });
    st.lists.push(list);
    st.lists.sort(byPos);
    render();
    return list;
  }

  // ---------- card elements ----------

  let epoch = ''; // labels and members as text: cards re-render when these change

  function cover(card) {
    const id = card.idAttachmentCover;
    if (!id) {
      // A colour cover (Trello's cover.color) is a plain strip.
      return card.cover?.color ? h('div', { class: ['card-cover', 'card-cover-colour', labelClass(card.cover.color)], 'aria-hidden': 'true' }) : null;
    }
    const strip = h('div', { class: 'card-cover' });
    const show = (url) => { if (url) fill(strip, h('img', { src: url, alt: '', loading: 'lazy' })); else strip.remove(); };
    if (coverCache.has(id)) show(coverCache.get(id));
    else {
      api.get(`/1/cards/${card.id}/attachments/${id}`).then((a) => {
        const image = a && (/^image\//.test(a.mimeType || '') || (a.previews || []).length) ? localUrl(a.url) : null;
        coverCache.set(id, image);
        show(image);
      }).catch(() => { coverCache.set(id, null); show(null); });
    }
    return strip;
  }

  function badges(card) {
    const b = card.badges || {};
    const out = [];
    const state = dueState(card);
    if (card.due) {
      const words = { complete: 'complete', overdue: 'overdue', soon: 'due soon', later: '' }[state];
      out.push(h('span', { class: ['badge-item', 'due', `due-${state}`], 'data-testid': 'card-due-badge', title: `Due ${new Date(card.due).toLocaleString()}${words ? ` (${words})` : ''}` },
        icon(state === 'complete' ? 'check' : 'clock'), ' ', shortDate(card.due)));
    }
    if (card.start) out.push(h('span', { class: 'badge-item', title: `Starts ${new Date(card.start).toLocaleString()}` }, icon('start'), ' ', shortDate(card.start)));
    if (b.description || card.desc) out.push(h('span', { class: 'badge-item', title: 'This card has a description', 'aria-label': 'has a description', role: 'img' }, icon('desc')));
    if (b.checkItems) out.push(h('span', { class: ['badge-item', b.checkItemsChecked === b.checkItems && 'done'], 'data-testid': 'card-checklist-badge', title: 'Checklist items' }, icon('check'), ` ${b.checkItemsChecked || 0}/${b.checkItems}`));
    if (b.comments) out.push(h('span', { class: 'badge-item', title: 'Comments', 'aria-label': `${b.comments} comments` }, icon('comment'), ` ${b.comments}`));
    if (b.attachments) out.push(h('span', { class: 'badge-item', title: 'Attachments', 'aria-label': `${b.attachments} attachments` }, icon('attach'), ` ${b.attachments}`));
    return out;
  }

  function renderCard(card) {
    let el = cardEls.get(card.id);
    if (!el) {
      el = h('div', {
        class: 'card', tabindex: 0, role: 'button', draggable: 'true', 'data-testid': 'card', dataset: { cardId: card.id },
        on: {
          click: (e) => { if (!e.defaultPrevented) openCard(card.id); },
          keydown: (e) => onCardKey(e, card.id),
          dragstart: (e) => onDragStart(e, 'card', card.id),
          dragend: onDragEnd,
        },
      });
      cardEls.set(card.id, el);
    }
    const sig = JSON.stringify([card.name, card.idLabels, card.idMembers, card.badges, card.due, card.start, card.dueComplete, card.idAttachmentCover, card.cover?.color, card.desc ? 1 : 0, epoch]);
    if (el._sig === sig) return el;
    el._sig = sig;
    el.setAttribute('aria-label', card.name);
    const labels = (card.idLabels || []).map((id) => st.labels.find((l) => l.id === id)).filter(Boolean);
    const members = (card.idMembers || []).map((id) => st.members.find((m) => m.id === id)).filter(Boolean);
    const bs = badges(card);
    fill(el,
      cover(card),
      labels.length ? h('div', { class: 'card-labels' }, labels.map((l) => labelChip(l))) : null,
      h('div', { class: 'card-name' }, card.name),
      bs.length || members.length ? h('div', { class: 'card-foot' }, h('div', { class: 'card-badges' }, bs), h('div', { class: 'card-members' }, members.map(avatar))) : null);
    return el;
  }

  // ---------- list elements ----------

  function editableName(getName, save, testid) {
    // A button showing the name; clicking swaps in an input. Enter or blur saves.
    const wrap = h('div', { class: 'name-edit' });
    const showButton = () => fill(wrap, h('button', { type: 'button', class: 'name-btn', 'data-testid': testid, disabled: !canWrite(), on: { click: edit } }, getName()));
    const edit = () => {
      const input = h('input', { type: 'text', value: getName(), class: 'name-input', 'data-testid': `${testid}-input`, 'aria-label': 'Name' });
      let done = false;
      const finish = async (keep) => {
        if (done) return;
        done = true;
        const value = input.value.trim();
        if (keep && value && value !== getName()) await attempt(() => save(value));
        showButton();
      };
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') { e.preventDefault(); finish(true); }
        if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); finish(false); }
      });
      input.addEventListener('blur', () => finish(true));
      fill(wrap, input);
      input.focus();
      input.select();
    };
    wrap.refresh = () => { if (!wrap.querySelector('input')) showButton(); };
    showButton();
    return wrap;
  }

  function listMenu(list, anchor) {
    closePopovers();
    const others = st.lists.filter((l) => l.id !== list.id);
    const target = h('select', { 'aria-label': 'Move all cards to', 'data-testid': 'list-move-cards-target' }, others.map((l) => h('option', { value: l.id }, l.name)));
    const pop = h('div', { class: 'popover', role: 'menu', 'data-testid': 'list-menu-popover' },
      h('div', { class: 'popover-title' }, `List actions: ${list.name}`),
      h('button', { type: 'button', class: 'menu-item', 'data-testid': 'list-archive', on: { click: async () => {
        closePopovers();
        if (await attempt(() => api.put(`/1/lists/${list.id}`, { closed: true }))) {
          st.lists = st.lists.filter((l) => l.id !== list.id);
          render();
          toast(`List ${list.name} archived`, 'success');
        }
      } } }, 'Archive this list'),
      h('button', { type: 'button', class: 'menu-item', 'data-testid': 'list-archive-cards', on: { click: async () => {
        closePopovers();
        if (!(await confirmDialog(`Archive all cards in ${list.name}?`, { ok: 'Archive all' }))) return;
        if (await attempt(() => api.post(`/1/lists/${list.id}/archiveAllCards`))) refreshNow();
      } } }, 'Archive all cards in this list'),
      others.length ? h('div', { class: 'menu-row' }, target,
        h('button', { type: 'button', class: 'btn', 'data-testid': 'list-move-cards', on: { click: async () => {
          closePopovers();
          if (await attempt(() => api.post(`/1/lists/${list.id}/moveAllCards`, { idBoard: st.board.id, idList: target.value }))) refreshNow();
        } } }, 'Move all cards')) : null);
    anchor.after(pop);
    pop.querySelector('button')?.focus();
  }

  function closePopovers() {
    for (const p of main.querySelectorAll('.popover')) p.remove();
  }

  function composer(list) {
    // "Add a card": Enter adds and keeps the input open for the next one.
    const foot = h('div', { class: 'list-foot' });
    const closed = () => fill(foot, h('button', { type: 'button', class: 'add-btn', 'data-testid': 'add-card', disabled: !canWrite(), on: { click: open } }, '+ Add a card'));
    const open = () => {
      const input = h('textarea', { class: 'composer-input', rows: 2, placeholder: 'Enter a title for this card…', 'data-testid': 'add-card-input', 'aria-label': `New card in ${list.name}` });
      // Enter empties the input at once and the posts go one after another: cards typed
      // quickly keep their order and the input keeps its focus.
      let queue = Promise.resolve();
      const submit = () => {
        const name = input.value.trim();
        input.focus();
        if (!name) return;
        input.value = '';
        queue = queue.then(async () => {
          const card = await attempt(() => addCard(list.id, name));
          if (card) announce(`Added ${card.name}`);
          else if (!input.value) input.value = name;
          listEls.get(list.id)?._parts.cards.scrollTo?.({ top: 1e9 });
        });
      };
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); submit(); }
        if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); closed(); }
      });
      fill(foot, input, h('div', { class: 'row' },
        h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'add-card-submit', on: { click: submit } }, 'Add card'),
        h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Cancel', on: { click: closed } }, '×')));
      input.focus();
    };
    closed();
    foot.refresh = () => { if (!foot.querySelector('textarea')) closed(); };
    return foot;
  }

  function renderList(list) {
    let el = listEls.get(list.id);
    if (!el) {
      const cards = h('div', { class: 'list-cards', 'data-testid': 'list-cards', role: 'group' });
      const name = editableName(() => listById(list.id)?.name ?? '', async (value) => {
        const saved = await api.put(`/1/lists/${list.id}`, { name: value });
        const l = listById(list.id);
        if (l) l.name = saved?.name ?? value;
        render();
      }, 'list-name');
      const menuBtn = h('button', { type: 'button', class: 'icon-btn list-menu-btn', 'aria-label': 'List actions', 'data-testid': 'list-menu', on: {
        click: (e) => { e.stopPropagation(); const l = listById(list.id); if (l) listMenu(l, menuBtn); },
      } }, '⋯');
      const head = h('div', { class: 'list-head', draggable: 'true', on: { dragstart: (e) => onDragStart(e, 'list', list.id), dragend: onDragEnd } },
        h('h2', { class: 'list-title' }, name), h('span', { class: 'list-count', 'aria-hidden': 'true' }), menuBtn);
      const foot = composer(list);
      el = h('section', {
        class: 'list', tabindex: 0, 'data-testid': 'list', dataset: { listId: list.id },
        on: { keydown: (e) => onListKey(e, list.id), dragover: (e) => onCardDragOver(e, list.id), drop: (e) => onCardDrop(e, list.id), dragleave: onDragLeave },
      }, head, cards, foot);
      el._parts = { cards, name, foot, count: head.querySelector('.list-count') };
      listEls.set(list.id, el);
    }
    el.setAttribute('aria-label', `List ${list.name}`);
    el._parts.name.refresh();
    el._parts.foot.refresh();
    const all = cardsOf(list.id);
    const shown = all.filter((c) => cardMatches(c, st.filter));
    el._parts.count.textContent = filterActive(st.filter) ? `${shown.length}/${all.length}` : String(all.length);
    syncChildren(el._parts.cards, shown.map(renderCard));
    return el;
  }

  // ---------- the page ----------

  let root, listsEl, headerName, starBtn, filterBar, addListEl;
  let panel = null; // the board menu, made once the board is known

  function renderHeader() {
    headerName.refresh();
    paintBoard();
    starBtn.setAttribute('aria-pressed', st.starId ? 'true' : 'false');
    starBtn.textContent = st.starId ? '★' : '☆';
    starBtn.title = st.starId ? 'Unstar this board' : 'Star this board';
    document.title = `${st.board.name} · Cork`;
  }

  // The mirror's source and lag: "Mirror of <source> · in step 4 s ago".
  function paintMirror() {
    const badge = root.querySelector('.board-mirror');
    const m = mirror();
    badge.hidden = !m;
    if (!m) return;
    const lag = m.lagSeconds == null ? 'not yet in step' : `in step ${ago(m.lagSeconds)}`;
    const trouble = m.state === 'following' ? '' : ` · ${m.state}${m.lastError ? `: ${m.lastError}` : ''}`;
    badge.textContent = `Mirror of ${m.source} · ${lag}${trouble}`;
    badge.title = `Changes come from board ${m.sourceBoard} at ${m.source}; edits here are refused. Last source action: ${m.cursorDate || 'none'}.`;
    badge.classList.toggle('failing', m.state !== 'following');
  }

  function ago(seconds) {
    if (seconds < 60) return `${seconds} s ago`;
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    return `${Math.round(seconds / 3600)} h ago`;
  }

  function paintBoard() {
    for (const c of BACKGROUNDS) root.classList.remove(`bg-${c}`);
    root.style.backgroundImage = '';
    paintBackground(root, st.board.prefs);
  }

  function buildFilterBar() {
    const text = h('input', { type: 'search', placeholder: 'Filter cards', 'aria-label': 'Filter cards by text', 'data-testid': 'filter-text' });
    const label = h('select', { 'aria-label': 'Filter by label', 'data-testid': 'filter-label' });
    const member = h('select', { 'aria-label': 'Filter by member', 'data-testid': 'filter-member' });
    const due = h('select', { 'aria-label': 'Filter by due date', 'data-testid': 'filter-due' },
      [['', 'Any due date'], ['overdue', 'Overdue'], ['day', 'Due in the next day'], ['week', 'Due in the next week'], ['none', 'No due date']].map(([v, t]) => h('option', { value: v }, t)));
    const clearBtn = h('button', { type: 'button', class: 'btn btn-quiet', 'data-testid': 'filter-clear', on: { click: () => {
      text.value = ''; label.value = ''; member.value = ''; due.value = '';
      update();
    } } }, 'Clear filter');
    const update = () => {
      st.filter = { text: text.value, label: label.value, member: member.value, due: due.value };
      clearBtn.hidden = !filterActive(st.filter);
      render();
    };
    for (const el of [text, label, member, due]) el.addEventListener('input', update);
    const bar = h('div', { class: 'filters', role: 'search', 'data-testid': 'filter-bar' }, text, label, member, due, clearBtn);
    bar.refresh = () => {
      const keep = (sel, options) => {
        const v = sel.value;
        fill(sel, options);
        sel.value = [...sel.options].some((o) => o.value === v) ? v : '';
      };
      keep(label, [h('option', { value: '' }, 'Any label'), h('option', { value: 'none' }, 'No labels'),
        st.labels.map((l) => h('option', { value: l.id }, l.name ? `${l.name} (${l.color || 'no colour'})` : l.color || 'label'))]);
      keep(member, [h('option', { value: '' }, 'Any member'), h('option', { value: 'none' }, 'No members'),
        st.members.map((m) => h('option', { value: m.id }, memberName(m)))]);
      clearBtn.hidden = !filterActive(st.filter);
    };
    return bar;
  }

  function buildAddList() {
    const wrap = h('div', { class: 'add-list' });
    const closed = () => fill(wrap, h('button', { type: 'button', class: 'add-list-btn', 'data-testid': 'add-list', disabled: !canWrite(), on: { click: open } }, '+ Add a list'));
    const open = () => {
      const input = h('input', { type: 'text', placeholder: 'Enter list name…', 'data-testid': 'add-list-input', 'aria-label': 'New list name' });
      let queue = Promise.resolve();
      const submit = () => {
        const name = input.value.trim();
        input.focus();
        if (!name) return;
        input.value = '';
        queue = queue.then(async () => {
          const list = await attempt(() => addList(name));
          if (list) announce(`Added list ${list.name}`);
          else if (!input.value) input.value = name;
        });
      };
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') { e.preventDefault(); submit(); }
        if (e.key === 'Escape') { e.preventDefault(); closed(); }
      });
      fill(wrap, input, h('div', { class: 'row' },
        h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'add-list-submit', on: { click: submit } }, 'Add list'),
        h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Cancel', on: { click: closed } }, '×')));
      input.focus();
    };
    closed();
    return wrap;
  }

  function build() {
    panel = createPanel({
      get board() { return st.board; }, get lists() { return st.lists; }, get labels() { return st.labels; },
      get members() { return st.members; }, get memberships() { return st.memberships; }, get customFields() { return st.customFields; },
      isAdmin, canWrite, refresh: refreshNow, me: () => session.me,
      applyBoard: (b) => { Object.assign(st.board, b); renderHeader(); },
    });
    headerName = editableName(() => st.board.name, async (value) => {
      const saved = await api.put(`/1/boards/${st.board.id}`, { name: value });
      st.board.name = saved?.name ?? value;
      renderHeader();
    }, 'board-name');
    headerName.classList.add('board-title');
    starBtn = h('button', { type: 'button', class: 'icon-btn star', 'data-testid': 'board-star', on: { click: toggleStar } }, '☆');
    filterBar = buildFilterBar();
    listsEl = h('div', { class: 'lists', 'data-testid': 'lists', on: { dragover: onListDragOver, drop: onListDrop } });
    addListEl = buildAddList();
    root = h('div', { class: 'board', 'data-testid': 'board', dataset: { boardId: st.board.id } },
      h('div', { class: 'board-header' },
        h('h1', { class: 'board-h1' }, headerName), starBtn,
        h('span', { class: 'board-visibility', 'data-testid': 'board-visibility-badge' }),
        h('span', { class: 'board-mirror', 'data-testid': 'board-mirror', hidden: true }),
        filterBar,
        // On a phone the filter bar folds away behind this button.
        h('button', { type: 'button', class: 'btn btn-quiet filter-toggle', 'aria-expanded': 'false', 'data-testid': 'filter-toggle', on: { click: (e) => {
          const open = root.querySelector('.board-header').classList.toggle('filters-open');
          e.currentTarget.setAttribute('aria-expanded', String(open));
        } } }, 'Filter'),
        link(`/r/${st.board.shortLink}`, { class: 'btn btn-quiet', 'data-testid': 'report-link-header' }, 'Reports'),
        h('button', { type: 'button', class: 'btn btn-quiet', 'data-testid': 'board-menu', 'aria-expanded': 'false', on: { click: (e) => {
          const open = panel.toggle();
          e.currentTarget.setAttribute('aria-expanded', String(open));
        } } }, '☰ Menu')),
      h('div', { class: 'board-body' }, listsEl, panel.el));
    fill(main, root);
  }

  function render() {
    if (!root || st.destroyed) return;
    epoch = JSON.stringify([st.labels.map((l) => [l.id, l.name, l.color]), st.members.map((m) => [m.id, m.fullName, m.initials])]);
    renderHeader();
    filterBar.refresh();
    root.querySelector('.board-visibility').textContent = { private: 'Private', org: 'Workspace', public: 'Public' }[st.board.prefs?.permissionLevel] || '';
    root.classList.toggle('read-only', !canWrite());
    paintMirror();
    const els = st.lists.map(renderList);
    // Forget what is gone.
    const liveLists = new Set(st.lists.map((l) => l.id));
    for (const id of listEls.keys()) if (!liveLists.has(id)) listEls.delete(id);
    for (const id of cardEls.keys()) if (!st.cards.has(id)) cardEls.delete(id);
    keepFocus(() => syncChildren(listsEl, [...els, addListEl]));
  }

  // ---------- keyboard ----------

  function focusCard(id) {
    const el = cardEls.get(id);
    if (el && el.isConnected) el.focus({ preventScroll: false });
  }

  function onCardKey(e, id) {
    if (e.target !== e.currentTarget) return;
    const card = st.cards.get(id);
    if (!card) return;
    const lists = st.lists;
    const li = lists.findIndex((l) => l.id === card.idList);
    const visible = visibleCardsOf(card.idList);
    const ci = visible.findIndex((c) => c.id === id);
    const key = e.key;
    if (key === 'Enter' || key === ' ') { e.preventDefault(); openCard(id); return; }
    if (!['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight'].includes(key)) return;
    e.preventDefault();
    e.stopPropagation();
    if (e.altKey) {
      if (!canWrite()) { announce('You cannot move cards on this board'); return; }
      if (key === 'ArrowUp' && ci > 0) moveCard(id, card.idList, ci - 1, { announceIt: true });
      if (key === 'ArrowDown' && ci < visible.length - 1) moveCard(id, card.idList, ci + 1, { announceIt: true });
      const target = key === 'ArrowLeft' ? lists[li - 1] : key === 'ArrowRight' ? lists[li + 1] : null;
      if (target) moveCard(id, target.id, visibleCardsOf(target.id).length, { announceIt: true });
      return;
    }
    if (key === 'ArrowUp' && ci > 0) focusCard(visible[ci - 1].id);
    if (key === 'ArrowDown' && ci < visible.length - 1) focusCard(visible[ci + 1].id);
    const next = key === 'ArrowLeft' ? lists[li - 1] : key === 'ArrowRight' ? lists[li + 1] : null;
    if (next) {
      const there = visibleCardsOf(next.id);
      if (there.length) focusCard(there[Math.min(ci, there.length - 1)].id);
      else listEls.get(next.id)?.focus();
    }
  }

  function onListKey(e, id) {
    if (e.target !== e.currentTarget) return;
    const li = st.lists.findIndex((l) => l.id === id);
    if (e.key === 'ArrowDown') {
      const first = visibleCardsOf(id)[0];
      if (first) { e.preventDefault(); focusCard(first.id); }
      return;
    }
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    const step = e.key === 'ArrowLeft' ? -1 : 1;
    if (e.altKey) {
      if (canWrite() && st.lists[li + step]) moveList(id, li + step, { announceIt: true });
      return;
    }
    const next = st.lists[li + step];
    if (next) listEls.get(next.id)?.focus();
  }

  // ---------- drag and drop ----------

  const indicator = h('div', { class: 'drop-indicator', 'data-testid': 'drop-indicator', 'aria-hidden': 'true' });

  function onDragStart(e, kind, id) {
    if (!canWrite()) { e.preventDefault(); return; }
    if (kind === 'card') e.stopPropagation();
    st.drag = { kind, id, index: null, target: null };
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', kind === 'card' ? st.cards.get(id)?.name ?? '' : listById(id)?.name ?? '');
    const el = kind === 'card' ? cardEls.get(id) : listEls.get(id);
    requestAnimationFrame(() => el?.classList.add('dragging'));
  }

  function onDragEnd() {
    for (const el of main.querySelectorAll('.dragging')) el.classList.remove('dragging');
    indicator.remove();
    st.drag = null;
    if (st.refreshQueued) { st.refreshQueued = false; scheduleRefresh(0); }
  }

  function onDragLeave(e) {
    if (!e.currentTarget.contains(e.relatedTarget) && st.drag?.kind === 'card') indicator.remove();
  }

  function onCardDragOver(e, idList) {
    if (!st.drag || st.drag.kind !== 'card') return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    const container = listEls.get(idList)._parts.cards;
    const cards = [...container.querySelectorAll('.card')].filter((c) => c.dataset.cardId !== st.drag.id);
    let index = cards.findIndex((c) => { const r = c.getBoundingClientRect(); return e.clientY < r.top + r.height / 2; });
    if (index < 0) index = cards.length;
    st.drag.index = index;
    st.drag.target = idList;
    indicator.className = 'drop-indicator drop-card';
    container.insertBefore(indicator, cards[index] || null);
  }

  function onCardDrop(e, idList) {
    if (!st.drag || st.drag.kind !== 'card') return;
    e.preventDefault();
    e.stopPropagation();
    const { id, index } = st.drag;
    onDragEnd();
    moveCard(id, idList, index ?? 0);
  }

  function onListDragOver(e) {
    if (!st.drag || st.drag.kind !== 'list') return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    const lists = [...listsEl.querySelectorAll(':scope > .list')].filter((l) => l.dataset.listId !== st.drag.id);
    let index = lists.findIndex((l) => { const r = l.getBoundingClientRect(); return e.clientX < r.left + r.width / 2; });
    if (index < 0) index = lists.length;
    st.drag.index = index;
    indicator.className = 'drop-indicator drop-list';
    listsEl.insertBefore(indicator, lists[index] || addListEl);
  }

  function onListDrop(e) {
    if (!st.drag || st.drag.kind !== 'list') return;
    e.preventDefault();
    const { id, index } = st.drag;
    onDragEnd();
    moveList(id, index ?? 0);
  }

  // ---------- star ----------

  async function toggleStar() {
    if (st.starId) {
      const id = st.starId;
      st.starId = null; renderHeader();
      if (!(await attempt(() => api.del(`/1/members/me/boardStars/${id}`)))) { st.starId = id; renderHeader(); }
    } else {
      const star = await attempt(() => api.post('/1/members/me/boardStars', { idBoard: st.board.id, pos: 'top' }));
      if (star) { st.starId = star.id; renderHeader(); }
    }
  }

  // ---------- the card dialog ----------

  function openCard(id) {
    const card = st.cards.get(id);
    navigate(card ? cardPath(card) : `/c/${id}`);
  }

  function showCard(ref) {
    if (dialog && (dialog.matches(ref))) return;
    if (dialog) dialog.close({ silent: true });
    dialog = openCardDialog(ref, {
      get board() { return st.board; }, get lists() { return st.lists; }, get labels() { return st.labels; },
      get members() { return st.members; }, get customFields() { return st.customFields; },
      canWrite, isAdmin,
      cardChanged: (card) => { putCard(card); render(); },
      cardRemoved: (id) => { st.cards.delete(id); render(); },
      refreshBoard: refreshNow,
      onClose: (id) => {
        dialog = null;
        if (location.pathname.startsWith('/c/')) navigate(boardPath(st.board));
        focusCard(id);
      },
    });
  }

  // ---------- live updates ----------

  function listen() {
    if (typeof EventSource === 'undefined') return;
    let failed = false;
    // body[data-live] says whether the board is live (open), reconnecting or closed.
    document.body.dataset.live = 'connecting';
    events = new EventSource(`/cork/boards/${st.board.id}/events`);
    events.addEventListener('actions', () => {
      scheduleRefresh(100);
      window.dispatchEvent(new CustomEvent('cork:review-changed'));
    });
    events.addEventListener('error', () => {
      failed = true;
      document.body.dataset.live = events.readyState === EventSource.CLOSED ? 'closed' : 'connecting';
    });
    events.addEventListener('open', () => {
      document.body.dataset.live = 'open';
      // Whatever happened while the stream was down is read again.
      if (failed) { failed = false; scheduleRefresh(0); }
    });
  }

  const onStale = () => refreshNow();
  const onDocClick = (e) => { if (!e.target.closest('.popover, .list-menu-btn')) closePopovers(); };
  const onDocKey = (e) => { if (e.key === 'Escape') closePopovers(); };

  // ---------- start ----------

  await load();
  await loadStar();
  build();
  render();
  listen();
  // A mirrored board changes through its mirror, a process of its own whose writes reach
  // live views only over PostgreSQL's channel: read it again every few seconds too, which
  // also keeps the lag shown current.
  const mirrorTimer = mirror() ? setInterval(() => scheduleRefresh(0), 5000) : null;
  window.addEventListener('cork:stale', onStale);
  document.addEventListener('click', onDocClick);
  document.addEventListener('keydown', onDocKey);
  if (route.page === 'card') showCard(openCardRef || route.card);

  const matchesBoard = (ref) => ref === st.board.id || ref === st.board.shortLink;
  return {
    update(r) {
      if (r.page === 'board' && matchesBoard(r.board)) {
        if (dialog) { const d = dialog; dialog = null; d.close({ silent: true }); }
        return true;
      }
      if (r.page === 'card') {
        // A card not on show here (archived, or of another board) is fetched by the
        // dialog, which loads its board's page if it is not this one.
        const card = [...st.cards.values()].find((c) => c.id === r.card || c.shortLink === r.card);
        showCard(card ? card.id : r.card);
        return true;
      }
      return false;
    },
    unmount() {
      st.destroyed = true;
      clearTimeout(refreshTimer);
      clearInterval(mirrorTimer);
      if (events) events.close();
      delete document.body.dataset.live;
      if (dialog) dialog.close({ silent: true });
      if (panel) panel.destroy();
      window.removeEventListener('cork:stale', onStale);
      document.removeEventListener('click', onDocClick);
      document.removeEventListener('keydown', onDocKey);
    },
  };
}
