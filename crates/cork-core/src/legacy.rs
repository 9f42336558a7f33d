//! The two commands of Trello's older routes that no current command covers: turning
//! a check item into a card, and the member's own preferences.

use cork_store::{Cond, Table};
use serde_json::{json, Value};

use crate::access::{Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, card_ref, data, list_ref, record, Refs};
use crate::boards::board_with_role;
use crate::cards::{card_with_role, sync_card_members};
use crate::checklists::refresh_card;
use crate::ids::{is_id, new_id, short_link};
use crate::members::resolve_member;
use crate::model::*;
use crate::pos::Pos;
use crate::store_ext::{get, insert, save};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

impl Cork {
    /// `POST /cards/{id}/checklist/{idChecklist}/checkItem/{idCheckItem}/convertToCard`:
    /// a new card named like the item (with its due date and member) at the bottom of
    /// the card's list; the item leaves the checklist. One `convertToCardFromCheckItem`.
    pub async fn convert_check_item_to_card(&self, actor: &Actor, card: &str, checklist_id: &str, item_id: &str) -> Result<Card> {
        if !is_id(checklist_id) || !is_id(item_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.write().await?;
        let (mut source, mut board, _) = card_with_role(&mut tx, actor, card, Role::Write).await?;
        let mut checklist: Checklist = get(&mut tx, &checklist_id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        if checklist.id_card != source.id {
            return Err(DomainError::NotFound(NOT_FOUND));
        }
        let item_id = item_id.to_ascii_lowercase();
        let index = checklist.check_items.iter().position(|i| i.id == item_id).ok_or(DomainError::NotFound(NOT_FOUND))?;
        let item = checklist.check_items.remove(index);
        save(&mut tx, &checklist).await?;
        let list: List = get(&mut tx, &source.id_list).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        let range = tx.pos_range(Table::Cards, &[Cond::eq("list_id", &list.id), Cond::closed(false)]).await?;
        let id_short = tx.next_card_number(&board.id).await?;
        // The item's member only follows if they are still on the board.
        let on_board = match &item.id_member {
            Some(member) => tx.count(Table::Memberships, &[Cond::eq("model_id", &board.id), Cond::eq("member_id", member)]).await? > 0,
            None => false,
        };
        let card = Card {
            id: new_id(),
            name: item.name.clone(),
            desc: String::new(),
            closed: false,
            id_board: board.id.clone(),
            id_list: list.id.clone(),
            id_short,
            short_link: short_link(),
            pos: Pos::Bottom.resolve(range),
            due: item.due.clone(),
            start: None,
            due_complete: false,
            due_reminder: None,
            id_members: if on_board { item.id_member.clone().into_iter().collect() } else { Vec::new() },
            id_labels: Vec::new(),
            id_members_voted: Vec::new(),
            id_checklists: Vec::new(),
            id_attachment_cover: None,
            address: None,
            location_name: None,
            coordinates: None,
            is_template: false,
            subscribed: false,
            date_last_activity: now(),
            counts: CardCounts::default(),
        };
        insert(&mut tx, &card).await?;
        sync_card_members(&mut tx, &card).await?;
        refresh_card(&mut tx, &mut source, &mut board).await?;
        let context = [
            ("board", board_ref(&board)),
            ("list", list_ref(&list)),
            ("card", card_ref(&card)),
            ("cardSource", card_ref(&source)),
            ("checklist", serde_json::json!({"id": checklist.id, "name": checklist.name})),
            ("deleted", serde_json::json!(item)),
        ];
        record(&mut tx, actor, "convertToCardFromCheckItem", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        Ok(card)
    }

    /// `PUT /members/{id}/prefs/{pref}`: only the member themself; a pure preference,
    /// which Trello does not log.
    pub async fn set_member_pref(&self, actor: &Actor, reference: &str, pref: &str, value: Value) -> Result<Member> {
        let mut tx = self.store.write().await?;
        let mut member = resolve_member(&mut tx, actor, reference).await?;
        if actor.member_id() != Some(member.id.as_str()) || !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let old = member.prefs.insert(pref.to_string(), value.clone()).unwrap_or(Value::Null);
        save(&mut tx, &member).await?;
        let fields = [("pref", json!(pref)), ("value", value), ("old", old)];
        crate::audit::change(&mut tx, Some(actor), "member.pref", &fields).await?;
        tx.commit().await?;
        Ok(member)
    }

    /// `PUT /members/{id}/boardStars/{idBoardStar}/idBoard`: the star moves to another
    /// board the member can read (and has not starred yet). Stars are the member's own
    /// preference, which Trello does not log.
    pub async fn restar_board(&self, actor: &Actor, member_ref: &str, star_id: &str, board: &str) -> Result<BoardStar> {
        if !is_id(star_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.write().await?;
        let member = resolve_member(&mut tx, actor, member_ref).await?;
        if actor.member_id() != Some(member.id.as_str()) || !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let mut star: BoardStar = get(&mut tx, &star_id.to_ascii_lowercase())
            .await?
            .filter(|s: &BoardStar| s.id_member == member.id)
            .ok_or(DomainError::NotFound(NOT_FOUND))?;
        crate::access::require_reach(&mut tx, actor, &star.id_board).await?;
        let (board, _) = board_with_role(&mut tx, actor, board, Role::Read, UNAUTHORIZED).await.map_err(|e| match e {
            DomainError::InvalidId => DomainError::InvalidValue("value".into()),
            other => other,
        })?;
        if board.id != star.id_board {
            if tx.count(Table::BoardStars, &[Cond::eq("member_id", &member.id), Cond::eq("board_id", &board.id)]).await? > 0 {
                return Err(DomainError::BadRequest("Board already starred".into()));
            }
            star.id_board = board.id.clone();
            save(&mut tx, &star).await?;
        }
        tx.commit().await?;
        Ok(star)
    }
}
