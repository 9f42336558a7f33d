//! Boards: create (with defaults or as a copy), read with nested collections at a
//! fixed query cost, update (prefs and label names included), close and delete.

use cork_store::{Cond, Order, Table, Tx};
use serde_json::{json, Map, Value};

use crate::access::{board_role, memberships_of, require, Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, data, read_log, record, ActionPage, ActionQuery, ActionScope, Refs};
use crate::ids::{is_id, is_short_link, new_id, short_link};
use crate::model::*;
use crate::organizations::resolve_org;
use crate::store_ext::{by_ids, find, get, get_for_update, insert, remove, save};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// Trello's label colours; `null` is a colourless label.
pub const LABEL_COLORS: [&str; 10] = ["green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black"];

/// True for a colour Trello accepts, shades included (`green_dark`, `sky_light`).
pub fn is_label_color(color: &str) -> bool {
    let base = color.strip_suffix("_dark").or_else(|| color.strip_suffix("_light")).unwrap_or(color);
    LABEL_COLORS.contains(&base)
}

const BACKGROUNDS: [&str; 9] = ["blue", "orange", "green", "red", "purple", "pink", "lime", "sky", "grey"];

/// The prefs a new board starts with (Trello's documented defaults).
pub fn default_prefs() -> Map<String, Value> {
    let defaults = json!({
        "permissionLevel": "private",
        "hideVotes": false,
        "voting": "disabled",
        "comments": "members",
        "invitations": "members",
        "selfJoin": true,
        "cardCovers": true,
        "isTemplate": false,
        "cardAging": "regular",
        "calendarFeedEnabled": false,
        "background": "blue",
    });
    match defaults {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Checks one pref and returns its stored value; `None` for an unknown name or bad value.
fn pref_value(key: &str, raw: &str) -> Option<Value> {
    let flag = || match raw.to_ascii_lowercase().as_str() {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        _ => None,
    };
    let one_of = |allowed: &[&str]| allowed.contains(&raw).then(|| Value::String(raw.to_string()));
    match key {
        "permissionLevel" => one_of(&["private", "org", "public"]),
        "voting" | "comments" => one_of(&["disabled", "members", "observers", "org", "public"]),
        "invitations" => one_of(&["admins", "members"]),
        "cardAging" => one_of(&["regular", "pirate"]),
        "background" => {
            let is_id_like = is_id(raw);
            (BACKGROUNDS.contains(&raw) || is_id_like).then(|| Value::String(raw.to_string()))
        }
        "selfJoin" | "cardCovers" | "hideVotes" | "isTemplate" | "calendarFeedEnabled" => flag(),
        _ => None,
    }
}

/// Parameters of `POST /boards`.
#[derive(Debug, Clone, Default)]
pub struct NewBoard {
    pub name: String,
    pub desc: Option<String>,
    pub id_organization: Option<String>,
    pub default_lists: bool,
    pub default_labels: bool,
    /// (pref name, raw value) pairs; errors name them `prefs_<name>`.
    pub prefs: Vec<(String, String)>,
    pub id_board_source: Option<String>,
    pub keep_from_source: Option<String>,
}

/// Parameters of `PUT /boards/{id}`; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoardPatch {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub closed: Option<bool>,
    pub subscribed: Option<bool>,
    pub pinned: Option<bool>,
    /// `Some(None)` moves the board out of its workspace.
    pub id_organization: Option<Option<String>>,
    pub prefs: Vec<(String, String)>,
    /// (colour, name) pairs for `labelNames/<colour>`.
    pub label_names: Vec<(String, String)>,
}

/// Which nested collections a board read includes.
#[derive(Debug, Clone, Default)]
pub struct BoardInclude {
    /// `open`, `closed`, `all`; `None` for none.
    pub lists: Option<String>,
    /// `open`, `closed`, `all`, `visible`, `complete`, `incomplete`.
    pub cards: Option<String>,
    pub labels: bool,
    /// `all`, `normal`, `admins`, `owners`.
    pub members: Option<String>,
    pub memberships: bool,
    pub checklists: bool,
    pub actions: Option<ActionQuery>,
    pub organization: bool,
    /// The board's custom field definitions.
    pub custom_fields: bool,
    /// The custom field values of the cards read.
    pub custom_field_items: bool,
}

/// A board with what was asked of it.
#[derive(Debug, Clone)]
pub struct BoardView {
    pub board: Board,
    pub role: Role,
    pub lists: Vec<List>,
    pub cards: Vec<Card>,
    /// Every label of the board (cards and labelNames are rendered from it).
    pub labels: Vec<Label>,
    pub memberships: Vec<Membership>,
    pub members: Vec<Member>,
    pub checklists: Vec<Checklist>,
    pub actions: ActionPage,
    pub organization: Option<Organization>,
    pub custom_fields: Vec<crate::custom_fields::CustomField>,
    pub custom_field_items: Vec<crate::custom_fields::CustomFieldItem>,
}

/// Finds a board by id or shortLink; a malformed reference is `invalid id`.
pub(crate) async fn resolve_board(tx: &mut Tx, reference: &str) -> Result<Board> {
    let found = if is_id(reference) {
        get(tx, &reference.to_ascii_lowercase()).await?
    } else if is_short_link(reference) {
        find(tx, &[Cond::eq("short_link", reference)], Order::None, Some(1)).await?.pop()
    } else {
        return Err(DomainError::InvalidId);
    };
    found.ok_or(DomainError::NotFound(NOT_FOUND))
}

/// The board and the actor's role, refusing actors below `needed`.
pub(crate) async fn board_with_role(
    tx: &mut Tx,
    actor: &Actor,
    reference: &str,
    needed: Role,
    message: &'static str,
) -> Result<(Board, Role)> {
    let board = resolve_board(tx, reference).await?;
    let role = board_role(tx, actor, &board).await?;
    require(role, needed, message)?;
    Ok((board, role))
}

/// Moves the board's activity date to now. Only the date's column is written: the
/// board's document (and its search entry) stays as it is, so a card write never
/// rewrites the board it is on, nor undoes a concurrent rename of it.
/// A command that changed the board itself as well gets it saved here (a
/// compare-and-set on the version it read).
pub(crate) async fn touch_board(tx: &mut Tx, board: &mut Board) -> Result<()> {
    let changed = match tx.board_doc_as_read(&board.id).map(|doc| serde_json::from_str::<Board>(&doc)) {
        Some(Ok(mut stored)) => {
            stored.date_last_activity.clone_from(&board.date_last_activity);
            stored != *board
        }
        // Not read in this transaction: saved whole, as it may carry changes.
        _ => true,
    };
    board.date_last_activity = now();
    if changed {
        save(tx, board).await?;
    }
    tx.touch_board(&board.id, &board.date_last_activity).await?;
    Ok(())
}

fn label(board_id: &str, name: &str, color: Option<&str>) -> Label {
    Label { id: new_id(), id_board: board_id.to_string(), name: name.to_string(), color: color.map(str::to_string) }
}

fn apply_prefs(prefs: &mut Map<String, Value>, input: &[(String, String)], prefix: &str) -> Result<()> {
    for (key, raw) in input {
        let value = pref_value(key, raw).ok_or_else(|| DomainError::InvalidValue(format!("{prefix}{key}")))?;
        prefs.insert(key.clone(), value);
    }
    Ok(())
}

/// Counts of objects a list or card filter keeps.
pub(crate) fn keep_list(filter: &str, list: &List) -> bool {
    match filter {
        "open" => !list.closed,
        "closed" => list.closed,
        _ => true,
    }
}

pub(crate) fn keep_card(filter: &str, card: &Card, open_lists: &[&str]) -> bool {
    match filter {
        "open" => !card.closed,
        "closed" => card.closed,
        "visible" => !card.closed && open_lists.contains(&card.id_list.as_str()),
        "complete" => card.due_complete,
        "incomplete" => !card.due_complete,
        _ => true,
    }
}

/// Members of a board as a filter keeps them.
pub(crate) fn keep_membership(filter: &str, membership: &Membership) -> bool {
    match filter {
        "admins" | "owners" => membership.member_type == "admin",
        "normal" => membership.member_type == "normal",
        "observers" => membership.member_type == "observer",
        _ => true,
    }
}

impl Cork {
    /// `POST /boards`.
    pub async fn create_board(&self, actor: &Actor, input: NewBoard) -> Result<Board> {
        let creator = actor.require_member()?.clone();
        // A per-board token may add boards only to a workspace it may write (below): a
        // personal board would lie outside what it reaches.
        if !actor.may_write() || (actor.is_narrowed() && input.id_organization.is_none()) {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let name = input.name.trim().to_string();
        if name.is_empty() || name.len() > 16384 {
            return Err(DomainError::InvalidValue("name".into()));
        }
        let mut tx = self.store.write().await?;
        let mut prefs = default_prefs();
        apply_prefs(&mut prefs, &input.prefs, "prefs_")?;
        let org = match &input.id_organization {
            Some(reference) => {
                let org = resolve_org(&mut tx, reference).await.map_err(|e| match e {
                    DomainError::InvalidId => DomainError::InvalidValue("idOrganization".into()),
                    other => other,
                })?;
                if !crate::access::in_org(&mut tx, actor, &org.id, Role::Write).await? {
                    return Err(DomainError::Unauthorized(UNAUTHORIZED));
                }
                Some(org)
            }
            None => None,
        };
        if prefs.get("permissionLevel").and_then(Value::as_str) == Some("org") && org.is_none() {
            return Err(DomainError::InvalidValue("prefs_permissionLevel".into()));
        }
        let source = match &input.id_board_source {
            Some(reference) => {
                let (source, _) = board_with_role(&mut tx, actor, reference, Role::Read, UNAUTHORIZED).await.map_err(|e| match e {
                    DomainError::InvalidId => DomainError::InvalidValue("idBoardSource".into()),
                    other => other,
                })?;
                Some(source)
            }
            None => None,
        };
        let stamp = now();
        let mut board = Board {
            id: new_id(),
            name,
            desc: input.desc.clone().unwrap_or_default(),
            closed: false,
            id_organization: org.as_ref().map(|o| o.id.clone()),
            id_member_creator: creator.id.clone(),
            short_link: short_link(),
            pinned: false,
            prefs,
            date_last_activity: stamp.clone(),
            date_closed: None,
            subscribed: false,
            id_tags: Vec::new(),
        };
        if let Some(source) = &source {
            if input.desc.is_none() {
                board.desc = source.desc.clone();
            }
            for (key, value) in &source.prefs {
                if !input.prefs.iter().any(|(k, _)| k == key) {
                    board.prefs.insert(key.clone(), value.clone());
                }
            }
        }
        insert(&mut tx, &board).await?;
        let membership = Membership {
            id: new_id(),
            id_model: board.id.clone(),
            id_member: creator.id.clone(),
            member_type: "admin".into(),
            unconfirmed: false,
            deactivated: false,
        };
        insert(&mut tx, &membership).await?;
        let mut context = vec![("board", board_ref(&board))];
        if let Some(org) = &org {
            context.push(("organization", crate::actions::org_ref(org)));
        }
        match &source {
            Some(source) => {
                context.push(("boardSource", json!({"id": source.id})));
                record(&mut tx, actor, "copyBoard", data(&context), Refs::board(&board)).await?;
                let keep = input.keep_from_source.as_deref().unwrap_or("cards");
                copy_board_content(&mut tx, actor, source, &board, keep.split(',').any(|k| k.trim() == "cards")).await?;
            }
            None => {
                record(&mut tx, actor, "createBoard", data(&context), Refs::board(&board)).await?;
                if input.default_labels {
                    for color in &LABEL_COLORS[..6] {
                        insert(&mut tx, &label(&board.id, "", Some(color))).await?;
                    }
                }
                if input.default_lists {
                    for (i, name) in ["To Do", "Doing", "Done"].iter().enumerate() {
                        let list = List {
                            id: new_id(),
                            name: name.to_string(),
                            closed: false,
                            id_board: board.id.clone(),
                            pos: crate::pos::STEP * (i as f64 + 1.0),
                            subscribed: false,
                            soft_limit: None,
                            color: None,
                        };
                        insert(&mut tx, &list).await?;
                        let ctx = [("board", board_ref(&board)), ("list", crate::actions::list_ref(&list))];
                        record(&mut tx, actor, "createList", data(&ctx), Refs::list(&board, &list)).await?;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(board)
    }

    /// The id of a board (by id or shortLink) the actor may read; Trello's 401 or 404
    /// otherwise. The web board's event stream asks before it starts and while it runs.
    pub async fn readable_board_id(&self, actor: &Actor, reference: &str) -> Result<String> {
        let mut tx = self.store.read().await?;
        let (board, _) = board_with_role(&mut tx, actor, reference, Role::Read, UNAUTHORIZED).await?;
        Ok(board.id)
    }

    /// A board and the nested collections `include` asks for: one query per
    /// collection, never one per card (DESIGN invariant 4).
    pub async fn board_view(&self, actor: &Actor, reference: &str, include: &BoardInclude) -> Result<BoardView> {
        let mut tx = self.store.read().await?;
        let (board, role) = board_with_role(&mut tx, actor, reference, Role::Read, UNAUTHORIZED).await?;
        view_in(&mut tx, board, role, include).await
    }

    /// `PUT /boards/{id}` and the per-field forms.
    pub async fn update_board(&self, actor: &Actor, reference: &str, patch: BoardPatch) -> Result<Board> {
        let mut tx = self.store.write().await?;
        let (board, role) = board_with_role(&mut tx, actor, reference, Role::Write, UNAUTHORIZED).await?;
        let mut board: Board = get_for_update(&mut tx, &board.id).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        let before = board.clone();
        let mut old = Map::new();
        if let Some(name) = patch.name {
            let name = name.trim().to_string();
            if name.is_empty() || name.len() > 16384 {
                return Err(DomainError::InvalidValue("name".into()));
            }
            old.insert("name".into(), json!(board.name));
            board.name = name;
        }
        if let Some(desc) = patch.desc {
            if desc.len() > 16384 {
                return Err(DomainError::InvalidValue("desc".into()));
            }
            old.insert("desc".into(), json!(board.desc));
            board.desc = desc;
        }
        if let Some(closed) = patch.closed {
            if closed != board.closed {
                require(role, Role::Admin, UNAUTHORIZED)?;
            }
            old.insert("closed".into(), json!(board.closed));
            board.closed = closed;
            board.date_closed = closed.then(now);
        }
        if let Some(subscribed) = patch.subscribed {
            board.subscribed = subscribed;
        }
        if let Some(pinned) = patch.pinned {
            old.insert("pinned".into(), json!(board.pinned));
            board.pinned = pinned;
        }
        if let Some(target) = patch.id_organization {
            require(role, Role::Admin, UNAUTHORIZED)?;
            let org_id = match target {
                Some(reference) => {
                    let org = resolve_org(&mut tx, &reference).await.map_err(|e| match e {
                        DomainError::InvalidId => DomainError::InvalidValue("idOrganization".into()),
                        other => other,
                    })?;
                    if !crate::access::in_org(&mut tx, actor, &org.id, Role::Write).await? {
                        return Err(DomainError::Unauthorized(UNAUTHORIZED));
                    }
                    Some(org.id)
                }
                None => None,
            };
            old.insert("idOrganization".into(), json!(board.id_organization));
            board.id_organization = org_id;
        }
        if !patch.prefs.is_empty() {
            require(role, Role::Admin, UNAUTHORIZED)?;
            let mut old_prefs = Map::new();
            for (key, _) in &patch.prefs {
                old_prefs.insert(key.clone(), board.prefs.get(key).cloned().unwrap_or(Value::Null));
            }
            apply_prefs(&mut board.prefs, &patch.prefs, "prefs/")?;
            old.insert("prefs".into(), Value::Object(old_prefs));
        }
        if board.permission_level() == "org" && board.id_organization.is_none() {
            return Err(DomainError::InvalidValue("prefs/permissionLevel".into()));
        }
        // Labels a name made for a colour that had none (an undo deletes them again).
        let mut created_labels = Vec::new();
        if !patch.label_names.is_empty() {
            let mut labels: Vec<Label> = find(&mut tx, &[Cond::eq("board_id", &board.id)], Order::Asc("id"), None).await?;
            let mut old_names = Map::new();
            for (color, name) in &patch.label_names {
                if !LABEL_COLORS.contains(&color.as_str()) && !is_label_color(color) {
                    return Err(DomainError::InvalidValue(format!("labelNames/{color}")));
                }
                match labels.iter_mut().find(|l| l.color.as_deref() == Some(color.as_str())) {
                    Some(existing) => {
                        old_names.insert(color.clone(), json!(existing.name));
                        existing.name = name.clone();
                        save(&mut tx, existing).await?;
                    }
                    None => {
                        old_names.insert(color.clone(), json!(""));
                        let created = label(&board.id, name, Some(color));
                        insert(&mut tx, &created).await?;
                        created_labels.push(created.id.clone());
                        labels.push(created);
                    }
                }
            }
            old.insert("labelNames".into(), Value::Object(old_names));
        }
        if board != before || !old.is_empty() {
            touch_board(&mut tx, &mut board).await?;
            let mut board_data = board_ref(&board);
            for key in old.keys() {
                if let (Some(map), Ok(Value::Object(now_map))) = (board_data.as_object_mut(), serde_json::to_value(&board)) {
                    if let Some(value) = now_map.get(key) {
                        map.insert(key.clone(), value.clone());
                    }
                }
            }
            if !patch.label_names.is_empty() {
                board_data["labelNames"] = Value::Object(patch.label_names.iter().map(|(c, n)| (c.clone(), json!(n))).collect());
            }
            let mut context = vec![("board", board_data), ("old", Value::Object(old))];
            if !created_labels.is_empty() {
                context.push(("createdLabels", json!(created_labels)));
            }
            record(&mut tx, actor, "updateBoard", data(&context), Refs::board(&board)).await?;
        }
        tx.commit().await?;
        Ok(board)
    }

    /// `DELETE /boards/{id}`: admins only. The action keeps the whole board with
    /// its lists, cards, labels, checklists and memberships so that it can be restored.
    pub async fn delete_board(&self, actor: &Actor, reference: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (board, _) = board_with_role(&mut tx, actor, reference, Role::Admin, UNAUTHORIZED).await?;
        let include = BoardInclude {
            lists: Some("all".into()),
            cards: Some("all".into()),
            labels: true,
            members: None,
            memberships: true,
            checklists: true,
            actions: None,
            organization: false,
            custom_fields: false,
            custom_field_items: false,
        };
        let view = view_in(&mut tx, board.clone(), Role::Admin, &include).await?;
        let attachments: Vec<Attachment> = {
            let card_ids: Vec<&str> = view.cards.iter().map(|c| c.id.as_str()).collect();
            if card_ids.is_empty() {
                Vec::new()
            } else {
                find(&mut tx, &[Cond::any_of("card_id", &card_ids)], Order::None, None).await?
            }
        };
        let deleted = json!({
            "board": view.board, "lists": view.lists, "cards": view.cards, "labels": view.labels,
            "memberships": view.memberships, "checklists": view.checklists, "attachments": attachments,
        });
        let card_ids: Vec<String> = view.cards.iter().map(|c| c.id.clone()).collect();
        // What a restore needs besides: the stars and the last card number taken
        // (taking one more is harmless, the board goes).
        let stars: Vec<BoardStar> = find(&mut tx, &[Cond::eq("board_id", &board.id)], Order::Asc("id"), None).await?;
        let card_seq = tx.next_card_number(&board.id).await? - 1;
        for (table, column) in [
            (Table::Cards, "board_id"),
            (Table::Lists, "board_id"),
            (Table::Labels, "board_id"),
            (Table::Checklists, "board_id"),
            (Table::Memberships, "model_id"),
            (Table::BoardStars, "board_id"),
        ] {
            tx.delete(table, &[Cond::eq(column, &board.id)]).await?;
        }
        if !card_ids.is_empty() {
            tx.unindex_cards(&card_ids).await?;
            tx.delete(Table::Attachments, &[Cond::any_of("card_id", &card_ids)]).await?;
            tx.delete(Table::CardMembers, &[Cond::any_of("card_id", &card_ids)]).await?;
        }
        let (custom_fields, custom_field_items) = crate::custom_fields::remove_board_fields(&mut tx, &board.id, &card_ids).await?;
        let mut deleted = deleted;
        deleted["customFields"] = json!(custom_fields);
        deleted["customFieldItems"] = json!(custom_field_items);
        let stickers = crate::stickers::remove_for_cards(&mut tx, &card_ids).await?;
        deleted["stickers"] = json!(stickers);
        deleted["stars"] = json!(stars);
        deleted["cardSeq"] = json!(card_seq);
        // Members' own preferences on the board go with it (preferences are not logged).
        tx.delete(Table::BoardMyPrefs, &[Cond::eq("board_id", &board.id)]).await?;
        remove(&mut tx, &board).await?;
        let context = [("board", board_ref(&board)), ("deleted", deleted)];
        // The board is gone, so its log entry is indexed by workspace and creator only.
        let refs = Refs { org: board.id_organization.clone(), ..Refs::default() };
        record(&mut tx, actor, "deleteBoard", data(&context), refs).await?;
        tx.commit().await?;
        // Uploaded files go once the deletion is durable (why: see uploads.rs).
        self.files.discard(&crate::uploads::attachment_files(&attachments)).await;
        self.pictures.discard(&crate::stickers::sticker_files(&stickers)).await;
        Ok(())
    }

    /// Boards a member belongs to, as `actor` may see them (`/members/{id}/boards`).
    pub async fn member_boards(&self, actor: &Actor, member_ref: &str, filter: &str) -> Result<Vec<Board>> {
        let mut tx = self.store.read().await?;
        let member = crate::members::resolve_member(&mut tx, actor, member_ref).await?;
        let memberships: Vec<Membership> = find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::None, None).await?;
        let board_ids: Vec<&str> = memberships.iter().map(|m| m.id_model.as_str()).collect();
        let mut boards: Vec<Board> = by_ids(&mut tx, &board_ids).await?;
        let stars: Vec<BoardStar> =
            if filter == "starred" { find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::None, None).await? } else { Vec::new() };
        // What the actor may see of them: its own memberships on those boards and their workspaces.
        let mut models: Vec<&str> = boards.iter().map(|b| b.id.as_str()).collect();
        models.extend(boards.iter().filter_map(|b| b.id_organization.as_deref()));
        let own = memberships_of(&mut tx, actor, &models).await?;
        boards.retain(|b| crate::access::role_from(actor, b, &own) >= Role::Read);
        boards.retain(|b| match filter {
            "open" => !b.closed,
            "closed" => b.closed,
            "members" => b.permission_level() == "private",
            "organization" => b.permission_level() == "org",
            "public" => b.permission_level() == "public",
            "starred" => stars.iter().any(|s| s.id_board == b.id),
            _ => true,
        });
        boards.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(boards)
    }
}

/// Reads the nested collections of a loaded board inside `tx`.
pub(crate) async fn view_in(tx: &mut Tx, board: Board, role: Role, include: &BoardInclude) -> Result<BoardView> {
    let mut lists: Vec<List> = Vec::new();
    let cards_wanted = include.cards.as_deref();
    if include.lists.is_some() || cards_wanted == Some("visible") {
        lists = find(tx, &[Cond::eq("board_id", &board.id)], Order::Asc("pos"), None).await?;
    }
    let mut cards: Vec<Card> = Vec::new();
    if let Some(filter) = cards_wanted {
        let mut conds = vec![Cond::eq("board_id", &board.id)];
        match filter {
            "open" | "visible" => conds.push(Cond::closed(false)),
            "closed" => conds.push(Cond::closed(true)),
            _ => {}
        }
        cards = find(tx, &conds, Order::Asc("pos"), None).await?;
        let open_lists: Vec<&str> = lists.iter().filter(|l| !l.closed).map(|l| l.id.as_str()).collect();
        cards.retain(|c| keep_card(filter, c, &open_lists));
        sort_cards(&mut cards, &lists);
    }
    if let Some(filter) = &include.lists {
        lists.retain(|l| keep_list(filter, l));
    } else {
        lists.clear();
    }
    let labels = if include.labels || !cards.is_empty() {
        find(tx, &[Cond::eq("board_id", &board.id)], Order::Asc("id"), None).await?
    } else {
        Vec::new()
    };
    let mut memberships: Vec<Membership> = Vec::new();
    let mut members: Vec<Member> = Vec::new();
    if include.memberships || include.members.is_some() {
        memberships = find(tx, &[Cond::eq("model_id", &board.id)], Order::Asc("id"), None).await?;
        if let Some(filter) = &include.members {
            let ids: Vec<&str> = memberships.iter().filter(|m| keep_membership(filter, m)).map(|m| m.id_member.as_str()).collect();
            members = by_ids(tx, &ids).await?;
            members.sort_by(|a, b| a.id.cmp(&b.id));
        }
    }
    let checklists =
        if include.checklists { find(tx, &[Cond::eq("board_id", &board.id)], Order::Asc("pos"), None).await? } else { Vec::new() };
    let actions = match &include.actions {
        Some(query) => read_log(tx, ActionScope::Board, &board.id, query).await?,
        None => ActionPage::default(),
    };
    let organization = match (&board.id_organization, include.organization) {
        (Some(org_id), true) => get(tx, org_id).await?,
        _ => None,
    };
    let custom_fields = if include.custom_fields { crate::custom_fields::fields_of_board(tx, &board.id).await? } else { Vec::new() };
    // One statement for the values of every card read, kept only for those cards.
    let custom_field_items = if include.custom_field_items && !cards.is_empty() {
        let mut items = crate::custom_fields::items_of_board(tx, &board.id).await?;
        let read: std::collections::HashSet<&str> = cards.iter().map(|c| c.id.as_str()).collect();
        items.retain(|item| read.contains(item.id_model.as_str()));
        items
    } else {
        Vec::new()
    };
    Ok(BoardView {
        board,
        role,
        lists,
        cards,
        labels,
        memberships,
        members,
        checklists,
        actions,
        organization,
        custom_fields,
        custom_field_items,
    })
}

/// Cards ordered as a board shows them: by list position, then card position.
fn sort_cards(cards: &mut [Card], lists: &[List]) {
    if lists.is_empty() {
        return;
    }
    let rank = |card: &Card| lists.iter().position(|l| l.id == card.id_list).unwrap_or(usize::MAX);
    cards.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.pos.total_cmp(&b.pos)));
}

async fn copy_board_content(tx: &mut Tx, actor: &Actor, source: &Board, target: &Board, with_cards: bool) -> Result<()> {
    let lists: Vec<List> = find(tx, &[Cond::eq("board_id", &source.id), Cond::closed(false)], Order::Asc("pos"), None).await?;
    let labels: Vec<Label> = find(tx, &[Cond::eq("board_id", &source.id)], Order::Asc("id"), None).await?;
    let mut label_map = Vec::new();
    for old in &labels {
        let copy = label(&target.id, &old.name, old.color.as_deref());
        insert(tx, &copy).await?;
        label_map.push((old.id.clone(), copy.id));
    }
    let cards: Vec<Card> = if with_cards {
        find(tx, &[Cond::eq("board_id", &source.id), Cond::closed(false)], Order::Asc("pos"), None).await?
    } else {
        Vec::new()
    };
    for old_list in &lists {
        let list = List { id: new_id(), id_board: target.id.clone(), ..old_list.clone() };
        insert(tx, &list).await?;
        for old_card in cards.iter().filter(|c| c.id_list == old_list.id) {
            let id_short = tx.next_card_number(&target.id).await?;
            let card = Card {
                id: new_id(),
                id_board: target.id.clone(),
                id_list: list.id.clone(),
                id_short,
                short_link: short_link(),
                id_members: Vec::new(),
                id_members_voted: Vec::new(),
                id_checklists: Vec::new(),
                id_attachment_cover: None,
                id_labels: old_card
                    .id_labels
                    .iter()
                    .filter_map(|l| label_map.iter().find(|(o, _)| o == l).map(|(_, n)| n.clone()))
                    .collect(),
                counts: CardCounts::default(),
                date_last_activity: now(),
                ..old_card.clone()
            };
            insert(tx, &card).await?;
            let context = [
                ("board", board_ref(target)),
                ("list", crate::actions::list_ref(&list)),
                ("card", crate::actions::card_ref(&card)),
                ("cardSource", crate::actions::card_ref(old_card)),
            ];
            record(tx, actor, "copyCard", data(&context), Refs::card(target, &card)).await?;
        }
    }
    Ok(())
}
