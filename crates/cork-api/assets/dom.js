// DOM building without innerHTML: every piece of text becomes a text node, every
// attribute goes through setAttribute after a check. Nothing here touches `document`
// at import time, so pure modules that import it stay testable in node.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Properties set as DOM properties rather than attributes (their live state matters).
const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'open', 'indeterminate', 'multiple', 'required', 'readOnly']);
// Attributes that carry a URL: checked before they are set.
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href']);

/** A URL we are willing to put in href/src: app paths, http(s), mailto, blob, data images. */
export function attrUrlOk(name, value) {
  const v = String(value).trim();
  if (/^[/?#]/.test(v) && !v.startsWith('//')) return true;
  if (/^(https?|mailto):/i.test(v)) return true;
  if (name === 'src' && /^(blob:|data:image\/(png|gif|jpeg|webp);)/i.test(v)) return true;
  return false;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'on') {
      // Listeners are functions, never attribute strings.
      for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
      continue;
    }
    if (/^on/i.test(key)) throw new Error(`event handler attribute refused: ${key}`);
    if (key === 'style') throw new Error('style attribute refused (CSP): use classes');
    if (key === 'class' || key === 'className') {
      const names = Array.isArray(value) ? value.filter(Boolean).join(' ') : String(value);
      if (names) el.setAttribute('class', names);
      continue;
    }
    if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) el.dataset[k] = String(v);
      continue;
    }
    if (key === 'text') { el.textContent = String(value); continue; }
    if (PROPS.has(key)) { el[key] = value; continue; }
    if (URL_ATTRS.has(key) && !attrUrlOk(key, value)) continue;
    el.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === true) continue;
    if (Array.isArray(child)) append(el, child);
    else if (typeof child === 'object' && 'nodeType' in child) el.appendChild(child);
    else el.appendChild(el.ownerDocument.createTextNode(String(child)));
  }
}

/** h('div', {class: 'x', on: {click}}, 'text', child, [more]) → an element. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** The same for SVG elements (charts). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (/^on/i.test(key) || key === 'style') throw new Error(`attribute refused: ${key}`);
    if (key === 'class') el.setAttribute('class', value);
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Removes all children. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replaces the children of `el` with `children`. */
export function fill(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

/**
 * Makes `container`'s children exactly `wanted`, in order, moving only what is out of
 * place, so that elements kept across refreshes keep their state (and mostly their focus).
 */
export function syncChildren(container, wanted) {
  const keep = new Set(wanted);
  for (const child of [...container.children]) if (!keep.has(child)) child.remove();
  let cursor = container.firstElementChild;
  for (const el of wanted) {
    if (el === cursor) { cursor = cursor.nextElementSibling; continue; }
    container.insertBefore(el, cursor);
  }
}

/** Keeps focus on an element across a DOM move (moving a node blurs it). */
export function keepFocus(fn) {
  const active = document.activeElement;
  const selection = active && 'selectionStart' in active ? [active.selectionStart, active.selectionEnd] : null;
  fn();
  if (active && active !== document.body && document.activeElement !== active && active.isConnected) {
    active.focus({ preventScroll: true });
    if (selection) try { active.setSelectionRange(...selection); } catch { /* not a text input */ }
  }
}
