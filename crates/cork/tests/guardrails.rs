//! The write pipeline and the guardrails built on it, through HTTP on both backends:
//! dry runs that change nothing (every table compared before and after, no webhook
//! sent), idempotency keys under concurrent retries, requests cut off by their clients
//! mid-flight, actions stamped with their command and token, and concurrent writers on
//! one database (two Cork nodes on PostgreSQL) that never undo each other.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{png, s, Body, Client, Resp, Server};
use cork_api::webhooks::AllowList;
use cork_api::{ApiConfig, App};
use cork_core::Cork;
use cork_store::{Order, Store, Table};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

/// Every table's documents, sorted: the whole stored state a client can reach.
async fn snapshot(store: &Store) -> BTreeMap<String, Vec<String>> {
    use Table::*;
    let tables = [
        Members,
        Organizations,
        Memberships,
        Boards,
        Lists,
        Cards,
        Labels,
        Checklists,
        Attachments,
        BoardStars,
        BoardMemberData,
        Actions,
        AppKeys,
        Tokens,
        CustomFields,
        CustomFieldItems,
        Notifications,
        Stickers,
        Reactions,
    ];
    let mut tx = store.read().await.unwrap();
    let mut all = BTreeMap::new();
    for table in tables {
        let mut docs = tx.docs(table, &[], Order::None, None).await.unwrap();
        docs.sort();
        all.insert(format!("{table:?}"), docs);
    }
    let mut cards = tx.column(Table::CardMembers, "card_id", &[]).await.unwrap();
    cards.sort();
    all.insert("CardMembers".into(), cards);
    // The delivery worker updates webhooks and their outbox rows as it sends, so these
    // are compared by their rows: a dry run must add none.
    for table in [Table::Webhooks, Table::WebhookDeliveries] {
        let mut ids = tx.column(table, "id", &[]).await.unwrap();
        ids.sort();
        all.insert(format!("{table:?}"), ids);
    }
    all
}

/// A receiver that counts the webhook deliveries it gets.
async fn counting_receiver() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let app = axum::Router::new().fallback(move |method: axum::http::Method| {
        let seen = seen.clone();
        async move {
            if method == axum::http::Method::POST {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), count)
}

fn local_webhooks(c: &mut ApiConfig) {
    c.webhooks.allowed_hosts = AllowList::parse("127.0.0.1").unwrap();
    c.webhooks.poll = Duration::from_millis(100);
}

fn header(resp: &Resp, name: &str) -> String {
    resp.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// Sends `method path body` as a dry run (alternating the header and the parameter).
async fn dry(client: &Client, method: &str, path: &str, body: Value, by_header: bool) -> Resp {
    if by_header {
        send_with(client, method, path, body, &[("x-cork-dry-run", "true")]).await
    } else {
        let path = format!("{path}{}dryRun=true", if path.contains('?') { "&" } else { "?" });
        client.send(method, &path, Body::Json(body)).await
    }
}

fn header_of(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// Drops the moments a write stamps (`dateLastActivity`, `dateLastEdited`): a preview
/// and the real write a moment later differ only there.
fn strip_dates(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.retain(|key, _| !key.starts_with("dateLast"));
            object.values_mut().for_each(strip_dates);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_dates),
        _ => {}
    }
}

/// The keys of a JSON object (creates answer new ids, so only the shape is compared).
fn shape(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    keys.sort();
    keys
}

both_backends!(a_dry_run_of_every_kind_of_write_changes_nothing, config = local_webhooks, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let board = alice.board("Dry").await;
    let board_id = s(&board, "id");
    alice.put(&format!("/1/boards/{board_id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let todo = alice.list(&board_id, "To do").await;
    let done = alice.list(&board_id, "Done").await;
    let card = alice.post("/1/cards", json!({"idList": s(&todo, "id"), "name": "Write the plan", "desc": "first"})).await.ok();
    let card_id = s(&card, "id");
    let label = alice.post("/1/labels", json!({"idBoard": board_id, "name": "urgent", "color": "red"})).await.ok();
    let checklist = alice.post(&format!("/1/cards/{card_id}/checklists"), json!({"name": "Steps"})).await.ok();
    let item = alice.post(&format!("/1/checklists/{}/checkItems", s(&checklist, "id")), json!({"name": "one"})).await.ok();
    let comment = alice.post(&format!("/1/cards/{card_id}/actions/comments"), json!({"text": "hello"})).await.ok();
    let link = alice.post(&format!("/1/cards/{card_id}/attachments"), json!({"url": "https://example.com/spec"})).await.ok();
    let (callback, deliveries) = counting_receiver().await;
    alice.post("/1/webhooks", json!({"callbackURL": callback, "idModel": board_id, "description": "watch"})).await.ok();
    let delivered = deliveries.load(Ordering::SeqCst);

    let checklist_id = s(&checklist, "id");
    let writes: Vec<(&str, String, Value)> = vec![
        ("POST", "/1/cards".into(), json!({"idList": s(&todo, "id"), "name": "New"})),
        ("PUT", format!("/1/cards/{card_id}"), json!({"name": "Renamed", "desc": "second"})),
        ("PUT", format!("/1/cards/{card_id}"), json!({"idList": s(&done, "id")})),
        ("PUT", format!("/1/cards/{card_id}"), json!({"closed": true})),
        ("PUT", format!("/1/cards/{card_id}"), json!({"due": "2031-01-01T00:00:00.000Z"})),
        ("POST", format!("/1/cards/{card_id}/idLabels"), json!({"value": s(&label, "id")})),
        ("POST", format!("/1/cards/{card_id}/idMembers"), json!({"value": bob.id})),
        ("POST", format!("/1/cards/{card_id}/actions/comments"), json!({"text": "a dry comment"})),
        ("PUT", format!("/1/actions/{}", s(&comment, "id")), json!({"text": "edited"})),
        ("DELETE", format!("/1/actions/{}", s(&comment, "id")), json!({})),
        ("POST", format!("/1/cards/{card_id}/checklists"), json!({"name": "More"})),
        ("PUT", format!("/1/cards/{card_id}/checkItem/{}", s(&item, "id")), json!({"state": "complete"})),
        ("DELETE", format!("/1/checklists/{checklist_id}"), json!({})),
        ("DELETE", format!("/1/cards/{card_id}/attachments/{}", s(&link, "id")), json!({})),
        ("POST", "/1/lists".into(), json!({"idBoard": board_id, "name": "Later"})),
        ("PUT", format!("/1/lists/{}/closed", s(&todo, "id")), json!({"value": true})),
        ("POST", format!("/1/lists/{}/archiveAllCards", s(&todo, "id")), json!({})),
        ("PUT", format!("/1/labels/{}", s(&label, "id")), json!({"color": "blue"})),
        ("DELETE", format!("/1/labels/{}", s(&label, "id")), json!({})),
        ("PUT", format!("/1/boards/{board_id}"), json!({"name": "Wet", "prefs/permissionLevel": "public"})),
        ("DELETE", format!("/1/boards/{board_id}/members/{}", bob.id), json!({})),
        ("POST", "/1/boards".into(), json!({"name": "Another"})),
        ("DELETE", format!("/1/cards/{card_id}"), json!({})),
        ("DELETE", format!("/1/boards/{board_id}"), json!({})),
    ];
    let view_path = format!("/1/boards/{board_id}?fields=all&lists=all&cards=all&card_fields=all&labels=all&checklists=all&members=all&actions=all&attachments=true");
    let first = snapshot(&server.cork.store).await;
    let mut kinds = Vec::new();
    for (n, (method, path, body)) in writes.iter().enumerate() {
        let before = snapshot(&server.cork.store).await;
        let view_before = alice.get(&view_path).await;
        let preview = dry(&alice, method, path, body.clone(), n % 2 == 0).await;
        assert_eq!(preview.status, 200, "{method} {path}: {}", preview.text);
        assert_eq!(header(&preview, "x-cork-dry-run"), "applied-nothing", "{method} {path}");
        let actions: Value = serde_json::from_str(&header(&preview, "x-cork-actions")).unwrap();
        kinds.push(actions[0]["type"].as_str().unwrap_or("").to_string());
        let after = snapshot(&server.cork.store).await;
        for (table, docs) in &before {
            assert_eq!(&after[table], docs, "the dry run of {method} {path} changed {table}");
        }
        let view_after = alice.get(&view_path).await;
        assert_eq!((view_after.status, view_after.text), (view_before.status, view_before.text), "{method} {path}");
        // The real write answers what its dry run answered, and records the actions it named.
        let real = alice.send(method, path, Body::Json(body.clone())).await;
        assert_eq!(real.status, preview.status, "{method} {path}: {}", real.text);
        let (mut real, mut preview) = (real.json(), preview.json());
        strip_dates(&mut real);
        strip_dates(&mut preview);
        assert_eq!(shape(&real), shape(&preview), "{method} {path}");
        if *method == "PUT" {
            assert_eq!(real, preview, "{method} {path}");
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("{}: {} dry runs, each leaving every table as it was", server.backend(), writes.len());
    assert_eq!(&kinds[..4], ["createCard", "updateCard", "updateCard", "updateCard"]);
    assert_eq!(kinds[7], "commentCard");
    assert!(deliveries.load(Ordering::SeqCst) > delivered, "the real writes were delivered");
    assert_ne!(snapshot(&server.cork.store).await, first);
});

both_backends!(a_dry_run_of_a_refused_write_answers_the_refusal, |server: Server| async move {
    let alice = server.user("alice").await;
    let mallory = server.user("mallory").await;
    let board = alice.board("Private").await;
    let list = alice.list(&s(&board, "id"), "L").await;
    let before = snapshot(&server.cork.store).await;
    let refused = dry(&mallory, "POST", "/1/cards", json!({"idList": s(&list, "id"), "name": "x"}), true).await;
    refused.err(401, "unauthorized card permission requested");
    assert_eq!(header(&refused, "x-cork-dry-run"), "applied-nothing");
    let invalid = dry(&alice, "POST", "/1/cards", json!({"idList": "nope"}), false).await;
    invalid.err(400, "invalid value for idList");
    assert_eq!(snapshot(&server.cork.store).await, before);
});

async fn keyed(client: &Client, key: &str, body: Value) -> Resp {
    send_with(client, "POST", "/1/cards", body, &[("idempotency-key", key)]).await
}

both_backends!(an_idempotency_key_makes_one_card_out_of_fifty_concurrent_retries, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Keys").await;
    let list = alice.list(&s(&board, "id"), "Inbox").await;
    let body = json!({"idList": s(&list, "id"), "name": "Exactly once"});
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (alice, body) = (alice.clone(), body.clone());
        tasks.push(tokio::spawn(async move { keyed(&alice, "create-7f3a", body).await }));
    }
    let mut created = HashSet::new();
    let mut in_use = 0;
    for task in tasks {
        let resp = task.await.unwrap();
        match resp.status {
            200 => {
                created.insert(s(&resp.json(), "id"));
            }
            409 => {
                resp.err(409, "idempotency key in use");
                in_use += 1;
            }
            other => panic!("unexpected {other}: {}", resp.text),
        }
    }
    let cards = alice.get(&format!("/1/lists/{}/cards", s(&list, "id"))).await.ok();
    assert_eq!(cards.as_array().unwrap().len(), 1, "one key, one card: {cards}");
    assert_eq!(created.len(), 1, "every success names the same card");
    // A later retry replays the first answer.
    let again = keyed(&alice, "create-7f3a", body.clone()).await;
    assert_eq!(again.status, 200);
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    assert!(created.contains(&s(&again.json(), "id")));
    println!("50 concurrent retries: 1 card, {} answers replayed or first, {in_use} told the key is in use", 50 - in_use);
    // The same key with another body is refused; another caller's same key is its own.
    keyed(&alice, "create-7f3a", json!({"idList": s(&list, "id"), "name": "Different"}))
        .await
        .err(422, "idempotency key reused with a different request");
    let other = server.token_for(&alice, &["read", "write"]).await;
    let separate = keyed(&other, "create-7f3a", body).await;
    assert_eq!(separate.status, 200);
    assert!(!created.contains(&s(&separate.json(), "id")));
    // A failed request stores nothing: its retry runs again.
    keyed(&alice, "bad-1", json!({"idList": "x"})).await.err(400, "invalid value for idList");
    assert_eq!(keyed(&alice, "bad-1", json!({"idList": s(&list, "id")})).await.status, 200);
});

/// Sends a request on a raw connection and hangs up before the answer.
async fn hang_up(addr: &str, request: String, after: Duration) {
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else { return };
    let _ = stream.write_all(request.as_bytes()).await;
    tokio::time::sleep(after).await;
    drop(stream);
}

both_backends!(clients_that_hang_up_mid_request_leave_every_later_write_working, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Cut").await;
    let board_id = s(&board, "id");
    let list = alice.list(&board_id, "L").await;
    let list_id = s(&list, "id");
    for n in 0..30 {
        alice.card(&list_id, &format!("Card {n}")).await;
    }
    let addr = server.base.trim_start_matches("http://").to_string();
    let auth = format!("key={}&token={}", alice.key.as_ref().unwrap(), alice.token.as_ref().unwrap());
    let mut tasks = Vec::new();
    for n in 0..500u64 {
        let request = if n % 2 == 0 {
            format!("GET /1/boards/{board_id}?cards=all&lists=all&checklists=all&{auth} HTTP/1.1\r\nHost: {addr}\r\n\r\n")
        } else {
            let body = format!("{{\"idList\":\"{list_id}\",\"name\":\"cut {n}\"}}");
            format!(
                "POST /1/cards?{auth} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let addr = addr.clone();
        // Hang up at different points: before the answer, while the statements run.
        tasks.push(tokio::spawn(hang_up_owned(addr, request, Duration::from_micros((n * 37) % 3000))));
    }
    for task in tasks {
        task.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 0..40 {
        let resp = alice.post("/1/cards", json!({"idList": list_id, "name": format!("after {n}")})).await;
        assert_eq!(resp.status, 200, "write {n} after the hang-ups: {}", resp.text);
        alice.put(&format!("/1/boards/{board_id}"), json!({"name": format!("Cut {n}")})).await.ok();
    }
    let view = alice.get(&format!("/1/boards/{board_id}?cards=open")).await.ok();
    assert_eq!(s(&view, "name"), "Cut 39");
    // Every cut write either committed whole (card and action) or not at all.
    let cards = view["cards"].as_array().unwrap().len();
    let created = alice.get(&format!("/1/boards/{board_id}/actions?filter=createCard&limit=1000")).await.ok();
    assert_eq!(created.as_array().unwrap().len(), cards, "each card has its createCard action");
});

async fn hang_up_owned(addr: String, request: String, after: Duration) {
    hang_up(&addr, request, after).await
}

both_backends!(actions_are_stamped_with_their_command_and_token, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Stamps").await;
    let list = alice.list(&s(&board, "id"), "L").await;
    let card = alice.card(&s(&list, "id"), "c").await;
    // One request that records two actions (a move across lists records one; archiveAllCards one per card).
    alice.card(&s(&list, "id"), "d").await;
    alice.post(&format!("/1/lists/{}/archiveAllCards", s(&list, "id")), json!({})).await.ok();
    let token_id = alice.get(&format!("/1/tokens/{}", alice.token.as_ref().unwrap())).await.ok()["id"].as_str().unwrap().to_string();
    let pool = sqlx::AnyPool::connect(&any_url(server.database_url())).await.unwrap();
    let rows: Vec<Stamp> = sqlx::query_as("SELECT type, command_id, token_id, app_key FROM actions WHERE card_id = $1 ORDER BY id")
        .bind(s(&card, "id"))
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (kind, command, token, key) in &rows {
        assert!(command.as_deref().is_some_and(|c| c.len() == 24), "{kind} has no command id");
        assert_eq!(token.as_deref(), Some(token_id.as_str()), "{kind}");
        assert_eq!(key.as_deref(), alice.key.as_deref(), "{kind}");
    }
    assert_ne!(rows[0].1, rows[1].1, "two requests, two command ids");
    let archived: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT command_id FROM actions WHERE type = 'updateCard' AND board_id = $1")
        .bind(s(&board, "id"))
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(archived.len(), 1, "archiveAllCards is one command: {archived:?}");
    pool.close().await;
});

/// An action's type and its stamps: command id, token id, application key.
type Stamp = (String, Option<String>, Option<String>, Option<String>);

fn any_url(url: &str) -> String {
    sqlx::any::install_default_drivers();
    url.to_string()
}

/// A second Cork node on the server's database (PostgreSQL) or file (SQLite).
async fn second_node(server: &Server) -> (String, tokio::sync::oneshot::Sender<()>) {
    let store = Store::open(server.database_url()).await.expect("second node's store");
    let cork = Cork::new(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = ApiConfig { public_url: base.clone(), ..ApiConfig::default() };
    unlimited(&mut config);
    let app = App::new(cork, config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        cork_api::serve(listener, app, async {
            let _ = stopped.await;
        })
        .await
        .expect("second node");
    });
    (base, stop)
}

/// 32 clients on one token: the rate limit is not what this measures.
fn unlimited(c: &mut ApiConfig) {
    c.rate_limits.enabled = false;
}

both_backends!(concurrent_writers_on_two_nodes_never_undo_each_other, config = unlimited, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Busy").await;
    let board_id = s(&board, "id");
    let other = alice.board("Elsewhere").await;
    let other_id = s(&other, "id");
    let mut lists = Vec::new();
    for name in ["A", "B", "C"] {
        lists.push(s(&alice.list(&board_id, name).await, "id"));
    }
    let far = s(&alice.list(&other_id, "Far").await, "id");
    let mut cards = Vec::new();
    for n in 0..24 {
        cards.push(s(&alice.card(&lists[n % 3], &format!("Card {n}")).await, "id"));
    }
    let (second, _stop) = second_node(&server).await;
    let on_second = Client { base: second, ..alice.clone() };
    let statuses = Arc::new(std::sync::Mutex::new(BTreeMap::<u16, usize>::new()));
    // Every action an acknowledged write named, and how many renames were acknowledged.
    let acknowledged = Arc::new(std::sync::Mutex::new((Vec::<String>::new(), 0usize)));
    // 30 s as the guardrails ask; CORK_CONCURRENCY_SECS shortens it for a quick local run.
    let seconds = std::env::var("CORK_CONCURRENCY_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(30u64);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..32usize {
        let client = if worker % 2 == 0 { alice.clone() } else { on_second.clone() };
        let (board_id, lists, far, cards) = (board_id.clone(), lists.clone(), far.clone(), cards.clone());
        let (statuses, acknowledged) = (statuses.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            let mut step = 0usize;
            while tokio::time::Instant::now() < deadline {
                let renaming = worker % 4 == 0;
                let resp = if renaming {
                    client.put(&format!("/1/boards/{board_id}"), json!({"name": format!("Busy {worker}.{step}")})).await
                } else {
                    let card = &cards[(worker * 7 + step) % cards.len()];
                    let target = if step % 5 == 4 { far.clone() } else { lists[(worker + step) % 3].clone() };
                    client.put(&format!("/1/cards/{card}"), json!({"idList": target, "pos": "top"})).await
                };
                *statuses.lock().unwrap().entry(resp.status).or_default() += 1;
                assert!(resp.status < 500, "{}: {}", resp.status, resp.text);
                if resp.status == 200 {
                    let named: Value = serde_json::from_str(&header(&resp, "x-cork-actions")).unwrap_or(json!([]));
                    let mut ack = acknowledged.lock().unwrap();
                    ack.0.extend(named.as_array().unwrap().iter().map(|a| s(a, "id")));
                    ack.1 += usize::from(renaming);
                }
                step += 1;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (named, renamed) = acknowledged.lock().unwrap().clone();
    println!("{} over {seconds} s: statuses {:?}, {} actions acknowledged", server.backend(), statuses.lock().unwrap(), named.len());
    // Every acknowledged write's actions are in the log (the export streams them all).
    let mut logged = HashSet::new();
    for board in [&board_id, &other_id] {
        let export = alice.get(&format!("/cork/audit/actions?idBoard={board}&format=ndjson")).await;
        assert_eq!(export.status, 200, "{}", export.text);
        logged.extend(export.text.lines().map(|line| s(&serde_json::from_str::<Value>(line).unwrap(), "id")));
    }
    let missing: Vec<&String> = named.iter().filter(|id| !logged.contains(*id)).collect();
    assert!(missing.is_empty(), "acknowledged actions missing from the log: {missing:?}");
    // The board's name is the one its newest rename set: no card move wrote an older board over it.
    let view = alice.get(&format!("/1/boards/{board_id}?cards=all&lists=all")).await.ok();
    let renames = alice.get(&format!("/1/boards/{board_id}/actions?filter=updateBoard&limit=1")).await.ok();
    let renames = renames.as_array().unwrap();
    assert!(renamed > 0 && !renames.is_empty(), "renames went through");
    assert_eq!(s(&view, "name"), renames[0]["data"]["board"]["name"].as_str().unwrap(), "the newest rename holds");
    // Each card is in exactly one list, and its list is where its newest move put it.
    let far_cards = alice.get(&format!("/1/lists/{far}/cards")).await.ok();
    let mut seen = HashSet::new();
    for card in view["cards"].as_array().unwrap().iter().chain(far_cards.as_array().unwrap()) {
        assert!(seen.insert(s(card, "id")), "a card is listed twice");
        let moves = alice.get(&format!("/1/cards/{}/actions?filter=updateCard,moveCardToBoard&limit=1", s(card, "id"))).await.ok();
        if let Some(newest) = moves.as_array().unwrap().first() {
            let list = newest["data"]["listAfter"]["id"].as_str().or(newest["data"]["list"]["id"].as_str()).unwrap();
            assert_eq!(list, s(card, "idList"), "card {} is where its newest move put it", s(card, "id"));
        }
    }
    assert_eq!(seen.len(), cards.len());
});

/// Sends `method path body` with credentials in the query and extra headers.
async fn send_with(client: &Client, method: &str, path: &str, body: Value, headers: &[(&str, &str)]) -> Resp {
    let url = format!(
        "{}{}{}key={}&token={}",
        client.base,
        path,
        if path.contains('?') { "&" } else { "?" },
        client.key.as_ref().unwrap(),
        client.token.as_ref().unwrap()
    );
    let mut request = client.http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if method != "GET" {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = header_of(&headers, "content-type");
    let text = response.text().await.unwrap();
    Resp { status, text, content_type, headers }
}

both_backends!(the_second_of_two_editors_from_one_read_gets_412, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let board = alice.board("Tags").await;
    let board_id = s(&board, "id");
    alice.put(&format!("/1/boards/{board_id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let list = alice.list(&board_id, "L").await;
    let card = alice.card(&s(&list, "id"), "Shared").await;
    let path = format!("/1/cards/{}", s(&card, "id"));
    // Both read the card and keep its ETag.
    let read = alice.get(&path).await;
    let tag = header(&read, "etag");
    assert!(tag.starts_with('"') && tag.len() > 2, "a card answer carries an ETag: {tag:?}");
    assert_eq!(header(&bob.get(&path).await, "etag"), tag);
    // Alice writes first: her answer carries the new version.
    let first = send_with(&alice, "PUT", &path, json!({"name": "Alice's"}), &[("if-match", &tag)]).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let newer = header(&first, "etag");
    assert_ne!(newer, tag);
    // Bob's write from the same read is refused, names the current version, and changes nothing.
    let second = send_with(&bob, "PUT", &path, json!({"desc": "Bob's"}), &[("if-match", &tag)]).await;
    assert_eq!(second.status, 412, "{}", second.text);
    assert!(second.text.starts_with("precondition failed"), "{}", second.text);
    assert_eq!(header(&second, "etag"), newer);
    let now = alice.get(&path).await;
    assert_eq!((s(&now.json(), "name"), s(&now.json(), "desc")), ("Alice's".to_string(), String::new()));
    assert_eq!(header(&now, "etag"), newer);
    // Bob reads again and his write goes through; `*` and no If-Match always do.
    let third = send_with(&bob, "PUT", &path, json!({"desc": "Bob's"}), &[("if-match", &newer)]).await;
    assert_eq!(third.status, 200, "{}", third.text);
    assert_eq!(send_with(&bob, "PUT", &path, json!({"pos": "top"}), &[("if-match", "*")]).await.status, 200);
    // The refused write recorded no action: three writes went through, three actions.
    let updates = alice.get(&format!("{path}/actions?filter=updateCard")).await.ok();
    assert_eq!(updates.as_array().unwrap().len(), 3, "{updates}");
    // If-None-Match: 304 while the version holds, the object again once it moved.
    let current = header(&alice.get(&path).await, "etag");
    let unchanged = send_with(&alice, "GET", &path, json!({}), &[("if-none-match", &current)]).await;
    assert_eq!((unchanged.status, unchanged.text.as_str()), (304, ""));
    assert_eq!(send_with(&alice, "GET", &path, json!({}), &[("if-none-match", &tag)]).await.status, 200);
    // Lists, labels and boards carry theirs; a read with nested collections carries none.
    let list_read = alice.get(&format!("/1/lists/{}", s(&list, "id"))).await;
    assert!(!header(&list_read, "etag").is_empty());
    let renamed = send_with(&alice, "PUT", &format!("/1/boards/{board_id}"), json!({"name": "Tags 2"}), &[("if-match", "\"999\"")]).await;
    assert_eq!(renamed.status, 412, "{}", renamed.text);
    assert_eq!(s(&alice.get(&format!("/1/boards/{board_id}")).await.ok(), "name"), "Tags");
    assert!(header(&alice.get(&format!("/1/boards/{board_id}?cards=all")).await, "etag").is_empty());
    // A whole board read with `X-Cork-Version: true`: a version on each nested object,
    // good for If-Match on that object's own route.
    let whole = format!("/1/boards/{board_id}?cards=all&lists=all&labels=all");
    assert!(alice.get(&whole).await.ok()["cards"][0].get("corkVersion").is_none(), "only when asked");
    let versioned = send_with(&bob, "GET", &whole, json!({}), &[("x-cork-version", "true")]).await;
    assert_eq!(header(&versioned, "x-cork-version"), "nested");
    let view = versioned.json();
    assert!(view["lists"][0]["corkVersion"].is_i64() && view["corkVersion"].is_i64(), "{view}");
    let card_version = view["cards"][0]["corkVersion"].as_i64().expect("a card's version");
    assert_eq!(format!("\"{card_version}\""), header(&alice.get(&path).await, "etag"), "the same version the card's ETag names");
    let tag = format!("\"{card_version}\"");
    assert_eq!(send_with(&bob, "PUT", &path, json!({"name": "From the board"}), &[("if-match", &tag)]).await.status, 200);
    assert_eq!(send_with(&alice, "PUT", &path, json!({"name": "Stale"}), &[("if-match", &tag)]).await.status, 412);
});

/// A receiver that keeps the action type and card of every delivery, per path.
async fn recording_receiver() -> (String, Arc<std::sync::Mutex<Vec<(String, String, String)>>>) {
    let seen: Arc<std::sync::Mutex<Vec<(String, String, String)>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |method: axum::http::Method, uri: axum::http::Uri, body: axum::body::Bytes| {
        let log = log.clone();
        async move {
            if method == axum::http::Method::POST {
                let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let kind = value["action"]["type"].as_str().unwrap_or_default().to_string();
                let card = value["action"]["data"]["card"]["name"].as_str().unwrap_or_default().to_string();
                log.lock().unwrap().push((uri.path().to_string(), kind, card));
            }
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

both_backends!(webhook_filters_deliver_only_what_the_receiver_asked_for, config = local_webhooks, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Filtered").await;
    let board_id = s(&board, "id");
    let doing = s(&alice.list(&board_id, "Doing").await, "id");
    let done = s(&alice.list(&board_id, "Done").await, "id");
    let red = s(&alice.post("/1/labels", json!({"idBoard": board_id, "name": "red", "color": "red"})).await.ok(), "id");
    let (base, seen) = recording_receiver().await;
    // Trello's registration: no filter, no `cork` key.
    let plain = alice.post("/1/webhooks", json!({"callbackURL": format!("{base}/all"), "idModel": board_id})).await.ok();
    assert!(plain.get("cork").is_none(), "{plain}");
    // Comments in Doing only, by the JSON form.
    let comments = alice
        .post(
            "/1/webhooks",
            json!({"callbackURL": format!("{base}/comments"), "idModel": board_id, "cork": {"filter": {"types": ["commentCard"], "lists": [doing]}}}),
        )
        .await
        .ok();
    assert_eq!(comments["cork"]["filter"], json!({"types": ["commentCard"], "lists": [doing]}));
    // Anything about red cards, by the flat form.
    let reds = alice
        .send(
            "POST",
            &format!("/1/webhooks?cork.filter.labels={red}"),
            Body::Json(json!({"callbackURL": format!("{base}/red"), "idModel": board_id})),
        )
        .await
        .ok();
    assert_eq!(reds["cork"]["filter"], json!({"labels": [red]}));
    alice
        .post("/1/webhooks", json!({"callbackURL": format!("{base}/bad"), "idModel": board_id, "cork": {"filter": {"lists": ["nope"]}}}))
        .await
        .err(400, "invalid value for cork.filter.lists");

    let a = s(&alice.card(&doing, "A").await, "id");
    let b = s(&alice.card(&done, "B").await, "id");
    alice.post(&format!("/1/cards/{a}/actions/comments"), json!({"text": "on A"})).await.ok();
    alice.post(&format!("/1/cards/{b}/actions/comments"), json!({"text": "on B"})).await.ok();
    alice.post(&format!("/1/cards/{b}/idLabels"), json!({"value": red})).await.ok();
    alice.put(&format!("/1/cards/{b}"), json!({"name": "B2"})).await.ok();
    for _ in 0..100 {
        if seen.lock().unwrap().iter().filter(|(path, _, _)| path == "/all").count() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = seen.lock().unwrap().clone();
    let at = |path: &str| -> Vec<(String, String)> {
        seen.iter().filter(|(p, _, _)| p == path).map(|(_, k, c)| (k.clone(), c.clone())).collect()
    };
    assert_eq!(at("/all").len(), 6, "{seen:?}");
    assert_eq!(at("/comments"), vec![("commentCard".to_string(), "A".to_string())]);
    assert_eq!(at("/red"), vec![("addLabelToCard".to_string(), "B".to_string()), ("updateCard".to_string(), "B2".to_string())]);
    // Clearing the filter makes it a Trello webhook again.
    let cleared = alice.put(&format!("/1/webhooks/{}", s(&comments, "id")), json!({"cork": {"filter": {}}})).await.ok();
    assert!(cleared.get("cork").is_none(), "{cleared}");
});

both_backends!(the_audit_export_streams_every_action_with_its_stamps_to_admins_only, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let board = alice.board("Audited").await;
    let board_id = s(&board, "id");
    alice.put(&format!("/1/boards/{board_id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let list = s(&alice.list(&board_id, "L").await, "id");
    // More than one page of 1,000: 1,100 cards created by Bob in one batch of requests.
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (bob, list) = (bob.clone(), list.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..275 {
                bob.card(&list, &format!("c{worker}.{n}")).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let export = alice.get(&format!("/cork/audit/actions?idBoard={board_id}&format=ndjson")).await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(export.content_type, "application/x-ndjson; charset=utf-8");
    let lines: Vec<Value> = export.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // createBoard, addMemberToBoard, createList and 1,100 createCard, oldest first.
    assert_eq!(lines.len(), 1103);
    assert!(lines.windows(2).all(|w| s(&w[0], "id") < s(&w[1], "id")), "oldest first, no duplicates");
    let bobs_token = bob.get(&format!("/1/tokens/{}", bob.token.as_ref().unwrap())).await.ok();
    let cards: Vec<&Value> = lines.iter().filter(|l| l["type"] == "createCard").collect();
    assert_eq!(cards.len(), 1100);
    for line in &cards {
        assert_eq!(line["cork"]["idToken"], bobs_token["id"]);
        assert_eq!(line["cork"]["key"].as_str(), bob.key.as_deref());
        assert_eq!(line["cork"]["idCommand"].as_str().unwrap().len(), 24);
    }
    // CSV: a header and one row per action; a period narrows it.
    let csv = alice.get(&format!("/cork/audit/actions?idBoard={board_id}&format=csv&since={}", s(cards[99], "id"))).await;
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    let rows: Vec<&str> = csv.text.lines().collect();
    assert_eq!(rows[0], "id,date,type,idMemberCreator,idBoard,idList,idCard,idCommand,idToken,key,data");
    assert_eq!(rows.len(), 1 + 1000, "the actions after the 100th card");
    assert!(rows[1].starts_with(&s(cards[100], "id")));
    // The token's and the member's own exports; a normal member or an outsider may not read the board's.
    let by_token = bob.get(&format!("/cork/audit/actions?idToken={}", s(&bobs_token, "id"))).await;
    assert_eq!(by_token.text.lines().count(), 1100);
    assert_eq!(bob.get(&format!("/cork/audit/actions?idMember={}", bob.id)).await.text.lines().count(), 1100);
    bob.get(&format!("/cork/audit/actions?idBoard={board_id}")).await.err(401, "unauthorized permission requested");
    bob.get(&format!("/cork/audit/actions?idMember={}", alice.id)).await.err(401, "unauthorized permission requested");
    let mallory = server.user("mallory").await;
    mallory.get(&format!("/cork/audit/actions?idToken={}", s(&bobs_token, "id"))).await.err(401, "unauthorized permission requested");
    alice.get("/cork/audit/actions").await.err(400, "name exactly one of idBoard, idOrganization, idMember, idToken, appKey");
    alice.get(&format!("/cork/audit/actions?idBoard={board_id}&format=xml")).await.err(400, "invalid value for format");
});

const MULTIPART: &str = "multipart/form-data; boundary=cork-guardrails-5d2a";

/// A multipart body with one file in the `file` field.
fn multipart(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--cork-guardrails-5d2a\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"\r\n--cork-guardrails-5d2a--\r\n");
    body
}

/// The id of the first action a write recorded (`X-Cork-Actions`).
fn action_of(resp: &Resp) -> String {
    assert!(resp.status == 200, "{}: {}", resp.status, resp.text);
    let actions: Value = serde_json::from_str(&header(resp, "x-cork-actions")).expect("X-Cork-Actions");
    s(&actions[0], "id")
}

fn stripped(mut value: Value) -> Value {
    strip_dates(&mut value);
    value
}

both_backends!(undo_restores_each_kind_of_action_and_refuses_a_stale_one, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let board = alice.board("Undo").await;
    let board_id = s(&board, "id");
    // An admin, so that the preference changes are his to make (and to undo).
    alice.put(&format!("/1/boards/{board_id}/members/{}", bob.id), json!({"type": "admin"})).await.ok();
    let elsewhere = s(&alice.board("Elsewhere").await, "id");
    alice.put(&format!("/1/boards/{elsewhere}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let inbox = s(&alice.list(&elsewhere, "Inbox").await, "id");
    let todo = s(&alice.list(&board_id, "To do").await, "id");
    let done = s(&alice.list(&board_id, "Done").await, "id");
    let label = s(&alice.post("/1/labels", json!({"idBoard": board_id, "name": "red", "color": "red"})).await.ok(), "id");
    let card = s(&alice.post("/1/cards", json!({"idList": todo, "name": "Plan", "desc": "d", "idLabels": label})).await.ok(), "id");
    let checklist = s(&alice.post(&format!("/1/cards/{card}/checklists"), json!({"name": "Steps"})).await.ok(), "id");
    let item = s(&alice.post(&format!("/1/checklists/{checklist}/checkItems"), json!({"name": "one"})).await.ok(), "id");
    let link =
        s(&alice.post(&format!("/1/cards/{card}/attachments"), json!({"url": "https://example.com/a", "name": "spec"})).await.ok(), "id");
    let field = alice
        .post("/1/customFields", json!({"idModel": board_id, "modelType": "board", "name": "Customer", "type": "text", "pos": "bottom"}))
        .await
        .ok();
    alice.put(&format!("/1/cards/{card}/customField/{}/item", s(&field, "id")), json!({"value": {"text": "ACME"}})).await.ok();
    let field_id = s(&field, "id");
    let stage = alice
        .post(
            "/1/customFields",
            json!({"idModel": board_id, "modelType": "board", "name": "Stage", "type": "list", "pos": "bottom",
                   "options": [{"value": {"text": "Doing"}, "color": "red"}, {"value": {"text": "Done"}, "color": "green"}]}),
        )
        .await
        .ok();
    let (stage_id, doing) = (s(&stage, "id"), s(&stage["options"][0], "id"));
    alice.put(&format!("/1/cards/{card}/customField/{stage_id}/item"), json!({"idValue": doing})).await.ok();
    let dave = server.user("dave").await;
    let carol = server.user("carol").await;
    alice.put(&format!("/1/boards/{board_id}/members/{}", dave.id), json!({"type": "normal"})).await.ok();
    let sticker = s(
        &alice.post(&format!("/1/cards/{card}/stickers"), json!({"image": "taco-cool", "top": 10, "left": 20, "zIndex": 1})).await.ok(),
        "id",
    );
    alice.post(&format!("/1/cards/{card}/idMembers"), json!({"value": bob.id})).await.ok();
    let comment = s(&bob.post(&format!("/1/cards/{card}/actions/comments"), json!({"text": "first"})).await.ok(), "id");
    let upload =
        bob.send("POST", &format!("/1/cards/{card}/attachments"), Body::Raw(MULTIPART, multipart("notes.txt", b"kept bytes"))).await;
    let upload = s(&upload.ok(), "id");
    alice.put(&format!("/1/boards/{board_id}"), json!({"prefs/voting": "members"})).await.ok();
    let reactions = format!("/1/actions/{comment}/reactions");
    let smile = s(&bob.post(&reactions, json!({"shortName": "smile"})).await.ok(), "id");
    let card_view = format!("/1/cards/{card}?checklists=all&attachments=true&members=true&customFieldItems=true&stickers=true");
    let fields_view = format!("/1/boards/{board_id}/customFields");
    let members_view = format!("/1/boards/{board_id}/memberships");
    assert_eq!(alice.get(&card_view).await.ok()["customFieldItems"][0]["value"]["text"], "ACME");
    let board_view = format!("/1/boards/{board_id}?lists=all&labels=all&cards=all&card_fields=all");
    let revert = |id: String| {
        let bob = bob.clone();
        async move { bob.post(&format!("/cork/actions/{id}/revert"), json!({})).await }
    };

    // Each write by Bob, then its undo: the card (or board) is as it was before, exactly.
    let writes: Vec<(&str, String, Value)> = vec![
        ("PUT", format!("/1/cards/{card}"), json!({"name": "Renamed", "desc": "other", "due": "2031-01-01T00:00:00.000Z"})),
        ("PUT", format!("/1/cards/{card}"), json!({"idList": done, "pos": "top"})),
        ("PUT", format!("/1/cards/{card}"), json!({"closed": true})),
        ("DELETE", format!("/1/cards/{card}/idLabels/{label}"), json!({})),
        ("POST", format!("/1/cards/{card}/idMembers"), json!({"value": alice.id})),
        ("POST", format!("/1/cards/{card}/actions/comments"), json!({"text": "note"})),
        ("PUT", format!("/1/cards/{card}/checkItem/{item}"), json!({"state": "complete"})),
        ("POST", format!("/1/cards/{card}/checklists"), json!({"name": "More"})),
        ("POST", format!("/1/cards/{card}/attachments"), json!({"url": "https://example.com/b", "name": "two"})),
        ("DELETE", format!("/1/cards/{card}/attachments/{link}"), json!({})),
        ("PUT", format!("/1/lists/{todo}"), json!({"name": "Backlog"})),
        ("POST", "/1/lists".into(), json!({"idBoard": board_id, "name": "Extra"})),
        ("PUT", format!("/1/boards/{board_id}"), json!({"name": "Undone", "desc": "x"})),
        ("PUT", format!("/1/labels/{label}"), json!({"name": "blue", "color": "blue"})),
        ("POST", "/1/labels".into(), json!({"idBoard": board_id, "name": "new", "color": "green"})),
        ("POST", "/1/cards".into(), json!({"idList": todo, "name": "Fresh"})),
        ("PUT", format!("/1/cards/{card}/customField/{field_id}/item"), json!({"value": {"text": "Globex"}})),
        ("PUT", format!("/1/cards/{card}/customField/{field_id}/item"), json!({"value": ""})),
        ("PUT", format!("/1/checklists/{checklist}"), json!({"name": "Renamed steps", "pos": "bottom"})),
        ("POST", format!("/1/checklists/{checklist}/checkItems"), json!({"name": "two"})),
        ("PUT", format!("/1/cards/{card}/checkItem/{item}"), json!({"name": "uno", "pos": "top", "state": "complete"})),
        ("DELETE", format!("/1/checklists/{checklist}/checkItems/{item}"), json!({})),
        ("DELETE", format!("/1/checklists/{checklist}"), json!({})),
        ("DELETE", format!("/1/labels/{label}"), json!({})),
        ("PUT", format!("/1/actions/{comment}"), json!({"text": "edited"})),
        ("DELETE", format!("/1/actions/{comment}"), json!({})),
        ("DELETE", format!("/1/cards/{card}/attachments/{upload}"), json!({})),
        ("PUT", format!("/1/boards/{board_id}"), json!({"prefs/permissionLevel": "public", "prefs/comments": "members"})),
        (
            "PUT",
            format!("/1/boards/{board_id}"),
            json!({"labelNames/green": "go", "labelNames/sky": "new colour", "labelNames/red": "hot"}),
        ),
        ("PUT", format!("/1/cards/{card}"), json!({"idBoard": elsewhere, "idList": inbox})),
        (
            "POST",
            "/1/customFields".into(),
            json!({"idModel": board_id, "modelType": "board", "name": "Done?", "type": "checkbox", "pos": "top"}),
        ),
        ("PUT", format!("/1/customFields/{field_id}"), json!({"name": "Client", "display/cardFront": true})),
        ("POST", format!("/1/customFields/{stage_id}/options"), json!({"value": {"text": "Later"}, "color": "blue", "pos": "bottom"})),
        ("DELETE", format!("/1/customFields/{stage_id}/options/{doing}"), json!({})),
        ("DELETE", format!("/1/customFields/{field_id}"), json!({})),
        ("PUT", format!("/1/boards/{board_id}/members/{}", carol.id), json!({"type": "normal"})),
        ("PUT", format!("/1/boards/{board_id}/members/{}", dave.id), json!({"type": "observer"})),
        ("DELETE", format!("/1/boards/{board_id}/members/{}", dave.id), json!({})),
        ("POST", format!("/1/cards/{card}/stickers"), json!({"image": "star", "top": 0, "left": 0, "zIndex": 2})),
        ("PUT", format!("/1/cards/{card}/stickers/{sticker}"), json!({"top": 50, "rotate": 90})),
        ("DELETE", format!("/1/cards/{card}/stickers/{sticker}"), json!({})),
        ("POST", format!("/1/cards/{card}/membersVoted"), json!({"value": bob.id})),
        ("POST", reactions.clone(), json!({"shortName": "+1"})),
        ("DELETE", format!("{reactions}/{smile}"), json!({})),
        ("POST", "/1/boards".into(), json!({"name": "Made by mistake"})),
        ("DELETE", format!("/1/cards/{card}"), json!({})),
    ];
    let comments = format!("/1/cards/{card}/actions?filter=commentCard");
    let comments_before = alice.get(&comments).await.ok();
    let reactions_before = alice.get(&reactions).await.ok();
    for (method, path, body) in &writes {
        let card_before = stripped(alice.get(&card_view).await.ok());
        let board_before = stripped(alice.get(&board_view).await.ok());
        let others_before = (alice.get(&fields_view).await.ok(), alice.get(&members_view).await.ok());
        let write = bob.send(method, path, Body::Json(body.clone())).await;
        let id = action_of(&write);
        let undo = revert(id.clone()).await;
        assert_eq!(undo.status, 200, "undo of {method} {path}: {}", undo.text);
        assert_eq!(undo.json()["revertOf"], json!(id));
        // The revert is an ordinary action naming what it undoes.
        let undo_action = s(&undo.json()["actions"][0], "id");
        let shown = bob.get(&format!("/1/actions/{undo_action}")).await.ok();
        assert_eq!(shown["data"]["revertOf"], json!(id), "{shown}");
        assert_eq!(stripped(alice.get(&card_view).await.ok()), card_before, "card after undoing {method} {path}");
        let mut board_after = stripped(alice.get(&board_view).await.ok());
        let mut board_before = board_before;
        if path == "/1/lists" {
            // A list cannot be deleted in Trello: its undo archives it.
            let lists = board_after["lists"].as_array_mut().unwrap();
            let extra = lists.iter().position(|l| l["name"] == "Extra").expect("the list stays, archived");
            assert_eq!(lists[extra]["closed"], json!(true));
            lists.remove(extra);
        }
        for view in [&mut board_after, &mut board_before] {
            view.as_object_mut().unwrap().remove("cards");
        }
        assert_eq!(board_after, board_before, "board after undoing {method} {path}");
        let others_after = (alice.get(&fields_view).await.ok(), alice.get(&members_view).await.ok());
        assert_eq!(others_after, others_before, "custom fields and memberships after undoing {method} {path}");
        if path.contains("/actions/") {
            assert_eq!(alice.get(&comments).await.ok(), comments_before, "comments after undoing {method} {path}");
            assert_eq!(alice.get(&reactions).await.ok(), reactions_before, "reactions after undoing {method} {path}");
        }
        if path == "/1/boards" {
            let made = s(&write.json(), "id");
            assert_eq!(bob.get(&format!("/1/boards/{made}")).await.ok()["closed"], json!(true), "a board made by mistake is closed");
        }
    }
    // The undone upload deletion brought its bytes back too.
    let attachment = alice.get(&format!("/1/cards/{card}/attachments/{upload}")).await.ok();
    let url = s(&attachment, "url");
    let download = alice.get(url.strip_prefix(&alice.base).unwrap()).await;
    assert_eq!(download.text, "kept bytes");
    // Reverting either half of a move between boards undoes the move.
    let moved = bob.put(&format!("/1/cards/{card}"), json!({"idBoard": elsewhere, "idList": inbox})).await;
    let halves: Value = serde_json::from_str(&header(&moved, "x-cork-actions")).unwrap();
    assert_eq!(halves[1]["type"], "moveCardToBoard", "{halves}");
    revert(s(&halves[1], "id")).await.ok();
    assert_eq!(s(&alice.get(&format!("/1/cards/{card}")).await.ok(), "idBoard"), board_id);

    // Undoing an undo applies the change again.
    let rename = action_of(&bob.put(&format!("/1/cards/{card}"), json!({"name": "Again"})).await);
    let undo = revert(rename).await.json();
    revert(s(&undo["actions"][0], "id")).await.ok();
    assert_eq!(s(&alice.get(&format!("/1/cards/{card}")).await.ok(), "name"), "Again");

    // A stale undo: Alice edited the name since Bob's rename, so it is refused and nothing changes.
    let stale = action_of(&bob.put(&format!("/1/cards/{card}"), json!({"name": "Bob's"})).await);
    alice.put(&format!("/1/cards/{card}"), json!({"name": "Alice's"})).await.ok();
    let before = alice.get(&card_view).await.ok();
    revert(stale).await.err(409, "changed since the action: name");
    assert_eq!(alice.get(&card_view).await.ok(), before);
    // Outsiders cannot undo; an unknown action is 404.
    let mallory = server.user("mallory").await;
    let edit = action_of(&bob.put(&format!("/1/cards/{card}"), json!({"desc": "late"})).await);
    mallory.post(&format!("/cork/actions/{edit}/revert"), json!({})).await.err(401, "unauthorized permission requested");
    bob.post("/cork/actions/0123456789abcdef01234567/revert", json!({})).await.err(404, "The requested resource was not found.");
});

/// Writes as `by` and undoes the write's `nth` action as `by`; each of `views`, read
/// by `viewer`, is the same before and after (dates aside). Answers the undone action
/// and the undo's own.
async fn write_and_undo(by: &Client, viewer: &Client, write: (&str, &str, Body), nth: usize, views: &[String]) -> (String, String) {
    let (method, path, body) = write;
    let mut before = Vec::new();
    for view in views {
        before.push(stripped(viewer.get(view).await.ok()));
    }
    let written = by.send(method, path, body).await;
    assert!(written.status == 200, "{method} {path}: {} {}", written.status, written.text);
    let actions: Value = serde_json::from_str(&header(&written, "x-cork-actions")).expect("X-Cork-Actions");
    let id = s(&actions[nth], "id");
    let undo = by.post(&format!("/cork/actions/{id}/revert"), json!({})).await;
    assert_eq!(undo.status, 200, "undo of {method} {path} ({}): {}", actions[nth]["type"], undo.text);
    for (view, before) in views.iter().zip(before) {
        assert_eq!(stripped(viewer.get(view).await.ok()), before, "{view} after undoing {method} {path}");
    }
    let undo_action = s(&undo.json()["actions"][0], "id");
    (id, undo_action)
}

fn json_body(value: Value) -> Body {
    Body::Json(value)
}

fn png_body(name: &str) -> Body {
    Body::Raw(MULTIPART, multipart(name, &png()))
}

both_backends!(undo_reaches_deleted_boards_lists_moved_away_workspaces_and_members_own_records, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let root = server.user("root").await;
    let root_member = server.cork.member_by_username("root").await.unwrap();
    server.cork.set_instance_admin(&root_member, true).await.unwrap();
    // A workspace Bob administers with Alice, and a board in it its members see.
    let org = s(&alice.post("/1/organizations", json!({"displayName": "Acme Works"})).await.ok(), "id");
    alice.put(&format!("/1/organizations/{org}/members/{}", bob.id), json!({"type": "admin"})).await.ok();
    let new_board = json!({"name": "Doomed", "idOrganization": org, "prefs_permissionLevel": "org", "defaultLists": false});
    let board = s(&alice.post("/1/boards", new_board).await.ok(), "id");
    alice.put(&format!("/1/boards/{board}/members/{}", bob.id), json!({"type": "admin"})).await.ok();
    let other = s(&alice.board("Other").await, "id");
    alice.put(&format!("/1/boards/{other}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let todo = s(&alice.list(&board, "To do").await, "id");
    let label = s(&alice.post("/1/labels", json!({"idBoard": board, "name": "red", "color": "red"})).await.ok(), "id");
    let mut cards = Vec::new();
    for n in 0..3 {
        cards.push(s(&alice.post("/1/cards", json!({"idList": todo, "name": format!("Card {n}"), "idLabels": label})).await.ok(), "id"));
    }
    let card = cards[0].clone();
    alice.post(&format!("/1/cards/{card}/idMembers"), json!({"value": bob.id})).await.ok();
    let checklist = s(&alice.post(&format!("/1/cards/{card}/checklists"), json!({"name": "Steps"})).await.ok(), "id");
    alice.post(&format!("/1/checklists/{checklist}/checkItems"), json!({"name": "one"})).await.ok();
    let upload =
        alice.send("POST", &format!("/1/cards/{card}/attachments"), Body::Raw(MULTIPART, multipart("a.txt", b"board bytes"))).await;
    let upload = s(&upload.ok(), "id");
    alice.post(&format!("/1/cards/{card}/stickers"), json!({"image": "taco-cool", "top": 1, "left": 2, "zIndex": 1})).await.ok();
    let field = json!({"idModel": board, "modelType": "board", "name": "Customer", "type": "text", "pos": "bottom"});
    let field = s(&alice.post("/1/customFields", field).await.ok(), "id");
    alice.put(&format!("/1/cards/{card}/customField/{field}/item"), json!({"value": {"text": "ACME"}})).await.ok();
    alice.post("/1/members/me/boardStars", json!({"idBoard": board, "pos": "top"})).await.ok();
    let board_views = |board: &str| {
        vec![
            format!("/1/boards/{board}?lists=all&cards=all&card_fields=all&labels=all&checklists=all&memberships=all"),
            format!("/1/boards/{board}/customFields"),
        ]
    };
    let card_view = format!("/1/cards/{card}?checklists=all&attachments=true&members=true&customFieldItems=true&stickers=true");
    let mut views = board_views(&board);
    views.extend([card_view.clone(), "/1/members/me/boardStars".into(), format!("/1/organizations/{org}/boards")]);

    // A deleted board comes back whole, its uploads' bytes too; a dry run of it changes nothing.
    let mut before = Vec::new();
    for view in &views {
        before.push(stripped(alice.get(view).await.ok()));
    }
    let deletion = bob.delete(&format!("/1/boards/{board}")).await;
    let deleted = action_of(&deletion);
    let preview = bob.post(&format!("/cork/actions/{deleted}/revert?dryRun=true"), json!({})).await;
    assert_eq!((preview.status, header(&preview, "x-cork-dry-run").as_str()), (200, "applied-nothing"), "{}", preview.text);
    alice.get(&format!("/1/boards/{board}")).await.err(404, "The requested resource was not found.");
    carol.post(&format!("/cork/actions/{deleted}/revert"), json!({})).await.err(401, "unauthorized permission requested");
    bob.post(&format!("/cork/actions/{deleted}/revert"), json!({})).await.ok();
    for (view, before) in views.iter().zip(before) {
        assert_eq!(stripped(alice.get(view).await.ok()), before, "{view} after undoing the board's deletion");
    }
    // Undoing it again is a conflict, and a second deletion comes back the same way.
    bob.post(&format!("/cork/actions/{deleted}/revert"), json!({})).await.err(409, "the board exists again");
    write_and_undo(&bob, &alice, ("DELETE", &format!("/1/boards/{board}"), json_body(json!({}))), 0, &views).await;
    let bytes = alice.get(&format!("/1/cards/{card}/attachments/{upload}")).await.ok();
    assert_eq!(alice.get(s(&bytes, "url").strip_prefix(&alice.base).unwrap()).await.text, "board bytes");
    let fresh = alice.post("/1/cards", json!({"idList": todo, "name": "After"})).await.ok();
    assert_eq!(fresh["idShort"], json!(4), "card numbers go on where they were");
    alice.delete(&format!("/1/cards/{}", s(&fresh, "id"))).await.ok();

    // A list moved to another board comes back with its cards' numbers and labels, from either half.
    let mut both = views.clone();
    both.extend(board_views(&other));
    let moving = format!("/1/lists/{todo}");
    write_and_undo(&bob, &alice, ("PUT", &moving, json_body(json!({"idBoard": other, "name": "Moved"}))), 0, &both).await;
    write_and_undo(&bob, &alice, ("PUT", &moving, json_body(json!({"idBoard": other}))), 1, &both).await;

    // Power-Ups: enabling and disabling on a board, and the catalogue's own records.
    let input = cork_core::plugins::PluginInput { name: Some("Timer".into()), ..Default::default() };
    let plugin = server.cork.create_plugin(&cork_core::access::Actor::member(root_member), input).await.unwrap().id;
    let plugins = vec![format!("/1/boards/{board}/boardPlugins")];
    write_and_undo(&bob, &alice, ("POST", &format!("/1/boards/{board}/boardPlugins"), json_body(json!({"idPlugin": plugin}))), 0, &plugins)
        .await;
    alice.post(&format!("/1/boards/{board}/boardPlugins"), json!({"idPlugin": plugin})).await.ok();
    write_and_undo(&bob, &alice, ("DELETE", &format!("/1/boards/{board}/boardPlugins/{plugin}"), json_body(json!({}))), 0, &plugins).await;
    // A plugin made by mistake goes (a Cork `deletePlugin`), and its undo brings it back.
    let root_actor = cork_core::access::Actor::member(server.cork.member_by_username("root").await.unwrap());
    let input = cork_core::plugins::PluginInput { name: Some("Oops".into()), ..Default::default() };
    let oops = server.cork.create_plugin(&root_actor, input).await.unwrap().id;
    let made = root.get("/1/members/me/actions?filter=createPlugin").await.ok();
    assert_eq!(made[0]["data"]["plugin"]["id"], json!(oops), "{made}");
    let undo = root.post(&format!("/cork/actions/{}/revert", s(&made[0], "id")), json!({})).await.ok();
    alice.get(&format!("/1/plugins/{oops}")).await.err(404, "The requested resource was not found.");
    root.post(&format!("/cork/actions/{}/revert", s(&undo["actions"][0], "id")), json!({})).await.ok();
    assert_eq!(alice.get(&format!("/1/plugins/{oops}")).await.ok()["name"], "Oops");
    let catalogue = vec![format!("/1/plugins/{plugin}"), format!("/1/plugins/{plugin}/listings")];
    write_and_undo(&root, &alice, ("PUT", &format!("/1/plugins/{plugin}"), json_body(json!({"name": "Timer Pro"}))), 0, &catalogue).await;
    let listed = ("POST", format!("/1/plugins/{plugin}/listing"), json_body(json!({"name": "T"})));
    let (_, undo) = write_and_undo(&root, &alice, (listed.0, &listed.1, listed.2), 0, &catalogue).await;
    root.post(&format!("/cork/actions/{undo}/revert"), json!({})).await.ok();
    assert_eq!(alice.get(&format!("/1/plugins/{plugin}/listings")).await.ok()[0]["name"], "T", "the listing is back");
    let listing = s(&alice.get(&format!("/1/plugins/{plugin}/listings")).await.ok()[0], "id");
    let listing_path = format!("/1/plugins/{plugin}/listings/{listing}");
    write_and_undo(&root, &alice, ("PUT", &listing_path, json_body(json!({"description": "minuteur"}))), 0, &catalogue).await;

    // The workspace: its fields and preferences, members and roles, tags, and itself.
    let workspace = vec![
        format!("/1/organizations/{org}"),
        format!("/1/organizations/{org}/memberships"),
        format!("/1/organizations/{org}/tags"),
        format!("/1/boards/{board}"),
    ];
    let org_path = format!("/1/organizations/{org}");
    let carol_path = format!("{org_path}/members/{}", carol.id);
    let writes: Vec<(&str, String, Value)> = vec![
        ("PUT", org_path.clone(), json!({"displayName": "Acme Inc", "desc": "tools", "prefs/permissionLevel": "public"})),
        ("PUT", org_path.clone(), json!({"name": "acmeinc"})),
        ("PUT", carol_path.clone(), json!({"type": "normal"})),
        ("POST", format!("{org_path}/tags"), json!({"name": "q1"})),
        ("DELETE", org_path.clone(), json!({})),
    ];
    for (method, path, body) in writes {
        write_and_undo(&bob, &alice, (method, &path, json_body(body)), 0, &workspace).await;
    }
    alice.put(&carol_path, json!({"type": "normal"})).await.ok();
    let tag = s(&alice.post(&format!("{org_path}/tags"), json!({"name": "q2"})).await.ok(), "id");
    for (method, path) in [("PUT", carol_path.clone()), ("DELETE", carol_path.clone()), ("DELETE", format!("{org_path}/tags/{tag}"))] {
        write_and_undo(&bob, &alice, (method, &path, json_body(json!({"type": "admin"}))), 0, &workspace).await;
    }
    // The logo: a first one goes again; a replaced one comes back from the trash.
    let logo = format!("{org_path}/logo");
    write_and_undo(&bob, &alice, ("POST", &logo, png_body("logo.png")), 0, &workspace).await;
    alice.send("POST", &logo, png_body("first.png")).await.ok();
    write_and_undo(&bob, &alice, ("POST", &logo, png_body("second.png")), 0, &workspace).await;
    let made = bob.post("/1/organizations", json!({"displayName": "Oops"})).await;
    bob.post(&format!("/cork/actions/{}/revert", action_of(&made)), json!({})).await.ok();
    bob.get(&format!("/1/organizations/{}", s(&made.json(), "id"))).await.err(404, "The requested resource was not found.");
    // An admin's change is refused to those who are not one.
    let renamed = action_of(&bob.put(&org_path, json!({"desc": "mine"})).await);
    carol.post(&format!("/cork/actions/{renamed}/revert"), json!({})).await.err(401, "unauthorized permission requested");

    // A member's own profile and uploads.
    let own = vec![
        "/1/members/me".to_string(),
        "/1/members/me/customStickers".into(),
        "/1/members/me/customEmoji".into(),
        "/1/members/me/boardBackgrounds?filter=custom".into(),
    ];
    write_and_undo(&bob, &bob, ("PUT", "/1/members/me", json_body(json!({"fullName": "Robert", "bio": "hi", "initials": "RB"}))), 0, &own)
        .await;
    write_and_undo(&bob, &bob, ("POST", "/1/members/me/customStickers", png_body("s.png")), 0, &own).await;
    let (_, undo) = write_and_undo(&bob, &bob, ("POST", "/1/members/me/customEmoji?name=party", png_body("e.png")), 0, &own).await;
    // Undoing that undo brings the emoji back, picture and all.
    bob.post(&format!("/cork/actions/{undo}/revert"), json!({})).await.ok();
    let emoji = bob.get("/1/members/me/customEmoji").await.ok();
    assert_eq!(emoji[0]["name"], "party", "{emoji}");
    assert_eq!(bob.get(s(&emoji[0], "url").strip_prefix(&bob.base).unwrap()).await.status, 200);
    write_and_undo(&bob, &bob, ("POST", "/1/members/me/boardBackgrounds", png_body("b.png")), 0, &own).await;
    let sticker = s(&bob.send("POST", "/1/members/me/customStickers", png_body("s.png")).await.ok(), "id");
    let background = s(&bob.send("POST", "/1/members/me/boardBackgrounds", png_body("b.png")).await.ok(), "id");
    let writes: Vec<(&str, String, Value)> = vec![
        ("DELETE", format!("/1/members/me/customStickers/{sticker}"), json!({})),
        ("PUT", format!("/1/members/me/boardBackgrounds/{background}"), json!({"brightness": "dark", "tile": true})),
        ("DELETE", format!("/1/members/me/boardBackgrounds/{background}"), json!({})),
    ];
    for (method, path, body) in writes {
        write_and_undo(&bob, &bob, (method, &path, json_body(body)), 0, &own).await;
    }
    // Their pictures came back with them.
    let shown = bob.get(&format!("/1/members/me/customStickers/{sticker}")).await.ok();
    assert_eq!(bob.get(s(&shown, "url").strip_prefix(&bob.base).unwrap()).await.status, 200);

    // The enterprise's standing of a member.
    let enterprise = server.cork.enterprise().await.unwrap().id;
    let admins = vec![format!("/1/enterprises/{enterprise}/admins"), format!("/1/enterprises/{enterprise}/members/{}", carol.id)];
    write_and_undo(&root, &root, ("PUT", &format!("/1/enterprises/{enterprise}/admins/{}", carol.id), json_body(json!({}))), 0, &admins)
        .await;
    let deactivate = format!("/1/enterprises/{enterprise}/members/{}/deactivated", carol.id);
    write_and_undo(&root, &root, ("PUT", &deactivate, json_body(json!({"value": true}))), 0, &admins).await;
});

both_backends!(a_runaway_integration_is_rolled_back_and_a_humans_edits_are_kept, |server: Server| async move {
    let alice = server.user("alice").await;
    let bot_member = server.user("bot").await;
    let mut boards = Vec::new();
    let mut labels = Vec::new();
    for name in ["One", "Two"] {
        let board = s(&alice.board(name).await, "id");
        alice.put(&format!("/1/boards/{board}/members/{}", bot_member.id), json!({"type": "normal"})).await.ok();
        labels.push(s(&alice.post("/1/labels", json!({"idBoard": board, "name": "bot", "color": "purple"})).await.ok(), "id"));
        let lists = vec![s(&alice.list(&board, "A").await, "id"), s(&alice.list(&board, "B").await, "id")];
        let mut cards = Vec::new();
        for n in 0..50 {
            let card =
                s(&alice.post("/1/cards", json!({"idList": lists[0], "name": format!("{name} {n}"), "desc": "as made"})).await.ok(), "id");
            if n % 4 == 0 {
                let checklist = s(&alice.post(&format!("/1/cards/{card}/checklists"), json!({"name": "c"})).await.ok(), "id");
                alice.post(&format!("/1/checklists/{checklist}/checkItems"), json!({"name": "i"})).await.ok();
            }
            cards.push(card);
        }
        boards.push((board, lists, cards));
    }
    let view = |board: &str| format!("/1/boards/{board}?lists=all&cards=all&card_fields=all&checklists=all&labels=all");
    let mut before = Vec::new();
    for (board, _, _) in &boards {
        before.push(stripped(alice.get(&view(board)).await.ok()));
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = chrono_now();
    // The runaway: a token of the bot's that edits, moves, comments on, archives and deletes.
    let bot = server.token_for(&bot_member, &["read", "write"]).await;
    let mut operations = 0;
    let mut human_edits = Vec::new();
    for ((board, lists, cards), label) in boards.iter().zip(&labels) {
        for (n, card) in cards.iter().enumerate() {
            bot.put(&format!("/1/cards/{card}"), json!({"name": format!("spam {n}"), "desc": "overwritten"})).await.ok();
            bot.put(&format!("/1/cards/{card}"), json!({"idList": lists[1], "pos": "top"})).await.ok();
            bot.post(&format!("/1/cards/{card}/actions/comments"), json!({"text": "bot was here"})).await.ok();
            bot.put(&format!("/1/cards/{card}"), json!({"due": "2031-03-03T12:00:00.000Z"})).await.ok();
            bot.post(&format!("/1/cards/{card}/idLabels"), json!({"value": label})).await.ok();
            operations += 5;
            if n % 10 == 3 {
                // A human fixes the name in between; that edit must survive the rollback.
                let fixed = format!("fixed by alice {n}");
                alice.put(&format!("/1/cards/{card}"), json!({"name": fixed})).await.ok();
                human_edits.push((card.clone(), fixed));
            }
            match n % 5 {
                1 => {
                    bot.put(&format!("/1/cards/{card}"), json!({"closed": true})).await.ok();
                    operations += 1;
                }
                2 => {
                    bot.delete(&format!("/1/cards/{card}")).await.ok();
                    operations += 1;
                }
                _ => {}
            }
        }
        bot.put(&format!("/1/boards/{board}"), json!({"desc": "bot board"})).await.ok();
        operations += 1;
    }
    // Last, it carries board One's second list, with the cards it moved there, to board Two.
    bot.put(&format!("/1/lists/{}", boards[0].1[1]), json!({"idBoard": boards[1].0})).await.ok();
    operations += 1;
    let bot_token = s(&bot.get(&format!("/1/tokens/{}", bot.token.as_ref().unwrap())).await.ok(), "id");
    // Preview (over HTTP and with the command line), then the real thing.
    let path = format!("/cork/rollback?idToken={bot_token}&since={started}");
    let preview = alice.send("POST", &format!("{path}&dryRun=true"), Body::Json(json!({}))).await;
    assert_eq!(header(&preview, "x-cork-dry-run"), "applied-nothing");
    // The command line on the server's data directory (its uploads and its secret key).
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_cork"))
        .args(["rollback", "--token", &bot_token, "--since", &started, "--as", "alice", "--dry-run", "--database", server.database_url()])
        .arg("--data-dir")
        .arg(server.data_dir())
        .output()
        .expect("run cork rollback");
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let mut printed: Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(printed["dryRun"], json!(true));
    printed.as_object_mut().unwrap().remove("dryRun");
    assert_eq!(printed["counts"], preview.json()["counts"], "the command line previews the same rollback");
    let report = alice.post(&path, json!({})).await.ok();
    assert_eq!(preview.json(), report, "the preview reports what the rollback did");
    let counts = &report["counts"];
    println!("{}: runaway of {operations} operations rolled back: {counts}", server.backend());
    assert_eq!(counts["skipped"], 0, "{report}");
    // The human's fixes are kept: the bot's renames of those cards are the conflicts.
    let conflicts: Vec<&Value> = report["conflicts"].as_array().unwrap().iter().collect();
    assert_eq!(conflicts.len(), human_edits.len(), "{report}");
    for conflict in &conflicts {
        assert_eq!(conflict["reason"], "changed since the action: name");
        assert_eq!(conflict["changedBy"], json!([alice.id]));
    }
    // Everything else is as before the runaway.
    for ((board, _, _), before) in boards.iter().zip(&before) {
        let mut expected = before.clone();
        for card in expected["cards"].as_array_mut().unwrap() {
            if let Some((_, fixed)) = human_edits.iter().find(|(id, _)| *id == s(card, "id")) {
                card["name"] = json!(fixed);
                let short = card["idShort"].as_i64().unwrap();
                card["url"] = json!(format!("{}/c/{}/{short}-{}", server.base, s(card, "shortLink"), fixed.replace(' ', "-")));
            }
        }
        let mut differences = Vec::new();
        json_diff(&stripped(alice.get(&view(board)).await.ok()), &expected, "", &mut differences);
        assert!(differences.is_empty(), "board {board} after the rollback differs: {differences:#?}");
    }
});

/// Runs the `cork` command line on the server's database and data directory (its
/// uploads and its secret key) and answers what it printed (JSON).
fn cork_cli(server: &Server, args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cork"))
        .args(args)
        .args(["--database", server.database_url()])
        .arg("--data-dir")
        .arg(server.data_dir())
        .output()
        .expect("run cork");
    assert!(out.status.success(), "cork {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("cork {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Where two JSON values differ, as `path: got != expected` lines.
fn json_diff(got: &Value, expected: &Value, path: &str, out: &mut Vec<String>) {
    match (got, expected) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys()).collect::<std::collections::BTreeSet<_>>() {
                json_diff(a.get(key).unwrap_or(&Value::Null), b.get(key).unwrap_or(&Value::Null), &format!("{path}.{key}"), out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            // Objects with ids are matched by id (then their order is compared apart).
            let ids =
                |items: &[Value]| items.iter().map(|x| x.get("id").and_then(Value::as_str).map(str::to_string)).collect::<Option<Vec<_>>>();
            match (ids(a), ids(b)) {
                (Some(left), Some(right)) => {
                    if left != right {
                        out.push(format!("{path}: order {left:?} != {right:?}"));
                    }
                    for x in a {
                        let id = x["id"].as_str().unwrap();
                        match b.iter().find(|y| y["id"] == x["id"]) {
                            Some(y) => json_diff(x, y, &format!("{path}[{id}]"), out),
                            None => out.push(format!("{path}[{id}]: unexpected")),
                        }
                    }
                }
                _ => {
                    for (n, (x, y)) in a.iter().zip(b).enumerate() {
                        json_diff(x, y, &format!("{path}[{n}]"), out);
                    }
                }
            }
        }
        _ if got != expected => out.push(format!("{path}: {} != {}", truncate(got), truncate(expected))),
        _ => {}
    }
}

fn truncate(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 200 {
        format!("{}...", &text[..200])
    } else {
        text
    }
}

/// Now as an ISO date (the rollback's `since`).
fn chrono_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // A whole second is enough: ids sort by their second, and `since` takes its floor.
    let days = secs / 86_400;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    let (y, mo, d) = civil(days as i64);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.000Z")
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

both_backends!(gated_deletes_wait_for_one_approval_and_owned_fields_stay_with_their_owner, |server: Server| async move {
    let alice = server.user("alice").await;
    let carol = server.user("carol").await;
    let bot = server.user("bot").await;
    let mallory = server.user("mallory").await;
    let board = s(&alice.board("Gated").await, "id");
    alice.put(&format!("/1/boards/{board}/members/{}", carol.id), json!({"type": "admin"})).await.ok();
    alice.put(&format!("/1/boards/{board}/members/{}", bot.id), json!({"type": "normal"})).await.ok();
    let list = s(&alice.list(&board, "L").await, "id");
    let bot_token = s(&bot.get(&format!("/1/tokens/{}", bot.token.as_ref().unwrap())).await.ok(), "id");
    server.cork.set_token_gate(&bot_token, Some(cork_core::gates::GateKind::Destructive)).await.unwrap();
    let card = s(&alice.card(&list, "Keep me").await, "id");

    // A rename is not destructive: applied at once.
    assert_eq!(s(&bot.put(&format!("/1/cards/{card}"), json!({"name": "Renamed by bot"})).await.ok(), "name"), "Renamed by bot");
    // A delete is held: 202, a pending change request with the dry run's answer, nothing changed.
    let held = bot.delete(&format!("/1/cards/{card}")).await;
    assert_eq!(held.status, 202, "{}", held.text);
    let change = held.json();
    assert_eq!((change["state"].as_str(), change["requester"].as_str()), (Some("pending"), Some(bot.id.as_str())));
    assert_eq!(change["preview"]["status"], 200);
    assert_eq!(change["preview"]["body"], json!({"limits": {}}));
    assert_eq!(change["preview"]["actions"][0]["type"], "deleteCard");
    assert!(!change["command"]["target"].as_str().unwrap().contains("token"), "no credentials kept: {change}");
    let id = s(&change, "id");
    assert_eq!(alice.get(&format!("/1/cards/{card}")).await.status, 200, "the card is still there");
    assert_eq!(s(&bot.get(&format!("/cork/changeRequests/{id}")).await.ok(), "state"), "pending");
    mallory.get(&format!("/cork/changeRequests/{id}")).await.err(401, "unauthorized permission requested");
    let pending = alice.get(&format!("/cork/changeRequests?idBoard={board}&state=pending")).await.ok();
    assert_eq!(pending.as_array().unwrap().len(), 1);
    // Without a board: every board the caller administers (the web board's review queue).
    let everywhere = alice.get("/cork/changeRequests?state=pending").await.ok();
    assert_eq!(everywhere.as_array().map(|all| all.iter().map(|c| s(c, "id")).collect::<Vec<_>>()), Some(vec![id.clone()]));
    assert_eq!(bot.get("/cork/changeRequests?state=pending").await.ok(), json!([]), "the requester administers no board");
    assert_eq!(mallory.get("/cork/changeRequests").await.ok(), json!([]));
    bot.post(&format!("/cork/changeRequests/{id}/approve"), json!({})).await.err(401, "unauthorized permission requested");

    // Two admins approve at the same moment: it is applied once.
    let approve = format!("/cork/changeRequests/{id}/approve");
    let (a, c) = tokio::join!(alice.post(&approve, json!({"comment": "ok"})), carol.post(&approve, json!({})));
    let mut statuses = [a.status, c.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", a.text, c.text);
    let winner = if a.status == 200 { &alice } else { &carol };
    assert_eq!(alice.get(&format!("/1/cards/{card}")).await.status, 404, "applied");
    let deletes = alice.get(&format!("/1/boards/{board}/actions?filter=deleteCard")).await.ok();
    let deletes = deletes.as_array().unwrap();
    assert_eq!(deletes.len(), 1, "applied once");
    assert_eq!(deletes[0]["idMemberCreator"], json!(bot.id), "as the requester");
    assert_eq!(deletes[0]["data"]["approvedBy"], json!(winner.id));
    assert_eq!(s(&alice.get(&format!("/cork/changeRequests/{id}")).await.ok(), "state"), "applied");

    // Rejected (from the command line): nothing happens, and the rejection is an action on the board.
    let other = s(&alice.card(&list, "Other").await, "id");
    let rejected = s(&bot.delete(&format!("/1/cards/{other}")).await.json(), "id");
    let listed = cork_cli(&server, &["changes", "list", "--board", &board, "--state", "pending", "--as", "alice"]);
    assert_eq!(listed.as_array().unwrap().iter().map(|c| s(c, "id")).collect::<Vec<_>>(), vec![rejected.clone()]);
    let shown = cork_cli(&server, &["changes", "show", &rejected, "--as", "alice"]);
    assert_eq!(shown["preview"]["actions"][0]["type"], "deleteCard");
    let answer = cork_cli(&server, &["changes", "reject", &rejected, "--comment", "no", "--as", "alice"]);
    assert_eq!((answer["state"].as_str(), answer["comment"].as_str()), (Some("rejected"), Some("no")));
    assert_eq!(alice.get(&format!("/1/cards/{other}")).await.status, 200);
    let rejections = alice.get(&format!("/1/boards/{board}/actions?filter=rejectChangeRequest")).await.ok();
    assert_eq!(rejections.as_array().unwrap().len(), 1);
    alice.post(&format!("/cork/changeRequests/{rejected}/approve"), json!({})).await.err(409, "the change request is rejected");

    // A preview that no longer holds: the card changed since; 409, and the request stays pending.
    let stale = s(&bot.delete(&format!("/1/cards/{other}")).await.json(), "id");
    alice.put(&format!("/1/cards/{other}"), json!({"desc": "edited since"})).await.ok();
    alice
        .post(&format!("/cork/changeRequests/{stale}/approve"), json!({}))
        .await
        .err(409, "the change no longer does what its preview showed; it stays pending");
    assert_eq!(s(&alice.get(&format!("/cork/changeRequests/{stale}")).await.ok(), "state"), "pending");
    assert_eq!(alice.get(&format!("/1/cards/{other}")).await.status, 200);

    // Source of truth: the bot's application owns `due`; a lock refuses anyone else's edit of it.
    let policy = json!({"owners": [{"name": "Sync bot", "key": bot.key, "mode": "lock", "cardFields": ["due"]}]});
    bot.put(&format!("/cork/boards/{board}/policy"), policy.clone()).await.err(401, "unauthorized permission requested");
    alice.put(&format!("/cork/boards/{board}/policy"), policy).await.ok();
    alice
        .put(&format!("/1/cards/{other}"), json!({"due": "2031-01-01T00:00:00.000Z"}))
        .await
        .err(409, "owned by Sync bot: change it there");
    assert_eq!(alice.get(&format!("/1/cards/{other}")).await.ok()["due"], Value::Null, "refused, nothing changed");
    assert_eq!(alice.put(&format!("/1/cards/{other}"), json!({"name": "Not owned"})).await.status, 200);
    let owned = bot.put(&format!("/1/cards/{other}"), json!({"due": "2031-01-01T00:00:00.000Z"})).await.ok();
    assert_eq!(owned["due"], "2031-01-01T00:00:00.000Z", "the owner writes freely");
    let read = alice.get(&format!("/cork/boards/{board}/policy")).await.ok();
    assert_eq!(read["owners"][0]["name"], "Sync bot");
    // The rule shows on the board's and the card's JSON, under `cork`; a board without rules has no such field.
    let shown = alice.get(&format!("/1/boards/{board}")).await.ok();
    assert_eq!(shown["cork"]["owners"][0]["cardFields"], json!(["due"]), "{shown}");
    let card_json = alice.get(&format!("/1/cards/{other}")).await.ok();
    assert_eq!(card_json["cork"], json!({"owners": [{"name": "Sync bot", "mode": "lock", "cardFields": ["due"], "customFields": []}]}));
    let plain = s(&alice.board("No rules").await, "id");
    assert!(alice.get(&format!("/1/boards/{plain}")).await.ok().get("cork").is_none());
});

both_backends!(a_gated_tokens_board_colour_applies_and_its_visibility_change_waits, |server: Server| async move {
    let bot = server.user("bot").await;
    let board = s(&bot.board("Own board").await, "id");
    let bot_token = s(&bot.get(&format!("/1/tokens/{}", bot.token.as_ref().unwrap())).await.ok(), "id");
    server.cork.set_token_gate(&bot_token, Some(cork_core::gates::GateKind::Destructive)).await.unwrap();
    // A background is no permission: applied.
    let coloured = bot.put(&format!("/1/boards/{board}"), json!({"prefs/background": "red"})).await;
    assert_eq!(coloured.status, 200, "{}", coloured.text);
    // Who may see the board is: held, and nothing changes until approval.
    let held = bot.put(&format!("/1/boards/{board}"), json!({"prefs/permissionLevel": "public"})).await;
    assert_eq!(held.status, 202, "{}", held.text);
    assert_eq!(held.json()["reason"], "a destructive change by a gated token");
    let now = bot.get(&format!("/1/boards/{board}")).await.ok();
    assert_eq!((now["prefs"]["background"].as_str(), now["prefs"]["permissionLevel"].as_str()), (Some("red"), Some("private")));
    // An upload a gate would hold is refused instead (its bytes are not kept for later).
    let list = s(&bot.list(&board, "L").await, "id");
    let card = s(&bot.card(&list, "c").await, "id");
    let policy = json!({"gates": [{"kinds": "writes"}]});
    bot.put(&format!("/cork/boards/{board}/policy"), policy).await.ok();
    let boundary = "corkboundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let upload = bot
        .send(
            "POST",
            &format!("/1/cards/{card}/attachments"),
            Body::Raw(Box::leak(format!("multipart/form-data; boundary={boundary}").into_boxed_str()), body.into_bytes()),
        )
        .await;
    upload.err(409, "this upload needs a board admin's review, and uploads cannot be held: ask one");
    assert_eq!(bot.get(&format!("/1/cards/{card}/attachments")).await.ok(), json!([]));
});

both_backends!(changes_no_trello_action_shows_are_in_the_audit, config = local_webhooks, |server: Server| async move {
    let root = server.user("root").await;
    let member = server.cork.member_by_username("root").await.unwrap();
    server.cork.set_instance_admin(&member, true).await.unwrap();
    let alice = server.user("alice").await;
    let board_id = s(&alice.board("Audited").await, "id");
    let (callback, _) = counting_receiver().await;
    let callback = format!("{callback}?secret=receiver-only");
    let hook = alice.post("/1/webhooks", json!({"callbackURL": callback, "idModel": board_id})).await.ok();
    let hook_id = s(&hook, "id");
    alice.put(&format!("/1/webhooks/{hook_id}"), json!({"description": "renamed"})).await.ok();
    alice.delete(&format!("/1/webhooks/{hook_id}")).await.ok();
    alice.put(&format!("/1/members/{}/prefs/colorBlind", alice.id), json!({"value": true})).await.ok();
    alice.put(&format!("/1/boards/{board_id}/myPrefs/showSidebar"), json!({"value": false})).await.ok();
    let doomed = server.token_for(&alice, &["read"]).await;
    let doomed_id = s(&doomed.get(&format!("/1/tokens/{}", doomed.token.as_ref().unwrap())).await.ok(), "id");
    alice.delete(&format!("/1/tokens/{}", doomed.token.as_ref().unwrap())).await.ok();
    let events = root.get("/cork/audit?limit=1000").await.ok();
    let events = events.as_array().unwrap();
    let of = |kind: &str| events.iter().filter(|e| e["kind"] == json!(kind)).cloned().collect::<Vec<Value>>();
    let alice_token = s(&alice.get(&format!("/1/tokens/{}", alice.token.as_ref().unwrap())).await.ok(), "id");
    for kind in ["webhook.created", "webhook.updated", "webhook.deleted"] {
        let found = of(kind);
        assert_eq!(found.len(), 1, "{kind}: {events:#?}");
        assert_eq!(found[0]["webhook"]["id"], json!(hook_id));
        assert_eq!((found[0]["idMember"].clone(), found[0]["idToken"].clone()), (json!(alice.id), json!(alice_token)));
        assert!(found[0]["idCommand"].is_string(), "{kind}: stamped with its command");
    }
    assert_eq!(of("webhook.updated")[0]["old"]["description"], json!(""));
    assert_eq!(of("webhook.updated")[0]["webhook"]["description"], json!("renamed"));
    assert!(of("member.created").iter().any(|e| e["username"] == json!("alice")));
    assert!(of("appKey.created").iter().any(|e| e["idMember"] == json!(alice.id)));
    assert!(of("member.pref").iter().any(|e| e["pref"] == json!("colorBlind") && e["value"] == json!(true)));
    assert!(of("member.boardPref").iter().any(|e| e["pref"] == json!("showSidebar") && e["idBoard"] == json!(board_id)));
    assert!(of("token.revoked").iter().any(|e| e["idToken"] == json!(doomed_id)), "{events:#?}");
    // The receiver's secret stays out of the audit.
    assert!(!serde_json::to_string(events).unwrap().contains("receiver-only"));
});
