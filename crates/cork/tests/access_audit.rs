//! Bad credentials get Trello's clear 401s, change nothing and land in the access audit;
//! 429s are audited too; per-board tokens reach only their boards; `cork token create
//! --board/--org` and `cork audit` work from the command line.

mod common;

use std::time::Duration;

use common::{s, Client, Server};
use cork_api::ApiConfig;
use serde_json::{json, Value};

/// An administrator's client (the audit is for Cork administrators).
async fn admin(server: &Server) -> Client {
    let root = server.user("root").await;
    let member = server.cork.member_by_username("root").await.expect("root");
    server.cork.set_instance_admin(&member, true).await.expect("make admin");
    root
}

/// Polls the audit until `done` holds (events are written off the request path).
async fn audit_until(root: &Client, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..100 {
        let events = root.get("/cork/audit?limit=1000").await.ok();
        let events = events.as_array().cloned().unwrap_or_default();
        if done(&events) {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the audit never showed the expected events");
}

/// A raw POST /1/cards with an Authorization header and/or query credentials.
async fn post_card(server: &Server, authorization: Option<&str>, query: &str, list: &str) -> (u16, String) {
    let mut request =
        reqwest::Client::new().post(format!("{}/1/cards?{query}", server.base)).json(&json!({"name": "intruder", "idList": list}));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

both_backends!(bad_credentials_get_clear_401s_change_nothing_and_are_audited, |server: Server| async move {
    let root = admin(&server).await;
    let ann = server.user("ann").await;
    let key = ann.key.clone().unwrap();
    let board = ann.board("Plans").await;
    let list = s(&ann.list(&s(&board, "id"), "Todo").await, "id");
    let member = server.cork.member_by_username("ann").await.unwrap();
    // An expired token and a revoked one, both of ann's key.
    let scopes = vec!["read".to_string(), "write".to_string()];
    let expired = server
        .cork
        .issue(
            &member,
            cork_core::accounts::TokenGrant {
                app: "tests".into(),
                scopes: scopes.clone(),
                expires: cork_core::accounts::expiration("1hour").unwrap().map(|d| -d),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let revoked = server.cork.issue_token(&member, "tests", &scopes, None).await.unwrap();
    for token in [&expired.token, &revoked.token] {
        common::secret("token", token);
    }
    common::secret("app-secret", &expired.secret);
    let revoking = reqwest::Client::new()
        .delete(format!("{}/1/tokens/{}?key={key}&token={}", server.base, revoked.token, revoked.token))
        .send()
        .await
        .unwrap();
    assert_eq!(revoking.status().as_u16(), 200);
    let huge = format!("OAuth oauth_consumer_key=\"{}\", oauth_token=\"x\"", "a".repeat(60_000));
    let unknown_key = "0123456789abcdef0123456789abcdef";
    let unterminated = format!("OAuth oauth_consumer_key=\"{key}\", oauth_token=\"abc");
    let attempts: Vec<(&str, Option<String>, String, &str)> = vec![
        ("OAuth header with garbage", Some("OAuth garbage".into()), String::new(), "unauthorized card permission requested"),
        ("Bearer header", Some("Bearer x".into()), String::new(), "unauthorized card permission requested"),
        ("unterminated quotes", Some(unterminated), String::new(), "invalid token"),
        ("huge header", Some(huge), String::new(), "invalid key"),
        ("token of the wrong length", None, format!("key={key}&token=abc123"), "invalid token"),
        ("unknown key", None, format!("key={unknown_key}&token={}", ann.token.clone().unwrap()), "invalid key"),
        ("token without a key", None, format!("token={}", ann.token.clone().unwrap()), "invalid app key"),
        ("expired token", None, format!("key={key}&token={}", expired.token), "invalid token"),
        ("revoked token", None, format!("key={key}&token={}", revoked.token), "invalid token"),
    ];
    for (what, authorization, query, expected) in &attempts {
        let (status, text) = post_card(&server, authorization.as_deref(), query, &list).await;
        assert_eq!((status, text.as_str()), (401, *expected), "{what}");
    }
    assert_eq!(ann.get(&format!("/1/lists/{list}/cards")).await.ok(), json!([]), "nothing was created");
    // The audit: one row per refusal, a revoked token recognised as such, issuance recorded.
    let events = audit_until(&root, |events| {
        events.iter().filter(|e| e["path"] == json!("/1/cards") && e["status"] == json!(401)).count() >= attempts.len()
    })
    .await;
    let refusals: Vec<&Value> = events.iter().filter(|e| e["path"] == json!("/1/cards")).collect();
    assert_eq!(refusals.len(), attempts.len(), "{refusals:#?}");
    for event in &refusals {
        assert_eq!(event["method"], json!("POST"));
        assert_eq!(event["remote"], json!("127.0.0.1"));
        assert!(event["date"].is_string() && event["message"].is_string());
    }
    let revoked_use = refusals.iter().find(|e| e["kind"] == json!("token.revoked_use")).expect("a revoked-token event");
    assert_eq!(revoked_use["idToken"], json!(revoked.id_token));
    assert_eq!(revoked_use["idMember"], json!(member.id));
    assert_eq!(revoked_use["message"], json!("invalid token"));
    let expired_use = refusals.iter().find(|e| e["tokenProblem"] == json!("expired")).expect("an expired-token event");
    assert_eq!(expired_use["idToken"], json!(expired.id_token));
    assert_eq!(refusals.iter().filter(|e| e["tokenProblem"] == json!("unknown")).count(), 2, "wrong length and unterminated");
    let issued: Vec<&Value> = events.iter().filter(|e| e["kind"] == json!("token.issued")).collect();
    assert!(issued.iter().any(|e| e["idToken"] == json!(revoked.id_token) && e["idMember"] == json!(member.id)));
    // Never a secret: no token value, no query string.
    let text = serde_json::to_string(&events).unwrap();
    for secret in [ann.token.as_deref().unwrap(), &expired.token, &revoked.token, &expired.secret] {
        assert!(!text.contains(secret), "a secret is in the audit");
    }
    assert!(!text.contains("token="), "no query strings in the audit");
    assert!(!text.contains(&"a".repeat(100)), "a malformed key is not recorded");
    // Others may not read it.
    ann.get("/cork/audit").await.err(401, "unauthorized permission requested");
    server.anonymous().get("/cork/audit").await.err(401, "unauthorized permission requested");
});

/// Every audit event after `since`, paging forward by id.
async fn all_events(root: &Client) -> Vec<Value> {
    let mut events: Vec<Value> = Vec::new();
    loop {
        let since = events.last().map(|e| s(e, "id")).unwrap_or_else(|| "2000-01-01".into());
        let page = root.get(&format!("/cork/audit?limit=1000&since={since}")).await.ok();
        let page = page.as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            return events;
        }
        events.extend(page);
    }
}

// A flood of refused requests is written in batches off the request path; every refusal
// is either a row or counted in an `audit.dropped` row, never silently lost.
both_backends!(a_flood_of_refusals_is_accounted_for, |server: Server| async move {
    let root = admin(&server).await;
    let ann = server.user("ann").await;
    let flood = 2000usize;
    let forged = Client { token: Some("f".repeat(64)), ..ann.clone() };
    let mut tasks = Vec::new();
    for _ in 0..flood {
        let forged = forged.clone();
        tasks.push(tokio::spawn(async move { forged.get("/1/members/me/boards").await }));
    }
    for task in tasks {
        let resp = task.await.unwrap();
        resp.err(401, "invalid token");
    }
    let mut accounted = 0;
    for _ in 0..100 {
        let events = all_events(&root).await;
        let rows = events.iter().filter(|e| e["path"] == json!("/1/members/me/boards") && e["status"] == json!(401)).count();
        let dropped: u64 = events.iter().filter(|e| e["kind"] == json!("audit.dropped")).map(|e| e["count"].as_u64().unwrap()).sum();
        accounted = rows + dropped as usize;
        if accounted >= flood {
            println!("flood of {flood} refusals: {rows} rows, {dropped} counted as dropped");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(accounted, flood);
    // The server still answers its members at once.
    ann.get("/1/members/me").await.ok();
});

both_backends!(
    rate_limited_requests_are_audited,
    config = |c: &mut ApiConfig| {
        c.rate_limits.enabled = true;
        c.rate_limits.token_max = 3;
    },
    |server: Server| async move {
        let root = admin(&server).await;
        let ann = server.user("ann").await;
        for _ in 0..3 {
            ann.get("/1/members/me/boards").await.ok();
        }
        let refused = ann.get("/1/members/me/boards?fields=name").await;
        assert_eq!(refused.status, 429);
        let events = audit_until(&root, |events| events.iter().any(|e| e["kind"] == json!("http.429"))).await;
        let event = events.iter().find(|e| e["kind"] == json!("http.429")).unwrap();
        assert_eq!(event["path"], json!("/1/members/me/boards"));
        assert_eq!(event["message"], json!("API_TOKEN_LIMIT_EXCEEDED"));
        assert_eq!(event["key"], json!(ann.key.clone().unwrap()));
        assert!(!serde_json::to_string(&events).unwrap().contains(ann.token.as_deref().unwrap()));
    }
);

both_backends!(per_board_tokens_reach_only_their_boards, |server: Server| async move {
    let ann = server.user("ann").await;
    let bob = server.user("bob").await;
    let org = ann.post("/1/organizations", json!({"displayName": "Team"})).await.ok();
    let read_board = ann.board("Readable").await;
    let hidden = ann.board("Hidden").await;
    let team_board = ann.post("/1/boards", json!({"name": "Team board", "idOrganization": org["id"], "defaultLists": false})).await.ok();
    let mut lists = Vec::new();
    for board in [&read_board, &hidden, &team_board] {
        let list = ann.list(&s(board, "id"), "Todo").await;
        ann.card(&s(&list, "id"), &format!("needle on {}", s(board, "name"))).await;
        lists.push(s(&list, "id"));
    }
    // A notification about the hidden board: bob adds ann to a card there.
    ann.put(&format!("/1/boards/{}/members/{}", s(&hidden, "id"), bob.id), json!({"type": "normal"})).await.ok();
    let hidden_card = ann.card(&lists[1], "ping").await;
    bob.post(&format!("/1/cards/{}/idMembers", s(&hidden_card, "id")), json!({"value": ann.id})).await.ok();
    assert_eq!(ann.get("/1/members/me/notifications").await.ok().as_array().unwrap().len(), 1);
    let member = server.cork.member_by_username("ann").await.unwrap();
    let permission = |id: &Value, model_type: &str, write: bool| cork_core::model::TokenPermission {
        id_model: id.as_str().unwrap().to_string(),
        model_type: model_type.into(),
        read: true,
        write,
    };
    let grant = cork_core::accounts::TokenGrant {
        app: "narrow".into(),
        scopes: vec!["read".into(), "write".into(), "account".into()],
        models: vec![permission(&read_board["id"], "Board", false), permission(&org["id"], "Organization", true)],
        ..Default::default()
    };
    let issued = server.cork.issue(&member, grant).await.unwrap();
    let narrow = Client { key: Some(issued.key.clone()), token: Some(issued.token.clone()), ..ann.clone() };
    // The token shows its narrowed permissions.
    let token = narrow.get(&format!("/1/tokens/{}", issued.token)).await.ok();
    assert_eq!(
        token["permissions"],
        json!([
            {"idModel": read_board["id"], "modelType": "Board", "read": true, "write": false},
            {"idModel": org["id"], "modelType": "Organization", "read": true, "write": true},
            {"idModel": ann.id, "modelType": "Member", "read": true, "write": true},
        ])
    );
    // It sees the read-only board and the workspace's board, nothing else.
    let boards = narrow.get("/1/members/me/boards").await.ok();
    let mut names: Vec<&str> = boards.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Readable", "Team board"]);
    narrow.get(&format!("/1/boards/{}", s(&hidden, "id"))).await.err(401, "unauthorized permission requested");
    narrow.get(&format!("/1/lists/{}/cards", lists[1])).await.err(401, "unauthorized permission requested");
    let orgs = narrow.get("/1/members/me/organizations").await.ok();
    assert_eq!(orgs.as_array().unwrap().len(), 1);
    let found = narrow.get("/1/search?query=needle&modelTypes=cards,boards").await.ok();
    let mut cards: Vec<&str> = found["cards"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    cards.sort();
    assert_eq!(cards, ["needle on Readable", "needle on Team board"]);
    assert!(
        narrow.get("/1/members/me/notifications").await.ok().as_array().unwrap().is_empty(),
        "the hidden board's notification is hidden"
    );
    assert!(narrow.get("/1/members/me/cards").await.ok().as_array().unwrap().iter().all(|c| c["idBoard"] != hidden["id"]));
    // Read-only on its board, read-write on the workspace's boards.
    narrow.post("/1/cards", json!({"name": "no", "idList": lists[0]})).await.err(401, "unauthorized card permission requested");
    narrow.post("/1/cards", json!({"name": "yes", "idList": lists[2]})).await.ok();
    narrow.post("/1/cards", json!({"name": "no", "idList": lists[1]})).await.err(401, "unauthorized card permission requested");
    // A batch reaches no further than its token.
    let batch = narrow.get(&format!("/1/batch?urls=/boards/{},/boards/{}", s(&read_board, "id"), s(&hidden, "id"))).await.ok();
    assert!(batch[0].get("200").is_some() && batch[1].get("200").is_none(), "{batch}");
    // It manages only itself: the member's other tokens are beyond it.
    narrow.get("/1/members/me/tokens").await.err(401, "unauthorized permission requested");
    narrow.delete(&format!("/1/tokens/{}", ann.token.clone().unwrap())).await.err(401, "unauthorized permission requested");
    ann.get("/1/members/me").await.ok();
});

/// `cork token create --board/--org` narrows the token; `cork audit` prints the issuance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_creates_per_board_tokens_and_prints_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let cork = |args: &[&str]| {
        let output =
            std::process::Command::new(env!("CARGO_BIN_EXE_cork")).args(args).arg("--data-dir").arg(dir.path()).output().expect("run cork");
        assert!(output.status.success(), "cork {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        common::keep_log("cli", &output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        // `cork token create` prints the token and its app's secret.
        if let Ok(issued) = serde_json::from_str::<Value>(&stdout) {
            common::secrets_in_answer(&Default::default(), &issued.to_string());
        }
        stdout
    };
    cork(&["user", "create", "ann"]);
    let board = "5f0000000000000000000001";
    let org = "5f0000000000000000000002";
    let issued: Value =
        serde_json::from_str(&cork(&["token", "create", "--user", "ann", "--board", &format!("{board}:read"), "--org", org])).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cork"))
        .args(["token", "create", "--user", "ann", "--board", "nonsense:admin"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success(), "a bad --board is refused");
    let lines = cork(&["audit", "--limit", "10"]);
    let all: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // The member and the key the token needed are audited too; one token was issued.
    let kinds: Vec<&str> = all.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"member.created") && kinds.contains(&"appKey.created"), "{lines}");
    let events: Vec<&Value> = all.iter().filter(|e| e["kind"] == json!("token.issued")).collect();
    assert_eq!(events.len(), 1, "{lines}");
    assert_eq!(events[0]["idToken"], issued["idToken"]);
    assert_eq!(
        events[0]["permissions"],
        json!([
            {"idModel": board, "modelType": "Board", "read": true, "write": false},
            {"idModel": org, "modelType": "Organization", "read": true, "write": true},
            {"idModel": issued["idMember"], "modelType": "Member", "read": true, "write": true},
        ])
    );
    assert!(!lines.contains(issued["token"].as_str().unwrap()), "no secret in the audit");
    assert_eq!(cork(&["audit", "--since", "2999-01-01"]).trim(), "");
}
