//! Entry points for the fuzz targets in `fuzz/` (`scripts/fuzz`): the parts of request
//! handling that read untrusted bytes and need no server or database. Not an API; each
//! function only forwards to the code the server runs.

use axum::http::{HeaderMap, Method, Uri};
use cork_core::oauth::SignedRequest;
use cork_core::search::SearchRequest;

use crate::error::ApiError;
use crate::params::Params;

/// The parameters of a request as the extractor assembles them from its query string
/// and a (non-multipart) body of `content_type` (lower-cased), with the NUL check.
pub fn request_params(query: Option<&str>, content_type: &str, body: &[u8]) -> Result<Params, ApiError> {
    let mut params = Params::default();
    if let Some(query) = query {
        params.add_pairs(query.as_bytes());
    }
    crate::request::add_body(&mut params, content_type, body)?;
    if let Some(name) = params.with_nul() {
        return Err(ApiError::invalid_value(name));
    }
    Ok(params)
}

/// The key and token the extractor takes from a request's headers and parameters.
pub fn credentials(headers: &HeaderMap, params: &Params) -> (Option<String>, Option<String>) {
    let (key, token) = crate::request::oauth_credentials(headers);
    crate::request::credentials(key, token, params)
}

/// A cookie's value from the `Cookie` headers (the web board's session and CSRF cookies).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    crate::web::cookie(headers, name)
}

/// The OAuth parameters of an `Authorization: OAuth ...` header (token-issuing routes).
pub fn oauth_header_params(headers: &HeaderMap) -> Result<Vec<(String, String)>, ApiError> {
    crate::web::oauth::header_params(headers)
}

/// A signed token-issuing request: its OAuth parameters and candidate base strings.
pub fn signed_request(public_url: &str, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<SignedRequest, ApiError> {
    crate::web::oauth::signed_request(public_url, method, uri, headers, body)
}

/// What `GET /1/search` asks for, read from its parameters.
pub fn search_request(params: &Params) -> Result<SearchRequest, ApiError> {
    crate::routes::search::search_request(params)
}
