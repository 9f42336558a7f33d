// Small pieces shown on several pages: label chips, member avatars, board backgrounds.

import { h, s } from './dom.js';
import { initials, memberName } from './logic.js';

export const LABEL_COLOURS = ['green', 'yellow', 'orange', 'red', 'purple', 'blue', 'sky', 'lime', 'pink', 'black'];
export const BACKGROUNDS = ['blue', 'orange', 'green', 'red', 'purple', 'pink', 'lime', 'sky', 'grey'];

/** Trello's colour variants (green_dark, ...) are shown as their base colour. */
export function labelClass(color) {
  const base = String(color || '').split('_')[0];
  return LABEL_COLOURS.includes(base) ? `lc-${base}` : 'lc-none';
}

export function labelChip(label, extra = {}) {
  return h('span', { class: ['label-chip', labelClass(label.color)], title: label.name || label.color || 'label', ...extra }, label.name || '');
}

export function avatar(member) {
  return h('span', { class: 'avatar', title: memberName(member), 'aria-label': memberName(member) }, initials(member));
}

/** The class that paints a board's colour (and its image, when it has an https one). */
export function paintBackground(el, prefs) {
  const colour = BACKGROUNDS.includes(prefs?.background) ? prefs.background : 'blue';
  el.classList.add(`bg-${colour}`);
  const image = prefs?.backgroundImage;
  if (image && /^https:\/\//i.test(image)) el.style.backgroundImage = `url("${encodeURI(image).replace(/"/g, '%22')}")`;
}

// Small line icons (our own paths), so badges do not depend on an emoji font.
const ICONS = {
  clock: ['M8 1.5a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13z', 'M8 4.5V8l2.5 1.5'],
  start: ['M5 3l7 5-7 5z'],
  desc: ['M3 4h10', 'M3 8h10', 'M3 12h6'],
  check: ['M3.5 2.5h9a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1h-9a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1z', 'M5.5 8l2 2 3.5-4'],
  comment: ['M2.5 3h11v7.5H7L4 13.5v-3H2.5z'],
  attach: ['M10.5 4.5l-5 5a1.4 1.4 0 0 0 2 2l5.2-5.2a2.8 2.8 0 0 0-4-4L3.4 7.6a4.2 4.2 0 0 0 6 6l3.8-3.8'],
};

export function icon(name) {
  return s('svg', { viewBox: '0 0 16 16', width: 14, height: 14, class: 'icon', 'aria-hidden': 'true', focusable: 'false' },
    (ICONS[name] || []).map((d) => s('path', { d, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' })));
}
