// A realistic session against Cork driven entirely through trello.js 2.2.0.
//
// trello.js checks every response that has a schema with zod (parse, not
// safeParse), so a wrong type, a null where the schema wants a string, or a
// missing required key throws a ZodError and fails the step; run strict
// (TRELLO_STRICT_SCHEMAS=true, as run-trellojs.sh does) a key the schema does
// not know fails it too. Answers trello.js does not parse itself (methods
// without a schema such as the custom-field item PUT, and the items of a batch)
// are checked here with the library's own exported schemas. skipParsing is used
// only where the library's schema parts from Trello's answers (custom field
// definitions and list-field items: see LiveCustomFieldSchema), and those
// answers are checked against that schema extended by exactly the keys Trello
// sends. After the hand-written steps, a sweep calls every read method of the
// library (127 in 2.2.0) with the ids the steps made.
//
// Environment: CORK_BASE_URL (http://host:port, without /1), TRELLO_API_KEY,
// TRELLO_TOKEN. Prints "trello.js scenario: N passed, M failed", then every
// failure; exits 1 if anything failed.
import {
  BoardSchema, CardSchema, createTrelloClient, CustomFieldItemsSchema, CustomFieldSchema, EnterpriseAdminSchema, LabelSchema, NotificationSchema,
} from 'trello.js';
import * as library from 'trello.js';
import { createClient } from 'trello.js/core';
import { z } from 'zod';
import { createServer } from 'node:http';
import { recordFetchSecrets } from '../record-secrets.mjs';

// Every token and secret an answer hands out is noted for the run's log check.
recordFetchSecrets();

const base = process.env.CORK_BASE_URL;
const apiKey = process.env.TRELLO_API_KEY;
const apiToken = process.env.TRELLO_TOKEN;
if (!base || !apiKey || !apiToken) {
  console.error('scenario.mjs: set CORK_BASE_URL, TRELLO_API_KEY and TRELLO_TOKEN');
  process.exit(2);
}

// `host` is the option createClient reads (default https://api.trello.com/1).
const trello = createTrelloClient({ host: `${base.replace(/\/$/, '')}/1`, apiKey, apiToken });
// run-trellojs.sh sets TRELLO_STRICT_SCHEMAS=true: every object schema is then strict, and
// a key the library does not know fails the step as surely as a missing one.
const strict = process.env.TRELLO_STRICT_SCHEMAS === 'true';

// The one place where the library's generated schema and Trello's live answers part:
// a custom field definition. Trello sends `name`, `pos` and `options` at the top level
// (py-trello's CustomFieldDefinition reads `name` and pops `options` there; board exports
// hold them there), with `isSuggestedField` and `limits`; the spec the schema comes from
// has them only under `display`. Those answers are read unparsed and checked against the
// library's schema extended by exactly these keys, which stays strict in a strict run.
const raw = createTrelloClient({ host: `${base.replace(/\/$/, '')}/1`, apiKey, apiToken, skipParsing: true });
const OptionInFieldSchema = CustomFieldSchema.shape.display.unwrap().shape.options.unwrap().element;
const LiveCustomFieldSchema = CustomFieldSchema.extend({
  name: z.string(),
  pos: z.number(),
  options: z.array(OptionInFieldSchema).optional(),
  isSuggestedField: z.boolean().optional(),
  limits: z.record(z.string(), z.unknown()).optional(),
});
// And a notification: the spec's (and so the library's) has one type, `cardDueSoon`, and
// `data` as a string (its one example is null); Trello's notifications carry every type
// (addedToCard, commentCard, ...), the action's `data` object and `memberCreator`, as
// Cork's do. Checked as the library's schema extended by exactly those, strict.
const LiveNotificationSchema = NotificationSchema.extend({
  type: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  memberCreator: z.record(z.string(), z.unknown()).optional(),
  // GET /notifications/{id} nests the member by default (the spec's own `member=true`).
  member: z.record(z.string(), z.unknown()).optional(),
});
// Likewise a list field's value on a card: Trello names the chosen option `idValue`
// (py-trello's CustomFieldList reads it), which the item schema lacks.
const LiveCustomFieldItemsSchema = CustomFieldItemsSchema.extend({ idValue: z.string().optional() });

const results = [];
const state = {};

function describeError(err) {
  // zod is trello.js's own dependency, not ours: recognise its errors by name.
  if (err?.name === 'ZodError') {
    return `ZodError:\n${JSON.stringify(err.issues, null, 2)}`;
  }
  return err?.stack && !String(err.message).startsWith('Request failed')
    ? `${err.message}\n${err.stack.split('\n').slice(1, 4).join('\n')}`
    : String(err?.message ?? err);
}

// Runs one named step. `needs` lists keys of `state` that earlier steps must
// have set; when one is missing the step is recorded as failed (blocked)
// rather than run, so that a broken early step cannot hide behind later ones.
async function step(name, needs, fn) {
  const missing = needs.filter((key) => state[key] === undefined);
  if (missing.length > 0) {
    results.push({ name, ok: false, message: `blocked: no ${missing.join(', ')} from an earlier step` });
    console.log(`FAIL  ${name} (blocked)`);
    return;
  }
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok    ${name}`);
  } catch (err) {
    results.push({ name, ok: false, message: describeError(err) });
    console.log(`FAIL  ${name}`);
  }
}

function check(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`assertion failed: ${what}: expected ${e}, got ${a}`);
}

// ---------------------------------------------------------------- members ---
await step('get me', [], async () => {
  const me = await trello.members.getMember({ id: 'me' });
  check(typeof me.id === 'string' && me.id.length === 24, `member id ${me.id}`);
  check(typeof me.username === 'string', 'username is a string');
  state.me = me;
});

await step('get me with all fields', ['me'], async () => {
  const me = await trello.members.getMember({ id: state.me.id, fields: 'all' });
  eq(me.id, state.me.id, 'id');
  // py-trello and trello.js both read these as strings: they must be present.
  check(typeof me.email === 'string', 'email is a string');
  check(typeof me.avatarUrl === 'string', 'avatarUrl is a string');
});

// ----------------------------------------------------------------- boards ---
await step('create board', [], async () => {
  const board = await trello.boards.createBoard({
    name: 'trello.js roadmap',
    desc: 'Board made by the trello.js scenario',
    defaultLists: false,
    prefsPermissionLevel: 'private',
  });
  eq(board.name, 'trello.js roadmap', 'name');
  eq(board.desc, 'Board made by the trello.js scenario', 'desc');
  eq(board.closed, false, 'closed');
  eq(board.prefs?.permissionLevel, 'private', 'prefs.permissionLevel');
  state.board = board;
});

await step('create second board', [], async () => {
  const board = await trello.boards.createBoard({ name: 'trello.js archive' });
  eq(board.name, 'trello.js archive', 'name');
  state.board2 = board;
});

await step('list my boards', ['board', 'board2'], async () => {
  const boards = await trello.members.getMemberBoards({ id: 'me', filter: 'open' });
  const ids = boards.map((b) => b.id);
  check(ids.includes(state.board.id) && ids.includes(state.board2.id), 'both boards listed');
});

await step('default lists of the second board', ['board2'], async () => {
  const lists = await trello.boards.getBoardLists({ id: state.board2.id });
  eq(lists.map((l) => l.name), ['To Do', 'Doing', 'Done'], 'default list names');
  state.board2Lists = lists;
});

// ------------------------------------------------------------------ lists ---
await step('create lists', ['board'], async () => {
  const backlog = await trello.lists.createList({ name: 'Backlog', idBoard: state.board.id, pos: 'bottom' });
  const doing = await trello.lists.createList({ name: 'Doing', idBoard: state.board.id, pos: 'bottom' });
  const done = await trello.boards.createBoardList({ id: state.board.id, name: 'Done', pos: 'bottom' });
  eq(backlog.idBoard, state.board.id, 'idBoard');
  check(backlog.pos < doing.pos && doing.pos < done.pos, 'bottom positions increase');
  state.lists = { backlog, doing, done };
});

await step('get board with lists', ['board', 'lists'], async () => {
  const board = await trello.boards.getBoard({ id: state.board.id, fields: 'all' });
  eq(board.id, state.board.id, 'id');
  eq(board.name, 'trello.js roadmap', 'name');
  // BoardSchema has no `lists` key and zod strips unknown keys, so the nested
  // lists never reach the caller; the library's way to read them is getBoardLists.
  const lists = await trello.boards.getBoardLists({ id: state.board.id, filter: 'open' });
  eq(lists.map((l) => l.name), ['Backlog', 'Doing', 'Done'], 'list names in order');
});

await step('rename a list', ['lists'], async () => {
  const list = await trello.lists.updateList({ id: state.lists.doing.id, name: 'In progress' });
  eq(list.name, 'In progress', 'name');
});

// ------------------------------------------------------------------ cards ---
const due = '2031-05-17T12:00:00.000Z';
await step('create cards', ['lists'], async () => {
  const spec = await trello.cards.createCard({
    idList: state.lists.backlog.id,
    name: 'Write the quarterly spec',
    desc: 'Collect the *requirements* first.',
    pos: 'top',
    due,
  });
  eq(spec.name, 'Write the quarterly spec', 'name');
  eq(spec.desc, 'Collect the *requirements* first.', 'desc');
  eq(spec.idList, state.lists.backlog.id, 'idList');
  eq(spec.idBoard, state.board.id, 'idBoard');
  check(spec.due instanceof Date && spec.due.toISOString() === due, `due ${spec.due}`);
  eq(spec.dueComplete, false, 'dueComplete');
  const review = await trello.cards.createCard({
    idList: state.lists.backlog.id,
    name: 'Review the budget',
    pos: 'bottom',
  });
  const first = await trello.cards.createCard({ idList: state.lists.backlog.id, name: 'Plan the kickoff', pos: 'top' });
  check(first.pos < spec.pos && spec.pos < review.pos, 'top/bottom positions');
  const numbered = await trello.cards.createCard({ idList: state.lists.backlog.id, name: 'Order snacks', pos: 12345 });
  eq(numbered.pos, 12345, 'numeric pos');
  state.cards = { spec, review, first, numbered };
});

await step('list cards of a list', ['cards'], async () => {
  const cards = await trello.lists.getListCards({ id: state.lists.backlog.id });
  eq(cards.map((c) => c.name).sort(), ['Order snacks', 'Plan the kickoff', 'Review the budget', 'Write the quarterly spec'],
    'four cards');
  const positions = cards.map((c) => c.pos);
  eq([...positions].sort((a, b) => a - b), positions, 'cards come in pos order');
});

await step('update a card (move, rename, dueComplete)', ['cards', 'lists'], async () => {
  const card = await trello.cards.updateCard({
    id: state.cards.spec.id,
    idList: state.lists.doing.id,
    name: 'Write the quarterly spec v2',
    dueComplete: true,
    pos: 'bottom',
  });
  eq(card.idList, state.lists.doing.id, 'idList after move');
  eq(card.name, 'Write the quarterly spec v2', 'name');
  eq(card.dueComplete, true, 'dueComplete');
  const again = await trello.cards.getCard({ id: card.id });
  eq(again.idList, state.lists.doing.id, 'idList when read back');
  eq(again.badges?.dueComplete, true, 'badges.dueComplete');
});

await step('get card list and board', ['cards'], async () => {
  const list = await trello.cards.getCardList({ id: state.cards.spec.id });
  eq(list.id, state.lists.doing.id, 'card list');
  const board = await trello.cards.getCardBoard({ id: state.cards.spec.id });
  eq(board.id, state.board.id, 'card board');
});

await step('get board cards', ['cards'], async () => {
  const cards = await trello.boards.getBoardCards({ id: state.board.id });
  eq(cards.length, 4, 'card count');
});

// ----------------------------------------------------------------- labels ---
await step('create label on board', ['board'], async () => {
  const urgent = await trello.boards.createBoardLabel({ id: state.board.id, name: 'Urgent', color: 'red' });
  eq(urgent.name, 'Urgent', 'name');
  eq(urgent.color, 'red', 'color');
  eq(urgent.idBoard, state.board.id, 'idBoard');
  const later = await trello.labels.createLabel({ idBoard: state.board.id, name: 'Later', color: 'sky' });
  eq(later.color, 'sky', 'color');
  state.labels = { urgent, later };
});

await step('list board labels', ['labels'], async () => {
  const labels = await trello.boards.getBoardLabels({ id: state.board.id });
  const ids = labels.map((l) => l.id);
  check(ids.includes(state.labels.urgent.id) && ids.includes(state.labels.later.id), 'new labels listed');
});

await step('add label to card', ['labels', 'cards'], async () => {
  const idLabels = await trello.cards.addCardLabel({ id: state.cards.spec.id, value: state.labels.urgent.id });
  // No schema in trello.js here; Trello answers with the card's label ids.
  eq(idLabels, [state.labels.urgent.id], 'idLabels answer');
  await trello.cards.addCardLabel({ id: state.cards.review.id, value: state.labels.later.id });
  const card = await trello.cards.getCard({ id: state.cards.spec.id });
  eq(card.labels?.map((l) => l.name), ['Urgent'], 'card.labels');
});

await step('create label from card', ['cards'], async () => {
  const label = await trello.cards.createCardLabel({ id: state.cards.first.id, name: 'Kickoff', color: 'green' });
  eq(label.name, 'Kickoff', 'name');
  const card = await trello.cards.getCard({ id: state.cards.first.id });
  eq(card.idLabels, [label.id], 'idLabels');
  state.kickoffLabel = label;
});

await step('update label', ['labels'], async () => {
  const label = await trello.labels.updateLabel({ id: state.labels.later.id, name: 'Someday', color: 'purple' });
  eq(label.name, 'Someday', 'name');
  eq(label.color, 'purple', 'color');
  LabelSchema.parse(await trello.labels.getLabel({ id: label.id }));
});

await step('remove label from card', ['labels', 'cards'], async () => {
  await trello.cards.removeCardLabel({ id: state.cards.review.id, idLabel: state.labels.later.id });
  const card = await trello.cards.getCard({ id: state.cards.review.id });
  eq(card.idLabels, [], 'idLabels after removal');
});

// ------------------------------------------------------------- checklists ---
await step('create checklist with items', ['cards'], async () => {
  const checklist = await trello.cards.createCardChecklist({ id: state.cards.spec.id, name: 'Sections' });
  eq(checklist.name, 'Sections', 'name');
  eq(checklist.idCard, state.cards.spec.id, 'idCard');
  eq(checklist.checkItems, [], 'no items yet');
  const intro = await trello.checklists.createChecklistItem({ id: checklist.id, name: 'Introduction' });
  const scope = await trello.checklists.createChecklistItem({ id: checklist.id, name: 'Scope', pos: 'bottom' });
  const risks = await trello.checklists.createChecklistItem({ id: checklist.id, name: 'Risks', checked: true });
  eq(intro.state, 'incomplete', 'new item state');
  eq(risks.state, 'complete', 'checked item state');
  eq(intro.idChecklist, checklist.id, 'idChecklist');
  const other = await trello.checklists.createChecklist({ idCard: state.cards.spec.id, name: 'Reviewers' });
  eq(other.idCard, state.cards.spec.id, 'idCard of second checklist');
  state.checklist = checklist;
  state.checkItems = { intro, scope, risks };
  state.checklist2 = other;
});

await step('complete item via card checkItem route', ['checklist', 'checkItems'], async () => {
  const item = await trello.cards.updateCardCheckItem({
    id: state.cards.spec.id,
    idCheckItem: state.checkItems.intro.id,
    state: 'complete',
  });
  eq(item.state, 'complete', 'state');
  eq(item.id, state.checkItems.intro.id, 'id');
  const read = await trello.cards.getCardCheckItem({ id: state.cards.spec.id, idCheckItem: item.id });
  eq(read.state, 'complete', 'state read back');
  const states = await trello.cards.getCardCheckItemStates({ id: state.cards.spec.id });
  eq(states.map((s) => s.idCheckItem).sort(), [state.checkItems.intro.id, state.checkItems.risks.id].sort(), 'checkItemStates');
});

await step('rename item and reorder via card routes', ['checklist', 'checkItems'], async () => {
  const renamed = await trello.cards.updateCardCheckItem({
    id: state.cards.spec.id,
    idCheckItem: state.checkItems.scope.id,
    name: 'Scope and non-goals',
    pos: 'top',
  });
  eq(renamed.name, 'Scope and non-goals', 'name');
  const moved = await trello.cards.updateCardChecklistItem({
    idCard: state.cards.spec.id,
    idChecklist: state.checklist.id,
    idCheckItem: state.checkItems.risks.id,
    pos: 'top',
  });
  eq(moved.id, state.checkItems.risks.id, 'id');
});

await step('read checklists', ['checklist'], async () => {
  const checklists = await trello.cards.getCardChecklists({ id: state.cards.spec.id });
  eq(checklists.map((c) => c.name), ['Sections', 'Reviewers'], 'checklist names');
  const full = await trello.checklists.getChecklist({ id: state.checklist.id });
  eq(full.checkItems?.length, 3, 'three items');
  const items = await trello.checklists.getChecklistItems({ id: state.checklist.id });
  eq(items[0].id, state.checkItems.risks.id, 'risks moved to the top');
  const card = await trello.cards.getCard({ id: state.cards.spec.id });
  eq(card.badges?.checkItems, 3, 'badges.checkItems');
  eq(card.badges?.checkItemsChecked, 2, 'badges.checkItemsChecked');
});

await step('delete a check item and a checklist', ['checklist', 'checklist2', 'checkItems'], async () => {
  await trello.cards.deleteCardCheckItem({ id: state.cards.spec.id, idCheckItem: state.checkItems.scope.id });
  await trello.cards.removeCardChecklist({ id: state.cards.spec.id, idChecklist: state.checklist2.id });
  const items = await trello.checklists.getChecklistItems({ id: state.checklist.id });
  eq(items.length, 2, 'two items left');
  const checklists = await trello.cards.getCardChecklists({ id: state.cards.spec.id });
  eq(checklists.length, 1, 'one checklist left');
});

// --------------------------------------------------------------- comments ---
await step('create comment', ['cards'], async () => {
  const action = await trello.cards.createCardComment({ id: state.cards.spec.id, text: 'First draft is up.' });
  eq(action.type, 'commentCard', 'type');
  eq(action.data.text, 'First draft is up.', 'data.text');
  eq(action.idMemberCreator, state.me?.id ?? action.idMemberCreator, 'idMemberCreator');
  check(action.date instanceof Date && !Number.isNaN(action.date.getTime()), 'date parses');
  state.comment = action;
});

await step('update comment', ['comment'], async () => {
  const action = await trello.cards.updateCardComment({
    id: state.cards.spec.id,
    idAction: state.comment.id,
    text: 'First draft is up, please review.',
  });
  eq(action.id, state.comment.id, 'same action');
  eq(action.data.text, 'First draft is up, please review.', 'data.text');
});

await step('list card actions', ['comment'], async () => {
  const comments = await trello.cards.getCardActions({ id: state.cards.spec.id, filter: 'commentCard' });
  eq(comments.map((a) => a.id), [state.comment.id], 'one comment');
  eq(comments[0].data.text, 'First draft is up, please review.', 'edited text');
  const all = await trello.cards.getCardActions({ id: state.cards.spec.id, filter: 'all' });
  check(all.some((a) => a.type === 'createCard'), 'createCard action present');
  check(all.some((a) => a.type === 'updateCard'), 'updateCard action present');
  const board = await trello.boards.getBoardActions({ boardId: state.board.id, limit: 50 });
  check(board.length > 0, 'board actions present');
  const action = await trello.actions.getAction({ id: state.comment.id });
  eq(action.type, 'commentCard', 'getAction type');
});

await step('delete comment', ['comment'], async () => {
  await trello.cards.deleteCardComment({ id: state.cards.spec.id, idAction: state.comment.id });
  const comments = await trello.cards.getCardActions({ id: state.cards.spec.id, filter: 'commentCard' });
  eq(comments, [], 'no comments left');
});

// ------------------------------------------------------------ attachments ---
await step('url attachment', ['cards'], async () => {
  const att = await trello.cards.createCardAttachment({
    id: state.cards.spec.id,
    url: 'https://example.com/spec.pdf',
    name: 'Spec draft',
  });
  eq(att.name, 'Spec draft', 'name');
  eq(att.url, 'https://example.com/spec.pdf', 'url');
  eq(att.isUpload, false, 'isUpload');
  const list = await trello.cards.getCardAttachments({ id: state.cards.spec.id });
  eq(list.map((a) => a.id), [att.id], 'listed');
  const one = await trello.cards.getCardAttachment({ id: state.cards.spec.id, idAttachment: att.id });
  eq(one.id, att.id, 'read back');
  const card = await trello.cards.getCard({ id: state.cards.spec.id });
  eq(card.badges?.attachments, 1, 'badges.attachments');
  state.attachment = att;
});

await step('delete attachment', ['attachment'], async () => {
  await trello.cards.deleteCardAttachment({ id: state.cards.spec.id, idAttachment: state.attachment.id });
  const list = await trello.cards.getCardAttachments({ id: state.cards.spec.id });
  eq(list, [], 'no attachments left');
});

// trello.js 2.2.0 has no multipart path: createCardAttachment puts `file` into
// the query string with String(value), and the client serialises any non-string
// body with JSON.stringify. A file upload is therefore not possible through the
// library; it is noted, not counted.
const notes = ['file attachment upload: not attempted — trello.js 2.2.0 cannot send multipart/form-data'];

// ---------------------------------------------------------- custom fields ---
await step('create list custom field', ['board'], async () => {
  const field = await raw.customFields.createCustomField({
    idModel: state.board.id,
    modelType: 'board',
    name: 'Priority',
    type: 'list',
    options: [
      { value: { text: 'High' }, color: 'red', pos: 1024 },
      { value: { text: 'Low' }, color: 'green', pos: 2048 },
    ],
    pos: 'top',
    display_cardFront: true,
  });
  LiveCustomFieldSchema.parse(field);
  eq(field.idModel, state.board.id, 'idModel');
  eq(field.type, 'list', 'type');
  eq(field.name, 'Priority', 'name');
  eq(field.options.map((o) => o.value.text), ['High', 'Low'], 'options');
  state.field = field;
});

await step('read custom field and options', ['field'], async () => {
  const field = LiveCustomFieldSchema.parse(await raw.customFields.getCustomField({ id: state.field.id }));
  eq(field.id, state.field.id, 'id');
  const fields = z.array(LiveCustomFieldSchema).parse(await raw.boards.getBoardCustomFields({ id: state.board.id }));
  eq(fields.map((f) => f.id), [state.field.id], 'board custom fields');
  const options = await trello.customFields.getCustomFieldOptions({ id: state.field.id });
  eq(options.map((o) => o.value?.text), ['High', 'Low'], 'option texts');
  state.options = options;
});

await step('add option to custom field', ['field'], async () => {
  const option = await trello.customFields.createCustomFieldOption({
    id: state.field.id,
    value: { text: 'Medium' },
    color: 'yellow',
    pos: 1536,
  });
  eq(option.value?.text, 'Medium', 'value.text');
  const read = await trello.customFields.getCustomFieldOption({ id: state.field.id, idCustomFieldOption: option._id });
  eq(read.value?.text, 'Medium', 'read back');
});

await step('set custom field item on card', ['field', 'options', 'cards'], async () => {
  const high = state.options[0];
  const answer = await trello.cards.updateCardCustomFieldItem({
    idCard: state.cards.spec.id,
    idCustomField: state.field.id,
    body: { idValue: high._id },
  });
  // trello.js declares no schema for this answer; Trello sends the item.
  const item = LiveCustomFieldItemsSchema.parse(answer);
  eq(item.idCustomField, state.field.id, 'idCustomField');
  eq(item.idModel, state.cards.spec.id, 'idModel');
  eq(answer.idValue, high._id, 'idValue');
});

await step('read customFieldItems', ['field', 'options', 'cards'], async () => {
  const items = z.array(LiveCustomFieldItemsSchema).parse(await raw.cards.getCardCustomFieldItems({ id: state.cards.spec.id }));
  eq(items.length, 1, 'one item');
  eq(items[0].idCustomField, state.field.id, 'idCustomField');
  const card = CardSchema.extend({ customFieldItems: z.array(LiveCustomFieldItemsSchema) })
    .parse(await raw.cards.getCard({ id: state.cards.spec.id, customFieldItems: true }));
  eq(card.customFieldItems.length, 1, 'card.customFieldItems');
});

await step('clear custom field item', ['field', 'cards'], async () => {
  await trello.cards.updateCardCustomFieldItem({
    idCard: state.cards.spec.id,
    idCustomField: state.field.id,
    body: { idValue: '' },
  });
  const items = await trello.cards.getCardCustomFieldItems({ id: state.cards.spec.id });
  eq(items, [], 'no items after clearing');
});

// ----------------------------------------------------------------- search ---
await step('search cards by a word', ['cards'], async () => {
  const result = await trello.search.search({ query: 'quarterly', modelTypes: 'cards' });
  eq(result.cards?.map((c) => c.id), [state.cards.spec.id], 'matching card');
});

await step('search with an operator', ['cards', 'labels'], async () => {
  const result = await trello.search.search({ query: 'label:urgent', modelTypes: 'cards,boards', idBoards: state.board.id });
  eq(result.cards?.map((c) => c.id), [state.cards.spec.id], 'card with the label');
  const byList = await trello.search.search({ query: 'list:backlog budget', modelTypes: 'cards' });
  eq(byList.cards?.map((c) => c.id), [state.cards.review.id], 'card in Backlog matching budget');
});

await step('search members', ['me'], async () => {
  const members = await trello.search.searchMembers({ query: state.me.username.slice(0, 4) });
  check(members.some((m) => m.id === state.me.id), 'finds me');
});

// ------------------------------------------------------------------ batch ---
await step('batch with two urls', ['board', 'cards'], async () => {
  const [board, card] = await trello.batch.run((b) => [
    b.boards.getBoard({ id: state.board.id }),
    b.cards.getCard({ id: state.cards.first.id }),
  ]);
  // The batch runner resolves the raw items without parsing them: check them
  // against the schemas the single calls would have used.
  eq(BoardSchema.parse(board).id, state.board.id, 'first batch item');
  eq(CardSchema.parse(card).id, state.cards.first.id, 'second batch item');
});

await step('batch with a failing url', ['board'], async () => {
  // A failed item is Trello's error object itself, {statusCode, name, message}: what
  // ha-py-trello's BatchError reads (its test, written against Trello, expects "invalid
  // id" for a list id of "123"). Its first key is no 2xx status, so the library's runner
  // rejects the batch with that item.
  let error = null;
  try {
    await trello.batch.run((b) => [b.boards.getBoard({ id: state.board.id }), b.lists.getList({ id: '123' })]);
  } catch (err) {
    error = err;
  }
  check(error && /^Batch request failed: /.test(error.message), `the batch rejects: ${error?.message}`);
  const item = JSON.parse(error.message.slice('Batch request failed: '.length));
  eq(item, { statusCode: 400, name: 'BadRequestError', message: 'invalid id' }, 'the failed item');
});

// ---------------------------------------------------------------- members ---
await step('members of the board', ['board', 'me'], async () => {
  const members = await trello.boards.getBoardMembers({ id: state.board.id });
  eq(members.map((m) => m.id), [state.me.id], 'board members');
  const memberships = await trello.boards.getBoardMemberships({ id: state.board.id });
  eq(memberships.map((m) => [m.idMember, m.memberType]), [[state.me.id, 'admin']], 'memberships');
});

await step('card members', ['cards', 'me'], async () => {
  const added = await trello.cards.addCardMember({ id: state.cards.first.id, value: state.me.id });
  eq(added.map((m) => m.id), [state.me.id], 'addCardMember answer');
  const members = await trello.cards.getCardMembers({ id: state.cards.first.id });
  eq(members.map((m) => m.id), [state.me.id], 'card members');
  await trello.cards.removeCardMember({ id: state.cards.first.id, idMember: state.me.id });
  const after = await trello.cards.getCard({ id: state.cards.first.id });
  eq(after.idMembers, [], 'idMembers after removal');
});

// ---------------------------------------------------------- organizations ---
await step('create organization', [], async () => {
  const org = await trello.organizations.createOrganization({ displayName: 'trello.js Team', desc: 'A workspace' });
  eq(org.displayName, 'trello.js Team', 'displayName');
  check(typeof org.name === 'string' && org.name.length >= 3, `name ${org.name}`);
  state.org = org;
});

await step('get organization', ['org'], async () => {
  const org = await trello.organizations.getOrganization({ id: state.org.id });
  eq(org.id, state.org.id, 'id');
  eq(org.desc, 'A workspace', 'desc');
  const orgs = await trello.members.getMemberOrganizations({ id: 'me' });
  check(orgs.some((o) => o.id === state.org.id), 'listed for me');
});

await step('board in organization', ['org', 'board2'], async () => {
  const board = await trello.boards.updateBoard({ id: state.board2.id, idOrganization: state.org.id });
  eq(board.idOrganization, state.org.id, 'idOrganization');
  const boards = await trello.organizations.getOrganizationBoards({ id: state.org.id });
  eq(boards.map((b) => b.id), [state.board2.id], 'organization boards');
});

await step('delete organization', ['org'], async () => {
  await trello.organizations.deleteOrganization({ id: state.org.id });
  let gone = false;
  try {
    await trello.organizations.getOrganization({ id: state.org.id });
  } catch (err) {
    gone = /Request failed: 404/.test(String(err?.message));
  }
  check(gone, 'organization answers 404 after deletion');
});

// ------------------------------------------------------------------ sweep ---
// Every read method of the library, called once with the ids the steps above made, each
// answer parsed by the library's own (strict) schema. The methods and their URLs come
// from the library itself (each function's `url` template), so a method it adds is
// swept too; a path parameter with nothing to fill it is a named skip, not a pass.
await step('sweep fixtures: what the sweep reads, changes and deletes', ['board', 'cards'], async () => {
  const card = state.cards.spec.id;
  const org = await trello.organizations.createOrganization({ displayName: 'Swept workspace' });
  // In a workspace, so an action of the board names its organization.
  await trello.boards.updateBoard({ id: state.board.id, idOrganization: org.id });
  const comment = await trello.cards.createCardComment({ id: card, text: 'swept' });
  const reaction = await trello.actions.createActionReaction({ idAction: comment.id, shortName: 'thumbsup' });
  const checklist = await trello.checklists.createChecklist({ idCard: card, name: 'Swept' });
  const item = await trello.checklists.createChecklistItem({ id: checklist.id, name: 'one' });
  const attachment = await trello.cards.createCardAttachment({ id: card, url: 'https://example.com/swept', name: 'swept' });
  const sticker = await trello.cards.createCardSticker({ id: card, image: 'taco-cool', top: 10, left: 10, zIndex: 1 });
  const star = await trello.members.starBoard({ id: 'me', idBoard: state.board.id, pos: 'top' });
  const search = await trello.members.createMemberSavedSearch({ id: 'me', name: 'swept', query: 'swept', pos: 'top' });
  const memberships = await trello.organizations.getOrganizationMemberships({ id: org.id });
  // trello.js 2.2.0's createOrganizationTag sends no name (its parameters stop at the
  // id), so the tag addBoardTag needs is made over plain HTTP.
  const tagged = await fetch(`${base.replace(/\/$/, '')}/1/organizations/${org.id}/tags?name=swept-tag&key=${apiKey}&token=${apiToken}`, { method: 'POST' });
  check(tagged.ok, `tag created: ${tagged.status}`);
  const tag = await tagged.json();
  await trello.organizations.createOrganizationExport({ id: org.id });
  // A webhook needs a callback that answers Trello's HEAD check (run-trellojs.sh lets the
  // server call 127.0.0.1).
  const receiver = createServer((req, res) => { req.resume(); res.end(); });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiver.unref();
  const webhook = await trello.webhooks.createWebhook({
    callbackURL: `http://127.0.0.1:${receiver.address().port}/hook`, idModel: state.board.id, description: 'swept',
  });
  state.sweep = { comment, reaction, checklist, item, attachment, sticker, star, search, org, membership: memberships[0], webhook, tag };
  // A second member acts: joins the board, makes a card and adds jsuser to it, which
  // gives jsuser a notification.
  const friendKey = process.env.TRELLO_FRIEND_KEY;
  const friendToken = process.env.TRELLO_FRIEND_TOKEN;
  if (friendKey && friendToken) {
    const friend = createTrelloClient({ host: `${base.replace(/\/$/, '')}/1`, apiKey: friendKey, apiToken: friendToken });
    const friendMe = await friend.members.getMember({ id: 'me' });
    await trello.boards.updateBoardMember({ id: state.board.id, idMember: friendMe.id, type: 'normal' });
    const theirs = await friend.cards.createCard({ idList: state.lists.doing.id, name: 'made by a friend' });
    await friend.cards.addCardMember({ id: theirs.id, value: state.me.id });
    const notifications = z.array(LiveNotificationSchema).parse(await raw.members.getMemberNotifications({ id: 'me' }));
    check(notifications.length > 0, 'jsuser has a notification');
    const memberships = await trello.boards.getBoardMemberships({ id: state.board.id });
    Object.assign(state.sweep, {
      friend: friendMe, friendClient: friend, notification: notifications[0], friendMembership: memberships.find((m) => m.idMember === friendMe.id),
    });
  }
  // Pictures: trello.js cannot send multipart bodies, so they are uploaded over plain
  // HTTP (a 2x3 PNG header is enough for Cork to read the size), and the library reads,
  // changes and deletes them.
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 2, 0, 0, 0, 3, 8, 6, 0, 0, 0, 0, 0, 0, 0]);
  const upload = async (path, extra = {}) => {
    const form = new FormData();
    form.append('file', new Blob([png], { type: 'image/png' }), 'swept.png');
    for (const [k, v] of Object.entries(extra)) form.append(k, v);
    const answer = await fetch(`${base.replace(/\/$/, '')}/1${path}?key=${apiKey}&token=${apiToken}`, { method: 'POST', body: form });
    check(answer.ok, `upload to ${path}: ${answer.status} ${await answer.clone().text()}`);
    return answer.json();
  };
  await upload(`/organizations/${org.id}/logo`);
  Object.assign(state.sweep, {
    background: await upload('/members/me/boardBackgrounds'),
    customBackground: await upload('/members/me/customBoardBackgrounds'),
    emoji: await upload('/members/me/customEmoji', { name: 'swept' }),
    customSticker: await upload('/members/me/customStickers'),
  });
  // An administrator of the instance's enterprise, for the enterprise routes.
  const adminKey = process.env.TRELLO_ADMIN_KEY;
  const adminToken = process.env.TRELLO_ADMIN_TOKEN;
  if (adminKey && adminToken) {
    const host = `${base.replace(/\/$/, '')}/1`;
    const enterprises = await fetch(`${host}/members/me/enterprises?key=${adminKey}&token=${adminToken}`).then((r) => r.json());
    check(enterprises.length === 1, `the instance's enterprise: ${JSON.stringify(enterprises)}`);
    Object.assign(state.sweep, {
      enterprise: enterprises[0].id,
      admin: createTrelloClient({ host, apiKey: adminKey, apiToken: adminToken }),
      adminClient: createClient({ host, apiKey: adminKey, apiToken: adminToken }),
      adminRaw: createClient({ host, apiKey: adminKey, apiToken: adminToken, skipParsing: true }),
      adminRawFacade: createTrelloClient({ host, apiKey: adminKey, apiToken: adminToken, skipParsing: true }),
    });
  }
});

const sweepClient = createClient({ host: `${base.replace(/\/$/, '')}/1`, apiKey, apiToken });
// The reads whose library schema parts from Trello's answers (see LiveCustomFieldSchema):
// read unparsed, checked against the extended schema, strict.
const rawClient = createClient({ host: `${base.replace(/\/$/, '')}/1`, apiKey, apiToken, skipParsing: true });
const liveSchemas = {
  getCustomField: LiveCustomFieldSchema,
  getBoardCustomFields: z.array(LiveCustomFieldSchema),
  getCardCustomFieldItems: z.array(LiveCustomFieldItemsSchema),
  getMemberNotifications: z.array(LiveNotificationSchema),
  getNotification: LiveNotificationSchema,
  // The spec's example is one admin; Cork answers every admin (the route is plural),
  // each checked as the library's EnterpriseAdmin (docs/compat-notes.tsv).
  getEnterpriseAdmins: z.array(EnterpriseAdminSchema),
};
// Each path parameter's value, by the segment before it (or its own name).
function sweepValue(segment, name) {
  const f = state.sweep;
  const byName = {
    idAction: f.comment.id, idReaction: f.reaction.id, idAttachment: f.attachment.id, idCheckItem: f.item.id,
    idSticker: f.sticker.id, idCustomFieldOption: state.options?.[0]?._id, idStar: f.star.id, idSearch: f.search.id,
    idMembership: f.membership?.id, idBoard: state.board.id, idMember: state.me.id, token: apiToken, channel: 'email',
    idEmoji: f.emoji?.id,
    boardId: state.board.id, idOrganizations: f.org.id, idOrganization: f.org.id, idWebhook: f.webhook.id,
  };
  if (name === 'idBackground') return segment === 'customBoardBackgrounds' ? f.customBackground?.id : f.background?.id;
  if (name === 'idSticker' && segment === 'customStickers') return f.customSticker?.id;
  if (name in byName) return byName[name];
  if (name === 'field') {
    return { actions: 'date', boards: 'name', cards: 'name', checklists: 'name', members: 'username', organizations: 'name', notifications: 'type', webhooks: 'description' }[segment];
  }
  if (name === 'filter') return 'open';
  if (name === 'id') {
    return {
      actions: f.comment.id, boards: state.board.id, cards: state.cards.spec.id, checklists: f.checklist.id, customFields: state.field?.id,
      labels: state.labels?.urgent?.id, lists: state.lists.doing.id, members: state.me.id, organizations: f.org.id, reactions: f.reaction.id,
      webhooks: f.webhook.id, notifications: f.notification?.id, enterprises: f.enterprise, plugins: process.env.TRELLO_PLUGIN_ID,
    }[segment];
  }
  return undefined;
}

const reads = [];
for (const [name, fn] of Object.entries(library)) {
  if (typeof fn !== 'function') continue;
  const found = fn.toString().match(/url:\s*[`'"]([^`'"]*)[`'"][\s\S]*?method:\s*'(\w+)'/);
  if (found && found[2] === 'GET') reads.push({ name, fn, template: found[1] });
}
reads.sort((a, b) => a.template.localeCompare(b.template));
const sweepSkips = [];
for (const { name, fn, template } of reads) {
  const parameters = {};
  const missing = [];
  const path = template.replace(/\$\{parameters\.(\w+)\}/g, (_, param, at) => {
    const before = template.slice(0, at).split('/').filter(Boolean);
    // The resource a parameter names: the literal segment before it (`/cards/{id}`,
    // `/reactions/{id}`), or for `/{id}/{field}` the path's first segment.
    const last = before[before.length - 1] || '';
    const segment = last.startsWith('${') ? before[0] : last;
    const value = state.sweep ? sweepValue(segment, param) : undefined;
    if (value === undefined) missing.push(param);
    parameters[param] = value;
    return `{${param}}`;
  });
  const unmade = {
    '/boards/${parameters.id}/exports': 'board exports (/1/boards/{id}/exports) are newer than the spec Cork serves; its export is GET /cork/boards/{id}/export',
  };
  const reason = Object.entries(unmade).find(([part]) => template.includes(part))?.[1];
  if (reason) {
    sweepSkips.push(`${name} (GET ${path}): ${reason}`);
    continue;
  }
  if (missing.length > 0) {
    sweepSkips.push(`${name} (GET ${path}): nothing to fill ${missing.join(', ')}`);
    continue;
  }
  if (/^\/(search|batch)(\/members)?\/?$/.test(template)) continue; // need their own queries: steps above
  // The enterprise's routes are its administrators'.
  const enterprise = template.startsWith('/enterprises');
  const client = enterprise ? state.sweep?.adminClient : sweepClient;
  if (!client) {
    sweepSkips.push(`${name} (GET ${path}): no enterprise administrator`);
    continue;
  }
  await step(`sweep ${name} (GET ${path})`, ['sweep'], async () => {
    const live = liveSchemas[name];
    if (live) live.parse(await fn(enterprise ? state.sweep.adminRaw : rawClient, parameters));
    else await fn(client, parameters);
  });
}
notes.push(`sweep: ${reads.length} read methods in the library; ${sweepSkips.length} skipped:\n  ${sweepSkips.join('\n  ')}`);

// Write methods the steps above do not call, each once on the sweep's own fixtures (or a
// harmless change to the scenario's), in an order that keeps what later ones need:
// updates, then creates, then deletes. The library parses each answer (strict).
const receiverPort = await (async () => {
  const receiver = createServer((req, res) => { req.resume(); res.end(); });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiver.unref();
  return receiver.address().port;
})();
const writes = [
  ['actions', 'updateAction', (f) => ({ id: f.comment.id, text: 'swept again' })],
  ['actions', 'updateActionText', (f) => ({ id: f.comment.id, value: 'swept once more' })],
  ['cards', 'updateCardSticker', (f) => ({ id: state.cards.spec.id, idSticker: f.sticker.id, top: 20, left: 20, zIndex: 2 })],
  ['checklists', 'updateChecklist', (f) => ({ id: f.checklist.id, name: 'Swept list' })],
  ['checklists', 'updateChecklistField', (f) => ({ id: f.checklist.id, field: 'name', value: 'Swept list, renamed' })],
  ['customFields', 'updateCustomField', () => ({ id: state.field.id, name: 'Priority' }), LiveCustomFieldSchema],
  ['labels', 'updateLabelField', () => ({ id: state.labels.urgent.id, field: 'name', value: 'urgent' })],
  ['lists', 'updateListField', () => ({ id: state.lists.doing.id, field: 'name', value: 'In progress' })],
  ['members', 'updateMember', () => ({ id: 'me', bio: 'swept by trello.js' })],
  ['members', 'updateMemberBoardStar', (f) => ({ id: 'me', idStar: f.star.id, pos: 'bottom' })],
  ['members', 'updateMemberSavedSearch', (f) => ({ id: 'me', idSearch: f.search.id, name: 'swept, renamed' })],
  ['organizations', 'updateOrganization', (f) => ({ id: f.org.id, desc: 'swept' })],
  ['webhooks', 'updateWebhook', (f) => ({ id: f.webhook.id, description: 'swept, renamed' })],
  ['tokens', 'updateTokenWebhook', (f) => ({ token: apiToken, idWebhook: f.webhook.id, description: 'swept by token' })],
  ['boards', 'updateBoardShowSidebar', () => ({ id: state.board.id, value: true })],
  ['boards', 'updateBoardShowSidebarActivity', () => ({ id: state.board.id, value: true })],
  ['boards', 'updateBoardShowSidebarBoardActions', () => ({ id: state.board.id, value: true })],
  ['boards', 'updateBoardShowSidebarMembers', () => ({ id: state.board.id, value: true })],
  ['boards', 'updateBoardEmailPosition', () => ({ id: state.board.id, value: 'top' })],
  ['boards', 'updateBoardEmailList', () => ({ id: state.board.id, value: state.lists.doing.id })],
  ['boards', 'updateBoardMember', () => ({ id: state.board.id, idMember: state.me.id, type: 'admin' })],
  ['boards', 'generateBoardCalendarKey', () => ({ id: state.board.id })],
  ['boards', 'generateBoardEmailKey', () => ({ id: state.board.id })],
  ['boards', 'markBoardAsViewed', () => ({ id: state.board.id })],
  ['cards', 'markCardNotificationsRead', () => ({ id: state.cards.spec.id })],
  // Voting is off on a new board, and a vote is then refused (401) as on Trello.
  ['boards', 'updateBoard', () => ({ id: state.board.id, 'prefs/voting': 'members' })],
  ['cards', 'voteOnCard', () => ({ id: state.cards.spec.id, value: state.me.id })],
  ['cards', 'removeCardMemberVote', () => ({ id: state.cards.spec.id, idMember: state.me.id })],
  ['members', 'dismissMemberOneTimeMessage', () => ({ id: 'me', value: 'swept-message' })],
  ['notifications', 'markAllNotificationsRead', () => ({ read: true })],
  ['tokens', 'createTokenWebhook', (f) => ({ token: apiToken, callbackURL: `http://127.0.0.1:${receiverPort}/token-hook`, idModel: state.cards.spec.id, description: 'by token' }), null, 'tokenWebhook'],
  ['tokens', 'deleteTokenWebhook', (f) => ({ token: apiToken, idWebhook: f.tokenWebhook.id })],
  // The spec gives this answer no shape and trello.js assumes one tag; Cork answers the
  // board's tag ids, as Trello's other id-list adds (idLabels, idMembers) answer their
  // lists: checked as that, unparsed, and named in docs/compat-notes.tsv.
  ['boards', 'addBoardTag', (f) => ({ id: state.board.id, value: f.tag.id }), z.array(z.string())],
  ['organizations', 'deleteOrganizationTag', (f) => ({ id: f.org.id, idTag: f.tag.id })],
  ['lists', 'createList', () => ({ name: 'Swept away', idBoard: state.board.id }), null, 'list'],
  ['cards', 'createCard', (f) => ({ name: 'swept card', idList: f.list.id }), null, 'card'],
  ['lists', 'moveAllListCards', (f) => ({ id: f.list.id, idBoard: state.board.id, idList: state.lists.backlog.id })],
  ['lists', 'archiveAllListCards', (f) => ({ id: state.lists.backlog.id })],
  ['notifications', 'updateNotification', (f) => ({ id: f.notification.id, unread: false }), LiveNotificationSchema],
  ['notifications', 'updateNotificationUnreadStatus', (f) => ({ id: f.notification.id, value: true }), LiveNotificationSchema],
  ['boards', 'updateBoardMembership', (f) => ({ id: state.board.id, idMembership: f.friendMembership.id, type: 'observer' })],
  ['boards', 'inviteBoardMember', () => ({ id: state.board.id, email: 'guest@example.org', fullName: 'Invited Guest', type: 'normal' })],
  ['organizations', 'updateOrganizationMembers', (f) => ({ id: f.org.id, email: 'colleague@example.org', fullName: 'Invited Colleague', type: 'normal' })],
  ['boards', 'removeBoardMember', (f) => ({ id: state.board.id, idMember: f.friend.id })],
  ['organizations', 'updateOrganizationMember', (f) => ({ id: f.org.id, idMember: f.friend.id, type: 'normal' })],
  ['organizations', 'removeOrganizationMember', (f) => ({ id: f.org.id, idMember: f.friend.id })],
  ['organizations', 'updateOrganizationMember', (f) => ({ id: f.org.id, idMember: f.friend.id, type: 'normal' }), null, null, 'again, for the next'],
  ['organizations', 'deactivateOrganizationMember', (f) => ({ id: f.org.id, idMember: f.friend.id, value: true })],
  ['organizations', 'removeOrganizationMemberFromAllBoards', (f) => ({ id: f.org.id, idMember: f.friend.id })],
  ['organizations', 'deleteOrganizationAssociatedDomain', (f) => ({ id: f.org.id })],
  ['organizations', 'deleteOrganizationInviteRestriction', (f) => ({ id: f.org.id })],
  ['members', 'updateMemberNotificationChannelSettings', () => ({ id: 'me', channel: 'email', blockedKeys: ['notification_comment_card'] })],
  ['members', 'updateMemberNotificationChannelSetting', () => ({ id: 'me', channel: 'email', blockedKeys: ['notification_comment_card'] })],
  ['members', 'updateMemberNotificationChannelBlockedKey', () => ({ id: 'me', channel: 'email', blockedKeys: 'notification_comment_card' })],
  ['boards', 'enableBoardPlugin', () => ({ id: state.board.id, idPlugin: process.env.TRELLO_PLUGIN_ID })],
  ['admin:plugins', 'updatePlugin', () => ({ id: process.env.TRELLO_PLUGIN_ID })],
  ['admin:plugins', 'createPluginListing', () => ({ idPlugin: process.env.TRELLO_PLUGIN_ID, name: 'Swept', description: 'A swept Power-Up', overview: 'Swept', locale: 'en-GB' }), null, 'listing'],
  ['admin:plugins', 'updatePluginListing', (f) => ({ idPlugin: process.env.TRELLO_PLUGIN_ID, idListing: f.listing.id, name: 'Swept again', description: 'Swept again', overview: 'Swept', locale: 'en-GB' })],
  ['admin:enterprises', 'addEnterpriseAdmin', (f) => ({ id: f.enterprise, idMember: state.me.id })],
  ['admin:enterprises', 'removeEnterpriseAdmin', (f) => ({ id: f.enterprise, idMember: state.me.id })],
  ['admin:enterprises', 'updateEnterpriseMemberLicensed', (f) => ({ id: f.enterprise, idMember: f.friend.id, value: true })],
  ['admin:enterprises', 'deactivateEnterpriseMember', (f) => ({ id: f.enterprise, idMember: f.friend.id, value: true })],
  ['admin:enterprises', 'deactivateEnterpriseMember', (f) => ({ id: f.enterprise, idMember: f.friend.id, value: false }), null, null, 'back'],
  ['admin:enterprises', 'addEnterpriseOrganization', (f) => ({ id: f.enterprise, idOrganization: f.org.id })],
  // The spec gives this answer no shape and the library assumes the bare token string;
  // Cork answers the token with its id, expiry and permissions (docs/compat-notes.tsv).
  ['admin:enterprises', 'createEnterpriseToken', (f) => ({ id: f.enterprise, expiration: '1hour' }), z.strictObject({
    id: z.string(), identifier: z.string(), idMember: z.string(), dateCreated: z.string(), dateExpires: z.string().nullable(),
    permissions: z.array(z.record(z.string(), z.unknown())), token: z.string(),
  })],
  ['cards', 'updateCardCustomFields', () => ({ idCard: state.cards.spec.id, customFieldItems: [{ idCustomField: state.field.id, idValue: state.options[0]._id }] })],
  ['lists', 'moveListToBoard', (f) => ({ id: f.list.id, value: state.board2.id })],
  ['customFields', 'createCustomField', () => ({ idModel: state.board.id, modelType: 'board', name: 'Doomed', type: 'text', pos: 'bottom' }), LiveCustomFieldSchema, 'doomedField'],
  ['customFields', 'deleteCustomField', (f) => ({ id: f.doomedField.id })],
  ['customFields', 'createCustomFieldOption', () => ({ id: state.field.id, value: { text: 'Doomed' }, color: 'black', pos: 'bottom' }), null, 'doomedOption'],
  ['customFields', 'deleteCustomFieldOption', (f) => ({ id: state.field.id, idCustomFieldOption: f.doomedOption._id })],
  ['cards', 'deleteCardSticker', (f) => ({ id: state.cards.spec.id, idSticker: f.sticker.id })],
  ['checklists', 'deleteChecklistItem', (f) => ({ id: f.checklist.id, idCheckItem: f.item.id })],
  ['checklists', 'deleteChecklist', (f) => ({ id: f.checklist.id })],
  ['labels', 'createLabel', () => ({ name: 'doomed', color: 'black', idBoard: state.board.id }), null, 'label'],
  ['labels', 'deleteLabel', (f) => ({ id: f.label.id })],
  ['members', 'unstarBoard', (f) => ({ id: 'me', idStar: f.star.id })],
  ['members', 'deleteMemberSavedSearch', (f) => ({ id: 'me', idSearch: f.search.id })],
  ['webhooks', 'deleteWebhook', (f) => ({ id: f.webhook.id })],
  ['members', 'updateMemberBoardBackground', (f) => ({ id: 'me', idBackground: f.background.id, brightness: 'dark', tile: true })],
  ['members', 'updateMemberCustomBoardBackground', (f) => ({ id: 'me', idBackground: f.customBackground.id, brightness: 'light', tile: false })],
  ['members', 'deleteMemberBoardBackground', (f) => ({ id: 'me', idBackground: f.background.id })],
  ['members', 'deleteMemberCustomBoardBackground', (f) => ({ id: 'me', idBackground: f.customBackground.id })],
  ['members', 'deleteMemberCustomSticker', (f) => ({ id: 'me', idSticker: f.customSticker.id })],
  ['actions', 'deleteActionReaction', (f) => ({ idAction: f.comment.id, id: f.reaction.id })],
  ['actions', 'deleteAction', (f) => ({ id: f.comment.id })],
  ['boards', 'disableBoardPlugin', () => ({ id: state.board.id, idPlugin: process.env.TRELLO_PLUGIN_ID })],
  ['organizations', 'deleteOrganizationLogo', (f) => ({ id: f.org.id })],
  // Last: the second member gives up its own token.
  ['friend:tokens', 'deleteToken', () => ({ token: process.env.TRELLO_FRIEND_TOKEN })],
];
await step('sweep removeEnterpriseOrganization (refused: a workspace stays in the instance enterprise)', ['sweep'], async () => {
  // Cork's one enterprise is the instance: a workspace leaves it only by being deleted,
  // and the library's call gets that refusal (403) rather than a change.
  let error = null;
  try {
    await state.sweep.admin.enterprises.removeEnterpriseOrganization({ id: state.sweep.enterprise, idOrg: state.sweep.org.id });
  } catch (err) {
    error = err;
  }
  check(/403/.test(String(error?.message)) && /cannot leave/.test(String(error?.message)), `refused: ${error?.message}`);
});

for (const [namespace, name, params, live, keep, again] of writes) {
  await step(`sweep ${name}${again ? ` (${again})` : ''}`, ['sweep'], async () => {
    const [who, ns] = namespace.includes(':') ? namespace.split(':') : ['me', namespace];
    const client = { me: trello, admin: state.sweep.admin, friend: state.sweep.friendClient }[who];
    const unparsed = who === 'admin' ? state.sweep.adminRawFacade : raw;
    const answer = live
      ? live.parse(await unparsed[ns][name](params(state.sweep)))
      : await client[ns][name](params(state.sweep));
    if (keep) state.sweep[keep] = answer;
  });
}

// ---------------------------------------------------------------- cleanup ---
await step('delete a card', ['cards'], async () => {
  const answer = await trello.cards.deleteCard({ id: state.cards.numbered.id });
  // Trello answers {"limits": {}}; trello.js declares no schema for it.
  eq(answer, { limits: {} }, 'delete answer');
  let gone = false;
  try {
    await trello.cards.getCard({ id: state.cards.numbered.id });
  } catch (err) {
    gone = /Request failed: 404/.test(String(err?.message));
  }
  check(gone, 'card answers 404 after deletion');
});

await step('archive a list', ['lists'], async () => {
  const list = await trello.lists.archiveList({ id: state.lists.done.id, value: true });
  eq(list.closed, true, 'closed');
  const open = await trello.boards.getBoardLists({ id: state.board.id, filter: 'open' });
  check(!open.some((l) => l.id === state.lists.done.id), 'archived list not among open lists');
  const closed = await trello.boards.getBoardListsByFilter({ id: state.board.id, filter: 'closed' });
  eq(closed.map((l) => l.id), [state.lists.done.id], 'closed lists');
});

await step('close board', ['board'], async () => {
  const board = await trello.boards.updateBoard({ id: state.board.id, closed: true });
  eq(board.closed, true, 'closed');
});

await step('delete boards', ['board', 'board2'], async () => {
  await trello.boards.deleteBoard({ id: state.board.id });
  await trello.boards.deleteBoard({ id: state.board2.id });
  const boards = await trello.members.getMemberBoards({ id: 'me' });
  check(!boards.some((b) => b.id === state.board.id || b.id === state.board2.id), 'boards gone');
});

// ---------------------------------------------------------------- summary ---
const failed = results.filter((r) => !r.ok);
console.log(`trello.js scenario: ${results.length - failed.length} passed, ${failed.length} failed`);
for (const r of failed) {
  console.log(`--- ${r.name}\n${r.message}`);
}
for (const n of notes) console.log(`note: ${n}`);
process.exit(failed.length > 0 ? 1 : 0);
