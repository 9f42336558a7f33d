//! Login, logout, sign-up (when the operator allows it), the account page and the
//! password page.

use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, OriginalUri, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use cork_core::sessions::{WebSession, BAD_LOGIN, SESSION_LIFETIME_DAYS};
use cork_core::DomainError;

use super::{
    csrf_field, csrf_refusal, current_session, esc, hidden, local_path, message, page, pre_login_csrf, query, redirect, set_cookie,
    to_login, Form, CSRF_COOKIE, SESSION_COOKIE,
};
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/login", get(get_login).post(post_login))
        .route("/logout", post(post_logout))
        .route("/signup", get(get_signup).post(post_signup))
        .route("/account", get(get_account).post(post_account))
        .route("/account/password", get(get_password).post(post_password))
}

fn login_form(csrf: &str, return_to: &str, username: &str, error: Option<&str>, allow_signup: bool) -> String {
    let error = error.map(|e| format!("<p class=\"error\">{}</p>", esc(e))).unwrap_or_default();
    let signup = if allow_signup { "<p class=\"note\">No account yet? <a href=\"/signup\">Sign up</a>.</p>" } else { "" };
    format!(
        "<h1>Log in to Cork</h1>{error}<form method=\"post\" action=\"/login\">{}{}\
         <label for=\"username\">Username</label><input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Log in</button></form>{signup}",
        csrf_field(csrf),
        hidden("return_to", return_to),
        esc(username)
    )
}

/// A pre-login page: sets the double-submit CSRF cookie when the browser has none.
fn pre_login_page(app: &App, headers: &HeaderMap, status: StatusCode, title: &str, body: impl FnOnce(&str) -> String) -> Response {
    let (csrf, fresh) = pre_login_csrf(headers);
    let mut response = page(status, title, None, &body(&csrf));
    if fresh {
        set_cookie(app, &mut response, CSRF_COOKIE, &csrf, 2 * 3600);
    }
    response
}

async fn get_login(State(app): State<App>, OriginalUri(uri): OriginalUri, headers: HeaderMap) -> Response {
    let return_to = local_path(query(&uri).opt("return_to"));
    if current_session(&app, &headers).await.is_some() {
        return redirect(StatusCode::SEE_OTHER, &return_to);
    }
    let allow = app.config.allow_signup;
    pre_login_page(&app, &headers, StatusCode::OK, "Log in", |csrf| login_form(csrf, &return_to, "", None, allow))
}

/// Starts a session and sends the browser on.
async fn logged_in(app: &App, member: &cork_core::model::Member, to: &str) -> Response {
    match app.cork.open_session(member).await {
        Ok((secret, _)) => {
            let mut response = redirect(StatusCode::SEE_OTHER, to);
            set_cookie(app, &mut response, SESSION_COOKIE, &secret, SESSION_LIFETIME_DAYS * 86400);
            response
        }
        Err(error) => internal(error),
    }
}

pub(super) fn internal(error: DomainError) -> Response {
    tracing::error!(%error, "web page failed");
    message(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", None, "Cork could not complete this request.")
}

/// What a throttled login is told, whether or not the username exists.
const THROTTLED_LOGIN: &str = "Too many failed sign-in attempts; try again later.";

async fn post_login(State(app): State<App>, headers: HeaderMap, extensions: Extensions, body: Bytes) -> Response {
    let form = Form::parse(&body);
    if let Some(refused) = csrf_refusal(&app, &headers, None, &form) {
        return refused;
    }
    let return_to = local_path(form.opt("return_to"));
    let remote = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let (username, allow) = (form.get("username").to_string(), app.config.allow_signup);
    // Checked before the password, so a throttled guess is never verified (the access
    // guard audits the 429 as `http.429` with the path and client address).
    if app.limits.login_throttled(&username, remote.as_deref()).await {
        metrics::counter!("cork_rate_limit_refusals_total", "limit" => "sign-in").increment(1);
        return pre_login_page(&app, &headers, StatusCode::TOO_MANY_REQUESTS, "Log in", |csrf| {
            login_form(csrf, &return_to, &username, Some(THROTTLED_LOGIN), allow)
        });
    }
    match app.cork.check_login(&username, form.get("password")).await {
        Ok(member) => logged_in(&app, &member, &return_to).await,
        Err(DomainError::Unauthorized(_)) => {
            app.limits.login_failed(&username, remote.as_deref()).await;
            pre_login_page(&app, &headers, StatusCode::UNAUTHORIZED, "Log in", |csrf| {
                login_form(csrf, &return_to, &username, Some("Invalid username or password."), allow)
            })
        }
        Err(error) => internal(error),
    }
}

async fn post_logout(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let session = current_session(&app, &headers).await;
    if let Some(refused) = csrf_refusal(&app, &headers, session.as_ref(), &form) {
        return refused;
    }
    if let Some(session) = &session {
        if let Err(error) = app.cork.close_session(session).await {
            return internal(error);
        }
    }
    let mut response = redirect(StatusCode::SEE_OTHER, "/login");
    set_cookie(&app, &mut response, SESSION_COOKIE, "", 0);
    response
}

fn signup_form(csrf: &str, values: &Form, error: Option<&str>) -> String {
    let error = error.map(|e| format!("<p class=\"error\">{}</p>", esc(e))).unwrap_or_default();
    format!(
        "<h1>Create a Cork account</h1>{error}<form method=\"post\" action=\"/signup\">{}\
         <label for=\"username\">Username</label><input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" required>\
         <p class=\"note\">3 to 100 lowercase letters, digits or underscores.</p>\
         <label for=\"fullName\">Full name</label><input type=\"text\" id=\"fullName\" name=\"fullName\" value=\"{}\">\
         <label for=\"email\">Email (optional)</label><input type=\"email\" id=\"email\" name=\"email\" value=\"{}\">\
         <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" required>\
         <label for=\"confirm\">Password again</label><input type=\"password\" id=\"confirm\" name=\"confirm\" autocomplete=\"new-password\" required>\
         <button type=\"submit\">Sign up</button></form><p class=\"note\">Already have an account? <a href=\"/login\">Log in</a>.</p>",
        csrf_field(csrf),
        esc(values.get("username")),
        esc(values.get("fullName")),
        esc(values.get("email"))
    )
}

fn signup_off() -> Response {
    message(StatusCode::NOT_FOUND, "Sign-up is off", None, "This Cork server does not take sign-ups; ask its operator for an account.")
}

async fn get_signup(State(app): State<App>, headers: HeaderMap) -> Response {
    if !app.config.allow_signup {
        return signup_off();
    }
    let empty = Form::parse(b"");
    pre_login_page(&app, &headers, StatusCode::OK, "Sign up", |csrf| signup_form(csrf, &empty, None))
}

async fn post_signup(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    if !app.config.allow_signup {
        return signup_off();
    }
    let form = Form::parse(&body);
    if let Some(refused) = csrf_refusal(&app, &headers, None, &form) {
        return refused;
    }
    let again = |status: StatusCode, error: &str| {
        let error = error.to_string();
        pre_login_page(&app, &headers, status, "Sign up", |csrf| signup_form(csrf, &form, Some(&error)))
    };
    if form.get("password") != form.get("confirm") {
        return again(StatusCode::BAD_REQUEST, "The two passwords differ.");
    }
    let username = form.get("username").trim().to_string();
    match app.cork.sign_up(&username, form.opt("fullName"), form.opt("email"), form.get("password")).await {
        Ok(member) => logged_in(&app, &member, "/").await,
        Err(DomainError::InvalidValue(_)) => {
            again(StatusCode::BAD_REQUEST, "That username is not allowed: use 3 to 100 lowercase letters, digits or underscores.")
        }
        Err(DomainError::BadRequest(text)) => again(StatusCode::BAD_REQUEST, &text),
        Err(error) => internal(error),
    }
}

fn account_page(session: &WebSession, member: &cork_core::model::Member, note: Option<(bool, &str)>) -> String {
    let note = match note {
        Some((true, text)) => format!("<p class=\"note\">{}</p>", esc(text)),
        Some((false, text)) => format!("<p class=\"error\">{}</p>", esc(text)),
        None => String::new(),
    };
    format!(
        "<h1>{}</h1>{note}<p>Username <code>{}</code> · member id <code>{}</code></p>\
         <form method=\"post\" action=\"/account\">{}<h2>Profile</h2>\
         <label for=\"fullName\">Full name</label><input type=\"text\" id=\"fullName\" name=\"fullName\" value=\"{}\" required maxlength=\"512\">\
         <label for=\"initials\">Initials</label><input type=\"text\" id=\"initials\" name=\"initials\" value=\"{}\" maxlength=\"4\">\
         <label for=\"bio\">Bio</label><textarea id=\"bio\" name=\"bio\" rows=\"3\" maxlength=\"16384\">{}</textarea>\
         <button type=\"submit\">Save profile</button></form>\
         <h2>Access</h2><ul><li><a href=\"/app-key\">API keys</a>: keys and secrets for applications you write.</li>\
         <li><a href=\"/account/tokens\">Tokens</a>: the applications that act for you — their scopes, boards and expiry — and revoking them.</li>\
         <li><a href=\"/account/password\">Change your password</a>.</li></ul>",
        esc(&member.full_name),
        esc(&member.username),
        esc(&member.id),
        csrf_field(&session.csrf),
        esc(&member.full_name),
        esc(&member.initials),
        esc(&member.bio),
    )
}

async fn get_account(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(session) = current_session(&app, &headers).await else { return to_login("/account") };
    let body = account_page(&session, &session.member, None);
    page(StatusCode::OK, "Account", Some(&session), &body)
}

/// The profile form goes through the API (`PUT /1/members/me`) as the member, so the write
/// pipeline, its checks and its action are the same as for any client.
async fn post_account(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let session = current_session(&app, &headers).await;
    if let Some(refused) = csrf_refusal(&app, &headers, session.as_ref(), &form) {
        return refused;
    }
    let Some(session) = session else { return to_login("/account") };
    let patch = serde_json::json!({"fullName": form.get("fullName"), "initials": form.get("initials"), "bio": form.get("bio")});
    let actor = cork_core::Actor::member(session.member.clone());
    let (status, answer) = crate::call_as(app.clone(), actor, "PUT", "/1/members/me", patch).await;
    if status == 200 {
        let mut member = session.member.clone();
        let field = |name: &str| answer.get(name).and_then(|v| v.as_str()).map(str::to_string);
        member.full_name = field("fullName").unwrap_or(member.full_name);
        member.initials = field("initials").unwrap_or(member.initials);
        member.bio = field("bio").unwrap_or(member.bio);
        return page(StatusCode::OK, "Account", Some(&session), &account_page(&session, &member, Some((true, "Your profile was saved."))));
    }
    let why = answer.as_str().map(str::to_string).unwrap_or_else(|| answer.to_string());
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    page(status, "Account", Some(&session), &account_page(&session, &session.member, Some((false, &why))))
}

fn password_form(session: &WebSession, error: Option<&str>, done: bool) -> String {
    let note = match (error, done) {
        (Some(e), _) => format!("<p class=\"error\">{}</p>", esc(e)),
        (None, true) => "<p class=\"note\">Your password was changed; your other sessions were logged out.</p>".to_string(),
        _ => String::new(),
    };
    format!(
        "<h1>Change your password</h1>{note}<form method=\"post\" action=\"/account/password\">{}\
         <label for=\"current\">Current password</label><input type=\"password\" id=\"current\" name=\"current\" autocomplete=\"current-password\" required>\
         <label for=\"password\">New password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" required>\
         <label for=\"confirm\">New password again</label><input type=\"password\" id=\"confirm\" name=\"confirm\" autocomplete=\"new-password\" required>\
         <button type=\"submit\">Change password</button></form>",
        csrf_field(&session.csrf)
    )
}

async fn get_password(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(session) = current_session(&app, &headers).await else { return to_login("/account/password") };
    page(StatusCode::OK, "Password", Some(&session), &password_form(&session, None, false))
}

async fn post_password(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let session = current_session(&app, &headers).await;
    if let Some(refused) = csrf_refusal(&app, &headers, session.as_ref(), &form) {
        return refused;
    }
    let Some(session) = session else { return to_login("/account/password") };
    let fail = |status, error: &str| page(status, "Password", Some(&session), &password_form(&session, Some(error), false));
    if form.get("password") != form.get("confirm") {
        return fail(StatusCode::BAD_REQUEST, "The two new passwords differ.");
    }
    match app.cork.change_password(&session, form.get("current"), form.get("password")).await {
        Ok(()) => page(StatusCode::OK, "Password", Some(&session), &password_form(&session, None, true)),
        Err(DomainError::Unauthorized(text)) => fail(StatusCode::UNAUTHORIZED, if text == BAD_LOGIN { "Wrong password." } else { text }),
        Err(DomainError::BadRequest(text)) => fail(StatusCode::BAD_REQUEST, &text),
        Err(error) => internal(error),
    }
}
