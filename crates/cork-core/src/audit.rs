//! The access audit: token issuance, uses of revoked tokens, and every refused (401) or
//! rate-limited (429) request, kept for administrators (`cork audit`, `GET /cork/audit`).
//!
//! Events about a request are written off the request path: [`AuditLog::record`] never
//! waits; it puts the event on a bounded channel that one writer task drains in batches
//! (one transaction per batch). When the channel is full the event is counted and
//! dropped, and the writer records how many were dropped, so a flood of bad requests costs
//! bounded memory and at most one write per batch instead of one per request. Token
//! issuance is written in the issuing transaction itself, so it can never be lost.
//!
//! No event holds a secret: no token value, password, or query string. Tokens appear by
//! their id, keys by their (public) value.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cork_store::{Arg, Cond, Order, Store, Table, Tx};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::access::Actor;
use crate::enterprise::require_admin;
use crate::ids::{floor_id, is_id, new_id};
use crate::{now, parse_date, Cork, DomainError, Result};

/// How many events may wait for the writer; beyond that they are counted and dropped.
const QUEUE: usize = 4096;
/// How many events one write transaction takes at most.
const BATCH: usize = 256;

/// One audit event: its kind and its fields (rendered with `id`, `kind` and `date`).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub kind: String,
    pub fields: Map<String, Value>,
}

impl AuditEvent {
    /// An event of `kind` with no fields yet.
    pub fn new(kind: &str) -> AuditEvent {
        AuditEvent { kind: kind.to_string(), fields: Map::new() }
    }

    /// Adds a field (skipped when `value` is null).
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> AuditEvent {
        let value = value.into();
        if !value.is_null() {
            self.fields.insert(name.to_string(), value);
        }
        self
    }

    fn row(&self) -> (String, String) {
        let id = new_id();
        let mut doc = Map::new();
        doc.insert("id".into(), json!(id));
        doc.insert("kind".into(), json!(self.kind));
        doc.insert("date".into(), json!(now()));
        for (name, value) in &self.fields {
            doc.insert(name.clone(), value.clone());
        }
        (id, Value::Object(doc).to_string())
    }
}

/// Writes `event` inside `tx` (for events that belong to a transaction, like issuance).
pub(crate) async fn insert_in(tx: &mut Tx, event: &AuditEvent) -> Result<()> {
    let (id, doc) = event.row();
    tx.insert(Table::AccessAudit, &[("id", Arg::text(id)), ("kind", Arg::text(&event.kind)), ("doc", Arg::Text(doc))]).await?;
    Ok(())
}

/// Records a change no Trello action shows (webhooks, tokens, keys, members, personal
/// preferences) in the audit, inside the change's own transaction: who made it (member,
/// token, application key), under which command, and `fields`.
pub(crate) async fn change(tx: &mut Tx, actor: Option<&Actor>, kind: &str, fields: &[(&str, Value)]) -> Result<()> {
    let token = actor.and_then(|a| a.token.as_ref());
    let mut event = AuditEvent::new(kind)
        .with("idMember", actor.and_then(Actor::member_id).map(str::to_string))
        .with("idToken", token.map(|t| t.id.clone()))
        .with("key", token.map(|t| t.app_key.clone()))
        .with("idCommand", cork_store::pipeline::command_id());
    for (name, value) in fields {
        event = event.with(name, value.clone());
    }
    insert_in(tx, &event).await
}

/// The queue to the writer task, started on first use inside a Tokio runtime.
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    inner: Arc<AuditInner>,
}

#[derive(Debug, Default)]
struct AuditInner {
    sender: OnceLock<mpsc::Sender<AuditEvent>>,
    dropped: AtomicU64,
}

impl AuditLog {
    /// Queues `event` for the writer without waiting; a full queue drops it (counted).
    pub fn record(&self, store: &Store, event: AuditEvent) {
        let sender = self.inner.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(write_batches(store.clone(), receiver, self.inner.clone()));
                }
                Err(_) => tracing::warn!("access audit outside a runtime: events are dropped"),
            }
            sender
        });
        if sender.try_send(event).is_err() {
            self.inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many events were dropped since start because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }
}

/// The writer: waits for events, then writes whatever is queued (up to [`BATCH`]) in one
/// transaction, adding an `audit.dropped` event when some were lost since the last batch.
async fn write_batches(store: Store, mut receiver: mpsc::Receiver<AuditEvent>, inner: Arc<AuditInner>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut reported = 0u64;
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        let dropped = inner.dropped.load(Ordering::Relaxed);
        if dropped > reported {
            batch.push(AuditEvent::new("audit.dropped").with("count", dropped - reported));
            reported = dropped;
        }
        let written = async {
            let mut tx = store.write().await?;
            for event in &batch {
                insert_in(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok::<(), DomainError>(())
        };
        if let Err(error) = written.await {
            tracing::warn!(%error, events = batch.len(), "cannot write access audit events");
        }
        batch.clear();
    }
}

/// What authentication learnt about the request's credentials, for the audit row of a
/// refused request (filled by [`Cork::authenticate`] and the wire layer's extractor).
#[derive(Debug, Clone, Default)]
pub struct AccessNote {
    /// The application key sent (keys are public identifiers, not secrets).
    pub key: Option<String>,
    pub id_token: Option<String>,
    pub id_member: Option<String>,
    /// Why the token was refused: `revoked`, `expired`, `unknown`, `wrong key`.
    pub token_problem: Option<&'static str>,
}

tokio::task_local! {
    static NOTE: Arc<Mutex<AccessNote>>;
}

/// Runs `future` (one request) with `note` as the place authentication reports to.
pub async fn noting<F: Future>(note: Arc<Mutex<AccessNote>>, future: F) -> F::Output {
    NOTE.scope(note, future).await
}

/// Updates the current request's note, if the request has one.
pub fn note(update: impl FnOnce(&mut AccessNote)) {
    let _ = NOTE.try_with(|note| {
        if let Ok(mut note) = note.lock() {
            update(&mut note);
        }
    });
}

/// Notes whether a refused token hash is a revoked token's (by `revoked_hash`).
pub(crate) async fn recognise_revoked(tx: &mut Tx, hash: &str) -> Result<()> {
    let ids = tx.column(Table::Tokens, "id", &[Cond::eq("revoked_hash", hash)]).await?;
    match ids.first() {
        Some(id) => {
            let members = tx.column(Table::Tokens, "member_id", &[Cond::eq("id", id)]).await?;
            let id = id.clone();
            note(move |n| {
                n.id_token = Some(id);
                n.id_member = members.into_iter().next();
                n.token_problem = Some("revoked");
            });
        }
        None => note(|n| n.token_problem = Some("unknown")),
    }
    Ok(())
}

/// At most `limit` events (1–1000), oldest first: the newest ones, or with `since` (a date
/// or an event id) the first ones after it, so a reader pages forward with the last id.
async fn events_in(tx: &mut Tx, limit: i64, since: Option<&str>) -> Result<Vec<Value>> {
    let limit = Some(limit.clamp(1, 1000));
    let docs = match since.filter(|s| !s.is_empty()) {
        Some(since) => {
            let bound = if is_id(since) {
                since.to_ascii_lowercase()
            } else {
                let at = parse_date(since).ok_or_else(|| DomainError::InvalidValue("since".into()))?;
                floor_id(at)
            };
            tx.docs(Table::AccessAudit, &[Cond::Gt("id", Arg::Text(bound))], Order::Asc("id"), limit).await?
        }
        None => {
            let mut newest = tx.docs(Table::AccessAudit, &[], Order::Desc("id"), limit).await?;
            newest.reverse();
            newest
        }
    };
    Ok(docs.iter().map(|d| serde_json::from_str(d)).collect::<std::result::Result<Vec<Value>, _>>()?)
}

impl Cork {
    /// Queues an audit event about a request (never waits).
    pub fn record_access(&self, event: AuditEvent) {
        self.audit.record(&self.store, event);
    }

    /// `GET /cork/audit`: the audit for Cork administrators only.
    pub async fn audit_events(&self, actor: &Actor, limit: i64, since: Option<&str>) -> Result<Vec<Value>> {
        let mut tx = self.store.read().await?;
        require_admin(&mut tx, actor).await?;
        events_in(&mut tx, limit, since).await
    }

    /// `cork audit`: the operator at the console needs no token.
    pub async fn audit_events_local(&self, limit: i64, since: Option<&str>) -> Result<Vec<Value>> {
        let mut tx = self.store.read().await?;
        events_in(&mut tx, limit, since).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let path = std::env::temp_dir().join(format!("cork-audit-{}.db", std::process::id()));
        let store = Store::open(&format!("sqlite://{}", path.display())).await.expect("store");
        let log = AuditLog::default();
        // A queue of one that nobody drains: the first event waits, the others are dropped.
        let (sender, _receiver) = mpsc::channel(1);
        log.inner.sender.set(sender).expect("fresh log");
        for _ in 0..3 {
            log.record(&store, AuditEvent::new("http.401"));
        }
        assert_eq!(log.dropped(), 2);
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[test]
    fn null_fields_are_left_out() {
        let event = AuditEvent::new("http.401").with("key", None::<String>).with("status", 401);
        assert_eq!(Value::Object(event.fields), json!({"status": 401}));
    }
}
