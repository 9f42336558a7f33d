//! Live board events: after a write commits, every open view of the boards it touched
//! hears of it within a moment, on this node and on every other node of one PostgreSQL.
//!
//! The write pipeline hands the actions of each committed request to [`Live::publish`]:
//! they go, grouped by board, to this node's subscribers at once (a broadcast channel)
//! and to the other nodes by `NOTIFY` (`cork-store/src/live.rs`), whose listener task
//! passes them on to their own subscribers. `GET /cork/boards/{id}/events` is a
//! Server-Sent Events stream of them for one board. An event names only the board and
//! the actions' ids and types; the browser reads what changed through the API with its
//! own credentials, so an event shows nobody anything they could not read — and the
//! stream checks again, every few seconds while events arrive, that the viewer may
//! still read the board.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cork_store::pipeline::RecordedAction;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::error::ApiError;
use crate::request::Req;
use crate::App;

/// The PostgreSQL channel the nodes tell each other on.
const CHANNEL: &str = "cork_live";
/// Most actions named per board in one event (the browser re-reads the board anyway).
const MOST_ACTIONS: usize = 20;
/// How often, at most, a stream checks that its viewer may still read the board.
const RECHECK: Duration = Duration::from_secs(5);

/// An action named by an event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// What changed on one board. `idBoard` `*` means "anything may have changed" (a node
/// lost its database listener for a while, or a subscriber fell behind): views re-read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoardEvent {
    #[serde(rename = "idBoard")]
    pub board: String,
    pub actions: Vec<ActionRef>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    node: String,
    events: Vec<BoardEvent>,
}

/// This node's hub.
pub struct Live {
    sender: broadcast::Sender<Arc<BoardEvent>>,
    /// Tells this node's own notifications apart from other nodes'.
    node: String,
    /// Events not yet told to the other nodes, merged by board; `None` until the
    /// notifier task runs (PostgreSQL only). One task sends them, one `NOTIFY` per
    /// batch, so a burst of writes costs a few statements, not one per write.
    outgoing: std::sync::Mutex<Option<Vec<BoardEvent>>>,
    wake: tokio::sync::Notify,
}

impl Default for Live {
    fn default() -> Live {
        Live {
            sender: broadcast::channel(1024).0,
            node: cork_core::ids::random_hex(8),
            outgoing: std::sync::Mutex::new(None),
            wake: tokio::sync::Notify::new(),
        }
    }
}

/// Most boards one `NOTIFY` names; past that it says "re-read everything".
const MOST_BOARDS: usize = 100;

/// Adds `event` to `pending`, merging it with the same board's.
fn merge(pending: &mut Vec<BoardEvent>, event: BoardEvent) {
    match pending.iter_mut().find(|e| e.board == event.board) {
        Some(known) => {
            let room = MOST_ACTIONS.saturating_sub(known.actions.len());
            known.actions.extend(event.actions.into_iter().take(room));
        }
        None => pending.push(event),
    }
}

/// The actions of one committed request, grouped by board, in order.
fn group(actions: &[RecordedAction]) -> Vec<BoardEvent> {
    let mut events: Vec<BoardEvent> = Vec::new();
    for action in actions {
        let Some(board) = &action.board else { continue };
        let at = match events.iter().position(|e| &e.board == board) {
            Some(at) => at,
            None => {
                events.push(BoardEvent { board: board.clone(), actions: Vec::new() });
                events.len() - 1
            }
        };
        if events[at].actions.len() < MOST_ACTIONS {
            events[at].actions.push(ActionRef { id: action.id.clone(), kind: action.kind.clone() });
        }
    }
    events
}

impl Live {
    /// After a commit: the request's actions to this node's views now, and queued for
    /// the other nodes (the notifier task sends them; the answer does not wait).
    pub fn publish(&self, actions: &[RecordedAction]) {
        let events = group(actions);
        if events.is_empty() {
            return;
        }
        for event in &events {
            // No subscriber is not an error.
            let _ = self.sender.send(Arc::new(event.clone()));
        }
        let Ok(mut outgoing) = self.outgoing.lock() else { return };
        if let Some(pending) = outgoing.as_mut() {
            for event in events {
                merge(pending, event);
            }
            drop(outgoing);
            self.wake.notify_one();
        }
    }

    /// The `NOTIFY` payload of a batch: the events, or "re-read everything" when they
    /// would not fit (PostgreSQL refuses payloads of 8,000 bytes or more).
    fn payload(&self, events: Vec<BoardEvent>) -> String {
        let everything = || serde_json::json!({"node": self.node, "events": [{"idBoard": "*", "actions": []}]}).to_string();
        if events.len() > MOST_BOARDS {
            return everything();
        }
        match serde_json::to_string(&Wire { node: self.node.clone(), events }) {
            Ok(payload) if payload.len() < 7900 => payload,
            _ => everything(),
        }
    }

    fn resync(&self) {
        let _ = self.sender.send(Arc::new(BoardEvent { board: "*".into(), actions: Vec::new() }));
    }
}

/// On PostgreSQL: tells the other nodes of this node's writes, one `NOTIFY` per batch of
/// what was published while the previous one was being sent.
fn spawn_notifier(app: App) {
    if let Ok(mut outgoing) = app.live.outgoing.lock() {
        outgoing.get_or_insert_with(Vec::new);
    }
    tokio::spawn(async move {
        loop {
            app.live.wake.notified().await;
            let batch = match app.live.outgoing.lock() {
                Ok(mut outgoing) => outgoing.as_mut().map(std::mem::take).unwrap_or_default(),
                Err(_) => return,
            };
            if batch.is_empty() {
                continue;
            }
            if let Err(error) = app.cork.store.notify(CHANNEL, &app.live.payload(batch)).await {
                tracing::warn!(%error, "could not tell the other nodes of a write");
            }
        }
    });
}

/// On PostgreSQL: the notifier and the listener of live events.
pub fn spawn(app: App) {
    if app.cork.store.dialect() != cork_store::Dialect::Postgres {
        return;
    }
    spawn_notifier(app.clone());
    spawn_listener(app);
}

/// On PostgreSQL: listens for the other nodes' writes for as long as the process runs,
/// reconnecting after a lost connection (and then telling every view to re-read, since
/// what was sent in between is lost).
fn spawn_listener(app: App) {
    tokio::spawn(async move {
        loop {
            match app.cork.store.listen(CHANNEL).await {
                Ok(Some(mut listener)) => loop {
                    match listener.next().await {
                        Ok(payload) => {
                            let Ok(wire) = serde_json::from_str::<Wire>(&payload) else { continue };
                            if wire.node == app.live.node {
                                continue;
                            }
                            for event in wire.events {
                                let _ = app.live.sender.send(Arc::new(event));
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "live events: the database listener lost its connection");
                            app.live.resync();
                        }
                    }
                },
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(%error, "live events: cannot listen on the database; trying again");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    });
}

/// From a process that serves no views (`cork mirror`, which writes a board without a
/// request): tells every node of the PostgreSQL database that `board` changed, so open
/// views re-read it. On SQLite there is no channel between processes; a mirrored board's
/// page reads itself again every few seconds instead.
pub async fn announce(store: &cork_store::Store, board: &str, actions: Vec<ActionRef>) -> cork_store::Result<()> {
    let actions: Vec<ActionRef> = actions.into_iter().rev().take(MOST_ACTIONS).rev().collect();
    let wire = Wire { node: cork_core::ids::random_hex(8), events: vec![BoardEvent { board: board.to_string(), actions }] };
    let payload = serde_json::to_string(&wire).unwrap_or_default();
    store.notify(CHANNEL, &payload).await
}

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/cork/boards/{id}/events", get(board_events))
}

/// `GET /cork/boards/{id}/events`: Server-Sent Events for one board the caller may read:
/// `ready` once, then `actions` (a [`BoardEvent`] as JSON) after each committed write
/// on the board, and a comment every 15 s to keep proxies from closing the stream.
async fn board_events(State(app): State<App>, Path(id): Path<String>, req: Req) -> Result<Response, ApiError> {
    let actor = req.actor;
    let board = app.cork.readable_board_id(&actor, &id).await?;
    let receiver = app.live.sender.subscribe();
    let ready = Event::default().event("ready").data(serde_json::json!({"idBoard": board}).to_string());
    struct Stream {
        app: App,
        actor: cork_core::Actor,
        board: String,
        receiver: broadcast::Receiver<Arc<BoardEvent>>,
        checked: Instant,
    }
    let state = Stream { app, actor, board, receiver, checked: Instant::now() };
    let events = futures_util::stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        loop {
            let event = match state.receiver.recv().await {
                Ok(event) if event.board == state.board || event.board == "*" => event,
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => Arc::new(BoardEvent { board: "*".into(), actions: Vec::new() }),
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            if state.checked.elapsed() >= RECHECK {
                // Removed from the board, token revoked, board made private: the stream ends.
                if state.app.cork.readable_board_id(&state.actor, &state.board).await.is_err() {
                    return None;
                }
                state.checked = Instant::now();
            }
            let data = serde_json::to_string(&*event).unwrap_or_default();
            let sse = Event::default().event("actions").data(data);
            return Some((Ok::<_, Infallible>(sse), Some(state)));
        }
    });
    let stream = futures_util::StreamExt::chain(futures_util::stream::once(async move { Ok::<_, Infallible>(ready) }), events);
    let mut response = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response();
    // Proxies (nginx) must not hold the events back.
    response.headers_mut().insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(id: &str, board: Option<&str>) -> RecordedAction {
        RecordedAction {
            id: id.into(),
            kind: "updateCard".into(),
            board: board.map(str::to_string),
            member: "m".into(),
            token: None,
            key: None,
            gate: None,
            doc: String::new(),
        }
    }

    #[test]
    fn a_batch_merges_events_by_board_and_caps_their_actions() {
        let mut pending = Vec::new();
        for n in 0..30 {
            merge(&mut pending, group(&[action(&n.to_string(), Some(if n % 2 == 0 { "a" } else { "b" }))]).remove(0));
        }
        assert_eq!(pending.iter().map(|e| (e.board.as_str(), e.actions.len())).collect::<Vec<_>>(), vec![("a", 15), ("b", 15)]);
        merge(
            &mut pending,
            BoardEvent { board: "a".into(), actions: (0..10).map(|n| ActionRef { id: n.to_string(), kind: "x".into() }).collect() },
        );
        assert_eq!(pending[0].actions.len(), MOST_ACTIONS);
        let live = Live::default();
        let many: Vec<BoardEvent> = (0..=MOST_BOARDS).map(|n| BoardEvent { board: n.to_string(), actions: Vec::new() }).collect();
        assert!(live.payload(many).contains("\"idBoard\":\"*\""), "too many boards: re-read everything");
    }

    #[test]
    fn actions_are_grouped_by_board_in_order() {
        let events = group(&[action("1", Some("a")), action("2", None), action("3", Some("b")), action("4", Some("a"))]);
        let summary: Vec<(String, Vec<String>)> =
            events.iter().map(|e| (e.board.clone(), e.actions.iter().map(|a| a.id.clone()).collect())).collect();
        assert_eq!(summary, vec![("a".into(), vec!["1".into(), "4".into()]), ("b".into(), vec!["3".into()])]);
    }
}
