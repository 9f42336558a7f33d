//! Undo of one action (`POST /cork/actions/{id}/revert`) and the rollback of everything
//! one integration did (`POST /cork/rollback`).
//!
//! A revert reads the action and what it touched, checks that the objects still hold
//! what the action wrote (else `409` naming the fields changed since, and nothing
//! changes), and then applies the inverse through the ordinary commands, so that the
//! revert is an ordinary Trello action (an `updateCard` moving the card back, a
//! `createCard` restoring a deleted card, ...) whose `data.revertOf` names the action it
//! undoes. Inside the write pipeline the check and the inverse are one transaction; on
//! PostgreSQL the checked rows are locked until it ends. Reverting a revert re-applies.

use cork_store::{Cond, Order, Table, Tx};
use serde_json::{json, Map, Value};

use crate::access::{Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, card_ref, data, list_ref, record, Refs};
use crate::boards::{touch_board, BoardPatch};
use crate::cards::{sync_card_members, CardPatch};
use crate::checklists::CheckItemPatch;
use crate::custom_fields::CustomFieldItem;
use crate::ids::is_id;
use crate::lists::ListPatch;
use crate::model::*;
use crate::pos::Pos;
use crate::stickers::Sticker;
use crate::store_ext::{get, get_for_update, insert};
use crate::{Cork, DomainError, Result, NOT_FOUND};

tokio::task_local! {
    /// The action being reverted: `actions::record` writes it as `data.revertOf`.
    pub(crate) static REVERT_OF: String;
}

/// What undoes an action.
#[derive(Debug, Clone)]
enum Inverse {
    UpdateCard(String, Box<CardPatch>),
    DeleteCard(String),
    RestoreCard(Box<Value>),
    AddLabel(String, String),
    RemoveLabel(String, String),
    AddMember(String, String),
    RemoveMember(String, String),
    DeleteComment(String),
    CheckItemState { card: String, item: String, state: String },
    UpdateList(String, ListPatch),
    UpdateBoard(String, BoardPatch),
    DeleteLabel(String),
    UpdateLabel { id: String, name: Option<String>, color: Option<Option<String>> },
    DeleteChecklist(String),
    DeleteAttachment(String, String),
    RestoreAttachment(Box<Attachment>),
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer).and_then(Value::as_str).map(str::to_string)
}

fn conflict(fields: &[String]) -> DomainError {
    DomainError::Conflict(format!("changed since the action: {}", fields.join(", ")))
}

fn gone(what: &str) -> DomainError {
    DomainError::Conflict(format!("the {what} is gone since the action"))
}

fn unsupported(kind: &str) -> DomainError {
    DomainError::BadRequest(format!("actions of type {kind} cannot be reverted"))
}

/// The keys of `old` whose value in `current` is no longer what the action wrote.
fn changed_since(current: &Value, written: &Value, old: &Map<String, Value>) -> Vec<String> {
    old.keys().filter(|key| current.get(key.as_str()) != written.get(key.as_str())).cloned().collect()
}

fn opt_text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

/// The card patch that puts back the fields in `old`.
fn card_patch(kind: &str, old: &Map<String, Value>) -> Result<CardPatch> {
    let mut patch = CardPatch::default();
    for (key, value) in old {
        match key.as_str() {
            "name" => patch.name = opt_text(value),
            "desc" => patch.desc = opt_text(value),
            "closed" => patch.closed = value.as_bool(),
            "due" => patch.due = Some(opt_text(value)),
            "start" => patch.start = Some(opt_text(value)),
            "dueComplete" => patch.due_complete = value.as_bool(),
            "dueReminder" => patch.due_reminder = Some(value.as_i64()),
            "pos" => patch.pos = value.as_f64().map(Pos::At),
            "idList" => patch.id_list = opt_text(value),
            "idLabels" => patch.id_labels = Some(serde_json::from_value(value.clone())?),
            "idMembers" => patch.id_members = Some(serde_json::from_value(value.clone())?),
            "idAttachmentCover" => patch.id_attachment_cover = Some(opt_text(value)),
            "address" => patch.address = Some(opt_text(value)),
            "locationName" => patch.location_name = Some(opt_text(value)),
            "coordinates" => patch.coordinates = Some(opt_text(value)),
            _ => return Err(unsupported(&format!("{kind} ({key})"))),
        }
    }
    Ok(patch)
}

/// Other members' later actions on a card: a revert that would remove the card keeps it.
async fn later_actions_by_others(tx: &mut Tx, card_id: &str, action: &Action) -> Result<Vec<String>> {
    let later: Vec<String> = tx
        .docs(
            Table::Actions,
            &[Cond::eq("card_id", card_id), Cond::Gt("id", cork_store::Arg::text(&action.id))],
            Order::Asc("id"),
            Some(100),
        )
        .await?
        .iter()
        .filter_map(|doc| serde_json::from_str::<Action>(doc).ok())
        .filter(|a| a.id_member_creator != action.id_member_creator)
        .map(|a| format!("{} by {}", a.kind, a.id_member_creator))
        .collect();
    Ok(later)
}

/// The fields of `old` to put back: all of them when none changed since; with
/// `partial`, those that did not (the changed ones are kept and named); else a conflict.
fn settle_fields(old: &Map<String, Value>, changed: Vec<String>, partial: bool, kept: &mut Vec<String>) -> Result<Map<String, Value>> {
    if changed.is_empty() {
        return Ok(old.clone());
    }
    if !partial || changed.len() == old.len() {
        return Err(conflict(&changed));
    }
    let rest = old.iter().filter(|(key, _)| !changed.contains(key)).map(|(k, v)| (k.clone(), v.clone())).collect();
    *kept = changed;
    Ok(rest)
}

/// Checks that the action's objects still hold what it wrote and returns its inverse,
/// with the fields left as they are because someone changed them since (`partial` only).
async fn plan(tx: &mut Tx, action: &Action, partial: bool) -> Result<(Inverse, Vec<String>)> {
    let d = &action.data;
    let card_id = text(d, "/card/id");
    let need_card = || card_id.clone().ok_or_else(|| unsupported(&action.kind));
    let empty = Map::new();
    let old = d.get("old").and_then(Value::as_object).unwrap_or(&empty);
    let mut kept = Vec::new();
    let inverse = match action.kind.as_str() {
        "updateCard" => {
            let id = need_card()?;
            if old.contains_key("idBoard") {
                return Err(unsupported("updateCard (a move to another board)"));
            }
            let card: Card = get_for_update(tx, &id).await?.ok_or_else(|| gone("card"))?;
            let mut written = d.get("card").cloned().unwrap_or(Value::Null);
            if let Some(after) = text(d, "/listAfter/id") {
                written["idList"] = json!(after);
            }
            let changed = changed_since(&serde_json::to_value(&card)?, &written, old);
            let old = settle_fields(old, changed, partial, &mut kept)?;
            let mut patch = card_patch(&action.kind, &old)?;
            if patch.id_list.is_some() && patch.pos.is_none() {
                // A move that kept the number: back to the same number, not the bottom.
                patch.pos = Some(Pos::At(card.pos));
            }
            Inverse::UpdateCard(id, Box::new(patch))
        }
        "createCard" | "copyCard" | "convertToCardFromCheckItem" => {
            let id = need_card()?;
            let _: Card = get_for_update(tx, &id).await?.ok_or_else(|| gone("card"))?;
            let others = later_actions_by_others(tx, &id, action).await?;
            if !others.is_empty() {
                return Err(DomainError::Conflict(format!("changed since the action: {}", others.join(", "))));
            }
            Inverse::DeleteCard(id)
        }
        "deleteCard" => {
            let deleted = d.get("deleted").cloned().ok_or_else(|| unsupported("deleteCard (without its record)"))?;
            let id = text(&deleted, "/card/id").ok_or_else(|| unsupported(&action.kind))?;
            if get::<Card>(tx, &id).await?.is_some() {
                return Err(DomainError::Conflict("the card exists again".into()));
            }
            let list = text(&deleted, "/card/idList").unwrap_or_default();
            let list: List = get(tx, &list).await?.ok_or_else(|| gone("list"))?;
            if Some(list.id_board.as_str()) != text(&deleted, "/card/idBoard").as_deref() {
                return Err(gone("list"));
            }
            Inverse::RestoreCard(Box::new(deleted))
        }
        "addLabelToCard" | "removeLabelFromCard" => {
            let id = need_card()?;
            let label = text(d, "/label/id").ok_or_else(|| unsupported(&action.kind))?;
            let card: Card = get_for_update(tx, &id).await?.ok_or_else(|| gone("card"))?;
            let adding = action.kind == "addLabelToCard";
            if card.id_labels.contains(&label) != adding {
                return Err(conflict(&["idLabels".to_string()]));
            }
            if adding {
                Inverse::RemoveLabel(id, label)
            } else {
                get::<Label>(tx, &label).await?.ok_or_else(|| gone("label"))?;
                Inverse::AddLabel(id, label)
            }
        }
        "addMemberToCard" | "removeMemberFromCard" => {
            let id = need_card()?;
            let member = text(d, "/idMember").ok_or_else(|| unsupported(&action.kind))?;
            let card: Card = get_for_update(tx, &id).await?.ok_or_else(|| gone("card"))?;
            let adding = action.kind == "addMemberToCard";
            if card.id_members.contains(&member) != adding {
                return Err(conflict(&["idMembers".to_string()]));
            }
            if adding {
                Inverse::RemoveMember(id, member)
            } else {
                Inverse::AddMember(id, member)
            }
        }
        "commentCard" => {
            let doc = tx.doc(Table::Actions, &action.id).await?.ok_or_else(|| gone("comment"))?;
            let current: Action = serde_json::from_str(&doc)?;
            if current.data.get("text") != d.get("text") {
                return Err(conflict(&["text".to_string()]));
            }
            Inverse::DeleteComment(action.id.clone())
        }
        "updateCheckItemStateOnCard" => {
            let id = need_card()?;
            let item = text(d, "/checkItem/id").ok_or_else(|| unsupported(&action.kind))?;
            let checklist = text(d, "/checklist/id").unwrap_or_default();
            let checklist: Checklist = get_for_update(tx, &checklist).await?.ok_or_else(|| gone("checklist"))?;
            let now = checklist.check_items.iter().find(|i| i.id == item).ok_or_else(|| gone("check item"))?;
            if Some(now.state.as_str()) != d.pointer("/checkItem/state").and_then(Value::as_str) {
                return Err(conflict(&["state".to_string()]));
            }
            let state = text(d, "/old/state").ok_or_else(|| unsupported(&action.kind))?;
            Inverse::CheckItemState { card: id, item, state }
        }
        "createList" => {
            let id = text(d, "/list/id").ok_or_else(|| unsupported(&action.kind))?;
            let list: List = get_for_update(tx, &id).await?.ok_or_else(|| gone("list"))?;
            if list.closed {
                return Err(conflict(&["closed".to_string()]));
            }
            Inverse::UpdateList(id, ListPatch { closed: Some(true), ..ListPatch::default() })
        }
        "updateList" => {
            let id = text(d, "/list/id").ok_or_else(|| unsupported(&action.kind))?;
            let list: List = get_for_update(tx, &id).await?.ok_or_else(|| gone("list"))?;
            let changed = changed_since(&serde_json::to_value(&list)?, d.get("list").unwrap_or(&Value::Null), old);
            let old = settle_fields(old, changed, partial, &mut kept)?;
            let mut patch = ListPatch::default();
            for (key, value) in &old {
                match key.as_str() {
                    "name" => patch.name = opt_text(value),
                    "closed" => patch.closed = value.as_bool(),
                    "pos" => patch.pos = value.as_f64().map(Pos::At),
                    _ => return Err(unsupported(&format!("updateList ({key})"))),
                }
            }
            Inverse::UpdateList(id, patch)
        }
        "updateBoard" => {
            let id = text(d, "/board/id").ok_or_else(|| unsupported(&action.kind))?;
            let board: Board = get_for_update(tx, &id).await?.ok_or_else(|| gone("board"))?;
            let changed = changed_since(&serde_json::to_value(&board)?, d.get("board").unwrap_or(&Value::Null), old);
            let old = settle_fields(old, changed, partial, &mut kept)?;
            let mut patch = BoardPatch::default();
            for (key, value) in &old {
                match key.as_str() {
                    "name" => patch.name = opt_text(value),
                    "desc" => patch.desc = opt_text(value),
                    "closed" => patch.closed = value.as_bool(),
                    _ => return Err(unsupported(&format!("updateBoard ({key})"))),
                }
            }
            Inverse::UpdateBoard(id, patch)
        }
        "createLabel" => {
            let id = text(d, "/label/id").ok_or_else(|| unsupported(&action.kind))?;
            let label: Label = get_for_update(tx, &id).await?.ok_or_else(|| gone("label"))?;
            let mut changed = Vec::new();
            if Some(label.name.as_str()) != d.pointer("/label/name").and_then(Value::as_str) {
                changed.push("name".to_string());
            }
            if label.color.as_deref() != d.pointer("/label/color").and_then(Value::as_str) {
                changed.push("color".to_string());
            }
            if !changed.is_empty() {
                return Err(conflict(&changed));
            }
            Inverse::DeleteLabel(id)
        }
        "updateLabel" => {
            let id = text(d, "/label/id").ok_or_else(|| unsupported(&action.kind))?;
            let label: Label = get_for_update(tx, &id).await?.ok_or_else(|| gone("label"))?;
            let changed = changed_since(&serde_json::to_value(&label)?, d.get("label").unwrap_or(&Value::Null), old);
            let old = settle_fields(old, changed, partial, &mut kept)?;
            Inverse::UpdateLabel { id, name: old.get("name").and_then(opt_text), color: old.get("color").map(opt_text) }
        }
        "addAttachmentToCard" => {
            let id = need_card()?;
            let attachment = text(d, "/attachment/id").ok_or_else(|| unsupported(&action.kind))?;
            get_for_update::<Attachment>(tx, &attachment).await?.ok_or_else(|| gone("attachment"))?;
            Inverse::DeleteAttachment(id, attachment)
        }
        "deleteAttachmentFromCard" => {
            let deleted = d.get("deleted").cloned().ok_or_else(|| unsupported("deleteAttachmentFromCard (without its record)"))?;
            let attachment: Attachment = serde_json::from_value(deleted)?;
            if attachment.is_upload {
                return Err(unsupported("deleteAttachmentFromCard (an uploaded file: its bytes went with it)"));
            }
            if get::<Attachment>(tx, &attachment.id).await?.is_some() {
                return Err(DomainError::Conflict("the attachment exists again".into()));
            }
            get_for_update::<Card>(tx, &attachment.id_card).await?.ok_or_else(|| gone("card"))?;
            Inverse::RestoreAttachment(Box::new(attachment))
        }
        "addChecklistToCard" => {
            let id = text(d, "/checklist/id").ok_or_else(|| unsupported(&action.kind))?;
            get_for_update::<Checklist>(tx, &id).await?.ok_or_else(|| gone("checklist"))?;
            Inverse::DeleteChecklist(id)
        }
        other => return Err(unsupported(other)),
    };
    Ok((inverse, kept))
}

/// Puts a deleted card back with its id, checklists, attachments' records, custom field
/// values and stickers, and records a `createCard` naming the deletion it undoes.
async fn restore_card(tx: &mut Tx, actor: &Actor, deleted: &Value) -> Result<()> {
    let card: Card = serde_json::from_value(deleted.get("card").cloned().unwrap_or(Value::Null))?;
    let parts = |key: &str| deleted.get(key).cloned().unwrap_or(json!([]));
    let checklists: Vec<Checklist> = serde_json::from_value(parts("checklists"))?;
    let attachments: Vec<Attachment> = serde_json::from_value(parts("attachments"))?;
    let items: Vec<CustomFieldItem> = serde_json::from_value(parts("customFieldItems"))?;
    let stickers: Vec<Sticker> = serde_json::from_value(parts("stickers"))?;
    let list: List = get(tx, &card.id_list).await?.ok_or_else(|| gone("list"))?;
    let mut board: Board = get(tx, &card.id_board).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    insert(tx, &card).await?;
    sync_card_members(tx, &card).await?;
    for checklist in &checklists {
        insert(tx, checklist).await?;
    }
    for attachment in &attachments {
        insert(tx, attachment).await?;
    }
    for item in &items {
        insert(tx, item).await?;
    }
    for sticker in &stickers {
        insert(tx, sticker).await?;
    }
    touch_board(tx, &mut board).await?;
    let context = [("board", board_ref(&board)), ("list", list_ref(&list)), ("card", card_ref(&card))];
    record(tx, actor, "createCard", data(&context), Refs::card(&board, &card)).await?;
    Ok(())
}

/// Puts a deleted link attachment back with its id, and records an `addAttachmentToCard`
/// naming the deletion it undoes.
async fn restore_attachment(tx: &mut Tx, actor: &Actor, attachment: &Attachment) -> Result<()> {
    let mut card: Card = get_for_update(tx, &attachment.id_card).await?.ok_or_else(|| gone("card"))?;
    let mut board: Board = get(tx, &card.id_board).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    insert(tx, attachment).await?;
    card.counts.attachments += 1;
    card.date_last_activity = crate::now();
    crate::store_ext::save(tx, &card).await?;
    touch_board(tx, &mut board).await?;
    let context = [
        ("board", board_ref(&board)),
        ("card", card_ref(&card)),
        ("attachment", json!({"id": attachment.id, "name": attachment.name, "url": attachment.url})),
    ];
    record(tx, actor, "addAttachmentToCard", data(&context), Refs::card(&board, &card)).await?;
    Ok(())
}

impl Cork {
    /// `POST /cork/actions/{id}/revert`: undoes one action (see the module docs). Needs
    /// write access to the action's board.
    pub async fn revert_action(&self, actor: &Actor, id: &str) -> Result<()> {
        self.revert(actor, id, false).await.map(drop)
    }

    /// A revert that, with `partial`, puts back the fields nobody changed since and
    /// returns the ones it left (a rollback keeps a human's later edit, and only it).
    async fn revert(&self, actor: &Actor, id: &str, partial: bool) -> Result<Vec<String>> {
        if !is_id(id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.write().await?;
        let doc = tx.doc(Table::Actions, &id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        let action: Action = serde_json::from_str(&doc)?;
        let board_id = text(&action.data, "/board/id").ok_or_else(|| unsupported(&action.kind))?;
        crate::boards::board_with_role(&mut tx, actor, &board_id, Role::Write, UNAUTHORIZED).await?;
        let (inverse, kept) = plan(&mut tx, &action, partial).await?;
        // Restores write in the checking transaction itself.
        let restored = match &inverse {
            Inverse::RestoreCard(deleted) => Some(REVERT_OF.scope(action.id.clone(), restore_card(&mut tx, actor, deleted)).await),
            Inverse::RestoreAttachment(attachment) => {
                Some(REVERT_OF.scope(action.id.clone(), restore_attachment(&mut tx, actor, attachment)).await)
            }
            _ => None,
        };
        if let Some(outcome) = restored {
            outcome?;
            tx.commit().await?;
            return Ok(kept);
        }
        // Inside the write pipeline this parks the checked transaction and the commands
        // below resume it: check and inverse commit together.
        tx.commit().await?;
        REVERT_OF.scope(action.id.clone(), self.apply_inverse(actor, inverse)).await?;
        Ok(kept)
    }

    async fn apply_inverse(&self, actor: &Actor, inverse: Inverse) -> Result<()> {
        match inverse {
            Inverse::UpdateCard(id, patch) => self.update_card(actor, &id, *patch).await.map(drop),
            Inverse::DeleteCard(id) => self.delete_card(actor, &id).await,
            // Restored in `revert`, inside the checking transaction; never sent here.
            Inverse::RestoreCard(_) | Inverse::RestoreAttachment(_) => Err(DomainError::Internal("a restore outside its revert".into())),
            Inverse::DeleteAttachment(card, attachment) => self.delete_attachment(actor, &card, &attachment).await,
            Inverse::AddLabel(card, label) => self.add_card_label(actor, &card, &label).await.map(drop),
            Inverse::RemoveLabel(card, label) => self.remove_card_label(actor, &card, &label).await,
            Inverse::AddMember(card, member) => self.add_card_member(actor, &card, &member).await.map(drop),
            Inverse::RemoveMember(card, member) => self.remove_card_member(actor, &card, &member).await.map(drop),
            Inverse::DeleteComment(id) => self.delete_comment(actor, &id, None).await,
            Inverse::CheckItemState { card, item, state } => {
                let patch = CheckItemPatch { state: Some(state), ..CheckItemPatch::default() };
                self.update_check_item(actor, None, Some(&card), &item, patch).await.map(drop)
            }
            Inverse::UpdateList(id, patch) => self.update_list(actor, &id, patch).await.map(drop),
            Inverse::UpdateBoard(id, patch) => self.update_board(actor, &id, patch).await.map(drop),
            Inverse::DeleteLabel(id) => self.delete_label(actor, &id).await,
            Inverse::UpdateLabel { id, name, color } => {
                self.update_label(actor, &id, name.as_deref(), color.as_ref().map(|c| c.as_deref())).await.map(drop)
            }
            Inverse::DeleteChecklist(id) => self.delete_checklist(actor, &id).await,
        }
    }
}

/// Whose changes a rollback undoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackScope {
    /// A token's id.
    Token(String),
    /// An application key.
    Key(String),
    /// A member's id or username.
    Member(String),
}

/// One action a rollback looked at, and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackItem {
    pub id: String,
    pub kind: String,
    pub id_card: Option<String>,
    /// Why it was not reverted (conflicts: the fields changed since).
    pub reason: Option<String>,
    /// A conflict whose other fields were put back.
    pub partly_reverted: bool,
    /// Members whose later actions on the same card changed it since (conflicts).
    pub changed_by: Vec<String>,
}

/// What a rollback did: reverted, kept because someone changed the object since, or
/// skipped (a kind Cork cannot revert, a board the caller may not write).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollbackReport {
    pub reverted: Vec<RollbackItem>,
    pub conflicts: Vec<RollbackItem>,
    pub skipped: Vec<RollbackItem>,
}

impl Cork {
    /// `POST /cork/rollback`: reverts everything `scope` did from `since` (an id bound,
    /// inclusive) to `before` (exclusive), optionally on one board, newest first, as one
    /// operation (inside the write pipeline: one transaction, and a dry run previews it).
    /// A later change by someone else is kept and reported as a conflict.
    pub async fn rollback(
        &self,
        actor: &Actor,
        scope: &RollbackScope,
        since: &str,
        before: Option<&str>,
        board: Option<&str>,
    ) -> Result<RollbackReport> {
        actor.require_member()?;
        let (column, value) = {
            let mut tx = self.store.read().await?;
            match scope {
                RollbackScope::Token(id) if is_id(id) => ("token_id", id.to_ascii_lowercase()),
                RollbackScope::Token(_) => return Err(DomainError::InvalidValue("idToken".into())),
                RollbackScope::Key(key) => ("app_key", key.to_ascii_lowercase()),
                RollbackScope::Member(reference) => ("member_id", crate::members::resolve_member(&mut tx, actor, reference).await?.id),
            }
        };
        let board_id = match board {
            Some(reference) => {
                let mut tx = self.store.read().await?;
                Some(crate::boards::board_with_role(&mut tx, actor, reference, Role::Write, UNAUTHORIZED).await?.0.id)
            }
            None => None,
        };
        let mut conds = vec![Cond::eq(column, value), Cond::Gt("id", cork_store::Arg::text(since))];
        if let Some(before) = before {
            conds.push(Cond::Lt("id", cork_store::Arg::text(before)));
        }
        if let Some(board_id) = &board_id {
            conds.push(Cond::eq("board_id", board_id));
        }
        let actions: Vec<Action> = {
            let mut tx = self.store.read().await?;
            let docs = tx.docs(Table::Actions, &conds, Order::Desc("id"), None).await?;
            docs.iter().map(|d| serde_json::from_str(d)).collect::<std::result::Result<_, _>>()?
        };
        let mut report = RollbackReport::default();
        for action in actions {
            let mut item = RollbackItem {
                id: action.id.clone(),
                kind: action.kind.clone(),
                id_card: text(&action.data, "/card/id"),
                reason: None,
                partly_reverted: false,
                changed_by: Vec::new(),
            };
            let outcome = match self.revert(actor, &action.id, true).await {
                Ok(kept) if kept.is_empty() => Ok(()),
                Ok(kept) => {
                    item.partly_reverted = true;
                    Err(conflict(&kept))
                }
                Err(error) => Err(error),
            };
            match outcome {
                Ok(()) => report.reverted.push(item),
                Err(DomainError::Conflict(reason)) => {
                    item.reason = Some(reason);
                    if let Some(card) = &item.id_card {
                        let mut tx = self.store.read().await?;
                        let later = tx
                            .column(
                                Table::Actions,
                                "member_id",
                                &[Cond::eq("card_id", card), Cond::Gt("id", cork_store::Arg::text(&action.id))],
                            )
                            .await?;
                        let mut by: Vec<String> = later.into_iter().filter(|m| *m != action.id_member_creator).collect();
                        by.sort();
                        by.dedup();
                        item.changed_by = by;
                    }
                    report.conflicts.push(item);
                }
                Err(DomainError::Busy) => return Err(DomainError::Busy),
                Err(DomainError::Internal(detail)) => return Err(DomainError::Internal(detail)),
                Err(other) => {
                    item.reason = Some(other.to_string());
                    report.skipped.push(item);
                }
            }
        }
        Ok(report)
    }
}
