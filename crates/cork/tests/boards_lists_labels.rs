//! Boards, lists and labels as a Trello client drives them: creating boards with
//! their defaults, reading them with nested collections, updating, archiving and
//! deleting them; arranging, moving and archiving lists; colouring labels. Every
//! change is checked against the board's action log as well.

mod common;

use serde_json::{json, Value};

use common::{s, Body, Client, Server};

/// The action types of a board's log, newest first.
async fn action_types(client: &Client, board: &str) -> Vec<String> {
    let actions = client.get(&format!("/1/boards/{board}/actions?limit=1000")).await.ok();
    actions.as_array().unwrap().iter().map(|a| s(a, "type")).collect()
}

/// The newest action of `kind` in a board's log.
async fn last_action(client: &Client, board: &str, kind: &str) -> Value {
    let actions = client.get(&format!("/1/boards/{board}/actions?filter={kind}")).await.ok();
    actions.as_array().unwrap().first().cloned().unwrap_or_else(|| panic!("no {kind} action on board {board}"))
}

fn names(values: &Value) -> Vec<String> {
    values.as_array().unwrap_or_else(|| panic!("not an array: {values}")).iter().map(|v| s(v, "name")).collect()
}

fn sorted_names(values: &Value) -> Vec<String> {
    let mut all = names(values);
    all.sort();
    all
}

fn form(pairs: &[(&str, &str)]) -> Body {
    Body::Form(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn keys(value: &Value) -> Vec<String> {
    let mut all: Vec<String> = value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect();
    all.sort();
    all
}

// ---------------------------------------------------------------- boards: create

both_backends!(a_new_board_comes_with_three_lists_and_six_unnamed_labels, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.post("/1/boards", json!({"name": "Roadmap"})).await.ok();
    let id = s(&board, "id");
    assert_eq!(board["name"], "Roadmap");
    assert_eq!(board["closed"], false);
    assert_eq!(board["prefs"]["permissionLevel"], "private");
    assert_eq!(board["prefs"]["background"], "blue");
    assert_eq!(board["prefs"]["voting"], "disabled");

    let lists = alice.get(&format!("/1/boards/{id}/lists")).await.ok();
    assert_eq!(names(&lists), ["To Do", "Doing", "Done"]);
    let positions: Vec<f64> = lists.as_array().unwrap().iter().map(|l| l["pos"].as_f64().expect("pos is a JSON number")).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "default lists out of order: {positions:?}");

    let labels = alice.get(&format!("/1/boards/{id}/labels")).await.ok();
    let mut colours: Vec<String> = labels.as_array().unwrap().iter().map(|l| s(l, "color")).collect();
    colours.sort();
    assert_eq!(colours, ["blue", "green", "orange", "purple", "red", "yellow"]);
    assert!(labels.as_array().unwrap().iter().all(|l| l["name"] == "" && l["idBoard"] == id.as_str()));
    assert!(board["labelNames"].as_object().unwrap().values().all(|n| n == ""), "labelNames start empty: {}", board["labelNames"]);

    let mut types = action_types(&alice, &id).await;
    types.sort();
    assert_eq!(types, ["createBoard", "createList", "createList", "createList"]);
    let created = last_action(&alice, &id, "createBoard").await;
    assert_eq!(created["data"]["board"]["id"], id.as_str());
    assert_eq!(created["data"]["board"]["name"], "Roadmap");
    assert_eq!(created["idMemberCreator"], alice.id.as_str());
});

both_backends!(board_defaults_can_be_refused_and_prefs_come_in_every_spelling, |server: Server| async move {
    let alice = server.user("alice").await;
    // A form body, as Trello's own documentation sends it: booleans and prefs as text.
    let board = alice
        .send(
            "POST",
            "/1/boards",
            form(&[
                ("name", "Bare"),
                ("defaultLists", "false"),
                ("defaultLabels", "false"),
                ("prefs_permissionLevel", "public"),
                ("prefs/voting", "members"),
                ("prefs_background", "green"),
            ]),
        )
        .await
        .ok();
    let id = s(&board, "id");
    assert_eq!(board["prefs"]["permissionLevel"], "public");
    assert_eq!(board["prefs"]["voting"], "members");
    assert_eq!(board["prefs"]["background"], "green");
    assert_eq!(alice.get(&format!("/1/boards/{id}/lists")).await.ok(), json!([]));
    assert_eq!(alice.get(&format!("/1/boards/{id}/labels")).await.ok(), json!([]));
    assert_eq!(action_types(&alice, &id).await, ["createBoard"]);

    // Lists without labels, and the other way round.
    let lists_only = alice.post("/1/boards", json!({"name": "Lists only", "defaultLabels": false})).await.ok();
    assert_eq!(alice.get(&format!("/1/boards/{}/lists", s(&lists_only, "id"))).await.ok().as_array().unwrap().len(), 3);
    assert_eq!(alice.get(&format!("/1/boards/{}/labels", s(&lists_only, "id"))).await.ok(), json!([]));
    let labels_only = alice.post("/1/boards", json!({"name": "Labels only", "defaultLists": "false"})).await.ok();
    assert_eq!(alice.get(&format!("/1/boards/{}/lists", s(&labels_only, "id"))).await.ok(), json!([]));
    assert_eq!(alice.get(&format!("/1/boards/{}/labels", s(&labels_only, "id"))).await.ok().as_array().unwrap().len(), 6);

    // Bad values name the parameter; nothing is created.
    alice
        .post("/1/boards", json!({"name": "Secret", "prefs_permissionLevel": "secret"}))
        .await
        .err(400, "invalid value for prefs_permissionLevel");
    alice
        .post("/1/boards", json!({"name": "Org", "prefs_permissionLevel": "org"}))
        .await
        .err(400, "invalid value for prefs_permissionLevel");
    alice.post("/1/boards", json!({"defaultLists": false})).await.err(400, "invalid value for name");
    alice.post("/1/boards", json!({"name": "   "})).await.err(400, "invalid value for name");
    let mine = alice.get("/1/members/me/boards").await.ok();
    assert_eq!(sorted_names(&mine), ["Bare", "Labels only", "Lists only"]);
});

both_backends!(a_board_joins_a_workspace_by_id_or_by_name, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let org = alice.post("/1/organizations", json!({"displayName": "Acme Team", "name": "acme_team"})).await.ok();
    let org_id = s(&org, "id");

    let by_id = alice.post("/1/boards", json!({"name": "By id", "idOrganization": org_id, "defaultLists": false})).await.ok();
    assert_eq!(by_id["idOrganization"], org_id.as_str());
    let by_name = alice
        .post("/1/boards", json!({"name": "By name", "idOrganization": "acme_team", "prefs_permissionLevel": "org", "defaultLists": false}))
        .await
        .ok();
    assert_eq!(by_name["idOrganization"], org_id.as_str());
    assert_eq!(by_name["prefs"]["permissionLevel"], "org");
    let created = last_action(&alice, &s(&by_name, "id"), "createBoard").await;
    assert_eq!(created["data"]["organization"]["id"], org_id.as_str());

    let boards = alice.get(&format!("/1/organizations/{org_id}/boards")).await.ok();
    assert_eq!(sorted_names(&boards), ["By id", "By name"]);

    // Only members of the workspace may put boards in it; an unknown one is 404.
    bob.post("/1/boards", json!({"name": "Intruder", "idOrganization": org_id})).await.err(401, "unauthorized permission requested");
    alice
        .post("/1/boards", json!({"name": "Nowhere", "idOrganization": "0123456789abcdef01234567"}))
        .await
        .err(404, "The requested resource was not found.");
    assert_eq!(bob.get("/1/members/me/boards").await.ok(), json!([]));
    assert_eq!(sorted_names(&alice.get(&format!("/1/organizations/{org_id}/boards")).await.ok()), ["By id", "By name"]);
});

both_backends!(copying_a_board_keeps_its_lists_and_labels_and_optionally_its_cards, |server: Server| async move {
    let alice = server.user("alice").await;
    let source = alice
        .post(
            "/1/boards",
            json!({"name": "Template", "desc": "How we work", "defaultLists": false, "defaultLabels": false, "prefs_background": "green"}),
        )
        .await
        .ok();
    let source_id = s(&source, "id");
    let urgent = alice.post("/1/labels", json!({"idBoard": source_id, "name": "urgent", "color": "red"})).await.ok();
    let backlog = alice.list(&source_id, "Backlog").await;
    let done = alice.list(&source_id, "Done").await;
    let first = alice.card(&s(&backlog, "id"), "Write the plan").await;
    alice.post(&format!("/1/cards/{}/idLabels", s(&first, "id")), json!({"value": s(&urgent, "id")})).await.ok();
    alice.card(&s(&backlog, "id"), "Review the plan").await;
    alice.card(&s(&done, "id"), "Kick-off").await;

    let copy = alice.post("/1/boards", json!({"name": "Q3 plan", "idBoardSource": source_id, "keepFromSource": "cards"})).await.ok();
    let copy_id = s(&copy, "id");
    assert_ne!(copy_id, source_id);
    assert_eq!(copy["desc"], "How we work");
    assert_eq!(copy["prefs"]["background"], "green");
    let lists = alice.get(&format!("/1/boards/{copy_id}/lists?cards=open")).await.ok();
    assert_eq!(names(&lists), ["Backlog", "Done"]);
    assert_eq!(sorted_names(&lists[0]["cards"]), ["Review the plan", "Write the plan"]);
    assert_eq!(names(&lists[1]["cards"]), ["Kick-off"]);
    let labels = alice.get(&format!("/1/boards/{copy_id}/labels")).await.ok();
    assert_eq!(names(&labels), ["urgent"]);
    let copied_label = s(&labels[0], "id");
    assert_ne!(copied_label, s(&urgent, "id"), "the copy has labels of its own");
    let written = lists[0]["cards"].as_array().unwrap().iter().find(|c| c["name"] == "Write the plan").unwrap();
    assert_eq!(written["idLabels"], json!([copied_label]));
    assert_eq!(written["idBoard"], copy_id.as_str());
    let copied = last_action(&alice, &copy_id, "copyBoard").await;
    assert_eq!(copied["data"]["boardSource"]["id"], source_id.as_str());
    assert_eq!(copied["data"]["board"]["id"], copy_id.as_str());

    let empty = alice.post("/1/boards", json!({"name": "Shell", "idBoardSource": source_id, "keepFromSource": "none"})).await.ok();
    let empty_id = s(&empty, "id");
    assert_eq!(names(&alice.get(&format!("/1/boards/{empty_id}/lists")).await.ok()), ["Backlog", "Done"]);
    assert_eq!(alice.get(&format!("/1/boards/{empty_id}/cards")).await.ok(), json!([]));
    assert_eq!(names(&alice.get(&format!("/1/boards/{empty_id}/labels")).await.ok()), ["urgent"]);

    // The source is untouched.
    assert_eq!(alice.get(&format!("/1/boards/{source_id}/cards")).await.ok().as_array().unwrap().len(), 3);

    // A board one may not read cannot be copied.
    let bob = server.user("bob").await;
    bob.post("/1/boards", json!({"name": "Stolen", "idBoardSource": source_id})).await.err(401, "unauthorized permission requested");
    assert_eq!(bob.get("/1/members/me/boards").await.ok(), json!([]));
});

// ---------------------------------------------------------------- boards: read

both_backends!(reading_a_board_gives_the_default_fields_or_the_chosen_ones, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.post("/1/boards", json!({"name": "Fields", "desc": "all about fields"})).await.ok();
    let id = s(&board, "id");

    let plain = alice.get(&format!("/1/boards/{id}")).await.ok();
    assert_eq!(
        keys(&plain),
        ["closed", "desc", "descData", "id", "idOrganization", "labelNames", "name", "pinned", "prefs", "shortUrl", "url"]
    );
    assert_eq!(plain["desc"], "all about fields");
    assert_eq!(plain["pinned"], false);
    let short_link = plain["shortUrl"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    assert_eq!(short_link.len(), 8);
    assert!(plain["url"].as_str().unwrap().ends_with(&format!("/b/{short_link}/fields")), "url: {}", plain["url"]);
    for colour in ["green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black"] {
        assert_eq!(plain["labelNames"][colour], "", "labelNames.{colour}");
    }

    assert_eq!(alice.get(&format!("/1/boards/{id}?fields=name")).await.ok(), json!({"id": id, "name": "Fields"}));
    assert_eq!(keys(&alice.get(&format!("/1/boards/{id}?fields=name,closed")).await.ok()), ["closed", "id", "name"]);

    let all = alice.get(&format!("/1/boards/{id}?fields=all")).await.ok();
    for key in ["shortLink", "idMemberCreator", "dateLastActivity", "memberships", "limits", "labelNames", "prefs", "subscribed"] {
        assert!(all.get(key).is_some(), "fields=all lacks {key}: {all}");
    }
    assert_eq!(all["shortLink"], short_link.as_str());
    assert_eq!(all["idMemberCreator"], alice.id.as_str());
    assert_eq!(all["memberships"][0]["idMember"], alice.id.as_str());
    assert_eq!(all["memberships"][0]["memberType"], "admin");

    // The shortLink works wherever the id does.
    assert_eq!(alice.get(&format!("/1/boards/{short_link}?fields=name")).await.ok(), json!({"id": id, "name": "Fields"}));
    assert_eq!(names(&alice.get(&format!("/1/boards/{short_link}/lists")).await.ok()), ["To Do", "Doing", "Done"]);

    // Malformed and unknown ids.
    alice.get("/1/boards/not-an-id!").await.err(400, "invalid id");
    alice.get("/1/boards/0123456789abcdef01234567").await.err(404, "The requested resource was not found.");
});

both_backends!(a_board_read_can_nest_its_lists_cards_labels_members_and_actions, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let board = alice.board("Nested").await;
    let id = s(&board, "id");
    let todo = alice.list(&id, "Todo").await;
    let shelved = alice.list(&id, "Shelved").await;
    let hot = alice.post("/1/labels", json!({"idBoard": id, "name": "hot", "color": "red"})).await.ok();
    let card = alice.card(&s(&todo, "id"), "Ship it").await;
    alice.post(&format!("/1/cards/{}/idLabels", s(&card, "id")), json!({"value": s(&hot, "id")})).await.ok();
    let old = alice.card(&s(&todo, "id"), "Old news").await;
    alice.put(&format!("/1/cards/{}", s(&old, "id")), json!({"closed": true})).await.ok();
    alice.card(&s(&shelved, "id"), "Someday").await;
    alice.put(&format!("/1/lists/{}", s(&shelved, "id")), json!({"closed": true})).await.ok();
    alice.put(&format!("/1/boards/{id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();

    let view = alice.get(&format!("/1/boards/{id}?lists=open&cards=open&labels=all&members=all&memberships=all")).await.ok();
    assert_eq!(names(&view["lists"]), ["Todo"]);
    assert_eq!(sorted_names(&view["cards"]), ["Ship it", "Someday"]);
    let shipped = view["cards"].as_array().unwrap().iter().find(|c| c["name"] == "Ship it").unwrap();
    assert_eq!(shipped["labels"][0]["name"], "hot");
    assert_eq!(names(&view["labels"]), ["hot"]);
    assert_eq!(view["labelNames"]["red"], "hot");
    let mut usernames: Vec<String> = view["members"].as_array().unwrap().iter().map(|m| s(m, "username")).collect();
    usernames.sort();
    assert_eq!(usernames, ["alice", "bob"]);
    assert_eq!(keys(&view["members"][0]), ["fullName", "id", "username"]);
    let mut roles: Vec<(String, String)> =
        view["memberships"].as_array().unwrap().iter().map(|m| (s(m, "idMember"), s(m, "memberType"))).collect();
    roles.sort();
    let mut expected = vec![(alice.id.clone(), "admin".to_string()), (bob.id.clone(), "normal".to_string())];
    expected.sort();
    assert_eq!(roles, expected);

    let all = alice.get(&format!("/1/boards/{id}?lists=all&cards=all")).await.ok();
    assert_eq!(names(&all["lists"]), ["Todo", "Shelved"]);
    assert_eq!(sorted_names(&all["cards"]), ["Old news", "Ship it", "Someday"]);
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}?lists=closed")).await.ok()["lists"]), ["Shelved"]);
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}?cards=closed")).await.ok()["cards"]), ["Old news"]);
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}?cards=visible")).await.ok()["cards"]), ["Ship it"]);
    let bare = alice.get(&format!("/1/boards/{id}")).await.ok();
    for nested in ["lists", "cards", "labels", "members", "memberships", "actions"] {
        assert!(bare.get(nested).is_none(), "{nested} nested without being asked for");
    }

    let with_actions = alice.get(&format!("/1/boards/{id}?actions=all&actions_limit=2")).await.ok();
    let actions = with_actions["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0]["type"], "addMemberToBoard", "newest first");
    assert_eq!(actions[1]["type"], "updateList");
    assert_eq!(actions[0]["memberCreator"]["username"], "alice");
    let created_only = alice.get(&format!("/1/boards/{id}?actions=createList")).await.ok();
    assert!(created_only["actions"].as_array().unwrap().iter().all(|a| a["type"] == "createList"));
    assert_eq!(created_only["actions"].as_array().unwrap().len(), 2);

    alice.get(&format!("/1/boards/{id}?lists=some")).await.err(400, "invalid value for lists");
});

// ---------------------------------------------------------------- boards: update, close, delete

both_backends!(updating_a_board_records_what_it_was, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.post("/1/boards", json!({"name": "Draft", "defaultLists": false})).await.ok();
    let id = s(&board, "id");

    let renamed = alice.put(&format!("/1/boards/{id}"), json!({"name": "Final", "desc": "The real one"})).await.ok();
    assert_eq!(renamed["name"], "Final");
    assert_eq!(renamed["desc"], "The real one");
    assert!(renamed["url"].as_str().unwrap().ends_with("/final"), "url follows the name: {}", renamed["url"]);
    assert_eq!(renamed["shortUrl"], board["shortUrl"], "shortUrl never changes");
    let update = last_action(&alice, &id, "updateBoard").await;
    assert_eq!(update["data"]["old"]["name"], "Draft");
    assert_eq!(update["data"]["old"]["desc"], "");
    assert_eq!(update["data"]["board"]["name"], "Final");

    // Nested prefs, the slash form in the query as the SPEC writes it.
    let public = alice.put(&format!("/1/boards/{id}?prefs/permissionLevel=public"), json!({})).await.ok();
    assert_eq!(public["prefs"]["permissionLevel"], "public");
    assert_eq!(alice.get(&format!("/1/boards/{id}")).await.ok()["prefs"]["permissionLevel"], "public");
    let update = last_action(&alice, &id, "updateBoard").await;
    assert_eq!(update["data"]["old"]["prefs"]["permissionLevel"], "private");
    // ... and the legacy per-field form.
    alice.put(&format!("/1/boards/{id}/prefs/voting"), json!({"value": "members"})).await.ok();
    assert_eq!(alice.get(&format!("/1/boards/{id}")).await.ok()["prefs"]["voting"], "members");
    alice
        .put(&format!("/1/boards/{id}"), json!({"prefs/permissionLevel": "everyone"}))
        .await
        .err(400, "invalid value for prefs/permissionLevel");
    assert_eq!(alice.get(&format!("/1/boards/{id}")).await.ok()["prefs"]["permissionLevel"], "public");

    // labelNames/green names the green label: both views agree.
    let named = alice.put(&format!("/1/boards/{id}"), json!({"labelNames/green": "Done"})).await.ok();
    assert_eq!(named["labelNames"]["green"], "Done");
    let read = alice.get(&format!("/1/boards/{id}?fields=labelNames")).await.ok();
    assert_eq!(read["labelNames"]["green"], "Done");
    assert_eq!(read["labelNames"]["red"], "");
    let labels = alice.get(&format!("/1/boards/{id}/labels")).await.ok();
    let green: Vec<&Value> = labels.as_array().unwrap().iter().filter(|l| l["color"] == "green").collect();
    assert_eq!(green.len(), 1);
    assert_eq!(green[0]["name"], "Done");
    let update = last_action(&alice, &id, "updateBoard").await;
    assert_eq!(update["data"]["old"]["labelNames"]["green"], "");
    // Renaming again reuses the same label.
    alice.put(&format!("/1/boards/{id}/labelNames/green"), json!({"value": "Shipped"})).await.ok();
    let labels = alice.get(&format!("/1/boards/{id}/labels")).await.ok();
    let green: Vec<&Value> = labels.as_array().unwrap().iter().filter(|l| l["color"] == "green").collect();
    assert_eq!((green.len(), green[0]["name"].as_str()), (1, Some("Shipped")));

    // A colour without a label yet gets one.
    alice.put(&format!("/1/boards/{id}?labelNames/sky=Later"), json!({})).await.ok();
    let labels = alice.get(&format!("/1/boards/{id}/labels")).await.ok();
    let sky: Vec<&Value> = labels.as_array().unwrap().iter().filter(|l| l["color"] == "sky").collect();
    assert_eq!((sky.len(), sky[0]["name"].as_str()), (1, Some("Later")));
    assert_eq!(labels.as_array().unwrap().len(), 7);
    alice.put(&format!("/1/boards/{id}"), json!({"labelNames/teal": "Nope"})).await.err(400, "invalid value for labelNames/teal");

    alice.put(&format!("/1/boards/{id}"), json!({"name": ""})).await.err(400, "invalid value for name");
    assert_eq!(alice.get(&format!("/1/boards/{id}/name")).await.ok(), json!({"_value": "Final"}));
    let update = last_action(&alice, &id, "updateBoard").await;
    assert_eq!(update["data"]["old"]["labelNames"]["sky"], "", "refused updates leave no action");
});

both_backends!(a_board_is_closed_reopened_and_read_field_by_field, |server: Server| async move {
    let alice = server.user("alice").await;
    let open = alice.board("Keeper").await;
    let board = alice.board("Old project").await;
    let id = s(&board, "id");

    assert_eq!(alice.get(&format!("/1/boards/{id}/name")).await.ok(), json!({"_value": "Old project"}));
    assert_eq!(alice.get(&format!("/1/boards/{id}/closed")).await.ok(), json!({"_value": false}));

    let closed = alice.put(&format!("/1/boards/{id}"), json!({"closed": true})).await.ok();
    assert_eq!(closed["closed"], true);
    assert_eq!(alice.get(&format!("/1/boards/{id}/closed")).await.ok(), json!({"_value": true}));
    let update = last_action(&alice, &id, "updateBoard").await;
    assert_eq!(update["data"]["old"]["closed"], false);
    assert_eq!(update["data"]["board"]["closed"], true);
    // A closed board stays readable.
    assert_eq!(
        alice.get(&format!("/1/boards/{id}?fields=name,closed")).await.ok(),
        json!({"id": id, "name": "Old project", "closed": true})
    );

    assert_eq!(names(&alice.get("/1/members/me/boards?filter=open").await.ok()), ["Keeper"]);
    assert_eq!(names(&alice.get("/1/members/me/boards?filter=closed").await.ok()), ["Old project"]);
    assert_eq!(names(&alice.get("/1/members/me/boards/closed").await.ok()), ["Old project"]);
    assert_eq!(sorted_names(&alice.get("/1/members/me/boards?filter=all").await.ok()), ["Keeper", "Old project"]);
    assert_eq!(sorted_names(&alice.get("/1/members/me/boards").await.ok()), ["Keeper", "Old project"]);

    // The legacy per-field form reopens it.
    let reopened = alice.put(&format!("/1/boards/{id}/closed"), json!({"value": false})).await.ok();
    assert_eq!(reopened["closed"], false);
    assert_eq!(sorted_names(&alice.get("/1/members/me/boards?filter=open").await.ok()), ["Keeper", "Old project"]);
    assert_eq!(alice.get("/1/members/me/boards?filter=closed").await.ok(), json!([]));
    let update = last_action(&alice, &id, "updateBoard").await;
    assert_eq!(update["data"]["old"]["closed"], true);
    alice.put(&format!("/1/boards/{id}/closed"), json!({})).await.err(400, "invalid value for value");
    assert_eq!(s(&open, "name"), "Keeper");
});

both_backends!(a_deleted_board_is_gone_with_everything_on_it, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Doomed").await;
    let id = s(&board, "id");
    let list = alice.list(&id, "Things").await;
    let card = alice.card(&s(&list, "id"), "Thing").await;
    let label = alice.post("/1/labels", json!({"idBoard": id, "name": "x", "color": "red"})).await.ok();

    assert_eq!(alice.delete(&format!("/1/boards/{id}")).await.ok(), json!({"_value": null}));
    let gone = "The requested resource was not found.";
    alice.get(&format!("/1/boards/{id}")).await.err(404, gone);
    alice.get(&format!("/1/boards/{id}/lists")).await.err(404, gone);
    alice.get(&format!("/1/lists/{}", s(&list, "id"))).await.err(404, gone);
    alice.get(&format!("/1/cards/{}", s(&card, "id"))).await.err(404, gone);
    alice.get(&format!("/1/labels/{}", s(&label, "id"))).await.err(404, gone);
    alice.delete(&format!("/1/boards/{id}")).await.err(404, gone);
    assert_eq!(alice.get("/1/members/me/boards").await.ok(), json!([]));
    alice.delete("/1/boards/nope").await.err(400, "invalid id");
    // The board's own log went with it; the deletion is in the member's log.
    let deleted = alice.get("/1/members/me/actions?filter=deleteBoard").await.ok();
    assert_eq!(deleted.as_array().unwrap().len(), 1);
    assert_eq!(deleted[0]["data"]["board"]["id"], id.as_str());
    assert!(deleted[0]["data"].get("deleted").is_none(), "undo data stays out of the wire shape");
});

// ---------------------------------------------------------------- boards: lists and cards by filter

both_backends!(a_boards_lists_and_cards_are_filtered_by_path_or_parameter, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Filters").await;
    let id = s(&board, "id");
    let open_list = alice.list(&id, "Open list").await;
    let archived_list = alice.list(&id, "Archived list").await;
    alice.card(&s(&open_list, "id"), "a: open").await;
    let closed_card = alice.card(&s(&open_list, "id"), "b: closed").await;
    alice.put(&format!("/1/cards/{}", s(&closed_card, "id")), json!({"closed": true})).await.ok();
    alice.card(&s(&archived_list, "id"), "c: in an archived list").await;
    alice.put(&format!("/1/lists/{}/closed", s(&archived_list, "id")), json!({"value": true})).await.ok();

    assert_eq!(names(&alice.get(&format!("/1/boards/{id}/lists")).await.ok()), ["Open list"]);
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}/lists/open")).await.ok()), ["Open list"]);
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}/lists/closed")).await.ok()), ["Archived list"]);
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}/lists/all")).await.ok()), ["Open list", "Archived list"]);
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}/lists?filter=all")).await.ok()), ["Open list", "Archived list"]);
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}/lists?filter=closed")).await.ok()), ["Archived list"]);
    alice.get(&format!("/1/boards/{id}/lists?filter=sideways")).await.err(400, "invalid value for filter");
    let with_cards = alice.get(&format!("/1/boards/{id}/lists?cards=open")).await.ok();
    assert_eq!(names(&with_cards[0]["cards"]), ["a: open"]);

    assert_eq!(
        sorted_names(&alice.get(&format!("/1/boards/{id}/cards/all")).await.ok()),
        ["a: open", "b: closed", "c: in an archived list"]
    );
    assert_eq!(sorted_names(&alice.get(&format!("/1/boards/{id}/cards/open")).await.ok()), ["a: open", "c: in an archived list"]);
    assert_eq!(sorted_names(&alice.get(&format!("/1/boards/{id}/cards/closed")).await.ok()), ["b: closed"]);
    assert_eq!(sorted_names(&alice.get(&format!("/1/boards/{id}/cards/visible")).await.ok()), ["a: open"]);
    assert_eq!(sorted_names(&alice.get(&format!("/1/boards/{id}/cards")).await.ok()), ["a: open"], "cards default to visible");
    assert_eq!(sorted_names(&alice.get(&format!("/1/boards/{id}/cards?filter=closed")).await.ok()), ["b: closed"]);
});

// ---------------------------------------------------------------- lists

both_backends!(new_lists_go_to_the_top_unless_placed_and_come_back_sorted_by_pos, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Positions").await;
    let id = s(&board, "id");

    let first = alice.post("/1/lists", json!({"name": "First", "idBoard": id})).await.ok();
    let first_pos = first["pos"].as_f64().expect("pos is a JSON number");
    let top = alice.post("/1/lists", json!({"name": "Top", "idBoard": id})).await.ok();
    let top_pos = top["pos"].as_f64().expect("pos is a JSON number");
    assert!(top_pos < first_pos, "no pos means the top: {top_pos} vs {first_pos}");
    let bottom = alice.post("/1/lists", json!({"name": "Bottom", "idBoard": id, "pos": "bottom"})).await.ok();
    let bottom_pos = bottom["pos"].as_f64().unwrap();
    assert!(bottom_pos > first_pos);
    let exact = alice.post("/1/lists", json!({"name": "Exact", "idBoard": id, "pos": 1.5 * bottom_pos})).await.ok();
    assert_eq!(exact["pos"], json!(1.5 * bottom_pos));
    let padded = alice.post("/1/lists", json!({"name": "Padded", "idBoard": id, "pos": "65535.000000"})).await.ok();
    assert!(padded["pos"].is_number(), "pos given as text comes back as a number: {}", padded["pos"]);
    assert_eq!(padded["pos"].as_f64(), Some(65535.0));
    let via_board = alice.post(&format!("/1/boards/{id}/lists"), json!({"name": "Via board", "pos": "top"})).await.ok();
    assert!(via_board["pos"].as_f64().unwrap() < top_pos);

    let lists = alice.get(&format!("/1/boards/{id}/lists")).await.ok();
    let mut by_pos: Vec<(f64, String)> = lists.as_array().unwrap().iter().map(|l| (l["pos"].as_f64().unwrap(), s(l, "name"))).collect();
    let returned: Vec<String> = by_pos.iter().map(|p| p.1.clone()).collect();
    by_pos.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(returned, by_pos.iter().map(|p| p.1.clone()).collect::<Vec<_>>(), "lists come back sorted by pos");
    assert_eq!(returned.first().map(String::as_str), Some("Via board"));
    assert!(lists.as_array().unwrap().iter().all(|l| l["pos"].is_number()));

    // Moving one to the top of the board through PUT.
    let moved = alice.put(&format!("/1/lists/{}", s(&padded, "id")), json!({"pos": "top"})).await.ok();
    assert!(moved["pos"].is_number());
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}/lists")).await.ok())[0], "Padded");

    alice.post("/1/lists", json!({"name": "Nowhere", "idBoard": id, "pos": "middle"})).await.err(400, "invalid value for pos");
    alice.post("/1/lists", json!({"name": "Nowhere", "idBoard": id, "pos": -5})).await.err(400, "invalid value for pos");
    alice.post("/1/lists", json!({"idBoard": id})).await.err(400, "invalid value for name");
    alice.post("/1/lists", json!({"name": "Nowhere"})).await.err(400, "invalid value for idBoard");
    alice
        .post("/1/lists", json!({"name": "Nowhere", "idBoard": "0123456789abcdef01234567"}))
        .await
        .err(404, "The requested resource was not found.");
    assert_eq!(alice.get(&format!("/1/boards/{id}/lists")).await.ok().as_array().unwrap().len(), 6);
    let mut types = action_types(&alice, &id).await;
    types.dedup();
    assert_eq!(types, ["updateList", "createList", "createBoard"]);
});

both_backends!(a_list_is_read_renamed_and_archived_with_its_history, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Lists").await;
    let id = s(&board, "id");
    let list = alice.list(&id, "Inbox").await;
    let list_id = s(&list, "id");
    alice.card(&list_id, "Letter").await;

    let read = alice.get(&format!("/1/lists/{list_id}")).await.ok();
    assert_eq!(
        (read["name"].as_str(), read["closed"].as_bool(), read["idBoard"].as_str()),
        (Some("Inbox"), Some(false), Some(id.as_str()))
    );
    assert!(read["pos"].is_number());
    assert_eq!(alice.get(&format!("/1/lists/{list_id}?fields=name")).await.ok(), json!({"id": list_id, "name": "Inbox"}));
    assert_eq!(alice.get(&format!("/1/lists/{list_id}/name")).await.ok(), json!({"_value": "Inbox"}));
    assert_eq!(names(&alice.get(&format!("/1/lists/{list_id}/cards")).await.ok()), ["Letter"]);
    assert_eq!(alice.get(&format!("/1/lists/{list_id}/board?fields=name")).await.ok(), json!({"id": id, "name": "Lists"}));

    let renamed = alice.put(&format!("/1/lists/{list_id}"), json!({"name": "Mailbox"})).await.ok();
    assert_eq!(renamed["name"], "Mailbox");
    let update = last_action(&alice, &id, "updateList").await;
    assert_eq!(update["data"]["old"]["name"], "Inbox");
    assert_eq!(update["data"]["list"]["name"], "Mailbox");
    assert_eq!(update["data"]["board"]["id"], id.as_str());
    alice.put(&format!("/1/lists/{list_id}/name"), json!({"value": "Postbox"})).await.ok();
    assert_eq!(alice.get(&format!("/1/lists/{list_id}")).await.ok()["name"], "Postbox");

    let archived = alice.put(&format!("/1/lists/{list_id}"), json!({"closed": "true"})).await.ok();
    assert_eq!(archived["closed"], true);
    let update = last_action(&alice, &id, "updateList").await;
    assert_eq!(update["data"]["old"]["closed"], false);
    assert_eq!(update["data"]["list"]["closed"], true);
    assert_eq!(alice.get(&format!("/1/boards/{id}/lists")).await.ok(), json!([]));
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}/lists/closed")).await.ok()), ["Postbox"]);
    // Archived lists stay readable, and the legacy form brings them back.
    assert_eq!(alice.get(&format!("/1/lists/{list_id}")).await.ok()["closed"], true);
    let back = alice.put(&format!("/1/lists/{list_id}/closed"), json!({"value": false})).await.ok();
    assert_eq!(back["closed"], false);
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}/lists")).await.ok()), ["Postbox"]);
    assert_eq!(last_action(&alice, &id, "updateList").await["data"]["old"]["closed"], true);

    alice.put(&format!("/1/lists/{list_id}"), json!({"name": ""})).await.err(400, "invalid value for name");
    alice.put(&format!("/1/lists/{list_id}"), json!({"closed": "sometimes"})).await.err(400, "invalid value for closed");
    alice.get("/1/lists/xyz").await.err(400, "invalid id");
    alice.get("/1/lists/0123456789abcdef01234567").await.err(404, "The requested resource was not found.");
    assert_eq!(alice.get(&format!("/1/lists/{list_id}/name")).await.ok(), json!({"_value": "Postbox"}));
});

both_backends!(a_list_moved_to_another_board_takes_its_cards_along, |server: Server| async move {
    let alice = server.user("alice").await;
    let from = alice.board("From").await;
    let to = alice.board("To").await;
    let (from_id, to_id) = (s(&from, "id"), s(&to, "id"));
    let staying = alice.list(&from_id, "Staying").await;
    let leaving = alice.list(&from_id, "Leaving").await;
    alice.list(&to_id, "Already there").await;
    let stay_card = alice.card(&s(&staying, "id"), "Stay").await;
    let go_card = alice.card(&s(&leaving, "id"), "Go").await;
    alice.card(&s(&leaving, "id"), "Go too").await;
    alice.post(&format!("/1/cards/{}/checklists", s(&stay_card, "id")), json!({"name": "Stay steps"})).await.ok();
    alice.post(&format!("/1/cards/{}/checklists", s(&go_card, "id")), json!({"name": "Go steps"})).await.ok();

    let moved = alice.put(&format!("/1/lists/{}", s(&leaving, "id")), json!({"idBoard": to_id})).await.ok();
    assert_eq!(moved["idBoard"], to_id.as_str());
    assert_eq!(names(&alice.get(&format!("/1/boards/{from_id}/lists")).await.ok()), ["Staying"]);
    assert_eq!(
        names(&alice.get(&format!("/1/boards/{to_id}/lists")).await.ok()),
        ["Already there", "Leaving"],
        "a moved list lands at the bottom"
    );
    let moved_cards = alice.get(&format!("/1/lists/{}/cards", s(&leaving, "id"))).await.ok();
    assert_eq!(sorted_names(&moved_cards), ["Go", "Go too"]);
    assert!(moved_cards.as_array().unwrap().iter().all(|c| c["idBoard"] == to_id.as_str()));
    assert_eq!(sorted_names(&alice.get(&format!("/1/boards/{to_id}/cards")).await.ok()), ["Go", "Go too"]);
    assert_eq!(names(&alice.get(&format!("/1/boards/{from_id}/cards")).await.ok()), ["Stay"]);
    // Checklists go with their cards, and only those.
    assert_eq!(names(&alice.get(&format!("/1/boards/{from_id}/checklists")).await.ok()), ["Stay steps"]);
    let moved_checklists = alice.get(&format!("/1/boards/{to_id}/checklists")).await.ok();
    assert_eq!(names(&moved_checklists), ["Go steps"]);
    assert_eq!(moved_checklists[0]["idBoard"], to_id.as_str());

    let from_board = last_action(&alice, &from_id, "moveListFromBoard").await;
    assert_eq!(from_board["data"]["list"]["id"], s(&leaving, "id").as_str());
    assert_eq!(from_board["data"]["boardTarget"]["id"], to_id.as_str());
    let to_board = last_action(&alice, &to_id, "moveListToBoard").await;
    assert_eq!(to_board["data"]["boardSource"]["id"], from_id.as_str());

    // Only onto a board one may write to.
    let bob = server.user("bob").await;
    let bobs = bob.board("Bob's").await;
    alice
        .put(&format!("/1/lists/{}", s(&staying, "id")), json!({"idBoard": s(&bobs, "id")}))
        .await
        .err(401, "unauthorized permission requested");
    assert_eq!(names(&alice.get(&format!("/1/boards/{from_id}/lists")).await.ok()), ["Staying"]);
});

both_backends!(a_lists_cards_can_be_archived_or_moved_all_at_once, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Bulk").await;
    let id = s(&board, "id");
    let done = alice.list(&id, "Done").await;
    let done_id = s(&done, "id");
    for name in ["one", "two", "three"] {
        alice.card(&done_id, name).await;
    }

    assert_eq!(alice.post(&format!("/1/lists/{done_id}/archiveAllCards"), json!({})).await.ok(), json!({}));
    assert_eq!(alice.get(&format!("/1/lists/{done_id}/cards")).await.ok(), json!([]));
    assert_eq!(sorted_names(&alice.get(&format!("/1/lists/{done_id}/cards/closed")).await.ok()), ["one", "three", "two"]);
    assert_eq!(sorted_names(&alice.get(&format!("/1/lists/{done_id}/cards?filter=all")).await.ok()), ["one", "three", "two"]);
    let archived = alice.get(&format!("/1/boards/{id}/actions?filter=updateCard")).await.ok();
    assert_eq!(archived.as_array().unwrap().len(), 3);
    assert!(archived.as_array().unwrap().iter().all(|a| a["data"]["old"]["closed"] == false && a["data"]["card"]["closed"] == true));

    // moveAllCards: within the board, then onto another board.
    let doing = alice.list(&id, "Doing").await;
    let next = alice.list(&id, "Next").await;
    let doing_id = s(&doing, "id");
    alice.card(&doing_id, "alpha").await;
    alice.card(&doing_id, "beta").await;
    let moved = alice.post(&format!("/1/lists/{doing_id}/moveAllCards"), json!({"idBoard": id, "idList": s(&next, "id")})).await.ok();
    assert_eq!(names(&moved), ["alpha", "beta"]);
    assert_eq!(alice.get(&format!("/1/lists/{doing_id}/cards")).await.ok(), json!([]));
    let now_next = alice.get(&format!("/1/lists/{}/cards", s(&next, "id"))).await.ok();
    assert_eq!(names(&now_next), ["alpha", "beta"], "the order is kept");
    let moves = alice.get(&format!("/1/boards/{id}/actions?filter=updateCard&limit=2")).await.ok();
    assert!(moves
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["data"]["old"]["idList"] == doing_id.as_str() && a["data"]["listAfter"]["id"] == s(&next, "id").as_str()));

    let elsewhere = alice.board("Elsewhere").await;
    let landing = alice.list(&s(&elsewhere, "id"), "Landing").await;
    alice
        .post(&format!("/1/lists/{}/moveAllCards", s(&next, "id")), json!({"idBoard": s(&elsewhere, "id"), "idList": s(&landing, "id")}))
        .await
        .ok();
    let landed = alice.get(&format!("/1/lists/{}/cards", s(&landing, "id"))).await.ok();
    assert_eq!(names(&landed), ["alpha", "beta"]);
    assert!(landed.as_array().unwrap().iter().all(|c| c["idBoard"] == s(&elsewhere, "id").as_str()));
    assert_eq!(alice.get(&format!("/1/boards/{id}/cards")).await.ok(), json!([]));

    // The target list must be on the named board.
    alice
        .post(&format!("/1/lists/{done_id}/moveAllCards"), json!({"idBoard": id, "idList": s(&landing, "id")}))
        .await
        .err(400, "invalid value for idList");
    alice
        .post(&format!("/1/lists/{done_id}/moveAllCards"), json!({"idBoard": id, "idList": "nope"}))
        .await
        .err(400, "invalid value for idList");
    alice.post(&format!("/1/lists/{done_id}/moveAllCards"), json!({"idList": s(&next, "id")})).await.err(400, "invalid value for idBoard");
});

// ---------------------------------------------------------------- labels

both_backends!(labels_are_created_read_updated_and_deleted, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Labels").await;
    let id = s(&board, "id");

    let bug = alice.post("/1/labels", json!({"idBoard": id, "name": "bug", "color": "red"})).await.ok();
    let bug_id = s(&bug, "id");
    assert_eq!((bug["name"].as_str(), bug["color"].as_str(), bug["idBoard"].as_str()), (Some("bug"), Some("red"), Some(id.as_str())));
    let created = last_action(&alice, &id, "createLabel").await;
    assert_eq!(created["data"]["label"]["id"], bug_id.as_str());
    assert_eq!(created["data"]["label"]["color"], "red");
    let read = alice.get(&format!("/1/labels/{bug_id}")).await.ok();
    assert_eq!((read["name"].as_str(), read["color"].as_str()), (Some("bug"), Some("red")));
    assert_eq!(alice.get(&format!("/1/labels/{bug_id}?fields=name")).await.ok(), json!({"id": bug_id, "name": "bug"}));
    assert_eq!(alice.get(&format!("/1/labels/{bug_id}/color")).await.ok(), json!({"_value": "red"}));

    let via_board = alice.post(&format!("/1/boards/{id}/labels"), json!({"name": "idea", "color": "sky"})).await.ok();
    assert_eq!(via_board["color"], "sky");

    let updated = alice.put(&format!("/1/labels/{bug_id}"), json!({"name": "defect", "color": "orange"})).await.ok();
    assert_eq!((updated["name"].as_str(), updated["color"].as_str()), (Some("defect"), Some("orange")));
    let update = last_action(&alice, &id, "updateLabel").await;
    assert_eq!(update["data"]["old"]["name"], "bug");
    assert_eq!(update["data"]["old"]["color"], "red");
    assert_eq!(update["data"]["label"]["name"], "defect");
    alice.put(&format!("/1/labels/{bug_id}/name"), json!({"value": "regression"})).await.ok();
    alice.put(&format!("/1/labels/{bug_id}/color"), json!({"value": "purple"})).await.ok();
    let read = alice.get(&format!("/1/labels/{bug_id}")).await.ok();
    assert_eq!((read["name"].as_str(), read["color"].as_str()), (Some("regression"), Some("purple")));
    assert_eq!(alice.get(&format!("/1/boards/{id}?fields=labelNames")).await.ok()["labelNames"]["purple"], "regression");

    assert_eq!(alice.delete(&format!("/1/labels/{bug_id}")).await.ok(), json!({"_value": null}));
    alice.get(&format!("/1/labels/{bug_id}")).await.err(404, "The requested resource was not found.");
    assert_eq!(names(&alice.get(&format!("/1/boards/{id}/labels")).await.ok()), ["idea"]);
    let deleted = last_action(&alice, &id, "deleteLabel").await;
    assert_eq!(deleted["data"]["label"]["id"], bug_id.as_str());
    assert!(deleted["data"].get("deleted").is_none(), "undo data stays out of the wire shape");
    alice.delete(&format!("/1/labels/{bug_id}")).await.err(404, "The requested resource was not found.");
    alice.get("/1/labels/bogus").await.err(400, "invalid id");
    alice.post("/1/labels", json!({"name": "orphan", "color": "red"})).await.err(400, "invalid value for idBoard");

    let mut types = action_types(&alice, &id).await;
    types.dedup();
    assert_eq!(types, ["deleteLabel", "updateLabel", "createLabel", "createBoard"]);
});

both_backends!(every_trello_colour_is_a_label_colour_and_nothing_else_is, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Colours").await;
    let id = s(&board, "id");
    for colour in ["green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black", "green_dark", "sky_light"] {
        let label = alice.post("/1/labels", json!({"idBoard": id, "name": colour, "color": colour})).await.ok();
        assert_eq!(label["color"], colour);
        assert_eq!(alice.get(&format!("/1/labels/{}", s(&label, "id"))).await.ok()["color"], colour);
    }
    // No colour at all: null, whichever way it is said.
    let none = alice.post("/1/labels", json!({"idBoard": id, "name": "plain"})).await.ok();
    assert_eq!(none["color"], Value::Null);
    let null = alice.post("/1/labels", json!({"idBoard": id, "name": "null", "color": "null"})).await.ok();
    assert_eq!(null["color"], Value::Null);
    let empty = alice.post("/1/labels", json!({"idBoard": id, "name": "empty", "color": ""})).await.ok();
    assert_eq!(empty["color"], Value::Null);
    let json_null = alice.post("/1/labels", json!({"idBoard": id, "name": "json null", "color": null})).await.ok();
    assert_eq!(json_null["color"], Value::Null);

    alice.post("/1/labels", json!({"idBoard": id, "name": "teal", "color": "turquoise"})).await.err(400, "invalid value for color");
    alice.post("/1/labels", json!({"idBoard": id, "name": "loud", "color": "RED"})).await.err(400, "invalid value for color");
    alice.post("/1/labels", json!({"idBoard": id, "name": "darker", "color": "red_darkest"})).await.err(400, "invalid value for color");
    let count = alice.get(&format!("/1/boards/{id}/labels?limit=1000")).await.ok().as_array().unwrap().len();
    assert_eq!(count, 16, "the refused labels were not created");

    // Recolouring: to nothing and back, and not to a bad colour.
    let red =
        alice.get(&format!("/1/boards/{id}/labels")).await.ok().as_array().unwrap().iter().find(|l| l["color"] == "red").cloned().unwrap();
    let red_id = s(&red, "id");
    assert_eq!(alice.put(&format!("/1/labels/{red_id}"), json!({"color": ""})).await.ok()["color"], Value::Null);
    assert_eq!(alice.put(&format!("/1/labels/{red_id}"), json!({"color": "lime_dark"})).await.ok()["color"], "lime_dark");
    assert_eq!(alice.put(&format!("/1/labels/{red_id}"), json!({"color": "null"})).await.ok()["color"], Value::Null);
    alice.put(&format!("/1/labels/{red_id}"), json!({"color": "mauve"})).await.err(400, "invalid value for color");
    assert_eq!(alice.get(&format!("/1/labels/{red_id}")).await.ok()["color"], Value::Null);
});

both_backends!(deleting_a_label_takes_it_off_every_card, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Tagged").await;
    let id = s(&board, "id");
    let list = alice.list(&id, "Work").await;
    let doomed = alice.post("/1/labels", json!({"idBoard": id, "name": "doomed", "color": "black"})).await.ok();
    let kept = alice.post("/1/labels", json!({"idBoard": id, "name": "kept", "color": "lime"})).await.ok();
    let (doomed_id, kept_id) = (s(&doomed, "id"), s(&kept, "id"));
    let mut cards = Vec::new();
    for name in ["first", "second"] {
        let card = alice.card(&s(&list, "id"), name).await;
        alice.post(&format!("/1/cards/{}/idLabels", s(&card, "id")), json!({"value": doomed_id})).await.ok();
        alice.post(&format!("/1/cards/{}/idLabels", s(&card, "id")), json!({"value": kept_id})).await.ok();
        cards.push(s(&card, "id"));
    }
    let before = alice.get(&format!("/1/cards/{}", cards[0])).await.ok();
    assert_eq!(before["idLabels"].as_array().unwrap().len(), 2);

    alice.delete(&format!("/1/labels/{doomed_id}")).await.ok();
    for card in &cards {
        let after = alice.get(&format!("/1/cards/{card}")).await.ok();
        assert_eq!(after["idLabels"], json!([kept_id]));
        assert_eq!(names(&after["labels"]), ["kept"]);
    }
    let view = alice.get(&format!("/1/boards/{id}?cards=all&labels=all")).await.ok();
    assert!(view["cards"].as_array().unwrap().iter().all(|c| c["idLabels"] == json!([kept_id])));
    assert_eq!(view["labelNames"]["black"], "");
    assert_eq!(view["labelNames"]["lime"], "kept");
});
