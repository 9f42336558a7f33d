//! Webhooks: registration as Trello does it, and the outbox behind deliveries.
//!
//! A webhook belongs to one token and watches one board, list, card, member or
//! workspace. Every action that touches a watched model gets one delivery row per
//! active webhook, written by [`enqueue`] inside the action's own transaction
//! (`actions::record`), so a committed action always has its deliveries and a rolled
//! back one has none. The sender (in the wire layer, which owns HTTP) claims due rows
//! with a lease ([`Cork::claim_webhook_deliveries`]), asks [`Cork::prepare_deliveries`]
//! whether the webhook's token may still see each action, sends, records the successes
//! with [`Cork::settle_sent`] and any other attempt with [`Cork::finish_delivery`],
//! which applies the retry and failure rules.
//! The action is kept in the delivery row as it was written: it is rendered at send
//! time from that snapshot (comments can be deleted before the send), while `model`
//! is the model as it is when sent, as on Trello.

use std::time::Duration;

use chrono::Utc;
use cork_store::{Arg, ClaimedDelivery, Cond, Order, Table, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::access::{board_role, memberships_of, Actor, Role, UNAUTHORIZED};
use crate::actions::{creators_of, Refs};
use crate::ids::{is_id, new_id};
use crate::model::{Action, AppKey, Board, Card, List, Member, Organization, Token};
use crate::store_ext::{find, get, get_for_update, insert, remove, save, Stored};
use crate::tokens::TokenRecord;
use crate::{now, parse_date, Cork, DomainError, Result, NOT_FOUND};

/// Trello's refusal of a second webhook with the same callback, model and token.
pub const DUPLICATE: &str = "A webhook with that callback, model, and token already exists";

/// Longest callback URL kept (it is part of a unique index and of every signature).
pub const MAX_CALLBACK_LEN: usize = 2048;

/// Deliveries a worker has just claimed, and when its lease on them runs out (epoch ms).
#[derive(Debug, Default)]
pub struct Claim {
    pub deliveries: Vec<Delivery>,
    pub until: i64,
}

/// A registered webhook. The first seven fields are Trello's; the rest is Cork's
/// bookkeeping (whose token it is, what kind of model it watches).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    pub description: String,
    pub id_model: String,
    #[serde(rename = "callbackURL")]
    pub callback_url: String,
    pub active: bool,
    pub consecutive_failures: i64,
    pub first_consecutive_fail_date: Option<String>,
    pub id_token: String,
    pub id_member: String,
    /// `Board`, `List`, `Card`, `Member` or `Organization`.
    pub model_type: String,
    pub date_created: String,
    /// Cork's extension: which actions the receiver wants (none: every action, as Trello).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<WebhookFilter>,
}

/// A webhook's filter (`cork.filter`): an action is delivered when it matches every
/// non-empty dimension, and a dimension when any of its values does.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookFilter {
    /// Action types (`updateCard`, `commentCard`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Lists the action is in, left or entered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lists: Vec<String>,
    /// Labels the action is about, or that its card carries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Members who did the action or whom it is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

impl WebhookFilter {
    /// No dimension set: the same as no filter.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && self.lists.is_empty() && self.labels.is_empty() && self.members.is_empty()
    }

    /// Whether `action` passes; `card_labels` are the labels of the card it is about.
    fn admits(&self, action: &Action, card_labels: &[String]) -> bool {
        let named = |pointers: &[&str], wanted: &[String]| {
            pointers.iter().filter_map(|p| action.data.pointer(p).and_then(Value::as_str)).any(|id| wanted.iter().any(|w| w == id))
        };
        (self.types.is_empty() || self.types.contains(&action.kind))
            && (self.lists.is_empty() || named(&["/list/id", "/listBefore/id", "/listAfter/id"], &self.lists))
            && (self.labels.is_empty()
                || named(&["/label/id"], &self.labels)
                || card_labels.iter().any(|label| self.labels.contains(label)))
            && (self.members.is_empty()
                || self.members.contains(&action.id_member_creator)
                || named(&["/idMember", "/member/id"], &self.members))
    }
}

impl Stored for Webhook {
    const TABLE: Table = Table::Webhooks;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("token_id", Arg::text(&self.id_token)),
            ("model_id", Arg::text(&self.id_model)),
            ("callback_url", Arg::text(&self.callback_url)),
            ("active", Arg::flag(self.active)),
        ]
    }
}

/// The parameters of a create or an update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub description: Option<String>,
    pub callback_url: Option<String>,
    pub id_model: Option<String>,
    pub active: Option<bool>,
    /// `cork.filter`: `Some` sets it (an empty filter removes it), `None` keeps it.
    pub filter: Option<WebhookFilter>,
}

/// Which token a webhook route acts for: the request's own, or the one named in the
/// path of `/tokens/{token}/webhooks` (with the request's application key, which may
/// stand in for a token there, as on the other token routes).
#[derive(Debug, Clone, Copy)]
pub enum TokenRef<'a> {
    Request,
    Path { secret: &'a str, request_key: Option<&'a str> },
}

/// One try at sending a delivery, as the log shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub date: String,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why there was no usable answer (timeout, refused address, connection error).
    pub error: Option<String>,
    pub latency_ms: u64,
    /// The first KiB of the answer's body.
    pub response: String,
}

impl Attempt {
    /// True for a 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// One action to send to one webhook, with its attempts so far.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub id_webhook: String,
    pub id_action: String,
    /// The action as it was written (rendered at send time).
    pub action: Action,
    pub date_created: String,
    /// `pending`, `sent` or `failed` (given up, or dropped because the webhook's token
    /// can no longer see the action).
    pub state: String,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// The delivery this one repeats, for redeliveries.
    #[serde(default)]
    pub redelivery_of: Option<String>,
    /// Why a failed delivery stopped.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Retry and failure rules.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Retries after the first attempt before a delivery is given up (Trello: 3).
    pub retries: u32,
    /// The wait before the first retry; each further retry waits twice as long.
    pub backoff: Duration,
    /// The longest wait between two attempts.
    pub backoff_max: Duration,
    /// A webhook failing without a success for this long is set `active: false`.
    pub disable_after: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            retries: 3,
            backoff: Duration::from_secs(30),
            backoff_max: Duration::from_secs(3600),
            disable_after: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl DeliveryPolicy {
    /// The wait before retry `n` (1-based).
    pub fn backoff_for(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1).min(30)).unwrap_or(u32::MAX);
        self.backoff.saturating_mul(factor).min(self.backoff_max)
    }
}

/// What a worker needs to send a delivery: the webhook, the token's actor (to render
/// the model with its rights), the signing secret and the action's creator.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub delivery: Delivery,
    pub webhook: Webhook,
    pub actor: Actor,
    /// The secret of the application key that owns the webhook's token.
    pub secret: String,
    pub creators: Vec<Member>,
}

/// What became of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Another attempt is due later.
    Retry,
    /// Given up (retries exhausted, or the webhook was disabled).
    Failed,
    /// The receiver answered 410 Gone: the webhook was deleted.
    WebhookDeleted,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// The actor a token acts as, when the token still works.
async fn token_actor(tx: &mut Tx, token_id: &str) -> Result<Option<Actor>> {
    let Some(doc) = tx.doc(Table::Tokens, token_id).await? else { return Ok(None) };
    let record = TokenRecord::from_doc(&doc)?;
    if !record.is_live() {
        return Ok(None);
    }
    let member: Option<Member> = get(tx, &record.token.id_member).await?;
    Ok(member.map(|member| Actor { member: Some(member), token: Some(record.token) }))
}

/// The token a webhook route acts for, as an actor.
async fn owner_of(tx: &mut Tx, actor: &Actor, token: TokenRef<'_>) -> Result<Actor> {
    match token {
        TokenRef::Request => match &actor.token {
            Some(_) => Ok(actor.clone()),
            // Webhooks belong to tokens: a request without one has nothing to own them.
            None => Err(DomainError::Unauthorized(UNAUTHORIZED)),
        },
        TokenRef::Path { secret, request_key } => {
            let token = crate::tokens::own_token(tx, actor, request_key, secret).await?;
            token_actor(tx, &token.id).await?.ok_or(DomainError::Unauthorized("invalid token"))
        }
    }
}

/// True when the token's grants reach `model_type` `id` (`*` or the id itself). Tokens
/// keep their grants in `permissions`; a token without any predates them and is whole.
fn grant_reaches(token: Option<&Token>, model_type: &str, id: &str) -> bool {
    let Some(token) = token else { return true };
    token.permissions.is_empty()
        || token.permissions.iter().any(|p| p.read && p.model_type == model_type && (p.id_model == "*" || p.id_model == id))
}

/// True when the token may read the board: its member's role there, which access.rs
/// caps by the token, and the token's own grants.
async fn reads_board(tx: &mut Tx, actor: &Actor, board: &Board) -> Result<bool> {
    let granted = grant_reaches(actor.token.as_ref(), "Board", &board.id)
        || board.id_organization.as_deref().is_some_and(|org| grant_reaches(actor.token.as_ref(), "Organization", org));
    Ok(granted && board_role(tx, actor, board).await? >= Role::Read)
}

/// Resolves `idModel` for `owner`: its kind, refused unless the token may read it.
async fn watched_model(tx: &mut Tx, owner: &Actor, id_model: &str) -> Result<(String, &'static str)> {
    if !is_id(id_model) {
        return Err(DomainError::InvalidValue("idModel".into()));
    }
    let id = id_model.to_ascii_lowercase();
    let readable = |ok: bool| if ok { Ok(()) } else { Err(DomainError::Unauthorized(UNAUTHORIZED)) };
    if let Some(board) = get::<Board>(tx, &id).await? {
        readable(reads_board(tx, owner, &board).await?)?;
        return Ok((id, "Board"));
    }
    if let Some(list) = get::<List>(tx, &id).await? {
        let board: Board = get(tx, &list.id_board).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        readable(reads_board(tx, owner, &board).await?)?;
        return Ok((id, "List"));
    }
    if let Some(card) = get::<Card>(tx, &id).await? {
        let board: Board = get(tx, &card.id_board).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
        readable(reads_board(tx, owner, &board).await?)?;
        return Ok((id, "Card"));
    }
    if get::<Member>(tx, &id).await?.is_some() {
        // A member's activity is theirs: a token watches only its own member.
        readable(owner.member_id() == Some(id.as_str()))?;
        return Ok((id, "Member"));
    }
    if get::<Organization>(tx, &id).await?.is_some() {
        let member_of = !memberships_of(tx, owner, &[id.as_str()]).await?.is_empty();
        readable(member_of && grant_reaches(owner.token.as_ref(), "Organization", &id))?;
        return Ok((id, "Organization"));
    }
    Err(DomainError::InvalidValue("idModel".into()))
}

/// True when the webhook's token may see this action: the board it happened on, else
/// its workspace, else it must be the member's own (by them or about them).
async fn reads_action(tx: &mut Tx, actor: &Actor, action: &Action) -> Result<bool> {
    let text = |pointer: &str| action.data.pointer(pointer).and_then(Value::as_str).map(str::to_string);
    if let Some(board_id) = text("/board/id") {
        return match get::<Board>(tx, &board_id).await? {
            Some(board) => reads_board(tx, actor, &board).await,
            None => Ok(false),
        };
    }
    if let Some(org_id) = text("/organization/id") {
        let member_of = !memberships_of(tx, actor, &[org_id.as_str()]).await?.is_empty();
        return Ok(member_of && grant_reaches(actor.token.as_ref(), "Organization", &org_id));
    }
    let me = actor.member_id().unwrap_or_default();
    Ok(action.id_member_creator == me || text("/member/id").as_deref() == Some(me) || text("/idMember").as_deref() == Some(me))
}

fn require_callback(url: &str) -> Result<String> {
    if url.is_empty() || url.len() > MAX_CALLBACK_LEN {
        return Err(DomainError::InvalidValue("callbackURL".into()));
    }
    Ok(url.to_string())
}

fn require_description(text: &str) -> Result<String> {
    if text.len() > 16384 {
        return Err(DomainError::InvalidValue("description".into()));
    }
    Ok(text.to_string())
}

async fn refuse_duplicate(tx: &mut Tx, token_id: &str, model_id: &str, callback: &str, except: Option<&str>) -> Result<()> {
    let ids = tx
        .column(
            Table::Webhooks,
            "id",
            &[Cond::eq("token_id", token_id), Cond::eq("model_id", model_id), Cond::eq("callback_url", callback)],
        )
        .await?;
    if ids.iter().any(|id| Some(id.as_str()) != except) {
        return Err(DomainError::BadRequest(DUPLICATE.into()));
    }
    Ok(())
}

/// Writes one delivery row per active webhook that watches a model the action touches
/// (its board, list, card, workspace, the lists of a move, the members it is by or
/// about). Called by `actions::record` in the action's transaction: the outbox.
pub(crate) async fn enqueue(tx: &mut Tx, action: &Action, refs: &Refs) -> Result<()> {
    let mut ids: Vec<String> = [&refs.board, &refs.list, &refs.card, &refs.org, &refs.subject].into_iter().flatten().cloned().collect();
    ids.push(action.id_member_creator.clone());
    for pointer in [
        "/board/id",
        "/boardSource/id",
        "/boardTarget/id",
        "/list/id",
        "/listBefore/id",
        "/listAfter/id",
        "/card/id",
        "/organization/id",
        "/member/id",
        "/idMember",
    ] {
        if let Some(id) = action.data.pointer(pointer).and_then(Value::as_str) {
            ids.push(id.to_string());
        }
    }
    ids.sort_unstable();
    ids.dedup();
    let hooks: Vec<Webhook> =
        find(tx, &[Cond::any_of("model_id", &ids), Cond::Eq("active", Arg::flag(true))], Order::Asc("id"), None).await?;
    let mut card_labels: Option<Vec<String>> = None;
    for hook in hooks {
        if let Some(filter) = &hook.filter {
            if card_labels.is_none() && !filter.labels.is_empty() {
                let card: Option<crate::model::Card> = match action.data.pointer("/card/id").and_then(Value::as_str) {
                    Some(id) => get(tx, id).await?,
                    None => None,
                };
                card_labels = Some(card.map(|c| c.id_labels).unwrap_or_default());
            }
            if !filter.admits(action, card_labels.as_deref().unwrap_or_default()) {
                continue;
            }
        }
        // Locking the webhook (PostgreSQL; in id order, so two writers cannot deadlock)
        // until this transaction ends makes `seq` follow commit order: a concurrent
        // action for the same webhook waits, takes a later `seq` and commits later, so
        // a worker never sees a later delivery before an earlier one.
        get_for_update::<Webhook>(tx, &hook.id).await?;
        insert_delivery(tx, &hook.id, action, None, now_ms()).await?;
    }
    Ok(())
}

async fn insert_delivery(tx: &mut Tx, webhook_id: &str, action: &Action, redelivery_of: Option<String>, due: i64) -> Result<Delivery> {
    let delivery = Delivery {
        id: new_id(),
        id_webhook: webhook_id.to_string(),
        id_action: action.id.clone(),
        action: action.clone(),
        date_created: now(),
        state: "pending".into(),
        attempts: Vec::new(),
        redelivery_of,
        reason: None,
    };
    tx.insert(
        Table::WebhookDeliveries,
        &[
            ("id", Arg::text(&delivery.id)),
            ("webhook_id", Arg::text(webhook_id)),
            ("action_id", Arg::text(&action.id)),
            ("state", Arg::text("pending")),
            ("due_at", Arg::Int(due)),
            ("lease_until", Arg::Int(0)),
            ("doc", Arg::Text(serde_json::to_string(&delivery)?)),
        ],
    )
    .await?;
    Ok(delivery)
}

async fn save_delivery(tx: &mut Tx, delivery: &Delivery, due: i64) -> Result<()> {
    tx.update(
        Table::WebhookDeliveries,
        &[
            ("state", Arg::text(&delivery.state)),
            ("due_at", Arg::Int(due)),
            ("lease_until", Arg::Int(0)),
            ("lease_owner", Arg::Null),
            ("doc", Arg::Text(serde_json::to_string(delivery)?)),
        ],
        &[Cond::eq("id", &delivery.id)],
    )
    .await?;
    Ok(())
}

async fn load_delivery(tx: &mut Tx, id: &str) -> Result<Delivery> {
    if !is_id(id) {
        return Err(DomainError::InvalidId);
    }
    let doc = tx.doc(Table::WebhookDeliveries, &id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    Ok(serde_json::from_str(&doc)?)
}

/// What the audit keeps of a webhook: all of it but the callback's query string, which
/// may carry a receiver's secret.
fn audited(hook: &Webhook) -> Vec<(&'static str, Value)> {
    let mut shown = serde_json::to_value(hook).unwrap_or_default();
    if let Some(url) = hook.callback_url.split(['?', '#']).next() {
        shown["callbackURL"] = Value::String(url.to_string());
    }
    vec![("webhook", shown)]
}

/// Deletes a webhook and its outbox rows.
async fn drop_webhook(tx: &mut Tx, hook: &Webhook) -> Result<()> {
    tx.delete(Table::WebhookDeliveries, &[Cond::eq("webhook_id", &hook.id)]).await?;
    remove(tx, hook).await
}

/// Removes the webhooks of a token that stops working (revocation). Called by
/// `tokens.rs` in the revoking transaction.
pub(crate) async fn remove_for_token(tx: &mut Tx, token_id: &str) -> Result<()> {
    let hooks: Vec<Webhook> = find(tx, &[Cond::eq("token_id", token_id)], Order::None, None).await?;
    for hook in hooks {
        drop_webhook(tx, &hook).await?;
    }
    Ok(())
}

/// The webhook, if `owner` (a token actor) owns it; `None` for the operator (CLI).
async fn owned_webhook(tx: &mut Tx, owner: Option<&Actor>, id: &str) -> Result<Webhook> {
    if !is_id(id) {
        return Err(DomainError::InvalidId);
    }
    let hook: Webhook = get(tx, &id.to_ascii_lowercase()).await?.ok_or(DomainError::NotFound(NOT_FOUND))?;
    if let Some(owner) = owner {
        let token = owner.token.as_ref().ok_or(DomainError::Unauthorized(UNAUTHORIZED))?;
        if token.id != hook.id_token {
            return Err(DomainError::Unauthorized(UNAUTHORIZED));
        }
    }
    Ok(hook)
}

impl Cork {
    /// Checks a new webhook (`POST /webhooks`, `POST /tokens/{token}/webhooks`) without
    /// writing anything: the caller then makes the HEAD request to the callback and,
    /// when it answers 200, calls [`Cork::create_webhook`], which checks again.
    pub async fn check_new_webhook(&self, actor: &Actor, token: TokenRef<'_>, input: &WebhookInput) -> Result<()> {
        let mut tx = self.store.read().await?;
        new_webhook(&mut tx, actor, token, input).await.map(|_| ())
    }

    /// Registers a webhook for the token (after the callback answered the HEAD check).
    pub async fn create_webhook(&self, actor: &Actor, token: TokenRef<'_>, input: &WebhookInput) -> Result<Webhook> {
        let mut tx = self.store.write().await?;
        let hook = new_webhook(&mut tx, actor, token, input).await?;
        insert(&mut tx, &hook).await.map_err(|e| match e {
            // Two racing creates: the unique index is the last word.
            DomainError::BadRequest(_) => DomainError::BadRequest(DUPLICATE.into()),
            other => other,
        })?;
        crate::audit::change(&mut tx, Some(actor), "webhook.created", &audited(&hook)).await?;
        tx.commit().await?;
        Ok(hook)
    }

    /// `GET /webhooks/{id}` and `/tokens/{token}/webhooks/{id}`: only for its token.
    pub async fn get_webhook(&self, actor: &Actor, token: TokenRef<'_>, id: &str) -> Result<Webhook> {
        let mut tx = self.store.read().await?;
        let owner = owner_of(&mut tx, actor, token).await?;
        owned_webhook(&mut tx, Some(&owner), id).await
    }

    /// `GET /tokens/{token}/webhooks`: the token's webhooks, oldest first.
    pub async fn token_webhooks(&self, actor: &Actor, token: TokenRef<'_>) -> Result<Vec<Webhook>> {
        let mut tx = self.store.read().await?;
        let owner = owner_of(&mut tx, actor, token).await?;
        let token_id = owner.token.as_ref().map(|t| t.id.clone()).unwrap_or_default();
        find(&mut tx, &[Cond::eq("token_id", token_id)], Order::Asc("id"), None).await
    }

    /// The webhooks of a token by id (`GET /tokens/{token}?webhooks=true`).
    pub async fn webhooks_of_token_id(&self, token_id: &str) -> Result<Vec<Webhook>> {
        let mut tx = self.store.read().await?;
        find(&mut tx, &[Cond::eq("token_id", token_id)], Order::Asc("id"), None).await
    }

    /// Checks an update before the caller verifies a changed callback; returns the
    /// webhook as it is now.
    pub async fn check_webhook_update(&self, actor: &Actor, token: TokenRef<'_>, id: &str, input: &WebhookInput) -> Result<Webhook> {
        let mut tx = self.store.read().await?;
        let (before, _) = updated_webhook(&mut tx, actor, token, id, input).await?;
        Ok(before)
    }

    /// `PUT /webhooks/{id}` (and the per-field forms): description, callback, model and
    /// `active`. Turning a webhook back on clears its failure count.
    pub async fn update_webhook(&self, actor: &Actor, token: TokenRef<'_>, id: &str, input: &WebhookInput) -> Result<Webhook> {
        let mut tx = self.store.write().await?;
        let (before, hook) = updated_webhook(&mut tx, actor, token, id, input).await?;
        save(&mut tx, &hook).await.map_err(|e| match e {
            DomainError::BadRequest(_) => DomainError::BadRequest(DUPLICATE.into()),
            other => other,
        })?;
        let mut fields = audited(&hook);
        fields.extend(audited(&before).into_iter().map(|(_, shown)| ("old", shown)));
        crate::audit::change(&mut tx, Some(actor), "webhook.updated", &fields).await?;
        tx.commit().await?;
        Ok(hook)
    }

    /// `DELETE /webhooks/{id}`: the webhook and its outbox rows.
    pub async fn delete_webhook(&self, actor: &Actor, token: TokenRef<'_>, id: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let owner = owner_of(&mut tx, actor, token).await?;
        let hook = owned_webhook(&mut tx, Some(&owner), id).await?;
        drop_webhook(&mut tx, &hook).await?;
        crate::audit::change(&mut tx, Some(actor), "webhook.deleted", &audited(&hook)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The delivery log of a webhook, newest first. `actor` `None` is the operator
    /// (the CLI); otherwise only the webhook's own token may read it.
    pub async fn webhook_deliveries(&self, actor: Option<&Actor>, id: &str, limit: i64) -> Result<(Webhook, Vec<Delivery>)> {
        let mut tx = self.store.read().await?;
        let hook = owned_webhook(&mut tx, actor, id).await?;
        let docs =
            tx.docs(Table::WebhookDeliveries, &[Cond::eq("webhook_id", &hook.id)], Order::Desc("seq"), Some(limit.clamp(1, 1000))).await?;
        let deliveries = docs.iter().map(|d| serde_json::from_str(d)).collect::<std::result::Result<_, _>>()?;
        Ok((hook, deliveries))
    }

    /// Queues a past delivery again (a new delivery of the same action snapshot, at the
    /// end of the webhook's queue). `actor` as for [`Cork::webhook_deliveries`].
    pub async fn redeliver(&self, actor: Option<&Actor>, delivery_id: &str) -> Result<Delivery> {
        let mut tx = self.store.write().await?;
        let past = load_delivery(&mut tx, delivery_id).await?;
        let hook = owned_webhook(&mut tx, actor, &past.id_webhook).await?;
        let copy = insert_delivery(&mut tx, &hook.id, &past.action, Some(past.id.clone()), now_ms()).await?;
        tx.commit().await?;
        Ok(copy)
    }

    /// Leases to `owner` for `lease` the due queues of up to `webhooks` webhooks (at most
    /// `rows` deliveries), oldest first; each webhook's deliveries are to be sent in
    /// that order by the one caller. The answer carries the lease as written: a claim
    /// that waited on the database holds less than `lease` from its return.
    pub async fn claim_webhook_deliveries(&self, owner: &str, lease: Duration, webhooks: i64, rows: i64) -> Result<Claim> {
        {
            // Idle polling stays a read: no write lock unless there is something due.
            let mut tx = self.store.read().await?;
            match tx.next_delivery_due().await? {
                Some(due) if due <= now_ms() => {}
                _ => return Ok(Claim::default()),
            }
        }
        let mut tx = self.store.write().await?;
        // The clock is read once the connection is in hand, so the lease written is
        // `lease` from the claim, not from before a wait for a connection.
        let now = now_ms();
        let until = now + lease.as_millis() as i64;
        let claimed: Vec<ClaimedDelivery> = tx.claim_deliveries(owner, now, until, webhooks, rows).await?;
        tx.commit().await?;
        let deliveries = claimed.iter().map(|c| Ok(serde_json::from_str(&c.doc)?)).collect::<Result<Vec<Delivery>>>()?;
        Ok(Claim { deliveries, until })
    }

    /// Renews for `lease` the leases `owner` still holds on a webhook's queue, and only
    /// those that have not run out (a row whose lease ran out may be in another
    /// worker's hands already). Answers when they now run out (epoch ms) and how many
    /// rows were renewed: fewer than the holder still has to send means some were
    /// lost, and it must send none of them. Workers call it when half a lease has gone
    /// by, not after every delivery: each renewal rewrites every held row.
    pub async fn renew_webhook_leases(&self, owner: &str, webhook_id: &str, lease: Duration) -> Result<(i64, u64)> {
        let mut tx = self.store.write().await?;
        let now = now_ms();
        let until = now + lease.as_millis() as i64;
        let renewed = tx.renew_leases(owner, webhook_id, now, until).await?;
        tx.commit().await?;
        Ok((until, renewed))
    }

    /// Lets go of the leases `owner` holds on a webhook's still-pending deliveries, so
    /// another worker claims them at once (a stopping node hands its queue over).
    pub async fn release_webhook_leases(&self, owner: &str, webhook_id: &str) -> Result<u64> {
        let mut tx = self.store.write().await?;
        let released = tx.set_leases(owner, webhook_id, 0).await?;
        tx.commit().await?;
        Ok(released)
    }

    /// When the next pending delivery is due (epoch ms), if any.
    pub async fn next_webhook_delivery_due(&self) -> Result<Option<i64>> {
        let mut tx = self.store.read().await?;
        Ok(tx.next_delivery_due().await?)
    }

    /// Decides which deliveries of a claimed queue (one webhook's) can be sent and
    /// gathers what sending needs, in one read snapshot: the webhook, its token and its
    /// key are checked once, each delivery's action against what the token may read.
    /// Deliveries that are not to be sent answer `None` and are settled in one write: a
    /// webhook whose token no longer works is removed (Trello deletes it with the
    /// token), an inactive webhook's delivery or one whose action the token cannot see
    /// (any more) is marked failed with the reason, a gone webhook's row is forgotten.
    pub async fn prepare_deliveries(&self, queue: &[Delivery]) -> Result<Vec<Option<DeliveryJob>>> {
        let Some(first) = queue.first() else { return Ok(Vec::new()) };
        let verdicts = {
            let mut tx = self.store.read().await?;
            match webhook_verdict(&mut tx, &first.id_webhook).await? {
                Err(settle) => queue.iter().map(|_| Verdict::Settle(settle)).collect(),
                Ok(ready) => {
                    let mut verdicts = Vec::with_capacity(queue.len());
                    for delivery in queue {
                        verdicts.push(action_verdict(&mut tx, &ready, delivery).await?);
                    }
                    verdicts
                }
            }
        };
        if verdicts.iter().all(|v| matches!(v, Verdict::Send(_))) {
            return Ok(verdicts.into_iter().map(|v| if let Verdict::Send(job) = v { Some(*job) } else { None }).collect());
        }
        let mut tx = self.store.write().await?;
        let mut jobs = Vec::with_capacity(queue.len());
        let mut dropped = false;
        for (delivery, verdict) in queue.iter().zip(verdicts) {
            match verdict {
                Verdict::Send(job) => {
                    jobs.push(Some(*job));
                    continue;
                }
                Verdict::Settle(Settle::Forget) => {
                    tx.delete(Table::WebhookDeliveries, &[Cond::eq("id", &delivery.id)]).await?;
                }
                Verdict::Settle(Settle::DropWebhook) if !dropped => {
                    dropped = true;
                    if let Some(hook) = get::<Webhook>(&mut tx, &delivery.id_webhook).await? {
                        drop_webhook(&mut tx, &hook).await?;
                    }
                }
                Verdict::Settle(Settle::DropWebhook) => {}
                Verdict::Settle(Settle::Fail(reason)) => {
                    let mut settled = delivery.clone();
                    settled.state = "failed".into();
                    settled.reason = Some(reason.into());
                    save_delivery(&mut tx, &settled, now_ms()).await?;
                }
            }
            jobs.push(None);
        }
        tx.commit().await?;
        Ok(jobs)
    }

    /// Records 2xx attempts of one webhook's deliveries in one write: each becomes
    /// `sent`, and the webhook's failure count is cleared when it had one. A delivery
    /// whose row is gone (its webhook was deleted meanwhile) is passed over.
    pub async fn settle_sent(&self, sent: Vec<(String, Attempt)>) -> Result<()> {
        if sent.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.write().await?;
        let mut webhook = None;
        let at = now_ms();
        for (id, attempt) in &sent {
            let Some(doc) = tx.doc(Table::WebhookDeliveries, id).await? else { continue };
            let mut delivery: Delivery = serde_json::from_str(&doc)?;
            delivery.attempts.push(attempt.clone());
            delivery.state = "sent".into();
            save_delivery(&mut tx, &delivery, at).await?;
            webhook.get_or_insert(delivery.id_webhook);
        }
        if let Some(id) = webhook {
            // The version read here guards the save: a concurrent change makes it fail,
            // and the run is recorded again after its lease runs out.
            if let Some(mut hook) = get::<Webhook>(&mut tx, &id).await? {
                if hook.consecutive_failures > 0 || hook.first_consecutive_fail_date.is_some() {
                    hook.consecutive_failures = 0;
                    hook.first_consecutive_fail_date = None;
                    save(&mut tx, &hook).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records an attempt and applies the rules: a 2xx settles the delivery and clears
    /// the webhook's failure count; 410 Gone deletes the webhook; anything else counts
    /// a failure (`consecutiveFailures`, `firstConsecutiveFailDate`), retries after a
    /// backoff until `policy.retries` are spent, and disables the webhook once it has
    /// been failing for `policy.disable_after`.
    /// When a retry must come first, the rest of the webhook's queue that `owner` holds
    /// is let go, to be claimed again behind it.
    pub async fn finish_delivery(&self, delivery_id: &str, attempt: Attempt, policy: &DeliveryPolicy, owner: &str) -> Result<Outcome> {
        let mut tx = self.store.write().await?;
        let Some(doc) = tx.doc(Table::WebhookDeliveries, delivery_id).await? else { return Ok(Outcome::WebhookDeleted) };
        let mut delivery: Delivery = serde_json::from_str(&doc)?;
        let Some(mut hook) = get_for_update::<Webhook>(&mut tx, &delivery.id_webhook).await? else {
            return Ok(Outcome::WebhookDeleted);
        };
        if attempt.status == Some(410) {
            drop_webhook(&mut tx, &hook).await?;
            tx.commit().await?;
            return Ok(Outcome::WebhookDeleted);
        }
        let succeeded = attempt.succeeded();
        delivery.attempts.push(attempt);
        let mut due = now_ms();
        // A success on a webhook that was not failing leaves its row alone.
        let hook_changes = !succeeded || hook.consecutive_failures > 0 || hook.first_consecutive_fail_date.is_some();
        let outcome = if succeeded {
            delivery.state = "sent".into();
            hook.consecutive_failures = 0;
            hook.first_consecutive_fail_date = None;
            Outcome::Sent
        } else {
            hook.consecutive_failures += 1;
            let first = hook.first_consecutive_fail_date.get_or_insert_with(now).clone();
            let failing_for = parse_date(&first).map(|at| Utc::now() - at).and_then(|d| d.to_std().ok()).unwrap_or_default();
            let failures = delivery.attempts.iter().filter(|a| !a.succeeded()).count() as u32;
            if failing_for >= policy.disable_after {
                hook.active = false;
                delivery.state = "failed".into();
                delivery.reason = Some("the webhook was disabled after failing for too long".into());
                Outcome::Failed
            } else if failures > policy.retries {
                delivery.state = "failed".into();
                delivery.reason = Some(format!("gave up after {failures} attempts"));
                Outcome::Failed
            } else {
                due += policy.backoff_for(failures).as_millis() as i64;
                Outcome::Retry
            }
        };
        save_delivery(&mut tx, &delivery, due).await?;
        if hook_changes {
            save(&mut tx, &hook).await?;
        }
        if outcome == Outcome::Retry {
            tx.set_leases(owner, &hook.id, 0).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }
}

#[derive(Clone, Copy)]
enum Settle {
    /// The webhook is gone: the row goes too.
    Forget,
    /// The webhook's token no longer works: the webhook goes.
    DropWebhook,
    /// Not to be sent, for this reason.
    Fail(&'static str),
}

enum Verdict {
    Send(Box<DeliveryJob>),
    Settle(Settle),
}

/// What every delivery of one webhook needs, once the webhook itself may send.
struct ReadyWebhook {
    hook: Webhook,
    actor: Actor,
    secret: String,
}

/// Whether `webhook_id` may send at all: it exists, its token works and is not
/// suspended, it is active and its token can still read its model.
async fn webhook_verdict(tx: &mut Tx, webhook_id: &str) -> Result<std::result::Result<ReadyWebhook, Settle>> {
    let Some(hook) = get::<Webhook>(tx, webhook_id).await? else { return Ok(Err(Settle::Forget)) };
    let Some(actor) = token_actor(tx, &hook.id_token).await? else { return Ok(Err(Settle::DropWebhook)) };
    // A deactivated member's tokens are suspended (and may come back): the webhook
    // stays, but nothing is sent for it meanwhile.
    let hash = tx.column(Table::Tokens, "token_hash", &[Cond::eq("id", &hook.id_token)]).await?.pop().unwrap_or_default();
    if hash.starts_with("suspended:") {
        return Ok(Err(Settle::Fail("the webhook's token is suspended")));
    }
    if !hook.active {
        return Ok(Err(Settle::Fail("the webhook is inactive")));
    }
    match watched_model(tx, &actor, &hook.id_model).await {
        // A deleted model still gets the action that deleted it.
        Ok(_) | Err(DomainError::InvalidValue(_)) | Err(DomainError::NotFound(_)) => {}
        Err(_) => return Ok(Err(Settle::Fail("the webhook's token cannot read its model"))),
    }
    let token = actor.token.as_ref().ok_or(DomainError::Internal("token actor without token".into()))?;
    let key: AppKey = get(tx, &token.app_key).await?.ok_or(DomainError::Internal("token without application key".into()))?;
    Ok(Ok(ReadyWebhook { hook, actor, secret: key.secret }))
}

/// Whether the webhook's token can read this delivery's action, and the job if so.
async fn action_verdict(tx: &mut Tx, ready: &ReadyWebhook, delivery: &Delivery) -> Result<Verdict> {
    if !reads_action(tx, &ready.actor, &delivery.action).await? {
        return Ok(Verdict::Settle(Settle::Fail("the webhook's token cannot read this action")));
    }
    let creators = creators_of(tx, std::slice::from_ref(&delivery.action)).await?;
    Ok(Verdict::Send(Box::new(DeliveryJob {
        delivery: delivery.clone(),
        webhook: ready.hook.clone(),
        actor: ready.actor.clone(),
        secret: ready.secret.clone(),
        creators,
    })))
}

/// The webhook a create would write, after every check.
async fn new_webhook(tx: &mut Tx, actor: &Actor, token: TokenRef<'_>, input: &WebhookInput) -> Result<Webhook> {
    let owner = owner_of(tx, actor, token).await?;
    let callback = require_callback(input.callback_url.as_deref().unwrap_or_default())?;
    let id_model = input.id_model.as_deref().ok_or(DomainError::InvalidValue("idModel".into()))?;
    let (id_model, model_type) = watched_model(tx, &owner, id_model).await?;
    let description = require_description(input.description.as_deref().unwrap_or_default())?;
    let token = owner.token.as_ref().ok_or(DomainError::Unauthorized(UNAUTHORIZED))?;
    refuse_duplicate(tx, &token.id, &id_model, &callback, None).await?;
    Ok(Webhook {
        id: new_id(),
        description,
        id_model,
        callback_url: callback,
        active: input.active.unwrap_or(true),
        consecutive_failures: 0,
        first_consecutive_fail_date: None,
        id_token: token.id.clone(),
        id_member: token.id_member.clone(),
        model_type: model_type.to_string(),
        date_created: now(),
        filter: input.filter.clone().filter(|f| !f.is_empty()),
    })
}

/// The webhook before and after an update, after every check.
async fn updated_webhook(tx: &mut Tx, actor: &Actor, token: TokenRef<'_>, id: &str, input: &WebhookInput) -> Result<(Webhook, Webhook)> {
    let owner = owner_of(tx, actor, token).await?;
    let before = owned_webhook(tx, Some(&owner), id).await?;
    let mut hook = before.clone();
    if let Some(description) = &input.description {
        hook.description = require_description(description)?;
    }
    if let Some(callback) = &input.callback_url {
        hook.callback_url = require_callback(callback)?;
    }
    if let Some(id_model) = &input.id_model {
        let (id_model, model_type) = watched_model(tx, &owner, id_model).await?;
        hook.id_model = id_model;
        hook.model_type = model_type.to_string();
    }
    if let Some(filter) = &input.filter {
        hook.filter = Some(filter.clone()).filter(|f| !f.is_empty());
    }
    if let Some(active) = input.active {
        if active && !hook.active {
            hook.consecutive_failures = 0;
            hook.first_consecutive_fail_date = None;
        }
        hook.active = active;
    }
    if hook.callback_url != before.callback_url || hook.id_model != before.id_model {
        refuse_duplicate(tx, &hook.id_token, &hook.id_model, &hook.callback_url, Some(&hook.id)).await?;
    }
    Ok((before, hook))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy =
            DeliveryPolicy { backoff: Duration::from_secs(30), backoff_max: Duration::from_secs(100), ..DeliveryPolicy::default() };
        assert_eq!(policy.backoff_for(1), Duration::from_secs(30));
        assert_eq!(policy.backoff_for(2), Duration::from_secs(60));
        assert_eq!(policy.backoff_for(3), Duration::from_secs(100));
        assert_eq!(policy.backoff_for(40), Duration::from_secs(100));
    }
}
