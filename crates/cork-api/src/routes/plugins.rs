//! `/1/plugins` and the board and workspace routes about Power-Ups. On Cork a plugin is
//! a board add-on record (see `cork_core::plugins`): there is no iframe connector, and
//! no plugin data is ever stored.

use axum::extract::{Path, State};
use axum::routing::{delete, get, post, put};
use axum::Router;
use cork_core::plugins::{BoardPlugin, ListingInput, Plugin, PluginFilter, PluginInput, PluginListing};
use serde_json::{json, Value};

use super::{json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::Fields;
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/plugins/{id}", get(get_plugin).put(put_plugin))
        .route("/1/plugins/{id}/listing", post(post_listing))
        .route("/1/plugins/{id}/listings", get(get_listings))
        .route("/1/plugins/{id}/listings/{listing}", put(put_listing))
        .route("/1/plugins/{id}/compliance/memberPrivacy", get(get_member_privacy))
        .route("/1/boards/{id}/boardPlugins", get(get_board_plugins).post(post_board_plugin))
        .route("/1/boards/{id}/boardPlugins/{plugin}", delete(delete_board_plugin))
        .route("/1/boards/{id}/plugins", get(get_board_plugin_list))
        .route("/1/organizations/{id}/pluginData", get(get_org_plugin_data))
}

/// Trello's PluginListing.
fn listing_json(listing: &PluginListing) -> Value {
    json!({"id": listing.id, "name": listing.name, "locale": listing.locale, "description": listing.description, "overview": listing.overview})
}

/// A plugin as Trello's plugin catalogue shows one: exactly the keys of its Plugin
/// schema (trello.js refuses others, run strict), `icon` null without an icon, and the
/// first listing as `listing`.
fn plugin_json(plugin: &Plugin, listings: &[PluginListing]) -> Value {
    json!({
        "id": plugin.id,
        "name": plugin.name,
        "author": plugin.author,
        "idOrganizationOwner": null,
        "iframeConnectorUrl": null,
        "url": plugin.url,
        "privacyUrl": plugin.privacy_url,
        "supportEmail": plugin.support_email,
        "icon": plugin.icon_url.as_ref().map(|url| json!({"url": url})),
        "heroImageUrl": null,
        "public": plugin.public,
        "moderatedState": null,
        "capabilities": plugin.capabilities,
        "categories": plugin.categories,
        "tags": plugin.tags,
        "claimedDomains": [],
        "listing": listings.first().map(listing_json),
    })
}

/// Trello's boardPlugin.
fn board_plugin_json(enabled: &BoardPlugin) -> Value {
    json!({"id": enabled.id, "idBoard": enabled.id_board, "idPlugin": enabled.id_plugin, "promotional": enabled.promotional})
}

fn plugin_input(p: &Params) -> ApiResult<PluginInput> {
    Ok(PluginInput {
        name: p.text("name")?,
        author: p.text("author")?,
        url: p.text("url")?,
        privacy_url: p.text("privacyUrl")?,
        support_email: p.text("supportEmail")?,
        icon_url: p.text("iconUrl")?,
        public: p.bool("public")?,
        capabilities: p.list("capabilities")?,
        categories: p.list("categories")?,
        tags: p.list("tags")?,
    })
}

fn listing_input(p: &Params) -> ApiResult<ListingInput> {
    Ok(ListingInput {
        name: p.text("name")?,
        locale: p.text("locale")?,
        description: p.text("description")?,
        overview: p.text("overview")?,
    })
}

async fn get_plugin(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let view = app.cork.plugin_view(&id).await?;
    Ok(json_ok(plugin_json(&view.plugin, &view.listings)))
}

async fn put_plugin(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.update_plugin(&req.actor, &id, plugin_input(&req.params)?).await?;
    Ok(json_ok(plugin_json(&view.plugin, &view.listings)))
}

async fn post_listing(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let listing = app.cork.create_plugin_listing(&req.actor, &id, listing_input(&req.params)?).await?;
    Ok(json_ok(listing_json(&listing)))
}

async fn get_listings(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let view = app.cork.plugin_view(&id).await?;
    Ok(json_ok(Value::Array(view.listings.iter().map(listing_json).collect())))
}

async fn put_listing(State(app): State<App>, Path((id, listing)): Path<(String, String)>, req: Req) -> ApiResult {
    let listing = app.cork.update_plugin_listing(&req.actor, &id, &listing, listing_input(&req.params)?).await?;
    Ok(json_ok(listing_json(&listing)))
}

async fn get_member_privacy(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    Ok(json_ok(Value::Array(app.cork.plugin_member_privacy(&id).await?)))
}

async fn get_board_plugins(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let enabled = app.cork.board_plugins(&req.actor, &id).await?;
    Ok(json_ok(Value::Array(enabled.iter().map(board_plugin_json).collect())))
}

async fn post_board_plugin(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let plugin = req.params.text("idPlugin")?.ok_or_else(|| ApiError::invalid_value("idPlugin"))?;
    let enabled = app.cork.enable_board_plugin(&req.actor, &id, &plugin).await?;
    Ok(json_ok(board_plugin_json(&enabled)))
}

async fn delete_board_plugin(State(app): State<App>, Path((id, plugin)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.disable_board_plugin(&req.actor, &id, &plugin).await?;
    Ok(json_ok(json!({"_value": null})))
}

async fn get_board_plugin_list(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let filter = match req.params.str("filter").as_deref() {
        None | Some("enabled") => PluginFilter::Enabled,
        Some("available") => PluginFilter::Available,
        Some(_) => return Err(ApiError::invalid_value("filter")),
    };
    let plugins = app.cork.board_plugin_list(&req.actor, &id, filter).await?;
    Ok(json_ok(many(plugins.iter().map(|p| plugin_json(p, &[])), &Fields::from(&req.params, "fields", None))))
}

async fn get_org_plugin_data(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    Ok(json_ok(Value::Array(app.cork.org_plugin_data(&req.actor, &id).await?)))
}
