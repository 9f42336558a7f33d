//! Tokens as objects a member manages: read one by its secret, list them, revoke them,
//! and mint enterprise-scoped tokens. A revoked token keeps its row (the record of the
//! revocation) but its hash is replaced, so the next request with it finds nothing and
//! gets 401 `invalid token` at once, with no cache to wait for.

use chrono::Utc;
use cork_store::{Arg, Cond, Order, Table, Tx};
use serde_json::{json, Value};

use crate::access::{Actor, UNAUTHORIZED};
use crate::accounts::expiration;
use crate::enterprise::{require_admin, Enterprise};
use crate::ids::{new_id, random_hex, sha256_hex};
use crate::members::resolve_member;
use crate::model::{AppKey, Token, TokenPermission};
use crate::store_ext::get;
use crate::{format_date, now, parse_date, Cork, DomainError, Result, NOT_FOUND};

const INVALID_TOKEN: &str = "invalid token";

/// A token as listed to its member, with Cork's own bookkeeping.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub token: Token,
    /// When it was revoked, if it was.
    pub date_revoked: Option<String>,
    /// The token that minted it (enterprise tokens); revoking that one revokes this too.
    pub id_token_parent: Option<String>,
}

impl TokenRecord {
    pub(crate) fn from_doc(doc: &str) -> Result<TokenRecord> {
        let value: Value = serde_json::from_str(doc)?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        Ok(TokenRecord { date_revoked: text("dateRevoked"), id_token_parent: text("idTokenParent"), token: serde_json::from_value(value)? })
    }

    /// True while the token can still authenticate.
    pub fn is_live(&self) -> bool {
        let expired = self.token.date_expires.as_deref().and_then(parse_date).is_some_and(|at| at <= Utc::now());
        self.date_revoked.is_none() && !expired
    }
}

/// The token `root` and, transitively, every live token minted from it (revoking a token
/// revokes what it minted).
pub(crate) fn with_descendants(records: &[TokenRecord], root: &str) -> Vec<String> {
    let mut doomed = vec![root.to_string()];
    let mut at = 0;
    while at < doomed.len() {
        let parent = doomed[at].clone();
        doomed.extend(
            records
                .iter()
                .filter(|r| r.date_revoked.is_none() && r.id_token_parent.as_deref() == Some(parent.as_str()))
                .map(|r| r.token.id.clone()),
        );
        at += 1;
    }
    doomed
}

/// A token minted by `POST /enterprises/{id}/tokens`: the record and its secret.
#[derive(Debug, Clone)]
pub struct MintedToken {
    pub token: Token,
    pub secret: String,
}

/// The token whose secret is `secret`, if it can still authenticate.
async fn live_token(tx: &mut Tx, secret: &str) -> Result<Token> {
    let docs = tx.docs(Table::Tokens, &[Cond::eq("token_hash", sha256_hex(secret))], Order::None, Some(1)).await?;
    let doc = docs.first().ok_or(DomainError::Unauthorized(INVALID_TOKEN))?;
    let record = TokenRecord::from_doc(doc)?;
    if !record.is_live() {
        return Err(DomainError::Unauthorized(INVALID_TOKEN));
    }
    Ok(record.token)
}

/// The path token, which only its own member may read or revoke: the request's member
/// must be the token's, or, for a request with an application key and no token, the key
/// must be the one the token was issued under (the path token is then the credential).
pub(crate) async fn own_token(tx: &mut Tx, actor: &Actor, request_key: Option<&str>, secret: &str) -> Result<Token> {
    if actor.member.is_none() && request_key.is_none() {
        return Err(DomainError::Unauthorized(UNAUTHORIZED));
    }
    let token = live_token(tx, secret).await?;
    // A per-board token manages only itself: the member's other tokens are beyond it.
    if actor.is_narrowed() && actor.token.as_ref().is_some_and(|t| t.id != token.id) {
        return Err(DomainError::Unauthorized(UNAUTHORIZED));
    }
    let allowed = match actor.member_id() {
        Some(member) => member == token.id_member,
        None => request_key.is_some_and(|key| key.eq_ignore_ascii_case(&token.app_key)),
    };
    if allowed {
        Ok(token)
    } else {
        Err(DomainError::Unauthorized(INVALID_TOKEN))
    }
}

/// Marks one token revoked inside `tx`: the hash gives way to `revoked:<id>` (unique,
/// and never the SHA-256 of anything) and the document records when and by whom.
pub(crate) async fn revoke_in(tx: &mut Tx, record: &TokenRecord, by: &str) -> Result<()> {
    let mut doc = serde_json::to_value(&record.token)?;
    if let (Some(map), Some(parent)) = (doc.as_object_mut(), &record.id_token_parent) {
        map.insert("idTokenParent".into(), json!(parent));
    }
    if let Some(map) = doc.as_object_mut() {
        map.insert("dateRevoked".into(), json!(now()));
        map.insert("idMemberRevoker".into(), json!(by));
    }
    // The old hash moves to `revoked_hash`, so a later use is audited as a revoked token.
    let old_hash = tx.column(Table::Tokens, "token_hash", &[Cond::eq("id", &record.token.id)]).await?.pop();
    let values = [
        ("token_hash", Arg::text(format!("revoked:{}", record.token.id))),
        ("revoked_hash", Arg::opt(old_hash.filter(|h| !h.starts_with("revoked:")))),
        ("doc", Arg::Text(doc.to_string())),
    ];
    tx.update(Table::Tokens, &values, &[Cond::eq("id", &record.token.id)]).await?;
    let event = crate::audit::AuditEvent::new("token.revoked")
        .with("idToken", record.token.id.as_str())
        .with("idMember", record.token.id_member.as_str())
        .with("key", record.token.app_key.as_str())
        .with("idMemberRevoker", by)
        .with("idCommand", cork_store::pipeline::command_id());
    crate::audit::insert_in(tx, &event).await?;
    // Trello deletes a token's webhooks with it.
    crate::webhooks::remove_for_token(tx, &record.token.id).await?;
    Ok(())
}

impl Cork {
    /// `GET /tokens/{token}` and `/tokens/{token}/member`.
    pub async fn token_by_secret(&self, actor: &Actor, request_key: Option<&str>, secret: &str) -> Result<Token> {
        let mut tx = self.store.read().await?;
        own_token(&mut tx, actor, request_key, secret).await
    }

    /// `DELETE /tokens/{token}/`: the token stops working at once, and so do the tokens
    /// it minted. A token may always revoke itself (a client logging out); revoking
    /// another token of the member is an account change and needs the `account` scope.
    /// Revocation is a credential change, not a Trello object change: the token row is
    /// its record, and no action is written.
    pub async fn revoke_token(&self, actor: &Actor, request_key: Option<&str>, secret: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let token = own_token(&mut tx, actor, request_key, secret).await?;
        let is_self = actor.token.as_ref().is_some_and(|t| t.id == token.id);
        if actor.member.is_some() && !is_self && !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let docs = tx.docs(Table::Tokens, &[Cond::eq("member_id", &token.id_member)], Order::Asc("id"), None).await?;
        let records = docs.iter().map(|d| TokenRecord::from_doc(d)).collect::<Result<Vec<_>>>()?;
        let doomed = with_descendants(&records, &token.id);
        let by = actor.member_id().unwrap_or(&token.id_member).to_string();
        for record in records.iter().filter(|r| r.date_revoked.is_none() && doomed.contains(&r.token.id)) {
            revoke_in(&mut tx, record, &by).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `GET /members/{id}/tokens`: the member's tokens that still work, oldest first;
    /// only the member may list them, and the secrets are never part of the answer.
    pub async fn member_tokens(&self, actor: &Actor, member_ref: &str) -> Result<Vec<Token>> {
        let mut tx = self.store.read().await?;
        let member = resolve_member(&mut tx, actor, member_ref).await?;
        if actor.member_id() != Some(member.id.as_str()) || actor.is_narrowed() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let docs = tx.docs(Table::Tokens, &[Cond::eq("member_id", &member.id)], Order::Asc("id"), None).await?;
        let records = docs.iter().map(|d| TokenRecord::from_doc(d)).collect::<Result<Vec<_>>>()?;
        Ok(records.into_iter().filter(TokenRecord::is_live).map(|r| r.token).collect())
    }

    /// `POST /enterprises/{id}/tokens`: a token for the requesting admin that also grants
    /// the enterprise. Minting credentials over the API is guarded so that a stolen token
    /// cannot outlive itself: the request must come with a token that has the `account`
    /// scope; the new token has the same application, member and scopes (never more); it
    /// expires no later than the token that asked for it (`never` only when that one
    /// never expires; 30 days when nothing is asked); and revoking the requesting token
    /// revokes it too.
    pub async fn mint_enterprise_token(&self, actor: &Actor, reference: &str, requested: Option<&str>) -> Result<MintedToken> {
        let enterprise: Enterprise = self.require_enterprise_admin(actor, reference).await?;
        let Some(parent) = actor.token.clone() else {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        };
        if !actor.may_change_account() {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        let lifetime = expiration(requested.unwrap_or("30days")).ok_or_else(|| DomainError::InvalidValue("expiration".into()))?;
        let parent_expires = parent.date_expires.as_deref().and_then(parse_date);
        let expires = match (lifetime.map(|d| Utc::now() + d), parent_expires) {
            (Some(wanted), Some(limit)) => Some(wanted.min(limit)),
            (Some(wanted), None) => Some(wanted),
            (None, None) => None,
            (None, Some(_)) => return Err(DomainError::InvalidValue("expiration".into())),
        };
        let mut tx = self.store.write().await?;
        let member = require_admin(&mut tx, actor).await?.clone();
        let secret = random_hex(32);
        let may_write = parent.scopes.iter().any(|s| s == "write");
        let mut permissions = parent.permissions.clone();
        permissions.push(TokenPermission {
            id_model: enterprise.id.clone(),
            model_type: "Enterprise".into(),
            read: true,
            write: may_write,
        });
        let token = Token {
            id: new_id(),
            identifier: parent.identifier.clone(),
            id_member: member.id.clone(),
            app_key: parent.app_key.clone(),
            date_created: now(),
            date_expires: expires.map(format_date),
            scopes: parent.scopes.clone(),
            permissions,
            gate: None,
        };
        let mut doc = serde_json::to_value(&token)?;
        if let Some(map) = doc.as_object_mut() {
            map.insert("idTokenParent".into(), json!(parent.id));
        }
        let issued = crate::audit::AuditEvent::new("token.issued")
            .with("idToken", token.id.as_str())
            .with("idMember", member.id.as_str())
            .with("key", token.app_key.as_str())
            .with("idTokenParent", parent.id.as_str())
            .with("scopes", token.scopes.clone())
            .with("dateExpires", token.date_expires.clone());
        crate::audit::insert_in(&mut tx, &issued).await?;
        tx.insert(
            Table::Tokens,
            &[
                ("id", Arg::text(&token.id)),
                ("token_hash", Arg::text(sha256_hex(&secret))),
                ("member_id", Arg::text(&member.id)),
                ("app_key", Arg::text(&token.app_key)),
                ("doc", Arg::Text(doc.to_string())),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(MintedToken { token, secret })
    }

    /// `GET /applications/{key}/compliance`: the privacy-compliance records (members who
    /// deleted their account or changed their profile) an application must act on. A
    /// self-hosted Cork never sends member data to outside parties, so there are none;
    /// the key must exist and belong to the asking member.
    pub async fn application_compliance(&self, actor: &Actor, key: &str) -> Result<Vec<Value>> {
        let member = actor.require_member()?;
        if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DomainError::InvalidValue("key".into()));
        }
        let mut tx = self.store.read().await?;
        let app: AppKey = get(&mut tx, &key.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        if app.id_member != member.id {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
        Ok(Vec::new())
    }
}

/// The actor a token makes, by the token's id, if it still works (an approved change
/// request runs as its requester's token).
pub(crate) async fn actor_for_token_id(tx: &mut Tx, token_id: &str) -> Result<Option<crate::access::Actor>> {
    if !crate::ids::is_id(token_id) {
        return Ok(None);
    }
    let Some(doc) = tx.doc(Table::Tokens, token_id).await? else { return Ok(None) };
    let record = TokenRecord::from_doc(&doc)?;
    if !record.is_live() {
        return Ok(None);
    }
    let member: Option<crate::model::Member> = crate::store_ext::get(tx, &record.token.id_member).await?;
    Ok(member.map(|member| crate::access::Actor { member: Some(member), token: Some(record.token) }))
}
