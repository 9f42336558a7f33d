//! Checklists and their check items. Every change recounts the card's
//! `checkItems`/`checkItemsChecked` badges in the same transaction.

use cork_store::{Cond, Order, Tx};
use serde_json::{json, Value};

use crate::access::{Actor, Role};
use crate::actions::{board_ref, card_ref, data, record, Refs};
use crate::boards::touch_board;
use crate::cards::{card_with_role, recount};
use crate::ids::{is_id, new_id};
use crate::model::{Board, Card, CheckItem, Checklist};
use crate::pos::Pos;
use crate::store_ext::{find, get, insert, remove, save};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// Parameters of `PUT /cards/{id}/checkItem/{idCheckItem}` and its legacy forms.
#[derive(Debug, Clone, Default)]
pub struct CheckItemPatch {
    pub name: Option<String>,
    pub state: Option<String>,
    pub pos: Option<Pos>,
    pub id_checklist: Option<String>,
    pub due: Option<Option<String>>,
    pub id_member: Option<Option<String>>,
}

fn checklist_data(checklist: &Checklist) -> Value {
    json!({"id": checklist.id, "name": checklist.name})
}

async fn checklist_with_role(tx: &mut Tx, actor: &Actor, id: &str, needed: Role) -> Result<(Checklist, Card, Board)> {
    if !is_id(id) {
        return Err(DomainError::InvalidId);
    }
    let checklist: Checklist = get(tx, &id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    let (card, board, _) = card_with_role(tx, actor, &checklist.id_card, needed).await?;
    Ok((checklist, card, board))
}

/// Recounts the card's badges from its checklists and writes card and board back.
pub(crate) async fn refresh_card(tx: &mut Tx, card: &mut Card, board: &mut Board) -> Result<()> {
    let checklists: Vec<Checklist> = find(tx, &[Cond::eq("card_id", &card.id)], Order::Asc("pos"), None).await?;
    let attachments = card.counts.attachments;
    recount(card, &checklists, attachments);
    card.id_checklists = checklists.iter().map(|c| c.id.clone()).collect();
    card.date_last_activity = now();
    save(tx, card).await?;
    touch_board(tx, board).await
}

fn check_name(name: &str) -> Result<String> {
    if name.trim().is_empty() || name.len() > 16384 {
        return Err(DomainError::InvalidValue("name".into()));
    }
    Ok(name.trim().to_string())
}

impl Cork {
    /// `POST /checklists` or `POST /cards/{id}/checklists`.
    pub async fn create_checklist(
        &self,
        actor: &Actor,
        card_ref_str: &str,
        name: Option<&str>,
        pos: Option<Pos>,
        source: Option<&str>,
    ) -> Result<Checklist> {
        let mut tx = self.store.write().await?;
        let (mut card, mut board, _) = card_with_role(&mut tx, actor, card_ref_str, Role::Write).await?;
        let source = match source {
            Some(id) => Some(
                checklist_with_role(&mut tx, actor, id, Role::Read)
                    .await
                    .map_err(|e| match e {
                        DomainError::InvalidId => DomainError::InvalidValue("idChecklistSource".into()),
                        other => other,
                    })?
                    .0,
            ),
            None => None,
        };
        let name = match (name, &source) {
            (Some(name), _) => check_name(name)?,
            (None, Some(source)) => source.name.clone(),
            (None, None) => "Checklist".to_string(),
        };
        let range = tx.pos_range(cork_store::Table::Checklists, &[Cond::eq("card_id", &card.id)]).await?;
        let id = new_id();
        let items = source
            .as_ref()
            .map(|s| s.check_items.iter().map(|i| CheckItem { id: new_id(), id_checklist: id.clone(), ..i.clone() }).collect())
            .unwrap_or_default();
        let checklist = Checklist {
            id,
            name,
            id_board: board.id.clone(),
            id_card: card.id.clone(),
            pos: pos.unwrap_or(Pos::Bottom).resolve(range),
            check_items: items,
        };
        insert(&mut tx, &checklist).await?;
        refresh_card(&mut tx, &mut card, &mut board).await?;
        let context = [("board", board_ref(&board)), ("card", card_ref(&card)), ("checklist", checklist_data(&checklist))];
        record(&mut tx, actor, "addChecklistToCard", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        Ok(checklist)
    }

    /// `GET /checklists/{id}`.
    pub async fn get_checklist(&self, actor: &Actor, id: &str) -> Result<(Checklist, Card, Board)> {
        let mut tx = self.store.read().await?;
        checklist_with_role(&mut tx, actor, id, Role::Read).await
    }

    /// The checklists of a card.
    pub async fn card_checklists(&self, actor: &Actor, card_ref_str: &str) -> Result<Vec<Checklist>> {
        let mut tx = self.store.read().await?;
        let (card, _, _) = card_with_role(&mut tx, actor, card_ref_str, Role::Read).await?;
        find(&mut tx, &[Cond::eq("card_id", &card.id)], Order::Asc("pos"), None).await
    }

    /// `PUT /checklists/{id}/idCard`: moves a checklist to another card the actor may
    /// write (to the bottom of its checklists); both cards' badges are recounted.
    pub async fn move_checklist(&self, actor: &Actor, id: &str, card_reference: &str) -> Result<Checklist> {
        let mut tx = self.store.write().await?;
        let (mut checklist, mut from_card, mut from_board) = checklist_with_role(&mut tx, actor, id, Role::Write).await?;
        let (mut to_card, mut to_board, _) = card_with_role(&mut tx, actor, card_reference, Role::Write).await.map_err(|e| match e {
            DomainError::InvalidId => DomainError::InvalidValue("value".into()),
            other => other,
        })?;
        if to_card.id == from_card.id {
            return Ok(checklist);
        }
        let range = tx.pos_range(cork_store::Table::Checklists, &[Cond::eq("card_id", &to_card.id)]).await?;
        let old = json!({"idCard": checklist.id_card, "idBoard": checklist.id_board, "pos": checklist.pos});
        checklist.id_card = to_card.id.clone();
        checklist.id_board = to_board.id.clone();
        checklist.pos = Pos::Bottom.resolve(range);
        save(&mut tx, &checklist).await?;
        refresh_card(&mut tx, &mut from_card, &mut from_board).await?;
        refresh_card(&mut tx, &mut to_card, &mut to_board).await?;
        let context =
            [("board", board_ref(&to_board)), ("card", card_ref(&to_card)), ("checklist", checklist_data(&checklist)), ("old", old)];
        record(&mut tx, actor, "updateChecklist", data(&context), Refs::card(&to_board, &to_card)).await?;
        tx.commit().await?;
        Ok(checklist)
    }

    /// `PUT /checklists/{id}` (name, pos).
    pub async fn update_checklist(&self, actor: &Actor, id: &str, name: Option<&str>, pos: Option<Pos>) -> Result<Checklist> {
        let mut tx = self.store.write().await?;
        let (mut checklist, mut card, mut board) = checklist_with_role(&mut tx, actor, id, Role::Write).await?;
        let mut old = serde_json::Map::new();
        if let Some(name) = name {
            old.insert("name".into(), json!(checklist.name));
            checklist.name = check_name(name)?;
        }
        if let Some(pos) = pos {
            let range = tx.pos_range(cork_store::Table::Checklists, &[Cond::eq("card_id", &card.id)]).await?;
            old.insert("pos".into(), json!(checklist.pos));
            checklist.pos = pos.resolve(range);
        }
        save(&mut tx, &checklist).await?;
        refresh_card(&mut tx, &mut card, &mut board).await?;
        // The position as written too: what an undo checks before it puts the old one back.
        let mut shown = checklist_data(&checklist);
        shown["pos"] = json!(checklist.pos);
        let context = [("board", board_ref(&board)), ("card", card_ref(&card)), ("checklist", shown), ("old", Value::Object(old))];
        record(&mut tx, actor, "updateChecklist", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        Ok(checklist)
    }

    /// `DELETE /checklists/{id}`: the action keeps the checklist with its items.
    pub async fn delete_checklist(&self, actor: &Actor, id: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (checklist, mut card, mut board) = checklist_with_role(&mut tx, actor, id, Role::Write).await?;
        remove(&mut tx, &checklist).await?;
        refresh_card(&mut tx, &mut card, &mut board).await?;
        let context = [
            ("board", board_ref(&board)),
            ("card", card_ref(&card)),
            ("checklist", checklist_data(&checklist)),
            ("deleted", json!(checklist)),
        ];
        record(&mut tx, actor, "removeChecklistFromCard", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /checklists/{id}/checkItems`.
    pub async fn add_check_item(
        &self,
        actor: &Actor,
        id: &str,
        name: &str,
        pos: Option<Pos>,
        checked: bool,
        due: Option<String>,
    ) -> Result<CheckItem> {
        let name = check_name(name)?;
        let mut tx = self.store.write().await?;
        let (mut checklist, mut card, mut board) = checklist_with_role(&mut tx, actor, id, Role::Write).await?;
        let range = checklist
            .check_items
            .iter()
            .map(|i| i.pos)
            .fold(None, |acc: Option<(f64, f64)>, p| Some(acc.map_or((p, p), |(lo, hi)| (lo.min(p), hi.max(p)))));
        let item = CheckItem {
            id: new_id(),
            name,
            state: if checked { "complete".into() } else { "incomplete".into() },
            pos: pos.unwrap_or(Pos::Bottom).resolve(range),
            id_checklist: checklist.id.clone(),
            due,
            id_member: None,
        };
        checklist.check_items.push(item.clone());
        checklist.check_items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
        save(&mut tx, &checklist).await?;
        refresh_card(&mut tx, &mut card, &mut board).await?;
        let context = [
            ("board", board_ref(&board)),
            ("card", card_ref(&card)),
            ("checklist", checklist_data(&checklist)),
            ("checkItem", json!({"id": item.id, "name": item.name, "state": item.state})),
        ];
        record(&mut tx, actor, "createCheckItem", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        Ok(item)
    }

    /// Changes a check item (state, name, position, checklist).
    pub async fn update_check_item(
        &self,
        actor: &Actor,
        checklist_id: Option<&str>,
        card_ref_str: Option<&str>,
        item_id: &str,
        patch: CheckItemPatch,
    ) -> Result<CheckItem> {
        if !is_id(item_id) {
            return Err(DomainError::InvalidId);
        }
        let item_id = item_id.to_ascii_lowercase();
        let mut tx = self.store.write().await?;
        let (mut checklist, mut card, mut board) = match (checklist_id, card_ref_str) {
            (Some(id), _) => checklist_with_role(&mut tx, actor, id, Role::Write).await?,
            (None, Some(card_ref_str)) => {
                let (card, _, _) = card_with_role(&mut tx, actor, card_ref_str, Role::Write).await?;
                let lists: Vec<Checklist> = find(&mut tx, &[Cond::eq("card_id", &card.id)], Order::Asc("pos"), None).await?;
                let owner =
                    lists.into_iter().find(|c| c.check_items.iter().any(|i| i.id == item_id)).ok_or(DomainError::NotFound(NOT_FOUND))?;
                checklist_with_role(&mut tx, actor, &owner.id, Role::Write).await?
            }
            (None, None) => return Err(DomainError::NotFound(NOT_FOUND)),
        };
        if let Some(expected) = card_ref_str {
            if card.id != expected && card.short_link != expected {
                return Err(DomainError::NotFound(NOT_FOUND));
            }
        }
        let index = checklist.check_items.iter().position(|i| i.id == item_id).ok_or(DomainError::NotFound(NOT_FOUND))?;
        let mut item = checklist.check_items.remove(index);
        let before = item.clone();
        if let Some(name) = patch.name {
            item.name = check_name(&name)?;
        }
        if let Some(state) = patch.state {
            item.state = match state.as_str() {
                "complete" | "true" => "complete".into(),
                "incomplete" | "false" => "incomplete".into(),
                _ => return Err(DomainError::InvalidValue("state".into())),
            };
        }
        if let Some(due) = patch.due {
            item.due = due;
        }
        if let Some(member) = patch.id_member {
            item.id_member = member;
        }
        let mut target = None;
        if let Some(other) = patch.id_checklist.filter(|c| *c != checklist.id) {
            let (other, other_card, _) = checklist_with_role(&mut tx, actor, &other, Role::Write).await.map_err(|e| match e {
                DomainError::InvalidId => DomainError::InvalidValue("idChecklist".into()),
                other => other,
            })?;
            if other_card.id != card.id {
                return Err(DomainError::InvalidValue("idChecklist".into()));
            }
            target = Some(other);
        }
        let home = target.as_mut().unwrap_or(&mut checklist);
        if let Some(pos) = patch.pos {
            let range = home
                .check_items
                .iter()
                .map(|i| i.pos)
                .fold(None, |acc: Option<(f64, f64)>, p| Some(acc.map_or((p, p), |(lo, hi)| (lo.min(p), hi.max(p)))));
            item.pos = pos.resolve(range);
        }
        item.id_checklist = home.id.clone();
        home.check_items.push(item.clone());
        home.check_items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
        if let Some(other) = &target {
            save(&mut tx, other).await?;
        }
        save(&mut tx, &checklist).await?;
        refresh_card(&mut tx, &mut card, &mut board).await?;
        let kind = if before.state != item.state { "updateCheckItemStateOnCard" } else { "updateCheckItem" };
        let old = json!({"name": before.name, "state": before.state, "pos": before.pos, "idChecklist": before.id_checklist});
        let context = [
            ("board", board_ref(&board)),
            ("card", card_ref(&card)),
            ("checklist", checklist_data(&checklist)),
            (
                "checkItem",
                json!({"id": item.id, "name": item.name, "state": item.state, "pos": item.pos, "idChecklist": item.id_checklist}),
            ),
            ("old", old),
        ];
        record(&mut tx, actor, kind, data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        Ok(item)
    }

    /// Removes a check item.
    pub async fn delete_check_item(
        &self,
        actor: &Actor,
        checklist_id: Option<&str>,
        card_ref_str: Option<&str>,
        item_id: &str,
    ) -> Result<()> {
        if !is_id(item_id) {
            return Err(DomainError::InvalidId);
        }
        let item_id = item_id.to_ascii_lowercase();
        let mut tx = self.store.write().await?;
        let (mut checklist, mut card, mut board) = match (checklist_id, card_ref_str) {
            (Some(id), _) => checklist_with_role(&mut tx, actor, id, Role::Write).await?,
            (None, Some(card_ref_str)) => {
                let (card, _, _) = card_with_role(&mut tx, actor, card_ref_str, Role::Write).await?;
                let lists: Vec<Checklist> = find(&mut tx, &[Cond::eq("card_id", &card.id)], Order::Asc("pos"), None).await?;
                let owner =
                    lists.into_iter().find(|c| c.check_items.iter().any(|i| i.id == item_id)).ok_or(DomainError::NotFound(NOT_FOUND))?;
                checklist_with_role(&mut tx, actor, &owner.id, Role::Write).await?
            }
            (None, None) => return Err(DomainError::NotFound(NOT_FOUND)),
        };
        let index = checklist.check_items.iter().position(|i| i.id == item_id).ok_or(DomainError::NotFound(NOT_FOUND))?;
        let item = checklist.check_items.remove(index);
        save(&mut tx, &checklist).await?;
        refresh_card(&mut tx, &mut card, &mut board).await?;
        let context = [
            ("board", board_ref(&board)),
            ("card", card_ref(&card)),
            ("checklist", checklist_data(&checklist)),
            ("checkItem", json!({"id": item.id, "name": item.name})),
            ("deleted", json!(item)),
        ];
        record(&mut tx, actor, "deleteCheckItem", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        Ok(())
    }
}
