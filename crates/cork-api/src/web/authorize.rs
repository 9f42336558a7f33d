//! `GET /1/authorize`, Trello's token-issuing page: the logged-in member sees which
//! application asks for what, chooses all boards or specific ones (Cork's per-board
//! tokens), and approves or denies. Approval issues the token under the application's
//! key and hands it back by the requested `callback_method`: a redirect with
//! `#token=...`, a page that posts it to `window.opener`, or a page that shows it.
//!
//! Every parameter is validated before the login redirect, so a broken link fails at
//! once with a clear error; the approving POST re-validates all of them (it is a form
//! anyone could forge) and needs a live session and its CSRF token.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cork_core::accounts::{expiration, TokenGrant};
use cork_core::gates::GateKind;
use cork_core::model::{AppKey, Board, Organization, TokenPermission};
use cork_core::sessions::WebSession;
use cork_core::Actor;
use cork_core::DomainError;

use super::account::internal;
use super::{csrf_field, csrf_refusal, current_session, esc, hidden, message, page, page_with, redirect, to_login, Form};
use crate::error::ApiError;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new().route("/1/authorize", get(get_authorize).post(post_authorize))
}

/// What an application asks for: shared by `/1/authorize` and `OAuthAuthorizeToken`.
pub(super) struct Ask {
    pub key: AppKey,
    pub name: String,
    pub scopes: Vec<String>,
    pub expiration: String,
}

/// Validates `scope` (default `read`) and `expiration` (default `30days`), as Trello's
/// authorize pages take them.
pub(super) fn scopes_and_expiration(form: &Form) -> Result<(Vec<String>, String), ApiError> {
    let mut scopes = Vec::new();
    for scope in form.opt("scope").unwrap_or("read").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !matches!(scope, "read" | "write" | "account") {
            return Err(ApiError::invalid_value("scope"));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    if scopes.is_empty() {
        return Err(ApiError::invalid_value("scope"));
    }
    let lifetime = form.opt("expiration").unwrap_or("30days");
    if expiration(lifetime).is_none() {
        return Err(ApiError::invalid_value("expiration"));
    }
    Ok((scopes, lifetime.to_string()))
}

/// The application's name as shown: `name=`, else the key's own name.
pub(super) fn app_name(form: &Form, key: &AppKey) -> Result<String, ApiError> {
    let name = form.opt("name").map(str::trim).filter(|n| !n.is_empty()).unwrap_or(&key.name).to_string();
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_value("name"));
    }
    Ok(name)
}

/// How `/1/authorize` hands the token back.
enum Delivery {
    /// No return_url: a page shows the token.
    Show,
    /// 302 to `return_url#token=...`.
    Fragment(url::Url),
    /// A page posts the token to `window.opener`, targeted at the return_url's origin.
    PostMessage(url::Url),
}

struct AuthorizeRequest {
    ask: Ask,
    delivery: Delivery,
}

fn return_url(form: &Form) -> Result<Option<url::Url>, ApiError> {
    let Some(raw) = form.opt("return_url") else { return Ok(None) };
    match url::Url::parse(raw) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.username().is_empty()
                && url.password().is_none() =>
        {
            Ok(Some(url))
        }
        _ => Err(ApiError::invalid_value("return_url")),
    }
}

async fn parse_request(app: &App, form: &Form) -> Result<AuthorizeRequest, ApiError> {
    let key = app.cork.app_key(form.get("key")).await?.ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "invalid key"))?;
    let name = app_name(form, &key)?;
    let (scopes, expiration) = scopes_and_expiration(form)?;
    if !matches!(form.opt("response_type"), None | Some("token")) {
        return Err(ApiError::invalid_value("response_type"));
    }
    let url = return_url(form)?;
    let delivery = match (form.opt("callback_method"), url) {
        (None | Some("fragment"), None) => Delivery::Show,
        (None | Some("fragment"), Some(url)) => Delivery::Fragment(url),
        (Some("postMessage"), Some(url)) => Delivery::PostMessage(url),
        (Some("postMessage"), None) => return Err(ApiError::invalid_value("return_url")),
        _ => return Err(ApiError::invalid_value("callback_method")),
    };
    Ok(AuthorizeRequest { ask: Ask { key, name, scopes, expiration }, delivery })
}

/// What a member may hand out on the consent page: their open boards and the
/// workspaces they belong to (a workspace entry reaches that workspace's boards).
pub(super) struct Grantable {
    pub boards: Vec<Board>,
    pub orgs: Vec<Organization>,
}

/// Loads the boards and workspaces the consent page offers.
pub(super) async fn grantable(app: &App, session: &WebSession) -> Result<Grantable, DomainError> {
    let actor = Actor::member(session.member.clone());
    let boards = app.cork.member_boards(&actor, &session.member.id, "open").await?;
    let orgs = app.cork.member_orgs(&actor, &session.member.id).await?;
    Ok(Grantable { boards, orgs })
}

/// One `<select>` row of the consent page's table.
fn choice_row(field: &str, id: &str, label: &str, write: bool) -> String {
    let write_option = if write { "<option value=\"write\">read and write</option>" } else { "" };
    format!(
        "<tr><td>{}</td><td><select name=\"{field}.{}\" aria-label=\"access to {}\"><option value=\"none\">no access</option>\
         <option value=\"read\">read</option>{write_option}</select></td></tr>",
        esc(label),
        esc(id),
        esc(label)
    )
}

fn scope_words(scope: &str) -> &'static str {
    match scope {
        "read" => "Read your boards, lists, cards and workspaces",
        "write" => "Create and change boards, lists, cards and workspaces",
        "account" => "Change your member profile and mark notifications read",
        _ => "",
    }
}

/// The member's review choice on the consent page (`gate`: `none`, `destructive`,
/// `writes`): which of the token's changes wait for a board admin's approval.
pub(super) fn chosen_gate(form: &Form) -> Result<Option<GateKind>, ApiError> {
    match form.opt("gate").unwrap_or("none") {
        "none" => Ok(None),
        other => GateKind::parse(other).map(Some).ok_or_else(|| ApiError::invalid_value("gate")),
    }
}

/// The consent page: `action` is the form's target, `carry` the hidden fields that
/// restate the request; `offer_gate`: the member may put the token's changes under review.
pub(super) fn consent_page(
    session: &WebSession,
    action: &str,
    carry: &[(&str, &str)],
    ask: &Ask,
    grantable: &Grantable,
    offer_gate: bool,
) -> Response {
    let scopes: String = ask.scopes.iter().map(|s| format!("<li>{}</li>", esc(scope_words(s)))).collect();
    let lifetime = match ask.expiration.as_str() {
        "never" => "It never expires (until you revoke it).".to_string(),
        "1hour" => "It expires in one hour.".to_string(),
        "1day" => "It expires in one day.".to_string(),
        other => format!("It expires in {}.", other.replace("days", " days")),
    };
    let write = ask.scopes.iter().any(|s| s == "write");
    let mut board_rows = String::new();
    for board in &grantable.boards {
        board_rows.push_str(&choice_row("board", &board.id, &board.name, write));
    }
    if grantable.boards.is_empty() {
        board_rows.push_str("<tr><td colspan=\"2\" class=\"note\">You are on no open boards.</td></tr>");
    }
    if !grantable.orgs.is_empty() {
        board_rows.push_str("<tr><th colspan=\"2\">Workspaces (all their boards)</th></tr>");
    }
    for org in &grantable.orgs {
        board_rows.push_str(&choice_row("org", &org.id, &org.display_name, write));
    }
    let fields: String = carry.iter().map(|(name, value)| hidden(name, value)).collect();
    let review = if offer_gate && write {
        "<fieldset><legend>Review by a board admin</legend>\
         <label><input type=\"radio\" name=\"gate\" value=\"none\" checked> None: its changes apply at once</label>\
         <label><input type=\"radio\" name=\"gate\" value=\"destructive\"> Its deletes, archiving and permission changes wait for approval</label>\
         <label><input type=\"radio\" name=\"gate\" value=\"writes\"> Every change it makes waits for approval</label></fieldset>"
    } else {
        ""
    };
    let body = format!(
        "<h1>Let {} use your account?</h1><p>The application <strong>{}</strong> (key <code>{}</code>) asks to act for \
         <strong>{}</strong>. It will be able to:</p><ul>{scopes}</ul><p>{}</p>\
         <form method=\"post\" action=\"{}\">{}{fields}\
         <label><input type=\"radio\" name=\"access\" value=\"all\" checked> All my boards and workspaces</label>\
         <label><input type=\"radio\" name=\"access\" value=\"boards\"> Only the boards and workspaces chosen below</label>\
         <table>{board_rows}</table>{review}\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button></form>",
        esc(&ask.name),
        esc(&ask.name),
        esc(&ask.key.id),
        esc(&session.member.username),
        esc(&lifetime),
        esc(action),
        csrf_field(&session.csrf)
    );
    page(StatusCode::OK, "Authorize", Some(session), &body)
}

/// The member's choice on the consent page: empty for all boards, else the chosen boards
/// and workspaces (only ones the member is on; anything else is refused).
pub(super) fn chosen_models(form: &Form, grantable: &Grantable) -> Result<Vec<TokenPermission>, ApiError> {
    match form.opt("access") {
        None | Some("all") => Ok(Vec::new()),
        Some("boards") => {
            let mut models = Vec::new();
            for (name, value) in form.iter() {
                let (model_type, id, known) = if let Some(id) = name.strip_prefix("board.") {
                    ("Board", id, grantable.boards.iter().any(|b| b.id == id))
                } else if let Some(id) = name.strip_prefix("org.") {
                    ("Organization", id, grantable.orgs.iter().any(|o| o.id == id))
                } else {
                    continue;
                };
                let write = match value.as_str() {
                    "none" => continue,
                    "read" => false,
                    "write" => true,
                    _ => return Err(ApiError::invalid_value("access")),
                };
                if !known {
                    return Err(ApiError::invalid_value("idModel"));
                }
                models.push(TokenPermission { id_model: id.to_string(), model_type: model_type.into(), read: true, write });
            }
            if models.is_empty() {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "choose at least one board or workspace, or all boards"));
            }
            models.sort_by(|a, b| a.id_model.cmp(&b.id_model));
            Ok(models)
        }
        Some(_) => Err(ApiError::invalid_value("access")),
    }
}

/// The request's own query, re-encoded from the validated form, for the login detour.
fn here(uri: &axum::http::Uri) -> String {
    match uri.query() {
        Some(q) => format!("{}?{q}", uri.path()),
        None => uri.path().to_string(),
    }
}

async fn get_authorize(State(app): State<App>, OriginalUri(uri): OriginalUri, headers: HeaderMap) -> Response {
    let form = super::query(&uri);
    let request = match parse_request(&app, &form).await {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let Some(session) = current_session(&app, &headers).await else { return to_login(&here(&uri)) };
    let grantable = match grantable(&app, &session).await {
        Ok(grantable) => grantable,
        Err(error) => return internal(error),
    };
    let mut carry: Vec<(&str, &str)> = Vec::new();
    for name in ["key", "name", "scope", "expiration", "response_type", "callback_method", "return_url"] {
        if let Some(value) = form.opt(name) {
            carry.push((name, value));
        }
    }
    consent_page(&session, "/1/authorize", &carry, &request.ask, &grantable, true)
}

/// Script-safe JSON string: `<` escaped so the value cannot close the script element.
fn script_string(value: &str) -> String {
    serde_json::Value::String(value.to_string()).to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

async fn post_authorize(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let session = current_session(&app, &headers).await;
    if let Some(refused) = csrf_refusal(&app, &headers, session.as_ref(), &form) {
        return refused;
    }
    let Some(session) = session else {
        return message(StatusCode::UNAUTHORIZED, "Not logged in", None, "Log in and approve the application again. No token was issued.");
    };
    let request = match parse_request(&app, &form).await {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    if form.get("decision") != "approve" {
        return message(StatusCode::OK, "Access denied", Some(&session), "No token was issued. You can close this window.");
    }
    let grantable = match grantable(&app, &session).await {
        Ok(grantable) => grantable,
        Err(error) => return internal(error),
    };
    let models = match chosen_models(&form, &grantable) {
        Ok(models) => models,
        Err(error) => return error.into_response(),
    };
    let gate = match chosen_gate(&form) {
        Ok(gate) => gate,
        Err(error) => return error.into_response(),
    };
    let Ask { key, name, scopes, expiration: lifetime } = request.ask;
    let shown_name = name.clone();
    let grant = TokenGrant { key: Some(key.id), app: name, scopes, expires: expiration(&lifetime).flatten(), models };
    let issued = match app.cork.issue(&session.member, grant).await {
        Ok(issued) => issued,
        Err(error @ (DomainError::InvalidValue(_) | DomainError::Unauthorized(_))) => return ApiError::from(error).into_response(),
        Err(error) => return internal(error),
    };
    // Set before the token leaves this page: no request of it is ever ungated.
    if gate.is_some() {
        if let Err(error) = app.cork.set_token_gate(&issued.id_token, gate).await {
            return internal(error);
        }
    }
    match request.delivery {
        Delivery::Fragment(mut url) => {
            url.set_fragment(Some(&format!("token={}", issued.token)));
            redirect(StatusCode::FOUND, url.as_str())
        }
        Delivery::PostMessage(url) => {
            let nonce = cork_core::ids::random_hex(16);
            let code = format!(
                "(function(){{var t={},o={};if(window.opener){{window.opener.postMessage(t,o);window.close();}}}})();",
                script_string(&issued.token),
                script_string(&url.origin().ascii_serialization())
            );
            let body = "<h1>Authorized</h1><p>The token was sent to the application. You can close this window.</p>";
            page_with(StatusCode::OK, "Authorized", Some(&session), body, Some((&nonce, &code)))
        }
        Delivery::Show => {
            let body = format!(
                "<h1>Your token</h1><p>Copy this token into <strong>{}</strong>. It is shown only once.</p><p><code class=\"secret\" id=\"token\">{}</code></p>",
                esc(&shown_name),
                esc(&issued.token)
            );
            page(StatusCode::OK, "Token", Some(&session), &body)
        }
    }
}
