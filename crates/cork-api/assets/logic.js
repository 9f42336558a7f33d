// Pure rules of the board UI (no DOM): positions, filters, due states, routes, the
// sentences of the activity feed, and the readable diff of a change request's preview.
// Kept apart so node can test them.

export const POS_STEP = 65536;

/** The pos for an item placed between `before` and `after` (pos numbers, or null at an end). */
export function posBetween(before, after) {
  if (before == null && after == null) return POS_STEP;
  if (before == null) return after / 2;
  if (after == null) return before + POS_STEP;
  return (before + after) / 2;
}

/**
 * The pos for an item dropped at `index` among `others` (the other items of the
 * destination, sorted by pos, without the item itself).
 */
export function posAt(others, index) {
  const i = Math.max(0, Math.min(index, others.length));
  const before = i > 0 ? others[i - 1].pos : null;
  const after = i < others.length ? others[i].pos : null;
  return posBetween(before, after);
}

export const byPos = (a, b) => (a.pos - b.pos) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

// ---------- dates ----------

const DAY = 86400000;

/** 'complete' | 'overdue' | 'soon' (within a day) | 'later' | null (no due date). */
export function dueState(card, now = Date.now()) {
  if (!card.due) return null;
  if (card.dueComplete) return 'complete';
  const due = Date.parse(card.due);
  if (due < now) return 'overdue';
  if (due - now <= DAY) return 'soon';
  return 'later';
}

/** ISO → the value of an <input type="datetime-local"> in local time. */
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** An <input type="datetime-local"> value (local time) → ISO, or null when empty. */
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", else the date. */
export function relativeTime(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 7 * 86400) { const d = Math.round(s / 86400); return `${d} day${d === 1 ? '' : 's'} ago`; }
  return new Date(t).toLocaleDateString();
}

export function shortDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

// ---------- filters ----------

export const EMPTY_FILTER = Object.freeze({ text: '', label: '', member: '', due: '' });

export function filterActive(f) {
  return Boolean(f && (f.text.trim() || f.label || f.member || f.due));
}

/**
 * Whether a card passes the board's filter bar: text in its name or description, a label
 * id ('none' for cards without labels), a member id ('none' for unassigned), and a due
 * window: 'overdue', 'day' (due in the next day), 'week' (the next week), 'none' (no due).
 */
export function cardMatches(card, f, now = Date.now()) {
  if (!f) return true;
  const text = f.text.trim().toLowerCase();
  if (text) {
    const hay = `${card.name || ''}\n${card.desc || ''}`.toLowerCase();
    if (!text.split(/\s+/).every((w) => hay.includes(w))) return false;
  }
  const labels = card.idLabels || [];
  if (f.label === 'none' ? labels.length > 0 : f.label && !labels.includes(f.label)) return false;
  const members = card.idMembers || [];
  if (f.member === 'none' ? members.length > 0 : f.member && !members.includes(f.member)) return false;
  if (f.due) {
    const due = card.due ? Date.parse(card.due) : null;
    switch (f.due) {
      case 'none': if (due !== null) return false; break;
      case 'overdue': if (due === null || card.dueComplete || due >= now) return false; break;
      case 'day': if (due === null || card.dueComplete || due < now || due > now + DAY) return false; break;
      case 'week': if (due === null || card.dueComplete || due < now || due > now + 7 * DAY) return false; break;
      default: break;
    }
  }
  return true;
}

// ---------- names and routes ----------

export function slugify(name) {
  return String(name || '').toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'board';
}

/** The path part of a Trello url field (`https://host/b/abc/name` → `/b/abc/name`). */
export function urlPath(url, fallback) {
  if (!url) return fallback;
  try { return new URL(url, 'http://x').pathname; } catch { return fallback; }
}

export function boardPath(board) {
  return urlPath(board.url, `/b/${board.shortLink || board.id}/${slugify(board.name)}`);
}

export function cardPath(card) {
  return urlPath(card.url, `/c/${card.shortLink || card.id}/${card.idShort ? card.idShort + '-' : ''}${slugify(card.name)}`);
}

/** location → {page, ...}: home, board, card, search, review, report, or notFound. */
export function parseRoute(pathname, search = '') {
  const parts = pathname.split('/').filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
  const query = new URLSearchParams(search);
  if (parts.length === 0) return { page: 'home' };
  const [head, id] = parts;
  if (head === 'b' && id) return { page: 'board', board: id };
  if (head === 'c' && id) return { page: 'card', card: id };
  if (head === 'search' && parts.length === 1) return { page: 'search', q: query.get('q') || '' };
  if (head === 'review' && parts.length === 1) return { page: 'review' };
  if (head === 'import' && parts.length === 1) return { page: 'import' };
  if (head === 'r' && id) return { page: 'report', board: id };
  return { page: 'notFound' };
}

export function initials(member) {
  if (!member) return '?';
  if (member.initials) return member.initials;
  const name = member.fullName || member.username || '?';
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('');
}

export function memberName(member) {
  return (member && (member.fullName || member.username)) || 'someone';
}

// ---------- activity ----------

function quote(text, max = 80) {
  const t = String(text ?? '').replace(/\s+/g, ' ').trim();
  return `“${t.length > max ? t.slice(0, max - 1) + '…' : t}”`;
}

function fieldChange(data) {
  const old = data.old || {};
  const card = data.card || {};
  const name = card.name || 'a card';
  if ('idList' in old && (data.listBefore || data.listAfter)) {
    return `moved ${name} from ${data.listBefore?.name ?? 'a list'} to ${data.listAfter?.name ?? 'a list'}`;
  }
  if ('closed' in old) return card.closed ? `archived ${name}` : `sent ${name} to the board`;
  if ('name' in old) return `renamed ${old.name} to ${name}`;
  if ('desc' in old) return `changed the description of ${name}`;
  if ('dueComplete' in old) return `marked the due date of ${name} ${card.dueComplete ? 'complete' : 'incomplete'}`;
  if ('due' in old) return card.due ? `set ${name} to be due ${shortDate(card.due)}` : `removed the due date from ${name}`;
  if ('start' in old) return card.start ? `set the start date of ${name} to ${shortDate(card.start)}` : `removed the start date from ${name}`;
  if ('pos' in old) return `moved ${name} within ${data.list?.name ?? 'its list'}`;
  if ('idAttachmentCover' in old) return `changed the cover of ${name}`;
  return `updated ${name}`;
}

/**
 * A readable sentence for an action: "alice moved Card X from To do to Doing".
 * `lookup.member(id)` names members the action gives only by id (role changes).
 */
export function actionSentence(action, lookup = {}) {
  const who = memberName(action.memberCreator);
  const d = action.data || {};
  const card = d.card?.name ?? 'a card';
  const list = d.list?.name ?? 'a list';
  const idMember = d.idMember || d.member?.id;
  const member = d.member?.name || d.member?.fullName || d.member?.username || (idMember && lookup.member && lookup.member(idMember)) || idMember || 'a member';
  const label = d.label ? (d.label.name || `the ${d.label.color || 'colourless'} label`) : 'a label';
  let what;
  switch (action.type) {
    case 'createCard': what = `added ${card} to ${list}`; break;
    case 'copyCard': what = `copied ${d.cardSource?.name ?? 'a card'} to ${card} in ${list}`; break;
    case 'updateCard': what = fieldChange(d); break;
    case 'deleteCard': what = `deleted card #${d.card?.idShort ?? ''} from ${list}`; break;
    case 'moveCardToBoard': what = `moved ${card} to this board from ${d.boardSource?.name ?? 'another board'}`; break;
    case 'moveCardFromBoard': what = `moved ${card} to ${d.boardTarget?.name ?? 'another board'}`; break;
    case 'commentCard': what = `commented on ${card}: ${quote(d.text)}`; break;
    case 'updateComment': what = `edited a comment on ${card}`; break;
    case 'deleteComment': what = `deleted a comment on ${card}`; break;
    case 'addMemberToCard': what = `added ${member} to ${card}`; break;
    case 'removeMemberFromCard': what = `removed ${member} from ${card}`; break;
    case 'addLabelToCard': what = `added ${label} to ${card}`; break;
    case 'removeLabelFromCard': what = `removed ${label} from ${card}`; break;
    case 'addChecklistToCard': what = `added checklist ${d.checklist?.name ?? ''} to ${card}`; break;
    case 'removeChecklistFromCard': what = `removed checklist ${d.checklist?.name ?? ''} from ${card}`; break;
    case 'updateChecklist': what = `renamed checklist ${d.old?.name ?? ''} to ${d.checklist?.name ?? ''}`; break;
    case 'createCheckItem': what = `added ${d.checkItem?.name ?? 'an item'} to ${d.checklist?.name ?? 'a checklist'} on ${card}`; break;
    case 'updateCheckItemStateOnCard':
      what = d.checkItem?.state === 'complete' ? `completed ${d.checkItem?.name ?? 'an item'} on ${card}` : `marked ${d.checkItem?.name ?? 'an item'} incomplete on ${card}`;
      break;
    case 'updateCheckItem': what = `updated ${d.checkItem?.name ?? 'an item'} on ${card}`; break;
    case 'deleteCheckItem': what = `deleted ${d.checkItem?.name ?? 'an item'} from ${card}`; break;
    case 'addAttachmentToCard': what = `attached ${d.attachment?.name ?? 'a file'} to ${card}`; break;
    case 'deleteAttachmentFromCard': what = `deleted the attachment ${d.attachment?.name ?? ''} from ${card}`; break;
    case 'updateCustomFieldItem': what = `set ${d.customField?.name ?? 'a field'} on ${card}`; break;
    case 'createList': what = `added list ${list}`; break;
    case 'updateList':
      if ('closed' in (d.old || {})) what = d.list?.closed ? `archived list ${list}` : `sent list ${list} to the board`;
      else if ('name' in (d.old || {})) what = `renamed list ${d.old.name} to ${list}`;
      else if ('pos' in (d.old || {})) what = `moved list ${list}`;
      else what = `updated list ${list}`;
      break;
    case 'moveListToBoard': what = `moved list ${list} to this board`; break;
    case 'moveListFromBoard': what = `moved list ${list} to another board`; break;
    case 'createLabel': what = `created ${label}`; break;
    case 'updateLabel': what = `updated ${label}`; break;
    case 'deleteLabel': what = `deleted a label`; break;
    case 'createBoard': what = `created this board`; break;
    case 'updateBoard':
      if ('name' in (d.old || {})) what = `renamed the board to ${d.board?.name ?? ''}`;
      else if (d.old?.prefs && 'permissionLevel' in d.old.prefs) what = `made the board ${d.board?.prefs?.permissionLevel ?? 'visible differently'}`;
      else if (d.old?.prefs && 'background' in d.old.prefs) what = `changed the board background`;
      else if ('closed' in (d.old || {})) what = d.board?.closed ? 'closed the board' : 'reopened the board';
      else what = 'updated the board';
      break;
    case 'addMemberToBoard': what = `added ${member} to the board`; break;
    case 'removeMemberFromBoard': what = `removed ${member} from the board`; break;
    case 'makeAdminOfBoard': what = `made ${member} an admin of the board`; break;
    case 'makeNormalMemberOfBoard': what = `made ${member} a normal member of the board`; break;
    case 'makeObserverOfBoard': what = `made ${member} an observer of the board`; break;
    case 'rejectChangeRequest': what = 'rejected a change request'; break;
    case 'expireChangeRequest': what = 'let a change request expire'; break;
    default:
      what = action.type.replace(/([A-Z])/g, ' $1').toLowerCase() + (d.card ? ` ${card}` : '');
  }
  return `${who} ${what}${d.revertOf ? ' (undo)' : ''}`;
}

// Action types a board member may undo from the UI: card, list, label, checklist and comment changes.
const UNDOABLE = /^(createCard|copyCard|updateCard|deleteCard|moveCard(To|From)Board|commentCard|updateComment|deleteComment|(add|remove)(Member|Label|Checklist)(To|From)Card|updateChecklist|createCheckItem|updateCheckItem(StateOnCard)?|deleteCheckItem|(add|delete)AttachmentToCard|deleteAttachmentFromCard|updateCustomFieldItem|createList|updateList|moveList(To|From)Board|(create|update|delete)Label)$/;

export function canUndo(action, canWrite = true) {
  return Boolean(canWrite && action && UNDOABLE.test(action.type));
}

// ---------- change requests ----------

function show(value) {
  if (value === null || value === undefined || value === '') return '(none)';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** "DELETE /1/cards/abc" → "Delete card abc" (readable summary of a held request). */
export function describeCommand(command) {
  if (!command) return '';
  const method = String(command.method || '').toUpperCase();
  const path = String(command.target || '').split('?')[0];
  const parts = path.split('/').filter(Boolean);
  const verb = { DELETE: 'Delete', PUT: 'Change', POST: 'Create' }[method] || method;
  const model = (parts[1] || '').replace(/s$/, '');
  const rest = parts.slice(3).join(' ');
  return `${verb} ${model}${parts[2] ? ' ' + parts[2] : ''}${rest ? ' (' + rest + ')' : ''}`.trim();
}

/** The parameters a held request sent, from its JSON or form body and its query. */
export function commandParams(command) {
  const out = {};
  const target = String(command?.target || '');
  const q = target.indexOf('?');
  if (q >= 0) for (const [k, v] of new URLSearchParams(target.slice(q + 1))) out[k] = v;
  const body = command?.body || '';
  if (body) {
    let parsed = null;
    try { parsed = JSON.parse(body); } catch { /* form */ }
    if (parsed && typeof parsed === 'object') Object.assign(out, parsed);
    else for (const [k, v] of new URLSearchParams(body)) out[k] = v;
  }
  return out;
}

/**
 * Rows of old → new for each action a held write would record: for `data.old` keys, the
 * new value is read from the object the action names (card, list, board, label,
 * checklist, checkItem) or from `data.new`.
 */
export function previewDiff(preview) {
  const rows = [];
  for (const action of preview?.actions || []) {
    const d = action.data || {};
    const subject = d.card || d.list || d.checkItem || d.checklist || d.label || d.board || {};
    // A deletion keeps the removed object (Cork's data.deleted): its name says what goes.
    const gone = d.deleted && typeof d.deleted === 'object'
      ? Object.values(d.deleted).find((v) => v && typeof v === 'object' && !Array.isArray(v) && 'name' in v) : null;
    const title = subject.name || gone?.name || d.text || '';
    if (d.old && typeof d.old === 'object') {
      for (const [field, old] of Object.entries(d.old)) {
        let next = d.new && field in d.new ? d.new[field] : subject[field];
        if (field === 'idList' && d.listAfter) next = d.listAfter.name;
        const before = field === 'idList' && d.listBefore ? d.listBefore.name : old;
        rows.push({ type: action.type, subject: title, field: field === 'idList' ? 'list' : field, old: show(before), new: show(next) });
      }
    } else if (gone || /^(delete|remove)/.test(action.type)) {
      rows.push({ type: action.type, subject: title, field: '', old: title || '(the object)', new: '(deleted)' });
    } else {
      rows.push({ type: action.type, subject: title, field: '', old: '', new: title });
    }
  }
  return rows;
}
