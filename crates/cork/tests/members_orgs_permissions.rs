//! Members, board memberships, workspaces, and who may see and change what: the
//! stories of a team sharing boards, of outsiders knocking on them, and of clients
//! presenting good, bad and borrowed credentials. Every refused request is followed
//! by a read as the owner showing that nothing changed.

mod common;

use serde_json::{json, Value};

use common::{s, Client, Server};

const UNAUTHORIZED: &str = "unauthorized permission requested";
const UNAUTHORIZED_CARD: &str = "unauthorized card permission requested";
const NOT_FOUND: &str = "The requested resource was not found.";

fn names(values: &Value) -> Vec<String> {
    let mut all: Vec<String> = values.as_array().unwrap_or_else(|| panic!("not an array: {values}")).iter().map(|v| s(v, "name")).collect();
    all.sort();
    all
}

fn usernames(values: &Value) -> Vec<String> {
    let mut all: Vec<String> =
        values.as_array().unwrap_or_else(|| panic!("not an array: {values}")).iter().map(|v| s(v, "username")).collect();
    all.sort();
    all
}

fn ids(values: &Value) -> Vec<String> {
    let mut all: Vec<String> =
        values.as_array().unwrap_or_else(|| panic!("not an array: {values}")).iter().map(|v| v.as_str().unwrap().to_string()).collect();
    all.sort();
    all
}

fn sorted(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values
}

/// The action types of a board's log, newest first (read by someone allowed to).
async fn action_types(client: &Client, board: &str) -> Vec<String> {
    let actions = client.get(&format!("/1/boards/{board}/actions?limit=1000")).await.ok();
    actions.as_array().unwrap().iter().map(|a| s(a, "type")).collect()
}

/// A board with one list and one card; returns (board, list, card) ids.
async fn furnished(client: &Client, name: &str, permission: &str) -> (String, String, String) {
    let board = client
        .post("/1/boards", json!({"name": name, "defaultLists": false, "defaultLabels": false, "prefs_permissionLevel": permission}))
        .await
        .ok();
    let board_id = s(&board, "id");
    let list = client.list(&board_id, "Plans").await;
    let card = client.card(&s(&list, "id"), "The plan").await;
    (board_id, s(&list, "id"), s(&card, "id"))
}

/// What the owner sees of a board: its name, lists, cards, labels and log length.
async fn snapshot(owner: &Client, board: &str) -> Value {
    let view =
        owner.get(&format!("/1/boards/{board}?fields=name,desc,closed,prefs&lists=all&cards=all&labels=all&memberships=all")).await.ok();
    let actions = action_types(owner, board).await;
    json!({"view": view, "actions": actions})
}

// ---------------------------------------------------------------- members

both_backends!(me_is_the_tokens_member_and_only_i_see_my_email, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let board = alice.board("Alice's board").await;
    let org = alice.post("/1/organizations", json!({"displayName": "Alice Inc"})).await.ok();

    let me = alice.get("/1/members/me").await.ok();
    assert_eq!(me["id"], alice.id.as_str());
    assert_eq!(me["username"], "alice");
    assert_eq!(me["fullName"], "alice Tester");
    assert_eq!(me["initials"], "AT");
    assert_eq!(me["email"], "alice@example.test");
    assert_eq!(me["bio"], "", "bio is a string, never null");
    assert!(me["avatarUrl"].is_string(), "avatarUrl is a string: {}", me["avatarUrl"]);
    assert!(me["url"].as_str().unwrap().ends_with("/alice"), "url: {}", me["url"]);
    assert_eq!(me["idBoards"], json!([s(&board, "id")]));
    assert_eq!(me["idOrganizations"], json!([s(&org, "id")]));

    // The same member by id and by username.
    assert_eq!(alice.get(&format!("/1/members/{}", alice.id)).await.ok(), me);
    assert_eq!(alice.get("/1/members/alice").await.ok(), me);
    assert_eq!(
        alice.get("/1/members/me?fields=username,email").await.ok(),
        json!({"id": alice.id, "username": "alice", "email": "alice@example.test"})
    );
    assert_eq!(alice.get("/1/members/me/username").await.ok(), json!({"_value": "alice"}));

    // Someone else sees the public profile, without the email and without private boards.
    let seen = bob.get("/1/members/alice").await.ok();
    assert_eq!(seen["id"], alice.id.as_str());
    assert_eq!(seen["fullName"], "alice Tester");
    assert!(seen.get("email") == Some(&Value::String(String::new())), "another member's email leaked: {}", seen["email"]);
    assert!(seen["avatarUrl"].is_string());
    assert_eq!(seen["bio"], "");
    assert_eq!(seen["idBoards"], json!([]), "alice's private board is none of bob's business");
    assert_eq!(seen["idOrganizations"], json!([]), "nor is her private workspace");
    let bob_me = bob.get("/1/members/me").await.ok();
    assert_eq!((bob_me["username"].as_str(), bob_me["email"].as_str()), (Some("bob"), Some("bob@example.test")));
    assert_eq!(bob_me["idBoards"], json!([]));

    alice.get("/1/members/nobody_here").await.err(404, NOT_FOUND);
    alice.get("/1/members/0123456789abcdef01234567").await.err(404, NOT_FOUND);
});

both_backends!(a_member_changes_their_own_name_and_bio_and_nobody_elses, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;

    let changed = alice.put("/1/members/me", json!({"fullName": "Alice Liddell", "bio": "Down the rabbit hole"})).await.ok();
    assert_eq!(changed["fullName"], "Alice Liddell");
    assert_eq!(changed["bio"], "Down the rabbit hole");
    let me = alice.get("/1/members/me").await.ok();
    assert_eq!((me["fullName"].as_str(), me["bio"].as_str()), (Some("Alice Liddell"), Some("Down the rabbit hole")));
    let update = alice.get("/1/members/me/actions?filter=updateMember").await.ok();
    assert_eq!(update[0]["data"]["old"]["fullName"], "alice Tester");
    assert_eq!(update[0]["data"]["old"]["bio"], "");
    // The legacy per-field form.
    alice.put("/1/members/me/bio", json!({"value": "Through the looking glass"})).await.ok();
    assert_eq!(alice.get("/1/members/me").await.ok()["bio"], "Through the looking glass");

    alice.put("/1/members/me", json!({"fullName": "  "})).await.err(400, "invalid value for fullName");
    bob.put(&format!("/1/members/{}", alice.id), json!({"fullName": "Mallory"})).await.err(401, UNAUTHORIZED);
    bob.put("/1/members/alice", json!({"bio": "hacked"})).await.err(401, UNAUTHORIZED);
    // A token without the account scope may not change the account either.
    let no_account = server.token_for(&alice, &["read", "write"]).await;
    no_account.put("/1/members/me", json!({"fullName": "Not Me"})).await.err(401, UNAUTHORIZED);
    let me = alice.get("/1/members/me").await.ok();
    assert_eq!((me["fullName"].as_str(), me["bio"].as_str()), (Some("Alice Liddell"), Some("Through the looking glass")));
});

both_backends!(a_members_boards_and_workspaces_are_listed_as_the_reader_may_see_them, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let org = alice.post("/1/organizations", json!({"displayName": "Guild", "name": "the_guild"})).await.ok();
    let org_id = s(&org, "id");
    alice.post("/1/boards", json!({"name": "Diary", "defaultLists": false})).await.ok();
    alice.post("/1/boards", json!({"name": "Notice board", "defaultLists": false, "prefs_permissionLevel": "public"})).await.ok();
    alice
        .post("/1/boards", json!({"name": "Guild hall", "defaultLists": false, "idOrganization": org_id, "prefs_permissionLevel": "org"}))
        .await
        .ok();

    assert_eq!(names(&alice.get(&format!("/1/members/{}/boards", alice.id)).await.ok()), ["Diary", "Guild hall", "Notice board"]);
    assert_eq!(names(&alice.get("/1/members/me/organizations").await.ok()), ["the_guild"]);
    assert_eq!(names(&bob.get("/1/members/alice/boards").await.ok()), ["Notice board"]);
    assert_eq!(bob.get("/1/members/alice/organizations").await.ok(), json!([]));
    assert_eq!(bob.get("/1/members/me/boards").await.ok(), json!([]));
    assert_eq!(bob.get("/1/members/alice").await.ok()["idBoards"].as_array().unwrap().len(), 1);

    // Once bob is in the workspace he sees its org-visible board, and the workspace.
    alice.put(&format!("/1/organizations/{org_id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    assert_eq!(names(&bob.get("/1/members/alice/boards").await.ok()), ["Guild hall", "Notice board"]);
    assert_eq!(names(&bob.get("/1/members/alice/organizations").await.ok()), ["the_guild"]);
    assert_eq!(names(&bob.get("/1/members/me/organizations").await.ok()), ["the_guild"]);
    assert_eq!(bob.get("/1/members/me").await.ok()["idOrganizations"], json!([org_id]));
    // His own boards are still only his own.
    assert_eq!(bob.get("/1/members/me/boards").await.ok(), json!([]));
});

// ---------------------------------------------------------------- board memberships

both_backends!(an_admin_adds_members_with_roles_and_the_last_admin_stays, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let dave = server.user("dave").await;
    let board = alice.board("Team").await;
    let id = s(&board, "id");

    let added = alice.put(&format!("/1/boards/{id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    assert_eq!(usernames(&added["members"]), ["alice", "bob"]);
    alice.put(&format!("/1/boards/{id}/members/{}?type=observer", carol.id), json!({})).await.ok();
    alice.put(&format!("/1/boards/{id}/members/dave"), json!({"type": "admin"})).await.ok();
    alice.put(&format!("/1/boards/{id}/members/{}", carol.id), json!({"type": "owner"})).await.err(400, "invalid value for type");

    assert_eq!(usernames(&alice.get(&format!("/1/boards/{id}/members")).await.ok()), ["alice", "bob", "carol", "dave"]);
    assert_eq!(usernames(&alice.get(&format!("/1/boards/{id}/members?filter=admins")).await.ok()), ["alice", "dave"]);
    assert_eq!(usernames(&alice.get(&format!("/1/boards/{id}/members?filter=normal")).await.ok()), ["bob"]);
    assert_eq!(usernames(&alice.get(&format!("/1/boards/{id}?members=admins")).await.ok()["members"]), ["alice", "dave"]);
    let memberships = alice.get(&format!("/1/boards/{id}/memberships")).await.ok();
    let roles: Vec<String> =
        sorted(memberships.as_array().unwrap().iter().map(|m| format!("{}:{}", s(m, "idMember"), s(m, "memberType"))).collect());
    assert_eq!(
        roles,
        sorted(vec![
            format!("{}:admin", alice.id),
            format!("{}:normal", bob.id),
            format!("{}:observer", carol.id),
            format!("{}:admin", dave.id)
        ])
    );
    assert!(memberships.as_array().unwrap().iter().all(|m| m["unconfirmed"] == false && m["deactivated"] == false));
    assert_eq!(alice.get(&format!("/1/boards/{id}/memberships?filter=admin")).await.ok().as_array().unwrap().len(), 2);
    let with_member = alice.get(&format!("/1/boards/{id}/memberships?filter=normal&member=true")).await.ok();
    assert_eq!(with_member[0]["member"]["username"], "bob");

    // A role changes through the membership id.
    let carols = memberships.as_array().unwrap().iter().find(|m| m["idMember"] == carol.id.as_str()).unwrap();
    let changed = alice.put(&format!("/1/boards/{id}/memberships/{}", s(carols, "id")), json!({"type": "normal"})).await.ok();
    assert_eq!(changed["memberType"], "normal");
    assert_eq!(changed["idMember"], carol.id.as_str());
    let promoted = alice.get(&format!("/1/boards/{id}/actions?filter=makeNormalMemberOfBoard")).await.ok();
    assert_eq!(promoted[0]["data"]["idMember"], carol.id.as_str());
    assert_eq!(promoted[0]["data"]["old"]["memberType"], "observer");

    // Removing a member closes the board to them.
    alice.delete(&format!("/1/boards/{id}/members/{}", bob.id)).await.ok();
    assert_eq!(usernames(&alice.get(&format!("/1/boards/{id}/members")).await.ok()), ["alice", "carol", "dave"]);
    bob.get(&format!("/1/boards/{id}")).await.err(401, UNAUTHORIZED);
    assert_eq!(bob.get("/1/members/me/boards").await.ok(), json!([]));
    alice.delete(&format!("/1/boards/{id}/members/{}", bob.id)).await.err(404, NOT_FOUND);

    // Dave steps down; alice is then the last admin and can neither leave nor be demoted.
    alice.put(&format!("/1/boards/{id}/members/{}", dave.id), json!({"type": "normal"})).await.ok();
    alice.delete(&format!("/1/boards/{id}/members/{}", alice.id)).await.err(403, "cannot remove the last admin");
    alice.put(&format!("/1/boards/{id}/members/{}", alice.id), json!({"type": "normal"})).await.err(403, "cannot remove the last admin");
    let own = alice.get(&format!("/1/boards/{id}/memberships?filter=me")).await.ok();
    assert_eq!(own.as_array().unwrap().len(), 1);
    alice
        .put(&format!("/1/boards/{id}/memberships/{}", s(&own[0], "id")), json!({"type": "observer"}))
        .await
        .err(403, "cannot remove the last admin");
    assert_eq!(usernames(&alice.get(&format!("/1/boards/{id}/members?filter=admins")).await.ok()), ["alice"]);

    // A member may leave by themselves.
    carol.delete(&format!("/1/boards/{id}/members/me")).await.ok();
    assert_eq!(usernames(&alice.get(&format!("/1/boards/{id}/members")).await.ok()), ["alice", "dave"]);

    let types = action_types(&alice, &id).await;
    for kind in ["addMemberToBoard", "makeNormalMemberOfBoard", "removeMemberFromBoard"] {
        assert!(types.iter().any(|t| t == kind), "{kind} missing from {types:?}");
    }
    assert_eq!(types.iter().filter(|t| *t == "addMemberToBoard").count(), 3);
    assert_eq!(types.iter().filter(|t| *t == "removeMemberFromBoard").count(), 2);
});

// ---------------------------------------------------------------- workspaces

both_backends!(a_workspace_is_created_read_updated_and_shared, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;

    let org = alice.post("/1/organizations", json!({"displayName": "Acme Corp!", "desc": "Anvils"})).await.ok();
    let org_id = s(&org, "id");
    let name = s(&org, "name");
    assert!(name.len() >= 3 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "generated name: {name}");
    assert!(name.starts_with("acme"), "generated name follows the display name: {name}");
    assert_eq!(org["displayName"], "Acme Corp!");
    assert_eq!(org["desc"], "Anvils");
    assert_eq!(org["memberships"][0]["idMember"], alice.id.as_str());
    assert_eq!(org["memberships"][0]["memberType"], "admin");
    let twin = alice.post("/1/organizations", json!({"displayName": "Acme Corp!"})).await.ok();
    assert_ne!(s(&twin, "name"), name, "names are unique");
    alice.post("/1/organizations", json!({"desc": "nameless"})).await.err(400, "invalid value for displayName");

    let by_id = alice.get(&format!("/1/organizations/{org_id}")).await.ok();
    let by_name = alice.get(&format!("/1/organizations/{name}")).await.ok();
    assert_eq!(by_id, by_name);
    assert_eq!(
        alice.get(&format!("/1/organizations/{org_id}?fields=displayName")).await.ok(),
        json!({"id": org_id, "displayName": "Acme Corp!"})
    );
    assert_eq!(alice.get(&format!("/1/organizations/{org_id}/displayName")).await.ok(), json!({"_value": "Acme Corp!"}));

    let updated = alice
        .put(
            &format!("/1/organizations/{org_id}"),
            json!({"displayName": "Acme Corporation", "desc": "Anvils and rockets", "website": "https://acme.example"}),
        )
        .await
        .ok();
    assert_eq!(updated["displayName"], "Acme Corporation");
    assert_eq!(updated["website"], "https://acme.example");
    let log = alice.get(&format!("/1/organizations/{org_id}/actions")).await.ok();
    assert_eq!(log[0]["type"], "updateOrganization");
    assert_eq!(log[0]["data"]["old"]["displayName"], "Acme Corp!");
    assert_eq!(log[0]["data"]["old"]["desc"], "Anvils");

    // A private workspace is closed to outsiders.
    bob.get(&format!("/1/organizations/{org_id}")).await.err(401, UNAUTHORIZED);
    bob.put(&format!("/1/organizations/{org_id}"), json!({"displayName": "Bob's"})).await.err(401, UNAUTHORIZED);

    // Members come and go.
    // The answer is the member (the spec's response schema), not the workspace.
    let with_bob = alice.put(&format!("/1/organizations/{org_id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    assert_eq!((with_bob["id"].as_str(), with_bob["username"].as_str()), (Some(bob.id.as_str()), Some("bob")));
    assert_eq!(alice.get(&format!("/1/organizations/{org_id}/memberships")).await.ok().as_array().unwrap().len(), 2);
    assert_eq!(usernames(&alice.get(&format!("/1/organizations/{org_id}/members")).await.ok()), ["alice", "bob"]);
    assert_eq!(bob.get(&format!("/1/organizations/{org_id}")).await.ok()["displayName"], "Acme Corporation");
    // A normal member reads but does not run the workspace.
    bob.put(&format!("/1/organizations/{org_id}"), json!({"displayName": "Bob's"})).await.err(401, UNAUTHORIZED);
    bob.put(&format!("/1/organizations/{org_id}/members/{}", alice.id), json!({"type": "normal"})).await.err(401, UNAUTHORIZED);
    alice
        .put(&format!("/1/organizations/{org_id}/members/{}", bob.id), json!({"type": "observer"}))
        .await
        .err(400, "invalid value for type");
    alice.delete(&format!("/1/organizations/{org_id}/members/{}", bob.id)).await.ok();
    assert_eq!(usernames(&alice.get(&format!("/1/organizations/{org_id}/members")).await.ok()), ["alice"]);
    bob.get(&format!("/1/organizations/{org_id}")).await.err(401, UNAUTHORIZED);
    assert_eq!(bob.get("/1/members/me/organizations").await.ok(), json!([]));
    alice.delete(&format!("/1/organizations/{org_id}/members/{}", alice.id)).await.err(403, "cannot remove the last admin");

    let types: Vec<String> =
        alice.get(&format!("/1/organizations/{org_id}/actions")).await.ok().as_array().unwrap().iter().map(|a| s(a, "type")).collect();
    assert_eq!(types, ["removeMemberFromOrganization", "addMemberToOrganization", "updateOrganization", "createOrganization"]);
    assert_eq!(alice.get(&format!("/1/organizations/{org_id}")).await.ok()["displayName"], "Acme Corporation");
});

both_backends!(a_deleted_workspace_leaves_its_boards_behind_made_private, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let org = alice.post("/1/organizations", json!({"displayName": "Temporary", "name": "temporary"})).await.ok();
    let org_id = s(&org, "id");
    alice.put(&format!("/1/organizations/{org_id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let shared = alice
        .post("/1/boards", json!({"name": "Shared", "idOrganization": org_id, "prefs_permissionLevel": "org", "defaultLists": false}))
        .await
        .ok();
    let public = alice
        .post("/1/boards", json!({"name": "Open day", "idOrganization": org_id, "prefs_permissionLevel": "public", "defaultLists": false}))
        .await
        .ok();
    let (shared_id, public_id) = (s(&shared, "id"), s(&public, "id"));
    assert_eq!(names(&alice.get(&format!("/1/organizations/{org_id}/boards")).await.ok()), ["Open day", "Shared"]);
    assert_eq!(names(&bob.get("/1/organizations/temporary/boards").await.ok()), ["Open day", "Shared"]);
    assert_eq!(bob.get(&format!("/1/boards/{shared_id}?fields=name")).await.ok()["name"], "Shared");

    bob.delete(&format!("/1/organizations/{org_id}")).await.err(401, UNAUTHORIZED);
    alice.get(&format!("/1/organizations/{org_id}")).await.ok();

    assert_eq!(alice.delete(&format!("/1/organizations/{org_id}")).await.ok(), json!({"_value": null}));
    alice.get(&format!("/1/organizations/{org_id}")).await.err(404, NOT_FOUND);
    alice.get("/1/organizations/temporary").await.err(404, NOT_FOUND);
    assert_eq!(alice.get("/1/members/me/organizations").await.ok(), json!([]));

    let shared_now = alice.get(&format!("/1/boards/{shared_id}")).await.ok();
    assert_eq!(shared_now["idOrganization"], "", "no workspace left");
    assert_eq!(shared_now["prefs"]["permissionLevel"], "private", "an org-visible board has no org left to be visible to");
    let public_now = alice.get(&format!("/1/boards/{public_id}")).await.ok();
    assert_eq!(public_now["idOrganization"], "");
    assert_eq!(public_now["prefs"]["permissionLevel"], "public");
    bob.get(&format!("/1/boards/{shared_id}")).await.err(401, UNAUTHORIZED);
    assert_eq!(bob.get(&format!("/1/boards/{public_id}?fields=name")).await.ok()["name"], "Open day");
    assert_eq!(names(&alice.get("/1/members/me/boards").await.ok()), ["Open day", "Shared"]);
});

// ---------------------------------------------------------------- permissions

both_backends!(a_private_board_is_invisible_and_untouchable_to_outsiders, |server: Server| async move {
    let alice = server.user("alice").await;
    let mallory = server.user("mallory").await;
    let (board, list, card) = furnished(&alice, "Secret plans", "private").await;
    let label = alice.post("/1/labels", json!({"idBoard": board, "name": "classified", "color": "black"})).await.ok();
    let label = s(&label, "id");
    let before = snapshot(&alice, &board).await;

    // Reads.
    mallory.get(&format!("/1/boards/{board}")).await.err(401, UNAUTHORIZED);
    mallory.get(&format!("/1/boards/{board}/lists")).await.err(401, UNAUTHORIZED);
    mallory.get(&format!("/1/boards/{board}/cards")).await.err(401, UNAUTHORIZED);
    mallory.get(&format!("/1/boards/{board}/members")).await.err(401, UNAUTHORIZED);
    mallory.get(&format!("/1/boards/{board}/actions")).await.err(401, UNAUTHORIZED);
    mallory.get(&format!("/1/boards/{board}/name")).await.err(401, UNAUTHORIZED);
    mallory.get(&format!("/1/lists/{list}")).await.err(401, UNAUTHORIZED);
    mallory.get(&format!("/1/lists/{list}/cards")).await.err(401, UNAUTHORIZED);
    mallory.get(&format!("/1/labels/{label}")).await.err(401, UNAUTHORIZED);
    mallory.get(&format!("/1/cards/{card}")).await.err(401, UNAUTHORIZED_CARD);
    mallory.get(&format!("/1/cards/{card}/actions")).await.err(401, UNAUTHORIZED_CARD);
    // Writes.
    mallory.put(&format!("/1/boards/{board}"), json!({"name": "Mine now"})).await.err(401, UNAUTHORIZED);
    mallory.put(&format!("/1/boards/{board}/closed"), json!({"value": true})).await.err(401, UNAUTHORIZED);
    mallory.delete(&format!("/1/boards/{board}")).await.err(401, UNAUTHORIZED);
    mallory.put(&format!("/1/boards/{board}/members/{}", mallory.id), json!({"type": "admin"})).await.err(401, UNAUTHORIZED);
    mallory.post("/1/lists", json!({"name": "Backdoor", "idBoard": board})).await.err(401, UNAUTHORIZED);
    mallory.put(&format!("/1/lists/{list}"), json!({"name": "Renamed"})).await.err(401, UNAUTHORIZED);
    mallory.post(&format!("/1/lists/{list}/archiveAllCards"), json!({})).await.err(401, UNAUTHORIZED);
    mallory.post("/1/labels", json!({"idBoard": board, "name": "pwned", "color": "red"})).await.err(401, UNAUTHORIZED);
    mallory.put(&format!("/1/labels/{label}"), json!({"name": "public"})).await.err(401, UNAUTHORIZED);
    mallory.delete(&format!("/1/labels/{label}")).await.err(401, UNAUTHORIZED);
    mallory.post("/1/cards", json!({"name": "Planted", "idList": list})).await.err(401, UNAUTHORIZED_CARD);
    mallory.put(&format!("/1/cards/{card}"), json!({"name": "Changed"})).await.err(401, UNAUTHORIZED_CARD);
    mallory.post(&format!("/1/cards/{card}/actions/comments"), json!({"text": "hi"})).await.err(401, UNAUTHORIZED_CARD);
    mallory.delete(&format!("/1/cards/{card}")).await.err(401, UNAUTHORIZED_CARD);
    // A copy would be a read.
    mallory.post("/1/boards", json!({"name": "Copy", "idBoardSource": board})).await.err(401, UNAUTHORIZED);

    assert_eq!(snapshot(&alice, &board).await, before, "nothing changed");
    assert_eq!(mallory.get("/1/members/me/boards").await.ok(), json!([]));
    assert!(mallory.get("/1/members/alice").await.ok()["idBoards"].as_array().unwrap().is_empty());
});

both_backends!(observers_read_normal_members_write_and_only_admins_run_the_board, |server: Server| async move {
    let alice = server.user("alice").await;
    let olga = server.user("olga").await;
    let nick = server.user("nick").await;
    let eve = server.user("eve").await;
    let (board, list, card) = furnished(&alice, "Shared work", "private").await;
    alice.put(&format!("/1/boards/{board}/members/{}", olga.id), json!({"type": "observer"})).await.ok();
    alice.put(&format!("/1/boards/{board}/members/{}", nick.id), json!({"type": "normal"})).await.ok();

    // The observer reads everything ...
    assert_eq!(olga.get(&format!("/1/boards/{board}")).await.ok()["name"], "Shared work");
    assert_eq!(names(&olga.get(&format!("/1/boards/{board}/lists")).await.ok()), ["Plans"]);
    assert_eq!(olga.get(&format!("/1/cards/{card}")).await.ok()["name"], "The plan");
    assert_eq!(names(&olga.get("/1/members/me/boards").await.ok()), ["Shared work"]);
    // ... and changes nothing.
    let before = snapshot(&alice, &board).await;
    olga.put(&format!("/1/boards/{board}"), json!({"name": "Olga's"})).await.err(401, UNAUTHORIZED);
    olga.post("/1/lists", json!({"name": "Olga's list", "idBoard": board})).await.err(401, UNAUTHORIZED);
    olga.put(&format!("/1/lists/{list}"), json!({"closed": true})).await.err(401, UNAUTHORIZED);
    olga.post("/1/labels", json!({"idBoard": board, "name": "olga", "color": "pink"})).await.err(401, UNAUTHORIZED);
    olga.post("/1/cards", json!({"name": "Olga's card", "idList": list})).await.err(401, UNAUTHORIZED_CARD);
    olga.put(&format!("/1/cards/{card}"), json!({"desc": "observed"})).await.err(401, UNAUTHORIZED_CARD);
    olga.put(&format!("/1/boards/{board}/members/{}", eve.id), json!({"type": "normal"})).await.err(401, UNAUTHORIZED);
    assert_eq!(snapshot(&alice, &board).await, before);

    // The normal member works on the board ...
    nick.put(&format!("/1/boards/{board}"), json!({"desc": "Nick was here"})).await.ok();
    let nicks = nick.list(&board, "Nick's list").await;
    nick.card(&s(&nicks, "id"), "Nick's card").await;
    nick.put(&format!("/1/cards/{card}"), json!({"name": "The better plan"})).await.ok();
    nick.post("/1/labels", json!({"idBoard": board, "name": "nick", "color": "lime"})).await.ok();
    // ... but does not run it.
    let before = snapshot(&alice, &board).await;
    nick.delete(&format!("/1/boards/{board}")).await.err(401, UNAUTHORIZED);
    nick.put(&format!("/1/boards/{board}/members/{}", eve.id), json!({"type": "normal"})).await.err(401, UNAUTHORIZED);
    nick.put(&format!("/1/boards/{board}/members/{}", olga.id), json!({"type": "admin"})).await.err(401, UNAUTHORIZED);
    nick.put(&format!("/1/boards/{board}/members/{}", nick.id), json!({"type": "admin"})).await.err(401, UNAUTHORIZED);
    nick.delete(&format!("/1/boards/{board}/members/{}", olga.id)).await.err(401, UNAUTHORIZED);
    nick.put(&format!("/1/boards/{board}"), json!({"prefs/permissionLevel": "public"})).await.err(401, UNAUTHORIZED);
    assert_eq!(snapshot(&alice, &board).await, before);
    let view = alice.get(&format!("/1/boards/{board}?fields=desc&cards=open")).await.ok();
    assert_eq!(view["desc"], "Nick was here");
    assert_eq!(names(&view["cards"]), ["Nick's card", "The better plan"]);
    eve.get(&format!("/1/boards/{board}")).await.err(401, UNAUTHORIZED);
});

both_backends!(a_public_board_is_read_by_anyone_and_written_by_members_only, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let nobody = server.anonymous();
    let (board, list, card) = furnished(&alice, "Town square", "public").await;
    // A valid key without a token reads as nobody in particular.
    let key_only = Client { token: None, ..bob.clone() };

    for reader in [&bob, &nobody, &key_only] {
        assert_eq!(reader.get(&format!("/1/boards/{board}?fields=name")).await.ok(), json!({"id": board, "name": "Town square"}));
        assert_eq!(names(&reader.get(&format!("/1/boards/{board}/lists")).await.ok()), ["Plans"]);
        assert_eq!(names(&reader.get(&format!("/1/lists/{list}/cards")).await.ok()), ["The plan"]);
        assert_eq!(reader.get(&format!("/1/cards/{card}")).await.ok()["name"], "The plan");
    }

    let before = snapshot(&alice, &board).await;
    for writer in [&bob, &nobody, &key_only] {
        writer.put(&format!("/1/boards/{board}"), json!({"name": "Graffiti"})).await.err(401, UNAUTHORIZED);
        writer.post("/1/lists", json!({"name": "Graffiti", "idBoard": board})).await.err(401, UNAUTHORIZED);
        writer.put(&format!("/1/lists/{list}"), json!({"name": "Graffiti"})).await.err(401, UNAUTHORIZED);
        writer.put(&format!("/1/cards/{card}"), json!({"name": "Graffiti"})).await.err(401, UNAUTHORIZED_CARD);
        writer.delete(&format!("/1/boards/{board}")).await.err(401, UNAUTHORIZED);
    }
    bob.post("/1/cards", json!({"name": "Graffiti", "idList": list})).await.err(401, UNAUTHORIZED_CARD);
    assert_eq!(snapshot(&alice, &board).await, before);
    // Readable is not joined: the board is not among bob's boards.
    assert_eq!(bob.get("/1/members/me/boards").await.ok(), json!([]));
    assert_eq!(names(&bob.get("/1/members/alice/boards").await.ok()), ["Town square"]);
});

both_backends!(an_org_board_is_read_by_workspace_members_only, |server: Server| async move {
    let alice = server.user("alice").await;
    let walt = server.user("walt").await;
    let otto = server.user("otto").await;
    let org = alice.post("/1/organizations", json!({"displayName": "Works", "name": "works"})).await.ok();
    let org_id = s(&org, "id");
    alice.put(&format!("/1/organizations/{org_id}/members/{}", walt.id), json!({"type": "normal"})).await.ok();
    let visible = alice
        .post("/1/boards", json!({"name": "Canteen", "idOrganization": org_id, "prefs_permissionLevel": "org", "defaultLists": false}))
        .await
        .ok();
    let hidden = alice.post("/1/boards", json!({"name": "Payroll", "idOrganization": org_id, "defaultLists": false})).await.ok();
    let (visible_id, hidden_id) = (s(&visible, "id"), s(&hidden, "id"));
    let list = alice.list(&visible_id, "Menu").await;

    // The workspace member reads the org board but does not write to it, and never sees the private one.
    assert_eq!(walt.get(&format!("/1/boards/{visible_id}?fields=name")).await.ok()["name"], "Canteen");
    assert_eq!(names(&walt.get(&format!("/1/boards/{visible_id}/lists")).await.ok()), ["Menu"]);
    let before = snapshot(&alice, &visible_id).await;
    walt.put(&format!("/1/boards/{visible_id}"), json!({"name": "Walt's canteen"})).await.err(401, UNAUTHORIZED);
    walt.post("/1/lists", json!({"name": "Specials", "idBoard": visible_id})).await.err(401, UNAUTHORIZED);
    walt.post("/1/cards", json!({"name": "Soup", "idList": s(&list, "id")})).await.err(401, UNAUTHORIZED_CARD);
    assert_eq!(snapshot(&alice, &visible_id).await, before);
    walt.get(&format!("/1/boards/{hidden_id}")).await.err(401, UNAUTHORIZED);
    assert_eq!(names(&walt.get(&format!("/1/organizations/{org_id}/boards")).await.ok()), ["Canteen"]);
    assert_eq!(names(&alice.get(&format!("/1/organizations/{org_id}/boards")).await.ok()), ["Canteen", "Payroll"]);

    // Outsiders see neither.
    otto.get(&format!("/1/boards/{visible_id}")).await.err(401, UNAUTHORIZED);
    otto.get(&format!("/1/boards/{hidden_id}")).await.err(401, UNAUTHORIZED);
    server.anonymous().get(&format!("/1/boards/{visible_id}")).await.err(401, UNAUTHORIZED);
    assert!(names(&otto.get("/1/members/alice/boards").await.ok()).is_empty());

    // Leaving the workspace closes the org board again.
    alice.delete(&format!("/1/organizations/{org_id}/members/{}", walt.id)).await.ok();
    walt.get(&format!("/1/boards/{visible_id}")).await.err(401, UNAUTHORIZED);
});

both_backends!(a_read_only_token_writes_nothing_even_for_an_admin, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let (board, list, card) = furnished(&alice, "Archive room", "private").await;
    let org = alice.post("/1/organizations", json!({"displayName": "Readers", "name": "readers"})).await.ok();
    let org_id = s(&org, "id");
    let reader = server.token_for(&alice, &["read"]).await;
    assert_eq!(reader.id, alice.id);

    // Reading works as usual.
    assert_eq!(reader.get("/1/members/me").await.ok()["username"], "alice");
    assert_eq!(reader.get(&format!("/1/boards/{board}?fields=name")).await.ok()["name"], "Archive room");
    assert_eq!(reader.get(&format!("/1/cards/{card}")).await.ok()["name"], "The plan");
    assert_eq!(names(&reader.get("/1/members/me/boards").await.ok()), ["Archive room"]);
    assert_eq!(reader.get(&format!("/1/organizations/{org_id}")).await.ok()["name"], "readers");

    let before = snapshot(&alice, &board).await;
    reader.post("/1/boards", json!({"name": "New"})).await.err(401, UNAUTHORIZED);
    reader.put(&format!("/1/boards/{board}"), json!({"name": "Renamed"})).await.err(401, UNAUTHORIZED);
    reader.put(&format!("/1/boards/{board}/closed"), json!({"value": true})).await.err(401, UNAUTHORIZED);
    reader.delete(&format!("/1/boards/{board}")).await.err(401, UNAUTHORIZED);
    reader.put(&format!("/1/boards/{board}/members/{}", bob.id), json!({"type": "normal"})).await.err(401, UNAUTHORIZED);
    reader.post("/1/lists", json!({"name": "More", "idBoard": board})).await.err(401, UNAUTHORIZED);
    reader.put(&format!("/1/lists/{list}"), json!({"name": "Less"})).await.err(401, UNAUTHORIZED);
    reader.post("/1/labels", json!({"idBoard": board, "name": "l", "color": "red"})).await.err(401, UNAUTHORIZED);
    reader.post("/1/cards", json!({"name": "More", "idList": list})).await.err(401, UNAUTHORIZED_CARD);
    reader.put(&format!("/1/cards/{card}"), json!({"name": "Less"})).await.err(401, UNAUTHORIZED_CARD);
    reader.delete(&format!("/1/cards/{card}")).await.err(401, UNAUTHORIZED_CARD);
    reader.post("/1/organizations", json!({"displayName": "Another"})).await.err(401, UNAUTHORIZED);
    reader.put(&format!("/1/organizations/{org_id}"), json!({"displayName": "Writers"})).await.err(401, UNAUTHORIZED);
    reader.delete(&format!("/1/organizations/{org_id}")).await.err(401, UNAUTHORIZED);
    reader.put("/1/members/me", json!({"fullName": "Read Only"})).await.err(401, UNAUTHORIZED);

    assert_eq!(snapshot(&alice, &board).await, before);
    assert_eq!(names(&alice.get("/1/members/me/boards").await.ok()), ["Archive room"]);
    assert_eq!(alice.get(&format!("/1/organizations/{org_id}")).await.ok()["displayName"], "Readers");
    assert_eq!(alice.get("/1/members/me").await.ok()["fullName"], "alice Tester");
    assert_eq!(names(&alice.get("/1/members/me/organizations").await.ok()), ["readers"]);
});

both_backends!(my_boards_never_list_what_i_may_not_see, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let org = alice.post("/1/organizations", json!({"displayName": "Company", "name": "company"})).await.ok();
    let org_id = s(&org, "id");
    alice.post("/1/boards", json!({"name": "Private", "defaultLists": false})).await.ok();
    alice.post("/1/boards", json!({"name": "Public", "defaultLists": false, "prefs_permissionLevel": "public"})).await.ok();
    alice
        .post("/1/boards", json!({"name": "Org", "defaultLists": false, "idOrganization": org_id, "prefs_permissionLevel": "org"}))
        .await
        .ok();
    let shared = alice.board("Shared").await;
    alice.put(&format!("/1/boards/{}/members/{}", s(&shared, "id"), bob.id), json!({"type": "normal"})).await.ok();
    bob.board("Bob's own").await;

    for filter in ["", "?filter=all", "?filter=open", "/all", "/open"] {
        assert_eq!(names(&bob.get(&format!("/1/members/me/boards{filter}")).await.ok()), ["Bob's own", "Shared"], "filter {filter:?}");
    }
    assert_eq!(bob.get(&format!("/1/members/{}/boards", bob.id)).await.ok().as_array().unwrap().len(), 2);
    assert_eq!(bob.get("/1/members/me").await.ok()["idBoards"].as_array().unwrap().len(), 2);
    // Of alice's boards, bob sees the shared and the public one.
    assert_eq!(names(&bob.get("/1/members/alice/boards").await.ok()), ["Public", "Shared"]);
    assert_eq!(ids(&bob.get("/1/members/alice").await.ok()["idBoards"]).len(), 2);

    // Removed from the board, it leaves his list.
    alice.delete(&format!("/1/boards/{}/members/{}", s(&shared, "id"), bob.id)).await.ok();
    assert_eq!(names(&bob.get("/1/members/me/boards").await.ok()), ["Bob's own"]);
    assert_eq!(names(&bob.get("/1/members/alice/boards").await.ok()), ["Public"]);
    assert_eq!(names(&alice.get("/1/members/me/boards").await.ok()), ["Org", "Private", "Public", "Shared"]);
});

// ---------------------------------------------------------------- credentials

both_backends!(credentials_are_checked_with_trellos_words, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let board = alice.board("Locked").await;
    let board_id = s(&board, "id");

    server.anonymous().get("/1/members/me").await.err(401, UNAUTHORIZED);
    server.anonymous().post("/1/boards", json!({"name": "Anonymous"})).await.err(401, UNAUTHORIZED);
    Client { token: None, ..alice.clone() }.get("/1/members/me").await.err(401, UNAUTHORIZED);

    let bad_key = Client { key: Some("0123456789abcdef0123456789abcdef".into()), ..alice.clone() };
    bad_key.get("/1/members/me").await.err(401, "invalid key");
    Client { key: Some("not-a-key".into()), ..alice.clone() }.get("/1/members/me").await.err(401, "invalid key");
    bad_key.get(&format!("/1/boards/{board_id}")).await.err(401, "invalid key");

    // A token sent without any key names no application.
    Client { key: None, ..alice.clone() }.get("/1/members/me").await.err(401, "invalid app key");

    let unknown_token = Client { token: Some("f".repeat(64)), ..alice.clone() };
    unknown_token.get("/1/members/me").await.err(401, "invalid token");
    unknown_token.put(&format!("/1/boards/{board_id}"), json!({"name": "Nope"})).await.err(401, "invalid token");

    // Bob's token is bob's, whatever key it comes with: under alice's key it is nobody's.
    let borrowed = Client { token: bob.token.clone(), ..alice.clone() };
    borrowed.get("/1/members/me").await.err(401, "invalid token");
    borrowed.get(&format!("/1/boards/{board_id}")).await.err(401, "invalid token");
    let swapped = Client { key: bob.key.clone(), ..alice.clone() };
    swapped.get("/1/members/me").await.err(401, "invalid token");

    // The genuine pairs still work, and nothing was renamed.
    assert_eq!(alice.get("/1/members/me").await.ok()["username"], "alice");
    assert_eq!(bob.get("/1/members/me").await.ok()["username"], "bob");
    assert_eq!(alice.get(&format!("/1/boards/{board_id}/name")).await.ok(), json!({"_value": "Locked"}));
});
