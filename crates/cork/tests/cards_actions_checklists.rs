//! Cards, the action log, comments, checklists and attachments, as Trello clients
//! use them: create with every parameter, read, update, move (within a list, across
//! lists, across boards), archive, delete; labels and members on cards; comments;
//! paging through actions; checklists and check items; link attachments.

mod common;

use serde_json::{json, Value};

use common::{s, Body, Client, Server};

/// Every action on a board (newest first).
async fn board_actions(client: &Client, board: &str) -> Vec<Value> {
    client.get(&format!("/1/boards/{board}/actions?limit=1000")).await.ok().as_array().expect("actions array").clone()
}

/// The types of a list of actions, in order.
fn types(actions: &[Value]) -> Vec<String> {
    actions.iter().map(|a| s(a, "type")).collect()
}

/// The ids of a JSON array of objects.
fn ids(values: &Value) -> Vec<String> {
    values.as_array().expect("array").iter().map(|v| s(v, "id")).collect()
}

/// `2019-09-16T16:19:17.156Z`: UTC, milliseconds, `Z`.
fn assert_trello_date(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("not a date string: {value}"));
    let bytes = text.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
    assert!(
        bytes.len() == 24
            && digits.iter().all(|&i| bytes[i].is_ascii_digit())
            && &text[4..5] == "-"
            && &text[10..11] == "T"
            && &text[19..20] == "."
            && text.ends_with('Z'),
        "not a Trello date: {text}"
    );
}

/// The parts of Trello's card shape that typed clients (Zod, Go structs) insist on.
fn assert_card_shape(card: &Value, base: &str) {
    for key in ["id", "name", "desc", "idBoard", "idList", "shortLink", "shortUrl", "url"] {
        assert!(card[key].is_string(), "{key} is not a string in {card}");
    }
    for key in ["closed", "dueComplete", "subscribed"] {
        assert!(card[key].is_boolean(), "{key} is not a boolean in {card}");
    }
    for key in ["idMembers", "idLabels", "labels", "idChecklists", "idMembersVoted", "checkItemStates"] {
        assert!(card[key].is_array(), "{key} is not an array in {card}");
    }
    assert!(card["idShort"].is_u64(), "idShort is not a number: {card}");
    assert!(card["pos"].is_number(), "pos is not a number: {card}");
    for key in ["votes", "checkItems", "checkItemsChecked", "comments", "attachments"] {
        assert!(card["badges"][key].is_u64(), "badges.{key} is not a number: {}", card["badges"]);
    }
    assert!(card["badges"]["description"].is_boolean());
    for key in ["due", "start"] {
        assert!(card[key].is_null() || card[key].is_string(), "{key} must be a date or null: {card}");
    }
    assert_trello_date(&card["dateLastActivity"]);
    let short_link = s(card, "shortLink");
    assert!(short_link.len() == 8 && short_link.chars().all(|c| c.is_ascii_alphanumeric()), "shortLink {short_link}");
    assert_eq!(s(card, "shortUrl"), format!("{base}/c/{short_link}"));
    assert!(s(card, "url").starts_with(&format!("{base}/c/{short_link}/{}-", card["idShort"])), "url {}", card["url"]);
    assert_eq!(card["labels"].as_array().unwrap().len(), card["idLabels"].as_array().unwrap().len());
}

/// A board with one list, owned by the client; returns (board id, list id).
async fn board_with_list(client: &Client, name: &str) -> (String, String) {
    let board = client.board(name).await;
    let list = client.list(&s(&board, "id"), "To Do").await;
    (s(&board, "id"), s(&list, "id"))
}

async fn add_to_board(admin: &Client, board: &str, member: &Client) {
    admin.put(&format!("/1/boards/{board}/members/{}", member.id), json!({"type": "normal"})).await.ok();
}

both_backends!(a_card_created_with_every_parameter_has_trellos_shape, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let (board, list) = board_with_list(&alice, "Launch").await;
    add_to_board(&alice, &board, &bob).await;
    let red = alice.post("/1/labels", json!({"idBoard": board, "name": "urgent", "color": "red"})).await.ok();
    let blue = alice.post("/1/labels", json!({"idBoard": board, "name": "backend", "color": "blue"})).await.ok();

    // Alice files a card with everything a client can send on create.
    let card = alice
        .post(
            "/1/cards",
            json!({
                "idList": list,
                "name": "Ship the release",
                "desc": "Tag, build, publish",
                "pos": "bottom",
                "due": "2030-01-02T05:04:05+02:00",
                "start": "2030-01-01",
                "dueComplete": "true",
                "idLabels": format!("{},{}", s(&red, "id"), s(&blue, "id")),
                "idMembers": bob.id,
                "urlSource": "https://example.test/release-notes",
            }),
        )
        .await
        .ok();
    assert_card_shape(&card, &server.base);
    assert_eq!(s(&card, "name"), "Ship the release");
    assert_eq!(s(&card, "desc"), "Tag, build, publish");
    assert_eq!(s(&card, "idList"), list);
    assert_eq!(s(&card, "idBoard"), board);
    assert_eq!(card["due"], "2030-01-02T03:04:05.000Z", "due is normalised to UTC with milliseconds");
    assert_eq!(card["start"], "2030-01-01T00:00:00.000Z");
    assert_eq!(card["dueComplete"], true);
    assert_eq!(card["idMembers"], json!([bob.id]));
    assert_eq!(card["idLabels"], json!([s(&red, "id"), s(&blue, "id")]));
    assert_eq!(card["labels"][0]["name"], "urgent");
    assert_eq!(card["labels"][0]["color"], "red");
    assert_eq!(card["labels"][1]["name"], "backend");
    assert_eq!(card["labels"][1]["idBoard"], board.as_str());
    assert_eq!(card["badges"]["attachments"], 1, "urlSource attaches the link");
    assert_eq!(card["badges"]["description"], true);
    assert_eq!(card["badges"]["due"], card["due"]);
    assert_eq!(card["idShort"], 1);
    assert!(s(&card, "url").ends_with("/1-ship-the-release"), "url {}", card["url"]);
    let attachments = alice.get(&format!("/1/cards/{}/attachments", s(&card, "id"))).await.ok();
    assert_eq!(attachments[0]["url"], "https://example.test/release-notes");

    // Positions: top lands before, a number lands where it says, bottom after; idShort keeps counting.
    let top = alice.post("/1/cards", json!({"idList": list, "name": "First", "pos": "top"})).await.ok();
    let middle = alice.post("/1/cards", json!({"idList": list, "name": "Middle", "pos": "12345.5"})).await.ok();
    let bottom = alice.post("/1/cards", json!({"idList": list, "name": "Last", "pos": "bottom"})).await.ok();
    assert!(top["pos"].as_f64().unwrap() < card["pos"].as_f64().unwrap());
    assert_eq!(middle["pos"], 12345.5);
    assert!(bottom["pos"].as_f64().unwrap() > card["pos"].as_f64().unwrap());
    assert_eq!([&top["idShort"], &middle["idShort"], &bottom["idShort"]], [&json!(2), &json!(3), &json!(4)]);
    let in_list = alice.get(&format!("/1/lists/{list}/cards")).await.ok();
    let order: Vec<String> = in_list.as_array().unwrap().iter().map(|c| s(c, "name")).collect();
    let mut expected = [
        ("First", top["pos"].as_f64().unwrap()),
        ("Middle", 12345.5),
        ("Ship the release", card["pos"].as_f64().unwrap()),
        ("Last", bottom["pos"].as_f64().unwrap()),
    ];
    expected.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(order, expected.iter().map(|e| e.0.to_string()).collect::<Vec<_>>());
    assert_eq!(order.first().map(String::as_str), Some("First"));
    assert_eq!(order.last().map(String::as_str), Some("Last"));

    // Reading by id and by shortLink gives the same card.
    let by_id = alice.get(&format!("/1/cards/{}", s(&card, "id"))).await.ok();
    let by_short_link = alice.get(&format!("/1/cards/{}", s(&card, "shortLink"))).await.ok();
    assert_eq!(by_id, by_short_link);
    assert_eq!(by_id["id"], card["id"]);
    assert_card_shape(&by_id, &server.base);

    // The board log has one createCard per card, newest first, pointing at board, list and card.
    let actions = board_actions(&alice, &board).await;
    let creates: Vec<&Value> = actions.iter().filter(|a| a["type"] == "createCard").collect();
    assert_eq!(creates.len(), 4);
    assert_eq!(creates[0]["data"]["card"]["id"], bottom["id"]);
    assert_eq!(creates[3]["data"]["card"]["id"], card["id"]);
    assert_eq!(creates[3]["data"]["list"]["id"], list.as_str());
    assert_eq!(creates[3]["data"]["board"]["id"], board.as_str());
    assert_eq!(creates[3]["data"]["card"]["idShort"], 1);
});

both_backends!(copying_a_card_keeps_what_keep_from_source_names, |server: Server| async move {
    let alice = server.user("alice").await;
    let (board, list) = board_with_list(&alice, "Copies").await;
    let label = alice.post("/1/labels", json!({"idBoard": board, "name": "hot", "color": "orange"})).await.ok();
    let source = alice.post("/1/cards", json!({"idList": list, "name": "Template", "desc": "steps", "due": "2031-05-05T10:00:00.000Z", "idLabels": s(&label, "id"), "idMembers": alice.id})).await.ok();
    let source_id = s(&source, "id");
    let checklist = alice.post(&format!("/1/cards/{source_id}/checklists"), json!({"name": "Steps"})).await.ok();
    alice.post(&format!("/1/checklists/{}/checkItems", s(&checklist, "id")), json!({"name": "one", "checked": true})).await.ok();
    alice.post(&format!("/1/checklists/{}/checkItems", s(&checklist, "id")), json!({"name": "two"})).await.ok();

    // keepFromSource=checklists,due: the copy gets the checklist and the due date, not the labels or members.
    let partial = alice.post("/1/cards", json!({"idList": list, "idCardSource": source_id, "keepFromSource": "checklists,due"})).await.ok();
    assert_ne!(partial["id"], source["id"]);
    assert_eq!(partial["name"], "Template", "the name comes from the source when none is given");
    assert_eq!(partial["desc"], "steps");
    assert_eq!(partial["due"], "2031-05-05T10:00:00.000Z");
    assert_eq!(partial["idChecklists"].as_array().unwrap().len(), 1);
    assert_ne!(partial["idChecklists"][0], checklist["id"], "the checklist is copied, not shared");
    assert_eq!(partial["badges"]["checkItems"], 2);
    assert_eq!(partial["badges"]["checkItemsChecked"], 1);
    assert_eq!(partial["idLabels"], json!([]));
    assert_eq!(partial["idMembers"], json!([]));

    // Without keepFromSource everything comes along; a name given wins.
    let full = alice.post("/1/cards", json!({"idList": list, "idCardSource": source_id, "name": "Copy of Template"})).await.ok();
    assert_eq!(full["name"], "Copy of Template");
    assert_eq!(full["idLabels"], json!([s(&label, "id")]));
    assert_eq!(full["labels"][0]["name"], "hot");
    assert_eq!(full["idMembers"], json!([alice.id]));
    assert_eq!(full["badges"]["checkItems"], 2);
    assert!(full["idShort"].as_u64() > partial["idShort"].as_u64());

    // The source is untouched, and each copy is logged as copyCard naming its source.
    let after = alice.get(&format!("/1/cards/{source_id}")).await.ok();
    assert_eq!(after["idChecklists"], json!([s(&checklist, "id")]));
    let copies: Vec<Value> = board_actions(&alice, &board).await.into_iter().filter(|a| a["type"] == "copyCard").collect();
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[0]["data"]["card"]["id"], full["id"]);
    assert_eq!(copies[0]["data"]["cardSource"]["id"], source_id.as_str());
    assert_eq!(copies[1]["data"]["card"]["id"], partial["id"]);
});

both_backends!(updating_a_card_changes_and_clears_fields, |server: Server| async move {
    let alice = server.user("alice").await;
    let (board, list) = board_with_list(&alice, "Edits").await;
    let card = alice.card(&list, "Draft").await;
    let id = s(&card, "id");
    let path = format!("/1/cards/{id}");

    let renamed = alice.put(&path, json!({"name": "Final", "desc": "Now with words"})).await.ok();
    assert_eq!(renamed["name"], "Final");
    assert_eq!(renamed["desc"], "Now with words");
    assert!(s(&renamed, "url").ends_with(&format!("/{}-final", renamed["idShort"])), "url follows the name: {}", renamed["url"]);
    assert_eq!(renamed["shortUrl"], card["shortUrl"], "shortUrl never changes");
    let update = &board_actions(&alice, &board).await[0];
    assert_eq!(update["type"], "updateCard");
    assert_eq!(update["data"]["old"]["name"], "Draft");
    assert_eq!(update["data"]["card"]["name"], "Final");
    assert_eq!(update["data"]["list"]["id"], list.as_str());

    // Due dates: set, complete, then cleared by JSON null and by the string "null".
    let due = alice.put(&path, json!({"due": "2030-03-04T05:06:07.890Z", "dueComplete": true})).await.ok();
    assert_eq!(due["due"], "2030-03-04T05:06:07.890Z");
    assert_eq!(due["dueComplete"], true);
    assert_eq!(due["badges"]["dueComplete"], true);
    let cleared = alice.put(&path, json!({"due": null})).await.ok();
    assert_eq!(cleared["due"], Value::Null);
    assert_eq!(cleared["badges"]["due"], Value::Null);
    alice.put(&path, json!({"due": "2030-03-04"})).await.ok();
    let cleared = alice.send("PUT", &format!("{path}?due=null"), Body::Form(vec![])).await.ok();
    assert_eq!(cleared["due"], Value::Null);
    let undone = alice.put(&path, json!({"dueComplete": "false"})).await.ok();
    assert_eq!(undone["dueComplete"], false);
    assert_eq!(alice.get(&path).await.ok()["due"], Value::Null);

    // The legacy per-field forms read and write one value.
    assert_eq!(alice.get(&format!("{path}/name")).await.ok(), json!({"_value": "Final"}));
    assert_eq!(alice.get(&format!("{path}/closed")).await.ok(), json!({"_value": false}));
    assert_eq!(alice.put(&format!("{path}/name"), json!({"value": "Renamed by value"})).await.ok()["name"], "Renamed by value");

    // Archive with closed=true (the card leaves the open views), reopen with the legacy form.
    let archived = alice.put(&path, json!({"closed": true})).await.ok();
    assert_eq!(archived["closed"], true);
    assert!(!ids(&alice.get(&format!("/1/lists/{list}/cards")).await.ok()).contains(&id));
    assert!(!ids(&alice.get(&format!("/1/boards/{board}/cards")).await.ok()).contains(&id));
    assert!(ids(&alice.get(&format!("/1/boards/{board}/cards/closed")).await.ok()).contains(&id));
    assert_eq!(alice.get(&path).await.ok()["closed"], true, "an archived card can still be read");
    let reopened = alice.put(&format!("{path}/closed"), json!({"value": false})).await.ok();
    assert_eq!(reopened["closed"], false);
    assert!(ids(&alice.get(&format!("/1/lists/{list}/cards")).await.ok()).contains(&id));
    let log = board_actions(&alice, &board).await;
    assert_eq!(log[0]["data"]["old"]["closed"], true);
    assert_eq!(log[1]["data"]["old"]["closed"], false);
    assert_eq!(log[1]["data"]["card"]["closed"], true);

    // A no-op update changes nothing and logs nothing.
    let before = board_actions(&alice, &board).await.len();
    alice.put(&path, json!({"name": "Renamed by value"})).await.ok();
    assert_eq!(board_actions(&alice, &board).await.len(), before);
});

both_backends!(moving_cards_within_and_across_lists_is_logged, |server: Server| async move {
    let alice = server.user("alice").await;
    let (board, todo) = board_with_list(&alice, "Flow").await;
    let doing = s(&alice.list(&board, "Doing").await, "id");
    let done = s(&alice.list(&board, "Done").await, "id");
    let a = alice.card(&todo, "A").await;
    let b = alice.card(&todo, "B").await;
    let names = |cards: Value| cards.as_array().unwrap().iter().map(|c| s(c, "name")).collect::<Vec<_>>();

    // Within a list: B moves to the top.
    let moved = alice.put(&format!("/1/cards/{}", s(&b, "id")), json!({"pos": "top"})).await.ok();
    assert!(moved["pos"].as_f64().unwrap() < a["pos"].as_f64().unwrap());
    assert_eq!(names(alice.get(&format!("/1/lists/{todo}/cards")).await.ok()), ["B", "A"]);
    let update = &board_actions(&alice, &board).await[0];
    assert_eq!(update["type"], "updateCard");
    assert_eq!(update["data"]["old"]["pos"], b["pos"]);

    // Across lists: idList moves A to Doing, with listBefore/listAfter in the log.
    let moved = alice.put(&format!("/1/cards/{}", s(&a, "id")), json!({"idList": doing})).await.ok();
    assert_eq!(moved["idList"], doing.as_str());
    assert_eq!(moved["idBoard"], board.as_str());
    assert_eq!(names(alice.get(&format!("/1/lists/{todo}/cards")).await.ok()), ["B"]);
    assert_eq!(names(alice.get(&format!("/1/lists/{doing}/cards")).await.ok()), ["A"]);
    let update = &board_actions(&alice, &board).await[0];
    assert_eq!(update["type"], "updateCard");
    assert_eq!(update["data"]["old"]["idList"], todo.as_str());
    assert_eq!(update["data"]["card"]["idList"], doing.as_str());
    assert_eq!(update["data"]["listBefore"], json!({"id": todo, "name": "To Do"}));
    assert_eq!(update["data"]["listAfter"], json!({"id": doing, "name": "Doing"}));

    // The legacy form PUT /cards/{id}/idList with value does the same.
    let moved = alice.put(&format!("/1/cards/{}/idList", s(&a, "id")), json!({"value": done})).await.ok();
    assert_eq!(moved["idList"], done.as_str());
    let update = &board_actions(&alice, &board).await[0];
    assert_eq!(update["data"]["listBefore"]["name"], "Doing");
    assert_eq!(update["data"]["listAfter"]["name"], "Done");

    // The move is in the log of both lists and of the card.
    let doing_log = alice.get(&format!("/1/lists/{doing}/actions")).await.ok();
    assert!(doing_log.as_array().unwrap().iter().any(|a| a["type"] == "updateCard"));
    let card_log = alice.get(&format!("/1/cards/{}/actions?filter=updateCard", s(&a, "id"))).await.ok();
    assert_eq!(card_log.as_array().unwrap().len(), 2);
});

both_backends!(moving_a_card_to_another_board, |server: Server| async move {
    let alice = server.user("alice").await;
    let (home, home_list) = board_with_list(&alice, "Home").await;
    let label = alice.post("/1/labels", json!({"idBoard": home, "name": "mine", "color": "green"})).await.ok();
    let away = s(&alice.board("Away").await, "id");
    // The away board's first open list is "Inbox": a closed list sits before it, "Later" after it.
    let archived = alice.post("/1/lists", json!({"idBoard": away, "name": "Archived", "pos": 1})).await.ok();
    alice.put(&format!("/1/lists/{}", s(&archived, "id")), json!({"closed": true})).await.ok();
    let inbox = alice.post("/1/lists", json!({"idBoard": away, "name": "Inbox", "pos": 100})).await.ok();
    let later = alice.post("/1/lists", json!({"idBoard": away, "name": "Later", "pos": 200})).await.ok();
    alice.card(&s(&inbox, "id"), "Already there").await;

    // idBoard + idList: the card changes board and list, loses its labels, gets a new idShort.
    let card = alice.post("/1/cards", json!({"idList": home_list, "name": "Traveller", "idLabels": s(&label, "id")})).await.ok();
    let moved = alice.put(&format!("/1/cards/{}", s(&card, "id")), json!({"idBoard": away, "idList": s(&later, "id")})).await.ok();
    assert_eq!(moved["idBoard"], away.as_str());
    assert_eq!(moved["idList"], later["id"]);
    assert_eq!(moved["idLabels"], json!([]));
    assert_eq!(moved["labels"], json!([]));
    assert_eq!(moved["idShort"], 2, "numbered after the card already on the away board");
    assert_eq!(moved["shortLink"], card["shortLink"]);
    assert!(ids(&alice.get(&format!("/1/boards/{away}/cards")).await.ok()).contains(&s(&card, "id")));
    assert!(!ids(&alice.get(&format!("/1/boards/{home}/cards")).await.ok()).contains(&s(&card, "id")));
    let from = &board_actions(&alice, &home).await[0];
    assert_eq!(from["type"], "moveCardFromBoard");
    assert_eq!(from["data"]["card"]["id"], card["id"]);
    assert_eq!(from["data"]["board"]["id"], home.as_str());
    assert_eq!(from["data"]["boardTarget"]["id"], away.as_str());
    let to = &board_actions(&alice, &away).await[0];
    assert_eq!(to["type"], "moveCardToBoard");
    assert_eq!(to["data"]["board"]["id"], away.as_str());
    assert_eq!(to["data"]["boardSource"]["id"], home.as_str());
    assert_eq!(to["data"]["list"]["id"], later["id"]);

    // A board alice may not write to is out of reach, and the refusal changes nothing.
    let mallory = server.user("mallory").await;
    let theirs = mallory.board("Theirs").await;
    let their_list = mallory.list(&s(&theirs, "id"), "Loot").await;
    let stay = alice.card(&home_list, "Stays home").await;
    let stay_path = format!("/1/cards/{}", s(&stay, "id"));
    let (before, home_log) = (alice.get(&stay_path).await.ok(), board_actions(&alice, &home).await.len());
    let response = alice.put(&stay_path, json!({"idBoard": s(&theirs, "id"), "idList": s(&their_list, "id")})).await;
    response.err(401, "unauthorized card permission requested");
    assert_eq!(alice.get(&stay_path).await.ok(), before);
    assert_eq!(board_actions(&alice, &home).await.len(), home_log);
    assert!(mallory.get(&format!("/1/lists/{}/cards", s(&their_list, "id"))).await.ok().as_array().unwrap().is_empty());

    // idBoard alone: the card lands in the first open list of the target board.
    let second = alice.post("/1/cards", json!({"idList": home_list, "name": "Second traveller", "idLabels": s(&label, "id")})).await.ok();
    let moved = alice.put(&format!("/1/cards/{}", s(&second, "id")), json!({"idBoard": away})).await.ok();
    assert_eq!(moved["idBoard"], away.as_str());
    assert_eq!(moved["idList"], inbox["id"], "first open list by position");
    assert_eq!(moved["idLabels"], json!([]));
    assert_eq!(board_actions(&alice, &home).await[0]["type"], "moveCardFromBoard");
    assert_eq!(board_actions(&alice, &away).await[0]["type"], "moveCardToBoard");

    // A card read afterwards is the moved card, reachable by its shortLink.
    let read = alice.get(&format!("/1/cards/{}", s(&second, "shortLink"))).await.ok();
    assert_eq!(read["idBoard"], away.as_str());
});

both_backends!(deleting_a_card_is_permanent_and_logged, |server: Server| async move {
    let alice = server.user("alice").await;
    let (board, list) = board_with_list(&alice, "Bin").await;
    let card = alice.card(&list, "Doomed").await;
    let id = s(&card, "id");
    alice.post(&format!("/1/cards/{id}/checklists"), json!({"name": "List"})).await.ok();

    let response = alice.delete(&format!("/1/cards/{id}")).await;
    assert_eq!(response.ok(), json!({"limits": {}}));
    alice.get(&format!("/1/cards/{id}")).await.err(404, "The requested resource was not found.");
    alice.get(&format!("/1/cards/{}", s(&card, "shortLink"))).await.err(404, "The requested resource was not found.");
    assert!(ids(&alice.get(&format!("/1/boards/{board}/cards/all")).await.ok()).is_empty());
    assert!(alice.get(&format!("/1/boards/{board}/checklists")).await.ok().as_array().unwrap().is_empty());
    let log = board_actions(&alice, &board).await;
    assert_eq!(log[0]["type"], "deleteCard");
    assert_eq!(log[0]["data"]["card"]["id"], id.as_str());
    assert_eq!(log[0]["data"]["list"]["id"], list.as_str());
    assert!(log[0]["data"].get("deleted").is_none(), "Cork's undo data stays off the wire");

    // Deleting again is a 404 that logs nothing.
    let before = log.len();
    alice.delete(&format!("/1/cards/{id}")).await.err(404, "The requested resource was not found.");
    assert_eq!(board_actions(&alice, &board).await.len(), before);
    // The next card on the board does not reuse the deleted card's number.
    assert_eq!(alice.card(&list, "Next").await["idShort"], 2);
});

both_backends!(labels_go_on_and_off_cards, |server: Server| async move {
    let alice = server.user("alice").await;
    let (board, list) = board_with_list(&alice, "Labels").await;
    let red = alice.post("/1/labels", json!({"idBoard": board, "name": "bug", "color": "red"})).await.ok();
    let green = alice.post(&format!("/1/boards/{board}/labels"), json!({"name": "ok", "color": "green"})).await.ok();
    let card = alice.card(&list, "Labelled").await;
    let id = s(&card, "id");

    // POST idLabels answers with the card's label ids.
    let answer = alice.post(&format!("/1/cards/{id}/idLabels"), json!({"value": s(&red, "id")})).await.ok();
    assert_eq!(answer, json!([s(&red, "id")]));
    let answer = alice.send("POST", &format!("/1/cards/{id}/idLabels?value={}", s(&green, "id")), Body::Form(vec![])).await.ok();
    assert_eq!(answer, json!([s(&red, "id"), s(&green, "id")]));
    let read = alice.get(&format!("/1/cards/{id}")).await.ok();
    assert_eq!(read["labels"].as_array().unwrap().iter().map(|l| s(l, "name")).collect::<Vec<_>>(), ["bug", "ok"]);
    let log = board_actions(&alice, &board).await;
    assert_eq!(log[0]["type"], "addLabelToCard");
    assert_eq!(log[0]["data"]["label"]["id"], green["id"]);

    // A label of another board, or one already on the card, is refused and changes nothing.
    let other = alice.board("Other").await;
    let foreign = alice.post("/1/labels", json!({"idBoard": s(&other, "id"), "name": "alien", "color": "pink"})).await.ok();
    let count = board_actions(&alice, &board).await.len();
    alice.post(&format!("/1/cards/{id}/idLabels"), json!({"value": s(&foreign, "id")})).await.err(400, "invalid value for value");
    assert_eq!(alice.post(&format!("/1/cards/{id}/idLabels"), json!({"value": s(&red, "id")})).await.status, 400);
    assert_eq!(alice.get(&format!("/1/cards/{id}")).await.ok(), read);
    assert_eq!(board_actions(&alice, &board).await.len(), count);

    // DELETE idLabels/{idLabel} takes one off.
    alice.delete(&format!("/1/cards/{id}/idLabels/{}", s(&red, "id"))).await.ok();
    let read = alice.get(&format!("/1/cards/{id}")).await.ok();
    assert_eq!(read["idLabels"], json!([s(&green, "id")]));
    assert_eq!(board_actions(&alice, &board).await[0]["type"], "removeLabelFromCard");
    alice.delete(&format!("/1/cards/{id}/idLabels/{}", s(&red, "id"))).await.err(404, "The requested resource was not found.");
    assert_eq!(alice.get(&format!("/1/cards/{id}")).await.ok(), read);

    // POST /cards/{id}/labels with name and color makes a board label and puts it on the card.
    let created = alice.post(&format!("/1/cards/{id}/labels"), json!({"name": "new", "color": "blue"})).await.ok();
    assert_eq!(created["name"], "new");
    assert_eq!(created["color"], "blue");
    assert_eq!(created["idBoard"], board.as_str());
    let board_labels = alice.get(&format!("/1/boards/{board}/labels")).await.ok();
    assert!(ids(&board_labels).contains(&s(&created, "id")));
    let read = alice.get(&format!("/1/cards/{id}")).await.ok();
    assert_eq!(read["idLabels"], json!([s(&green, "id"), s(&created, "id")]));
    let log = types(&board_actions(&alice, &board).await);
    assert_eq!(&log[..2], ["addLabelToCard", "createLabel"]);

    // A bad colour creates nothing.
    let count = board_actions(&alice, &board).await.len();
    alice.post(&format!("/1/cards/{id}/labels"), json!({"name": "bad", "color": "plaid"})).await.err(400, "invalid value for color");
    assert_eq!(alice.get(&format!("/1/boards/{board}/labels")).await.ok(), board_labels);
    assert_eq!(alice.get(&format!("/1/cards/{id}")).await.ok(), read);
    assert_eq!(board_actions(&alice, &board).await.len(), count);
});

both_backends!(only_board_members_go_on_cards, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let (board, list) = board_with_list(&alice, "Team").await;
    add_to_board(&alice, &board, &bob).await;
    let card = alice.card(&list, "Pair on it").await;
    let id = s(&card, "id");

    // POST idMembers answers with the card's members.
    let members = alice.post(&format!("/1/cards/{id}/idMembers"), json!({"value": bob.id})).await.ok();
    assert_eq!(ids(&members), [bob.id.as_str()]);
    assert_eq!(members[0]["username"], "bob");
    let members = alice.post(&format!("/1/cards/{id}/idMembers"), json!({"value": alice.id})).await.ok();
    assert_eq!(ids(&members).len(), 2);
    let log = board_actions(&alice, &board).await;
    assert_eq!(log[0]["type"], "addMemberToCard");
    assert_eq!(log[0]["data"]["idMember"], alice.id.as_str());

    // Carol is not on the board: refused, nothing changes.
    let before = alice.get(&format!("/1/cards/{id}")).await.ok();
    alice.post(&format!("/1/cards/{id}/idMembers"), json!({"value": carol.id})).await.err(400, "invalid value for value");
    alice
        .put(&format!("/1/cards/{id}"), json!({"idMembers": format!("{},{}", bob.id, carol.id)}))
        .await
        .err(400, "invalid value for idMembers");
    assert_eq!(alice.get(&format!("/1/cards/{id}")).await.ok(), before);
    assert_eq!(board_actions(&alice, &board).await.len(), log.len());

    // The member's cards follow.
    let bobs = alice.get("/1/members/bob/cards").await.ok();
    assert_eq!(ids(&bobs), [id.as_str()]);
    assert_eq!(ids(&bob.get("/1/members/me/cards").await.ok()), [id.as_str()]);
    assert!(carol.get("/1/members/me/cards").await.ok().as_array().unwrap().is_empty());

    // DELETE takes bob off; his card list empties.
    let left = alice.delete(&format!("/1/cards/{id}/idMembers/{}", bob.id)).await.ok();
    assert_eq!(ids(&left), [alice.id.as_str()]);
    assert_eq!(alice.get(&format!("/1/cards/{id}")).await.ok()["idMembers"], json!([alice.id]));
    assert!(alice.get("/1/members/bob/cards").await.ok().as_array().unwrap().is_empty());
    assert_eq!(board_actions(&alice, &board).await[0]["type"], "removeMemberFromCard");
});

both_backends!(comments_are_actions_that_only_their_author_edits, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let (board, list) = board_with_list(&alice, "Talk").await;
    add_to_board(&alice, &board, &bob).await;
    let card = alice.card(&list, "Discuss").await;
    let id = s(&card, "id");

    // A comment is a commentCard action with its author and text.
    let first = alice.post(&format!("/1/cards/{id}/actions/comments"), json!({"text": "First!"})).await.ok();
    assert_eq!(first["type"], "commentCard");
    assert_eq!(first["idMemberCreator"], alice.id.as_str());
    assert_eq!(first["memberCreator"]["id"], alice.id.as_str());
    assert_eq!(first["memberCreator"]["username"], "alice");
    assert_eq!(first["memberCreator"]["fullName"], "alice Tester");
    assert_eq!(first["data"]["text"], "First!");
    assert_eq!(first["data"]["card"]["id"], id.as_str());
    assert_eq!(first["data"]["board"]["id"], board.as_str());
    assert_eq!(first["data"]["list"]["id"], list.as_str());
    assert_trello_date(&first["date"]);
    let second = bob.send("POST", &format!("/1/cards/{id}/actions/comments?text=Second"), Body::Form(vec![])).await.ok();
    assert_eq!(second["memberCreator"]["username"], "bob");
    assert_eq!(alice.get(&format!("/1/cards/{id}")).await.ok()["badges"]["comments"], 2);
    let comments = alice.get(&format!("/1/cards/{id}/actions?filter=commentCard")).await.ok();
    assert_eq!(ids(&comments), [s(&second, "id"), s(&first, "id")], "newest first");

    // The author edits through /actions/{id}; an updateComment action keeps the old text.
    let edited = alice.put(&format!("/1/actions/{}", s(&first, "id")), json!({"text": "First, edited"})).await.ok();
    assert_eq!(edited["id"], first["id"]);
    assert_eq!(edited["data"]["text"], "First, edited");
    assert_eq!(alice.get(&format!("/1/actions/{}", s(&first, "id"))).await.ok()["data"]["text"], "First, edited");
    let update = &board_actions(&alice, &board).await[0];
    assert_eq!(update["type"], "updateComment");
    assert_eq!(update["data"]["old"]["text"], "First!");
    assert_eq!(update["data"]["action"]["id"], first["id"]);
    // ... and through the card route.
    let edited = bob.put(&format!("/1/cards/{id}/actions/{}/comments", s(&second, "id")), json!({"text": "Second, edited"})).await.ok();
    assert_eq!(edited["data"]["text"], "Second, edited");
    let update = &board_actions(&alice, &board).await[0];
    assert_eq!(update["type"], "updateComment");
    assert_eq!(update["data"]["old"]["text"], "Second");

    // Nobody else edits a comment, and a refused edit changes nothing.
    let count = board_actions(&alice, &board).await.len();
    bob.put(&format!("/1/actions/{}", s(&first, "id")), json!({"text": "hijacked"})).await.err(401, "unauthorized permission requested");
    alice
        .put(&format!("/1/cards/{id}/actions/{}/comments", s(&second, "id")), json!({"text": "hijacked"}))
        .await
        .err(401, "unauthorized permission requested");
    bob.delete(&format!("/1/actions/{}", s(&first, "id"))).await.err(401, "unauthorized permission requested");
    assert_eq!(alice.get(&format!("/1/actions/{}", s(&first, "id"))).await.ok()["data"]["text"], "First, edited");
    assert_eq!(alice.get(&format!("/1/actions/{}", s(&second, "id"))).await.ok()["data"]["text"], "Second, edited");
    assert_eq!(board_actions(&alice, &board).await.len(), count);
    // Only comments are comments: editing a createCard action is refused too.
    let created = board_actions(&alice, &board).await.into_iter().find(|a| a["type"] == "createCard").unwrap();
    alice.put(&format!("/1/actions/{}", s(&created, "id")), json!({"text": "nope"})).await.err(401, "unauthorized permission requested");

    // Deleting, by /actions/{id} and by the card route; the badge follows.
    assert_eq!(alice.delete(&format!("/1/actions/{}", s(&first, "id"))).await.ok(), json!({"_value": null}));
    alice.get(&format!("/1/actions/{}", s(&first, "id"))).await.err(404, "The requested resource was not found.");
    assert_eq!(alice.get(&format!("/1/cards/{id}")).await.ok()["badges"]["comments"], 1);
    bob.delete(&format!("/1/cards/{id}/actions/{}/comments", s(&second, "id"))).await.ok();
    assert_eq!(alice.get(&format!("/1/cards/{id}")).await.ok()["badges"]["comments"], 0);
    assert!(alice.get(&format!("/1/cards/{id}/actions?filter=commentCard")).await.ok().as_array().unwrap().is_empty());
    assert_eq!(types(&board_actions(&alice, &board).await)[..2], ["deleteComment", "deleteComment"]);
});

both_backends!(action_logs_filter_and_page_newest_first, |server: Server| async move {
    let alice = server.user("alice").await;
    let (board, list) = board_with_list(&alice, "Log").await;
    let card = alice.card(&list, "Busy").await;
    let id = s(&card, "id");
    for n in 0..5 {
        alice.post(&format!("/1/cards/{id}/actions/comments"), json!({"text": format!("note {n}")})).await.ok();
    }
    alice.put(&format!("/1/cards/{id}"), json!({"name": "Busier"})).await.ok();
    let quiet = alice.card(&list, "Quiet").await;

    // The whole board log, newest first: ids and dates never go up.
    let all = board_actions(&alice, &board).await;
    assert_eq!(types(&all)[..3], ["createCard", "updateCard", "commentCard"]);
    assert_eq!(*types(&all).last().unwrap(), "createBoard");
    for pair in all.windows(2) {
        assert!(s(&pair[0], "id") > s(&pair[1], "id"), "ids descend");
        assert!(s(&pair[0], "date") >= s(&pair[1], "date"), "dates never go up");
    }
    for action in &all {
        for key in ["id", "idMemberCreator", "type", "date"] {
            assert!(action[key].is_string(), "{key} missing from {action}");
        }
        assert!(action["data"].is_object());
        assert_eq!(action["data"]["board"]["id"], board.as_str());
        assert_eq!(action["memberCreator"]["id"], alice.id.as_str());
        assert_trello_date(&action["date"]);
    }
    // One action also carries its `display` (the spec's default); lists do not.
    assert_eq!(alice.get(&format!("/1/actions/{}?display=false", s(&all[0], "id"))).await.ok(), all[0]);
    assert_eq!(alice.get(&format!("/1/boards/{board}/actions?filter=all&limit=1000")).await.ok().as_array().unwrap().len(), all.len());

    // filter: one type, a comma list.
    let board_log = |query: &str| {
        let alice = alice.clone();
        let path = format!("/1/boards/{board}/actions?{query}");
        async move { alice.get(&path).await.ok().as_array().unwrap().clone() }
    };
    let comments = board_log("filter=commentCard").await;
    assert_eq!(comments.len(), 5);
    assert_eq!(comments[0]["data"]["text"], "note 4");
    let mixed = board_log("filter=commentCard,updateCard").await;
    assert_eq!(mixed.len(), 6);
    assert_eq!(mixed[0]["type"], "updateCard");
    assert!(board_log("filter=deleteCard").await.is_empty());

    // limit and page cut the same newest-first sequence.
    let expected: Vec<String> = all.iter().map(|a| s(a, "id")).collect();
    let page = |v: Vec<Value>| v.iter().map(|a| s(a, "id")).collect::<Vec<_>>();
    assert_eq!(page(board_log("limit=2").await), expected[..2]);
    assert_eq!(page(board_log("limit=2&page=1").await), expected[2..4]);
    assert_eq!(page(board_log("limit=3&page=2").await), expected[6..9]);
    assert!(board_log("limit=0").await.is_empty());
    assert!(board_log("limit=5&page=100").await.is_empty());

    // since/before with an action id (exclusive).
    let pivot = &expected[4];
    assert_eq!(page(board_log(&format!("since={pivot}")).await), expected[..4]);
    assert_eq!(page(board_log(&format!("before={pivot}&limit=1000")).await), expected[5..]);
    assert_eq!(page(board_log(&format!("since={}&before={}", expected[5], expected[1])).await), expected[2..5]);
    // ... and with a date.
    assert_eq!(page(board_log("since=2001-01-01T00:00:00.000Z&limit=1000").await), expected);
    assert!(board_log("since=2999-01-01").await.is_empty());
    assert_eq!(page(board_log("before=2999-01-01T00:00:00Z&limit=1000").await), expected);
    assert!(board_log("before=2001-01-01").await.is_empty());

    // The other logs: a card's, a list's, a member's.
    let card_log = alice.get(&format!("/1/cards/{id}/actions?filter=all")).await.ok();
    assert_eq!(types(card_log.as_array().unwrap()), [vec!["updateCard"], vec!["commentCard"; 5], vec!["createCard"]].concat());
    let quiet_log = alice.get(&format!("/1/cards/{}/actions?filter=all", s(&quiet, "id"))).await.ok();
    assert_eq!(types(quiet_log.as_array().unwrap()), ["createCard"]);
    // Without a filter, Trello's default for a card: comments and moves between lists.
    let default_log = alice.get(&format!("/1/cards/{}/actions", s(&quiet, "id"))).await.ok();
    assert_eq!(default_log, json!([]));
    let list_log = alice.get(&format!("/1/lists/{list}/actions?filter=createCard")).await.ok();
    assert_eq!(ids(&list_log).len(), 2);
    let mine = alice.get("/1/members/me/actions?limit=1000").await.ok();
    assert_eq!(page(mine.as_array().unwrap().clone()), expected, "every action here is alice's");
    assert_eq!(alice.get(&format!("/1/members/{}/actions?filter=commentCard&limit=2", alice.id)).await.ok().as_array().unwrap().len(), 2);

    // A bad filter value or limit is refused.
    alice.get(&format!("/1/boards/{board}/actions?limit=1001")).await.err(400, "invalid value for limit");
    alice.get(&format!("/1/boards/{board}/actions?limit=-1")).await.err(400, "invalid value for limit");
    alice.get(&format!("/1/boards/{board}/actions?since=yesterday")).await.err(400, "invalid value for since");
});

both_backends!(checklists_and_check_items_drive_the_badges, |server: Server| async move {
    let alice = server.user("alice").await;
    let (board, list) = board_with_list(&alice, "Chores").await;
    let card = alice.card(&list, "Move house").await;
    let id = s(&card, "id");
    let card_path = format!("/1/cards/{id}");

    let packing = alice.post(&format!("{card_path}/checklists"), json!({"name": "Packing"})).await.ok();
    assert_eq!(packing["name"], "Packing");
    assert_eq!(packing["idCard"], id.as_str());
    assert_eq!(packing["idBoard"], board.as_str());
    assert!(packing["pos"].is_number());
    assert_eq!(packing["checkItems"], json!([]));
    let cl = s(&packing, "id");
    let items_path = format!("/1/checklists/{cl}/checkItems");
    let boxes = alice.post(&items_path, json!({"name": "Boxes"})).await.ok();
    assert_eq!(boxes["state"], "incomplete");
    assert_eq!(boxes["idChecklist"], cl.as_str());
    let tape = alice.post(&items_path, json!({"name": "Tape", "checked": true})).await.ok();
    assert_eq!(tape["state"], "complete", "checked=true creates a complete item");
    let labels = alice.post(&items_path, json!({"name": "Labels", "checked": "false"})).await.ok();
    let badges = |card: Value| (card["badges"]["checkItems"].as_u64().unwrap(), card["badges"]["checkItemsChecked"].as_u64().unwrap());
    assert_eq!(badges(alice.get(&card_path).await.ok()), (3, 1));
    assert_eq!(alice.get(&card_path).await.ok()["idChecklists"], json!([cl]));

    // The card-scoped route and both legacy routes tick and untick items.
    let ticked = alice.put(&format!("{card_path}/checkItem/{}?state=complete", s(&boxes, "id")), json!({})).await.ok();
    assert_eq!(ticked["state"], "complete");
    assert_eq!(badges(alice.get(&card_path).await.ok()), (3, 2));
    assert_eq!(board_actions(&alice, &board).await[0]["type"], "updateCheckItemStateOnCard");
    let unticked =
        alice.put(&format!("{card_path}/checklist/{cl}/checkItem/{}", s(&tape, "id")), json!({"state": "incomplete"})).await.ok();
    assert_eq!(unticked["state"], "incomplete");
    assert_eq!(badges(alice.get(&card_path).await.ok()), (3, 1));
    let ticked =
        alice.put(&format!("{card_path}/checklist/{cl}/checkItem/{}/state", s(&labels, "id")), json!({"value": "complete"})).await.ok();
    assert_eq!(ticked["state"], "complete");
    assert_eq!(badges(alice.get(&card_path).await.ok()), (3, 2));
    let renamed = alice.put(&format!("{card_path}/checkItem/{}", s(&tape, "id")), json!({"name": "Strong tape"})).await.ok();
    assert_eq!(renamed["name"], "Strong tape");
    assert_eq!(board_actions(&alice, &board).await[0]["type"], "updateCheckItem");

    // A bad state is refused and changes nothing.
    let count = board_actions(&alice, &board).await.len();
    let before = alice.get(&format!("/1/checklists/{cl}")).await.ok();
    alice
        .put(&format!("{card_path}/checkItem/{}", s(&boxes, "id")), json!({"state": "sideways"}))
        .await
        .err(400, "invalid value for state");
    assert_eq!(alice.get(&format!("/1/checklists/{cl}")).await.ok(), before);
    assert_eq!(board_actions(&alice, &board).await.len(), count);

    // Rename through the per-field route.
    let renamed = alice.put(&format!("/1/checklists/{cl}/name"), json!({"value": "Packing list"})).await.ok();
    assert_eq!(renamed["name"], "Packing list");
    assert_eq!(alice.get(&format!("/1/checklists/{cl}")).await.ok()["name"], "Packing list");
    let update = &board_actions(&alice, &board).await[0];
    assert_eq!(update["type"], "updateChecklist");
    assert_eq!(update["data"]["old"]["name"], "Packing");

    // A second checklist through POST /checklists; the board lists both.
    let second = alice.post("/1/checklists", json!({"idCard": id, "name": "Paperwork"})).await.ok();
    alice.post(&format!("/1/checklists/{}/checkItems", s(&second, "id")), json!({"name": "Change address", "checked": "TRUE"})).await.ok();
    assert_eq!(badges(alice.get(&card_path).await.ok()), (4, 3));
    let on_board = alice.get(&format!("/1/boards/{board}/checklists")).await.ok();
    assert_eq!(ids(&on_board), [cl.clone(), s(&second, "id")]);
    assert_eq!(on_board[0]["checkItems"].as_array().unwrap().len(), 3);

    // Deleting an item, then a whole checklist.
    alice.delete(&format!("/1/checklists/{cl}/checkItems/{}", s(&boxes, "id"))).await.ok();
    assert_eq!(badges(alice.get(&card_path).await.ok()), (3, 2));
    assert_eq!(board_actions(&alice, &board).await[0]["type"], "deleteCheckItem");
    alice.delete(&format!("{card_path}/checkItem/{}", s(&labels, "id"))).await.ok();
    assert_eq!(badges(alice.get(&card_path).await.ok()), (2, 1));
    assert_eq!(alice.delete(&format!("/1/checklists/{cl}")).await.ok(), json!({"_value": null}));
    alice.get(&format!("/1/checklists/{cl}")).await.err(404, "The requested resource was not found.");
    let after = alice.get(&card_path).await.ok();
    assert_eq!(badges(after.clone()), (1, 1));
    assert_eq!(after["idChecklists"], json!([s(&second, "id")]));
    assert_eq!(ids(&alice.get(&format!("/1/boards/{board}/checklists")).await.ok()), [s(&second, "id")]);
    assert_eq!(board_actions(&alice, &board).await[0]["type"], "removeChecklistFromCard");
});

both_backends!(link_attachments_count_on_the_card, |server: Server| async move {
    let alice = server.user("alice").await;
    let (board, list) = board_with_list(&alice, "Links").await;
    let card = alice.card(&list, "Read these").await;
    let path = format!("/1/cards/{}", s(&card, "id"));

    let first = alice.post(&format!("{path}/attachments"), json!({"url": "https://example.test/a", "name": "Spec"})).await.ok();
    assert_eq!(first["name"], "Spec");
    assert_eq!(first["url"], "https://example.test/a");
    assert_eq!(first["isUpload"], false);
    assert_eq!(first["idMember"], alice.id.as_str());
    assert_trello_date(&first["date"]);
    alice.send("POST", &format!("{path}/attachments?url=https%3A%2F%2Fexample.test%2Fb"), Body::Form(vec![])).await.ok();
    let read = alice.get(&path).await.ok();
    assert_eq!(read["badges"]["attachments"], 2);
    assert_eq!(alice.get(&format!("{path}/attachments")).await.ok().as_array().unwrap().len(), 2);
    assert_eq!(board_actions(&alice, &board).await[0]["type"], "addAttachmentToCard");

    // Not a web link: refused, nothing attached, nothing logged.
    let count = board_actions(&alice, &board).await.len();
    alice.post(&format!("{path}/attachments"), json!({"url": "javascript:alert(1)"})).await.err(400, "invalid value for url");
    assert_eq!(alice.get(&path).await.ok(), read);
    assert_eq!(board_actions(&alice, &board).await.len(), count);

    // Deleting one answers like a card delete and the badge follows.
    assert_eq!(alice.delete(&format!("{path}/attachments/{}", s(&first, "id"))).await.ok(), json!({"limits": {}}));
    assert_eq!(alice.get(&path).await.ok()["badges"]["attachments"], 1);
    alice.get(&format!("{path}/attachments/{}", s(&first, "id"))).await.err(404, "The requested resource was not found.");
    assert_eq!(board_actions(&alice, &board).await[0]["type"], "deleteAttachmentFromCard");
});

// A sync client reads a board's cards in pages (1,200 cards, `limit=500`): newest first
// with `before=<the oldest id seen>` until an empty page, or forward with `since`; every
// card comes exactly once and the paging stops.
both_backends!(
    sync_clients_page_through_cards_and_filter_actions_by_field,
    config = |c: &mut cork_api::ApiConfig| c.rate_limits.enabled = false,
    |server: Server| async move {
        let alice = server.user("alice").await;
        let board = s(&alice.board("Big").await, "id");
        let (todo, done) = (s(&alice.list(&board, "To do").await, "id"), s(&alice.list(&board, "Done").await, "id"));
        let mut tasks = Vec::new();
        for worker in 0..8 {
            let (alice, todo) = (alice.clone(), todo.clone());
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..150 {
                    ids.push(s(&alice.card(&todo, &format!("Card {worker}-{n}")).await, "id"));
                }
                ids
            }));
        }
        let mut made = Vec::new();
        for task in tasks {
            made.extend(task.await.expect("creator"));
        }
        made.sort();
        assert_eq!(made.len(), 1200);

        let read_all = |direction: &'static str| {
            let alice = alice.clone();
            let board = board.clone();
            async move {
                let mut seen: Vec<String> = Vec::new();
                // Forward paging starts from a moment (a sync client's last run), backward from now.
                let mut cursor: Option<String> = (direction == "since").then(|| "2001-01-01T00:00:00.000Z".to_string());
                let mut pages = 0;
                loop {
                    pages += 1;
                    assert!(pages <= 10, "the paging must stop");
                    let mut path = format!("/1/boards/{board}/cards?limit=500&fields=id");
                    if let Some(cursor) = &cursor {
                        path.push_str(&format!("&{direction}={cursor}"));
                    }
                    let page = alice.get(&path).await.ok();
                    let ids: Vec<String> = page.as_array().expect("cards").iter().map(|c| s(c, "id")).collect();
                    if ids.is_empty() {
                        break;
                    }
                    cursor = Some(if direction == "before" { ids.iter().min() } else { ids.iter().max() }.expect("a card").clone());
                    seen.extend(ids);
                }
                (seen, pages)
            }
        };
        let (backward, pages) = read_all("before").await;
        assert_eq!(pages, 4, "500 + 500 + 200, then an empty page");
        assert!(backward.windows(2).all(|w| w[0] > w[1]), "newest first");
        let mut sorted = backward.clone();
        sorted.sort();
        assert!(sorted == made, "every card exactly once: {} read, {} made", sorted.len(), made.len());
        let (forward, pages) = read_all("since").await;
        assert_eq!(pages, 4);
        assert!(forward.windows(2).all(|w| w[0] < w[1]), "oldest first when paging forward");
        assert!(forward == made, "every card exactly once, forward: {} read", forward.len());
        // Dates bound like ids (an id starts with its creation time).
        let future = alice.get(&format!("/1/boards/{board}/cards?limit=3&before=2099-01-01T00:00:00.000Z&fields=id")).await.ok();
        assert_eq!(future.as_array().map(Vec::len), Some(3));
        let oldest = alice.get(&format!("/1/boards/{board}/cards?limit=2&sort=id&fields=id")).await.ok();
        assert_eq!(oldest.as_array().map(|a| a.iter().map(|c| s(c, "id")).collect::<Vec<_>>()), Some(made[..2].to_vec()));
        let in_list = alice.get(&format!("/1/lists/{todo}/cards?limit=100&fields=id")).await.ok();
        assert_eq!(in_list.as_array().map(Vec::len), Some(100));
        alice.get(&format!("/1/boards/{board}/cards?limit=0")).await.err(400, "invalid value for limit");
        alice.get(&format!("/1/boards/{board}/cards?limit=1001")).await.err(400, "invalid value for limit");
        alice.get(&format!("/1/boards/{board}/cards?sort=name")).await.err(400, "invalid value for sort");
        alice.get(&format!("/1/boards/{board}/cards?before=yesterday")).await.err(400, "invalid value for before");

        // `type:field` filters: a card's moves, and nothing else.
        let card = made[0].clone();
        for list in [&done, &todo, &done] {
            alice.put(&format!("/1/cards/{card}"), json!({"idList": list})).await.ok();
        }
        alice.put(&format!("/1/cards/{card}"), json!({"name": "Renamed"})).await.ok();
        alice.post(&format!("/1/cards/{card}/actions/comments"), json!({"text": "moved thrice"})).await.ok();
        alice.put(&format!("/1/cards/{}", made[1]), json!({"closed": true})).await.ok();
        let moves = alice.get(&format!("/1/cards/{card}/actions?filter=updateCard:idList")).await.ok();
        let moves = moves.as_array().expect("actions");
        assert_eq!(moves.len(), 3, "{moves:?}");
        assert!(moves.iter().all(|a| a["data"]["listAfter"]["id"].is_string() && a["data"]["old"]["idList"].is_string()));
        // Trello's default for a card's actions: its comments and its moves.
        let default = alice.get(&format!("/1/cards/{card}/actions")).await.ok();
        assert_eq!(types(default.as_array().expect("actions")), ["commentCard", "updateCard", "updateCard", "updateCard"]);
        let everything = alice.get(&format!("/1/cards/{card}/actions?filter=all")).await.ok();
        assert!(everything.as_array().expect("actions").iter().any(|a| a["data"]["old"]["name"].is_string()), "the rename is there");
        let combined = alice.get(&format!("/1/cards/{card}/actions?filter=commentCard,updateCard:idList&limit=2")).await.ok();
        assert_eq!(types(combined.as_array().expect("actions")), ["commentCard", "updateCard"]);
        let archived = alice.get(&format!("/1/boards/{board}/actions?filter=updateCard:closed")).await.ok();
        let archived = archived.as_array().expect("actions");
        assert_eq!(archived.len(), 1);
        assert_eq!(archived[0]["data"]["card"]["id"], json!(made[1]));
        // Paging through a field filter: the second page of one-action pages is the middle move.
        let second = alice.get(&format!("/1/cards/{card}/actions?filter=updateCard:idList&limit=1&page=1")).await.ok();
        assert_eq!(second[0]["id"], moves[1]["id"]);
    }
);

// A sync client reads a page of cards with what it needs nested in each (members, list,
// checklists, attachments, pluginData), in one request and a fixed number of statements.
both_backends!(card_collections_nest_what_is_asked, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let board = s(&alice.board("Nested").await, "id");
    alice.put(&format!("/1/boards/{board}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let list = s(&alice.list(&board, "L").await, "id");
    let plain = s(&alice.card(&list, "Plain").await, "id");
    let rich = s(&alice.post("/1/cards", json!({"idList": list, "name": "Rich", "idMembers": bob.id})).await.ok(), "id");
    let checklist = s(&alice.post(&format!("/1/cards/{rich}/checklists"), json!({"name": "Steps"})).await.ok(), "id");
    alice.post(&format!("/1/checklists/{checklist}/checkItems"), json!({"name": "One"})).await.ok();
    alice.post(&format!("/1/cards/{rich}/attachments"), json!({"url": "https://example.com/spec", "name": "Spec"})).await.ok();

    let path = "cards?members=true&member_fields=username&list=true&checklists=all&attachments=true&pluginData=true&fields=name";
    for route in [format!("/1/boards/{board}/{path}"), format!("/1/lists/{list}/{path}"), format!("/1/members/{}/{path}", bob.id)] {
        let cards = alice.get(&route).await.ok();
        let by_name = |name: &str| cards.as_array().and_then(|all| all.iter().find(|c| c["name"] == json!(name))).cloned();
        let rich_json = by_name("Rich").unwrap_or_else(|| panic!("{route}: {cards}"));
        assert_eq!(rich_json["members"], json!([{"id": bob.id, "username": "bob"}]), "{route}");
        assert_eq!(rich_json["list"]["id"], json!(list));
        assert_eq!(rich_json["checklists"][0]["id"], json!(checklist));
        assert_eq!(rich_json["checklists"][0]["checkItems"][0]["name"], "One");
        assert_eq!(rich_json["attachments"][0]["name"], "Spec");
        assert_eq!(rich_json["pluginData"], json!([]));
        if let Some(plain_json) = by_name("Plain") {
            assert_eq!((plain_json["members"].clone(), plain_json["checklists"].clone()), (json!([]), json!([])));
            assert_eq!(plain_json["id"], json!(plain));
        }
    }
    // Without the parameters, nothing is nested.
    let bare = alice.get(&format!("/1/boards/{board}/cards?fields=name")).await.ok();
    assert!(bare[0].get("members").is_none() && bare[0].get("checklists").is_none());
});
