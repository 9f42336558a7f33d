//! The web board's page shell and its embedded files.
//!
//! Every web board URL (`/`, `/b/{shortLink}/{slug}`, `/c/{shortLink}/{slug}`, search,
//! the review queue, reports) answers the same small page to a signed-in member; the
//! browser code (`assets/`, our own ES modules) draws the view from the `/1` and
//! `/cork` routes a client uses, authenticated by the session cookie. A visitor who is
//! not signed in is sent to log in and back.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{current_session, esc, html_response, to_login};
use crate::App;

/// One embedded file.
pub(crate) struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub plain: &'static [u8],
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The policy of the board's pages: scripts and styles from this server only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; \
                   connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/", get(shell))
        .route("/b/{short_link}", get(shell))
        .route("/b/{short_link}/{slug}", get(shell))
        .route("/c/{short_link}", get(shell))
        .route("/c/{short_link}/{slug}", get(shell))
        .route("/r/{short_link}", get(shell))
        .route("/search", get(shell))
        .route("/review", get(shell))
        .route("/import", get(shell))
        .route("/assets/{version}/{name}", get(asset))
}

/// The page every web board URL answers: the member's CSRF token and id for the scripts,
/// and the versioned stylesheet and entry module.
async fn shell(State(app): State<App>, OriginalUri(uri): OriginalUri, headers: HeaderMap) -> Response {
    let Some(session) = current_session(&app, &headers).await else {
        let here = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        return to_login(here);
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Cork</title>\
         <link rel=\"stylesheet\" href=\"/assets/{ASSET_VERSION}/app.css\">\
         <meta name=\"cork-csrf\" content=\"{}\"><meta name=\"cork-me\" content=\"{}\">\
         <link rel=\"modulepreload\" href=\"/assets/{ASSET_VERSION}/app.js\">\
         <script type=\"module\" src=\"/assets/{ASSET_VERSION}/app.js\"></script></head>\
         <body><div id=\"app\"><p class=\"loading\">Loading…</p></div></body></html>",
        esc(&session.csrf),
        esc(&session.member.id),
    );
    html_response(StatusCode::OK, html, CSP)
}

/// An embedded file: gzipped when the browser takes gzip; cached for good under the
/// current version (the URL changes with the content), revalidated under any other (a
/// page loaded before an upgrade still gets the file it names, or the new one).
async fn asset(Path((version, name)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found").into_response();
    };
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|coding| coding.split(';').next().is_some_and(|c| c.trim() == "gzip")));
    let body = if gzip { asset.gzip } else { asset.plain };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    let cache = if version == ASSET_VERSION { "public, max-age=31536000, immutable" } else { "no-cache" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_module_and_stylesheet_are_embedded() {
        for name in ["app.js", "app.css"] {
            let asset = ASSETS.iter().find(|a| a.name == name).unwrap_or_else(|| panic!("{name} is embedded"));
            assert!(!asset.plain.is_empty());
            assert_eq!(&asset.gzip[..2], &[0x1f, 0x8b], "{name} has a gzip twin");
        }
        assert_eq!(ASSET_VERSION.len(), 12);
    }
}
