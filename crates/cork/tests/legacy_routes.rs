//! Trello's older routes (spec/endpoints-legacy-only.tsv), called as real clients
//! still call them: each answers like its current counterpart, and each write is
//! read back through a current route.

mod common;

use serde_json::{json, Value};

use common::{s, Client, Server};

/// A board in a workspace with a list, two cards, a label, a checklist with items,
/// and bob as a board member.
struct World {
    alice: Client,
    bob: Client,
    org: String,
    board: String,
    list: String,
    card: String,
    other_card: String,
    label: String,
    checklist: String,
}

async fn world(server: &Server) -> World {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let org = alice.post("/1/organizations", json!({"displayName": "Acme Works"})).await.ok();
    let board = alice
        .post("/1/boards", json!({"name": "Legacy", "defaultLists": false, "defaultLabels": false, "idOrganization": s(&org, "id")}))
        .await
        .ok();
    let board_id = s(&board, "id");
    alice.put(&format!("/1/boards/{board_id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let list = alice.list(&board_id, "Todo").await;
    let card = alice.card(&s(&list, "id"), "First").await;
    let other_card = alice.card(&s(&list, "id"), "Second").await;
    let label = alice.post("/1/labels", json!({"idBoard": board_id, "name": "hot", "color": "red"})).await.ok();
    let checklist = alice.post("/1/checklists", json!({"idCard": s(&card, "id"), "name": "Steps"})).await.ok();
    World {
        org: s(&org, "id"),
        board: board_id,
        list: s(&list, "id"),
        card: s(&card, "id"),
        other_card: s(&other_card, "id"),
        label: s(&label, "id"),
        checklist: s(&checklist, "id"),
        alice,
        bob,
    }
}

fn ids(value: &Value) -> Vec<String> {
    value.as_array().unwrap_or_else(|| panic!("not a list: {value}")).iter().map(|v| s(v, "id")).collect()
}

both_backends!(nested_fields_of_actions_cards_lists_and_friends, |server: Server| async move {
    let w = world(&server).await;
    let alice = &w.alice;
    // bob adds alice to the card: an action with a member, and a notification for alice.
    w.bob.post(&format!("/1/cards/{}/idMembers", w.card), json!({"value": w.alice.id})).await.ok();
    let actions = alice.get(&format!("/1/cards/{}/actions?filter=addMemberToCard", w.card)).await.ok();
    let action = s(&actions[0], "id");
    let field = |path: String| async move { alice.get(&path).await.ok() };
    assert_eq!(field(format!("/1/actions/{action}/board/name")).await, json!({"_value": "Legacy"}));
    assert_eq!(field(format!("/1/actions/{action}/card/name")).await, json!({"_value": "First"}));
    assert_eq!(field(format!("/1/actions/{action}/list/name")).await, json!({"_value": "Todo"}));
    assert_eq!(field(format!("/1/actions/{action}/member/username")).await, json!({"_value": "alice"}));
    assert_eq!(field(format!("/1/actions/{action}/memberCreator/username")).await, json!({"_value": "bob"}));
    assert_eq!(field(format!("/1/actions/{action}/organization/displayName")).await, json!({"_value": "Acme Works"}));
    alice.get(&format!("/1/actions/{action}/board/nope")).await.err(404, "The requested resource was not found.");

    let notifications = alice.get("/1/members/me/notifications").await.ok();
    let notification = s(&notifications[0], "id");
    assert_eq!(field(format!("/1/notifications/{notification}/board/name")).await, json!({"_value": "Legacy"}));
    assert_eq!(field(format!("/1/notifications/{notification}/card/name")).await, json!({"_value": "First"}));
    assert_eq!(field(format!("/1/notifications/{notification}/list/name")).await, json!({"_value": "Todo"}));
    assert_eq!(field(format!("/1/notifications/{notification}/member/username")).await, json!({"_value": "alice"}));
    assert_eq!(field(format!("/1/notifications/{notification}/memberCreator/username")).await, json!({"_value": "bob"}));
    assert_eq!(field(format!("/1/notifications/{notification}/organization/displayName")).await, json!({"_value": "Acme Works"}));

    assert_eq!(field(format!("/1/cards/{}/board/name", w.card)).await, json!({"_value": "Legacy"}));
    assert_eq!(field(format!("/1/cards/{}/list/name", w.card)).await, json!({"_value": "Todo"}));
    assert_eq!(field(format!("/1/checklists/{}/board/name", w.checklist)).await, json!({"_value": "Legacy"}));
    assert_eq!(field(format!("/1/labels/{}/board/name", w.label)).await, json!({"_value": "Legacy"}));
    assert_eq!(field(format!("/1/lists/{}/board/name", w.list)).await, json!({"_value": "Legacy"}));
    assert_eq!(field(format!("/1/boards/{}/organization/displayName", w.board)).await, json!({"_value": "Acme Works"}));
    let token = alice.token.clone().unwrap();
    assert_eq!(field(format!("/1/tokens/{token}/member/username")).await, json!({"_value": "alice"}));

    // Invitations by email make unconfirmed members; their fields, one per member.
    alice.put(&format!("/1/boards/{}/members", w.board), json!({"email": "carol@example.test", "fullName": "Carol Guest"})).await.ok();
    let invited = field(format!("/1/boards/{}/membersInvited/fullName", w.board)).await;
    assert_eq!(invited.as_array().unwrap().len(), 1);
    assert_eq!(invited[0]["fullName"], "Carol Guest");
    alice.put(&format!("/1/organizations/{}/members", w.org), json!({"email": "dave@example.test", "fullName": "Dave Guest"})).await.ok();
    let invited = field(format!("/1/organizations/{}/membersInvited/fullName", w.org)).await;
    assert_eq!(invited.as_array().unwrap().iter().map(|m| m["fullName"].clone()).collect::<Vec<_>>(), vec![json!("Dave Guest")]);
    // alice has no pending invitations of her own.
    assert_eq!(field("/1/members/me/boardsInvited/name".into()).await, json!([]));
    assert_eq!(field("/1/members/me/organizationsInvited/name".into()).await, json!([]));
});

both_backends!(filters_as_path_segments_and_objects_through_others, |server: Server| async move {
    let w = world(&server).await;
    let alice = &w.alice;
    let members = alice.get(&format!("/1/boards/{}/members/admins", w.board)).await.ok();
    assert_eq!(ids(&members), vec![w.alice.id.clone()]);
    let members = alice.get(&format!("/1/boards/{}/members/normal", w.board)).await.ok();
    assert_eq!(ids(&members), vec![w.bob.id.clone()]);

    alice.post(&format!("/1/cards/{}/idMembers", w.card), json!({"value": w.alice.id})).await.ok();
    let cards = alice.get(&format!("/1/boards/{}/members/{}/cards", w.board, w.alice.id)).await.ok();
    assert_eq!(ids(&cards), vec![w.card.clone()]);
    let cards = alice.get(&format!("/1/organizations/{}/members/{}/cards", w.org, w.alice.id)).await.ok();
    assert_eq!(ids(&cards), vec![w.card.clone()]);

    let memberships = alice.get(&format!("/1/boards/{}/memberships", w.board)).await.ok();
    let bobs = memberships.as_array().unwrap().iter().find(|m| m["idMember"] == json!(w.bob.id)).unwrap().clone();
    let one = alice.get(&format!("/1/boards/{}/memberships/{}", w.board, s(&bobs, "id"))).await.ok();
    assert_eq!(one, bobs);
    alice.get(&format!("/1/boards/{}/memberships/nope", w.board)).await.err(400, "invalid id");

    let label = alice.get(&format!("/1/boards/{}/labels/{}", w.board, w.label)).await.ok();
    assert_eq!((s(&label, "id"), s(&label, "color")), (w.label.clone(), "red".to_string()));

    let cards = alice.get(&format!("/1/checklists/{}/cards/all", w.checklist)).await.ok();
    assert_eq!(ids(&cards), vec![w.card.clone()]);
    assert_eq!(alice.get(&format!("/1/checklists/{}/cards/closed", w.checklist)).await.ok(), json!([]));

    let orgs = alice.get("/1/members/me/organizations/all").await.ok();
    assert_eq!(ids(&orgs), vec![w.org.clone()]);
    assert_eq!(alice.get("/1/members/me/organizations/none").await.ok(), json!([]));
    let boards = alice.get(&format!("/1/organizations/{}/boards/open", w.org)).await.ok();
    assert_eq!(ids(&boards), vec![w.board.clone()]);
    let members = alice.get(&format!("/1/organizations/{}/members/admins", w.org)).await.ok();
    assert_eq!(ids(&members), vec![w.alice.id.clone()]);

    w.bob.post(&format!("/1/cards/{}/idMembers", w.other_card), json!({"value": w.alice.id})).await.ok();
    let notifications = alice.get("/1/members/me/notifications/addedToCard").await.ok();
    assert_eq!(notifications.as_array().unwrap().len(), 1);
    assert_eq!(notifications[0]["type"], "addedToCard");
});

both_backends!(older_writes_go_through_the_current_commands, |server: Server| async move {
    let w = world(&server).await;
    let alice = &w.alice;

    // POST /lists/{id}/cards creates a card in that list.
    let card = alice.post(&format!("/1/lists/{}/cards", w.list), json!({"name": "Third"})).await.ok();
    let read = alice.get(&format!("/1/cards/{}", s(&card, "id"))).await.ok();
    assert_eq!((s(&read, "name"), s(&read, "idList")), ("Third".to_string(), w.list.clone()));

    // POST /boards/{id}/checklists needs a card of that board.
    let checklist = alice.post(&format!("/1/boards/{}/checklists", w.board), json!({"idCard": w.other_card, "name": "Plan"})).await.ok();
    let lists = alice.get(&format!("/1/cards/{}/checklists", w.other_card)).await.ok();
    assert_eq!(ids(&lists), vec![s(&checklist, "id")]);

    // PUT /cards/{id}/idMembers and /labels replace the lists.
    alice.put(&format!("/1/cards/{}/idMembers", w.card), json!({"value": format!("{},{}", w.alice.id, w.bob.id)})).await.ok();
    alice.put(&format!("/1/cards/{}/idMembers", w.card), json!({"value": w.bob.id})).await.ok();
    let read = alice.get(&format!("/1/cards/{}", w.card)).await.ok();
    assert_eq!(read["idMembers"], json!([w.bob.id]));
    alice.put(&format!("/1/cards/{}/labels", w.card), json!({"value": "red"})).await.ok();
    let read = alice.get(&format!("/1/cards/{}", w.card)).await.ok();
    assert_eq!(read["idLabels"], json!([w.label]));
    alice.put(&format!("/1/cards/{}/labels", w.card), json!({"value": "purple"})).await.err(400, "invalid value for value");
    alice.put(&format!("/1/cards/{}/labels", w.card), json!({"value": ""})).await.ok();
    assert_eq!(alice.get(&format!("/1/cards/{}", w.card)).await.ok()["idLabels"], json!([]));

    // Check items through the card.
    let base = format!("/1/cards/{}/checklist/{}/checkItem", w.card, w.checklist);
    let item = alice.post(&base, json!({"name": "Write it"})).await.ok();
    let other = alice.post(&base, json!({"name": "Ship it"})).await.ok();
    let checklist = alice.get(&format!("/1/checklists/{}", w.checklist)).await.ok();
    assert_eq!(checklist["checkItems"].as_array().unwrap().len(), 2);
    alice.delete(&format!("{base}/{}", s(&item, "id"))).await.ok();
    let checklist = alice.get(&format!("/1/checklists/{}", w.checklist)).await.ok();
    assert_eq!(ids(&checklist["checkItems"]), vec![s(&other, "id")]);
    alice
        .post(&format!("/1/cards/{}/checklist/{}/checkItem", w.other_card, w.checklist), json!({"name": "x"}))
        .await
        .err(404, "The requested resource was not found.");

    // convertToCard: a card named like the item, the item gone, one action.
    let converted = alice.post(&format!("{base}/{}/convertToCard", s(&other, "id")), json!({})).await.ok();
    assert_eq!((s(&converted, "name"), s(&converted, "idList")), ("Ship it".to_string(), w.list.clone()));
    let checklist = alice.get(&format!("/1/checklists/{}", w.checklist)).await.ok();
    assert_eq!(checklist["checkItems"], json!([]));
    let actions = alice.get(&format!("/1/boards/{}/actions?filter=convertToCardFromCheckItem", w.board)).await.ok();
    assert_eq!(actions.as_array().unwrap().len(), 1);
    assert_eq!(actions[0]["data"]["card"]["id"], converted["id"]);
    assert_eq!(actions[0]["data"]["cardSource"]["id"], json!(w.card));
    alice.post(&format!("{base}/{}/convertToCard", s(&other, "id")), json!({})).await.err(404, "The requested resource was not found.");

    // markAsViewed is markedAsViewed.
    let viewed = alice.post(&format!("/1/boards/{}/markAsViewed", w.board), json!({})).await.ok();
    assert_eq!(s(&viewed, "id"), w.board);

    // Board stars: idBoard and pos.
    let other_board = alice.board("Other").await;
    let star = alice.post("/1/members/me/boardStars", json!({"idBoard": w.board, "pos": "top"})).await.ok();
    let star_path = format!("/1/members/me/boardStars/{}", s(&star, "id"));
    alice.put(&format!("{star_path}/idBoard"), json!({"value": s(&other_board, "id")})).await.ok();
    alice.put(&format!("{star_path}/pos"), json!({"value": 12345})).await.ok();
    let read = alice.get(&star_path).await.ok();
    assert_eq!((s(&read, "idBoard"), read["pos"].as_f64()), (s(&other_board, "id"), Some(12345.0)));

    // Member prefs, read back on the member.
    assert_eq!(alice.put("/1/members/me/prefs/colorBlind", json!({"value": true})).await.ok()["colorBlind"], true);
    alice.put("/1/members/me/prefs/locale", json!({"value": "de-DE"})).await.ok();
    alice.put("/1/members/me/prefs/minutesBetweenSummaries", json!({"value": 60})).await.ok();
    alice.put("/1/members/me/prefs/minutesBetweenSummaries", json!({"value": 7})).await.err(400, "invalid value for value");
    let me = alice.get("/1/members/me").await.ok();
    assert_eq!(me["prefs"]["colorBlind"], true);
    assert_eq!(me["prefs"]["locale"], "de-DE");
    assert_eq!(me["prefs"]["minutesBetweenSummaries"], 60);
    w.bob
        .put(&format!("/1/members/{}/prefs/locale", w.alice.id), json!({"value": "fr"}))
        .await
        .err(401, "unauthorized permission requested");

    // Workspace memberships by membership id.
    alice.put(&format!("/1/organizations/{}/members/{}", w.org, w.bob.id), json!({"type": "normal"})).await.ok();
    let memberships = alice.get(&format!("/1/organizations/{}/memberships", w.org)).await.ok();
    let bobs = memberships.as_array().unwrap().iter().find(|m| m["idMember"] == json!(w.bob.id)).unwrap().clone();
    alice.put(&format!("/1/organizations/{}/memberships/{}", w.org, s(&bobs, "id")), json!({"type": "admin"})).await.ok();
    let memberships = alice.get(&format!("/1/organizations/{}/memberships", w.org)).await.ok();
    let bobs = memberships.as_array().unwrap().iter().find(|m| m["idMember"] == json!(w.bob.id)).unwrap().clone();
    assert_eq!(bobs["memberType"], "admin");
});

both_backends!(power_ups_are_board_plugins_by_name, |server: Server| async move {
    let w = world(&server).await;
    let alice = &w.alice;
    // Nothing is registered yet: a name matches nothing.
    alice.post(&format!("/1/boards/{}/powerUps", w.board), json!({"value": "calendar"})).await.err(400, "invalid value for value");
    let admin = server.cork.member_by_username("alice").await.unwrap();
    server.cork.set_instance_admin(&admin, true).await.unwrap();
    let input = cork_core::plugins::PluginInput { name: Some("Calendar".into()), public: Some(true), ..Default::default() };
    let plugin = server.cork.create_plugin(&cork_core::Actor::member(admin), input).await.unwrap();

    let enabled = alice.post(&format!("/1/boards/{}/powerUps", w.board), json!({"value": "calendar"})).await.ok();
    assert_eq!(enabled["idPlugin"], json!(plugin.id));
    let on = alice.get(&format!("/1/boards/{}/boardPlugins", w.board)).await.ok();
    assert_eq!(on.as_array().unwrap().iter().map(|p| p["idPlugin"].clone()).collect::<Vec<_>>(), vec![json!(plugin.id)]);
    alice.delete(&format!("/1/boards/{}/powerUps/calendar", w.board)).await.ok();
    assert_eq!(alice.get(&format!("/1/boards/{}/boardPlugins", w.board)).await.ok(), json!([]));
});

both_backends!(sessions_and_types, |server: Server| async move {
    let w = world(&server).await;
    let alice = &w.alice;
    let session = alice.post("/1/sessions", json!({"status": "active", "idBoards": w.board})).await.ok();
    assert_eq!((s(&session, "idMember"), s(&session, "status")), (w.alice.id.clone(), "active".to_string()));
    assert_eq!(session["idBoards"], json!([w.board]));
    let id = s(&session, "id");
    assert_eq!(alice.put(&format!("/1/sessions/{id}"), json!({"status": "idle"})).await.ok()["status"], "idle");
    assert_eq!(alice.put(&format!("/1/sessions/{id}/status"), json!({"value": "disconnected"})).await.ok()["id"], json!(id));
    alice.put(&format!("/1/sessions/{id}/status"), json!({"value": "asleep"})).await.err(400, "invalid value for status");
    assert_eq!(alice.get("/1/sessions/socket").await.ok()["polling"], true);
    server.anonymous().post("/1/sessions", json!({})).await.err(401, "unauthorized permission requested");

    let typed = |id: String| async move { alice.get(&format!("/1/types/{id}")).await.ok() };
    assert_eq!(typed(w.board.clone()).await, json!({"type": "board", "id": w.board}));
    assert_eq!(typed(w.card.clone()).await, json!({"type": "card", "id": w.card}));
    assert_eq!(typed(w.list.clone()).await, json!({"type": "list", "id": w.list}));
    assert_eq!(typed("alice".into()).await, json!({"type": "member", "id": w.alice.id}));
    assert_eq!(typed(w.org.clone()).await, json!({"type": "organization", "id": w.org}));
    alice.get("/1/types/nobody-here").await.err(404, "The requested resource was not found.");
});

/// `PUT /{model}/{id}/{field}` with `value`, then the field read back.
async fn put_field(client: &Client, path: &str, value: Value, read: &str, pointer: &str, expected: Value) {
    client.put(path, json!({"value": value})).await.ok();
    let object = client.get(read).await.ok();
    assert_eq!(object.pointer(pointer), Some(&expected), "{path}: {read} {pointer} in {object}");
}

both_backends!(per_field_writes_of_boards_cards_lists_members_and_workspaces, |server: Server| async move {
    let w = world(&server).await;
    let alice = &w.alice;
    let board = format!("/1/boards/{}", w.board);
    let other_org = alice.post("/1/organizations", json!({"displayName": "Other Works"})).await.ok();
    let board_fields: Vec<(&str, Value, &str, Value)> = vec![
        ("desc", json!("About"), "/desc", json!("About")),
        ("name", json!("Renamed"), "/name", json!("Renamed")),
        ("idOrganization", json!(s(&other_org, "id")), "/idOrganization", json!(s(&other_org, "id"))),
        ("labelNames/blue", json!("Blue one"), "/labelNames/blue", json!("Blue one")),
        ("labelNames/orange", json!("Orange one"), "/labelNames/orange", json!("Orange one")),
        ("labelNames/purple", json!("Purple one"), "/labelNames/purple", json!("Purple one")),
        ("labelNames/red", json!("Red one"), "/labelNames/red", json!("Red one")),
        ("labelNames/yellow", json!("Yellow one"), "/labelNames/yellow", json!("Yellow one")),
        ("prefs/background", json!("green"), "/prefs/background", json!("green")),
        ("prefs/calendarFeedEnabled", json!(true), "/prefs/calendarFeedEnabled", json!(true)),
        ("prefs/cardAging", json!("pirate"), "/prefs/cardAging", json!("pirate")),
        ("prefs/cardCovers", json!(false), "/prefs/cardCovers", json!(false)),
        ("prefs/comments", json!("observers"), "/prefs/comments", json!("observers")),
        ("prefs/invitations", json!("admins"), "/prefs/invitations", json!("admins")),
        ("prefs/permissionLevel", json!("public"), "/prefs/permissionLevel", json!("public")),
        ("prefs/selfJoin", json!(false), "/prefs/selfJoin", json!(false)),
    ];
    for (field, value, pointer, expected) in board_fields {
        put_field(alice, &format!("{board}/{field}"), value, &board, pointer, expected).await;
    }
    put_field(alice, &format!("{board}/subscribed"), json!(true), &format!("{board}?fields=subscribed"), "/subscribed", json!(true)).await;
    // Moving the board out of the workspace leaves it without one.
    alice.put(&format!("{board}/idOrganization"), json!({"value": w.org})).await.ok();
    let org = alice.get(&format!("{board}/organization")).await.ok();
    assert_eq!(s(&org, "id"), w.org);

    let card = format!("/1/cards/{}", w.card);
    let link = alice.post(&format!("{card}/attachments"), json!({"url": "https://example.test/a.png", "mimeType": "image/png"})).await.ok();
    put_field(alice, &format!("{card}/idAttachmentCover"), json!(s(&link, "id")), &card, "/idAttachmentCover", json!(s(&link, "id"))).await;
    put_field(alice, &format!("{card}/pos"), json!(1234), &card, "/pos", json!(1234.0)).await;
    put_field(alice, &format!("{card}/subscribed"), json!(true), &card, "/subscribed", json!(true)).await;
    alice.post(&format!("{card}/idLabels"), json!({"value": w.label})).await.ok();
    alice.delete(&format!("{card}/labels/red")).await.ok();
    assert_eq!(alice.get(&card).await.ok()["idLabels"], json!([]));
    let item = alice.post(&format!("/1/checklists/{}/checkItems", w.checklist), json!({"name": "Item"})).await.ok();
    let item_path = format!("{card}/checklist/{}/checkItem/{}", w.checklist, s(&item, "id"));
    let item_read = format!("/1/checklists/{}/checkItems/{}", w.checklist, s(&item, "id"));
    put_field(alice, &format!("{item_path}/name"), json!("Renamed item"), &item_read, "/name", json!("Renamed item")).await;
    put_field(alice, &format!("{item_path}/pos"), json!(777), &item_read, "/pos", json!(777.0)).await;
    let checklist = format!("/1/checklists/{}", w.checklist);
    put_field(alice, &format!("{checklist}/pos"), json!(4321), &checklist, "/pos", json!(4321.0)).await;
    let list = format!("/1/lists/{}", w.list);
    put_field(alice, &format!("{list}/pos"), json!(99), &list, "/pos", json!(99.0)).await;
    put_field(alice, &format!("{list}/subscribed"), json!(true), &list, "/subscribed", json!(true)).await;
    // The card moves to another board (with a list there).
    let target = alice.board("Target").await;
    let target_list = alice.list(&s(&target, "id"), "Inbox").await;
    alice.put(&format!("{card}/idBoard"), json!({"value": s(&target, "id"), "idList": s(&target_list, "id")})).await.ok();
    let moved = alice.get(&card).await.ok();
    assert_eq!((s(&moved, "idBoard"), s(&moved, "idList")), (s(&target, "id"), s(&target_list, "id")));

    let label_board = alice.get(&format!("/1/labels/{}/board", w.label)).await.ok();
    assert_eq!(s(&label_board, "id"), w.board);

    put_field(alice, "/1/members/me/fullName", json!("Alice Liddell"), "/1/members/me", "/fullName", json!("Alice Liddell")).await;
    put_field(alice, "/1/members/me/initials", json!("AL"), "/1/members/me", "/initials", json!("AL")).await;
    put_field(alice, "/1/members/me/username", json!("alice_l"), "/1/members/me", "/username", json!("alice_l")).await;
    let search = alice.post("/1/members/me/savedSearches", json!({"name": "Mine", "query": "@me", "pos": "top"})).await.ok();
    let search_path = format!("/1/members/me/savedSearches/{}", s(&search, "id"));
    put_field(alice, &format!("{search_path}/name"), json!("Only mine"), &search_path, "/name", json!("Only mine")).await;
    put_field(alice, &format!("{search_path}/pos"), json!(55), &search_path, "/pos", json!(55.0)).await;
    alice.post(&format!("/1/cards/{}/idMembers", w.other_card), json!({"value": w.alice.id})).await.ok();
    assert_eq!(ids(&alice.get("/1/members/me/cards/open").await.ok()), vec![w.other_card.clone()]);

    let org = format!("/1/organizations/{}", w.org);
    put_field(alice, &format!("{org}/displayName"), json!("Acme Renamed"), &org, "/displayName", json!("Acme Renamed")).await;
    put_field(alice, &format!("{org}/name"), json!("acmerenamed"), &org, "/name", json!("acmerenamed")).await;
    put_field(alice, &format!("{org}/website"), json!("https://acme.test"), &org, "/website", json!("https://acme.test")).await;
    let org_prefs: Vec<(&str, Value, &str, Value)> = vec![
        ("prefs/associatedDomain", json!("acme.test"), "/prefs/associatedDomain", json!("acme.test")),
        ("prefs/boardVisibilityRestrict/org", json!("admin"), "/prefs/boardVisibilityRestrict/org", json!("admin")),
        ("prefs/boardVisibilityRestrict/private", json!("none"), "/prefs/boardVisibilityRestrict/private", json!("none")),
        ("prefs/externalMembersDisabled", json!(true), "/prefs/externalMembersDisabled", json!(true)),
        ("prefs/googleAppsVersion", json!(2), "/prefs/googleAppsVersion", json!(2)),
        ("prefs/permissionLevel", json!("public"), "/prefs/permissionLevel", json!("public")),
    ];
    for (field, value, pointer, expected) in org_prefs {
        put_field(alice, &format!("{org}/{field}"), value, &org, pointer, expected).await;
    }
    alice.put(&format!("{org}/members"), json!({"email": "erin@example.test", "fullName": "Erin Guest"})).await.ok();
    let invited = alice.get(&format!("{org}/membersInvited")).await.ok();
    assert_eq!(invited.as_array().unwrap().iter().map(|m| m["fullName"].clone()).collect::<Vec<_>>(), vec![json!("Erin Guest")]);
    alice.put(&format!("/1/boards/{}/members", w.board), json!({"email": "fred@example.test", "fullName": "Fred Guest"})).await.ok();
    let invited = alice.get(&format!("/1/boards/{}/membersInvited", w.board)).await.ok();
    assert_eq!(invited.as_array().unwrap().iter().map(|m| m["fullName"].clone()).collect::<Vec<_>>(), vec![json!("Fred Guest")]);
});

both_backends!(deltas_display_and_entities_read_the_log, |server: Server| async move {
    let w = world(&server).await;
    let alice = &w.alice;
    let all = alice.get(&format!("/1/boards/{}/deltas?ixLastUpdate=0", w.board)).await.ok();
    let count = all.as_array().unwrap().len();
    assert!(count >= 5, "{all}");
    assert_eq!(all[0]["ixUpdate"], 1);
    assert_eq!(all[0]["data"]["type"], "createBoard");
    alice.card(&w.list, "Late").await;
    let newer = alice.get(&format!("/1/boards/{}/deltas?ixLastUpdate={count}", w.board)).await.ok();
    assert_eq!(newer.as_array().unwrap().len(), 1);
    assert_eq!((newer[0]["ixUpdate"].as_u64(), newer[0]["data"]["type"].clone()), (Some(count as u64 + 1), json!("createCard")));
    let member = alice.get("/1/members/me/deltas?ixLastUpdate=0").await.ok();
    assert!(member.as_array().unwrap().iter().any(|d| d["data"]["type"] == "createCard"));
    let org = alice.get(&format!("/1/organizations/{}/deltas?ixLastUpdate=0", w.org)).await.ok();
    assert_eq!(org[0]["data"]["type"], "createOrganization");
    alice.get(&format!("/1/boards/{}/deltas?ixLastUpdate=x", w.board)).await.err(400, "invalid value for ixLastUpdate");

    let created = alice.get(&format!("/1/cards/{}/actions?filter=createCard", w.card)).await.ok();
    let action = s(&created[0], "id");
    let display = alice.get(&format!("/1/actions/{action}/display")).await.ok();
    assert_eq!(display["translationKey"], "action_create_card");
    assert_eq!(
        display["entities"]["card"],
        json!({"type": "card", "id": w.card, "text": "First", "shortLink": created[0]["data"]["card"]["shortLink"]})
    );
    assert_eq!(display["entities"]["memberCreator"]["username"], "alice");
    let entities = alice.get(&format!("/1/actions/{action}/entities")).await.ok();
    let kinds: Vec<Value> = entities.as_array().unwrap().iter().map(|e| e["type"].clone()).collect();
    assert!(kinds.contains(&json!("card")) && kinds.contains(&json!("board")) && kinds.contains(&json!("member")), "{entities}");

    w.bob.post(&format!("/1/cards/{}/idMembers", w.card), json!({"value": w.alice.id})).await.ok();
    let notifications = alice.get("/1/members/me/notifications").await.ok();
    let notification = s(&notifications[0], "id");
    let display = alice.get(&format!("/1/notifications/{notification}/display")).await.ok();
    assert_eq!(display["translationKey"], "notification_added_to_card");
    assert_eq!(display["entities"]["card"]["id"], json!(w.card));
    let entities = alice.get(&format!("/1/notifications/{notification}/entities")).await.ok();
    assert!(entities.as_array().unwrap().iter().any(|e| e["type"] == "board" && e["id"] == json!(w.board)), "{entities}");
});

both_backends!(enterprise_join_requests_are_checked_and_workspaces_stay, |server: Server| async move {
    let w = world(&server).await;
    let member = server.cork.member_by_username("alice").await.unwrap();
    server.cork.set_instance_admin(&member, true).await.unwrap();
    let enterprise = s(&w.alice.get("/1/members/me/enterprises").await.ok()[0], "id");
    let answer =
        w.alice.put(&format!("/1/enterprises/{enterprise}/enterpriseJoinRequest/bulk"), json!({"idOrganizations": w.org})).await.ok();
    assert_eq!(answer, json!({"_value": null}));
    let before = w.alice.get(&format!("/1/enterprises/{enterprise}")).await.ok();
    assert!(before["idOrganizations"].as_array().unwrap().contains(&json!(w.org)), "{before}");
    // Every workspace belongs to the one instance enterprise: it cannot leave it.
    w.alice
        .delete(&format!("/1/enterprises/{enterprise}/organizations/{}", w.org))
        .await
        .err(403, "a workspace cannot leave the Cork enterprise; delete the workspace instead");
    let after = w.alice.get(&format!("/1/enterprises/{enterprise}")).await.ok();
    assert_eq!(after["idOrganizations"], before["idOrganizations"]);
});

both_backends!(a_checklist_moves_to_another_card_and_the_avatar_source_is_chosen, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Moves").await;
    let list = alice.list(&s(&board, "id"), "Todo").await;
    let first = alice.card(&s(&list, "id"), "First").await;
    let second = alice.card(&s(&list, "id"), "Second").await;
    let checklist = alice.post(&format!("/1/cards/{}/checklists", s(&first, "id")), json!({"name": "Steps"})).await.ok();
    alice.post(&format!("/1/checklists/{}/checkItems", s(&checklist, "id")), json!({"name": "one", "checked": true})).await.ok();

    let moved = alice.put(&format!("/1/checklists/{}/idCard", s(&checklist, "id")), json!({"value": s(&second, "id")})).await.ok();
    assert_eq!(moved["idCard"], s(&second, "id").as_str());
    let first_now = alice.get(&format!("/1/cards/{}", s(&first, "id"))).await.ok();
    let second_now = alice.get(&format!("/1/cards/{}", s(&second, "id"))).await.ok();
    assert_eq!((first_now["badges"]["checkItems"].as_i64(), second_now["badges"]["checkItems"].as_i64()), (Some(0), Some(1)));
    assert_eq!(second_now["badges"]["checkItemsChecked"], 1);
    assert_eq!(second_now["idChecklists"], json!([s(&checklist, "id")]));
    alice
        .put(&format!("/1/checklists/{}/idCard", s(&checklist, "id")), json!({"value": "not-a-card"}))
        .await
        .err(400, "invalid value for value");
    let log = alice.get(&format!("/1/cards/{}/actions?filter=updateChecklist", s(&second, "id"))).await.ok();
    assert_eq!(log[0]["data"]["old"]["idCard"], s(&first, "id").as_str());

    // Without an uploaded avatar only `none` makes sense; gravatar needs the outside world.
    let me = alice.put("/1/members/me/avatarSource", json!({"value": "none"})).await.ok();
    assert_eq!(me["avatarSource"], "none");
    alice.put("/1/members/me/avatarSource", json!({"value": "upload"})).await.err(400, "invalid value for value");
    alice.put("/1/members/me/avatarSource", json!({"value": "gravatar"})).await.err(400, "invalid value for value");
    let bob = server.user("bob").await;
    bob.put(&format!("/1/members/{}/avatarSource", alice.id), json!({"value": "none"})).await.err(401, "unauthorized permission requested");
});
