//! Lists: create, read, rename, move (within and across boards), archive, and the
//! bulk card operations.

use cork_store::{Cond, Order, Table, Tx};
use serde_json::{json, Map, Value};

use crate::access::{board_role, require, Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, card_ref, data, list_ref, record, Refs};
use crate::boards::{board_with_role, touch_board};
use crate::ids::{is_id, new_id};
use crate::model::{Board, Card, Checklist, List};
use crate::pos::Pos;
use crate::store_ext::{find, get, get_for_update, insert, save};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// A card that went with its list to another board, as it was before: the move gives
/// cards numbers there and drops their labels (labels belong to a board); an undo puts
/// both back.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MovedCard {
    pub id: String,
    pub id_short: i64,
    pub id_labels: Vec<String>,
}

/// Moves `list` (already changed as asked, but for its board) with its cards from `from`
/// to `to`, and records `moveListFromBoard`, with the fields that changed (`old`) and the
/// cards as they were (`cards`), and `moveListToBoard`. `back` (an undo) gives the cards
/// their earlier numbers and the labels they had there. Both boards are locked by the caller.
pub(crate) async fn move_list_to(
    tx: &mut Tx,
    actor: &Actor,
    list: &mut List,
    from: &mut Board,
    to: &mut Board,
    mut old: Map<String, Value>,
    back: &[MovedCard],
) -> Result<()> {
    old.insert("idBoard".into(), json!(from.id));
    list.id_board = to.id.clone();
    save(tx, list).await?;
    let cards: Vec<Card> = find(tx, &[Cond::eq("list_id", &list.id)], Order::Asc("pos"), None).await?;
    let labels_there = if back.is_empty() { Vec::new() } else { tx.column(Table::Labels, "id", &[Cond::eq("board_id", &to.id)]).await? };
    let mut before = Vec::with_capacity(cards.len());
    for mut card in cards {
        before.push(MovedCard { id: card.id.clone(), id_short: card.id_short, id_labels: card.id_labels.clone() });
        card.id_board = to.id.clone();
        match back.iter().find(|was| was.id == card.id) {
            Some(was) => {
                card.id_short = was.id_short;
                card.id_labels = was.id_labels.iter().filter(|l| labels_there.contains(l)).cloned().collect();
            }
            None => {
                card.id_labels.clear();
                card.id_short = tx.next_card_number(&to.id).await?;
            }
        }
        save(tx, &card).await?;
    }
    // Only the checklists of the moving cards change board.
    if !before.is_empty() {
        let card_ids: Vec<&str> = before.iter().map(|c| c.id.as_str()).collect();
        let checklists: Vec<Checklist> = find(tx, &[Cond::any_of("card_id", &card_ids)], Order::None, None).await?;
        for mut checklist in checklists {
            checklist.id_board = to.id.clone();
            save(tx, &checklist).await?;
        }
    }
    let mut shown = list_ref(list);
    if let (Some(map), Value::Object(now_map)) = (shown.as_object_mut(), serde_json::to_value(&*list)?) {
        for key in old.keys() {
            if let Some(value) = now_map.get(key) {
                map.insert(key.clone(), value.clone());
            }
        }
    }
    let context = [
        ("board", board_ref(from)),
        ("list", shown),
        ("boardTarget", json!({"id": to.id})),
        ("old", Value::Object(old)),
        ("cards", json!(before)),
    ];
    record(tx, actor, "moveListFromBoard", data(&context), Refs::list(from, list)).await?;
    let context = [("board", board_ref(to)), ("list", list_ref(list)), ("boardSource", json!({"id": from.id}))];
    record(tx, actor, "moveListToBoard", data(&context), Refs::list(to, list)).await?;
    touch_board(tx, from).await?;
    touch_board(tx, to).await?;
    Ok(())
}

/// Parameters of `POST /lists`.
#[derive(Debug, Clone)]
pub struct NewList {
    pub name: String,
    pub id_board: String,
    pub pos: Option<Pos>,
    pub id_list_source: Option<String>,
}

/// Parameters of `PUT /lists/{id}`.
#[derive(Debug, Clone, Default)]
pub struct ListPatch {
    pub name: Option<String>,
    pub closed: Option<bool>,
    pub pos: Option<Pos>,
    pub id_board: Option<String>,
    pub subscribed: Option<bool>,
    pub soft_limit: Option<Option<String>>,
    pub color: Option<Option<String>>,
}

/// A list with its board, the actor's role and (when asked) its cards.
#[derive(Debug, Clone)]
pub struct ListView {
    pub list: List,
    pub board: Board,
    pub role: Role,
    pub cards: Vec<Card>,
    pub labels: Vec<crate::model::Label>,
}

/// A list by id and the board it is on, with the actor's role there.
pub(crate) async fn list_with_role(tx: &mut Tx, actor: &Actor, id: &str, needed: Role) -> Result<(List, Board, Role)> {
    if !is_id(id) {
        return Err(DomainError::InvalidId);
    }
    let list: List = get(tx, &id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    let board: Board = get(tx, &list.id_board).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    let role = board_role(tx, actor, &board).await?;
    require(role, needed, UNAUTHORIZED)?;
    Ok((list, board, role))
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 16384 {
        return Err(DomainError::InvalidValue("name".into()));
    }
    Ok(name.to_string())
}

/// The part of a list edit that needs no lookup: name, archiving, subscription, soft
/// limit and colour, applied to `list`; answers the values they had (Trello's `old`).
/// Nothing changes unless every value is valid.
pub(crate) fn apply_patch(list: &mut List, patch: &ListPatch) -> Result<Map<String, Value>> {
    let name = patch.name.as_deref().map(check_name).transpose()?;
    if let Some(Some(color)) = &patch.color {
        if !crate::boards::is_label_color(color) {
            return Err(DomainError::InvalidValue("color".into()));
        }
    }
    let mut old = Map::new();
    if let Some(name) = name {
        old.insert("name".into(), json!(std::mem::replace(&mut list.name, name)));
    }
    if let Some(closed) = patch.closed {
        old.insert("closed".into(), json!(std::mem::replace(&mut list.closed, closed)));
    }
    if let Some(subscribed) = patch.subscribed {
        // A member's own choice, not the list's: Trello logs no action for it.
        list.subscribed = subscribed;
    }
    if let Some(soft_limit) = &patch.soft_limit {
        old.insert("softLimit".into(), json!(std::mem::replace(&mut list.soft_limit, soft_limit.clone())));
    }
    if let Some(color) = &patch.color {
        old.insert("color".into(), json!(std::mem::replace(&mut list.color, color.clone())));
    }
    Ok(old)
}

impl Cork {
    /// `POST /lists` (and `POST /boards/{id}/lists`). Without `pos` a list goes to the top.
    pub async fn create_list(&self, actor: &Actor, input: NewList) -> Result<List> {
        let name = check_name(&input.name)?;
        if !is_id(&input.id_board) && !crate::ids::is_short_link(&input.id_board) {
            return Err(DomainError::InvalidValue("idBoard".into()));
        }
        let mut tx = self.store.write().await?;
        let (mut board, _) = board_with_role(&mut tx, actor, &input.id_board, Role::Write, UNAUTHORIZED).await?;
        let wanted = input.pos.unwrap_or(Pos::Top);
        let range = crate::pos::span_for::<List>(&mut tx, &[Cond::eq("board_id", &board.id), Cond::closed(false)], wanted, None).await?;
        let list = List {
            id: new_id(),
            name,
            closed: false,
            id_board: board.id.clone(),
            pos: wanted.resolve(range),
            subscribed: false,
            soft_limit: None,
            color: None,
        };
        insert(&mut tx, &list).await?;
        touch_board(&mut tx, &mut board).await?;
        record(&mut tx, actor, "createList", data(&[("board", board_ref(&board)), ("list", list_ref(&list))]), Refs::list(&board, &list))
            .await?;
        if let Some(source) = &input.id_list_source {
            let (source_list, _, _) = list_with_role(&mut tx, actor, source, Role::Read).await.map_err(|e| match e {
                DomainError::InvalidId => DomainError::InvalidValue("idListSource".into()),
                other => other,
            })?;
            let cards: Vec<Card> =
                find(&mut tx, &[Cond::eq("list_id", &source_list.id), Cond::closed(false)], Order::Asc("pos"), None).await?;
            for old in cards {
                let id_short = tx.next_card_number(&board.id).await?;
                let card = Card {
                    id: new_id(),
                    id_board: board.id.clone(),
                    id_list: list.id.clone(),
                    id_short,
                    short_link: crate::ids::short_link(),
                    id_checklists: Vec::new(),
                    id_attachment_cover: None,
                    counts: Default::default(),
                    date_last_activity: now(),
                    id_labels: if old.id_board == board.id { old.id_labels.clone() } else { Vec::new() },
                    id_members: if old.id_board == board.id { old.id_members.clone() } else { Vec::new() },
                    ..old.clone()
                };
                insert(&mut tx, &card).await?;
                crate::cards::sync_card_members(&mut tx, &card).await?;
                let context =
                    [("board", board_ref(&board)), ("list", list_ref(&list)), ("card", card_ref(&card)), ("cardSource", card_ref(&old))];
                record(&mut tx, actor, "copyCard", data(&context), Refs::card(&board, &card)).await?;
            }
        }
        tx.commit().await?;
        Ok(list)
    }

    /// `GET /lists/{id}`, with its cards when `cards` names a filter.
    pub async fn list_view(&self, actor: &Actor, id: &str, cards: Option<&str>) -> Result<ListView> {
        let mut tx = self.store.read().await?;
        let (list, board, role) = list_with_role(&mut tx, actor, id, Role::Read).await?;
        let mut list_cards = Vec::new();
        let mut labels = Vec::new();
        if let Some(filter) = cards {
            list_cards = find(&mut tx, &[Cond::eq("list_id", &list.id)], Order::Asc("pos"), None).await?;
            list_cards.retain(|c: &Card| crate::boards::keep_card(filter, c, &[list.id.as_str()]));
            labels = find(&mut tx, &[Cond::eq("board_id", &board.id)], Order::Asc("id"), None).await?;
        }
        Ok(ListView { list, board, role, cards: list_cards, labels })
    }

    /// `PUT /lists/{id}` and the per-field forms; a move to another board takes the cards along.
    pub async fn update_list(&self, actor: &Actor, id: &str, patch: ListPatch) -> Result<List> {
        let mut tx = self.store.write().await?;
        let (list, mut board, _) = list_with_role(&mut tx, actor, id, Role::Write).await?;
        let mut list: List = get_for_update(&mut tx, &list.id).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        let was_pos = list.pos;
        let mut old = apply_patch(&mut list, &patch)?;
        let mut target: Option<Board> = None;
        if let Some(board_ref_str) = patch.id_board {
            let (to, _) = board_with_role(&mut tx, actor, &board_ref_str, Role::Write, UNAUTHORIZED).await.map_err(|e| match e {
                DomainError::InvalidId => DomainError::InvalidValue("idBoard".into()),
                other => other,
            })?;
            if to.id != board.id {
                old.insert("idBoard".into(), json!(board.id));
                target = Some(to);
            }
        }
        if let Some(to) = &target {
            // Both boards' rows, in id order, before anything else locks either.
            tx.lock_in_order(Table::Boards, &[board.id.clone(), to.id.clone()]).await?;
        }
        if let Some(pos) = patch.pos {
            let board_id = target.as_ref().map(|b| b.id.clone()).unwrap_or_else(|| board.id.clone());
            let range =
                crate::pos::span_for::<List>(&mut tx, &[Cond::eq("board_id", &board_id), Cond::closed(false)], pos, Some(&list.id)).await?;
            old.insert("pos".into(), json!(list.pos));
            list.pos = pos.resolve(range);
        } else if let Some(to) = &target {
            let range = tx.pos_range(Table::Lists, &[Cond::eq("board_id", &to.id), Cond::closed(false)]).await?;
            list.pos = Pos::Bottom.resolve(range);
        }
        if let Some(mut to) = target {
            old.entry("pos").or_insert(json!(was_pos));
            move_list_to(&mut tx, actor, &mut list, &mut board, &mut to, old, &[]).await?;
            tx.commit().await?;
            return Ok(list);
        }
        save(&mut tx, &list).await?;
        touch_board(&mut tx, &mut board).await?;
        let mut list_data = list_ref(&list);
        if let (Some(map), Ok(Value::Object(now_map))) = (list_data.as_object_mut(), serde_json::to_value(&list)) {
            for key in old.keys() {
                if let Some(value) = now_map.get(key) {
                    map.insert(key.clone(), value.clone());
                }
            }
        }
        record(
            &mut tx,
            actor,
            "updateList",
            data(&[("board", board_ref(&board)), ("list", list_data), ("old", Value::Object(old))]),
            Refs::list(&board, &list),
        )
        .await?;
        tx.commit().await?;
        Ok(list)
    }

    /// `POST /lists/{id}/archiveAllCards`.
    pub async fn archive_all_cards(&self, actor: &Actor, id: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (list, mut board, _) = list_with_role(&mut tx, actor, id, Role::Write).await?;
        let cards: Vec<Card> = find(&mut tx, &[Cond::eq("list_id", &list.id), Cond::closed(false)], Order::Asc("pos"), None).await?;
        for mut card in cards {
            card.closed = true;
            card.date_last_activity = now();
            save(&mut tx, &card).await?;
            let context = [
                ("board", board_ref(&board)),
                ("list", list_ref(&list)),
                ("card", json!({"id": card.id, "name": card.name, "idShort": card.id_short, "shortLink": card.short_link, "closed": true})),
                ("old", json!({"closed": false})),
            ];
            record(&mut tx, actor, "updateCard", data(&context), Refs::card(&board, &card)).await?;
        }
        touch_board(&mut tx, &mut board).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /lists/{id}/moveAllCards?idBoard=&idList=`.
    pub async fn move_all_cards(&self, actor: &Actor, id: &str, id_board: &str, id_list: &str) -> Result<Vec<Card>> {
        let mut tx = self.store.write().await?;
        let (list, mut board, _) = list_with_role(&mut tx, actor, id, Role::Write).await?;
        if !is_id(id_list) {
            return Err(DomainError::InvalidValue("idList".into()));
        }
        let (to_list, mut to_board, _) = list_with_role(&mut tx, actor, id_list, Role::Write).await?;
        let (named_board, _) = board_with_role(&mut tx, actor, id_board, Role::Write, UNAUTHORIZED).await.map_err(|e| match e {
            DomainError::InvalidId => DomainError::InvalidValue("idBoard".into()),
            other => other,
        })?;
        if named_board.id != to_list.id_board {
            return Err(DomainError::InvalidValue("idList".into()));
        }
        let range = tx.pos_range(Table::Cards, &[Cond::eq("list_id", &to_list.id)]).await?;
        let mut next = Pos::Bottom.resolve(range);
        let cards: Vec<Card> = find(&mut tx, &[Cond::eq("list_id", &list.id), Cond::closed(false)], Order::Asc("pos"), None).await?;
        let mut moved = Vec::new();
        for mut card in cards {
            let old_list = card.id_list.clone();
            card.id_list = to_list.id.clone();
            card.pos = next;
            next += crate::pos::STEP;
            if to_board.id != board.id {
                card.id_board = to_board.id.clone();
                card.id_labels.clear();
                card.id_short = tx.next_card_number(&to_board.id).await?;
            }
            card.date_last_activity = now();
            save(&mut tx, &card).await?;
            let context = [
                ("board", board_ref(&to_board)),
                ("card", card_ref(&card)),
                ("listBefore", list_ref(&list)),
                ("listAfter", list_ref(&to_list)),
                ("old", json!({"idList": old_list})),
            ];
            record(&mut tx, actor, "updateCard", data(&context), Refs::card(&to_board, &card)).await?;
            moved.push(card);
        }
        touch_board(&mut tx, &mut board).await?;
        if to_board.id != board.id {
            touch_board(&mut tx, &mut to_board).await?;
        }
        tx.commit().await?;
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> List {
        serde_json::from_value(json!({
            "id": "5f0000000000000000000001", "name": "To do", "closed": false, "idBoard": "5f0000000000000000000002",
            "pos": 16384.0, "subscribed": false, "softLimit": null, "color": null
        }))
        .expect("a list")
    }

    #[test]
    fn an_edit_answers_the_values_it_replaced() {
        let mut edited = list();
        let patch = ListPatch {
            name: Some("  Doing ".into()),
            closed: Some(true),
            color: Some(Some("green".into())),
            soft_limit: Some(Some("5".into())),
            ..ListPatch::default()
        };
        let old = apply_patch(&mut edited, &patch).unwrap();
        assert_eq!(Value::Object(old), json!({"name": "To do", "closed": false, "color": null, "softLimit": null}));
        assert_eq!((edited.name.as_str(), edited.closed, edited.color.as_deref()), ("Doing", true, Some("green")));
    }

    #[test]
    fn an_invalid_value_changes_nothing() {
        let mut edited = list();
        let patch = ListPatch { name: Some("Doing".into()), color: Some(Some("chartreuse".into())), ..ListPatch::default() };
        assert_eq!(apply_patch(&mut edited, &patch), Err(DomainError::InvalidValue("color".into())));
        assert_eq!(edited, list());
        let blank = ListPatch { name: Some("   ".into()), ..ListPatch::default() };
        assert_eq!(apply_patch(&mut edited, &blank), Err(DomainError::InvalidValue("name".into())));
    }

    #[test]
    fn a_subscription_is_no_change_to_log() {
        let mut edited = list();
        let old = apply_patch(&mut edited, &ListPatch { subscribed: Some(true), ..ListPatch::default() }).unwrap();
        assert!(old.is_empty());
        assert!(edited.subscribed);
    }
}
