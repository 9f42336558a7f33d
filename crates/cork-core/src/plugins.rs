//! Power-Ups. Cork runs no third-party Power-Up code, so a plugin here is a board add-on
//! record: Cork administrators create them (`cork plugin create`) and describe them with
//! per-locale listings, and board members enable them on boards (`enablePlugin` /
//! `disablePlugin` actions). Nothing stores plugin data, so `pluginData` reads are empty.

use cork_store::{Arg, Cond, Order, Table, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::access::{Actor, Role, UNAUTHORIZED};
use crate::actions::{board_ref, data, record, Refs};
use crate::boards::board_with_role;
use crate::enterprise::require_admin;
use crate::ids::{is_id, new_id};
use crate::store_ext::{by_ids, find, get, insert, remove, save, Stored};
use crate::{now, Cork, DomainError, Result, NOT_FOUND};

/// A Power-Up record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Plugin {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub author: String,
    /// The add-on's home page.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub privacy_url: Option<String>,
    #[serde(default)]
    pub support_email: Option<String>,
    #[serde(default)]
    pub icon_url: Option<String>,
    /// Listed for every board (`/boards/{id}/plugins?filter=available`).
    #[serde(default = "yes")]
    pub public: bool,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub id_member_creator: String,
    pub date_created: String,
}

fn yes() -> bool {
    true
}

impl Stored for Plugin {
    const TABLE: Table = Table::Plugins;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        Vec::new()
    }
}

/// A plugin's description for one locale (Trello's PluginListing).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PluginListing {
    pub id: String,
    pub id_plugin: String,
    pub name: String,
    pub locale: String,
    pub description: String,
    pub overview: String,
}

impl Stored for PluginListing {
    const TABLE: Table = Table::PluginListings;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("plugin_id", Arg::text(&self.id_plugin)), ("locale", Arg::text(&self.locale))]
    }
}

/// A plugin enabled on a board (Trello's boardPlugin).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BoardPlugin {
    pub id: String,
    pub id_board: String,
    pub id_plugin: String,
    #[serde(default)]
    pub promotional: bool,
}

impl Stored for BoardPlugin {
    const TABLE: Table = Table::BoardPlugins;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("board_id", Arg::text(&self.id_board)), ("plugin_id", Arg::text(&self.id_plugin))]
    }
}

/// Fields of `cork plugin create` and `PUT /plugins/{id}/`; absent ones stay.
#[derive(Debug, Clone, Default)]
pub struct PluginInput {
    pub name: Option<String>,
    pub author: Option<String>,
    pub url: Option<String>,
    pub privacy_url: Option<String>,
    pub support_email: Option<String>,
    pub icon_url: Option<String>,
    pub public: Option<bool>,
    pub capabilities: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
}

/// Fields of a listing; on creation `locale` defaults to `en-US`.
#[derive(Debug, Clone, Default)]
pub struct ListingInput {
    pub name: Option<String>,
    pub locale: Option<String>,
    pub description: Option<String>,
    pub overview: Option<String>,
}

/// A plugin with its listings.
#[derive(Debug, Clone)]
pub struct PluginView {
    pub plugin: Plugin,
    pub listings: Vec<PluginListing>,
}

/// `GET /boards/{id}/plugins?filter=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginFilter {
    Enabled,
    Available,
}

fn plugin_ref(plugin: &Plugin) -> Value {
    json!({"id": plugin.id, "name": plugin.name})
}

async fn load_plugin(tx: &mut Tx, id: &str, invalid: DomainError) -> Result<Plugin> {
    if !is_id(id) {
        return Err(invalid);
    }
    get(tx, &id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))
}

fn web_url(value: Option<String>, name: &str) -> Result<Option<Option<String>>> {
    match value {
        None => Ok(None),
        Some(text) if text.is_empty() || text == "null" => Ok(Some(None)),
        Some(text) if (text.starts_with("https://") || text.starts_with("http://")) && text.len() <= 2048 => Ok(Some(Some(text))),
        Some(_) => Err(DomainError::InvalidValue(name.into())),
    }
}

/// Applies `input` to `plugin`, returning the old values of what changed.
fn apply(plugin: &mut Plugin, input: PluginInput) -> Result<Map<String, Value>> {
    let mut old = Map::new();
    if let Some(name) = input.name {
        let name = name.trim().to_string();
        if name.is_empty() || name.len() > 256 {
            return Err(DomainError::InvalidValue("name".into()));
        }
        old.insert("name".into(), json!(plugin.name));
        plugin.name = name;
    }
    if let Some(author) = input.author {
        old.insert("author".into(), json!(plugin.author));
        plugin.author = author;
    }
    if let Some(url) = web_url(input.url, "url")? {
        old.insert("url".into(), json!(plugin.url));
        plugin.url = url;
    }
    if let Some(url) = web_url(input.privacy_url, "privacyUrl")? {
        old.insert("privacyUrl".into(), json!(plugin.privacy_url));
        plugin.privacy_url = url;
    }
    if let Some(url) = web_url(input.icon_url, "iconUrl")? {
        old.insert("iconUrl".into(), json!(plugin.icon_url));
        plugin.icon_url = url;
    }
    if let Some(email) = input.support_email {
        let email = Some(email).filter(|e| !e.is_empty() && e != "null");
        if email.as_deref().is_some_and(|e| !e.contains('@') || e.contains(char::is_whitespace)) {
            return Err(DomainError::InvalidValue("supportEmail".into()));
        }
        old.insert("supportEmail".into(), json!(plugin.support_email));
        plugin.support_email = email;
    }
    if let Some(public) = input.public {
        old.insert("public".into(), json!(plugin.public));
        plugin.public = public;
    }
    for (key, value, field) in [
        ("capabilities", input.capabilities, &mut plugin.capabilities),
        ("categories", input.categories, &mut plugin.categories),
        ("tags", input.tags, &mut plugin.tags),
    ] {
        if let Some(value) = value {
            old.insert(key.into(), json!(field));
            *field = value;
        }
    }
    Ok(old)
}

fn apply_listing(listing: &mut PluginListing, input: ListingInput) -> Result<Map<String, Value>> {
    let mut old = Map::new();
    if let Some(name) = input.name {
        if name.len() > 256 {
            return Err(DomainError::InvalidValue("name".into()));
        }
        old.insert("name".into(), json!(listing.name));
        listing.name = name;
    }
    if let Some(locale) = input.locale {
        let valid = !locale.is_empty() && locale.len() <= 16 && locale.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(DomainError::InvalidValue("locale".into()));
        }
        old.insert("locale".into(), json!(listing.locale));
        listing.locale = locale;
    }
    if let Some(description) = input.description {
        old.insert("description".into(), json!(listing.description));
        listing.description = description;
    }
    if let Some(overview) = input.overview {
        old.insert("overview".into(), json!(listing.overview));
        listing.overview = overview;
    }
    Ok(old)
}

async fn listings_of(tx: &mut Tx, plugin_id: &str) -> Result<Vec<PluginListing>> {
    find(tx, &[Cond::eq("plugin_id", plugin_id)], Order::Asc("id"), None).await
}

async fn locale_taken(tx: &mut Tx, listing: &PluginListing) -> Result<bool> {
    let same: Vec<PluginListing> =
        find(tx, &[Cond::eq("plugin_id", &listing.id_plugin), Cond::eq("locale", &listing.locale)], Order::None, None).await?;
    Ok(same.iter().any(|l| l.id != listing.id))
}

impl Cork {
    /// Creates a plugin; Cork administrators only (`cork plugin create`).
    pub async fn create_plugin(&self, actor: &Actor, input: PluginInput) -> Result<Plugin> {
        let named = match input.name.as_deref() {
            Some(name) => !name.trim().is_empty(),
            None => false,
        };
        if !named {
            return Err(DomainError::InvalidValue("name".into()));
        }
        let mut tx = self.store.write().await?;
        let admin = require_admin(&mut tx, actor).await?;
        let mut plugin = Plugin {
            id: new_id(),
            name: String::new(),
            author: admin.full_name.clone(),
            url: None,
            privacy_url: None,
            support_email: None,
            icon_url: None,
            public: true,
            capabilities: Vec::new(),
            categories: Vec::new(),
            tags: Vec::new(),
            id_member_creator: admin.id.clone(),
            date_created: now(),
        };
        apply(&mut plugin, input)?;
        insert(&mut tx, &plugin).await?;
        record(&mut tx, actor, "createPlugin", data(&[("plugin", plugin_ref(&plugin))]), Refs::default()).await?;
        tx.commit().await?;
        Ok(plugin)
    }

    /// `GET /plugins/{id}/`: plugins are a public catalogue.
    pub async fn plugin_view(&self, id: &str) -> Result<PluginView> {
        let mut tx = self.store.read().await?;
        let plugin = load_plugin(&mut tx, id, DomainError::InvalidId).await?;
        let listings = listings_of(&mut tx, &plugin.id).await?;
        Ok(PluginView { plugin, listings })
    }

    /// `PUT /plugins/{id}/`: Cork administrators only.
    pub async fn update_plugin(&self, actor: &Actor, id: &str, input: PluginInput) -> Result<PluginView> {
        let mut tx = self.store.write().await?;
        require_admin(&mut tx, actor).await?;
        let mut plugin = load_plugin(&mut tx, id, DomainError::InvalidId).await?;
        let old = apply(&mut plugin, input)?;
        save(&mut tx, &plugin).await?;
        let context = [("plugin", plugin_ref(&plugin)), ("new", crate::actions::written(&plugin, &old)), ("old", Value::Object(old))];
        record(&mut tx, actor, "updatePlugin", data(&context), Refs::default()).await?;
        let listings = listings_of(&mut tx, &plugin.id).await?;
        tx.commit().await?;
        Ok(PluginView { plugin, listings })
    }

    /// `POST /plugins/{idPlugin}/listing`: one listing per locale; administrators only.
    pub async fn create_plugin_listing(&self, actor: &Actor, plugin_id: &str, input: ListingInput) -> Result<PluginListing> {
        let mut tx = self.store.write().await?;
        require_admin(&mut tx, actor).await?;
        let plugin = load_plugin(&mut tx, plugin_id, DomainError::InvalidId).await?;
        let mut listing = PluginListing {
            id: new_id(),
            id_plugin: plugin.id.clone(),
            name: plugin.name.clone(),
            locale: "en-US".into(),
            description: String::new(),
            overview: String::new(),
        };
        apply_listing(&mut listing, input)?;
        if locale_taken(&mut tx, &listing).await? {
            return Err(DomainError::BadRequest(format!("the plugin already has a listing for {}", listing.locale)));
        }
        insert(&mut tx, &listing).await?;
        record(
            &mut tx,
            actor,
            "createPluginListing",
            data(&[("plugin", plugin_ref(&plugin)), ("listing", json!({"id": listing.id, "locale": listing.locale}))]),
            Refs::default(),
        )
        .await?;
        tx.commit().await?;
        Ok(listing)
    }

    /// `PUT /plugins/{idPlugin}/listings/{idListing}`: administrators only.
    pub async fn update_plugin_listing(
        &self,
        actor: &Actor,
        plugin_id: &str,
        listing_id: &str,
        input: ListingInput,
    ) -> Result<PluginListing> {
        let mut tx = self.store.write().await?;
        require_admin(&mut tx, actor).await?;
        let plugin = load_plugin(&mut tx, plugin_id, DomainError::InvalidId).await?;
        if !is_id(listing_id) {
            return Err(DomainError::InvalidId);
        }
        let mut listing: PluginListing = get(&mut tx, &listing_id.to_ascii_lowercase())
            .await?
            .filter(|l: &PluginListing| l.id_plugin == plugin.id)
            .ok_or(DomainError::NotFound(NOT_FOUND))?;
        let old = apply_listing(&mut listing, input)?;
        if locale_taken(&mut tx, &listing).await? {
            return Err(DomainError::BadRequest(format!("the plugin already has a listing for {}", listing.locale)));
        }
        save(&mut tx, &listing).await?;
        let context = [
            ("plugin", plugin_ref(&plugin)),
            ("listing", json!({"id": listing.id, "locale": listing.locale})),
            ("new", crate::actions::written(&listing, &old)),
            ("old", Value::Object(old)),
        ];
        record(&mut tx, actor, "updatePluginListing", data(&context), Refs::default()).await?;
        tx.commit().await?;
        Ok(listing)
    }

    /// `GET /boards/{id}/boardPlugins`: the plugins enabled on a board.
    pub async fn board_plugins(&self, actor: &Actor, board: &str) -> Result<Vec<BoardPlugin>> {
        let mut tx = self.store.read().await?;
        let (board, _) = board_with_role(&mut tx, actor, board, Role::Read, UNAUTHORIZED).await?;
        find(&mut tx, &[Cond::eq("board_id", &board.id)], Order::Asc("id"), None).await
    }

    /// `GET /boards/{id}/plugins`: the enabled plugins, or every plugin a board may use.
    pub async fn board_plugin_list(&self, actor: &Actor, board: &str, filter: PluginFilter) -> Result<Vec<Plugin>> {
        let mut tx = self.store.read().await?;
        let (board, _) = board_with_role(&mut tx, actor, board, Role::Read, UNAUTHORIZED).await?;
        let enabled: Vec<BoardPlugin> = find(&mut tx, &[Cond::eq("board_id", &board.id)], Order::None, None).await?;
        let mut plugins: Vec<Plugin> = match filter {
            PluginFilter::Enabled => {
                let ids: Vec<&str> = enabled.iter().map(|e| e.id_plugin.as_str()).collect();
                by_ids(&mut tx, &ids).await?
            }
            PluginFilter::Available => {
                let all: Vec<Plugin> = find(&mut tx, &[], Order::Asc("id"), None).await?;
                all.into_iter().filter(|p| p.public || enabled.iter().any(|e| e.id_plugin == p.id)).collect()
            }
        };
        plugins.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(plugins)
    }

    /// `POST /boards/{id}/boardPlugins`: board members enable a plugin (once).
    pub async fn enable_board_plugin(&self, actor: &Actor, board: &str, plugin_id: &str) -> Result<BoardPlugin> {
        let mut tx = self.store.write().await?;
        let (board, _) = board_with_role(&mut tx, actor, board, Role::Write, UNAUTHORIZED).await?;
        let plugin = load_plugin(&mut tx, plugin_id, DomainError::InvalidValue("idPlugin".into())).await?;
        let existing: Option<BoardPlugin> =
            find(&mut tx, &[Cond::eq("board_id", &board.id), Cond::eq("plugin_id", &plugin.id)], Order::None, Some(1)).await?.pop();
        if let Some(existing) = existing {
            return Ok(existing);
        }
        let enabled = BoardPlugin { id: new_id(), id_board: board.id.clone(), id_plugin: plugin.id.clone(), promotional: false };
        insert(&mut tx, &enabled).await?;
        record(&mut tx, actor, "enablePlugin", data(&[("board", board_ref(&board)), ("plugin", plugin_ref(&plugin))]), Refs::board(&board))
            .await?;
        tx.commit().await?;
        Ok(enabled)
    }

    /// `DELETE /boards/{id}/boardPlugins/{idPlugin}`.
    pub async fn disable_board_plugin(&self, actor: &Actor, board: &str, plugin_id: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let (board, _) = board_with_role(&mut tx, actor, board, Role::Write, UNAUTHORIZED).await?;
        let plugin = load_plugin(&mut tx, plugin_id, DomainError::InvalidId).await?;
        let existing: Option<BoardPlugin> =
            find(&mut tx, &[Cond::eq("board_id", &board.id), Cond::eq("plugin_id", &plugin.id)], Order::None, Some(1)).await?.pop();
        let enabled = existing.ok_or(DomainError::NotFound(NOT_FOUND))?;
        remove(&mut tx, &enabled).await?;
        let context = [("board", board_ref(&board)), ("plugin", plugin_ref(&plugin)), ("deleted", serde_json::to_value(&enabled)?)];
        record(&mut tx, actor, "disablePlugin", data(&context), Refs::board(&board)).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Cork {
    /// `GET /plugins/{id}/compliance/memberPrivacy`: the member-privacy events a plugin
    /// must act on. Cork hands no member data to add-ons, so there are none.
    pub async fn plugin_member_privacy(&self, id: &str) -> Result<Vec<Value>> {
        let mut tx = self.store.read().await?;
        load_plugin(&mut tx, id, DomainError::InvalidId).await?;
        Ok(Vec::new())
    }

    /// `GET /organizations/{id}/pluginData`: workspace-scoped plugin data, which nothing
    /// in Cork writes; readable by whoever can read the workspace.
    pub async fn org_plugin_data(&self, actor: &Actor, org: &str) -> Result<Vec<Value>> {
        let mut tx = self.store.read().await?;
        crate::organizations::org_with_role(&mut tx, actor, org, Role::Read).await?;
        Ok(Vec::new())
    }
}

/// Enables a plugin on a board again with the record it had (an undo of
/// `disablePlugin`), recording `enablePlugin`.
pub(crate) async fn reenable(tx: &mut Tx, actor: &Actor, enabled: &BoardPlugin) -> Result<()> {
    let (board, _) = board_with_role(tx, actor, &enabled.id_board, Role::Write, UNAUTHORIZED).await?;
    let plugin = load_plugin(tx, &enabled.id_plugin, DomainError::InvalidId).await?;
    insert(tx, enabled).await?;
    record(tx, actor, "enablePlugin", data(&[("board", board_ref(&board)), ("plugin", plugin_ref(&plugin))]), Refs::board(&board)).await?;
    Ok(())
}
