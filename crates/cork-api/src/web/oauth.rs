//! OAuth 1.0a three-legged flow, on Trello's paths: `OAuthGetRequestToken`,
//! `OAuthAuthorizeToken` (the consent page) and `OAuthGetAccessToken`.
//!
//! This module turns a request into RFC 5849's signature base string (parameters from the
//! `Authorization: OAuth` header, the query and a form body; the URI as this server is
//! addressed); `cork_core::oauth` checks the signature against the secrets and decides.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cork_core::accounts::TokenGrant;
use cork_core::oauth::{encode, SignedRequest};
use cork_core::DomainError;
use percent_encoding::percent_decode_str;

use super::account::internal;
use super::authorize::{app_name, chosen_models, consent_page, grantable, scopes_and_expiration, Ask};
use super::{csrf_refusal, current_session, esc, message, page, redirect, to_login, Form};
use crate::error::ApiError;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/OAuthGetRequestToken", get(request_token).post(request_token))
        .route("/1/OAuthAuthorizeToken", get(get_authorize_token).post(post_authorize_token))
        .route("/1/OAuthGetAccessToken", get(access_token).post(access_token))
}

fn unauthorized(text: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, text)
}

/// The parameters of `Authorization: OAuth k="v", ...` (without `realm`); `None` when the
/// header is not an OAuth one, an error when it is one but malformed.
pub(crate) fn header_params(headers: &HeaderMap) -> Result<Vec<(String, String)>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(Vec::new()) };
    let value = value.to_str().map_err(|_| unauthorized("malformed Authorization header"))?.trim();
    let Some(rest) = value.get(..6).filter(|scheme| scheme.eq_ignore_ascii_case("oauth ")).map(|_| &value[6..]) else {
        return Ok(Vec::new());
    };
    let mut params = Vec::new();
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, quoted) = part.split_once('=').ok_or_else(|| unauthorized("malformed Authorization header"))?;
        let quoted = quoted.trim();
        let inner =
            quoted.strip_prefix('"').and_then(|v| v.strip_suffix('"')).ok_or_else(|| unauthorized("malformed Authorization header"))?;
        let decode = |text: &str| percent_decode_str(text).decode_utf8().map(|v| v.into_owned());
        let (name, inner) = match (decode(name.trim()), decode(inner)) {
            (Ok(name), Ok(inner)) => (name, inner),
            _ => return Err(unauthorized("malformed Authorization header")),
        };
        if name != "realm" {
            params.push((name, inner));
        }
    }
    Ok(params)
}

/// The base string URIs a client may have signed: this server's public URL and the
/// Host the request named, with the request's path (RFC 5849 §3.4.1.2).
fn base_uris(public_url: &str, headers: &HeaderMap, path: &str) -> Vec<String> {
    let mut origins = Vec::new();
    if let Ok(public) = url::Url::parse(public_url) {
        origins.push(format!("{}://{}", public.scheme(), public.host_str().unwrap_or("")) + &port_suffix(&public));
        if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            if let Ok(via_host) = url::Url::parse(&format!("{}://{host}/", public.scheme())) {
                origins.push(format!("{}://{}", via_host.scheme(), via_host.host_str().unwrap_or("")) + &port_suffix(&via_host));
            }
        }
    }
    origins.dedup();
    origins.into_iter().map(|origin| format!("{origin}{path}")).collect()
}

/// `:port` unless it is the scheme's default (the url crate already drops default ports).
fn port_suffix(url: &url::Url) -> String {
    url.port().map(|p| format!(":{p}")).unwrap_or_default()
}

/// Reads a signed request: its OAuth parameters and its candidate base strings
/// (`public_url`: the address Cork is configured to be reached at).
pub(crate) fn signed_request(
    public_url: &str,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<SignedRequest, ApiError> {
    let mut params = header_params(headers)?;
    params.extend(form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned());
    let form_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if form_body {
        params.extend(form_urlencoded::parse(body).into_owned());
    }
    let first = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let mut signed = SignedRequest {
        consumer_key: first("oauth_consumer_key"),
        token: first("oauth_token"),
        signature_method: first("oauth_signature_method"),
        signature: first("oauth_signature"),
        timestamp: first("oauth_timestamp"),
        nonce: first("oauth_nonce"),
        version: first("oauth_version"),
        callback: first("oauth_callback"),
        verifier: first("oauth_verifier"),
        base_strings: Vec::new(),
    };
    if signed.consumer_key.is_none() {
        return Err(unauthorized("invalid key"));
    }
    let mut pairs: Vec<(String, String)> =
        params.iter().filter(|(name, _)| name != "oauth_signature").map(|(name, value)| (encode(name), encode(value))).collect();
    pairs.sort();
    let normalized = pairs.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("&");
    signed.base_strings = base_uris(public_url, headers, uri.path())
        .into_iter()
        .map(|uri| format!("{}&{}&{}", method.as_str().to_ascii_uppercase(), encode(&uri), encode(&normalized)))
        .collect();
    Ok(signed)
}

/// A form-encoded answer, as OAuth 1.0a token endpoints give it.
fn form_response(pairs: &[(&str, &str)]) -> Response {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter()).finish();
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn request_token(State(app): State<App>, method: Method, OriginalUri(uri): OriginalUri, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let signed = signed_request(&app.config.public_url, &method, &uri, &headers, &body)?;
        Ok::<_, ApiError>(app.cork.oauth_request_token(&signed).await?)
    }
    .await;
    match result {
        Ok(token) => {
            form_response(&[("oauth_token", &token.token), ("oauth_token_secret", &token.secret), ("oauth_callback_confirmed", "true")])
        }
        Err(error) => error.into_response(),
    }
}

async fn access_token(State(app): State<App>, method: Method, OriginalUri(uri): OriginalUri, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let signed = signed_request(&app.config.public_url, &method, &uri, &headers, &body)?;
        Ok::<_, ApiError>(app.cork.oauth_access_token(&signed).await?)
    }
    .await;
    match result {
        // Cork does not check signatures on API calls (clients sign those with an empty
        // secret), so the token secret handed back is never stored or used.
        Ok(issued) => form_response(&[("oauth_token", &issued.token), ("oauth_token_secret", &cork_core::ids::random_hex(32))]),
        Err(error) => error.into_response(),
    }
}

/// Validates what the consent page needs: the request token and the grant's terms.
async fn ask_of(app: &App, form: &Form) -> Result<Ask, ApiError> {
    let token = form.opt("oauth_token").ok_or_else(|| unauthorized("invalid oauth_token"))?;
    let pending = app.cork.oauth_pending(token).await?;
    let name = app_name(form, &pending.key)?;
    let (scopes, expiration) = scopes_and_expiration(form)?;
    Ok(Ask { key: pending.key, name, scopes, expiration })
}

async fn get_authorize_token(State(app): State<App>, OriginalUri(uri): OriginalUri, headers: HeaderMap) -> Response {
    let form = super::query(&uri);
    let ask = match ask_of(&app, &form).await {
        Ok(ask) => ask,
        Err(error) => return error.into_response(),
    };
    let Some(session) = current_session(&app, &headers).await else {
        let here = format!("{}?{}", uri.path(), uri.query().unwrap_or(""));
        return to_login(&here);
    };
    let grantable = match grantable(&app, &session).await {
        Ok(grantable) => grantable,
        Err(error) => return internal(error),
    };
    let scope = ask.scopes.join(",");
    let carry = [
        ("oauth_token", form.get("oauth_token")),
        ("name", ask.name.as_str()),
        ("scope", scope.as_str()),
        ("expiration", ask.expiration.as_str()),
    ];
    consent_page(&session, "/1/OAuthAuthorizeToken", &carry, &ask, &grantable, false)
}

/// `callback?oauth_token=..&oauth_verifier=..` (keeping the callback's own query).
fn callback_url(callback: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(callback).ok()?;
    url.query_pairs_mut().extend_pairs(pairs.iter());
    Some(url.to_string())
}

async fn post_authorize_token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let session = current_session(&app, &headers).await;
    if let Some(refused) = csrf_refusal(&app, &headers, session.as_ref(), &form) {
        return refused;
    }
    let Some(session) = session else {
        return message(
            StatusCode::UNAUTHORIZED,
            "Not logged in",
            None,
            "Log in and approve the application again. Nothing was authorized.",
        );
    };
    let ask = match ask_of(&app, &form).await {
        Ok(ask) => ask,
        Err(error) => return error.into_response(),
    };
    let request_token = form.get("oauth_token");
    if form.get("decision") != "approve" {
        return match app.cork.oauth_deny(request_token).await {
            Ok(Some(callback)) => match callback_url(&callback, &[("oauth_token", request_token), ("denied", "true")]) {
                Some(to) => redirect(StatusCode::FOUND, &to),
                None => message(StatusCode::OK, "Access denied", Some(&session), "Nothing was authorized."),
            },
            Ok(None) => message(StatusCode::OK, "Access denied", Some(&session), "Nothing was authorized. You can close this window."),
            Err(error) => ApiError::from(error).into_response(),
        };
    }
    let grantable = match grantable(&app, &session).await {
        Ok(grantable) => grantable,
        Err(error) => return internal(error),
    };
    let models = match chosen_models(&form, &grantable) {
        Ok(models) => models,
        Err(error) => return error.into_response(),
    };
    let grant = TokenGrant { key: Some(ask.key.id.clone()), app: ask.name.clone(), scopes: ask.scopes.clone(), expires: None, models };
    let approval = match app.cork.oauth_approve(&session.member, request_token, &grant, &ask.expiration).await {
        Ok(approval) => approval,
        Err(error @ (DomainError::Unauthorized(_) | DomainError::InvalidValue(_))) => return ApiError::from(error).into_response(),
        Err(error) => return internal(error),
    };
    match approval
        .callback
        .as_deref()
        .and_then(|c| callback_url(c, &[("oauth_token", request_token), ("oauth_verifier", &approval.verifier)]))
    {
        Some(to) => redirect(StatusCode::FOUND, &to),
        None => {
            let body = format!(
                "<h1>Authorized</h1><p>You allowed <strong>{}</strong>. Enter this PIN in the application to finish:</p>\
                 <p><code class=\"pin\" id=\"verifier\">{}</code></p>",
                esc(&ask.name),
                esc(&approval.verifier)
            );
            page(StatusCode::OK, "Authorized", Some(&session), &body)
        }
    }
}
