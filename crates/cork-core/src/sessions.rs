//! Members in the browser: passwords (Argon2id), login sessions and their CSRF tokens.
//!
//! A session is a random 256-bit cookie value; only its SHA-256 is stored, with the
//! member, an expiry and the session's CSRF token (which forms echo back). Password
//! checks cost the same Argon2 work whether or not the username exists, and every
//! failure reads the same, so the login form tells nobody which usernames exist.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{Duration, Utc};
use cork_store::{Arg, Cond, Order, Table};
use serde::{Deserialize, Serialize};

use crate::ids::{random_hex, sha256_hex};
use crate::model::{AppKey, Member};
use crate::store_ext::{find, get};
use crate::{format_date, now, parse_date, Cork, DomainError, Result};

/// How long a login lasts.
pub const SESSION_LIFETIME_DAYS: i64 = 7;

/// The one answer to every failed login.
pub const BAD_LOGIN: &str = "invalid username or password";

/// Shortest and longest accepted password (the upper bound keeps hashing cheap to refuse).
const PASSWORD_MIN: usize = 8;
const PASSWORD_MAX: usize = 1024;

/// A live browser session.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub member: Member,
    /// The token every form of this session must carry back.
    pub csrf: String,
    /// The stored id (hash of the cookie value).
    pub id: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionDoc {
    id_member: String,
    csrf: String,
    date_created: String,
    date_expires: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct PasswordDoc {
    hash: String,
    #[serde(rename = "dateChanged")]
    date_changed: String,
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<()> {
    if password.chars().count() < PASSWORD_MIN || password.len() > PASSWORD_MAX {
        return Err(DomainError::BadRequest(format!("a password must have {PASSWORD_MIN} to {PASSWORD_MAX} characters")));
    }
    Ok(())
}

/// Hashes on a blocking thread: Argon2 is meant to be slow and must not stall the workers.
async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| DomainError::Internal(format!("hashing task: {e}")))?
    .map_err(|e| DomainError::Internal(format!("argon2: {e}")))
}

/// A stored hash to check against when the member has none, so a miss costs a full check.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(random_hex(16).as_bytes(), &salt).map(|h| h.to_string()).unwrap_or_default()
    })
}

async fn verify_password(password: &str, stored: Option<String>) -> bool {
    let password = password.to_string();
    let known = stored.is_some();
    let matched = tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| decoy_hash().to_string());
        PasswordHash::new(&stored).map(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok()).unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    known && matched
}

impl Cork {
    /// Sets (or replaces) a member's password (`cork user create --password-stdin`,
    /// `cork user password`, sign-up, the password page).
    pub async fn set_password(&self, member: &Member, password: &str) -> Result<()> {
        check_new_password(password)?;
        let doc = PasswordDoc { hash: hash_password(password).await?, date_changed: now() };
        let doc = serde_json::to_string(&doc)?;
        let mut tx = self.store.write().await?;
        if tx.update(Table::MemberPasswords, &[("doc", Arg::text(&doc))], &[Cond::eq("id", &member.id)]).await? == 0 {
            tx.insert(Table::MemberPasswords, &[("id", Arg::text(&member.id)), ("doc", Arg::Text(doc))]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn stored_password(&self, member_id: &str) -> Result<Option<String>> {
        let mut tx = self.store.read().await?;
        let doc = tx.doc(Table::MemberPasswords, member_id).await?;
        Ok(match doc {
            Some(doc) => Some(serde_json::from_str::<PasswordDoc>(&doc)?.hash),
            None => None,
        })
    }

    /// The member `username` names if `password` is theirs; every failure (unknown name,
    /// no password set, wrong password, deactivated member) is the same 401.
    pub async fn check_login(&self, username: &str, password: &str) -> Result<Member> {
        let username = username.trim().to_ascii_lowercase();
        let member = if password.len() <= PASSWORD_MAX { self.member_by_username(&username).await.ok() } else { None };
        let stored = match &member {
            Some(member) => self.stored_password(&member.id).await?,
            None => None,
        };
        if !verify_password(password, stored).await {
            return Err(DomainError::Unauthorized(BAD_LOGIN));
        }
        let member = member.ok_or(DomainError::Unauthorized(BAD_LOGIN))?;
        if self.instance_standing(&member.id).await?.deactivated {
            return Err(DomainError::Unauthorized(BAD_LOGIN));
        }
        Ok(member)
    }

    /// Sign-up: a new member with a password. The password is checked before the member
    /// is made, so a refused password leaves no member behind.
    pub async fn sign_up(&self, username: &str, full_name: Option<&str>, email: Option<&str>, password: &str) -> Result<Member> {
        check_new_password(password)?;
        let member = self.create_member(username, full_name, email).await?;
        self.set_password(&member, password).await?;
        Ok(member)
    }

    /// Opens a session for `member`; returns the cookie value (shown once, stored hashed).
    pub async fn open_session(&self, member: &Member) -> Result<(String, WebSession)> {
        let secret = random_hex(32);
        let id = sha256_hex(&secret);
        let expires = format_date(Utc::now() + Duration::days(SESSION_LIFETIME_DAYS));
        let doc = SessionDoc { id_member: member.id.clone(), csrf: random_hex(32), date_created: now(), date_expires: expires.clone() };
        let mut tx = self.store.write().await?;
        // Expired sessions are swept here rather than by a timer: logins are rare enough.
        tx.delete(Table::WebSessions, &[Cond::Lt("expires_at", Arg::text(now()))]).await?;
        tx.insert(
            Table::WebSessions,
            &[
                ("id", Arg::text(&id)),
                ("member_id", Arg::text(&member.id)),
                ("expires_at", Arg::text(&expires)),
                ("doc", Arg::Text(serde_json::to_string(&doc)?)),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok((secret, WebSession { member: member.clone(), csrf: doc.csrf, id }))
    }

    /// The live session a cookie value names, if any (expired, closed, unknown or a
    /// deactivated member's: none).
    pub async fn session(&self, secret: &str) -> Result<Option<WebSession>> {
        if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let id = sha256_hex(secret);
        let mut tx = self.store.read().await?;
        let Some(doc) = tx.doc(Table::WebSessions, &id).await? else { return Ok(None) };
        let doc: SessionDoc = serde_json::from_str(&doc)?;
        if !matches!(parse_date(&doc.date_expires), Some(at) if at > Utc::now()) {
            return Ok(None);
        }
        let member: Option<Member> = get(&mut tx, &doc.id_member).await?;
        let Some(member) = member else { return Ok(None) };
        drop(tx);
        if self.instance_standing(&member.id).await?.deactivated {
            return Ok(None);
        }
        Ok(Some(WebSession { member, csrf: doc.csrf, id }))
    }

    /// Logs a session out.
    pub async fn close_session(&self, session: &WebSession) -> Result<()> {
        let mut tx = self.store.write().await?;
        tx.delete(Table::WebSessions, &[Cond::eq("id", &session.id)]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The password page: the current password must match; the member's other sessions
    /// end (whoever else was logged in with the old password is logged out).
    pub async fn change_password(&self, session: &WebSession, current: &str, new: &str) -> Result<()> {
        check_new_password(new)?;
        let stored = self.stored_password(&session.member.id).await?;
        if !verify_password(current, stored).await {
            return Err(DomainError::Unauthorized("the current password is not right"));
        }
        self.set_password(&session.member, new).await?;
        let mut tx = self.store.write().await?;
        let ids = tx.column(Table::WebSessions, "id", &[Cond::eq("member_id", &session.member.id)]).await?;
        let others: Vec<&String> = ids.iter().filter(|id| **id != session.id).collect();
        if !others.is_empty() {
            tx.delete(Table::WebSessions, &[Cond::any_of("id", &others)]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A member's application keys, oldest first (the app-key page).
    pub async fn member_app_keys(&self, member: &Member) -> Result<Vec<AppKey>> {
        let mut tx = self.store.read().await?;
        let mut keys: Vec<AppKey> = find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::None, None).await?;
        keys.sort_by(|a, b| a.date_created.cmp(&b.date_created).then_with(|| a.id.cmp(&b.id)));
        Ok(keys)
    }

    /// An application key by its id, if it exists and is well-formed.
    pub async fn app_key(&self, key: &str) -> Result<Option<AppKey>> {
        if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let mut tx = self.store.read().await?;
        get(&mut tx, &key.to_ascii_lowercase()).await
    }
}

impl Cork {
    /// The tokens page: revokes one of the member's live tokens by its id, and the tokens
    /// it minted, exactly as `DELETE /1/tokens/{token}` does (the page never holds secrets).
    pub async fn revoke_own_token(&self, member: &Member, token_id: &str) -> Result<()> {
        use crate::tokens::{revoke_in, TokenRecord};
        let mut tx = self.store.write().await?;
        let docs = tx.docs(Table::Tokens, &[Cond::eq("member_id", &member.id)], Order::Asc("id"), None).await?;
        let records = docs.iter().map(|d| TokenRecord::from_doc(d)).collect::<Result<Vec<_>>>()?;
        if !records.iter().any(|r| r.token.id == token_id && r.is_live()) {
            return Err(DomainError::NotFound(crate::NOT_FOUND));
        }
        let doomed = crate::tokens::with_descendants(&records, token_id);
        for record in records.iter().filter(|r| r.date_revoked.is_none() && doomed.contains(&r.token.id)) {
            revoke_in(&mut tx, record, &member.id).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
