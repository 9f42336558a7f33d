//! OAuth 1.0a three-legged token issuance (RFC 5849), as Trello offers it:
//! `OAuthGetRequestToken` → the member approves `OAuthAuthorizeToken` → `OAuthGetAccessToken`
//! gives an ordinary Trello token.
//!
//! Signatures are really checked on these three steps (HMAC-SHA1 keyed with the
//! application key's secret and the request token's secret), with a timestamp window and
//! nonce replay refusal. Ordinary API routes keep ignoring OAuth signatures: clients sign
//! those with an empty secret. Request tokens are stored by hash and, like verifiers, are
//! single-use and short-lived. The wire layer builds the signature base strings (it knows
//! the request); this module holds the secrets and decides.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use cork_store::{Arg, Cond, StoreError, Table};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

use crate::accounts::{expiration, IssuedToken, TokenGrant};
use crate::ids::{random_hex, sha256_hex};
use crate::model::{AppKey, Member, TokenPermission};
use crate::store_ext::get;
use crate::{format_date, parse_date, Cork, DomainError, Result};

/// How far a request's `oauth_timestamp` may be from the server's clock, in seconds.
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;
/// How long a request token waits for the member's approval and the exchange.
pub const REQUEST_TOKEN_MINUTES: i64 = 10;

const INVALID_TOKEN: &str = "invalid oauth_token";
const INVALID_VERIFIER: &str = "invalid oauth_verifier";

/// The OAuth protocol parameters of one signed request and the base strings it may have
/// been signed over (one per address the server answers to: its public URL, the Host the
/// request named).
#[derive(Debug, Clone, Default)]
pub struct SignedRequest {
    pub consumer_key: Option<String>,
    pub token: Option<String>,
    pub signature_method: Option<String>,
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub version: Option<String>,
    pub callback: Option<String>,
    pub verifier: Option<String>,
    pub base_strings: Vec<String>,
}

/// A new request token and its signing secret.
#[derive(Debug, Clone)]
pub struct RequestToken {
    pub token: String,
    pub secret: String,
}

/// A request token waiting for the member's decision.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    /// The application asking.
    pub key: AppKey,
}

/// The member approved: where to send them, with what.
#[derive(Debug, Clone)]
pub struct Approval {
    pub verifier: String,
    /// The consumer's callback URL; `None` for `oob` (the verifier is shown as a PIN).
    pub callback: Option<String>,
}

/// What the member granted, kept on the request token until the exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApprovedGrant {
    id_member: String,
    app: String,
    scopes: Vec<String>,
    expiration: String,
    models: Vec<TokenPermission>,
    verifier_hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestTokenDoc {
    app_key: String,
    /// Kept in clear because HMAC needs it; useless without the token, stored only hashed.
    secret: String,
    callback: Option<String>,
    date_expires: String,
    approved: Option<ApprovedGrant>,
}

/// RFC 3986 percent-encoding as RFC 5849 wants it: everything but unreserved characters,
/// upper-case hex.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// True when `signature` (base64) is the HMAC-SHA1 of `base` under the two secrets;
/// the comparison is constant-time.
pub fn hmac_sha1_matches(base: &str, consumer_secret: &str, token_secret: &str, signature: &str) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else { return false };
    let key = format!("{}&{}", encode(consumer_secret), encode(token_secret));
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else { return false };
    mac.update(base.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

/// The base64 HMAC-SHA1 signature of `base` under the two secrets (what a client sends).
pub fn hmac_sha1_sign(base: &str, consumer_secret: &str, token_secret: &str) -> String {
    let key = format!("{}&{}", encode(consumer_secret), encode(token_secret));
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else { return String::new() };
    mac.update(base.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A callback a consumer may name: `oob` (none) or an absolute http(s) URL.
pub(crate) fn callback_of(value: Option<&str>) -> Result<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty() && *v != "oob") else { return Ok(None) };
    let lower = value.to_ascii_lowercase();
    let shaped = (lower.starts_with("http://") || lower.starts_with("https://"))
        && value.len() <= 2048
        && !value.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'\\');
    if shaped {
        Ok(Some(value.to_string()))
    } else {
        Err(DomainError::Unauthorized("invalid oauth_callback"))
    }
}

fn expired(date: &str) -> bool {
    !matches!(parse_date(date), Some(at) if at > Utc::now())
}

/// Checks a signed request's protocol parameters (method, version, timestamp within the
/// window around `now`, nonce) and its signature under the two secrets, before anything
/// is looked up; gives the timestamp and the nonce.
pub(crate) fn check_signed<'a>(
    signed: &'a SignedRequest,
    consumer_secret: &str,
    token_secret: &str,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, &'a str)> {
    if signed.signature_method.as_deref() != Some("HMAC-SHA1") {
        return Err(DomainError::Unauthorized("invalid oauth_signature_method (HMAC-SHA1 is required)"));
    }
    if signed.version.as_deref().is_some_and(|v| v != "1.0") {
        return Err(DomainError::Unauthorized("invalid oauth_version"));
    }
    let at = signed
        .timestamp
        .as_deref()
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .ok_or(DomainError::Unauthorized("invalid oauth_timestamp"))?;
    if (now - at).num_seconds().abs() > TIMESTAMP_WINDOW_SECS {
        return Err(DomainError::Unauthorized("invalid oauth_timestamp"));
    }
    let nonce =
        signed.nonce.as_deref().filter(|n| !n.is_empty() && n.len() <= 255).ok_or(DomainError::Unauthorized("invalid oauth_nonce"))?;
    let signature = signed.signature.as_deref().ok_or(DomainError::Unauthorized("invalid signature"))?;
    if !signed.base_strings.iter().any(|base| hmac_sha1_matches(base, consumer_secret, token_secret, signature)) {
        return Err(DomainError::Unauthorized("invalid signature"));
    }
    Ok((at, nonce))
}

impl Cork {
    async fn consumer(&self, signed: &SignedRequest) -> Result<AppKey> {
        let key = signed.consumer_key.as_deref().unwrap_or("");
        self.app_key(key).await?.ok_or(DomainError::Unauthorized("invalid key"))
    }

    /// Checks the protocol parameters and the signature, then spends the nonce.
    async fn verify_signed(&self, signed: &SignedRequest, key: &AppKey, token_secret: &str) -> Result<()> {
        let (at, nonce) = check_signed(signed, &key.secret, token_secret, Utc::now())?;
        // The nonce is remembered until its timestamp leaves the window, after which the
        // timestamp check alone refuses a replay.
        let id = sha256_hex(&format!("{}\n{}\n{nonce}", key.id, signed.timestamp.as_deref().unwrap_or("")));
        let keep_until = format_date(at + Duration::seconds(TIMESTAMP_WINDOW_SECS + 60));
        let mut tx = self.store.write().await?;
        tx.delete(Table::OauthNonces, &[Cond::Lt("expires_at", Arg::text(format_date(Utc::now())))]).await?;
        if tx.count(Table::OauthNonces, &[Cond::eq("id", &id)]).await? > 0 {
            return Err(DomainError::Unauthorized("oauth_nonce already used"));
        }
        match tx.insert(Table::OauthNonces, &[("id", Arg::text(&id)), ("expires_at", Arg::text(keep_until))]).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(DomainError::Unauthorized("oauth_nonce already used")),
            Err(other) => return Err(other.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    /// `OAuthGetRequestToken`: a signed request (consumer secret only) gets a request token.
    pub async fn oauth_request_token(&self, signed: &SignedRequest) -> Result<RequestToken> {
        let key = self.consumer(signed).await?;
        self.verify_signed(signed, &key, "").await?;
        let callback = callback_of(signed.callback.as_deref())?;
        let token = random_hex(32);
        let secret = random_hex(32);
        let expires = format_date(Utc::now() + Duration::minutes(REQUEST_TOKEN_MINUTES));
        let doc =
            RequestTokenDoc { app_key: key.id.clone(), secret: secret.clone(), callback, date_expires: expires.clone(), approved: None };
        let mut tx = self.store.write().await?;
        tx.delete(Table::OauthRequestTokens, &[Cond::Lt("expires_at", Arg::text(format_date(Utc::now())))]).await?;
        tx.insert(
            Table::OauthRequestTokens,
            &[
                ("id", Arg::text(sha256_hex(&token))),
                ("app_key", Arg::text(&key.id)),
                ("expires_at", Arg::text(expires)),
                ("doc", Arg::Text(serde_json::to_string(&doc)?)),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(RequestToken { token, secret })
    }

    async fn waiting_request_token(&self, request_token: &str) -> Result<RequestTokenDoc> {
        let mut tx = self.store.read().await?;
        let doc = tx.doc(Table::OauthRequestTokens, &sha256_hex(request_token)).await?.ok_or(DomainError::Unauthorized(INVALID_TOKEN))?;
        let doc: RequestTokenDoc = serde_json::from_str(&doc)?;
        if expired(&doc.date_expires) {
            return Err(DomainError::Unauthorized(INVALID_TOKEN));
        }
        Ok(doc)
    }

    /// `OAuthAuthorizeToken` (the consent page): the application behind a request token
    /// that is still waiting for a decision.
    pub async fn oauth_pending(&self, request_token: &str) -> Result<PendingAuthorization> {
        let doc = self.waiting_request_token(request_token).await?;
        if doc.approved.is_some() {
            return Err(DomainError::Unauthorized(INVALID_TOKEN));
        }
        let mut tx = self.store.read().await?;
        let key: Option<AppKey> = get(&mut tx, &doc.app_key).await?;
        Ok(PendingAuthorization { key: key.ok_or(DomainError::Unauthorized(INVALID_TOKEN))? })
    }

    /// The member approved the request token with `grant` (its `key` is ignored: the
    /// token is issued under the key that asked). Once only.
    pub async fn oauth_approve(
        &self,
        member: &Member,
        request_token: &str,
        grant: &TokenGrant,
        expiration_label: &str,
    ) -> Result<Approval> {
        if expiration(expiration_label).is_none() {
            return Err(DomainError::InvalidValue("expiration".into()));
        }
        let id = sha256_hex(request_token);
        let mut tx = self.store.write().await?;
        let doc = tx.doc_for_update(Table::OauthRequestTokens, &id).await?.ok_or(DomainError::Unauthorized(INVALID_TOKEN))?;
        let mut doc: RequestTokenDoc = serde_json::from_str(&doc)?;
        if expired(&doc.date_expires) || doc.approved.is_some() {
            return Err(DomainError::Unauthorized(INVALID_TOKEN));
        }
        let verifier = random_hex(16);
        doc.approved = Some(ApprovedGrant {
            id_member: member.id.clone(),
            app: grant.app.clone(),
            scopes: grant.scopes.clone(),
            expiration: expiration_label.to_string(),
            models: grant.models.clone(),
            verifier_hash: sha256_hex(&verifier),
        });
        tx.update(Table::OauthRequestTokens, &[("doc", Arg::Text(serde_json::to_string(&doc)?))], &[Cond::eq("id", &id)]).await?;
        tx.commit().await?;
        Ok(Approval { verifier, callback: doc.callback })
    }

    /// The member said no: the request token is gone. Returns the consumer's callback.
    pub async fn oauth_deny(&self, request_token: &str) -> Result<Option<String>> {
        let doc = self.waiting_request_token(request_token).await?;
        let mut tx = self.store.write().await?;
        tx.delete(Table::OauthRequestTokens, &[Cond::eq("id", sha256_hex(request_token))]).await?;
        tx.commit().await?;
        Ok(doc.callback)
    }

    /// `OAuthGetAccessToken`: a request signed with both secrets, carrying the verifier,
    /// exchanges an approved request token for a Trello token, once.
    pub async fn oauth_access_token(&self, signed: &SignedRequest) -> Result<IssuedToken> {
        let key = self.consumer(signed).await?;
        let request_token = signed.token.as_deref().ok_or(DomainError::Unauthorized(INVALID_TOKEN))?;
        let doc = self.waiting_request_token(request_token).await?;
        if doc.app_key != key.id {
            return Err(DomainError::Unauthorized(INVALID_TOKEN));
        }
        self.verify_signed(signed, &key, &doc.secret).await?;
        // Not yet approved: the member may still decide, so the token stays.
        let Some(grant) = doc.approved else { return Err(DomainError::Unauthorized(INVALID_VERIFIER)) };
        // Spent before the verifier is compared: a wrong guess burns the request token.
        let mut tx = self.store.write().await?;
        let gone = tx.delete(Table::OauthRequestTokens, &[Cond::eq("id", sha256_hex(request_token))]).await?;
        tx.commit().await?;
        if gone != 1 {
            return Err(DomainError::Unauthorized(INVALID_TOKEN));
        }
        if signed.verifier.as_deref().map(sha256_hex) != Some(grant.verifier_hash) {
            return Err(DomainError::Unauthorized(INVALID_VERIFIER));
        }
        let mut tx = self.store.read().await?;
        let member: Option<Member> = get(&mut tx, &grant.id_member).await?;
        drop(tx);
        let member = member.ok_or(DomainError::Unauthorized(INVALID_TOKEN))?;
        let expires = expiration(&grant.expiration).ok_or_else(|| DomainError::InvalidValue("expiration".into()))?;
        self.issue(&member, TokenGrant { key: Some(key.id), app: grant.app, scopes: grant.scopes, expires, models: grant.models }).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5849_example_signature_verifies() {
        // RFC 5849 section 1.2's request-token example: consumer secret "kd94hf93k423kf44", no token secret.
        let base = "POST&https%3A%2F%2Fphotos.example.net%2Finitiate&oauth_callback%3Dhttp%253A%252F%252Fprinter.example.com%252Fready%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DwIjqoS%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131200";
        assert!(hmac_sha1_matches(base, "kd94hf93k423kf44", "", "74KNZJeDHnMBp0EMJ9ZHt/XKycU="));
        assert!(!hmac_sha1_matches(base, "kd94hf93k423kf45", "", "74KNZJeDHnMBp0EMJ9ZHt/XKycU="));
        assert!(!hmac_sha1_matches(base, "kd94hf93k423kf44", "", "not base64!"));
    }

    #[test]
    fn encoding_keeps_only_unreserved() {
        assert_eq!(encode("a b+c/~é"), "a%20b%2Bc%2F~%C3%A9");
    }
}
