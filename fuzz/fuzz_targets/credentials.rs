//! Credentials: the `Authorization: OAuth ...` header as API calls and the token-issuing
//! routes read it, key and token from the query and body, the web board's cookies, and
//! the checks a signed OAuth request passes before the store is asked.
//!
//! Input lines: `Authorization` value, `Cookie` value, `Host` value, content type,
//! method (`POST` or anything else for `GET`), URI (path and query), then the body.

#![no_main]

use chrono::{DateTime, Utc};
use cork_api::fuzzing::{cookie, credentials, oauth_header_params, request_params, signed_request};
use cork_core::fuzzing::{oauth_callback, oauth_check};
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST};
use http::{HeaderMap, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;

fn header(headers: &mut HeaderMap, name: http::HeaderName, value: &[u8]) {
    if let Ok(value) = HeaderValue::from_bytes(value) {
        headers.insert(name, value);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.splitn(7, |b| *b == b'\n');
    let mut next = || lines.next().unwrap_or_default();
    let (authorization, cookies, host, content_type, method, uri) = (next(), next(), next(), next(), next(), next());
    let body = next();
    let mut headers = HeaderMap::new();
    header(&mut headers, AUTHORIZATION, authorization);
    header(&mut headers, COOKIE, cookies);
    header(&mut headers, HOST, host);
    header(&mut headers, CONTENT_TYPE, content_type);
    let method = if method == b"POST" { Method::POST } else { Method::GET };
    let uri: Uri = std::str::from_utf8(uri).ok().and_then(|u| u.parse().ok()).unwrap_or_else(|| Uri::from_static("/1/members/me"));

    // An API call: the OAuth header wins over `key`/`token` parameters.
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if let Ok(params) = request_params(uri.query(), &content_type, body) {
        let (key, token) = credentials(&headers, &params);
        // What the extractor records of a key: only one shaped like a key.
        let _ = key.filter(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit())).map(|k| k.to_ascii_lowercase());
        let _ = token;
    }
    for name in ["cork_session", "cork_csrf", ""] {
        let _ = cookie(&headers, name);
    }

    // A token-issuing route: every OAuth parameter, the base strings, the checks.
    let _ = oauth_header_params(&headers);
    for public_url in ["http://127.0.0.1:8080", "https://cork.example:8443/base"] {
        if let Ok(signed) = signed_request(public_url, &method, &uri, &headers, body) {
            let now = DateTime::<Utc>::from_timestamp(1_796_428_800, 0).unwrap_or_default();
            let _ = oauth_check(&signed, "consumer secret", "", now);
            let _ = oauth_check(&signed, "", "token secret", now);
            let _ = oauth_callback(signed.callback.as_deref());
        }
    }
});
