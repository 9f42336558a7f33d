// Home: starred and recent boards, each workspace with its boards, and the forms that
// create a board or a workspace.

import { h, fill } from './dom.js';
import { api } from './api.js';
import { boardPath } from './logic.js';
import { link, navigate, attempt, toast } from './ui.js';
import { BACKGROUNDS, paintBackground } from './widgets.js';

const VISIBILITY = [['private', 'Private'], ['org', 'Workspace'], ['public', 'Public']];

function tile(board) {
  const a = link(boardPath(board), { class: 'tile', 'data-testid': 'board-tile', dataset: { boardId: board.id } },
    h('span', { class: 'tile-name' }, board.name),
    board.starred ? h('span', { class: 'tile-star', 'aria-label': 'starred' }, '★') : null);
  paintBackground(a, board.prefs);
  return a;
}

function section(title, testid, boards, extra = {}) {
  return h('section', { class: 'home-section', 'data-testid': testid, ...extra },
    h('h2', null, title),
    boards.length ? h('div', { class: 'tiles' }, boards.map(tile)) : h('p', { class: 'muted' }, 'No boards yet.'));
}

export async function mountHome(main, _route, ctx) {
  const root = h('div', { class: 'home', 'data-testid': 'home' }, h('p', { class: 'muted' }, 'Loading…'));
  fill(main, root);
  document.title = 'Boards · Cork';

  const load = async () => {
    const [boards, orgs, stars] = await Promise.all([
      api.get('/1/members/me/boards', { filter: 'open', fields: 'name,url,shortLink,shortUrl,prefs,idOrganization,starred,dateLastView,closed' }),
      api.get('/1/members/me/organizations', { fields: 'name,displayName' }),
      api.get('/1/members/me/boardStars').catch(() => []),
    ]);
    const starredIds = new Set(stars.map((s) => s.idBoard));
    for (const b of boards) if (starredIds.has(b.id)) b.starred = true;
    render(boards, orgs);
  };

  const render = (boards, orgs) => {
    const starred = boards.filter((b) => b.starred);
    const recent = boards.filter((b) => b.dateLastView).sort((a, b) => Date.parse(b.dateLastView) - Date.parse(a.dateLastView)).slice(0, 6);
    const orgIds = new Set(orgs.map((o) => o.id));
    const loose = boards.filter((b) => !b.idOrganization || !orgIds.has(b.idOrganization));
    fill(root,
      h('div', { class: 'home-main' },
        section('Starred boards', 'starred-boards', starred),
        section('Recently viewed', 'recent-boards', recent),
        orgs.map((o) => section(o.displayName || o.name, 'workspace', boards.filter((b) => b.idOrganization === o.id), { dataset: { orgId: o.id } })),
        section('Boards not in a workspace', 'no-workspace', loose)),
      h('aside', { class: 'home-side' }, createBoardForm(orgs), createWorkspaceForm(),
        link('/import', { class: 'btn', 'data-testid': 'import-link' }, 'Import a Trello board…')));
  };

  const createBoardForm = (orgs) => {
    const name = h('input', { type: 'text', required: true, maxlength: 16384, 'data-testid': 'create-board-name', id: 'cb-name', autocomplete: 'off' });
    const org = h('select', { 'data-testid': 'create-board-workspace', id: 'cb-org' },
      h('option', { value: '' }, 'No workspace'), orgs.map((o) => h('option', { value: o.id }, o.displayName || o.name)));
    const bg = h('select', { 'data-testid': 'create-board-background', id: 'cb-bg' }, BACKGROUNDS.map((c) => h('option', { value: c }, c)));
    const vis = h('select', { 'data-testid': 'create-board-visibility', id: 'cb-vis' }, VISIBILITY.map(([v, t]) => h('option', { value: v }, t)));
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'create-board-submit' }, 'Create board');
    return h('form', { class: 'card-form', 'data-testid': 'create-board', on: { submit: async (e) => {
      e.preventDefault();
      if (!name.value.trim()) { name.focus(); return; }
      submit.disabled = true;
      const board = await attempt(() => api.post('/1/boards', {
        name: name.value.trim(), idOrganization: org.value || undefined, prefs_background: bg.value,
        prefs_permissionLevel: vis.value, defaultLists: false,
      }));
      submit.disabled = false;
      if (board) navigate(boardPath(board));
    } } },
      h('h2', null, 'Create board'),
      h('label', { for: 'cb-name' }, 'Board name'), name,
      h('label', { for: 'cb-org' }, 'Workspace'), org,
      h('label', { for: 'cb-bg' }, 'Background'), bg,
      h('label', { for: 'cb-vis' }, 'Visibility'), vis,
      submit);
  };

  const createWorkspaceForm = () => {
    const name = h('input', { type: 'text', required: true, 'data-testid': 'create-workspace-name', id: 'cw-name', autocomplete: 'off' });
    return h('form', { class: 'card-form', 'data-testid': 'create-workspace', on: { submit: async (e) => {
      e.preventDefault();
      if (!name.value.trim()) return;
      const org = await attempt(() => api.post('/1/organizations', { displayName: name.value.trim() }));
      if (org) { toast(`Workspace ${org.displayName} created`, 'success'); name.value = ''; await attempt(load); }
    } } },
      h('h2', null, 'Create workspace'),
      h('label', { for: 'cw-name' }, 'Workspace name'), name,
      h('button', { type: 'submit', class: 'btn', 'data-testid': 'create-workspace-submit' }, 'Create workspace'));
  };

  await load();
  return {};
}
