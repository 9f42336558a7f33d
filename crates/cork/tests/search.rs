//! Search: words, phrases, negation, prefixes and every operator, over the full-text
//! index of each backend, never showing what the searcher may not read.

mod common;

use serde_json::{json, Value};

use common::{s, Client, Server};

fn names(result: &Value, model: &str) -> Vec<String> {
    let mut names: Vec<String> = result[model].as_array().unwrap_or(&Vec::new()).iter().map(|c| s(c, "name")).collect();
    names.sort();
    names
}

async fn search(client: &Client, query: &str) -> Value {
    let encoded: String = query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    client.get(&format!("/1/search?query={encoded}&modelTypes=cards&cards_limit=100")).await.ok()
}

both_backends!(search_finds_what_the_member_may_read, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let board = alice.board("Ops").await;
    let board_id = s(&board, "id");
    alice.put(&format!("/1/boards/{board_id}/members/{}", carol.id), json!({"type": "normal"})).await.ok();
    let todo = alice.list(&board_id, "Todo").await;
    let done = alice.list(&board_id, "Done").await;
    let urgent = alice.post("/1/labels", json!({"idBoard": board_id, "name": "urgent", "color": "red"})).await.ok();
    // Due in 20 hours, sent as epoch milliseconds (one of the forms clients use).
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let tomorrow = (now_ms + 20 * 3600 * 1000).to_string();
    let fix = alice
        .post(
            "/1/cards",
            json!({"name": "Fix login page", "desc": "users cannot sign in", "idList": s(&todo, "id"), "idLabels": s(&urgent, "id"), "idMembers": alice.id, "due": tomorrow}),
        )
        .await
        .ok();
    let docs = alice.card(&s(&done, "id"), "Write docs").await;
    alice.post(&format!("/1/cards/{}/actions/comments", s(&docs, "id")), json!({"text": "remember the login flow"})).await.ok();
    let old = alice.card(&s(&todo, "id"), "Old login task").await;
    alice.put(&format!("/1/cards/{}", s(&old, "id")), json!({"closed": true})).await.ok();
    let deploy = alice.card(&s(&todo, "id"), "Release").await;
    let checklist = alice.post(&format!("/1/cards/{}/checklists", s(&deploy, "id")), json!({"name": "Steps"})).await.ok();
    alice.post(&format!("/1/checklists/{}/checkItems", s(&checklist, "id")), json!({"name": "deploy staging"})).await.ok();
    // Bob's private board holds a matching card alice must never see.
    let secret = bob.board("Secret").await;
    let secret_list = bob.list(&s(&secret, "id"), "Hidden").await;
    bob.card(&s(&secret_list, "id"), "Fix login secret").await;

    // Words match names, descriptions, comments and checklists; every word must match.
    assert_eq!(names(&search(&alice, "login").await, "cards"), vec!["Fix login page", "Write docs"]);
    assert_eq!(names(&search(&alice, "login sign").await, "cards"), vec!["Fix login page"]);
    assert_eq!(names(&search(&alice, "staging").await, "cards"), vec!["Release"]);
    assert_eq!(names(&search(&bob, "login").await, "cards"), vec!["Fix login secret"]);
    // Phrases, negation, prefixes.
    assert_eq!(names(&search(&alice, "\"login page\"").await, "cards"), vec!["Fix login page"]);
    assert_eq!(names(&search(&alice, "login -page").await, "cards"), vec!["Write docs"]);
    let partial = alice.get("/1/search?query=logi&partial=true&modelTypes=cards").await.ok();
    assert_eq!(names(&partial, "cards"), vec!["Fix login page", "Write docs"]);
    assert!(names(&search(&alice, "logi").await, "cards").is_empty(), "without partial a word matches whole");
    // Operators.
    assert_eq!(names(&search(&alice, "board:Ops list:Done").await, "cards"), vec!["Write docs"]);
    assert_eq!(names(&search(&alice, "label:urgent").await, "cards"), vec!["Fix login page"]);
    assert_eq!(names(&search(&alice, "#red").await, "cards"), vec!["Fix login page"]);
    assert_eq!(names(&search(&alice, "@alice").await, "cards"), vec!["Fix login page"]);
    assert_eq!(names(&search(&alice, "member:me").await, "cards"), vec!["Fix login page"]);
    assert_eq!(names(&search(&alice, "due:day").await, "cards"), vec!["Fix login page"]);
    assert_eq!(names(&search(&alice, "due:overdue").await, "cards"), Vec::<String>::new());
    assert_eq!(names(&search(&alice, "is:archived").await, "cards"), vec!["Old login task"]);
    assert_eq!(names(&search(&alice, "login is:archived").await, "cards"), vec!["Old login task"]);
    assert_eq!(names(&search(&alice, "has:members").await, "cards"), vec!["Fix login page"]);
    assert_eq!(names(&search(&alice, "has:description").await, "cards"), vec!["Fix login page"]);
    assert_eq!(names(&search(&alice, "name:Fix").await, "cards"), vec!["Fix login page"]);
    assert_eq!(names(&search(&alice, "description:sign").await, "cards"), vec!["Fix login page"]);
    assert_eq!(names(&search(&alice, "checklist:staging").await, "cards"), vec!["Release"]);
    assert_eq!(names(&search(&alice, "comment:flow").await, "cards"), vec!["Write docs"]);
    assert_eq!(names(&search(&alice, "-label:urgent board:Ops").await, "cards"), vec!["Release", "Write docs"]);
    assert_eq!(names(&search(&alice, "created:day board:Ops").await, "cards"), vec!["Fix login page", "Release", "Write docs"]);
    let sorted = search(&alice, "board:Ops sort:created").await;
    let order: Vec<String> = sorted["cards"].as_array().unwrap().iter().map(|c| s(c, "name")).collect();
    assert_eq!(order, vec!["Release", "Write docs", "Fix login page"], "newest first");
    // The options echo what was understood.
    let understood = search(&alice, "login board:Ops").await;
    assert_eq!(understood["options"]["terms"], json!([{"text": "login"}]));
    assert_eq!(understood["options"]["modifiers"], json!([{"text": "board:Ops"}]));

    // A card edit is searchable at once, in the same transaction as the change.
    alice.put(&format!("/1/cards/{}", s(&fix, "id")), json!({"name": "Repair sign-in page"})).await.ok();
    assert_eq!(names(&search(&alice, "repair").await, "cards"), vec!["Repair sign-in page"]);
    assert!(names(&search(&alice, "fix").await, "cards").is_empty());
    alice.delete(&format!("/1/cards/{}", s(&docs, "id"))).await.ok();
    assert!(names(&search(&alice, "flow").await, "cards").is_empty(), "a deleted card's comments leave the index");

    // Boards, members and workspaces.
    let all = alice.get("/1/search?query=Ops").await.ok();
    assert_eq!(names(&all, "boards"), vec!["Ops"]);
    assert!(names(&bob.get("/1/search?query=Ops").await.ok(), "boards").is_empty());
    let scoped = alice.get(&format!("/1/search?query=login&idBoards={}&modelTypes=cards", s(&secret, "id"))).await.ok();
    assert!(names(&scoped, "cards").is_empty(), "naming a board one cannot read shows nothing of it");
    let members = alice.get("/1/search/members?query=car").await.ok();
    assert_eq!(members.as_array().unwrap().iter().map(|m| s(m, "username")).collect::<Vec<_>>(), vec!["carol"]);
    assert!(members[0]["similarity"].is_number());
    assert!(alice.get("/1/search/members?query=bob").await.ok().as_array().unwrap().is_empty(), "bob shares nothing with alice");
});

both_backends!(search_refuses_bad_input, |server: Server| async move {
    let alice = server.user("alice").await;
    alice.get("/1/search").await.err(400, "invalid value for query");
    alice.get("/1/search?query=").await.err(400, "invalid value for query");
    alice.get("/1/search?query=x&modelTypes=spaceships").await.err(400, "invalid value for modelTypes");
    alice.get("/1/search?query=x&cards_limit=5000").await.err(400, "invalid value for cards_limit");
    alice.get("/1/search/members?query=x&limit=50").await.err(400, "invalid value for limit");
    server.anonymous().get("/1/search?query=x").await.err(401, "unauthorized permission requested");
    // Query syntax that means nothing to the engines is taken as words, never an error.
    for odd in ["\"", "-", "AND OR NOT", "*", "a:b:c", "\"unterminated", "NEAR(x y)", "'", "--"] {
        let encoded: String = odd.bytes().map(|b| format!("%{b:02X}")).collect();
        let response = alice.get(&format!("/1/search?query={encoded}")).await;
        assert_eq!(response.status, 200, "{odd}: {}", response.text);
    }
    // Day counts past what a date can hold once panicked the handler and closed the
    // connection: now they are answered, taking in every date (or none when negative).
    let board = s(&alice.board("Dates").await, "id");
    let list = s(&alice.list(&board, "Now").await, "id");
    alice.card(&list, "recent").await;
    for operator in ["edited", "created", "due"] {
        for days in ["99999999999", "9223372036854775807", "-99999999999"] {
            let response = alice.get(&format!("/1/search?query={operator}:{days}&modelTypes=cards")).await;
            assert_eq!(response.status, 200, "{operator}:{days}: {}", response.text);
        }
    }
    let found = alice.get("/1/search?query=edited:99999999999&modelTypes=cards").await.ok();
    assert_eq!(found["cards"].as_array().unwrap().len(), 1, "every date is within");
});
