//! Cards: create (or copy), read with nested data, update (moves within a list,
//! across lists and across boards, archive), delete, labels, members, comments,
//! link attachments.

use cork_store::{Arg, Cond, Order, Table, Tx};
use serde_json::{json, Map, Value};

use crate::access::{board_role, require, Actor, Role, UNAUTHORIZED_CARD};
use crate::actions::{board_ref, card_ref, creators_of, data, list_ref, read_log, record, ActionPage, ActionQuery, ActionScope, Refs};
use crate::boards::{is_label_color, touch_board};
use crate::ids::{is_id, is_short_link, new_id, short_link};
use crate::model::*;
use crate::pos::Pos;
use crate::store_ext::{by_ids, find, get, get_for_update, insert, remove, save};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// Trello's text for a card whose list does not exist.
pub const NO_BOARD_FOR_CARD: &str = "could not find the board that the card belongs to";

/// Parameters of `POST /cards`.
#[derive(Debug, Clone, Default)]
pub struct NewCard {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub id_list: Option<String>,
    pub pos: Option<Pos>,
    pub due: Option<String>,
    pub start: Option<String>,
    pub due_complete: bool,
    pub due_reminder: Option<i64>,
    pub id_labels: Vec<String>,
    pub id_members: Vec<String>,
    pub id_card_source: Option<String>,
    pub keep_from_source: Option<String>,
    pub url_source: Option<String>,
    pub address: Option<String>,
    pub location_name: Option<String>,
}

/// Parameters of `PUT /cards/{id}`; `Some(None)` clears a nullable field.
#[derive(Debug, Clone, Default)]
pub struct CardPatch {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub closed: Option<bool>,
    pub id_list: Option<String>,
    pub id_board: Option<String>,
    pub pos: Option<Pos>,
    pub due: Option<Option<String>>,
    pub start: Option<Option<String>>,
    pub due_complete: Option<bool>,
    pub due_reminder: Option<Option<i64>>,
    pub id_labels: Option<Vec<String>>,
    pub id_members: Option<Vec<String>>,
    pub id_attachment_cover: Option<Option<String>>,
    pub subscribed: Option<bool>,
    pub address: Option<Option<String>>,
    pub location_name: Option<Option<String>>,
    pub coordinates: Option<Option<String>>,
}

/// What a card read includes besides the card.
#[derive(Debug, Clone, Default)]
pub struct CardInclude {
    pub list: bool,
    pub board: bool,
    pub members: bool,
    pub checklists: bool,
    pub attachments: bool,
    pub actions: Option<ActionQuery>,
    pub custom_field_items: bool,
    /// Stickers (card collections; a single card reads its own).
    pub stickers: bool,
    /// Cork's `cork.owners` (the source-of-truth rules that reach the card).
    pub owners: bool,
}

/// A card with its labels and what was asked of it.
#[derive(Debug, Clone)]
pub struct CardView {
    pub card: Card,
    pub board: Board,
    pub role: Role,
    pub labels: Vec<Label>,
    pub list: Option<List>,
    pub members: Vec<Member>,
    pub checklists: Vec<Checklist>,
    pub attachments: Vec<Attachment>,
    pub actions: ActionPage,
    pub custom_field_items: Vec<crate::custom_fields::CustomFieldItem>,
    /// Cork's `cork.owners` for the card: the source-of-truth rules that reach it, if any.
    pub owners: Option<serde_json::Value>,
}

/// A card by id or shortLink.
pub(crate) async fn resolve_card(tx: &mut Tx, reference: &str) -> Result<Card> {
    let found = if is_id(reference) {
        get(tx, &reference.to_ascii_lowercase()).await?
    } else if is_short_link(reference) {
        find(tx, &[Cond::eq("short_link", reference)], Order::None, Some(1)).await?.pop()
    } else {
        return Err(DomainError::InvalidId);
    };
    found.ok_or(DomainError::NotFound(NOT_FOUND))
}

/// The card, its board and the actor's role, refusing actors below `needed`.
pub(crate) async fn card_with_role(tx: &mut Tx, actor: &Actor, reference: &str, needed: Role) -> Result<(Card, Board, Role)> {
    let card = resolve_card(tx, reference).await?;
    let board: Board = get(tx, &card.id_board).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    let role = board_role(tx, actor, &board).await?;
    require(role, needed, UNAUTHORIZED_CARD)?;
    Ok((card, board, role))
}

/// Rewrites the card's rows in `card_members` (kept for `/members/{id}/cards`).
pub(crate) async fn sync_card_members(tx: &mut Tx, card: &Card) -> Result<()> {
    tx.delete(Table::CardMembers, &[Cond::eq("card_id", &card.id)]).await?;
    add_card_members(tx, card).await
}

/// Writes a new card's rows in `card_members` (it has none to replace).
pub(crate) async fn add_card_members(tx: &mut Tx, card: &Card) -> Result<()> {
    for member in &card.id_members {
        tx.insert(Table::CardMembers, &[("card_id", Arg::text(&card.id)), ("member_id", Arg::text(member))]).await?;
    }
    Ok(())
}

/// Moves the card's comment counter by `delta`; returns the card if it still exists.
pub(crate) async fn adjust_comment_count(tx: &mut Tx, card_id: &str, delta: i64) -> Result<Option<Card>> {
    let card: Option<Card> = get(tx, card_id).await?;
    let Some(mut card) = card else { return Ok(None) };
    card.counts.comments = (card.counts.comments + delta).max(0);
    card.date_last_activity = now();
    save(tx, &card).await?;
    Ok(Some(card))
}

fn check_name(name: &str) -> Result<String> {
    if name.len() > 16384 {
        return Err(DomainError::InvalidValue("name".into()));
    }
    Ok(name.trim().to_string())
}

async fn check_labels(tx: &mut Tx, board_id: &str, ids: &[String]) -> Result<Vec<String>> {
    let mut wanted: Vec<String> = Vec::new();
    for id in ids {
        if !is_id(id) {
            return Err(DomainError::InvalidValue("idLabels".into()));
        }
        let id = id.to_ascii_lowercase();
        if !wanted.contains(&id) {
            wanted.push(id);
        }
    }
    if wanted.is_empty() {
        return Ok(wanted);
    }
    let labels: Vec<Label> = by_ids(tx, &wanted).await?;
    if labels.len() != wanted.len() || labels.iter().any(|l| l.id_board != board_id) {
        return Err(DomainError::InvalidValue("idLabels".into()));
    }
    Ok(wanted)
}

async fn check_members(tx: &mut Tx, board_id: &str, ids: &[String]) -> Result<Vec<String>> {
    let mut wanted: Vec<String> = Vec::new();
    for id in ids {
        if !is_id(id) {
            return Err(DomainError::InvalidValue("idMembers".into()));
        }
        let id = id.to_ascii_lowercase();
        if !wanted.contains(&id) {
            wanted.push(id);
        }
    }
    if wanted.is_empty() {
        return Ok(wanted);
    }
    let found = tx.count(Table::Memberships, &[Cond::eq("model_id", board_id), Cond::any_of("member_id", &wanted)]).await?;
    if found as usize != wanted.len() {
        return Err(DomainError::InvalidValue("idMembers".into()));
    }
    Ok(wanted)
}

/// Sets `$card.$field` to `$value`, noting its old value under `$key` in `$old` when
/// it changes (the action's `old`).
macro_rules! set_field {
    ($card:ident, $old:ident, $field:ident, $key:expr, $value:expr) => {{
        let value = $value;
        if $card.$field != value {
            $old.insert($key.into(), json!($card.$field));
            $card.$field = value;
        }
    }};
}

/// The pure part of a card edit: puts the plain fields of `patch` on `card` (checked as
/// Trello checks them) and answers the old values of those that changed, as the
/// action's `old` shows them. Where the card goes (list, board, position), its labels,
/// members and cover need lookups, and stay with [`Cork::update_card`].
pub fn apply_patch(card: &mut Card, patch: &CardPatch) -> Result<Map<String, Value>> {
    let mut old = Map::new();
    if let Some(name) = &patch.name {
        let name = check_name(name)?;
        if name.is_empty() {
            return Err(DomainError::InvalidValue("name".into()));
        }
        set_field!(card, old, name, "name", name);
    }
    if let Some(desc) = &patch.desc {
        if desc.len() > 16384 {
            return Err(DomainError::InvalidValue("desc".into()));
        }
        set_field!(card, old, desc, "desc", desc.clone());
    }
    if let Some(closed) = patch.closed {
        set_field!(card, old, closed, "closed", closed);
    }
    if let Some(due) = &patch.due {
        set_field!(card, old, due, "due", due.clone());
    }
    if let Some(start) = &patch.start {
        set_field!(card, old, start, "start", start.clone());
    }
    if let Some(due_complete) = patch.due_complete {
        set_field!(card, old, due_complete, "dueComplete", due_complete);
    }
    if let Some(due_reminder) = patch.due_reminder {
        set_field!(card, old, due_reminder, "dueReminder", due_reminder);
    }
    if let Some(subscribed) = patch.subscribed {
        card.subscribed = subscribed;
    }
    if let Some(address) = &patch.address {
        set_field!(card, old, address, "address", address.clone());
    }
    if let Some(location_name) = &patch.location_name {
        set_field!(card, old, location_name, "locationName", location_name.clone());
    }
    if let Some(coordinates) = &patch.coordinates {
        set_field!(card, old, coordinates, "coordinates", coordinates.clone().map(Value::String));
    }
    Ok(old)
}

impl Cork {
    /// `POST /cards`: `idList` decides the board; errors as Trello words them.
    pub async fn create_card(&self, actor: &Actor, input: NewCard) -> Result<Card> {
        let id_list = input.id_list.clone().unwrap_or_default();
        if !is_id(&id_list) {
            return Err(DomainError::InvalidValue("idList".into()));
        }
        let mut tx = self.store.write().await?;
        let list: List = get(&mut tx, &id_list.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NO_BOARD_FOR_CARD))?;
        let mut board: Board = get(&mut tx, &list.id_board).await?.ok_or(DomainError::NotFound(NO_BOARD_FOR_CARD))?;
        let role = board_role(&mut tx, actor, &board).await?;
        require(role, Role::Write, UNAUTHORIZED_CARD)?;
        let source = match &input.id_card_source {
            Some(reference) => Some(card_with_role(&mut tx, actor, reference, Role::Read).await.map_err(|e| match e {
                DomainError::InvalidId => DomainError::InvalidValue("idCardSource".into()),
                other => other,
            })?),
            None => None,
        };
        let keep: Vec<String> = match input.keep_from_source.as_deref() {
            None | Some("all") => {
                ["attachments", "checklists", "comments", "due", "labels", "members", "stickers"].iter().map(|s| s.to_string()).collect()
            }
            Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        };
        let keeps = |what: &str| keep.iter().any(|k| k == what);
        let name = match (&input.name, &source) {
            (Some(name), _) => check_name(name)?,
            (None, Some((card, _, _))) => card.name.clone(),
            (None, None) => String::new(),
        };
        let wanted = input.pos.unwrap_or(Pos::Bottom);
        let range = crate::pos::span_for::<Card>(&mut tx, &[Cond::eq("list_id", &list.id), Cond::closed(false)], wanted, None).await?;
        let id_short = tx.next_card_number(&board.id).await?;
        let mut card = Card {
            id: new_id(),
            name,
            desc: input.desc.clone().unwrap_or_default(),
            closed: false,
            id_board: board.id.clone(),
            id_list: list.id.clone(),
            id_short,
            short_link: short_link(),
            pos: wanted.resolve(range),
            due: input.due.clone(),
            start: input.start.clone(),
            due_complete: input.due_complete,
            due_reminder: input.due_reminder,
            id_members: check_members(&mut tx, &board.id, &input.id_members).await?,
            id_labels: check_labels(&mut tx, &board.id, &input.id_labels).await?,
            id_members_voted: Vec::new(),
            id_checklists: Vec::new(),
            id_attachment_cover: None,
            address: input.address.clone(),
            location_name: input.location_name.clone(),
            coordinates: None,
            is_template: false,
            subscribed: false,
            date_last_activity: now(),
            counts: CardCounts::default(),
        };
        let mut copied_checklists = Vec::new();
        let mut copied_attachments = Vec::new();
        // Copied uploads and stickers get files of their own, removed again on failure.
        let mut copied_files = self.files.pending();
        let mut copied_pictures = self.pictures.pending();
        if let Some((source, _, _)) = &source {
            if input.desc.is_none() {
                card.desc = source.desc.clone();
            }
            if keeps("due") && input.due.is_none() {
                card.due = source.due.clone();
                card.start = source.start.clone();
                card.due_complete = source.due_complete;
            }
            if keeps("labels") && source.id_board == board.id && input.id_labels.is_empty() {
                card.id_labels = source.id_labels.clone();
            }
            if keeps("members") && source.id_board == board.id && input.id_members.is_empty() {
                card.id_members = source.id_members.clone();
            }
            if keeps("checklists") {
                let checklists: Vec<Checklist> = find(&mut tx, &[Cond::eq("card_id", &source.id)], Order::Asc("pos"), None).await?;
                for old in checklists {
                    let id = new_id();
                    let items = old.check_items.iter().map(|i| CheckItem { id: new_id(), id_checklist: id.clone(), ..i.clone() }).collect();
                    copied_checklists.push(Checklist {
                        id,
                        id_board: board.id.clone(),
                        id_card: card.id.clone(),
                        check_items: items,
                        ..old
                    });
                }
            }
            if keeps("attachments") {
                let attachments: Vec<Attachment> = find(&mut tx, &[Cond::eq("card_id", &source.id)], Order::Asc("pos"), None).await?;
                for old in attachments {
                    let mut copy = Attachment { id: new_id(), id_card: card.id.clone(), ..old };
                    crate::uploads::own_file(&mut copied_files, &mut copy).await?;
                    copied_attachments.push(copy);
                }
            }
            if keeps("stickers") {
                crate::stickers::copy_to_card(&mut tx, &mut copied_pictures, &source.id, &card.id).await?;
            }
        }
        for checklist in &copied_checklists {
            insert(&mut tx, checklist).await?;
            card.id_checklists.push(checklist.id.clone());
        }
        for attachment in &copied_attachments {
            insert(&mut tx, attachment).await?;
        }
        if let Some(url) = input.url_source.as_deref().filter(|u| !u.is_empty()) {
            let attachment = Attachment {
                id: new_id(),
                id_card: card.id.clone(),
                id_member: actor.member_id().unwrap_or_default().to_string(),
                name: url.to_string(),
                url: url.to_string(),
                mime_type: None,
                bytes: None,
                date: now(),
                is_upload: false,
                pos: crate::pos::STEP,
                file: None,
            };
            insert(&mut tx, &attachment).await?;
            copied_attachments.push(attachment);
        }
        recount(&mut card, &copied_checklists, copied_attachments.len() as i64);
        insert(&mut tx, &card).await?;
        add_card_members(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        match &source {
            Some((source, _, _)) => {
                let context =
                    [("board", board_ref(&board)), ("list", list_ref(&list)), ("card", card_ref(&card)), ("cardSource", card_ref(source))];
                record(&mut tx, actor, "copyCard", data(&context), Refs::card(&board, &card)).await?;
            }
            None => {
                let context = [("board", board_ref(&board)), ("list", list_ref(&list)), ("card", card_ref(&card))];
                record(&mut tx, actor, "createCard", data(&context), Refs::card(&board, &card)).await?;
            }
        }
        tx.commit().await?;
        copied_files.keep();
        copied_pictures.keep();
        Ok(card)
    }

    /// `GET /cards/{id}` with its labels and what `include` asks for.
    pub async fn card_view(&self, actor: &Actor, reference: &str, include: &CardInclude) -> Result<CardView> {
        let mut tx = self.store.read().await?;
        let (card, board, role) = card_with_role(&mut tx, actor, reference, Role::Read).await?;
        let mut view = view_in(&mut tx, card, board, role, include).await?;
        if include.owners {
            // In the same snapshot: no second transaction for it.
            view.owners = crate::gates::ownership_in(&mut tx, &view.board.id, Some(&view.card)).await?;
        }
        Ok(view)
    }

    /// `PUT /cards/{id}` and the per-field forms.
    pub async fn update_card(&self, actor: &Actor, reference: &str, patch: CardPatch) -> Result<CardView> {
        let mut tx = self.store.write().await?;
        let (card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let mut card: Card = get_for_update(&mut tx, &card.id).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        let before = card.clone();
        let mut old = apply_patch(&mut card, &patch)?;
        // Where the card goes: a list decides its board; a board alone means its first open list.
        let mut target_list: Option<List> = None;
        if let Some(id_list) = &patch.id_list {
            if !is_id(id_list) {
                return Err(DomainError::InvalidValue("idList".into()));
            }
            let list: List = get(&mut tx, &id_list.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
            if let Some(id_board) = &patch.id_board {
                let named = crate::boards::resolve_board(&mut tx, id_board).await.map_err(|e| match e {
                    DomainError::InvalidId => DomainError::InvalidValue("idBoard".into()),
                    other => other,
                })?;
                if named.id != list.id_board {
                    return Err(DomainError::InvalidValue("idList".into()));
                }
            }
            target_list = Some(list);
        } else if let Some(id_board) = &patch.id_board {
            let named = crate::boards::resolve_board(&mut tx, id_board).await.map_err(|e| match e {
                DomainError::InvalidId => DomainError::InvalidValue("idBoard".into()),
                other => other,
            })?;
            if named.id != card.id_board {
                let first: Option<List> =
                    find(&mut tx, &[Cond::eq("board_id", &named.id), Cond::closed(false)], Order::Asc("pos"), Some(1)).await?.pop();
                target_list = Some(first.ok_or(DomainError::InvalidValue("idBoard".into()))?);
            }
        }
        let mut list_before: Option<List> = None;
        let mut list_after: Option<List> = None;
        let mut target_board: Option<Board> = None;
        if let Some(list) = target_list.filter(|l| l.id != card.id_list) {
            if list.id_board != card.id_board {
                // Both boards' rows are written below: lock them in id order first.
                tx.lock_in_order(Table::Boards, &[card.id_board.clone(), list.id_board.clone()]).await?;
                let mut to: Board = get(&mut tx, &list.id_board).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
                let role = board_role(&mut tx, actor, &to).await?;
                require(role, Role::Write, UNAUTHORIZED_CARD)?;
                old.insert("idBoard".into(), json!(card.id_board));
                card.id_board = to.id.clone();
                card.id_short = tx.next_card_number(&to.id).await?;
                // Labels belong to boards, members may not be on the new one: both start over.
                card.id_labels.clear();
                card.id_members.clear();
                tx.update(Table::Checklists, &[("board_id", Arg::text(&to.id))], &[Cond::eq("card_id", &card.id)]).await?;
                touch_board(&mut tx, &mut to).await?;
                target_board = Some(to);
            }
            let from: Option<List> = get(&mut tx, &card.id_list).await?;
            old.insert("idList".into(), json!(card.id_list));
            card.id_list = list.id.clone();
            if patch.pos.is_none() {
                let range = tx.pos_range(Table::Cards, &[Cond::eq("list_id", &list.id), Cond::closed(false)]).await?;
                card.pos = Pos::Bottom.resolve(range);
            }
            list_before = from;
            list_after = Some(list);
        }
        if let Some(pos) = patch.pos {
            let range =
                crate::pos::span_for::<Card>(&mut tx, &[Cond::eq("list_id", &card.id_list), Cond::closed(false)], pos, Some(&card.id))
                    .await?;
            let pos = pos.resolve(range);
            set_field!(card, old, pos, "pos", pos);
        }
        if let Some(labels) = patch.id_labels {
            let labels = check_labels(&mut tx, &card.id_board, &labels).await?;
            set_field!(card, old, id_labels, "idLabels", labels);
        }
        if let Some(members) = patch.id_members {
            let members = check_members(&mut tx, &card.id_board, &members).await?;
            set_field!(card, old, id_members, "idMembers", members);
        }
        if let Some(cover) = patch.id_attachment_cover {
            if let Some(id) = &cover {
                let attachment: Option<Attachment> = if is_id(id) { get(&mut tx, id).await? } else { None };
                if attachment.map(|a| a.id_card != card.id).unwrap_or(true) {
                    return Err(DomainError::InvalidValue("idAttachmentCover".into()));
                }
            }
            set_field!(card, old, id_attachment_cover, "idAttachmentCover", cover);
        }
        if card == before {
            let view = view_in(&mut tx, card, board, Role::Write, &CardInclude::default()).await?;
            tx.commit().await?;
            return Ok(view);
        }
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        if card.id_members != before.id_members {
            sync_card_members(&mut tx, &card).await?;
        }
        touch_board(&mut tx, &mut board).await?;
        let mut card_data = card_ref(&card);
        if let (Some(map), Ok(Value::Object(now_map))) = (card_data.as_object_mut(), serde_json::to_value(&card)) {
            for key in old.keys() {
                if let Some(value) = now_map.get(key) {
                    map.insert(key.clone(), value.clone());
                }
            }
        }
        let mut context = vec![("board", board_ref(&board)), ("card", card_data), ("old", Value::Object(old))];
        match (&list_before, &list_after) {
            (Some(before), Some(after)) => {
                context.push(("listBefore", list_ref(before)));
                context.push(("listAfter", list_ref(after)));
            }
            _ => {
                if let Some(list) = get::<List>(&mut tx, &card.id_list).await? {
                    context.push(("list", list_ref(&list)));
                }
            }
        }
        match &target_board {
            Some(to) => {
                // Every field the move changed (labels and members start over, the number
                // is the new board's), before and after: what its undo puts back and checks.
                let (moved, old) = moved_fields(&before, &card)?;
                let from_context = [("board", board_ref(&board)), ("card", moved), ("boardTarget", json!({"id": to.id})), ("old", old)];
                record(
                    &mut tx,
                    actor,
                    "moveCardFromBoard",
                    data(&from_context),
                    Refs { card: Some(card.id.clone()), list: Some(before.id_list.clone()), ..Refs::board(&board) },
                )
                .await?;
                let mut to_context = vec![("board", board_ref(to)), ("card", card_ref(&card)), ("boardSource", json!({"id": board.id}))];
                if let Some(after) = &list_after {
                    to_context.push(("list", list_ref(after)));
                }
                record(&mut tx, actor, "moveCardToBoard", data(&to_context), Refs::card(to, &card)).await?;
            }
            None => {
                let action = record(&mut tx, actor, "updateCard", data(&context), Refs::card(&board, &card)).await?;
                crate::notifications::card_updated(&mut tx, actor, &before, &card, &action).await?;
            }
        }
        let home = target_board.unwrap_or(board);
        let role = board_role(&mut tx, actor, &home).await?;
        let view = view_in(&mut tx, card, home, role, &CardInclude::default()).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// `DELETE /cards/{id}`: the action keeps the card with its checklists and attachments.
    pub async fn delete_card(&self, actor: &Actor, reference: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let checklists: Vec<Checklist> = find(&mut tx, &[Cond::eq("card_id", &card.id)], Order::Asc("pos"), None).await?;
        let attachments: Vec<Attachment> = find(&mut tx, &[Cond::eq("card_id", &card.id)], Order::Asc("pos"), None).await?;
        tx.delete(Table::Checklists, &[Cond::eq("card_id", &card.id)]).await?;
        tx.unindex_cards(std::slice::from_ref(&card.id)).await?;
        tx.delete(Table::Attachments, &[Cond::eq("card_id", &card.id)]).await?;
        tx.delete(Table::CardMembers, &[Cond::eq("card_id", &card.id)]).await?;
        let custom_field_items = crate::custom_fields::remove_card_items(&mut tx, std::slice::from_ref(&card.id)).await?;
        let stickers = crate::stickers::remove_for_cards(&mut tx, std::slice::from_ref(&card.id)).await?;
        remove(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let list: Option<List> = get(&mut tx, &card.id_list).await?;
        let deleted = json!({"card": card, "checklists": checklists, "attachments": attachments, "customFieldItems": custom_field_items, "stickers": stickers});
        let mut context = vec![
            ("board", board_ref(&board)),
            ("card", json!({"id": card.id, "idShort": card.id_short, "shortLink": card.short_link})),
            ("deleted", deleted),
        ];
        if let Some(list) = &list {
            context.push(("list", list_ref(list)));
        }
        record(&mut tx, actor, "deleteCard", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        // Uploaded files go once the deletion is durable (why: see uploads.rs).
        self.files.discard(&crate::uploads::attachment_files(&attachments)).await;
        self.pictures.discard(&crate::stickers::sticker_files(&stickers)).await;
        Ok(())
    }

    /// Adds a board label to a card (`POST /cards/{id}/idLabels`); returns the label ids.
    pub async fn add_card_label(&self, actor: &Actor, reference: &str, label_id: &str) -> Result<Vec<String>> {
        let mut tx = self.store.write().await?;
        let (mut card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let ids = check_labels(&mut tx, &board.id, &[label_id.to_string()]).await.map_err(|_| DomainError::InvalidValue("value".into()))?;
        let label: Label = get(&mut tx, &ids[0]).await?.ok_or(DomainError::InvalidValue("value".into()))?;
        if card.id_labels.contains(&label.id) {
            return Err(DomainError::BadRequest("that label is already on the card".into()));
        }
        card.id_labels.push(label.id.clone());
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let context = [
            ("board", board_ref(&board)),
            ("card", card_ref(&card)),
            ("label", json!({"id": label.id, "name": label.name, "color": label.color})),
            ("text", json!(label.name)),
        ];
        record(&mut tx, actor, "addLabelToCard", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        Ok(card.id_labels)
    }

    /// Creates a label on the card's board and puts it on the card (`POST /cards/{id}/labels`).
    pub async fn create_card_label(&self, actor: &Actor, reference: &str, name: &str, color: Option<&str>) -> Result<Label> {
        let board_id = {
            let mut tx = self.store.read().await?;
            card_with_role(&mut tx, actor, reference, Role::Write).await?.1.id
        };
        let label = self.create_label(actor, &board_id, name, color).await?;
        self.add_card_label(actor, reference, &label.id).await?;
        Ok(label)
    }

    /// Takes a label off a card.
    pub async fn remove_card_label(&self, actor: &Actor, reference: &str, label_id: &str) -> Result<()> {
        if !is_id(label_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.write().await?;
        let (mut card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let label_id = label_id.to_ascii_lowercase();
        if !card.id_labels.contains(&label_id) {
            return Err(DomainError::NotFound(NOT_FOUND));
        }
        card.id_labels.retain(|l| *l != label_id);
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let label: Option<Label> = get(&mut tx, &label_id).await?;
        let label_data = label.map(|l| json!({"id": l.id, "name": l.name, "color": l.color})).unwrap_or(json!({"id": label_id}));
        record(
            &mut tx,
            actor,
            "removeLabelFromCard",
            data(&[("board", board_ref(&board)), ("card", card_ref(&card)), ("label", label_data)]),
            Refs::card(&board, &card),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a board member to a card; returns the card's members.
    pub async fn add_card_member(&self, actor: &Actor, reference: &str, member_ref: &str) -> Result<Vec<Member>> {
        let mut tx = self.store.write().await?;
        let (mut card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let member = crate::members::resolve_member(&mut tx, actor, member_ref).await.map_err(|e| match e {
            DomainError::InvalidId => DomainError::InvalidValue("value".into()),
            other => other,
        })?;
        check_members(&mut tx, &board.id, std::slice::from_ref(&member.id)).await.map_err(|_| DomainError::InvalidValue("value".into()))?;
        if card.id_members.contains(&member.id) {
            return Err(DomainError::BadRequest("member is already on the card".into()));
        }
        card.id_members.push(member.id.clone());
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        sync_card_members(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let list: Option<List> = get(&mut tx, &card.id_list).await?;
        let mut context = vec![
            ("board", board_ref(&board)),
            ("card", card_ref(&card)),
            ("idMember", json!(member.id)),
            ("member", json!({"id": member.id, "name": member.full_name})),
        ];
        if let Some(list) = &list {
            context.push(("list", list_ref(list)));
        }
        let refs = Refs { subject: Some(member.id.clone()), ..Refs::card(&board, &card) };
        let action = record(&mut tx, actor, "addMemberToCard", data(&context), refs).await?;
        crate::notifications::added_to_card(&mut tx, actor, &member.id, &action).await?;
        let members = by_ids(&mut tx, &card.id_members).await?;
        tx.commit().await?;
        Ok(members)
    }

    /// Takes a member off a card; returns the card's remaining members.
    pub async fn remove_card_member(&self, actor: &Actor, reference: &str, member_ref: &str) -> Result<Vec<Member>> {
        let mut tx = self.store.write().await?;
        let (mut card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let member = crate::members::resolve_member(&mut tx, actor, member_ref).await?;
        if !card.id_members.contains(&member.id) {
            return Err(DomainError::NotFound(NOT_FOUND));
        }
        card.id_members.retain(|m| *m != member.id);
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        sync_card_members(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let context = [
            ("board", board_ref(&board)),
            ("card", card_ref(&card)),
            ("idMember", json!(member.id)),
            ("member", json!({"id": member.id, "name": member.full_name})),
        ];
        let refs = Refs { subject: Some(member.id.clone()), ..Refs::card(&board, &card) };
        record(&mut tx, actor, "removeMemberFromCard", data(&context), refs).await?;
        let members = by_ids(&mut tx, &card.id_members).await?;
        tx.commit().await?;
        Ok(members)
    }

    /// `POST /cards/{id}/actions/comments`: a `commentCard` action.
    pub async fn add_comment(&self, actor: &Actor, reference: &str, text: &str) -> Result<ActionPage> {
        if text.trim().is_empty() || text.len() > 16384 {
            return Err(DomainError::InvalidValue("text".into()));
        }
        let mut tx = self.store.write().await?;
        let (card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Read).await?;
        let may_comment = match board.prefs.get("comments").and_then(Value::as_str).unwrap_or("members") {
            "disabled" => false,
            "public" => actor.member.is_some() && actor.may_write(),
            "observers" => board_role(&mut tx, actor, &board).await? >= Role::Read && actor.may_write(),
            _ => board_role(&mut tx, actor, &board).await? >= Role::Write,
        };
        if !may_comment {
            return Err(DomainError::Unauthorized(UNAUTHORIZED_CARD));
        }
        let card = adjust_comment_count(&mut tx, &card.id, 1).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        touch_board(&mut tx, &mut board).await?;
        let list: Option<List> = get(&mut tx, &card.id_list).await?;
        let mut context = vec![("text", json!(text)), ("board", board_ref(&board)), ("card", card_ref(&card))];
        if let Some(list) = &list {
            context.push(("list", list_ref(list)));
        }
        let action = record(&mut tx, actor, "commentCard", data(&context), Refs::card(&board, &card)).await?;
        crate::notifications::mentioned_on_card(&mut tx, actor, &board, text, &action).await?;
        let creators = creators_of(&mut tx, std::slice::from_ref(&action)).await?;
        tx.commit().await?;
        Ok(ActionPage { actions: vec![action], creators })
    }

    /// `GET /cards/{id}/actions`.
    pub async fn card_actions(&self, actor: &Actor, reference: &str, query: &ActionQuery) -> Result<ActionPage> {
        let mut tx = self.store.read().await?;
        let (card, _, _) = card_with_role(&mut tx, actor, reference, Role::Read).await?;
        read_log(&mut tx, ActionScope::Card, &card.id, query).await
    }

    /// Attaches a link to a card (`POST /cards/{id}/attachments` with `url`).
    pub async fn attach_link(
        &self,
        actor: &Actor,
        reference: &str,
        url: &str,
        name: Option<&str>,
        mime_type: Option<&str>,
        set_cover: bool,
    ) -> Result<Attachment> {
        let url = url.trim();
        let valid = (url.starts_with("http://") || url.starts_with("https://")) && url.len() <= 2048;
        if !valid {
            return Err(DomainError::InvalidValue("url".into()));
        }
        let mut tx = self.store.write().await?;
        let (mut card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let range = tx.pos_range(Table::Attachments, &[Cond::eq("card_id", &card.id)]).await?;
        let attachment = Attachment {
            id: new_id(),
            id_card: card.id.clone(),
            id_member: actor.member_id().unwrap_or_default().to_string(),
            name: name.filter(|n| !n.is_empty()).unwrap_or(url).to_string(),
            url: url.to_string(),
            mime_type: mime_type.filter(|m| !m.is_empty()).map(str::to_string),
            bytes: None,
            date: now(),
            is_upload: false,
            pos: Pos::Bottom.resolve(range),
            file: None,
        };
        insert(&mut tx, &attachment).await?;
        card.counts.attachments += 1;
        if set_cover {
            card.id_attachment_cover = Some(attachment.id.clone());
        }
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let context = [
            ("board", board_ref(&board)),
            ("card", card_ref(&card)),
            ("attachment", json!({"id": attachment.id, "name": attachment.name, "url": attachment.url})),
        ];
        record(&mut tx, actor, "addAttachmentToCard", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        Ok(attachment)
    }

    /// A card's attachments.
    pub async fn card_attachments(&self, actor: &Actor, reference: &str) -> Result<Vec<Attachment>> {
        let mut tx = self.store.read().await?;
        let (card, _, _) = card_with_role(&mut tx, actor, reference, Role::Read).await?;
        find(&mut tx, &[Cond::eq("card_id", &card.id)], Order::Asc("pos"), None).await
    }

    /// One attachment of a card.
    pub async fn card_attachment(&self, actor: &Actor, reference: &str, attachment_id: &str) -> Result<Attachment> {
        if !is_id(attachment_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.read().await?;
        let (card, _, _) = card_with_role(&mut tx, actor, reference, Role::Read).await?;
        let attachment: Attachment = get(&mut tx, &attachment_id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        if attachment.id_card != card.id {
            return Err(DomainError::NotFound(NOT_FOUND));
        }
        Ok(attachment)
    }

    /// Removes an attachment; the action keeps its record (an upload's bytes are removed).
    pub async fn delete_attachment(&self, actor: &Actor, reference: &str, attachment_id: &str) -> Result<()> {
        if !is_id(attachment_id) {
            return Err(DomainError::InvalidId);
        }
        let mut tx = self.store.write().await?;
        let (mut card, mut board, _) = card_with_role(&mut tx, actor, reference, Role::Write).await?;
        let attachment: Attachment = get(&mut tx, &attachment_id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        if attachment.id_card != card.id {
            return Err(DomainError::NotFound(NOT_FOUND));
        }
        remove(&mut tx, &attachment).await?;
        card.counts.attachments = (card.counts.attachments - 1).max(0);
        if card.id_attachment_cover.as_deref() == Some(attachment.id.as_str()) {
            card.id_attachment_cover = None;
        }
        card.date_last_activity = now();
        save(&mut tx, &card).await?;
        touch_board(&mut tx, &mut board).await?;
        let context = [
            ("board", board_ref(&board)),
            ("card", card_ref(&card)),
            ("attachment", json!({"id": attachment.id, "name": attachment.name})),
            ("deleted", json!(attachment)),
        ];
        record(&mut tx, actor, "deleteAttachmentFromCard", data(&context), Refs::card(&board, &card)).await?;
        tx.commit().await?;
        // An upload's file goes once the deletion is durable (why: see uploads.rs).
        self.files.discard(&crate::uploads::attachment_files(std::slice::from_ref(&attachment))).await;
        Ok(())
    }

    /// Cards a member is on, on boards the actor may read (`/members/{id}/cards`).
    pub async fn member_cards(&self, actor: &Actor, member_ref: &str, filter: &str) -> Result<(Vec<Card>, Vec<Label>)> {
        let mut tx = self.store.read().await?;
        let member = crate::members::resolve_member(&mut tx, actor, member_ref).await?;
        let card_ids = tx.column(Table::CardMembers, "card_id", &[Cond::eq("member_id", &member.id)]).await?;
        let mut cards: Vec<Card> = by_ids(&mut tx, &card_ids).await?;
        let board_ids: Vec<String> = {
            let mut ids: Vec<String> = cards.iter().map(|c| c.id_board.clone()).collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let boards: Vec<Board> = by_ids(&mut tx, &board_ids).await?;
        let mut models: Vec<&str> = boards.iter().map(|b| b.id.as_str()).collect();
        models.extend(boards.iter().filter_map(|b| b.id_organization.as_deref()));
        let own = crate::access::memberships_of(&mut tx, actor, &models).await?;
        let readable: Vec<&str> =
            boards.iter().filter(|b| crate::access::role_from(actor, b, &own) >= Role::Read).map(|b| b.id.as_str()).collect();
        // `visible` (the default) keeps cards in open lists, so those lists are needed.
        let open_lists: Vec<List> = if filter == "visible" && !readable.is_empty() {
            find(&mut tx, &[Cond::any_of("board_id", &readable), Cond::closed(false)], Order::None, None).await?
        } else {
            Vec::new()
        };
        let open: Vec<&str> = open_lists.iter().map(|l| l.id.as_str()).collect();
        cards.retain(|c| readable.contains(&c.id_board.as_str()) && crate::boards::keep_card(filter, c, &open));
        cards.sort_by(|a, b| a.id.cmp(&b.id));
        let labels: Vec<Label> = if readable.is_empty() {
            Vec::new()
        } else {
            find(&mut tx, &[Cond::any_of("board_id", &readable)], Order::Asc("id"), None).await?
        };
        Ok((cards, labels))
    }
}

/// What a card collection nests in each card when asked (`members=true`, `list=true`,
/// `checklists=all`, `attachments=true`), read for every card of the page at once.
#[derive(Debug, Clone, Default)]
pub struct CardsNested {
    pub lists: Vec<List>,
    pub members: Vec<Member>,
    pub checklists: Vec<Checklist>,
    pub attachments: Vec<Attachment>,
    /// In `zIndex` order.
    pub stickers: Vec<crate::stickers::Sticker>,
}

impl Cork {
    /// The nested objects `include` asks for, for `cards` the caller has already been
    /// allowed to read (a collection route's answer): one statement per kind, whatever
    /// the number of cards.
    pub async fn nested_of_cards(&self, cards: &[Card], include: &CardInclude) -> Result<CardsNested> {
        let mut nested = CardsNested::default();
        if cards.is_empty() || !(include.list || include.members || include.checklists || include.attachments || include.stickers) {
            return Ok(nested);
        }
        let mut tx = self.store.read().await?;
        let ids: Vec<&str> = cards.iter().map(|c| c.id.as_str()).collect();
        let distinct = |all: Vec<&str>| {
            let mut all = all;
            all.sort_unstable();
            all.dedup();
            all.into_iter().map(str::to_string).collect::<Vec<String>>()
        };
        if include.list {
            nested.lists = by_ids(&mut tx, &distinct(cards.iter().map(|c| c.id_list.as_str()).collect())).await?;
        }
        if include.members {
            nested.members =
                by_ids(&mut tx, &distinct(cards.iter().flat_map(|c| c.id_members.iter().map(String::as_str)).collect())).await?;
        }
        if include.checklists {
            nested.checklists = find(&mut tx, &[Cond::any_of("card_id", &ids)], Order::Asc("pos"), None).await?;
        }
        if include.attachments {
            nested.attachments = find(&mut tx, &[Cond::any_of("card_id", &ids)], Order::Asc("pos"), None).await?;
        }
        if include.stickers {
            nested.stickers = find(&mut tx, &[Cond::any_of("card_id", &ids)], Order::Asc("id"), None).await?;
            nested.stickers.sort_by_key(|s| s.z_index);
        }
        Ok(nested)
    }
}

/// Recomputes the checklist and attachment counters of a card.
pub(crate) fn recount(card: &mut Card, checklists: &[Checklist], attachments: i64) {
    card.counts.check_items = checklists.iter().map(|c| c.check_items.len() as i64).sum();
    card.counts.check_items_checked = checklists.iter().flat_map(|c| &c.check_items).filter(|i| i.state == "complete").count() as i64;
    card.counts.attachments = attachments;
}

async fn view_in(tx: &mut Tx, card: Card, board: Board, role: Role, include: &CardInclude) -> Result<CardView> {
    let labels: Vec<Label> = by_ids(tx, &card.id_labels).await?;
    let list = if include.list { get(tx, &card.id_list).await? } else { None };
    let members = if include.members { by_ids(tx, &card.id_members).await? } else { Vec::new() };
    let checklists =
        if include.checklists { find(tx, &[Cond::eq("card_id", &card.id)], Order::Asc("pos"), None).await? } else { Vec::new() };
    let attachments =
        if include.attachments { find(tx, &[Cond::eq("card_id", &card.id)], Order::Asc("pos"), None).await? } else { Vec::new() };
    let actions = match &include.actions {
        Some(query) => read_log(tx, ActionScope::Card, &card.id, query).await?,
        None => ActionPage::default(),
    };
    let custom_field_items = if include.custom_field_items { crate::custom_fields::items_of_card(tx, &card).await? } else { Vec::new() };
    Ok(CardView { card, board, role, labels, list, members, checklists, attachments, actions, custom_field_items, owners: None })
}

/// Checks a label colour parameter (`null`/empty for none).
pub fn label_color(value: Option<&str>) -> Result<Option<String>> {
    match value {
        None | Some("") | Some("null") => Ok(None),
        Some(color) if is_label_color(color) => Ok(Some(color.to_string())),
        Some(_) => Err(DomainError::InvalidValue("color".into())),
    }
}

/// A moved card as `moveCardFromBoard` shows it: its reference with the new value of
/// the fields a move sets and of every other field that changed, and their old values
/// (`dateLastActivity` aside).
pub(crate) fn moved_fields(before: &Card, after: &Card) -> Result<(Value, Value)> {
    let (Value::Object(was), Value::Object(now_map)) = (serde_json::to_value(before)?, serde_json::to_value(after)?) else {
        return Err(DomainError::Internal("a card is not an object".into()));
    };
    let mut shown = card_ref(after);
    let mut old = Map::new();
    for (key, value) in &was {
        let current = now_map.get(key).unwrap_or(&Value::Null);
        let set_by_moves = ["idBoard", "idList", "idShort", "pos", "idLabels", "idMembers"].contains(&key.as_str());
        if key != "dateLastActivity" && (current != value || set_by_moves) {
            old.insert(key.clone(), value.clone());
            shown[key.as_str()] = current.clone();
        }
    }
    Ok((shown, Value::Object(old)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> Card {
        serde_json::from_value(json!({
            "id": "0123456789abcdef01234567", "name": "Plan", "desc": "", "closed": false,
            "idBoard": "0123456789abcdef01234568", "idList": "0123456789abcdef01234569", "idShort": 1,
            "shortLink": "abcdEFGH", "pos": 16384.0, "due": null, "start": null,
            "dateLastActivity": "2026-01-01T00:00:00.000Z"
        }))
        .expect("a card")
    }

    #[test]
    fn a_patch_names_the_old_value_of_each_field_it_changed_and_only_those() {
        let mut edited = card();
        let patch = CardPatch {
            name: Some("  Ship it ".into()),
            desc: Some(String::new()),
            closed: Some(true),
            due: Some(Some("2031-01-01T00:00:00.000Z".into())),
            subscribed: Some(true),
            ..CardPatch::default()
        };
        let old = apply_patch(&mut edited, &patch).unwrap();
        assert_eq!(Value::Object(old), json!({"name": "Plan", "closed": false, "due": null}));
        assert_eq!((edited.name.as_str(), edited.closed, edited.subscribed), ("Ship it", true, true));
        assert_eq!(edited.due.as_deref(), Some("2031-01-01T00:00:00.000Z"));
        // The same patch again changes nothing and names nothing.
        let again = apply_patch(&mut edited, &patch).unwrap();
        assert!(again.is_empty());
    }

    #[test]
    fn a_bad_field_refuses_the_whole_patch() {
        let mut edited = card();
        let blank = CardPatch { name: Some("   ".into()), ..CardPatch::default() };
        assert!(matches!(apply_patch(&mut edited, &blank), Err(DomainError::InvalidValue(field)) if field == "name"));
        let long = CardPatch { desc: Some("x".repeat(16385)), ..CardPatch::default() };
        assert!(matches!(apply_patch(&mut edited, &long), Err(DomainError::InvalidValue(field)) if field == "desc"));
        assert_eq!(edited, card());
    }
}
