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
use crate::custom_fields::{CustomField, CustomFieldItem, CustomFieldOption, CustomFieldPatch, ItemInput};
use crate::files::FileStore;
use crate::ids::is_id;
use crate::lists::{ListPatch, MovedCard};
use crate::model::*;
use crate::plugins::BoardPlugin;
use crate::pos::Pos;
use crate::reactions::Reaction;
use crate::stickers::{Sticker, StickerPlace};
use crate::store_ext::{find, get, get_for_update, insert, insert_all, save};
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
    UpdateList(String, ListPatch),
    /// A board edit, and the labels it made to delete again.
    UpdateBoard(String, BoardPatch, Vec<String>),
    DeleteLabel(String),
    UpdateLabel {
        id: String,
        name: Option<String>,
        color: Option<Option<String>>,
    },
    DeleteChecklist(String),
    DeleteAttachment(String, String),
    RestoreAttachment(Box<Attachment>),
    /// A card moved to another board goes back with every field the move changed.
    MoveBack(String, Map<String, Value>),
    UpdateChecklist(String, Option<String>, Option<f64>),
    RestoreChecklist(Box<Checklist>),
    DeleteCheckItem(String, String),
    UpdateCheckItem(String, String, CheckItemPatch),
    RestoreCheckItem(String, Box<CheckItem>),
    RestoreLabel(Box<Label>, Vec<String>),
    /// A comment's text and when it was last edited before.
    CommentText(String, String, Option<String>),
    RestoreComment(Box<Action>),
    /// A card's custom field value, with the item id it had.
    FieldItem {
        card: String,
        field: String,
        item: Option<String>,
        input: ItemInput,
    },
    DeleteCustomField(String),
    UpdateCustomField(String, CustomFieldPatch),
    DeleteFieldOption(String, String),
    RestoreFieldOption(String, Box<CustomFieldOption>, Vec<CustomFieldItem>),
    RestoreCustomField(Box<CustomField>, Vec<CustomFieldItem>),
    RemoveBoardMember(String, String),
    SetBoardMember(String, String, String),
    RestoreMembership(Box<Membership>),
    RemoveSticker(String, String),
    MoveSticker(String, String, StickerPlace),
    RestoreSticker(Box<Sticker>),
    /// A member's vote on a card: taken back (`false`) or given back (`true`).
    Vote {
        card: String,
        member: String,
        voted: bool,
    },
    RemoveReaction(String),
    RestoreReaction(Box<Reaction>),
    /// A deleted board with everything its deletion recorded.
    RestoreBoard(Box<Value>),
    /// A list moved to another board goes back with the fields the move changed and its
    /// cards' numbers and labels.
    MoveListBack(String, Map<String, Value>, Vec<MovedCard>),
    DisablePlugin(String, String),
    RestorePlugin(Box<BoardPlugin>),
}

impl Inverse {
    /// Whether the inverse is written in the checking transaction itself (restores, and
    /// changes no ordinary command makes) rather than through a command.
    fn in_place(&self) -> bool {
        matches!(
            self,
            Inverse::RestoreCard(_)
                | Inverse::RestoreAttachment(_)
                | Inverse::MoveBack(..)
                | Inverse::RestoreChecklist(_)
                | Inverse::RestoreCheckItem(..)
                | Inverse::RestoreLabel(..)
                | Inverse::CommentText(..)
                | Inverse::RestoreComment(_)
                | Inverse::FieldItem { .. }
                | Inverse::RestoreFieldOption(..)
                | Inverse::RestoreCustomField(..)
                | Inverse::RestoreMembership(_)
                | Inverse::RestoreSticker(_)
                | Inverse::Vote { .. }
                | Inverse::RemoveReaction(_)
                | Inverse::RestoreReaction(_)
                | Inverse::RestoreBoard(_)
                | Inverse::MoveListBack(..)
                | Inverse::RestorePlugin(_)
        )
    }
}

pub(crate) fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer).and_then(Value::as_str).map(str::to_string)
}

pub(crate) fn conflict(fields: &[String]) -> DomainError {
    DomainError::Conflict(format!("changed since the action: {}", fields.join(", ")))
}

pub(crate) fn gone(what: &str) -> DomainError {
    DomainError::Conflict(format!("the {what} is gone since the action"))
}

/// Refuses to restore an object that exists again (someone made it since, or the
/// deletion was undone already).
pub(crate) async fn still_gone<T: crate::store_ext::Stored>(tx: &mut Tx, id: &str, what: &str) -> Result<()> {
    match get::<T>(tx, id).await? {
        Some(_) => Err(DomainError::Conflict(format!("the {what} exists again"))),
        None => Ok(()),
    }
}

/// One part of an action's `deleted` record (`[]` when absent, for lists).
fn deleted_part<T: serde::de::DeserializeOwned>(deleted: &Value, key: &str, default: Value) -> Result<T> {
    Ok(serde_json::from_value(deleted.get(key).cloned().unwrap_or(default))?)
}

pub(crate) fn unsupported(kind: &str) -> DomainError {
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
async fn plan(tx: &mut Tx, actor: &Actor, action: &Action, partial: bool) -> Result<(Inverse, Vec<String>)> {
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
            still_gone::<Card>(tx, &id, "card").await?;
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
        "updateCheckItemStateOnCard" | "updateCheckItem" => {
            let id = need_card()?;
            let item_id = text(d, "/checkItem/id").ok_or_else(|| unsupported(&action.kind))?;
            let checklists: Vec<Checklist> = find(tx, &[Cond::eq("card_id", &id)], Order::Asc("pos"), None).await?;
            let item = checklists.iter().flat_map(|c| &c.check_items).find(|i| i.id == item_id).ok_or_else(|| gone("check item"))?;
            let written = d.get("checkItem").cloned().unwrap_or(Value::Null);
            // The fields the action changed (an older record lacks the written position).
            let touched: Map<String, Value> =
                old.iter().filter(|(k, v)| written.get(k.as_str()).is_some_and(|w| w != *v)).map(|(k, v)| (k.clone(), v.clone())).collect();
            let changed = changed_since(&serde_json::to_value(item)?, &written, &touched);
            let touched = settle_fields(&touched, changed, partial, &mut kept)?;
            let patch = CheckItemPatch {
                name: touched.get("name").and_then(opt_text),
                state: touched.get("state").and_then(opt_text),
                pos: touched.get("pos").and_then(Value::as_f64).map(Pos::At),
                id_checklist: touched.get("idChecklist").and_then(opt_text),
                ..CheckItemPatch::default()
            };
            Inverse::UpdateCheckItem(id, item_id, patch)
        }
        "createCheckItem" => {
            let item_id = text(d, "/checkItem/id").ok_or_else(|| unsupported(&action.kind))?;
            let checklist = text(d, "/checklist/id").unwrap_or_default();
            let checklist: Checklist = get_for_update(tx, &checklist).await?.ok_or_else(|| gone("checklist"))?;
            let item = checklist.check_items.iter().find(|i| i.id == item_id).ok_or_else(|| gone("check item"))?;
            let mut changed = Vec::new();
            for (key, now) in [("name", &item.name), ("state", &item.state)] {
                if d.pointer(&format!("/checkItem/{key}")).and_then(Value::as_str).is_some_and(|w| w != now) {
                    changed.push(key.to_string());
                }
            }
            if !changed.is_empty() {
                return Err(conflict(&changed));
            }
            Inverse::DeleteCheckItem(checklist.id, item_id)
        }
        "deleteCheckItem" => {
            let item: CheckItem = serde_json::from_value(d.get("deleted").cloned().ok_or_else(|| unsupported(&action.kind))?)?;
            let checklist: Checklist = get_for_update(tx, &item.id_checklist).await?.ok_or_else(|| gone("checklist"))?;
            if checklist.check_items.iter().any(|i| i.id == item.id) {
                return Err(DomainError::Conflict("the check item exists again".into()));
            }
            Inverse::RestoreCheckItem(checklist.id, Box::new(item))
        }
        "updateChecklist" => {
            let id = text(d, "/checklist/id").ok_or_else(|| unsupported(&action.kind))?;
            let checklist: Checklist = get_for_update(tx, &id).await?.ok_or_else(|| gone("checklist"))?;
            if old.keys().any(|k| k != "name" && k != "pos") {
                return Err(unsupported("updateChecklist (a move to another card)"));
            }
            let written = d.get("checklist").cloned().unwrap_or(Value::Null);
            let touched: Map<String, Value> =
                old.iter().filter(|(k, _)| written.get(k.as_str()).is_some()).map(|(k, v)| (k.clone(), v.clone())).collect();
            let changed = changed_since(&serde_json::to_value(&checklist)?, &written, &touched);
            let touched = settle_fields(&touched, changed, partial, &mut kept)?;
            Inverse::UpdateChecklist(id, touched.get("name").and_then(opt_text), touched.get("pos").and_then(Value::as_f64))
        }
        "removeChecklistFromCard" => {
            let checklist: Checklist = serde_json::from_value(d.get("deleted").cloned().ok_or_else(|| unsupported(&action.kind))?)?;
            still_gone::<Checklist>(tx, &checklist.id, "checklist").await?;
            get_for_update::<Card>(tx, &checklist.id_card).await?.ok_or_else(|| gone("card"))?;
            Inverse::RestoreChecklist(Box::new(checklist))
        }
        "moveCardFromBoard" | "moveCardToBoard" => {
            let from = if action.kind == "moveCardToBoard" { move_pair(tx, action).await? } else { action.clone() };
            let d = &from.data;
            let id = text(d, "/card/id").ok_or_else(|| unsupported(&action.kind))?;
            let old = d.get("old").and_then(Value::as_object).cloned().unwrap_or_default();
            if !old.contains_key("idShort") {
                return Err(unsupported("moveCardFromBoard (recorded without the fields it changed)"));
            }
            let card: Card = get_for_update(tx, &id).await?.ok_or_else(|| gone("card"))?;
            let changed = changed_since(&serde_json::to_value(&card)?, d.get("card").unwrap_or(&Value::Null), &old);
            if !changed.is_empty() {
                return Err(conflict(&changed));
            }
            let list = old.get("idList").and_then(Value::as_str).unwrap_or_default();
            let list: List = get(tx, list).await?.ok_or_else(|| gone("list"))?;
            if old.get("idBoard").and_then(Value::as_str) != Some(list.id_board.as_str()) {
                return Err(gone("list"));
            }
            Inverse::MoveBack(id, old)
        }
        "deleteLabel" => {
            let deleted = d.get("deleted").ok_or_else(|| unsupported(&action.kind))?;
            let label: Label = deleted_part(deleted, "label", Value::Null)?;
            let cards: Vec<String> = deleted_part(deleted, "cards", json!([]))?;
            still_gone::<Label>(tx, &label.id, "label").await?;
            Inverse::RestoreLabel(Box::new(label), cards)
        }
        "updateComment" => {
            let id = text(d, "/action/id").ok_or_else(|| unsupported(&action.kind))?;
            let doc = tx.doc(Table::Actions, &id).await?.ok_or_else(|| gone("comment"))?;
            let current: Action = serde_json::from_str(&doc)?;
            if current.data.get("text") != d.pointer("/action/text") {
                return Err(conflict(&["text".to_string()]));
            }
            match d.pointer("/old/text").and_then(Value::as_str) {
                Some(old_text) => Inverse::CommentText(id, old_text.to_string(), text(d, "/old/dateLastEdited")),
                // The undo of a deletion: the comment goes again.
                None => Inverse::DeleteComment(id),
            }
        }
        "deleteComment" => {
            let comment: Action = serde_json::from_value(d.get("deleted").cloned().ok_or_else(|| unsupported(&action.kind))?)?;
            if tx.doc(Table::Actions, &comment.id).await?.is_some() {
                return Err(DomainError::Conflict("the comment exists again".into()));
            }
            if let Some(card) = text(&comment.data, "/card/id") {
                get_for_update::<Card>(tx, &card).await?.ok_or_else(|| gone("card"))?;
            }
            Inverse::RestoreComment(Box::new(comment))
        }
        "updateCustomFieldItem" => {
            let id = need_card()?;
            let field = text(d, "/customField/id").ok_or_else(|| unsupported(&action.kind))?;
            let _: Card = get_for_update(tx, &id).await?.ok_or_else(|| gone("card"))?;
            let existing: Option<CustomFieldItem> =
                find(tx, &[Cond::eq("card_id", &id), Cond::eq("field_id", &field)], Order::None, Some(1)).await?.pop();
            let present = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
            let now = (
                existing.as_ref().and_then(|i| i.value.clone()).map(Value::Object),
                existing.as_ref().and_then(|i| i.id_value.clone()).map(Value::String),
            );
            let written = (present(d.pointer("/customFieldItem/value")), present(d.pointer("/customFieldItem/idValue")));
            if now != written {
                return Err(conflict(&["value".to_string()]));
            }
            let input = match (old.get("idValue"), old.get("value")) {
                (Some(Value::String(choice)), _) => ItemInput::Choice(choice.clone()),
                (_, Some(Value::Object(value))) => match value.iter().next() {
                    Some((key, Value::String(text))) => ItemInput::Value { key: key.clone(), text: text.clone() },
                    Some((key, other)) => ItemInput::Value { key: key.clone(), text: other.to_string() },
                    None => ItemInput::Clear,
                },
                _ => ItemInput::Clear,
            };
            Inverse::FieldItem { card: id, field, item: text(d, "/customFieldItem/id"), input }
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
                    "softLimit" => patch.soft_limit = Some(opt_text(value)),
                    "color" => patch.color = Some(opt_text(value)),
                    _ => return Err(unsupported(&format!("updateList ({key})"))),
                }
            }
            Inverse::UpdateList(id, patch)
        }
        "updateBoard" => {
            let id = text(d, "/board/id").ok_or_else(|| unsupported(&action.kind))?;
            let board: Board = get_for_update(tx, &id).await?.ok_or_else(|| gone("board"))?;
            let current = serde_json::to_value(&board)?;
            let written = d.get("board").unwrap_or(&Value::Null);
            let mut changed = changed_since(
                &current,
                written,
                &Map::from_iter(old.iter().filter(|(k, _)| *k != "prefs" && *k != "labelNames").map(|(k, v)| (k.clone(), v.clone()))),
            );
            // Label names colour by colour, against the labels as they are now.
            let mut created_colors: Vec<String> = Vec::new();
            let mut created: Vec<String> = deleted_part(d, "createdLabels", json!([]))?;
            if let Some(names) = old.get("labelNames").and_then(Value::as_object) {
                let labels: Vec<Label> = find(tx, &[Cond::eq("board_id", &id)], Order::Asc("id"), None).await?;
                for color in names.keys() {
                    let now = labels.iter().find(|l| l.color.as_deref() == Some(color.as_str())).map(|l| l.name.as_str());
                    if now != written.pointer(&format!("/labelNames/{color}")).and_then(Value::as_str) {
                        changed.push(format!("labelNames/{color}"));
                    }
                }
                created.retain(|label| labels.iter().any(|l| l.id == *label));
                created_colors = labels.iter().filter(|l| created.contains(&l.id)).filter_map(|l| l.color.clone()).collect();
            } else {
                created.clear();
            }
            // Preferences one by one: a later change of another preference is no conflict.
            if let Some(prefs) = old.get("prefs").and_then(Value::as_object) {
                if prefs.keys().any(|key| current.pointer(&format!("/prefs/{key}")) != written.pointer(&format!("/prefs/{key}"))) {
                    changed.push("prefs".to_string());
                }
            }
            let old = settle_fields(old, changed, partial, &mut kept)?;
            if !old.contains_key("labelNames") {
                created.clear();
            }
            let mut patch = BoardPatch::default();
            for (key, value) in &old {
                match key.as_str() {
                    "name" => patch.name = opt_text(value),
                    "desc" => patch.desc = opt_text(value),
                    "closed" => patch.closed = value.as_bool(),
                    "pinned" => patch.pinned = value.as_bool(),
                    "idOrganization" => patch.id_organization = Some(opt_text(value)),
                    "labelNames" => {
                        // The labels the names made go again, rather than stay without a name.
                        for (color, was) in value.as_object().into_iter().flatten().filter(|(c, _)| !created_colors.contains(c)) {
                            patch.label_names.push((color.clone(), was.as_str().unwrap_or_default().to_string()));
                        }
                    }
                    "prefs" => {
                        for (pref, was) in value.as_object().into_iter().flatten() {
                            let was = match was {
                                Value::String(text) => text.clone(),
                                Value::Null => continue,
                                other => other.to_string(),
                            };
                            patch.prefs.push((pref.clone(), was));
                        }
                    }
                    _ => return Err(unsupported(&format!("updateBoard ({key})"))),
                }
            }
            Inverse::UpdateBoard(id, patch, created)
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
            still_gone::<Attachment>(tx, &attachment.id, "attachment").await?;
            get_for_update::<Card>(tx, &attachment.id_card).await?.ok_or_else(|| gone("card"))?;
            Inverse::RestoreAttachment(Box::new(attachment))
        }
        "addChecklistToCard" => {
            let id = text(d, "/checklist/id").ok_or_else(|| unsupported(&action.kind))?;
            get_for_update::<Checklist>(tx, &id).await?.ok_or_else(|| gone("checklist"))?;
            Inverse::DeleteChecklist(id)
        }
        "createCustomField" => {
            let id = text(d, "/customField/id").ok_or_else(|| unsupported(&action.kind))?;
            get_for_update::<CustomField>(tx, &id).await?.ok_or_else(|| gone("custom field"))?;
            if tx.count(Table::CustomFieldItems, &[Cond::eq("field_id", &id)]).await? > 0 {
                return Err(DomainError::Conflict("changed since the action: values were set on cards".into()));
            }
            Inverse::DeleteCustomField(id)
        }
        "updateCustomField" => {
            let id = text(d, "/customField/id").ok_or_else(|| unsupported(&action.kind))?;
            let field: CustomField = get_for_update(tx, &id).await?.ok_or_else(|| gone("custom field"))?;
            if let Some(deleted) = d.get("deleted") {
                // An option's deletion: it comes back with the values that chose it.
                let option: CustomFieldOption = deleted_part(deleted, "customFieldOption", Value::Null)?;
                let items: Vec<CustomFieldItem> = deleted_part(deleted, "customFieldItems", json!([]))?;
                if field.options.iter().any(|o| o.id == option.id) {
                    return Err(DomainError::Conflict("the option exists again".into()));
                }
                Inverse::RestoreFieldOption(id, Box::new(option), items)
            } else if let Some(option) = text(d, "/customFieldOption/id") {
                // An option's creation.
                if !field.options.iter().any(|o| o.id == option) {
                    return Err(gone("option"));
                }
                let items: Vec<CustomFieldItem> = find(tx, &[Cond::eq("field_id", &id)], Order::None, None).await?;
                if items.iter().any(|i| i.id_value.as_deref() == Some(option.as_str())) {
                    return Err(DomainError::Conflict("changed since the action: cards chose the option".into()));
                }
                Inverse::DeleteFieldOption(id, option)
            } else {
                let mut current = serde_json::to_value(&field)?;
                current["display"] = json!({"cardFront": field.card_front});
                let changed = changed_since(&current, d.get("customField").unwrap_or(&Value::Null), old);
                let old = settle_fields(old, changed, partial, &mut kept)?;
                let mut patch = CustomFieldPatch::default();
                for (key, value) in &old {
                    match key.as_str() {
                        "name" => patch.name = opt_text(value),
                        "pos" => patch.pos = value.as_f64().map(Pos::At),
                        "display" => patch.card_front = value.get("cardFront").and_then(Value::as_bool),
                        _ => return Err(unsupported(&format!("updateCustomField ({key})"))),
                    }
                }
                Inverse::UpdateCustomField(id, patch)
            }
        }
        "deleteCustomField" => {
            let deleted = d.get("deleted").ok_or_else(|| unsupported(&action.kind))?;
            let field: CustomField = deleted_part(deleted, "customField", Value::Null)?;
            let items: Vec<CustomFieldItem> = deleted_part(deleted, "customFieldItems", json!([]))?;
            still_gone::<CustomField>(tx, &field.id, "custom field").await?;
            Inverse::RestoreCustomField(Box::new(field), items)
        }
        "addMemberToBoard" | "makeAdminOfBoard" | "makeNormalMemberOfBoard" | "makeObserverOfBoard" => {
            let board = text(d, "/board/id").ok_or_else(|| unsupported(&action.kind))?;
            let member = text(d, "/idMember").ok_or_else(|| unsupported(&action.kind))?;
            let now: Option<Membership> =
                find(tx, &[Cond::eq("model_id", &board), Cond::eq("member_id", &member)], Order::None, Some(1)).await?.pop();
            let now = now.ok_or_else(|| gone("membership"))?;
            if Some(now.member_type.as_str()) != d.get("memberType").and_then(Value::as_str) {
                return Err(conflict(&["memberType".to_string()]));
            }
            match text(d, "/old/memberType") {
                Some(was) => Inverse::SetBoardMember(board, member, was),
                None => Inverse::RemoveBoardMember(board, member),
            }
        }
        "removeMemberFromBoard" => {
            let membership: Membership = serde_json::from_value(d.get("deleted").cloned().ok_or_else(|| unsupported(&action.kind))?)?;
            let on_board = [Cond::eq("model_id", &membership.id_model), Cond::eq("member_id", &membership.id_member)];
            if tx.count(Table::Memberships, &on_board).await? > 0 {
                return Err(DomainError::Conflict("the member is on the board again".into()));
            }
            Inverse::RestoreMembership(Box::new(membership))
        }
        "addStickerToCard" | "updateStickerOnCard" => {
            let id = need_card()?;
            let sticker_id = text(d, "/sticker/id").ok_or_else(|| unsupported(&action.kind))?;
            let sticker: Sticker = get_for_update(tx, &sticker_id).await?.ok_or_else(|| gone("sticker"))?;
            let written = d.get("sticker").cloned().unwrap_or(Value::Null);
            let current = serde_json::to_value(&sticker)?;
            let moved: Vec<String> = ["top", "left", "zIndex", "rotate"]
                .iter()
                .filter(|k| written.get(**k).is_some() && current.get(**k) != written.get(**k))
                .map(|k| k.to_string())
                .collect();
            if !moved.is_empty() {
                return Err(conflict(&moved));
            }
            if action.kind == "addStickerToCard" {
                Inverse::RemoveSticker(id, sticker_id)
            } else {
                let place = StickerPlace {
                    top: old.get("top").and_then(Value::as_f64),
                    left: old.get("left").and_then(Value::as_f64),
                    z_index: old.get("zIndex").and_then(Value::as_i64),
                    rotate: old.get("rotate").and_then(Value::as_f64),
                };
                Inverse::MoveSticker(id, sticker_id, place)
            }
        }
        "removeStickerFromCard" => {
            let sticker: Sticker = serde_json::from_value(d.get("deleted").cloned().ok_or_else(|| unsupported(&action.kind))?)?;
            still_gone::<Sticker>(tx, &sticker.id, "sticker").await?;
            get_for_update::<Card>(tx, &sticker.id_card).await?.ok_or_else(|| gone("card"))?;
            Inverse::RestoreSticker(Box::new(sticker))
        }
        "voteOnCard" => {
            let id = need_card()?;
            let card: Card = get_for_update(tx, &id).await?.ok_or_else(|| gone("card"))?;
            let voter = text(d, "/idMember").unwrap_or_else(|| action.id_member_creator.clone());
            let voted = d.get("voted").and_then(Value::as_bool).unwrap_or(true);
            if card.id_members_voted.contains(&voter) != voted {
                return Err(conflict(&["idMembersVoted".to_string()]));
            }
            Inverse::Vote { card: id, member: voter, voted: !voted }
        }
        "addReaction" => {
            let reaction = text(d, "/reaction/id").ok_or_else(|| unsupported(&action.kind))?;
            get::<Reaction>(tx, &reaction).await?.ok_or_else(|| gone("reaction"))?;
            Inverse::RemoveReaction(reaction)
        }
        "deleteReaction" => {
            let reaction: Reaction = serde_json::from_value(d.get("deleted").cloned().ok_or_else(|| unsupported(&action.kind))?)?;
            still_gone::<Reaction>(tx, &reaction.id, "reaction").await?;
            tx.doc(Table::Actions, &reaction.id_model).await?.ok_or_else(|| gone("comment"))?;
            Inverse::RestoreReaction(Box::new(reaction))
        }
        "createBoard" | "copyBoard" => {
            // Boards are closed, not deleted, by an undo: their cards may have been worked on.
            let id = text(d, "/board/id").ok_or_else(|| unsupported(&action.kind))?;
            let board: Board = get_for_update(tx, &id).await?.ok_or_else(|| gone("board"))?;
            if board.closed {
                return Err(conflict(&["closed".to_string()]));
            }
            Inverse::UpdateBoard(id, BoardPatch { closed: Some(true), ..BoardPatch::default() }, Vec::new())
        }
        "deleteBoard" => {
            let deleted = d.get("deleted").cloned().ok_or_else(|| unsupported(&action.kind))?;
            let board: Board = deleted_part(&deleted, "board", Value::Null)?;
            still_gone::<Board>(tx, &board.id, "board").await?;
            // The board's admins, as it was, and its workspace's admins may restore it.
            let memberships: Vec<Membership> = deleted_part(&deleted, "memberships", json!([]))?;
            let mut own = memberships;
            if let Some(org) = &board.id_organization {
                get::<crate::model::Organization>(tx, org).await?.ok_or_else(|| gone("workspace"))?;
                own.extend(crate::access::memberships_of(tx, actor, &[org.as_str()]).await?);
            }
            if !actor.may_write() || crate::access::role_from(actor, &board, &own) < Role::Admin {
                return Err(DomainError::Unauthorized(UNAUTHORIZED));
            }
            Inverse::RestoreBoard(Box::new(deleted))
        }
        "moveListFromBoard" | "moveListToBoard" => {
            let from = if action.kind == "moveListToBoard" { list_move_pair(tx, action).await? } else { action.clone() };
            let d = &from.data;
            let id = text(d, "/list/id").ok_or_else(|| unsupported(&action.kind))?;
            let old = d.get("old").and_then(Value::as_object).cloned().unwrap_or_default();
            if !old.contains_key("idBoard") {
                return Err(unsupported("moveListFromBoard (recorded without the fields it changed)"));
            }
            let list: List = get_for_update(tx, &id).await?.ok_or_else(|| gone("list"))?;
            if Some(list.id_board.as_str()) != d.pointer("/boardTarget/id").and_then(Value::as_str) {
                return Err(conflict(&["idBoard".to_string()]));
            }
            let rest = Map::from_iter(old.iter().filter(|(k, _)| *k != "idBoard" && *k != "pos").map(|(k, v)| (k.clone(), v.clone())));
            let changed = changed_since(&serde_json::to_value(&list)?, d.get("list").unwrap_or(&Value::Null), &rest);
            if !changed.is_empty() {
                return Err(conflict(&changed));
            }
            let home = old.get("idBoard").and_then(Value::as_str).unwrap_or_default();
            get::<Board>(tx, home).await?.ok_or_else(|| gone("board"))?;
            let cards: Vec<MovedCard> = deleted_part(d, "cards", json!([]))?;
            Inverse::MoveListBack(id, old, cards)
        }
        "enablePlugin" | "disablePlugin" => {
            let board = text(d, "/board/id").ok_or_else(|| unsupported(&action.kind))?;
            let plugin = text(d, "/plugin/id").ok_or_else(|| unsupported(&action.kind))?;
            let on = [Cond::eq("board_id", &board), Cond::eq("plugin_id", &plugin)];
            let enabled = tx.count(Table::BoardPlugins, &on).await? > 0;
            match (action.kind.as_str(), enabled) {
                ("enablePlugin", true) => Inverse::DisablePlugin(board, plugin),
                ("disablePlugin", false) => Inverse::RestorePlugin(Box::new(deleted_part(d, "deleted", Value::Null)?)),
                _ => return Err(conflict(&["enabled".to_string()])),
            }
        }
        "rejectChangeRequest" | "expireChangeRequest" => {
            return Err(DomainError::BadRequest(format!(
                "actions of type {} record a decision on a change request and change nothing to revert",
                action.kind
            )))
        }
        other => return Err(unsupported(other)),
    };
    Ok((inverse, kept))
}

/// What a card's and a board's deletion both record of their cards — checklists,
/// attachments (their files out of the trash), custom field values, stickers (their
/// pictures too) — put back with their ids.
async fn restore_card_parts(tx: &mut Tx, files: &FileStore, pictures: &FileStore, deleted: &Value) -> Result<()> {
    let attachments: Vec<Attachment> = deleted_part(deleted, "attachments", json!([]))?;
    let stickers: Vec<Sticker> = deleted_part(deleted, "stickers", json!([]))?;
    insert_all(tx, &deleted_part::<Vec<Checklist>>(deleted, "checklists", json!([]))?).await?;
    insert_all(tx, &attachments).await?;
    insert_all(tx, &deleted_part::<Vec<CustomFieldItem>>(deleted, "customFieldItems", json!([]))?).await?;
    insert_all(tx, &stickers).await?;
    files.untrash(&crate::uploads::attachment_files(&attachments)).await?;
    pictures.untrash(&crate::stickers::sticker_files(&stickers)).await
}

/// Puts a deleted card back with its id, checklists, attachments' records, custom field
/// values and stickers, and records a `createCard` naming the deletion it undoes.
async fn restore_card(tx: &mut Tx, actor: &Actor, files: &FileStore, pictures: &FileStore, deleted: &Value) -> Result<()> {
    let card: Card = deleted_part(deleted, "card", Value::Null)?;
    let list: List = get(tx, &card.id_list).await?.ok_or_else(|| gone("list"))?;
    let mut board: Board = get(tx, &card.id_board).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    insert(tx, &card).await?;
    sync_card_members(tx, &card).await?;
    restore_card_parts(tx, files, pictures, deleted).await?;
    touch_board(tx, &mut board).await?;
    let context = [("board", board_ref(&board)), ("list", list_ref(&list)), ("card", card_ref(&card))];
    record(tx, actor, "createCard", data(&context), Refs::card(&board, &card)).await?;
    Ok(())
}

/// Puts a deleted board back with its id and all its deletion recorded: lists, cards
/// (with their numbers), labels, checklists, attachments and their bytes, custom fields
/// and values, stickers and their pictures, memberships and stars; records `createBoard`.
async fn restore_board(tx: &mut Tx, actor: &Actor, files: &FileStore, pictures: &FileStore, deleted: &Value) -> Result<()> {
    let mut board: Board = deleted_part(deleted, "board", Value::Null)?;
    let cards: Vec<Card> = deleted_part(deleted, "cards", json!([]))?;
    insert(tx, &board).await?;
    // Card numbers go on from where they were, never handing out one twice.
    let seq = cards.iter().map(|c| c.id_short).max().unwrap_or(0).max(deleted.get("cardSeq").and_then(Value::as_i64).unwrap_or(0));
    tx.update(Table::Boards, &[("card_seq", cork_store::Arg::Int(seq))], &[Cond::eq("id", &board.id)]).await?;
    insert_all(tx, &deleted_part::<Vec<List>>(deleted, "lists", json!([]))?).await?;
    insert_all(tx, &deleted_part::<Vec<Label>>(deleted, "labels", json!([]))?).await?;
    for card in &cards {
        insert(tx, card).await?;
        sync_card_members(tx, card).await?;
    }
    insert_all(tx, &deleted_part::<Vec<Membership>>(deleted, "memberships", json!([]))?).await?;
    insert_all(tx, &deleted_part::<Vec<CustomField>>(deleted, "customFields", json!([]))?).await?;
    insert_all(tx, &deleted_part::<Vec<BoardStar>>(deleted, "stars", json!([]))?).await?;
    restore_card_parts(tx, files, pictures, deleted).await?;
    touch_board(tx, &mut board).await?;
    record(tx, actor, "createBoard", data(&[("board", board_ref(&board))]), Refs::board(&board)).await?;
    Ok(())
}

/// The `moveListFromBoard` recorded with a `moveListToBoard` (the move's other half).
async fn list_move_pair(tx: &mut Tx, action: &Action) -> Result<Action> {
    let list = text(&action.data, "/list/id").ok_or_else(|| unsupported(&action.kind))?;
    let docs = tx
        .docs(
            Table::Actions,
            &[Cond::eq("list_id", &list), Cond::eq("type", "moveListFromBoard"), Cond::Lt("id", cork_store::Arg::text(&action.id))],
            Order::Desc("id"),
            Some(1),
        )
        .await?;
    match docs.first().map(|doc| serde_json::from_str::<Action>(doc)).transpose()? {
        Some(pair) if pair.data.pointer("/boardTarget/id") == action.data.pointer("/board/id") => Ok(pair),
        _ => Err(unsupported("moveListToBoard (without its moveListFromBoard)")),
    }
}

/// Moves a list back to the board it came from, with the other fields the move
/// changed and its cards' numbers and labels there.
async fn move_list_back(tx: &mut Tx, actor: &Actor, id: &str, old: &Map<String, Value>, cards: &[MovedCard]) -> Result<()> {
    let list: List = get_for_update(tx, id).await?.ok_or_else(|| gone("list"))?;
    let home = old.get("idBoard").and_then(Value::as_str).unwrap_or_default().to_string();
    tx.lock_in_order(Table::Boards, &[list.id_board.clone(), home.clone()]).await?;
    let mut here: Board = get(tx, &list.id_board).await?.ok_or_else(|| gone("board"))?;
    let mut there: Board = get(tx, &home).await?.ok_or_else(|| gone("board"))?;
    for board in [&here, &there] {
        crate::access::require(crate::access::board_role(tx, actor, board).await?, Role::Write, UNAUTHORIZED)?;
    }
    let mut value = serde_json::to_value(&list)?;
    let mut now = Map::new();
    for (key, was) in old.iter().filter(|(key, _)| *key != "idBoard") {
        now.insert(key.clone(), value.get(key.as_str()).cloned().unwrap_or(Value::Null));
        value[key.as_str()] = was.clone();
    }
    let mut list: List = serde_json::from_value(value)?;
    crate::lists::move_list_to(tx, actor, &mut list, &mut here, &mut there, now, cards).await
}

/// Puts a deleted attachment back with its id (an upload with its bytes), and records an `addAttachmentToCard`
/// naming the deletion it undoes.
async fn restore_attachment(tx: &mut Tx, actor: &Actor, files: &FileStore, attachment: &Attachment) -> Result<()> {
    let mut card: Card = get_for_update(tx, &attachment.id_card).await?.ok_or_else(|| gone("card"))?;
    let mut board: Board = get(tx, &card.id_board).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    insert(tx, attachment).await?;
    files.untrash(&crate::uploads::attachment_files(std::slice::from_ref(attachment))).await?;
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

/// The `moveCardFromBoard` recorded with a `moveCardToBoard` (the move's other half):
/// the latest one before it, of the same card, towards its board.
async fn move_pair(tx: &mut Tx, action: &Action) -> Result<Action> {
    let card = text(&action.data, "/card/id").ok_or_else(|| unsupported(&action.kind))?;
    let docs = tx
        .docs(
            Table::Actions,
            &[Cond::eq("card_id", &card), Cond::eq("type", "moveCardFromBoard"), Cond::Lt("id", cork_store::Arg::text(&action.id))],
            Order::Desc("id"),
            Some(1),
        )
        .await?;
    let pair: Action = match docs.first() {
        Some(doc) => serde_json::from_str(doc)?,
        None => return Err(unsupported("moveCardToBoard (without its moveCardFromBoard)")),
    };
    if pair.data.pointer("/boardTarget/id") != action.data.pointer("/board/id") {
        return Err(unsupported("moveCardToBoard (without its moveCardFromBoard)"));
    }
    Ok(pair)
}

/// Moves a card back to the board it came from, with the fields the move changed
/// (list, position, number, labels, members), and records the move as Trello does.
async fn move_back(tx: &mut Tx, actor: &Actor, id: &str, old: &Map<String, Value>) -> Result<()> {
    let card: Card = get_for_update(tx, id).await?.ok_or_else(|| gone("card"))?;
    let home = old.get("idBoard").and_then(Value::as_str).unwrap_or_default().to_string();
    tx.lock_in_order(Table::Boards, &[card.id_board.clone(), home.clone()]).await?;
    let mut here: Board = get(tx, &card.id_board).await?.ok_or_else(|| gone("board"))?;
    let mut there: Board = get(tx, &home).await?.ok_or_else(|| gone("board"))?;
    for board in [&here, &there] {
        crate::access::require(crate::access::board_role(tx, actor, board).await?, Role::Write, UNAUTHORIZED)?;
    }
    let mut value = serde_json::to_value(&card)?;
    for (key, was) in old {
        value[key.as_str()] = was.clone();
    }
    let mut moved: Card = serde_json::from_value(value)?;
    // Labels and members the card had there, as long as they still belong there.
    let labels: Vec<Label> = crate::store_ext::by_ids(tx, &moved.id_labels).await?;
    moved.id_labels.retain(|l| labels.iter().any(|label| label.id == *l && label.id_board == home));
    let members = tx.column(Table::Memberships, "member_id", &[Cond::eq("model_id", &home)]).await?;
    moved.id_members.retain(|m| members.contains(m));
    moved.date_last_activity = crate::now();
    save(tx, &moved).await?;
    sync_card_members(tx, &moved).await?;
    tx.update(Table::Checklists, &[("board_id", cork_store::Arg::text(&home))], &[Cond::eq("card_id", id)]).await?;
    touch_board(tx, &mut here).await?;
    touch_board(tx, &mut there).await?;
    let (shown, old) = crate::cards::moved_fields(&card, &moved)?;
    let from_context = [("board", board_ref(&here)), ("card", shown), ("boardTarget", json!({"id": there.id})), ("old", old)];
    let refs = Refs { card: Some(card.id.clone()), list: Some(card.id_list.clone()), ..Refs::board(&here) };
    record(tx, actor, "moveCardFromBoard", data(&from_context), refs).await?;
    let list: Option<List> = get(tx, &moved.id_list).await?;
    let mut to_context = vec![("board", board_ref(&there)), ("card", card_ref(&moved)), ("boardSource", json!({"id": here.id}))];
    if let Some(list) = &list {
        to_context.push(("list", list_ref(list)));
    }
    record(tx, actor, "moveCardToBoard", data(&to_context), Refs::card(&there, &moved)).await?;
    Ok(())
}

/// Puts a deleted checklist back with its id and items; records `addChecklistToCard`.
async fn restore_checklist(tx: &mut Tx, actor: &Actor, mut checklist: Checklist) -> Result<()> {
    let (mut card, mut board, _) = crate::cards::card_with_role(tx, actor, &checklist.id_card, Role::Write).await?;
    checklist.id_board = card.id_board.clone();
    insert(tx, &checklist).await?;
    crate::checklists::refresh_card(tx, &mut card, &mut board).await?;
    let context =
        [("board", board_ref(&board)), ("card", card_ref(&card)), ("checklist", json!({"id": checklist.id, "name": checklist.name}))];
    record(tx, actor, "addChecklistToCard", data(&context), Refs::card(&board, &card)).await?;
    Ok(())
}

/// Puts a deleted check item back in its checklist; records `createCheckItem`.
async fn restore_check_item(tx: &mut Tx, actor: &Actor, checklist: &str, item: CheckItem) -> Result<()> {
    let mut checklist: Checklist = get_for_update(tx, checklist).await?.ok_or_else(|| gone("checklist"))?;
    let (mut card, mut board, _) = crate::cards::card_with_role(tx, actor, &checklist.id_card, Role::Write).await?;
    checklist.check_items.push(item.clone());
    checklist.check_items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    save(tx, &checklist).await?;
    crate::checklists::refresh_card(tx, &mut card, &mut board).await?;
    let context = [
        ("board", board_ref(&board)),
        ("card", card_ref(&card)),
        ("checklist", json!({"id": checklist.id, "name": checklist.name})),
        ("checkItem", json!({"id": item.id, "name": item.name, "state": item.state})),
    ];
    record(tx, actor, "createCheckItem", data(&context), Refs::card(&board, &card)).await?;
    Ok(())
}

/// Puts a deleted label back with its id, on the cards that carried it and still
/// exist on its board; records `createLabel`.
async fn restore_label(tx: &mut Tx, actor: &Actor, label: &Label, cards: &[String]) -> Result<()> {
    let (mut board, _) = crate::boards::board_with_role(tx, actor, &label.id_board, Role::Write, UNAUTHORIZED).await?;
    insert(tx, label).await?;
    for id in cards {
        let Some(mut card) = get_for_update::<Card>(tx, id).await? else { continue };
        if card.id_board == label.id_board && !card.id_labels.contains(&label.id) {
            card.id_labels.push(label.id.clone());
            save(tx, &card).await?;
        }
    }
    touch_board(tx, &mut board).await?;
    let shown = json!({"id": label.id, "name": label.name, "color": label.color});
    record(tx, actor, "createLabel", data(&[("board", board_ref(&board)), ("label", shown)]), Refs::board(&board)).await?;
    Ok(())
}

/// Puts a deleted option of a `list` field back, with the values that chose it.
async fn restore_field_option(tx: &mut Tx, actor: &Actor, field: &str, option: CustomFieldOption, items: &[CustomFieldItem]) -> Result<()> {
    let mut field: CustomField = get_for_update(tx, field).await?.ok_or_else(|| gone("custom field"))?;
    let (mut board, _) = crate::boards::board_with_role(tx, actor, &field.id_model, Role::Write, UNAUTHORIZED).await?;
    field.options.push(option.clone());
    crate::custom_fields::sort_options(&mut field.options);
    save(tx, &field).await?;
    restore_items(tx, items).await?;
    touch_board(tx, &mut board).await?;
    let shown = crate::custom_fields::field_ref(&field);
    let context = [("board", board_ref(&board)), ("customField", shown), ("customFieldOption", json!(option))];
    record(tx, actor, "updateCustomField", data(&context), Refs::board(&board)).await?;
    Ok(())
}

/// Values that come back with their field or option, on cards that still exist.
async fn restore_items(tx: &mut Tx, items: &[CustomFieldItem]) -> Result<()> {
    for item in items {
        if get::<Card>(tx, &item.id_model).await?.is_some() && get::<CustomFieldItem>(tx, &item.id).await?.is_none() {
            insert(tx, item).await?;
        }
    }
    Ok(())
}

/// Puts a deleted custom field back with its id, options and values; records
/// `createCustomField`.
async fn restore_custom_field(tx: &mut Tx, actor: &Actor, field: &CustomField, items: &[CustomFieldItem]) -> Result<()> {
    let (mut board, _) = crate::boards::board_with_role(tx, actor, &field.id_model, Role::Write, UNAUTHORIZED).await?;
    insert(tx, field).await?;
    restore_items(tx, items).await?;
    touch_board(tx, &mut board).await?;
    let context = [("board", board_ref(&board)), ("customField", crate::custom_fields::field_ref(field))];
    record(tx, actor, "createCustomField", data(&context), Refs::board(&board)).await?;
    Ok(())
}

/// Puts a member back on a board with the membership (id and role) they had; records
/// `addMemberToBoard`. Board admins only, as adding a member is.
async fn restore_membership(tx: &mut Tx, actor: &Actor, membership: &Membership) -> Result<()> {
    let (mut board, _) = crate::boards::board_with_role(tx, actor, &membership.id_model, Role::Admin, UNAUTHORIZED).await?;
    insert(tx, membership).await?;
    touch_board(tx, &mut board).await?;
    let context = [("board", board_ref(&board)), ("idMember", json!(membership.id_member)), ("memberType", json!(membership.member_type))];
    let refs = Refs { subject: Some(membership.id_member.clone()), ..Refs::board(&board) };
    record(tx, actor, "addMemberToBoard", data(&context), refs).await?;
    Ok(())
}

/// Puts a removed sticker back with its id and place (and its picture's bytes); records
/// `addStickerToCard`.
async fn restore_sticker(tx: &mut Tx, actor: &Actor, pictures: &FileStore, sticker: &Sticker) -> Result<()> {
    let (mut card, mut board, _) = crate::cards::card_with_role(tx, actor, &sticker.id_card, Role::Write).await?;
    insert(tx, sticker).await?;
    pictures.untrash(&crate::stickers::sticker_files(std::slice::from_ref(sticker))).await?;
    card.date_last_activity = crate::now();
    save(tx, &card).await?;
    touch_board(tx, &mut board).await?;
    let context = [("board", board_ref(&board)), ("card", card_ref(&card)), ("sticker", crate::stickers::sticker_data(sticker))];
    record(tx, actor, "addStickerToCard", data(&context), Refs::card(&board, &card)).await?;
    Ok(())
}

/// Gives a member's vote back or takes it back (an undo of their vote), recording a
/// `voteOnCard` that names the voter.
async fn set_vote(tx: &mut Tx, actor: &Actor, card: &str, member: &str, voted: bool) -> Result<()> {
    let (card, mut board, _) = crate::cards::card_with_role(tx, actor, card, Role::Write).await?;
    let mut card: Card = get_for_update(tx, &card.id).await?.ok_or_else(|| gone("card"))?;
    if voted {
        card.id_members_voted.push(member.to_string());
    } else {
        card.id_members_voted.retain(|m| m != member);
    }
    card.counts.votes = card.id_members_voted.len() as i64;
    card.date_last_activity = crate::now();
    save(tx, &card).await?;
    touch_board(tx, &mut board).await?;
    let context = [("board", board_ref(&board)), ("card", card_ref(&card)), ("voted", json!(voted)), ("idMember", json!(member))];
    record(tx, actor, "voteOnCard", data(&context), Refs::card(&board, &card)).await?;
    Ok(())
}

/// Removes a reaction (`restore`: `None`) or puts a deleted one back with its id,
/// recording `deleteReaction` or `addReaction` on the comment's board.
async fn reaction_undone(tx: &mut Tx, actor: &Actor, id: &str, restore: Option<&Reaction>) -> Result<()> {
    let reaction = match restore {
        Some(reaction) => reaction.clone(),
        None => get::<Reaction>(tx, id).await?.ok_or_else(|| gone("reaction"))?,
    };
    let doc = tx.doc(Table::Actions, &reaction.id_model).await?.ok_or_else(|| gone("comment"))?;
    let comment: Action = serde_json::from_str(&doc)?;
    let board = comment_board(tx, actor, &comment).await?;
    let mut context = crate::reactions::context(&board, &comment, &reaction);
    let kind = match restore {
        Some(reaction) => {
            insert(tx, reaction).await?;
            "addReaction"
        }
        None => {
            crate::store_ext::remove(tx, &reaction).await?;
            context.push(("deleted", json!(reaction)));
            "deleteReaction"
        }
    };
    record(tx, actor, kind, data(&context), crate::reactions::refs(&board, &comment)).await?;
    Ok(())
}

/// The board of a comment, which the reverting member must be able to write.
async fn comment_board(tx: &mut Tx, actor: &Actor, comment: &Action) -> Result<Board> {
    let board = text(&comment.data, "/board/id").ok_or_else(|| gone("board"))?;
    Ok(crate::boards::board_with_role(tx, actor, &board, Role::Write, UNAUTHORIZED).await?.0)
}

/// Puts a comment's earlier text back; records `updateComment`.
async fn comment_text(tx: &mut Tx, actor: &Actor, id: &str, text_now: &str, edited: Option<String>) -> Result<()> {
    let doc = tx.doc(Table::Actions, id).await?.ok_or_else(|| gone("comment"))?;
    let mut comment: Action = serde_json::from_str(&doc)?;
    let board = comment_board(tx, actor, &comment).await?;
    let was = comment.data.get("text").cloned().unwrap_or(Value::Null);
    let was_edited = comment.data.get("dateLastEdited").cloned().unwrap_or(Value::Null);
    crate::actions::set_comment_text(tx, &mut comment, text_now, edited).await?;
    let context = [
        ("action", json!({"id": comment.id, "text": text_now})),
        ("old", json!({"text": was, "dateLastEdited": was_edited})),
        ("board", board_ref(&board)),
        ("card", comment.data.get("card").cloned().unwrap_or(Value::Null)),
    ];
    let refs = Refs { card: text(&comment.data, "/card/id"), ..Refs::board(&board) };
    record(tx, actor, "updateComment", data(&context), refs).await?;
    Ok(())
}

/// Puts a deleted comment back with its id, author and text; records an `updateComment`
/// from no text to its text (what a Trello client makes of a comment coming back).
async fn restore_comment(tx: &mut Tx, actor: &Actor, comment: &Action) -> Result<()> {
    let board = comment_board(tx, actor, comment).await?;
    crate::actions::reinsert_comment(tx, comment, &board).await?;
    let context = [
        ("action", json!({"id": comment.id, "text": comment.data.get("text")})),
        ("old", json!({"text": null})),
        ("board", board_ref(&board)),
        ("card", comment.data.get("card").cloned().unwrap_or(Value::Null)),
    ];
    let refs = Refs { card: text(&comment.data, "/card/id"), ..Refs::board(&board) };
    record(tx, actor, "updateComment", data(&context), refs).await?;
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
        if let Some(inverse) = crate::revert_outside::plan(&mut tx, actor, &action).await? {
            if inverse.in_place() {
                let pictures = &self.pictures;
                let discard =
                    REVERT_OF.scope(action.id.clone(), crate::revert_outside::apply_in_place(&mut tx, actor, pictures, inverse)).await?;
                tx.commit().await?;
                self.pictures.discard(&discard).await;
            } else {
                tx.commit().await?;
                REVERT_OF.scope(action.id.clone(), self.apply_outside(actor, inverse)).await?;
            }
            return Ok(Vec::new());
        }
        // A deleted board is checked against the memberships it had (in `plan`).
        if action.kind != "deleteBoard" {
            let board_id = text(&action.data, "/board/id").ok_or_else(|| unsupported(&action.kind))?;
            crate::boards::board_with_role(&mut tx, actor, &board_id, Role::Write, UNAUTHORIZED).await?;
        }
        let (inverse, kept) = plan(&mut tx, actor, &action, partial).await?;
        // Restores write in the checking transaction itself.
        if inverse.in_place() {
            REVERT_OF.scope(action.id.clone(), self.apply_in_place(&mut tx, actor, inverse)).await?;
            tx.commit().await?;
            return Ok(kept);
        }
        // Inside the write pipeline this parks the checked transaction and the commands
        // below resume it: check and inverse commit together.
        tx.commit().await?;
        REVERT_OF.scope(action.id.clone(), self.apply_inverse(actor, inverse)).await?;
        Ok(kept)
    }

    /// Writes an inverse that no ordinary command makes, in the checking transaction.
    async fn apply_in_place(&self, tx: &mut Tx, actor: &Actor, inverse: Inverse) -> Result<()> {
        match inverse {
            Inverse::RestoreCard(deleted) => restore_card(tx, actor, &self.files, &self.pictures, &deleted).await,
            Inverse::RestoreBoard(deleted) => restore_board(tx, actor, &self.files, &self.pictures, &deleted).await,
            Inverse::MoveListBack(id, old, cards) => move_list_back(tx, actor, &id, &old, &cards).await,
            Inverse::RestorePlugin(enabled) => crate::plugins::reenable(tx, actor, &enabled).await,
            Inverse::RestoreAttachment(attachment) => restore_attachment(tx, actor, &self.files, &attachment).await,
            Inverse::MoveBack(id, old) => move_back(tx, actor, &id, &old).await,
            Inverse::RestoreChecklist(checklist) => restore_checklist(tx, actor, *checklist).await,
            Inverse::RestoreCheckItem(checklist, item) => restore_check_item(tx, actor, &checklist, *item).await,
            Inverse::RestoreLabel(label, cards) => restore_label(tx, actor, &label, &cards).await,
            Inverse::CommentText(id, text, edited) => comment_text(tx, actor, &id, &text, edited).await,
            Inverse::RestoreComment(comment) => restore_comment(tx, actor, &comment).await,
            Inverse::FieldItem { card, field, item, input } => {
                let (card, mut board, _) = crate::cards::card_with_role(tx, actor, &card, Role::Write).await?;
                crate::custom_fields::set_item_in(tx, actor, &card, &mut board, &field, &input, item.as_deref()).await.map(drop)
            }
            Inverse::RestoreFieldOption(field, option, items) => restore_field_option(tx, actor, &field, *option, &items).await,
            Inverse::RestoreCustomField(field, items) => restore_custom_field(tx, actor, &field, &items).await,
            Inverse::RestoreMembership(membership) => restore_membership(tx, actor, &membership).await,
            Inverse::RestoreSticker(sticker) => restore_sticker(tx, actor, &self.pictures, &sticker).await,
            Inverse::Vote { card, member, voted } => set_vote(tx, actor, &card, &member, voted).await,
            Inverse::RemoveReaction(id) => reaction_undone(tx, actor, &id, None).await,
            Inverse::RestoreReaction(reaction) => reaction_undone(tx, actor, &reaction.id, Some(&reaction)).await,
            other => Err(DomainError::Internal(format!("{other:?} is not written in place"))),
        }
    }

    async fn apply_inverse(&self, actor: &Actor, inverse: Inverse) -> Result<()> {
        match inverse {
            Inverse::UpdateCard(id, patch) => self.update_card(actor, &id, *patch).await.map(drop),
            Inverse::DeleteCard(id) => self.delete_card(actor, &id).await,
            Inverse::UpdateChecklist(id, name, pos) => self.update_checklist(actor, &id, name.as_deref(), pos.map(Pos::At)).await.map(drop),
            Inverse::DeleteCheckItem(checklist, item) => self.delete_check_item(actor, Some(&checklist), None, &item).await,
            Inverse::UpdateCheckItem(card, item, patch) => self.update_check_item(actor, None, Some(&card), &item, patch).await.map(drop),
            Inverse::DeleteAttachment(card, attachment) => self.delete_attachment(actor, &card, &attachment).await,
            Inverse::AddLabel(card, label) => self.add_card_label(actor, &card, &label).await.map(drop),
            Inverse::RemoveLabel(card, label) => self.remove_card_label(actor, &card, &label).await,
            Inverse::AddMember(card, member) => self.add_card_member(actor, &card, &member).await.map(drop),
            Inverse::RemoveMember(card, member) => self.remove_card_member(actor, &card, &member).await.map(drop),
            Inverse::DeleteComment(id) => self.delete_comment(actor, &id, None).await,
            Inverse::UpdateList(id, patch) => self.update_list(actor, &id, patch).await.map(drop),
            Inverse::UpdateBoard(id, patch, labels) => {
                let touched = patch != BoardPatch::default();
                if touched {
                    self.update_board(actor, &id, patch).await?;
                }
                for label in labels {
                    self.delete_label(actor, &label).await?;
                }
                Ok(())
            }
            Inverse::DeleteLabel(id) => self.delete_label(actor, &id).await,
            Inverse::UpdateLabel { id, name, color } => {
                self.update_label(actor, &id, name.as_deref(), color.as_ref().map(|c| c.as_deref())).await.map(drop)
            }
            Inverse::DeleteChecklist(id) => self.delete_checklist(actor, &id).await,
            Inverse::DeleteCustomField(id) => self.delete_custom_field(actor, &id).await,
            Inverse::UpdateCustomField(id, patch) => self.update_custom_field(actor, &id, patch).await.map(drop),
            Inverse::DeleteFieldOption(field, option) => self.delete_custom_field_option(actor, &field, &option).await,
            Inverse::RemoveBoardMember(board, member) => self.remove_board_member(actor, &board, &member).await,
            Inverse::SetBoardMember(board, member, kind) => self.set_board_member(actor, &board, &member, &kind).await.map(drop),
            Inverse::RemoveSticker(card, sticker) => self.remove_sticker(actor, &card, &sticker).await,
            Inverse::MoveSticker(card, sticker, place) => self.update_sticker(actor, &card, &sticker, place).await.map(drop),
            Inverse::DisablePlugin(board, plugin) => self.disable_board_plugin(actor, &board, &plugin).await,
            // Written in `revert`, inside the checking transaction; never sent here.
            other => Err(DomainError::Internal(format!("{other:?} outside its revert"))),
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
        for (n, action) in actions.iter().enumerate() {
            // A move between boards is two actions; undoing its first half undoes both.
            let pair = match action.kind.as_str() {
                "moveCardToBoard" => Some(("/card/id", "moveCardFromBoard")),
                "moveListToBoard" => Some(("/list/id", "moveListFromBoard")),
                _ => None,
            };
            if let Some((pointer, first_half)) = pair {
                let moved = text(&action.data, pointer);
                if actions[n + 1..].iter().find(|a| text(&a.data, pointer) == moved).is_some_and(|a| a.kind == first_half) {
                    continue;
                }
            }
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
