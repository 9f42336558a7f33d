// Reports for one board: cumulative flow, throughput, cycle time between two lists, and
// tables of overdue and aging cards, from GET /cork/boards/{id}/report.

import { h, fill } from './dom.js';
import { api } from './api.js';
import { byPos, boardPath, shortDate } from './logic.js';
import { link, reportError } from './ui.js';
import { cumulativeFlow, throughput, cycleTime, PALETTE } from './charts.js';

const isoDay = (d) => d.toISOString().slice(0, 10);

export async function mountReport(main, route) {
  const board = await api.get(`/1/boards/${encodeURIComponent(route.board)}`, { fields: 'name,shortLink,url,prefs', lists: 'open' });
  document.title = `Reports · ${board.name} · Cork`;
  const lists = (board.lists || []).sort(byPos);
  const q = new URLSearchParams(location.search);
  const to = h('input', { type: 'date', id: 'rp-to', 'data-testid': 'report-to', value: q.get('to') || isoDay(new Date(Date.now() + 86400000)) });
  const from = h('input', { type: 'date', id: 'rp-from', 'data-testid': 'report-from', value: q.get('from') || isoDay(new Date(Date.now() - 30 * 86400000)) });
  const listSelect = (id, testid, chosen) => h('select', { id, 'data-testid': testid }, lists.map((l) => h('option', { value: l.id, selected: l.id === chosen }, l.name)));
  const fromList = listSelect('rp-from-list', 'report-from-list', q.get('fromList') || lists[Math.min(1, lists.length - 1)]?.id);
  const toList = listSelect('rp-to-list', 'report-to-list', q.get('toList') || lists[lists.length - 1]?.id);
  const out = h('div', { class: 'report-out', 'aria-live': 'polite' });

  const run = async () => {
    const params = { from: from.value, to: to.value };
    if (fromList.value) params.fromList = fromList.value;
    if (toList.value) params.toList = toList.value;
    history.replaceState(null, '', `${location.pathname}?${new URLSearchParams(params)}`);
    fill(out, h('p', { class: 'muted' }, 'Computing…'));
    try {
      show(await api.get(`/cork/boards/${board.id}/report`, params));
    } catch (err) {
      reportError(err);
      fill(out, h('p', { class: 'error' }, err.message));
    }
  };

  const show = (r) => {
    const names = new Map([...(r.lists || []), ...lists].map((l) => [l.id, l.name]));
    const rl = r.lists && r.lists.length ? r.lists : lists;
    const legend = h('ul', { class: 'legend' }, rl.map((l, i) => {
      const swatch = h('span', { class: 'swatch' });
      swatch.style.background = PALETTE[i % PALETTE.length];
      return h('li', null, swatch, l.name);
    }));
    const ct = r.cycleTime || { cards: [] };
    const cardLink = (c) => link(`/c/${c.id}`, null, c.name);
    fill(out,
      h('section', { class: 'report-block', 'data-testid': 'chart-cfd' }, h('h2', null, 'Cumulative flow'),
        (r.cumulativeFlow || []).length ? [cumulativeFlow(r.cumulativeFlow, rl), legend] : h('p', { class: 'muted' }, 'No data in this period.')),
      h('section', { class: 'report-block', 'data-testid': 'chart-throughput' }, h('h2', null, 'Throughput'),
        (r.throughput || []).length ? throughput(r.throughput) : h('p', { class: 'muted' }, 'No cards finished in this period.')),
      h('section', { class: 'report-block', 'data-testid': 'chart-cycle' }, h('h2', null, 'Cycle time'),
        h('p', { class: 'muted' }, `From ${names.get(ct.fromList) || '?'} to ${names.get(ct.toList) || '?'}: `,
          `${ct.cards.length} cards, median ${ct.medianDays == null ? '—' : Number(ct.medianDays).toFixed(1)} days, 85th percentile ${ct.p85Days == null ? '—' : Number(ct.p85Days).toFixed(1)} days.`),
        ct.cards.length ? cycleTime(ct.cards, ct.medianDays, ct.p85Days) : null),
      h('section', { class: 'report-block' }, h('h2', null, 'Overdue'),
        (r.overdue || []).length ? h('table', { class: 'data', 'data-testid': 'overdue-table' },
          h('thead', null, h('tr', null, h('th', null, 'Card'), h('th', null, 'Due'), h('th', null, 'Days overdue'))),
          h('tbody', null, r.overdue.map((c) => h('tr', { dataset: { cardId: c.id } }, h('td', null, cardLink(c)), h('td', null, shortDate(c.due)), h('td', null, Number(c.days).toFixed(1))))))
          : h('p', { class: 'muted', 'data-testid': 'overdue-table' }, 'Nothing is overdue.')),
      h('section', { class: 'report-block' }, h('h2', null, 'Aging work'),
        (r.aging || []).length ? h('table', { class: 'data', 'data-testid': 'aging-table' },
          h('thead', null, h('tr', null, h('th', null, 'Card'), h('th', null, 'List'), h('th', null, 'Days in list'))),
          h('tbody', null, r.aging.map((c) => h('tr', { dataset: { cardId: c.id } }, h('td', null, cardLink(c)), h('td', null, names.get(c.idList) || ''), h('td', null, Number(c.days).toFixed(1))))))
          : h('p', { class: 'muted', 'data-testid': 'aging-table' }, 'No open cards.')));
  };

  fill(main, h('div', { class: 'report page-wide', 'data-testid': 'report' },
    h('p', null, link(boardPath(board), { 'data-testid': 'report-board-link' }, `← ${board.name}`)),
    h('h1', null, `Reports: ${board.name}`),
    h('form', { class: 'report-controls', on: { submit: (e) => { e.preventDefault(); run(); } } },
      h('label', { for: 'rp-from' }, 'From'), from, h('label', { for: 'rp-to' }, 'To'), to,
      h('label', { for: 'rp-from-list' }, 'Cycle starts in'), fromList, h('label', { for: 'rp-to-list' }, 'and ends in'), toList,
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'report-apply' }, 'Show')),
    out));
  await run();
  return {};
}
