// Search: cards and boards from /1/search (Trello's operators work: label:, member:,
// due:, is:open, board:, list:, -word, "phrases").

import { h, fill } from './dom.js';
import { api } from './api.js';
import { boardPath, cardPath, dueState, shortDate } from './logic.js';
import { link, navigate, setSearchText } from './ui.js';
import { labelChip, paintBackground } from './widgets.js';

export async function mountSearch(main, route) {
  const q = route.q.trim();
  setSearchText(route.q);
  document.title = q ? `${q} · Search · Cork` : 'Search · Cork';
  const input = h('input', { type: 'search', value: route.q, 'aria-label': 'Search query', 'data-testid': 'search-page-input', placeholder: 'e.g. label:red due:week is:open' });
  const results = h('div', { class: 'search-results', 'data-testid': 'search-results', 'aria-live': 'polite' });
  fill(main, h('div', { class: 'page-narrow' },
    h('h1', null, 'Search'),
    h('form', { class: 'inline-form', role: 'search', on: { submit: (e) => {
      e.preventDefault();
      if (input.value.trim()) navigate(`/search?q=${encodeURIComponent(input.value.trim())}`);
    } } }, input, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Search')),
    h('p', { class: 'muted small' }, 'Operators: label:name, member:username, due:day|week|overdue, is:open|archived, board:name, list:name, has:attachments, -word, "a phrase".'),
    results));
  if (!q) { fill(results, h('p', { class: 'muted' }, 'Type something to search for.')); return {}; }
  fill(results, h('p', { class: 'muted' }, 'Searching…'));
  const found = await api.get('/1/search', {
    query: q, modelTypes: 'cards,boards', card_board: 'true', card_list: 'true', cards_limit: 50, boards_limit: 20,
    board_fields: 'name,url,shortLink,prefs', partial: 'true',
  });
  const boards = found.boards || [];
  const cards = found.cards || [];
  const boardTile = (b) => {
    const a = link(boardPath(b), { class: 'tile', 'data-testid': 'search-board', dataset: { boardId: b.id } }, h('span', { class: 'tile-name' }, b.name));
    paintBackground(a, b.prefs);
    return a;
  };
  const cardRow = (c) => {
    const state = dueState(c);
    return h('li', { class: 'search-card', 'data-testid': 'search-card', dataset: { cardId: c.id } },
      link(cardPath(c), { class: 'search-card-link' },
        h('span', { class: 'search-card-name' }, c.name),
        h('span', { class: 'muted small' }, [c.board?.name, c.list?.name].filter(Boolean).join(' · '), c.closed ? ' · archived' : '')),
      h('span', { class: 'search-card-meta' },
        (c.labels || []).map((l) => labelChip(l)),
        c.due ? h('span', { class: ['badge-item', 'due', `due-${state}`] }, shortDate(c.due)) : null));
  };
  fill(results,
    h('h2', null, `Boards (${boards.length})`),
    boards.length ? h('div', { class: 'tiles' }, boards.map(boardTile)) : h('p', { class: 'muted' }, 'No boards match.'),
    h('h2', null, `Cards (${cards.length})`),
    cards.length ? h('ul', { class: 'plain search-cards' }, cards.map(cardRow)) : h('p', { class: 'muted' }, 'No cards match.'));
  return {};
}
