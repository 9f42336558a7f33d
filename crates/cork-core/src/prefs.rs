//! A member's own settings: preferences on a board (`myPrefs`), saved searches and
//! board backgrounds. Only the member reads or changes them, and changes need a token
//! with the `account` scope. Preferences (`myPrefs`, saved searches) are not logged, as
//! on Trello; uploaded backgrounds are content and are.

use cork_store::{Arg, Cond, Order, Table};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::access::{Actor, Role, UNAUTHORIZED};
use crate::actions::{data, record, Refs};
use crate::boards::board_with_role;
use crate::files::{FileRef, Upload};
use crate::ids::{is_id, new_id};
use crate::model::List;
use crate::pos::Pos;
use crate::store_ext::{find, get, insert, remove, save, Stored};
use crate::uploads::{image_upload, own_member, own_record, Owned};
use crate::{Cork, DomainError, Result, NOT_FOUND};

/// The board preferences each member sets for themself, with Trello's defaults.
pub fn default_my_prefs() -> Map<String, Value> {
    let mut prefs = Map::new();
    for (key, value) in [
        ("showSidebar", json!(true)),
        ("showSidebarMembers", json!(true)),
        ("showSidebarBoardActions", json!(true)),
        ("showSidebarActivity", json!(true)),
        ("emailPosition", json!("bottom")),
        ("idEmailList", Value::Null),
    ] {
        prefs.insert(key.to_string(), value);
    }
    prefs
}

/// What one member changed of their preferences on one board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BoardMyPrefs {
    pub id: String,
    pub id_board: String,
    pub id_member: String,
    pub prefs: Map<String, Value>,
}

impl Stored for BoardMyPrefs {
    const TABLE: Table = Table::BoardMyPrefs;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("board_id", Arg::text(&self.id_board)), ("member_id", Arg::text(&self.id_member))]
    }
}

/// A search a member keeps.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SavedSearch {
    pub id: String,
    pub id_member: String,
    pub name: String,
    pub query: String,
    pub pos: f64,
}

impl Owned for SavedSearch {
    fn owner(&self) -> &str {
        &self.id_member
    }
}

impl Stored for SavedSearch {
    const TABLE: Table = Table::SavedSearches;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("member_id", Arg::text(&self.id_member)), ("pos", Arg::Float(self.pos))]
    }
}

/// A picture a member uploaded as a board background.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BoardBackground {
    pub id: String,
    pub id_member: String,
    /// `dark`, `light` or `unknown`: whether text on it should be light or dark.
    pub brightness: String,
    pub tile: bool,
    pub file: FileRef,
}

impl Stored for BoardBackground {
    const TABLE: Table = Table::BoardBackgrounds;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("member_id", Arg::text(&self.id_member))]
    }
}

/// Changes to a custom background.
#[derive(Debug, Clone, Default)]
pub struct BackgroundPatch {
    pub brightness: Option<String>,
    pub tile: Option<bool>,
}

/// Changes to a saved search; all three are required on creation.
#[derive(Debug, Clone, Default)]
pub struct SavedSearchInput {
    pub name: Option<String>,
    pub query: Option<String>,
    pub pos: Option<Pos>,
}

fn check_text(name: &str, value: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty() || value.len() > 16384 {
        return Err(DomainError::InvalidValue(name.into()));
    }
    Ok(value.to_string())
}

impl Cork {
    /// `GET /boards/{id}/myPrefs`: the actor's preferences on a board they can read.
    pub async fn board_my_prefs(&self, actor: &Actor, board_reference: &str) -> Result<Map<String, Value>> {
        let mut tx = self.store.read().await?;
        let member = actor.require_member()?.clone();
        let (board, _) = board_with_role(&mut tx, actor, board_reference, Role::Read, UNAUTHORIZED).await?;
        let stored: Option<BoardMyPrefs> =
            find(&mut tx, &[Cond::eq("board_id", &board.id), Cond::eq("member_id", &member.id)], Order::None, Some(1)).await?.pop();
        let mut prefs = default_my_prefs();
        prefs.extend(stored.map(|s| s.prefs).unwrap_or_default());
        Ok(prefs)
    }

    /// `PUT /boards/{id}/myPrefs/{name}` with `value`; returns every preference.
    pub async fn set_board_my_pref(&self, actor: &Actor, board_reference: &str, name: &str, value: &str) -> Result<Map<String, Value>> {
        // `showListGuide` has no default (Trello's myPrefs do not show it) but older
        // clients still set it.
        if !default_my_prefs().contains_key(name) && name != "showListGuide" {
            return Err(DomainError::NotFound(NOT_FOUND));
        }
        let mut tx = self.store.write().await?;
        let member = actor.require_member()?.clone();
        if !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let (board, _) = board_with_role(&mut tx, actor, board_reference, Role::Read, UNAUTHORIZED).await?;
        let invalid = || DomainError::InvalidValue("value".into());
        let value = match name {
            "emailPosition" if matches!(value, "top" | "bottom") => json!(value),
            "emailPosition" => return Err(invalid()),
            "idEmailList" => {
                // The list new cards sent by email land in: an open list of this board.
                let list: Option<List> = if is_id(value) { get(&mut tx, &value.to_ascii_lowercase()).await? } else { None };
                let list = list.filter(|l| l.id_board == board.id && !l.closed).ok_or_else(invalid)?;
                json!(list.id)
            }
            _ => match value.to_ascii_lowercase().as_str() {
                "true" => json!(true),
                "false" => json!(false),
                _ => return Err(invalid()),
            },
        };
        let found: Option<BoardMyPrefs> =
            find(&mut tx, &[Cond::eq("board_id", &board.id), Cond::eq("member_id", &member.id)], Order::None, Some(1)).await?.pop();
        let old = found.as_ref().and_then(|f| f.prefs.get(name).cloned()).unwrap_or(Value::Null);
        let fields = [("idBoard", json!(board.id)), ("pref", json!(name)), ("value", value.clone()), ("old", old)];
        crate::audit::change(&mut tx, Some(actor), "member.boardPref", &fields).await?;
        let stored = match found {
            Some(mut stored) => {
                stored.prefs.insert(name.to_string(), value);
                save(&mut tx, &stored).await?;
                stored
            }
            None => {
                let mut prefs = Map::new();
                prefs.insert(name.to_string(), value);
                let stored = BoardMyPrefs { id: new_id(), id_board: board.id.clone(), id_member: member.id.clone(), prefs };
                insert(&mut tx, &stored).await?;
                stored
            }
        };
        tx.commit().await?;
        let mut prefs = default_my_prefs();
        prefs.extend(stored.prefs);
        Ok(prefs)
    }

    /// `GET /members/{id}/savedSearches`, in `pos` order.
    pub async fn saved_searches(&self, actor: &Actor, member_ref: &str) -> Result<Vec<SavedSearch>> {
        let mut tx = self.store.read().await?;
        let member = own_member(&mut tx, actor, member_ref, false).await?;
        find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::Asc("pos"), None).await
    }

    /// `GET /members/{id}/savedSearches/{idSearch}`.
    pub async fn saved_search(&self, actor: &Actor, member_ref: &str, search_id: &str) -> Result<SavedSearch> {
        let mut tx = self.store.read().await?;
        let (_, search): (_, SavedSearch) = own_record(&mut tx, actor, member_ref, search_id, false).await?;
        Ok(search)
    }

    /// `POST /members/{id}/savedSearches`: `name`, `query` and `pos`.
    pub async fn create_saved_search(&self, actor: &Actor, member_ref: &str, input: SavedSearchInput) -> Result<SavedSearch> {
        let name = check_text("name", input.name.as_deref().unwrap_or_default())?;
        let query = check_text("query", input.query.as_deref().unwrap_or_default())?;
        let pos = input.pos.ok_or_else(|| DomainError::InvalidValue("pos".into()))?;
        let mut tx = self.store.write().await?;
        let member = own_member(&mut tx, actor, member_ref, true).await?;
        let range = tx.pos_range(Table::SavedSearches, &[Cond::eq("member_id", &member.id)]).await?;
        let search = SavedSearch { id: new_id(), id_member: member.id.clone(), name, query, pos: pos.resolve(range) };
        insert(&mut tx, &search).await?;
        tx.commit().await?;
        Ok(search)
    }

    /// `PUT /members/{id}/savedSearches/{idSearch}`.
    pub async fn update_saved_search(
        &self,
        actor: &Actor,
        member_ref: &str,
        search_id: &str,
        input: SavedSearchInput,
    ) -> Result<SavedSearch> {
        let name = input.name.as_deref().map(|n| check_text("name", n)).transpose()?;
        let query = input.query.as_deref().map(|q| check_text("query", q)).transpose()?;
        let mut tx = self.store.write().await?;
        let (member, mut search): (_, SavedSearch) = own_record(&mut tx, actor, member_ref, search_id, true).await?;
        if let Some(name) = name {
            search.name = name;
        }
        if let Some(query) = query {
            search.query = query;
        }
        if let Some(pos) = input.pos {
            let range = tx.pos_range(Table::SavedSearches, &[Cond::eq("member_id", &member.id)]).await?;
            search.pos = pos.resolve(range);
        }
        save(&mut tx, &search).await?;
        tx.commit().await?;
        Ok(search)
    }

    /// `DELETE /members/{id}/savedSearches/{idSearch}`.
    pub async fn delete_saved_search(&self, actor: &Actor, member_ref: &str, search_id: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (_, search): (_, SavedSearch) = own_record(&mut tx, actor, member_ref, search_id, true).await?;
        remove(&mut tx, &search).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /members/{id}/boardBackgrounds`: the member's uploads (`custom`). Trello's
    /// `default` and `premium` backgrounds are its own stock photos, which Cork does not
    /// have (board colours are set by name in the board's `prefs/background`).
    pub async fn board_backgrounds(&self, actor: &Actor, member_ref: &str, filter: &str) -> Result<Vec<BoardBackground>> {
        let mut tx = self.store.read().await?;
        let member = own_member(&mut tx, actor, member_ref, false).await?;
        if !matches!(filter, "all" | "custom") {
            return Ok(Vec::new());
        }
        find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::Asc("id"), None).await
    }

    /// One of the member's uploaded backgrounds.
    pub async fn board_background(&self, actor: &Actor, member_ref: &str, background_id: &str) -> Result<BoardBackground> {
        let mut tx = self.store.read().await?;
        let member = own_member(&mut tx, actor, member_ref, false).await?;
        custom_background(&mut tx, &member.id, background_id).await
    }

    /// `POST /members/{id}/(custom)boardBackgrounds` with an image file.
    pub async fn create_board_background(&self, actor: &Actor, member_ref: &str, upload: Upload) -> Result<BoardBackground> {
        let mut file = image_upload(&upload)?;
        self.pictures.check_enabled()?;
        // As for attachments: check, write the bytes, then the transaction checks again.
        own_member(&mut self.store.read().await?, actor, member_ref, true).await?;
        let mut pending = self.pictures.pending();
        file.key = pending.write(upload.bytes).await?;
        let mut tx = self.store.write().await?;
        let member = own_member(&mut tx, actor, member_ref, true).await?;
        let background = BoardBackground { id: new_id(), id_member: member.id.clone(), brightness: "unknown".into(), tile: false, file };
        insert(&mut tx, &background).await?;
        record(&mut tx, actor, "createBoardBackground", data(&[("boardBackground", json!({"id": background.id}))]), Refs::default())
            .await?;
        tx.commit().await?;
        pending.keep();
        Ok(background)
    }

    /// `PUT /members/{id}/(custom)boardBackgrounds/{idBackground}`: `brightness`, `tile`.
    pub async fn update_board_background(
        &self,
        actor: &Actor,
        member_ref: &str,
        background_id: &str,
        patch: BackgroundPatch,
    ) -> Result<BoardBackground> {
        if patch.brightness.as_deref().is_some_and(|b| !matches!(b, "dark" | "light" | "unknown")) {
            return Err(DomainError::InvalidValue("brightness".into()));
        }
        let mut tx = self.store.write().await?;
        let member = own_member(&mut tx, actor, member_ref, true).await?;
        let mut background = custom_background(&mut tx, &member.id, background_id).await?;
        let mut old = Map::new();
        if let Some(brightness) = patch.brightness.filter(|b| *b != background.brightness) {
            old.insert("brightness".into(), json!(background.brightness));
            background.brightness = brightness;
        }
        if let Some(tile) = patch.tile.filter(|t| *t != background.tile) {
            old.insert("tile".into(), json!(background.tile));
            background.tile = tile;
        }
        if old.is_empty() {
            return Ok(background);
        }
        save(&mut tx, &background).await?;
        let context = [
            ("boardBackground", json!({"id": background.id, "brightness": background.brightness, "tile": background.tile})),
            ("old", Value::Object(old)),
        ];
        record(&mut tx, actor, "updateBoardBackground", data(&context), Refs::default()).await?;
        tx.commit().await?;
        Ok(background)
    }

    /// `DELETE /members/{id}/(custom)boardBackgrounds/{idBackground}`; the picture goes
    /// once the deletion commits.
    pub async fn delete_board_background(&self, actor: &Actor, member_ref: &str, background_id: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let member = own_member(&mut tx, actor, member_ref, true).await?;
        let background = custom_background(&mut tx, &member.id, background_id).await?;
        remove(&mut tx, &background).await?;
        let context = [("boardBackground", json!({"id": background.id})), ("deleted", json!(background))];
        record(&mut tx, actor, "deleteBoardBackground", data(&context), Refs::default()).await?;
        tx.commit().await?;
        self.pictures.discard(std::slice::from_ref(&background.file.key)).await;
        Ok(())
    }
}

async fn custom_background(tx: &mut cork_store::Tx, member_id: &str, background_id: &str) -> Result<BoardBackground> {
    if !is_id(background_id) {
        return Err(DomainError::InvalidId);
    }
    let background: BoardBackground = get(tx, &background_id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    if background.id_member != member_id {
        return Err(DomainError::NotFound(NOT_FOUND));
    }
    Ok(background)
}
