//! The web board's server side: live events of committed writes (Server-Sent Events,
//! across nodes on one PostgreSQL) and the reports drawn from the action log.

mod common;

use std::time::{Duration, Instant};

use common::{s, Client, Server};
use cork_api::{ApiConfig, App};
use cork_core::Cork;
use cork_store::Store;
use serde_json::{json, Value};

/// An open event stream of one board.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(client: &Client, board: &str) -> Result<Events, u16> {
        let url = format!(
            "{}/cork/boards/{board}/events?key={}&token={}",
            client.base,
            client.key.as_deref().unwrap_or(""),
            client.token.as_deref().unwrap_or("")
        );
        let response = client.http.get(url).send().await.expect("events");
        if response.status() != 200 {
            return Err(response.status().as_u16());
        }
        let mut events = Events { response, buffer: String::new() };
        let (name, data) = events.next(Duration::from_secs(5)).await.expect("the ready event");
        assert_eq!((name.as_str(), s(&data, "idBoard")), ("ready", s(&data, "idBoard")));
        Ok(events)
    }

    /// The next event (name and JSON data) within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_string();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim());
                    }
                }
                if name.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).expect("event data")));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// Another Cork node on the same database.
async fn second_node(server: &Server) -> (String, tokio::sync::oneshot::Sender<()>) {
    let store = Store::open(server.database_url()).await.expect("second node's store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let app = App::new(Cork::new(store), ApiConfig { public_url: base.clone(), ..ApiConfig::default() });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = cork_api::serve(listener, app, async {
            let _ = stopped.await;
        })
        .await;
    });
    (base, stop)
}

/// A write by any client reaches a reader's open stream of that board within a second,
/// naming the action; a write on another board does not; an outsider cannot subscribe.
/// On PostgreSQL the write is also made on a second node, and still arrives.
async fn live_events(server: Server) {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let board = alice.board("Live").await;
    let board_id = s(&board, "id");
    alice.put(&format!("/1/boards/{board_id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let list = s(&alice.list(&board_id, "To do").await, "id");
    let done = s(&alice.list(&board_id, "Done").await, "id");
    let card = s(&alice.card(&list, "Move me").await, "id");
    let other = alice.board("Elsewhere").await;
    let other_list = s(&alice.list(&s(&other, "id"), "Else").await, "id");

    let outsider = server.user("mallory").await;
    assert_eq!(Events::open(&outsider, &board_id).await.err(), Some(401));
    let mut events = Events::open(&bob, &board_id).await.expect("bob reads the board");

    alice.card(&other_list, "Not here").await;
    let started = Instant::now();
    let moved = alice.put(&format!("/1/cards/{card}"), json!({"idList": done, "pos": "top"})).await;
    moved.ok();
    let action: Value =
        serde_json::from_str(moved.headers.get("x-cork-actions").and_then(|v| v.to_str().ok()).expect("actions")).expect("json");
    let (name, event) = events.next(Duration::from_secs(1)).await.expect("the move within 1 s");
    assert_eq!(name, "actions");
    assert_eq!(s(&event, "idBoard"), board_id, "the other board's write was not sent: {event}");
    assert_eq!(event["actions"][0]["id"], action[0]["id"]);
    assert_eq!(event["actions"][0]["type"], "updateCard");
    common::report(server.backend(), &format!("live event: {} ms after the write was sent", started.elapsed().as_millis()));

    if server.backend() == "postgres" {
        let (second, _stop) = second_node(&server).await;
        let on_second = Client { base: second, ..alice.clone() };
        // The second node's listener needs a moment to connect; its writes are sent
        // after a first answer, which proves the node is up, not that it listens — the
        // event goes by NOTIFY from the writing node, so only this node's listener counts.
        let started = Instant::now();
        on_second.put(&format!("/1/cards/{card}"), json!({"name": "Moved on node 2"})).await.ok();
        let (_, event) = events.next(Duration::from_secs(1)).await.expect("node 2's write within 1 s");
        assert_eq!(event["actions"][0]["type"], "updateCard");
        common::report("postgres", &format!("live event across nodes: {} ms", started.elapsed().as_millis()));
        // And the other way: a stream on node 2 hears node 1's write.
        let bob_on_second = Client { base: on_second.base.clone(), ..bob.clone() };
        let mut there = Events::open(&bob_on_second, &board_id).await.expect("bob on node 2");
        alice.card(&list, "Made on node 1").await;
        let (_, event) = there.next(Duration::from_secs(1)).await.expect("node 1's write on node 2 within 1 s");
        assert_eq!(event["actions"][0]["type"], "createCard");
    }

    // Removed from the board, bob's stream stops telling him (checked again before an event).
    alice.delete(&format!("/1/boards/{board_id}/members/{}", bob.id)).await.ok();
    tokio::time::sleep(Duration::from_millis(5200)).await;
    alice.put(&format!("/1/cards/{card}"), json!({"desc": "secret plans"})).await.ok();
    while let Some((name, event)) = events.next(Duration::from_millis(800)).await {
        // Events queued before the removal may still arrive; none after it.
        assert_ne!(event["actions"][0]["type"], "updateCard", "{name}: {event}");
    }
}

both_backends!(live_events_reach_readers_of_the_board, live_events);

/// The report replays the board's moves: cumulative flow, throughput, cycle time, and
/// the overdue and aging cards.
async fn report(server: Server) {
    let alice = server.user("alice").await;
    let board_id = s(&alice.board("Report").await, "id");
    let todo = s(&alice.list(&board_id, "To do").await, "id");
    let doing = s(&alice.list(&board_id, "Doing").await, "id");
    let done = s(&alice.list(&board_id, "Done").await, "id");
    let mut cards = Vec::new();
    for n in 0..4 {
        cards.push(s(&alice.card(&todo, &format!("Card {n}")).await, "id"));
    }
    for card in &cards[..3] {
        alice.put(&format!("/1/cards/{card}"), json!({"idList": doing})).await.ok();
    }
    for card in &cards[..2] {
        alice.put(&format!("/1/cards/{card}"), json!({"idList": done})).await.ok();
    }
    alice.put(&format!("/1/cards/{}", cards[2]), json!({"closed": true})).await.ok();
    alice.put(&format!("/1/cards/{}", cards[3]), json!({"due": "2020-01-01T00:00:00.000Z"})).await.ok();
    let other = s(&alice.board("Other").await, "id");
    alice.card(&s(&alice.list(&other, "Elsewhere").await, "id"), "Not counted").await;

    let report = alice.get(&format!("/cork/boards/{board_id}/report")).await.ok();
    let today = report["cumulativeFlow"].as_array().and_then(|days| days.last()).expect("today").clone();
    assert_eq!(today["counts"], json!({todo.clone(): 1, doing.clone(): 0, done.clone(): 2}), "{report}");
    let weeks = report["throughput"].as_array().expect("weeks");
    assert_eq!(weeks.iter().map(|w| w["cards"].as_u64().unwrap_or(0)).sum::<u64>(), 2, "{report}");
    assert_eq!(report["cycleTime"]["fromList"], json!(todo));
    assert_eq!(report["cycleTime"]["toList"], json!(done));
    assert_eq!(report["cycleTime"]["cards"].as_array().map(Vec::len), Some(2));
    assert_eq!(report["overdue"][0]["id"], json!(cards[3]));
    assert_eq!(report["aging"].as_array().map(Vec::len), Some(1), "the archived card and the done ones are not aging");

    let narrow =
        alice.get(&format!("/cork/boards/{board_id}/report?fromList={doing}&toList={done}&from=2020-01-01&to=2020-01-31")).await.ok();
    assert_eq!(narrow["cumulativeFlow"].as_array().map(Vec::len), Some(31));
    assert_eq!(narrow["cycleTime"]["cards"].as_array().map(Vec::len), Some(0), "no arrival in January 2020");
    alice.get(&format!("/cork/boards/{board_id}/report?from=2026-13-01")).await.err(400, "invalid value for from");
    alice.get(&format!("/cork/boards/{board_id}/report?from=2020-01-01&to=2026-01-01")).await.err(400, "invalid value for from");
    alice.get(&format!("/cork/boards/{board_id}/report?toList={other}")).await.err(400, "invalid value for toList");
    let outsider = server.user("mallory").await;
    outsider.get(&format!("/cork/boards/{board_id}/report")).await.err(401, "unauthorized permission requested");
}

both_backends!(reports_replay_the_action_log, report);
