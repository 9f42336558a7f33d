//! The action log: every command writes its actions here, in the command's own
//! transaction. Readers page through it by board, list, card, member or workspace.

use cork_store::{Arg, Cond, Order, Table, Tx};
use serde_json::{json, Map, Value};

use crate::access::{board_role, require, Actor, Role, UNAUTHORIZED};
use crate::ids::{is_id, new_id};
use crate::model::{Action, Board, Card, List, Member, Organization};
use crate::store_ext::{by_ids, get};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// The rows an action is indexed under.
#[derive(Debug, Default, Clone)]
pub(crate) struct Refs {
    pub board: Option<String>,
    pub list: Option<String>,
    pub card: Option<String>,
    pub org: Option<String>,
    pub subject: Option<String>,
}

impl Refs {
    pub fn board(board: &Board) -> Refs {
        Refs { board: Some(board.id.clone()), org: board.id_organization.clone(), ..Refs::default() }
    }
    pub fn list(board: &Board, list: &List) -> Refs {
        Refs { list: Some(list.id.clone()), ..Refs::board(board) }
    }
    pub fn card(board: &Board, card: &Card) -> Refs {
        Refs { list: Some(card.id_list.clone()), card: Some(card.id.clone()), ..Refs::board(board) }
    }
}

/// `{id, name, shortLink}` as actions show a board.
pub fn board_ref(board: &Board) -> Value {
    json!({"id": board.id, "name": board.name, "shortLink": board.short_link})
}

/// `{id, name}` as actions show a list.
pub fn list_ref(list: &List) -> Value {
    json!({"id": list.id, "name": list.name})
}

/// `{id, name, idShort, shortLink}` as actions show a card.
pub fn card_ref(card: &Card) -> Value {
    json!({"id": card.id, "name": card.name, "idShort": card.id_short, "shortLink": card.short_link})
}

/// `{id, name}` as actions show a workspace.
pub fn org_ref(org: &Organization) -> Value {
    json!({"id": org.id, "name": org.display_name})
}

/// What an update outside a board wrote, next to its `old` (as the action's `new`): the
/// current value of each field `old` names, preference by preference for `prefs`. An
/// undo checks against it that nobody changed the fields since.
pub(crate) fn written<T: serde::Serialize>(object: &T, old: &Map<String, Value>) -> Value {
    let now = serde_json::to_value(object).unwrap_or(Value::Null);
    let mut out = Map::new();
    for (key, was) in old {
        let value = match (key.as_str(), was) {
            ("prefs", Value::Object(prefs)) => Value::Object(
                prefs.keys().map(|k| (k.clone(), now.pointer(&format!("/prefs/{k}")).cloned().unwrap_or(Value::Null))).collect(),
            ),
            _ => now.get(key.as_str()).cloned().unwrap_or(Value::Null),
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

/// Writes one action in `tx`. `data` holds Trello's `data` object, including `old`
/// values for updates and the removed object for deletions, so the log can undo it.
pub(crate) async fn record(tx: &mut Tx, actor: &Actor, kind: &str, mut data: Value, refs: Refs) -> Result<Action> {
    // A revert's actions name the action they undo; an approved change, its approver.
    if let (Ok(reverted), Some(map)) = (crate::revert::REVERT_OF.try_with(Clone::clone), data.as_object_mut()) {
        map.insert("revertOf".into(), Value::String(reverted));
    }
    if let (Ok(approver), Some(map)) = (crate::gates::APPROVED_BY.try_with(Clone::clone), data.as_object_mut()) {
        map.insert("approvedBy".into(), Value::String(approver));
    }
    let member_id = actor.member_id().ok_or(DomainError::Unauthorized(UNAUTHORIZED))?.to_string();
    let action = Action {
        id: new_id(),
        id_member_creator: member_id.clone(),
        kind: kind.to_string(),
        date: now(),
        data,
        app_creator: actor.token.as_ref().map(|t| json!({"id": t.app_key, "name": t.identifier})),
    };
    let outbox_refs = refs.clone();
    // The stamps that let an integration's changes be found again (and rolled back).
    let command_id = cork_store::pipeline::command_id();
    let doc = serde_json::to_string(&action)?;
    cork_store::pipeline::note_action(cork_store::pipeline::RecordedAction {
        id: action.id.clone(),
        kind: kind.to_string(),
        board: refs.board.clone(),
        member: member_id.clone(),
        token: actor.token.as_ref().map(|t| t.id.clone()),
        key: actor.token.as_ref().map(|t| t.app_key.clone()),
        gate: actor.token.as_ref().and_then(|t| t.gate.clone()),
        doc: doc.clone(),
    });
    tx.insert(
        Table::Actions,
        &[
            ("id", Arg::text(&action.id)),
            ("type", Arg::text(kind)),
            ("member_id", Arg::text(member_id)),
            ("board_id", Arg::opt(refs.board)),
            ("list_id", Arg::opt(refs.list)),
            ("card_id", Arg::opt(refs.card)),
            ("org_id", Arg::opt(refs.org)),
            ("subject_member_id", Arg::opt(refs.subject)),
            ("command_id", Arg::opt(command_id)),
            ("token_id", Arg::opt(actor.token.as_ref().map(|t| t.id.clone()))),
            ("app_key", Arg::opt(actor.token.as_ref().map(|t| t.app_key.clone()))),
            ("doc", Arg::Text(doc)),
        ],
    )
    .await?;
    if let Some(entry) = comment_entry(&action) {
        tx.index(&entry).await?;
    }
    // The webhook outbox: deliveries commit (or roll back) with the action itself.
    crate::webhooks::enqueue(tx, &action, &outbox_refs).await?;
    Ok(action)
}

/// What the search index keeps of a comment.
pub(crate) fn comment_entry(action: &Action) -> Option<cork_store::SearchEntry> {
    if action.kind != "commentCard" {
        return None;
    }
    let card_id = action.data.pointer("/card/id").and_then(Value::as_str)?.to_string();
    let text = action.data.get("text").and_then(Value::as_str).unwrap_or_default().to_string();
    Some(cork_store::SearchEntry {
        model_type: "comment",
        model_id: action.id.clone(),
        card_id: Some(card_id),
        name: String::new(),
        body: text,
    })
}

/// Builds `data` from a context and extra fields.
pub(crate) fn data(context: &[(&str, Value)]) -> Value {
    let mut map = Map::new();
    for (key, value) in context {
        map.insert((*key).to_string(), value.clone());
    }
    Value::Object(map)
}

/// Which log to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionScope {
    Board,
    List,
    Card,
    Member,
    Organization,
}

impl ActionScope {
    fn column(self) -> &'static str {
        match self {
            ActionScope::Board => "board_id",
            ActionScope::List => "list_id",
            ActionScope::Card => "card_id",
            ActionScope::Member => "member_id",
            ActionScope::Organization => "org_id",
        }
    }
}

/// Paging and filtering of an action read.
#[derive(Debug, Clone)]
pub struct ActionQuery {
    /// Action types to keep; `None` keeps all.
    pub types: Option<Vec<String>>,
    /// Only actions newer than this id.
    pub since: Option<String>,
    /// Only actions older than this id.
    pub before: Option<String>,
    pub limit: i64,
    pub page: i64,
}

impl Default for ActionQuery {
    fn default() -> Self {
        ActionQuery { types: None, since: None, before: None, limit: 50, page: 0 }
    }
}

/// Actions with the members who made them.
#[derive(Debug, Clone, Default)]
pub struct ActionPage {
    pub actions: Vec<Action>,
    pub creators: Vec<Member>,
}

/// Reads a page of one log (newest first) in an open transaction: one query for the
/// actions and one for their creators, whatever the page size.
pub(crate) async fn read_log(tx: &mut Tx, scope: ActionScope, id: &str, query: &ActionQuery) -> Result<ActionPage> {
    let actions = page_of_actions(tx, vec![Cond::eq(scope.column(), id)], query).await?;
    let creators = creators_of(tx, &actions).await?;
    Ok(ActionPage { actions, creators })
}

/// What every newest-first log (actions, notifications) filters by: types and the
/// `since`/`before` id bounds.
pub(crate) struct LogWindow<'a> {
    pub types: Option<&'a [String]>,
    pub since: Option<&'a str>,
    pub before: Option<&'a str>,
}

impl LogWindow<'_> {
    /// Adds the filters to `conds` and returns the page's `(skip, limit)` for a page of
    /// `limit` (at most 1000) rows, or `None` when the page is empty by request.
    pub(crate) fn apply(&self, conds: &mut Vec<Cond>, limit: i64, page: i64) -> Option<(i64, i64)> {
        if let Some(types) = self.types {
            conds.push(Cond::any_of("type", types));
        }
        if let Some(since) = self.since {
            conds.push(Cond::Gt("id", Arg::text(since)));
        }
        if let Some(before) = self.before {
            conds.push(Cond::Lt("id", Arg::text(before)));
        }
        let limit = limit.clamp(0, 1000);
        (limit > 0).then(|| (page.max(0) * limit, limit))
    }
}

/// A filter's entries split: plain types (`commentCard`) and Trello's `type:field` forms
/// (`updateCard:idList`: updates of that field, whose old value the action keeps in
/// `data.old`).
fn split_filter(types: &[String]) -> (Vec<String>, Vec<(String, String)>) {
    let mut plain = Vec::new();
    let mut fields = Vec::new();
    for entry in types {
        match entry.split_once(':') {
            Some((kind, field)) if !kind.is_empty() && !field.is_empty() => fields.push((kind.to_string(), field.to_string())),
            _ => plain.push(entry.clone()),
        }
    }
    (plain, fields)
}

/// Whether `action` passes a filter with `type:field` entries.
fn passes(action: &Action, plain: &[String], fields: &[(String, String)]) -> bool {
    plain.iter().any(|t| t == &action.kind)
        || fields.iter().any(|(kind, field)| kind == &action.kind && action.data.get("old").is_some_and(|old| old.get(field).is_some()))
}

/// Rows read per statement while a `type:field` filter looks for its page.
const FILTER_BATCH: i64 = 500;

/// The actions matching `conds` and the query's types, `since`/`before` bounds and page,
/// newest first, in one statement: every action log (a board's, the instance's) pages so.
/// A `type:field` filter needs the action's data, which SQL does not read: the rows of
/// its types are read newest first in batches until the page is full.
pub(crate) async fn page_of_actions(tx: &mut Tx, mut conds: Vec<Cond>, query: &ActionQuery) -> Result<Vec<Action>> {
    let (plain, fields) = split_filter(query.types.as_deref().unwrap_or(&[]));
    if !fields.is_empty() {
        let mut kinds: Vec<String> = plain.iter().cloned().chain(fields.iter().map(|(kind, _)| kind.clone())).collect();
        kinds.sort();
        kinds.dedup();
        let window = LogWindow { types: Some(&kinds), since: query.since.as_deref(), before: None };
        let Some((skip, limit)) = window.apply(&mut conds, query.limit, query.page) else { return Ok(Vec::new()) };
        let wanted = (skip + limit) as usize;
        let mut kept: Vec<Action> = Vec::new();
        let mut before = query.before.clone();
        loop {
            let mut batch_conds = conds.clone();
            if let Some(before) = &before {
                batch_conds.push(Cond::Lt("id", Arg::text(before)));
            }
            let docs = tx.docs(Table::Actions, &batch_conds, Order::Desc("id"), Some(FILTER_BATCH)).await?;
            let read = docs.len();
            for doc in docs {
                let action: Action = serde_json::from_str(&doc)?;
                before = Some(action.id.clone());
                if passes(&action, &plain, &fields) {
                    kept.push(action);
                }
            }
            if kept.len() >= wanted || (read as i64) < FILTER_BATCH {
                break;
            }
        }
        return Ok(kept.into_iter().skip(skip as usize).take(limit as usize).collect());
    }
    let window = LogWindow { types: query.types.as_deref(), since: query.since.as_deref(), before: query.before.as_deref() };
    let Some((skip, limit)) = window.apply(&mut conds, query.limit, query.page) else { return Ok(Vec::new()) };
    let docs = tx.docs(Table::Actions, &conds, Order::Desc("id"), Some(skip + limit)).await?;
    Ok(docs.iter().skip(skip as usize).map(|d| serde_json::from_str(d)).collect::<std::result::Result<_, _>>()?)
}

pub(crate) async fn creators_of(tx: &mut Tx, actions: &[Action]) -> Result<Vec<Member>> {
    let mut ids: Vec<&str> = actions.iter().map(|a| a.id_member_creator.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    by_ids(tx, &ids).await
}

pub(crate) async fn load_action(tx: &mut Tx, id: &str) -> Result<Action> {
    if !is_id(id) {
        return Err(DomainError::InvalidId);
    }
    let doc = tx.doc(Table::Actions, &id.to_ascii_lowercase()).await?;
    let doc = doc.ok_or(DomainError::NotFound(NOT_FOUND))?;
    Ok(serde_json::from_str(&doc)?)
}

fn action_board_id(action: &Action) -> Option<String> {
    action.data.pointer("/board/id").and_then(Value::as_str).map(str::to_string)
}

impl Cork {
    /// `GET /actions/{id}`: readable when its board is.
    pub async fn get_action(&self, actor: &Actor, id: &str) -> Result<ActionPage> {
        let mut tx = self.store.read().await?;
        let action = load_action(&mut tx, id).await?;
        check_action_access(&mut tx, actor, &action, Role::Read).await?;
        let creators = creators_of(&mut tx, std::slice::from_ref(&action)).await?;
        Ok(ActionPage { actions: vec![action], creators })
    }

    /// Edits a comment's text (`PUT /actions/{id}`, `PUT /actions/{id}/text`,
    /// `PUT /cards/{id}/actions/{idAction}/comments`). Only its author may.
    pub async fn edit_comment(&self, actor: &Actor, id: &str, text: &str) -> Result<ActionPage> {
        let mut tx = self.store.write().await?;
        let mut action = load_action(&mut tx, id).await?;
        let board = check_action_access(&mut tx, actor, &action, Role::Write).await?;
        if action.kind != "commentCard" || Some(action.id_member_creator.as_str()) != actor.member_id() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        if text.trim().is_empty() {
            return Err(DomainError::InvalidValue("text".into()));
        }
        let old_text = action.data.get("text").cloned().unwrap_or(Value::Null);
        let old_edited = action.data.get("dateLastEdited").cloned().unwrap_or(Value::Null);
        set_comment_text(&mut tx, &mut action, text, Some(now())).await?;
        let card_id = action.data.pointer("/card/id").and_then(Value::as_str).map(str::to_string);
        let update_data = data(&[
            ("action", json!({"id": action.id, "text": text})),
            ("old", json!({"text": old_text, "dateLastEdited": old_edited})),
            ("board", board_ref(&board)),
            ("card", action.data.get("card").cloned().unwrap_or(Value::Null)),
        ]);
        let refs = Refs { card: card_id, ..Refs::board(&board) };
        record(&mut tx, actor, "updateComment", update_data, refs).await?;
        let creators = creators_of(&mut tx, std::slice::from_ref(&action)).await?;
        tx.commit().await?;
        Ok(ActionPage { actions: vec![action], creators })
    }

    /// Deletes a comment: its author, or an admin of its board.
    pub async fn delete_comment(&self, actor: &Actor, id: &str, expected_card: Option<&str>) -> Result<()> {
        let mut tx = self.store.write().await?;
        let action = load_action(&mut tx, id).await?;
        let board: Board = load_board_of(&mut tx, &action).await?;
        let role = board_role(&mut tx, actor, &board).await?;
        require(role, Role::Write, UNAUTHORIZED)?;
        if action.kind != "commentCard" {
            return Err(DomainError::BadRequest("only comments can be deleted".into()));
        }
        if role < Role::Admin && Some(action.id_member_creator.as_str()) != actor.member_id() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let card_id = action.data.pointer("/card/id").and_then(Value::as_str).unwrap_or_default().to_string();
        if let Some(expected) = expected_card {
            if expected != card_id && !card_id.is_empty() {
                return Err(DomainError::NotFound(NOT_FOUND));
            }
        }
        tx.delete(Table::Actions, &[Cond::eq("id", &action.id)]).await?;
        tx.unindex(&action.id).await?;
        let card = crate::cards::adjust_comment_count(&mut tx, &card_id, -1).await?;
        let deleted = serde_json::to_value(&action)?;
        let mut refs = Refs::board(&board);
        refs.card = Some(card_id);
        let mut context = vec![("action", json!({"id": action.id})), ("board", board_ref(&board)), ("deleted", deleted)];
        if let Some(card) = &card {
            context.push(("card", card_ref(card)));
        }
        record(&mut tx, actor, "deleteComment", data(&context), refs).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Rewrites a comment's text (and its search entry), stamped as edited at `edited`
/// (`None`: never edited, as an undo of its only edit leaves it).
pub(crate) async fn set_comment_text(tx: &mut Tx, action: &mut Action, text: &str, edited: Option<String>) -> Result<()> {
    if let Some(map) = action.data.as_object_mut() {
        map.insert("text".into(), Value::String(text.to_string()));
        match edited {
            Some(date) => map.insert("dateLastEdited".into(), Value::String(date)),
            None => map.remove("dateLastEdited"),
        };
    }
    tx.update(Table::Actions, &[("doc", Arg::Text(serde_json::to_string(&action)?))], &[Cond::eq("id", &action.id)]).await?;
    if let Some(entry) = comment_entry(action) {
        tx.index(&entry).await?;
    }
    Ok(())
}

/// Puts a deleted comment back with its id, author, date and text (an undo of its
/// deletion), on `board`, and counts it on its card again.
pub(crate) async fn reinsert_comment(tx: &mut Tx, action: &Action, board: &Board) -> Result<()> {
    let card_id = action.data.pointer("/card/id").and_then(Value::as_str).map(str::to_string);
    let list_id = action.data.pointer("/list/id").and_then(Value::as_str).map(str::to_string);
    let app_key = action.app_creator.as_ref().and_then(|app| app.get("id")).and_then(Value::as_str).map(str::to_string);
    tx.insert(
        Table::Actions,
        &[
            ("id", Arg::text(&action.id)),
            ("type", Arg::text(&action.kind)),
            ("member_id", Arg::text(&action.id_member_creator)),
            ("board_id", Arg::text(&board.id)),
            ("list_id", Arg::opt(list_id)),
            ("card_id", Arg::opt(card_id.clone())),
            ("org_id", Arg::opt(board.id_organization.clone())),
            ("subject_member_id", Arg::opt(None::<String>)),
            ("command_id", Arg::opt(None::<String>)),
            ("token_id", Arg::opt(None::<String>)),
            ("app_key", Arg::opt(app_key)),
            ("doc", Arg::Text(serde_json::to_string(action)?)),
        ],
    )
    .await?;
    if let Some(entry) = comment_entry(action) {
        tx.index(&entry).await?;
    }
    if let Some(card) = &card_id {
        crate::cards::adjust_comment_count(tx, card, 1).await?;
    }
    Ok(())
}

async fn load_board_of(tx: &mut Tx, action: &Action) -> Result<Board> {
    let board_id = action_board_id(action).ok_or(DomainError::NotFound(NOT_FOUND))?;
    get(tx, &board_id).await?.ok_or(DomainError::NotFound(NOT_FOUND))
}

pub(crate) async fn check_action_access(tx: &mut Tx, actor: &Actor, action: &Action, needed: Role) -> Result<Board> {
    let board = load_board_of(tx, action).await?;
    let role = board_role(tx, actor, &board).await?;
    require(role, needed, UNAUTHORIZED)?;
    Ok(board)
}

impl Cork {
    /// `GET /{boards|lists|cards|members|organizations}/{id}/actions`, checked against
    /// what the actor may read of that model.
    pub async fn actions_of(&self, actor: &Actor, scope: ActionScope, reference: &str, query: &ActionQuery) -> Result<ActionPage> {
        let mut tx = self.store.read().await?;
        let id = match scope {
            ActionScope::Board => crate::boards::board_with_role(&mut tx, actor, reference, Role::Read, UNAUTHORIZED).await?.0.id,
            ActionScope::List => crate::lists::list_with_role(&mut tx, actor, reference, Role::Read).await?.0.id,
            ActionScope::Card => crate::cards::card_with_role(&mut tx, actor, reference, Role::Read).await?.0.id,
            ActionScope::Organization => {
                let org = crate::organizations::resolve_org(&mut tx, reference).await?;
                if !crate::access::in_org(&mut tx, actor, &org.id, Role::Read).await? {
                    return Err(DomainError::Unauthorized(UNAUTHORIZED));
                }
                org.id
            }
            ActionScope::Member => {
                let member = crate::members::resolve_member(&mut tx, actor, reference).await?;
                if actor.member_id() != Some(member.id.as_str()) {
                    return Err(DomainError::Unauthorized(UNAUTHORIZED));
                }
                member.id
            }
        };
        let mut page = read_log(&mut tx, scope, &id, query).await?;
        if matches!(scope, ActionScope::Member) {
            // A per-board token sees the member's actions on the boards it reaches only.
            let boards: Vec<String> = page.actions.iter().filter_map(action_board_id).collect();
            let ids: Vec<&str> = boards.iter().map(String::as_str).collect();
            if let Some(reached) = crate::access::reached_boards(&mut tx, actor, &ids).await? {
                page.actions.retain(|a| action_board_id(a).is_some_and(|b| reached.contains(&b)));
            }
        }
        Ok(page)
    }
}
