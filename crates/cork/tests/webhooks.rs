//! Webhooks end to end: registration as Trello does it, deliveries to a real HTTP
//! receiver on 127.0.0.1 that checks every signature on its own (HMAC-SHA1 of the raw
//! body and the callback URL, keyed with the application secret), the outbox across a
//! receiver outage and a Cork restart, failure handling, the delivery log and
//! redelivery, and the address policy.

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::Engine;
use common::{s, Client, Server};
use cork_api::webhooks::AllowList;
use cork_api::ApiConfig;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Post {
    target: String,
    body: Vec<u8>,
    signature: String,
    content_type: String,
}

impl Post {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Inbox {
    posts: Vec<Post>,
    heads: usize,
    /// Answers to give to the next POSTs (then 200).
    answers: VecDeque<u16>,
    head_status: Option<u16>,
}

/// A webhook receiver on 127.0.0.1 that can go down and come back on the same port.
struct Receiver {
    addr: SocketAddr,
    inbox: Arc<Mutex<Inbox>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

async fn receive(State(inbox): State<Arc<Mutex<Inbox>>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut inbox = inbox.lock().unwrap();
    if method == Method::HEAD {
        inbox.heads += 1;
        return StatusCode::from_u16(inbox.head_status.unwrap_or(200)).unwrap();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let answer = inbox.answers.pop_front().unwrap_or(200);
    inbox.posts.push(Post {
        target: uri.to_string(),
        body: body.to_vec(),
        signature: header("x-trello-webhook"),
        content_type: header("content-type"),
    });
    StatusCode::from_u16(answer).unwrap()
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let mut receiver = Receiver { addr: listener.local_addr().unwrap(), inbox: Arc::default(), stop: None, task: None };
        receiver.serve(listener);
        receiver
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = axum::Router::new().fallback(receive).with_state(self.inbox.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(stop);
        self.task = Some(tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .expect("receiver");
        }));
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Goes down: the port stops answering (connections are refused).
    async fn down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("receiver task");
        }
    }

    /// Comes back on the same port.
    async fn up(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.expect("rebind receiver");
        self.serve(listener);
    }

    fn posts(&self) -> Vec<Post> {
        self.inbox.lock().unwrap().posts.clone()
    }

    fn answer_next(&self, statuses: &[u16]) {
        self.inbox.lock().unwrap().answers.extend(statuses);
    }

    /// Waits until `n` POSTs arrived (or panics after `limit`).
    async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Post> {
        let start = Instant::now();
        loop {
            let posts = self.posts();
            if posts.len() >= n {
                return posts;
            }
            assert!(start.elapsed() < limit, "waited {limit:?} for {n} deliveries, got {}", posts.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Checks a delivery's signature independently of Cork's code.
fn signed(secret: &str, post: &Post, callback: &str) -> bool {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&post.body);
    mac.update(callback.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    expected == post.signature
}

/// A member with a token and the secret of the token's application key.
async fn member(server: &Server, name: &str) -> (Client, String) {
    let member = server.cork.create_member(name, Some(&format!("{name} Tester")), Some(&format!("{name}@example.test"))).await.unwrap();
    let scopes: Vec<String> = ["read", "write", "account"].iter().map(|s| s.to_string()).collect();
    let issued = server.cork.issue_token(&member, "hooks", &scopes, None).await.unwrap();
    common::secret("app-secret", &issued.secret);
    let client = Client {
        http: reqwest::Client::new(),
        base: server.base.clone(),
        key: Some(issued.key),
        token: Some(issued.token),
        id: member.id,
        username: member.username,
    };
    (client, issued.secret)
}

/// Local receivers are allowed; retries come fast so tests stay short.
fn local_fast(c: &mut ApiConfig) {
    c.webhooks.allowed_hosts = AllowList::parse("127.0.0.1").unwrap();
    c.webhooks.policy.backoff = Duration::from_millis(50);
    c.webhooks.policy.backoff_max = Duration::from_millis(400);
    c.webhooks.policy.retries = 100;
    c.webhooks.timeout = Duration::from_secs(5);
    c.webhooks.poll = Duration::from_millis(200);
}

/// Like `local_fast`, but a delivery is given up after one retry.
fn local_few_retries(c: &mut ApiConfig) {
    local_fast(c);
    c.webhooks.policy.retries = 1;
}

/// The board's actions since `after` (an action id or none), oldest first.
async fn board_actions(client: &Client, board: &str) -> Vec<Value> {
    let mut actions = client.get(&format!("/1/boards/{board}/actions?limit=1000")).await.ok().as_array().unwrap().clone();
    actions.reverse();
    actions
}

/// A scripted scenario on a board: lists, cards, a move, a comment, a label, a
/// checklist and its item, archiving; returns (list A, list B, card 1).
async fn scenario(alice: &Client, board: &str) -> (String, String, String) {
    let todo = alice.list(board, "To do").await;
    let done = alice.list(board, "Done").await;
    let one = alice.card(&s(&todo, "id"), "One").await;
    let two = alice.card(&s(&todo, "id"), "Two").await;
    let one_id = s(&one, "id");
    alice.put(&format!("/1/cards/{one_id}"), json!({"idList": s(&done, "id")})).await.ok();
    alice.post(&format!("/1/cards/{one_id}/actions/comments"), json!({"text": "looks good"})).await.ok();
    let label = alice.post("/1/labels", json!({"name": "urgent", "color": "red", "idBoard": board})).await.ok();
    alice.post(&format!("/1/cards/{one_id}/idLabels"), json!({"value": s(&label, "id")})).await.ok();
    let checklist = alice.post(&format!("/1/cards/{one_id}/checklists"), json!({"name": "Steps"})).await.ok();
    let item = alice.post(&format!("/1/checklists/{}/checkItems", s(&checklist, "id")), json!({"name": "first"})).await.ok();
    alice.put(&format!("/1/cards/{one_id}/checkItem/{}", s(&item, "id")), json!({"state": "complete"})).await.ok();
    alice.put(&format!("/1/cards/{}", s(&two, "id")), json!({"closed": true})).await.ok();
    alice.put(&format!("/1/lists/{}", s(&todo, "id")), json!({"name": "Backlog"})).await.ok();
    (s(&todo, "id"), s(&done, "id"), one_id)
}

async fn create_hook(client: &Client, callback: &str, model: &str) -> Value {
    client.post("/1/webhooks", json!({"callbackURL": callback, "idModel": model, "description": "test hook"})).await.ok()
}

const WEBHOOK_KEYS: [&str; 7] =
    ["id", "description", "idModel", "callbackURL", "active", "consecutiveFailures", "firstConsecutiveFailDate"];

both_backends!(every_action_arrives_once_in_order_signed_and_shaped_as_trello, config = local_fast, |server: Server| async move {
    let (alice, secret) = member(&server, "alice").await;
    let receiver = Receiver::start().await;
    let board = alice.board("Hooked").await;
    let board_id = s(&board, "id");
    let board_url = receiver.url("/board?kind=board");
    let hook = create_hook(&alice, &board_url, &board_id).await;
    let keys: Vec<&str> = hook.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, WEBHOOK_KEYS, "Trello's webhook object");
    assert_eq!((hook["active"].clone(), hook["consecutiveFailures"].clone()), (json!(true), json!(0)));
    assert_eq!(receiver.inbox.lock().unwrap().heads, 1, "one HEAD check at registration");
    let before = board_actions(&alice, &board_id).await.len();

    let (todo, done, card) = scenario(&alice, &board_id).await;
    let expected: Vec<Value> = board_actions(&alice, &board_id).await.split_off(before);
    assert!(expected.len() >= 11, "the scenario writes its actions: {}", expected.len());

    let posts = receiver.wait_for(expected.len(), Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let posts_after = receiver.posts();
    assert_eq!(posts_after.len(), expected.len(), "each action once, no more");
    let mut types = Vec::new();
    for (post, action) in posts.iter().zip(&expected) {
        assert!(signed(&secret, post, &board_url), "signature of {}", post.target);
        assert_eq!(post.content_type, "application/json");
        assert_eq!(post.target, "/board?kind=board");
        let body = post.json();
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["action", "model", "webhook"]);
        // The action is exactly what GET /1/actions/{id} shows, display included.
        let shown = alice.get(&format!("/1/actions/{}", s(action, "id"))).await.ok();
        assert_eq!(body["action"], shown, "action {}", s(action, "type"));
        assert!(body["action"]["display"]["translationKey"].as_str().unwrap().starts_with("action_"));
        assert_eq!(body["action"]["memberCreator"]["username"], "alice");
        assert_eq!(body["model"]["id"], board_id);
        assert_eq!(body["model"]["name"], "Hooked");
        assert_eq!(body["webhook"]["id"], hook["id"]);
        assert_eq!(body["webhook"]["callbackURL"], board_url.as_str());
        let keys: Vec<&str> = body["webhook"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, WEBHOOK_KEYS);
        types.push(s(action, "type"));
    }
    for wanted in
        ["createList", "createCard", "updateCard", "commentCard", "addLabelToCard", "addChecklistToCard", "updateCheckItemStateOnCard"]
    {
        assert!(types.iter().any(|t| t == wanted), "{wanted} delivered: {types:?}");
    }

    // A card webhook sees its card only; a list webhook what touches its list; a
    // member webhook what its member does.
    let card_url = receiver.url("/card");
    let list_url = receiver.url("/list");
    let member_url = receiver.url("/member");
    create_hook(&alice, &card_url, &card).await;
    create_hook(&alice, &list_url, &done).await;
    create_hook(&alice, &member_url, &alice.id).await;
    let base = receiver.posts().len();
    alice.put(&format!("/1/cards/{card}"), json!({"desc": "card only"})).await.ok();
    let other = alice.card(&todo, "Elsewhere").await;
    alice.put(&format!("/1/cards/{}", s(&other, "id")), json!({"idList": done})).await.ok();
    // board: 3 actions; card: 1; list: 2 (card One is in it, and the move into it); member: 3.
    receiver.wait_for(base + 9, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let posts = &receiver.posts()[base..];
    assert_eq!(posts.len(), 9, "{:?}", posts.iter().map(|p| p.target.clone()).collect::<Vec<_>>());
    let at = |path: &str| posts.iter().filter(|p| p.target == path).map(Post::json).collect::<Vec<_>>();
    let card_posts = at("/card");
    assert_eq!(card_posts.len(), 1);
    assert_eq!(card_posts[0]["action"]["data"]["card"]["id"], card);
    assert_eq!(card_posts[0]["model"]["id"], card);
    assert_eq!(card_posts[0]["model"]["desc"], "card only");
    let list_posts = at("/list");
    assert_eq!(list_posts.len(), 2);
    assert_eq!(list_posts[0]["action"]["data"]["card"]["id"], card);
    assert_eq!(list_posts[1]["action"]["data"]["listAfter"]["id"], done);
    assert_eq!(list_posts[1]["action"]["display"]["translationKey"], "action_move_card_from_list_to_list");
    assert_eq!(list_posts[1]["model"]["id"], done);
    assert_eq!(at("/member").len(), 3);
    assert_eq!(at("/member")[0]["model"]["username"], "alice");
    for post in posts {
        let callback = receiver.url(&post.target);
        assert!(signed(&secret, post, &callback), "signature of {}", post.target);
    }
});

both_backends!(a_receiver_that_was_down_gets_everything_across_a_restart, config = local_fast, |mut server: Server| async move {
    let (alice, secret) = member(&server, "alice").await;
    let mut receiver = Receiver::start().await;
    let board = alice.board("Outage").await;
    let board_id = s(&board, "id");
    let callback = receiver.url("/hook");
    let hook = create_hook(&alice, &callback, &board_id).await;
    let before = board_actions(&alice, &board_id).await.len();

    // Down for the first part of the scenario, and Cork restarts in the middle of it.
    receiver.down().await;
    let todo = alice.list(&board_id, "To do").await;
    let mut cards = Vec::new();
    for n in 0..5 {
        cards.push(alice.card(&s(&todo, "id"), &format!("before restart {n}")).await);
    }
    // Wait until Cork has tried (and failed) at least once.
    let start = Instant::now();
    loop {
        let log = alice.get(&format!("/cork/webhooks/{}/deliveries", s(&hook, "id"))).await.ok();
        if log.as_array().unwrap().iter().any(|d| !d["attempts"].as_array().unwrap().is_empty()) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no attempt was made while the receiver was down");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failing = alice.get(&format!("/1/webhooks/{}", s(&hook, "id"))).await.ok();
    assert!(failing["consecutiveFailures"].as_i64().unwrap() >= 1);
    assert!(failing["firstConsecutiveFailDate"].is_string());

    server.restart().await;
    for card in &cards[..3] {
        alice.put(&format!("/1/cards/{}", s(card, "id")), json!({"name": format!("{} (renamed)", s(card, "name"))})).await.ok();
    }
    alice.post(&format!("/1/cards/{}/actions/comments", s(&cards[0], "id")), json!({"text": "after restart"})).await.ok();
    receiver.up().await;
    alice.card(&s(&todo, "id"), "after the receiver came back").await;

    let expected: Vec<String> = board_actions(&alice, &board_id).await.split_off(before).iter().map(|a| s(a, "id")).collect();
    receiver.wait_for(expected.len(), Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let posts = receiver.posts();
    let received: Vec<String> = posts.iter().map(|p| s(&p.json()["action"], "id")).collect();
    let lost = expected.iter().filter(|id| !received.contains(id)).count();
    common::report(server.backend(), &format!("deliveries: {} expected, {} received, {lost} lost", expected.len(), received.len()));
    assert_eq!(lost, 0);
    assert_eq!(received, expected, "once each, in action order");
    assert!(posts.iter().all(|p| signed(&secret, p, &callback)));
    let recovered = alice.get(&format!("/1/webhooks/{}", s(&hook, "id"))).await.ok();
    assert_eq!((recovered["consecutiveFailures"].clone(), recovered["firstConsecutiveFailDate"].clone()), (json!(0), Value::Null));
});

both_backends!(gone_deletes_the_webhook_and_a_revoked_token_stops_its_webhooks, config = local_fast, |server: Server| async move {
    let (alice, _) = member(&server, "alice").await;
    let receiver = Receiver::start().await;
    let board = alice.board("Gone").await;
    let board_id = s(&board, "id");
    let hook = create_hook(&alice, &receiver.url("/gone"), &board_id).await;
    receiver.answer_next(&[410]);
    alice.list(&board_id, "first").await;
    receiver.wait_for(1, Duration::from_secs(20)).await;
    let start = Instant::now();
    while alice.get(&format!("/1/webhooks/{}", s(&hook, "id"))).await.status != 404 {
        assert!(start.elapsed() < Duration::from_secs(10), "410 did not delete the webhook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    alice.get(&format!("/1/webhooks/{}", s(&hook, "id"))).await.err(404, "The requested resource was not found.");
    alice.list(&board_id, "second").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.posts().len(), 1, "nothing more for a deleted webhook");

    // A second token of the same member registers a webhook; revoking the token removes it.
    let (bob, _) = member(&server, "bob").await;
    let bob_board = bob.board("Revoked").await;
    let bob_hook = create_hook(&bob, &receiver.url("/revoked"), &s(&bob_board, "id")).await;
    let listed = bob.get(&format!("/1/tokens/{}/webhooks", bob.token.clone().unwrap())).await.ok();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let with_hooks = bob.get(&format!("/1/tokens/{}?webhooks=true", bob.token.clone().unwrap())).await.ok();
    assert_eq!(with_hooks["webhooks"][0]["id"], bob_hook["id"]);
    bob.delete(&format!("/1/tokens/{}", bob.token.clone().unwrap())).await.ok();
    // Bob acts with another token; the revoked token's webhook hears nothing.
    let bob2 = server.token_for(&bob, &["read", "write"]).await;
    bob2.list(&s(&bob_board, "id"), "after revocation").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.posts().iter().all(|p| p.target != "/revoked"), "a revoked token's webhook stays silent");
    bob2.get(&format!("/1/webhooks/{}", s(&bob_hook, "id"))).await.err(404, "The requested resource was not found.");
});

both_backends!(registration_follows_trello_and_refuses_internal_callbacks, config = local_fast, |server: Server| async move {
    let (alice, _) = member(&server, "alice").await;
    let (eve, _) = member(&server, "eve").await;
    let receiver = Receiver::start().await;
    let board = alice.board("Rules").await;
    let board_id = s(&board, "id");
    let callback = receiver.url("/rules");

    // Internal addresses are refused with a clear error, whatever the allow-list does not name.
    for url in ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/hook", "http://[::1]:9/x", "http://0.0.0.0:9/x"] {
        let refused = alice.post("/1/webhooks", json!({"callbackURL": url, "idModel": board_id})).await;
        assert_eq!(refused.status, 400, "{url}: {}", refused.text);
        assert!(refused.text.contains("webhooks may not call loopback, private, link-local or metadata addresses"), "{}", refused.text);
    }
    let metadata = alice.post("/1/webhooks", json!({"callbackURL": "http://169.254.169.254/", "idModel": board_id})).await;
    assert!(metadata.text.contains("169.254.169.254, a cloud metadata address"), "{}", metadata.text);
    let private = alice.post("/1/webhooks", json!({"callbackURL": "http://10.0.0.1/", "idModel": board_id})).await;
    assert!(private.text.contains("10.0.0.1, a private address"), "{}", private.text);
    // Host names are checked after resolution (unit-tested in cork-api: a name for a
    // loopback address is refused); here the allow-list names 127.0.0.1, so
    // `localhost` resolving there is allowed like the address itself.

    // The HEAD check must answer 200.
    receiver.inbox.lock().unwrap().head_status = Some(404);
    alice
        .post("/1/webhooks", json!({"callbackURL": callback, "idModel": board_id}))
        .await
        .err(400, &format!("URL ({callback}) did not return 200 status code, got 404"));
    receiver.inbox.lock().unwrap().head_status = None;
    assert!(alice.get(&format!("/1/tokens/{}/webhooks", alice.token.clone().unwrap())).await.ok().as_array().unwrap().is_empty());

    // Bad input, a model the token cannot read.
    alice.post("/1/webhooks", json!({"callbackURL": "not a url", "idModel": board_id})).await.err(400, "invalid value for callbackURL");
    alice.post("/1/webhooks", json!({"callbackURL": callback, "idModel": "nope"})).await.err(400, "invalid value for idModel");
    alice
        .post("/1/webhooks", json!({"callbackURL": callback, "idModel": "5f0000000000000000000000"}))
        .await
        .err(400, "invalid value for idModel");
    eve.post("/1/webhooks", json!({"callbackURL": callback, "idModel": board_id})).await.err(401, "unauthorized permission requested");
    eve.post("/1/webhooks", json!({"callbackURL": callback, "idModel": alice.id})).await.err(401, "unauthorized permission requested");

    // Created through the token route, then a duplicate refused on both routes.
    let token = alice.token.clone().unwrap();
    let hook = alice
        .post(&format!("/1/tokens/{token}/webhooks"), json!({"callbackURL": callback, "idModel": board_id, "description": "d1"}))
        .await
        .ok();
    let id = s(&hook, "id");
    let duplicate = "A webhook with that callback, model, and token already exists";
    alice.post("/1/webhooks", json!({"callbackURL": callback, "idModel": board_id})).await.err(400, duplicate);
    alice.post(&format!("/1/tokens/{token}/webhooks"), json!({"callbackURL": callback, "idModel": board_id})).await.err(400, duplicate);

    // Reads: by id, a field, through the token; only for the owning token.
    assert_eq!(alice.get(&format!("/1/webhooks/{id}")).await.ok(), hook);
    assert_eq!(alice.get(&format!("/1/webhooks/{id}/description")).await.ok(), json!({"_value": "d1"}));
    assert_eq!(alice.get(&format!("/1/webhooks/{id}/active")).await.ok(), json!({"_value": true}));
    alice.get(&format!("/1/webhooks/{id}/nothing")).await.err(404, "The requested resource was not found.");
    assert_eq!(alice.get(&format!("/1/tokens/{token}/webhooks/{id}")).await.ok(), hook);
    assert_eq!(alice.get(&format!("/1/tokens/{token}/webhooks")).await.ok(), json!([hook]));
    eve.get(&format!("/1/webhooks/{id}")).await.err(401, "unauthorized permission requested");
    eve.delete(&format!("/1/webhooks/{id}")).await.err(401, "unauthorized permission requested");

    // Updates: PUT, the token route, the legacy per-field writes.
    let list = alice.list(&board_id, "Watched").await;
    let updated = alice.put(&format!("/1/webhooks/{id}"), json!({"description": "d2", "active": false})).await.ok();
    assert_eq!((updated["description"].clone(), updated["active"].clone()), (json!("d2"), json!(false)));
    let updated = alice.put(&format!("/1/tokens/{token}/webhooks/{id}"), json!({"description": "d3"})).await.ok();
    assert_eq!(updated["description"], "d3");
    assert_eq!(alice.put(&format!("/1/webhooks/{id}/active"), json!({"value": true})).await.ok()["active"], true);
    assert_eq!(alice.put(&format!("/1/webhooks/{id}/description"), json!({"value": "d4"})).await.ok()["description"], "d4");
    assert_eq!(alice.put(&format!("/1/webhooks/{id}/idModel"), json!({"value": s(&list, "id")})).await.ok()["idModel"], s(&list, "id"));
    let moved = receiver.url("/rules-moved");
    let heads = receiver.inbox.lock().unwrap().heads;
    assert_eq!(alice.put(&format!("/1/webhooks/{id}/callbackURL"), json!({"value": moved})).await.ok()["callbackURL"], moved);
    assert_eq!(receiver.inbox.lock().unwrap().heads, heads + 1, "a new callback is checked too");
    alice.put(&format!("/1/webhooks/{id}/callbackURL"), json!({"value": "http://10.0.0.1/"})).await.err(
        400,
        "callbackURL points to 10.0.0.1, a private address: webhooks may not call loopback, private, link-local or metadata addresses (an operator can allow hosts with --webhook-allowed-hosts)",
    );
    alice.put(&format!("/1/webhooks/{id}/secret"), json!({"value": "x"})).await.err(404, "The requested resource was not found.");
    // The legacy create forms.
    let legacy = alice.put("/1/webhooks", json!({"callbackURL": receiver.url("/legacy"), "idModel": board_id})).await.ok();
    let legacy_token =
        alice.put(&format!("/1/tokens/{token}/webhooks"), json!({"callbackURL": receiver.url("/legacy2"), "idModel": board_id})).await.ok();

    // Deletes, both routes.
    assert_eq!(alice.delete(&format!("/1/webhooks/{id}")).await.ok(), json!({"_value": null}));
    alice.get(&format!("/1/webhooks/{id}")).await.err(404, "The requested resource was not found.");
    alice.delete(&format!("/1/tokens/{token}/webhooks/{}", s(&legacy, "id"))).await.ok();
    alice.delete(&format!("/1/webhooks/{}", s(&legacy_token, "id"))).await.ok();
    assert_eq!(alice.get(&format!("/1/tokens/{token}/webhooks")).await.ok(), json!([]));
    // A request without a token owns no webhooks.
    server
        .anonymous()
        .post("/1/webhooks", json!({"callbackURL": callback, "idModel": board_id}))
        .await
        .err(401, "unauthorized permission requested");
});

both_backends!(
    the_delivery_log_shows_attempts_and_any_delivery_can_be_sent_again,
    config = local_few_retries,
    |server: Server| async move {
        let (alice, secret) = member(&server, "alice").await;
        let (eve, _) = member(&server, "eve").await;
        let receiver = Receiver::start().await;
        let board = alice.board("Log").await;
        let board_id = s(&board, "id");
        let callback = receiver.url("/log");
        let hook = create_hook(&alice, &callback, &board_id).await;
        let id = s(&hook, "id");

        // First delivery: 500, then 200 on the retry. Second: 503 twice, given up (1 retry).
        receiver.answer_next(&[500]);
        alice.list(&board_id, "first").await;
        receiver.wait_for(2, Duration::from_secs(20)).await;
        receiver.answer_next(&[503, 503]);
        alice.list(&board_id, "second").await;
        receiver.wait_for(4, Duration::from_secs(20)).await;
        let start = Instant::now();
        let log = loop {
            let log = alice.get(&format!("/cork/webhooks/{id}/deliveries")).await.ok();
            if log.as_array().unwrap().iter().all(|d| d["state"] != "pending") {
                break log;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "deliveries did not settle: {log}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let log = log.as_array().unwrap().clone();
        assert_eq!(log.len(), 2);
        let (second, first) = (&log[0], &log[1]);
        assert_eq!(first["state"], "sent");
        let statuses: Vec<Value> = first["attempts"].as_array().unwrap().iter().map(|a| a["status"].clone()).collect();
        assert_eq!(statuses, [json!(500), json!(200)]);
        assert!(first["attempts"][0]["latencyMs"].is_u64() && first["attempts"][0]["date"].is_string());
        assert_eq!(second["state"], "failed");
        assert_eq!(second["reason"], "gave up after 2 attempts");
        assert_eq!(second["attempts"].as_array().unwrap().len(), 2);
        let failing = alice.get(&format!("/1/webhooks/{id}")).await.ok();
        assert_eq!(failing["consecutiveFailures"], 2);
        assert!(failing["firstConsecutiveFailDate"].is_string());
        assert_eq!(failing["active"], true, "thirty days of failures are needed to disable it");

        // Redelivery of the given-up delivery (owner token only), through the API and the domain.
        eve.get(&format!("/cork/webhooks/{id}/deliveries")).await.err(401, "unauthorized permission requested");
        eve.post(&format!("/cork/webhooks/deliveries/{}/redeliver", s(second, "id")), json!({}))
            .await
            .err(401, "unauthorized permission requested");
        let queued = alice.post(&format!("/cork/webhooks/deliveries/{}/redeliver", s(second, "id")), json!({})).await.ok();
        assert_eq!(queued["redeliveryOf"], second["id"]);
        assert_eq!(queued["idAction"], second["idAction"]);
        let posts = receiver.wait_for(5, Duration::from_secs(20)).await;
        assert_eq!(posts[4].json()["action"]["id"], second["idAction"]);
        assert!(signed(&secret, &posts[4], &callback));
        let again = server.cork.redeliver(None, &s(first, "id")).await.unwrap();
        assert_eq!(again.redelivery_of.as_deref(), Some(s(first, "id").as_str()));
        let posts = receiver.wait_for(6, Duration::from_secs(20)).await;
        assert_eq!(posts[5].json()["action"]["id"], first["idAction"]);
        // The operator's CLI reads the same log and queues redeliveries.
        let cli = |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_cork"))
                .args(args)
                .args(["--database", server.database_url(), "--data-dir", server.data_dir().to_str().unwrap()])
                .output()
                .expect("run cork");
            assert!(out.status.success(), "cork {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        let listed: Vec<Value> = cli(&["webhooks", "deliveries", &id]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(listed.len(), 4, "two deliveries and two redeliveries");
        assert_eq!(listed[3]["id"], first["id"]);
        let queued: Value = serde_json::from_str(cli(&["webhooks", "redeliver", &s(first, "id")]).trim()).unwrap();
        assert_eq!(queued["redeliveryOf"], first["id"]);
        let posts = receiver.wait_for(7, Duration::from_secs(20)).await;
        assert_eq!(posts[6].json()["action"]["id"], first["idAction"]);
        let healed = alice.get(&format!("/1/webhooks/{id}")).await.ok();
        assert_eq!((healed["consecutiveFailures"].clone(), healed["firstConsecutiveFailDate"].clone()), (json!(0), Value::Null));
        alice.post("/cork/webhooks/deliveries/nope/redeliver", json!({})).await.err(400, "invalid id");
    }
);

fn disable_at_once(c: &mut ApiConfig) {
    local_few_retries(c);
    c.webhooks.policy.disable_after = Duration::ZERO;
}

both_backends!(a_webhook_failing_for_the_failure_period_is_set_inactive, config = disable_at_once, |server: Server| async move {
    let (alice, _) = member(&server, "alice").await;
    let receiver = Receiver::start().await;
    let board = alice.board("Disabled").await;
    let hook = create_hook(&alice, &receiver.url("/off"), &s(&board, "id")).await;
    receiver.answer_next(&[500]);
    alice.list(&s(&board, "id"), "one").await;
    receiver.wait_for(1, Duration::from_secs(20)).await;
    let start = Instant::now();
    loop {
        let now = alice.get(&format!("/1/webhooks/{}", s(&hook, "id"))).await.ok();
        if now["active"] == false {
            assert_eq!(now["consecutiveFailures"], 1);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "not disabled: {now}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    alice.list(&s(&board, "id"), "two").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.posts().len(), 1, "an inactive webhook gets nothing");
    // Turned back on, it starts afresh.
    let back = alice.put(&format!("/1/webhooks/{}", s(&hook, "id")), json!({"active": true})).await.ok();
    assert_eq!((back["active"].clone(), back["consecutiveFailures"].clone()), (json!(true), json!(0)));
    alice.list(&s(&board, "id"), "three").await;
    let posts = receiver.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(posts[1].json()["action"]["data"]["list"]["name"], "three");
});

both_backends!(two_nodes_share_the_outbox_without_sending_twice, config = local_fast, |server: Server| async move {
    let (alice, secret) = member(&server, "alice").await;
    let receiver = Receiver::start().await;
    // A second node: its own connection pool on the same database, its own worker.
    let store = cork_store::Store::open(server.database_url()).await.unwrap();
    let mut config = ApiConfig::default();
    local_fast(&mut config);
    let node = cork_api::webhooks::spawn_worker(cork_api::App::new(cork_core::Cork::new(store), config));
    let mut boards = Vec::new();
    let mut before = Vec::new();
    for n in 0..3 {
        let board = alice.board(&format!("Shared {n}")).await;
        let board_id = s(&board, "id");
        create_hook(&alice, &receiver.url(&format!("/node/{n}")), &board_id).await;
        before.push(board_actions(&alice, &board_id).await.len());
        let list = alice.list(&board_id, "l").await;
        boards.push((board_id, s(&list, "id")));
    }
    for i in 0..30 {
        let (_, list) = &boards[i % 3];
        alice.card(list, &format!("card {i}")).await;
    }
    let mut expected = Vec::new();
    for (n, (board, _)) in boards.iter().enumerate() {
        let ids: Vec<String> = board_actions(&alice, board).await.split_off(before[n]).iter().map(|a| s(a, "id")).collect();
        expected.push(ids);
    }
    let total: usize = expected.iter().map(Vec::len).sum();
    receiver.wait_for(total, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let posts = receiver.posts();
    assert_eq!(posts.len(), total, "no delivery sent twice");
    for (n, ids) in expected.iter().enumerate() {
        let path = format!("/node/{n}");
        let got: Vec<String> = posts.iter().filter(|p| p.target == path).map(|p| s(&p.json()["action"], "id")).collect();
        assert_eq!(&got, ids, "webhook {n}: each action once, in order");
    }
    assert!(posts.iter().all(|p| signed(&secret, p, &receiver.url(&p.target))));
    node.stop().await;
});
