// A small Markdown renderer for card descriptions and comments. It parses into a tree of
// plain objects (testable without a browser) and then builds DOM nodes from the tree with
// createElement/textContent only: user text can never become markup. Links are kept only
// for http:, https: and mailto:; anything else stays text.

/** The URL if it is safe to link to, else null. */
export function safeUrl(raw) {
  const text = String(raw ?? '').trim();
  // Control characters and whitespace inside a URL are a classic filter bypass.
  if (!text || /[\u0000-\u0020\u007f]/.test(text)) return null;
  let url;
  try { url = new URL(text); } catch { return null; }
  if (!['http:', 'https:', 'mailto:'].includes(url.protocol)) return null;
  return url.href;
}

// ---------- inline ----------

const BARE_URL = /^https?:\/\/[^\s<>"]+/i;

function trimUrlTail(url) {
  // A sentence's punctuation is not part of the URL; a closing paren only if unbalanced.
  let end = url.length;
  while (end > 0) {
    const c = url[end - 1];
    if ('.,;:!?\'"*_'.includes(c)) { end--; continue; }
    if (c === ')') {
      const part = url.slice(0, end);
      if ((part.match(/\(/g) || []).length < (part.match(/\)/g) || []).length) { end--; continue; }
    }
    break;
  }
  return url.slice(0, end);
}

function pushText(out, text) {
  if (!text) return;
  const last = out[out.length - 1];
  if (last && last.type === 'text') last.text += text;
  else out.push({ type: 'text', text });
}

/** Inline tokens of one block's text: text, strong, em, code, link, br. */
export function parseInline(src, depth = 0) {
  const out = [];
  let i = 0;
  const atWordStart = (k) => k === 0 || /[\s([{>"'-]/.test(src[k - 1]);
  while (i < src.length) {
    const c = src[i];
    const rest = src.slice(i);
    if (c === '\\' && i + 1 < src.length && /[\\`*_[\]()#>!+-]/.test(src[i + 1])) {
      pushText(out, src[i + 1]); i += 2; continue;
    }
    if (c === '\n') { out.push({ type: 'br' }); i++; continue; }
    if (c === '`') {
      const run = rest.match(/^`+/)[0];
      const close = src.indexOf(run, i + run.length);
      if (close > 0) {
        out.push({ type: 'code', text: src.slice(i + run.length, close).replace(/^ (.*) $/s, '$1') });
        i = close + run.length; continue;
      }
      pushText(out, run); i += run.length; continue;
    }
    if (depth < 8 && (rest.startsWith('**') || rest.startsWith('__'))) {
      const mark = rest.slice(0, 2);
      const close = src.indexOf(mark, i + 2);
      if (close > i + 2) {
        out.push({ type: 'strong', children: parseInline(src.slice(i + 2, close), depth + 1) });
        i = close + 2; continue;
      }
    }
    if (depth < 8 && (c === '*' || (c === '_' && atWordStart(i))) && src[i + 1] && !/\s/.test(src[i + 1])) {
      let close = i + 1;
      while ((close = src.indexOf(c, close)) > 0 && (src[close + 1] === c || /\s/.test(src[close - 1]))) close += 2;
      if (close > i + 1 && (c === '*' || !/\w/.test(src[close + 1] || ''))) {
        out.push({ type: 'em', children: parseInline(src.slice(i + 1, close), depth + 1) });
        i = close + 1; continue;
      }
    }
    if (c === '[') {
      const m = rest.match(/^\[([^\]\n]*)\]\(([^)\s]*(?:\([^)\s]*\)[^)\s]*)*)(?:\s+"[^"]*")?\)/);
      if (m) {
        const href = safeUrl(m[2]);
        if (href) out.push({ type: 'link', href, children: parseInline(m[1] || m[2], depth + 1) });
        else pushText(out, m[0]); // an unsafe link is shown as the text it was written as
        i += m[0].length; continue;
      }
    }
    if ((c === 'h' || c === 'H') && atWordStart(i)) {
      const m = rest.match(BARE_URL);
      if (m) {
        const url = trimUrlTail(m[0]);
        const href = safeUrl(url);
        if (href) { out.push({ type: 'link', href, children: [{ type: 'text', text: url }] }); i += url.length; continue; }
      }
    }
    // Plain run up to the next character that may start something.
    const next = rest.slice(1).search(/[\\\n`*_[hH]/);
    const len = next < 0 ? rest.length : next + 1;
    pushText(out, rest.slice(0, len));
    i += len;
  }
  return out;
}

// ---------- blocks ----------

const FENCE = /^ {0,3}(```+|~~~+)\s*([\w+-]*)\s*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^ {0,3}[-*+]\s+(.*)$/;
const ORDERED = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;

/** Block tokens: heading, paragraph, code, list, quote, hr. */
export function parseMarkdown(src, depth = 0) {
  const lines = String(src ?? '').replace(/\r\n?/g, '\n').split('\n');
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    let m;
    if ((m = line.match(FENCE))) {
      const fence = m[1];
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
      i++; // the closing fence (or the end)
      blocks.push({ type: 'code', lang: m[2] || '', text: body.join('\n') });
      continue;
    }
    if ((m = line.match(HEADING))) {
      // Trello shows ####..###### like ###.
      blocks.push({ type: 'heading', level: Math.min(m[1].length, 3), children: parseInline(m[2]) });
      i++; continue;
    }
    if (RULE.test(line)) { blocks.push({ type: 'hr' }); i++; continue; }
    if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && (m = lines[i].match(QUOTE))) { body.push(m[1]); i++; }
      blocks.push({ type: 'quote', children: depth < 8 ? parseMarkdown(body.join('\n'), depth + 1) : [{ type: 'paragraph', children: parseInline(body.join('\n')) }] });
      continue;
    }
    if (BULLET.test(line) || ORDERED.test(line)) {
      const ordered = !BULLET.test(line);
      const pattern = ordered ? ORDERED : BULLET;
      const start = ordered ? Number(line.match(ORDERED)[1]) : 1;
      const items = [];
      while (i < lines.length) {
        const l = lines[i];
        if ((m = l.match(pattern))) { items.push(ordered ? m[2] : m[1]); i++; continue; }
        // An indented line continues the item above it.
        if (items.length && /^\s{2,}\S/.test(l)) { items[items.length - 1] += '\n' + l.trim(); i++; continue; }
        break;
      }
      blocks.push({ type: 'list', ordered, start, items: items.map((t) => parseInline(t)) });
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !FENCE.test(lines[i]) && !HEADING.test(lines[i]) && !QUOTE.test(lines[i])
      && !BULLET.test(lines[i]) && !ORDERED.test(lines[i]) && !RULE.test(lines[i])) {
      para.push(lines[i].trim()); i++;
    }
    blocks.push({ type: 'paragraph', children: parseInline(para.join('\n')) });
  }
  return blocks;
}

// ---------- DOM ----------

function inlineNodes(doc, tokens, parent) {
  for (const t of tokens) {
    let el;
    switch (t.type) {
      case 'text': parent.appendChild(doc.createTextNode(t.text)); continue;
      case 'br': parent.appendChild(doc.createElement('br')); continue;
      case 'code': el = doc.createElement('code'); el.textContent = t.text; break;
      case 'strong': el = doc.createElement('strong'); inlineNodes(doc, t.children, el); break;
      case 'em': el = doc.createElement('em'); inlineNodes(doc, t.children, el); break;
      case 'link':
        el = doc.createElement('a');
        el.setAttribute('href', t.href);
        el.setAttribute('rel', 'noopener noreferrer');
        el.setAttribute('target', '_blank');
        inlineNodes(doc, t.children, el);
        break;
      default: continue;
    }
    parent.appendChild(el);
  }
}

function blockNodes(doc, blocks, parent) {
  for (const b of blocks) {
    let el;
    switch (b.type) {
      case 'heading': el = doc.createElement('h' + (b.level + 2)); inlineNodes(doc, b.children, el); break; // h3..h5 inside a page
      case 'paragraph': el = doc.createElement('p'); inlineNodes(doc, b.children, el); break;
      case 'hr': el = doc.createElement('hr'); break;
      case 'code': {
        el = doc.createElement('pre');
        const code = doc.createElement('code');
        code.textContent = b.text;
        el.appendChild(code);
        break;
      }
      case 'quote': el = doc.createElement('blockquote'); blockNodes(doc, b.children, el); break;
      case 'list': {
        el = doc.createElement(b.ordered ? 'ol' : 'ul');
        if (b.ordered && b.start !== 1) el.setAttribute('start', String(b.start));
        for (const item of b.items) {
          const li = doc.createElement('li');
          inlineNodes(doc, item, li);
          el.appendChild(li);
        }
        break;
      }
      default: continue;
    }
    parent.appendChild(el);
  }
}

/** Markdown text → a DocumentFragment (or, for `doc` without fragments, a div). */
export function renderMarkdown(src, doc = globalThis.document) {
  const root = doc.createDocumentFragment ? doc.createDocumentFragment() : doc.createElement('div');
  blockNodes(doc, parseMarkdown(src), root);
  return root;
}
