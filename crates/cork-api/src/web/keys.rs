//! The app-key page (a member's application keys with their secrets, and new ones) and
//! the tokens page (the applications acting for the member, and revoking them).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use cork_core::model::Token;
use cork_core::sessions::WebSession;
use cork_core::{Actor, DomainError};

use super::account::internal;
use super::{csrf_field, csrf_refusal, current_session, esc, hidden, message, page, redirect, to_login, Form};
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/app-key", get(get_app_key).post(post_app_key))
        .route("/account/tokens", get(get_tokens))
        .route("/account/tokens/revoke", post(post_revoke_token))
}

async fn get_app_key(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(session) = current_session(&app, &headers).await else { return to_login("/app-key") };
    let keys = match app.cork.member_app_keys(&session.member).await {
        Ok(keys) => keys,
        Err(error) => return internal(error),
    };
    let mut rows = String::new();
    for key in &keys {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("key", &key.id)
            .append_pair("name", &key.name)
            .append_pair("scope", "read,write")
            .append_pair("expiration", "never")
            .append_pair("response_type", "token")
            .finish();
        rows.push_str(&format!(
            "<tr><td>{}<br><span class=\"note\">{}</span></td><td><span class=\"note\">Key</span><br><code class=\"key\">{}</code><br>\
             <span class=\"note\">Secret</span><br><code class=\"secret\">{}</code><br><a href=\"/1/authorize?{}\">Generate a token</a></td></tr>",
            esc(&key.name),
            esc(&key.date_created),
            esc(&key.id),
            esc(&key.secret),
            esc(&query)
        ));
    }
    if keys.is_empty() {
        rows.push_str("<tr><td colspan=\"2\" class=\"note\">No keys yet.</td></tr>");
    }
    let body = format!(
        "<h1>API keys</h1><p class=\"note\">An application identifies itself with its key; the secret signs OAuth requests \
         and webhook deliveries. Keep the secret private.</p><table><tr><th>Application</th><th>Credentials</th></tr>{rows}</table>\
         <h2>New key</h2><form method=\"post\" action=\"/app-key\">{}<label for=\"name\">Application name</label>\
         <input type=\"text\" id=\"name\" name=\"name\" maxlength=\"100\" required><button type=\"submit\">Create key</button></form>",
        csrf_field(&session.csrf)
    );
    page(StatusCode::OK, "API keys", Some(&session), &body)
}

async fn post_app_key(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let session = current_session(&app, &headers).await;
    if let Some(refused) = csrf_refusal(&app, &headers, session.as_ref(), &form) {
        return refused;
    }
    let Some(session) = session else { return to_login("/app-key") };
    let name = form.get("name").trim();
    if name.is_empty() || name.chars().count() > 100 {
        return message(StatusCode::BAD_REQUEST, "Invalid name", Some(&session), "An application name has 1 to 100 characters.");
    }
    match app.cork.create_app_key(&session.member, name).await {
        Ok(_) => redirect(StatusCode::SEE_OTHER, "/app-key"),
        Err(error) => internal(error),
    }
}

/// What a token reaches, in words: all boards, or the named ones.
fn reach(token: &Token, board_names: &[(String, String)]) -> String {
    let mut parts = Vec::new();
    for permission in token.permissions.iter().filter(|p| p.model_type != "Member") {
        let what = if permission.id_model == "*" {
            match permission.model_type.as_str() {
                "Board" => "all boards".to_string(),
                "Organization" => "all workspaces".to_string(),
                other => format!("every {other}"),
            }
        } else {
            let name = board_names.iter().find(|(id, _)| *id == permission.id_model).map(|(_, n)| n.as_str());
            format!("{} {}", permission.model_type.to_lowercase(), name.unwrap_or(&permission.id_model))
        };
        parts.push(format!("{what} ({})", if permission.write { "read+write" } else { "read" }));
    }
    parts.join(", ")
}

async fn tokens_page(app: &App, session: &WebSession, note: Option<&str>) -> Response {
    let actor = Actor::member(session.member.clone());
    let tokens = match app.cork.member_tokens(&actor, &session.member.id).await {
        Ok(tokens) => tokens,
        Err(error) => return internal(error),
    };
    let boards: Vec<(String, String)> = match app.cork.member_boards(&actor, &session.member.id, "all").await {
        Ok(boards) => boards.into_iter().map(|b| (b.id, b.name)).collect(),
        Err(error) => return internal(error),
    };
    let mut rows = String::new();
    for token in &tokens {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/account/tokens/revoke\">{}{}\
             <button class=\"secondary\" style=\"margin:0\">Revoke</button></form></td></tr>",
            esc(&token.identifier),
            esc(&token.scopes.join(", ")),
            esc(&token.date_created),
            esc(token.date_expires.as_deref().unwrap_or("never")),
            esc(&reach(token, &boards)),
            csrf_field(&session.csrf),
            hidden("idToken", &token.id)
        ));
    }
    if tokens.is_empty() {
        rows.push_str("<tr><td colspan=\"6\" class=\"note\">No application holds a token for you.</td></tr>");
    }
    let note = note.map(|n| format!("<p class=\"note\">{}</p>", esc(n))).unwrap_or_default();
    let body = format!(
        "<h1>Tokens</h1>{note}<table><tr><th>Application</th><th>Scopes</th><th>Created</th><th>Expires</th><th>Reaches</th><th></th></tr>{rows}</table>"
    );
    page(StatusCode::OK, "Tokens", Some(session), &body)
}

async fn get_tokens(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(session) = current_session(&app, &headers).await else { return to_login("/account/tokens") };
    tokens_page(&app, &session, None).await
}

async fn post_revoke_token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let session = current_session(&app, &headers).await;
    if let Some(refused) = csrf_refusal(&app, &headers, session.as_ref(), &form) {
        return refused;
    }
    let Some(session) = session else { return to_login("/account/tokens") };
    match app.cork.revoke_own_token(&session.member, form.get("idToken")).await {
        Ok(()) => tokens_page(&app, &session, Some("The token was revoked.")).await,
        Err(DomainError::NotFound(_)) => {
            message(StatusCode::NOT_FOUND, "No such token", Some(&session), "That token does not exist or no longer works.")
        }
        Err(error) => internal(error),
    }
}
