//! Members, application keys and tokens: how a request becomes an [`Actor`].

use chrono::{Duration, Utc};
use cork_store::{Arg, Cond, Order, Table};
use serde::Serialize;
use serde_json::json;

use crate::access::{Actor, UNAUTHORIZED};
use crate::ids::{new_id, random_hex, sha256_hex};
use crate::model::{AppKey, Member, Token, TokenPermission};
use crate::store_ext::{find, get, insert};
use crate::{format_date, now, parse_date, Cork, DomainError, Result};

/// What `cork token create` prints: the pair a client needs, and who it acts for.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    pub key: String,
    pub token: String,
    pub secret: String,
    pub id_member: String,
    pub id_token: String,
    pub date_expires: Option<String>,
    pub scopes: Vec<String>,
}

/// The expirations Trello offers.
pub fn expiration(value: &str) -> Option<Option<Duration>> {
    match value {
        "never" => Some(None),
        "1hour" => Some(Some(Duration::hours(1))),
        "1day" => Some(Some(Duration::days(1))),
        "30days" => Some(Some(Duration::days(30))),
        _ => None,
    }
}

fn valid_username(name: &str) -> bool {
    name.len() >= 3 && name.len() <= 100 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Initials from a full name: the first letter of up to three words.
pub fn initials(full_name: &str) -> String {
    full_name.split_whitespace().filter_map(|w| w.chars().next()).take(3).collect::<String>().to_uppercase()
}

/// What a token is issued for.
#[derive(Debug, Clone, Default)]
pub struct TokenGrant {
    /// The application key (32 hex) it is issued under; `None`: the member's own key named
    /// `app`, made on first use.
    pub key: Option<String>,
    /// The application's name, shown as the token's `identifier`.
    pub app: String,
    pub scopes: Vec<String>,
    /// `None` never expires.
    pub expires: Option<Duration>,
    /// Cork's per-board tokens: when not empty, the token reaches only these boards and
    /// workspaces (`modelType` `Board` or `Organization`), each read-only or read-write.
    pub models: Vec<TokenPermission>,
}

/// The `permissions` list of a new token: every board and workspace (`*`) or only the
/// granted ones, each capped by the `write` scope; the member itself, writable with `account`.
fn token_permissions(member: &Member, scopes: &[String], models: Vec<TokenPermission>) -> Vec<TokenPermission> {
    let write = scopes.iter().any(|s| s == "write");
    let mut permissions: Vec<TokenPermission> = if models.is_empty() {
        ["Board", "Organization"]
            .into_iter()
            .map(|model_type| TokenPermission { id_model: "*".into(), model_type: model_type.into(), read: true, write })
            .collect()
    } else {
        models.into_iter().map(|m| TokenPermission { write: m.write && write, read: true, ..m }).collect()
    };
    permissions.push(TokenPermission {
        id_model: member.id.clone(),
        model_type: "Member".into(),
        read: true,
        write: scopes.iter().any(|s| s == "account"),
    });
    permissions
}

/// Audits a new application key (its public value; never its secret).
async fn key_created(tx: &mut cork_store::Tx, key: &AppKey) -> Result<()> {
    let fields = [("key", json!(key.id)), ("idMember", json!(key.id_member)), ("name", json!(key.name))];
    crate::audit::change(tx, None, "appKey.created", &fields).await
}

impl Cork {
    /// Creates a member (`cork user create`).
    pub async fn create_member(&self, username: &str, full_name: Option<&str>, email: Option<&str>) -> Result<Member> {
        if !valid_username(username) {
            return Err(DomainError::InvalidValue("username".into()));
        }
        let full_name = full_name.unwrap_or(username).to_string();
        let member = Member {
            id: new_id(),
            username: username.to_string(),
            initials: initials(&full_name),
            full_name,
            email: email.map(str::to_string),
            bio: String::new(),
            member_type: "normal".into(),
            confirmed: true,
            avatar_hash: None,
            date_last_active: None,
            prefs: Default::default(),
        };
        let mut tx = self.store.write().await?;
        if tx.count(Table::Members, &[Cond::eq("username", username)]).await? > 0 {
            return Err(DomainError::BadRequest(format!("username {username} is taken")));
        }
        insert(&mut tx, &member).await?;
        crate::audit::change(&mut tx, None, "member.created", &[("idMember", json!(member.id)), ("username", json!(member.username))])
            .await?;
        tx.commit().await?;
        Ok(member)
    }

    /// How many members exist (the first-start hint needs it).
    pub async fn member_count(&self) -> Result<i64> {
        let mut tx = self.store.read().await?;
        Ok(tx.count(Table::Members, &[]).await?)
    }

    /// A member by username.
    pub async fn member_by_username(&self, username: &str) -> Result<Member> {
        let mut tx = self.store.read().await?;
        find::<Member>(&mut tx, &[Cond::eq("username", username)], Order::None, Some(1))
            .await?
            .pop()
            .ok_or(DomainError::NotFound(crate::NOT_FOUND))
    }

    /// Creates an application key with its secret for `member`.
    pub async fn create_app_key(&self, member: &Member, name: &str) -> Result<AppKey> {
        let key = AppKey {
            id: random_hex(16),
            id_member: member.id.clone(),
            name: name.to_string(),
            secret: random_hex(32),
            date_created: now(),
        };
        let mut tx = self.store.write().await?;
        insert(&mut tx, &key).await?;
        key_created(&mut tx, &key).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// Issues a token for `member` under the member's key named `app` (made on first use).
    pub async fn issue_token(&self, member: &Member, app: &str, scopes: &[String], expires: Option<Duration>) -> Result<IssuedToken> {
        self.issue(member, TokenGrant { key: None, app: app.to_string(), scopes: scopes.to_vec(), expires, models: Vec::new() }).await
    }

    /// Issues a token for `member` as `grant` describes.
    pub async fn issue(&self, member: &Member, grant: TokenGrant) -> Result<IssuedToken> {
        let TokenGrant { key, app, scopes, expires, models } = grant;
        let app = app.as_str();
        let scopes = scopes.as_slice();
        for scope in scopes {
            if !matches!(scope.as_str(), "read" | "write" | "account") {
                return Err(DomainError::InvalidValue("scope".into()));
            }
        }
        for model in &models {
            if !matches!(model.model_type.as_str(), "Board" | "Organization") || model.id_model == "*" {
                return Err(DomainError::InvalidValue("idModel".into()));
            }
        }
        let mut tx = self.store.write().await?;
        let key = match key {
            Some(key) => {
                let found: Option<AppKey> = get(&mut tx, &key.to_ascii_lowercase()).await?;
                found.ok_or(DomainError::Unauthorized("invalid key"))?
            }
            None => {
                let keys: Vec<AppKey> = find(&mut tx, &[Cond::eq("member_id", &member.id)], Order::Asc("id"), None).await?;
                match keys.into_iter().find(|k| k.name == app) {
                    Some(key) => key,
                    None => {
                        let key = AppKey {
                            id: random_hex(16),
                            id_member: member.id.clone(),
                            name: app.to_string(),
                            secret: random_hex(32),
                            date_created: now(),
                        };
                        insert(&mut tx, &key).await?;
                        key_created(&mut tx, &key).await?;
                        key
                    }
                }
            }
        };
        let secret = random_hex(32);
        let token = Token {
            id: new_id(),
            identifier: app.to_string(),
            id_member: member.id.clone(),
            app_key: key.id.clone(),
            date_created: now(),
            date_expires: expires.map(|d| format_date(Utc::now() + d)),
            scopes: scopes.to_vec(),
            permissions: token_permissions(member, scopes, models),
            gate: None,
        };
        let issued = crate::audit::AuditEvent::new("token.issued")
            .with("idToken", token.id.as_str())
            .with("idMember", member.id.as_str())
            .with("key", key.id.as_str())
            .with("identifier", app)
            .with("scopes", scopes.to_vec())
            .with("dateExpires", token.date_expires.clone())
            .with("permissions", serde_json::to_value(&token.permissions)?);
        crate::audit::insert_in(&mut tx, &issued).await?;
        tx.insert(
            Table::Tokens,
            &[
                ("id", Arg::text(&token.id)),
                ("token_hash", Arg::text(sha256_hex(&secret))),
                ("member_id", Arg::text(&member.id)),
                ("app_key", Arg::text(&key.id)),
                ("doc", Arg::Text(serde_json::to_string(&token)?)),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedToken {
            key: key.id,
            token: secret,
            secret: key.secret,
            id_member: member.id.clone(),
            id_token: token.id,
            date_expires: token.date_expires,
            scopes: token.scopes,
        })
    }

    /// Resolves the credentials of a request, with Trello's 401 texts:
    /// nothing → `unauthorized permission requested`, a token without a key →
    /// `invalid app key`, an unknown key → `invalid key` (a valid key alone reads public
    /// boards), a bad, expired or foreign token → `invalid token`.
    pub async fn authenticate(&self, key: Option<&str>, token: Option<&str>) -> Result<Actor> {
        let key = key.filter(|k| !k.is_empty());
        let token = token.filter(|t| !t.is_empty() && *t != "null");
        let Some(key) = key else {
            return match token {
                Some(_) => Err(DomainError::Unauthorized("invalid app key")),
                None => Err(DomainError::Unauthorized(UNAUTHORIZED)),
            };
        };
        if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DomainError::Unauthorized("invalid key"));
        }
        // Key, token and member in one query (this runs on every request).
        let hash = token.map(sha256_hex);
        let mut tx = self.store.read().await?;
        let found = tx.credentials(&key.to_ascii_lowercase(), hash.as_deref().unwrap_or("")).await?;
        let Some((app, token_doc, member_doc)) = found else { return Err(DomainError::Unauthorized("invalid key")) };
        let app: AppKey = serde_json::from_str(&app)?;
        let Some(hash) = hash else { return Ok(Actor::anonymous()) };
        let Some(doc) = token_doc else {
            // Only a refused request pays for telling a revoked token from an unknown one.
            crate::audit::recognise_revoked(&mut tx, &hash).await?;
            return Err(DomainError::Unauthorized("invalid token"));
        };
        let stored: Token = serde_json::from_str(&doc)?;
        let (id_token, id_member) = (stored.id.clone(), stored.id_member.clone());
        crate::audit::note(|n| {
            n.id_token = Some(id_token);
            n.id_member = Some(id_member);
        });
        if stored.app_key != app.id {
            crate::audit::note(|n| n.token_problem = Some("wrong key"));
            return Err(DomainError::Unauthorized("invalid token"));
        }
        if let Some(expires) = stored.date_expires.as_deref().and_then(parse_date) {
            if expires <= Utc::now() {
                crate::audit::note(|n| n.token_problem = Some("expired"));
                return Err(DomainError::Unauthorized("invalid token"));
            }
        }
        let Some(member) = member_doc else { return Err(DomainError::Unauthorized("invalid token")) };
        let member: Member = serde_json::from_str(&member)?;
        Ok(Actor { member: Some(member), token: Some(stored) })
    }
}
