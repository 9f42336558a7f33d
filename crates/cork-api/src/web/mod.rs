//! The browser side of Cork: server-rendered pages for members (login, sign-up, password,
//! application keys, tokens) and the token-issuing flows Trello offers (`/1/authorize`,
//! OAuth 1.0a).
//!
//! Pages are plain HTML with inline CSS and no scripts (except the one postMessage page).
//! Everything shown is escaped. Every state-changing form is a POST carrying a CSRF token
//! (the session's, or before login a double-submit cookie), and a POST whose `Origin` or
//! `Referer` names another site is refused before anything else is read.

mod account;
mod authorize;
mod board;
mod keys;
pub(crate) mod oauth;

use std::collections::HashMap;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use cork_core::ids::random_hex;
use cork_core::sessions::WebSession;

use crate::App;

/// The session cookie (its value is the session secret, stored hashed).
pub(crate) const SESSION_COOKIE: &str = "cork_session";
/// The header a session-authenticated write of the API must carry: the session's CSRF
/// token. A cross-site page can neither read the token nor send this header without a
/// CORS preflight, which does not allow it.
pub(crate) const CSRF_HEADER: &str = "x-cork-csrf";
/// The double-submit CSRF cookie of forms shown before login.
const CSRF_COOKIE: &str = "cork_csrf";

pub(crate) fn routes() -> Router<App> {
    Router::new().merge(board::routes()).merge(account::routes()).merge(keys::routes()).merge(authorize::routes()).merge(oauth::routes())
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;background:#f4f5f7;color:#172b4d;margin:0}\
main{max-width:42rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:6px;box-shadow:0 1px 3px #0002}\
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.6rem 0 .2rem}\
input[type=text],input[type=password],input[type=email],select{width:100%;padding:.45rem;box-sizing:border-box;border:1px solid #c1c7d0;border-radius:4px}\
button{margin-top:1rem;padding:.5rem 1.1rem;border:0;border-radius:4px;background:#0c66e4;color:#fff;font-size:1rem;cursor:pointer}\
button.secondary{background:#dfe1e6;color:#172b4d}.error{background:#ffebe6;border-left:4px solid #de350b;padding:.5rem .8rem}\
.note{color:#5e6c84;font-size:.9rem}code,.secret{font-family:ui-monospace,monospace;word-break:break-all}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dfe1e6;padding:.4rem;text-align:left;vertical-align:top}\
nav{max-width:42rem;margin:1rem auto 0;font-size:.9rem}nav a{margin-right:1rem}.pin{font-size:1.6rem;letter-spacing:.1em}header{background:#1d2125;color:#fff;display:flex;align-items:center;gap:1.1rem;padding:.55rem 1rem;font-size:.95rem}header a{color:#fff;text-decoration:none}header a:hover,header a:focus-visible{text-decoration:underline}header .brand{font-weight:700;font-size:1.1rem}header .who{margin-left:auto;color:#c7d1db}header button{margin:0;padding:.25rem .7rem;font-size:.85rem;background:#2c333a}textarea{width:100%;box-sizing:border-box;border:1px solid #c1c7d0;border-radius:4px;padding:.45rem;font:inherit}a{color:#0c66e4}:focus-visible{outline:2px solid #388bff;outline-offset:2px}";

/// A whole page. `body` must already be escaped HTML.
pub(crate) fn page(status: StatusCode, title: &str, session: Option<&WebSession>, body: &str) -> Response {
    page_with(status, title, session, body, None)
}

/// A page, optionally with one inline script allowed by a CSP nonce.
fn page_with(status: StatusCode, title: &str, session: Option<&WebSession>, body: &str, script: Option<(&str, &str)>) -> Response {
    let nav = match session {
        // The web board's top bar: its boards, the review queue, then the account pages.
        Some(session) => format!(
            "<header><a class=\"brand\" href=\"/\">Cork</a><a href=\"/\">Boards</a><a href=\"/review\">Review</a>\
             <a href=\"/account\">Account</a><a href=\"/app-key\">API keys</a><a href=\"/account/tokens\">Tokens</a>\
             <a href=\"/account/password\">Password</a><span class=\"who\">{}</span>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Log out</button></form></header>",
            esc(&session.member.username),
            esc(&session.csrf)
        ),
        None => "<header><a class=\"brand\" href=\"/\">Cork</a></header>".to_string(),
    };
    let (script_tag, script_src) = match script {
        Some((nonce, code)) => (format!("<script nonce=\"{nonce}\">{code}</script>"), format!("; script-src 'nonce-{nonce}'")),
        None => (String::new(), String::new()),
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · Cork</title><style>{STYLE}</style></head><body>{nav}<main>{body}</main>{script_tag}</body></html>",
        esc(title)
    );
    let csp = format!("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'{script_src}");
    html_response(status, html, &csp)
}

/// An HTML answer with the headers every page of Cork carries: never cached, never
/// framed, no type sniffing, the referrer kept to this site, and `csp`.
pub(crate) fn html_response(status: StatusCode, html: String, csp: &str) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // `same-origin` (not `no-referrer`): browsers then still send a real Origin on our own POSTs.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if let Ok(value) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// A short page with one message (errors, confirmations).
pub(crate) fn message(status: StatusCode, title: &str, session: Option<&WebSession>, text: &str) -> Response {
    page(status, title, session, &format!("<h1>{}</h1><p>{}</p>", esc(title), esc(text)))
}

/// A 303 to a local path or an absolute URL.
pub(crate) fn redirect(status: StatusCode, to: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Sends a visitor who is not logged in to the login page, and back to `here` after.
pub(crate) fn to_login(here: &str) -> Response {
    let back: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
    redirect(StatusCode::SEE_OTHER, &format!("/login?return_to={back}"))
}

/// A local path to return to after login: only same-site paths (no `//host`, no scheme),
/// so the login page cannot be used as an open redirect.
pub(crate) fn local_path(value: Option<&str>) -> String {
    match value {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') && !path.bytes().any(|b| b < b' ') => {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

/// One cookie's value from the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then(|| value.trim().to_string())
    })
}

/// `Set-Cookie` for one of Cork's cookies: HttpOnly, SameSite=Lax, Path=/, Secure on https.
pub(crate) fn set_cookie(app: &App, response: &mut Response, name: &str, value: &str, max_age: i64) {
    let secure = if app.config.public_url.starts_with("https://") { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    if let Ok(value) = HeaderValue::from_str(&text) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The live session of the request's cookie, if any.
pub(crate) async fn current_session(app: &App, headers: &HeaderMap) -> Option<WebSession> {
    let secret = cookie(headers, SESSION_COOKIE)?;
    app.cork.session(&secret).await.ok().flatten()
}

/// The actor of an API request that came with the session cookie `secret` and no key
/// or token: the session's member with a member's full rights (`None` when the session
/// is unknown or expired: the request is then anonymous). A write (any method but GET,
/// HEAD and OPTIONS) must carry the session's CSRF token in `X-Cork-CSRF`.
pub(crate) async fn session_actor(
    app: &App,
    secret: &str,
    method: &axum::http::Method,
    csrf: Option<&str>,
) -> Result<Option<cork_core::Actor>, crate::error::ApiError> {
    let Some(session) = app.cork.session(secret).await? else { return Ok(None) };
    let safe = matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS);
    if !safe && !csrf.is_some_and(|sent| same_secret(&session.csrf, sent)) {
        return Err(crate::error::ApiError::new(StatusCode::FORBIDDEN, "missing or invalid CSRF token"));
    }
    Ok(Some(cork_core::Actor::member(session.member)))
}

/// The pre-login CSRF value: the cookie's if the browser has one, else a new one that
/// the response must set (second item true).
pub(crate) fn pre_login_csrf(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, CSRF_COOKIE).filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())) {
        Some(value) => (value, false),
        None => (random_hex(16), true),
    }
}

/// A parsed `application/x-www-form-urlencoded` body (last value of a name wins).
pub(crate) struct Form(HashMap<String, String>);

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Form {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    pub(crate) fn opt(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
}

/// The query string as a form.
pub(crate) fn query(uri: &axum::http::Uri) -> Form {
    Form::parse(uri.query().unwrap_or("").as_bytes())
}

/// The origins this server is reached at: its public URL's and the Host the request named.
fn own_origins(app: &App, headers: &HeaderMap) -> Vec<String> {
    let mut origins = Vec::new();
    if let Ok(public) = url::Url::parse(&app.config.public_url) {
        origins.push(public.origin().ascii_serialization());
        if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            if let Ok(via_host) = url::Url::parse(&format!("{}://{host}/", public.scheme())) {
                origins.push(via_host.origin().ascii_serialization());
            }
        }
    }
    origins
}

/// False when the request says it comes from another site (`Origin`, else `Referer`).
fn same_origin(app: &App, headers: &HeaderMap) -> bool {
    let claimed = if let Some(origin) = headers.get(header::ORIGIN) {
        match origin.to_str().ok().and_then(|o| url::Url::parse(o).ok()) {
            Some(url) => url.origin().ascii_serialization(),
            None => return false, // `null` or garbage: a sandboxed or privacy-stripped cross-site form
        }
    } else if let Some(referer) = headers.get(header::REFERER) {
        match referer.to_str().ok().and_then(|r| url::Url::parse(r).ok()) {
            Some(url) => url.origin().ascii_serialization(),
            None => return false,
        }
    } else {
        return true;
    };
    own_origins(app, headers).contains(&claimed)
}

/// Constant-time string equality (for CSRF tokens).
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The CSRF gate of every state-changing form: same origin, and the form's `csrf` field
/// equals the session's token (or, with no session, the pre-login cookie). `Some` is the
/// refusal page to send instead of acting.
pub(crate) fn csrf_refusal(app: &App, headers: &HeaderMap, session: Option<&WebSession>, form: &Form) -> Option<Response> {
    let refuse = |why: &str| message(StatusCode::FORBIDDEN, "Request refused", session, why);
    if !same_origin(app, headers) {
        return Some(refuse("This form was sent from another site. Nothing was changed."));
    }
    let expected = match session {
        Some(session) => Some(session.csrf.clone()),
        None => cookie(headers, CSRF_COOKIE),
    };
    match expected {
        Some(expected) if !expected.is_empty() && same_secret(&expected, form.get("csrf")) => None,
        _ => Some(refuse("The form's security token is missing or out of date. Nothing was changed; reload the page and try again.")),
    }
}

/// A form's hidden CSRF field.
pub(crate) fn csrf_field(value: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(value))
}

/// A hidden field.
pub(crate) fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", esc(name), esc(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(local_path(Some("/1/authorize?key=x")), "/1/authorize?key=x");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }
}
