//! The one extractor every Trello route takes: merged parameters and the actor the
//! credentials resolve to (key/token in the query or body, or an OAuth header; with
//! neither, the web board's session cookie).

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request};
use axum::http::{header, HeaderMap, StatusCode};
use cork_core::Actor;
use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::error::ApiError;
use crate::params::Params;
use crate::App;

/// A file sent in a multipart body.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    pub field: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: bytes::Bytes,
}

/// The actor of a batch request, handed to each of its inner requests.
#[derive(Debug, Clone)]
pub struct BatchActor(pub Actor);

/// Marks a request one route hands on to another (legacy aliases): it is not written
/// to the route log, so the compatibility table only counts what clients called.
#[derive(Debug, Clone, Copy)]
pub struct InternalCall;

/// A parsed Trello request.
#[derive(Debug, Clone)]
pub struct Req {
    pub params: Params,
    pub actor: Actor,
    pub files: Vec<UploadedFile>,
}

/// Reads `oauth_consumer_key` and `oauth_token` from `Authorization: OAuth ...`.
/// The signature is not checked: clients sign with an empty secret.
pub fn oauth_credentials(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return (None, None) };
    let Some(rest) = value.trim().strip_prefix("OAuth ").or_else(|| value.trim().strip_prefix("oauth ")) else { return (None, None) };
    let (mut key, mut token) = (None, None);
    for part in rest.split(',') {
        let Some((name, raw)) = part.trim().split_once('=') else { continue };
        let raw = raw.trim().trim_matches('"');
        let decoded = percent_decode_str(raw).decode_utf8_lossy().into_owned();
        match name.trim() {
            "oauth_consumer_key" => key = Some(decoded),
            "oauth_token" => token = Some(decoded),
            _ => {}
        }
    }
    (key, token)
}

fn parse_error() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "error parsing body")
}

/// Adds a (non-multipart) body to `params`: a JSON object, or form pairs when the
/// content type is a form's, plain text or absent (a JSON object with no content type
/// counts as JSON). `content_type` is lower-cased; leading whitespace is ignored.
pub(crate) fn add_body(params: &mut Params, content_type: &str, body: &[u8]) -> Result<(), ApiError> {
    let trimmed = body.iter().position(|b| !b.is_ascii_whitespace()).map(|start| &body[start..]).unwrap_or(&[]);
    if !trimmed.is_empty() {
        if content_type.starts_with("application/json") || (content_type.is_empty() && trimmed.first() == Some(&b'{')) {
            match serde_json::from_slice::<Value>(trimmed) {
                Ok(Value::Object(object)) => params.add_json(object),
                Ok(Value::Null) => {}
                _ => return Err(parse_error()),
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded")
            || content_type.is_empty()
            || content_type.starts_with("text/plain")
        {
            params.add_pairs(trimmed);
        }
    }
    Ok(())
}

/// The key and token a request presents: the OAuth header's, else the parameters'.
pub(crate) fn credentials(oauth_key: Option<String>, oauth_token: Option<String>, params: &Params) -> (Option<String>, Option<String>) {
    (oauth_key.or_else(|| params.str("key")), oauth_token.or_else(|| params.str("token")))
}

impl FromRequest<App> for Req {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &App) -> Result<Self, Self::Rejection> {
        let mut params = Params::default();
        if let Some(query) = request.uri().query() {
            params.add_pairs(query.as_bytes());
        }
        let batch_actor = request.extensions().get::<BatchActor>().map(|b| b.0.clone());
        let access_slot = request.extensions().get::<crate::access::AccessSlot>().cloned();
        let path = request.uri().path().to_string();
        let (oauth_key, oauth_token) = oauth_credentials(request.headers());
        let session_cookie = crate::web::cookie(request.headers(), crate::web::SESSION_COOKIE);
        let csrf_header = request.headers().get(crate::web::CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let method = request.method().clone();
        let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let mut files = Vec::new();
        if content_type.starts_with("multipart/form-data") {
            // Files may take `upload_limit` bytes in all and the text fields `body_limit`;
            // axum's own 2 MB cap on multipart bodies is lifted to that sum (plus framing),
            // and each field is read in chunks so that nothing past a limit is buffered.
            let mut request = request;
            DefaultBodyLimit::max(app.config.upload_limit.saturating_add(app.config.body_limit).saturating_add(64 << 10))
                .apply(&mut request);
            let too_large = || ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request entity too large");
            let timed_out = || ApiError::new(StatusCode::REQUEST_TIMEOUT, BODY_TIMEOUT);
            let multipart_error = |e: axum::extract::multipart::MultipartError| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else if crate::listener::is_body_timeout(&e) {
                    timed_out()
                } else {
                    parse_error()
                }
            };
            let mut multipart = Multipart::from_request(request, app).await.map_err(|_| parse_error())?;
            let (mut file_bytes, mut text_bytes) = (0usize, 0usize);
            while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
                let name = field.name().unwrap_or("").to_string();
                let file_name = field.file_name().map(str::to_string);
                let field_type = field.content_type().map(str::to_string);
                let (total, limit) =
                    if file_name.is_some() { (&mut file_bytes, app.config.upload_limit) } else { (&mut text_bytes, app.config.body_limit) };
                let mut data = bytes::BytesMut::new();
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    *total += chunk.len();
                    if *total > limit {
                        return Err(too_large());
                    }
                    data.extend_from_slice(&chunk);
                }
                if file_name.is_some() {
                    files.push(UploadedFile { field: name, file_name, content_type: field_type, bytes: data.freeze() });
                } else {
                    params.set(&name, Value::String(String::from_utf8_lossy(&data).into_owned()));
                }
            }
        } else {
            let body = axum::body::to_bytes(request.into_body(), app.config.body_limit).await.map_err(|e| body_error(&e))?;
            add_body(&mut params, &content_type, &body)?;
        }
        if let Some(name) = params.with_nul() {
            return Err(ApiError::invalid_value(name));
        }
        let (key, token) = credentials(oauth_key, oauth_token, &params);
        // The web board: a browser with no key or token is the member of its session
        // cookie, and its writes must carry the session's CSRF token in a header.
        let session = match (&batch_actor, &key, &token, session_cookie) {
            (None, None, None, Some(secret)) => {
                // Counted like a token (100 per 10 s), by the cookie, before the lookup.
                app.limits.admit(access_slot.as_ref(), "/session", None, Some(&format!("session:{secret}"))).await?;
                crate::web::session_actor(app, &secret, &method, csrf_header.as_deref()).await?
            }
            _ => None,
        };
        if let Some(actor) = session {
            return Ok(Req { params, actor, files });
        }
        if batch_actor.is_none() {
            // Counted before authentication's database work; inner batch requests are
            // part of their batch, which was counted once.
            // Keys are public identifiers; anything not shaped like one is not recorded,
            // in case a client sent a secret in the wrong parameter.
            if let Some(key) = key.as_deref().filter(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit())) {
                let key = key.to_ascii_lowercase();
                cork_core::audit::note(|n| n.key = Some(key));
            }
            app.limits.admit(access_slot.as_ref(), &path, key.as_deref(), token.as_deref()).await?;
        }
        let actor = if let Some(actor) = batch_actor {
            actor
        } else if key.is_none() && token.is_none() {
            Actor::anonymous()
        } else {
            app.cork.authenticate(key.as_deref(), token.as_deref()).await?
        };
        Ok(Req { params, actor, files })
    }
}

/// The answer to a request whose body stopped arriving (`--body-timeout`).
const BODY_TIMEOUT: &str = "request timeout: the body stopped arriving";

/// The answer to a request body that could not be read whole: it stopped arriving, or
/// it is longer than its limit.
pub(crate) fn body_error(error: &axum::Error) -> ApiError {
    if crate::listener::is_body_timeout(error) {
        ApiError::new(StatusCode::REQUEST_TIMEOUT, BODY_TIMEOUT)
    } else {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request entity too large")
    }
}
