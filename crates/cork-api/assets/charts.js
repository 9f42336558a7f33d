// SVG charts built with createElementNS: stacked areas (cumulative flow), bars
// (throughput) and a scatter with reference lines (cycle time). Each is an <svg role=img>
// with a title, and every mark carries a <title> so hovering shows its number.

import { s } from './dom.js';

export const PALETTE = ['#0c66e4', '#1f845a', '#e2b203', '#c9372c', '#6e5dc6', '#227d9b', '#ae4787', '#5b7f24', '#a54800', '#626f86'];

const W = 640;
const H = 260;
const M = { top: 12, right: 16, bottom: 34, left: 44 };

/** A round tick step giving about four steps up to `v`, and the axis top it makes. */
function scale(v) {
  const raw = Math.max(v, 1) / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw);
  const niceStep = Math.max(step, v <= 4 ? 1 : step); // whole cards on small charts
  return { step: niceStep, max: Math.max(niceStep, Math.ceil(v / niceStep) * niceStep) };
}

function niceMax(v) { return scale(v).max; }

function frame(label, maxY, xLabels) {
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart', preserveAspectRatio: 'xMidYMid meet' }, s('title', null, label));
  const plotH = H - M.top - M.bottom;
  const y = (v) => M.top + plotH - (v / maxY) * plotH;
  const { step } = scale(maxY);
  for (let v = 0; v <= maxY + 1e-9; v += step) {
    svg.appendChild(s('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: 'grid' }));
    svg.appendChild(s('text', { x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, Number.isInteger(v) ? String(v) : String(Number(v.toFixed(2)))));
  }
  for (const { x, text } of xLabels) svg.appendChild(s('text', { x, y: H - M.bottom + 18, 'text-anchor': 'middle', class: 'axis' }, text));
  return { svg, y };
}

/** Indices of at most `n` evenly spaced labels. */
function labelIndices(len, n = 6) {
  if (len <= n) return [...Array(len).keys()];
  const step = (len - 1) / (n - 1);
  return [...Array(n).keys()].map((i) => Math.round(i * step));
}

/** Cumulative flow: one band per list, the last list at the bottom (as Trello's). */
export function cumulativeFlow(days, lists) {
  const order = [...lists].reverse();
  const totals = days.map((d) => order.reduce((sum, l) => sum + (Number(d.counts?.[l.id]) || 0), 0));
  const maxY = niceMax(Math.max(0, ...totals));
  const plotW = W - M.left - M.right;
  const x = (i) => M.left + (days.length <= 1 ? plotW / 2 : (i / (days.length - 1)) * plotW);
  const { svg, y } = frame('Cumulative flow: cards per list per day', maxY, labelIndices(days.length).map((i) => ({ x: x(i), text: days[i].date.slice(5) })));
  const base = days.map(() => 0);
  order.forEach((list, k) => {
    const top = days.map((d, i) => base[i] + (Number(d.counts?.[list.id]) || 0));
    const upper = top.map((v, i) => `${x(i)},${y(v)}`);
    const lower = base.map((v, i) => `${x(i)},${y(v)}`).reverse();
    const colour = PALETTE[(lists.length - 1 - k) % PALETTE.length];
    svg.appendChild(s('polygon', { points: [...upper, ...lower].join(' '), fill: colour, 'fill-opacity': '0.85', stroke: colour, 'data-list-id': list.id },
      s('title', null, `${list.name}: ${days.length ? Number(days[days.length - 1].counts?.[list.id]) || 0 : 0} cards on the last day`)));
    top.forEach((v, i) => { base[i] = v; });
  });
  return svg;
}

/** Throughput: cards finished per week. */
export function throughput(weeks) {
  const maxY = niceMax(Math.max(0, ...weeks.map((w) => w.cards)));
  const plotW = W - M.left - M.right;
  const band = plotW / Math.max(1, weeks.length);
  const { svg, y } = frame('Throughput: cards finished per week', maxY, weeks.map((w, i) => ({ x: M.left + band * (i + 0.5), text: w.week.slice(5) })).filter((_, i) => labelIndices(weeks.length, 10).includes(i)));
  weeks.forEach((w, i) => {
    svg.appendChild(s('rect', { x: M.left + band * i + band * 0.15, y: y(w.cards), width: band * 0.7, height: Math.max(0, y(0) - y(w.cards)), fill: PALETTE[0], rx: 2 },
      s('title', null, `Week of ${w.week}: ${w.cards} cards`)));
  });
  return svg;
}

/** Cycle time: one dot per card (in the order given), with median and 85th percentile lines. */
export function cycleTime(cards, median, p85) {
  const maxY = niceMax(Math.max(0, p85 || 0, ...cards.map((c) => c.days)));
  const plotW = W - M.left - M.right;
  const x = (i) => M.left + (cards.length <= 1 ? plotW / 2 : (i / (cards.length - 1)) * plotW);
  const { svg, y } = frame('Cycle time in days per card', maxY, []);
  const line = (v, cls, text) => {
    if (v === null || v === undefined) return;
    svg.appendChild(s('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: cls }));
    svg.appendChild(s('text', { x: W - M.right, y: y(v) - 4, 'text-anchor': 'end', class: `axis ${cls}-label` }, `${text} ${Number(v).toFixed(1)} d`));
  };
  cards.forEach((c, i) => svg.appendChild(s('circle', { cx: x(i), cy: y(c.days), r: 4, fill: PALETTE[0], 'fill-opacity': '0.8' }, s('title', null, `${c.name}: ${Number(c.days).toFixed(1)} days`))));
  line(median, 'ref-median', 'median');
  line(p85, 'ref-p85', '85%');
  svg.appendChild(s('text', { x: M.left + plotW / 2, y: H - 8, 'text-anchor': 'middle', class: 'axis' }, 'cards, in order of finishing'));
  return svg;
}
