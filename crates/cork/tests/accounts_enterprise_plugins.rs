//! Accounts, the instance enterprise, Power-Ups and workspace administration, told as
//! the stories of a small Cork: members managing and revoking their tokens, a Cork
//! administrator running the instance as Trello's enterprise, add-ons enabled on boards,
//! and workspace admins exporting, tagging and inviting. Every refused write is followed
//! by a read showing that nothing changed.

mod common;

use cork_core::plugins::PluginInput;
use cork_core::Actor;
use serde_json::{json, Value};

use common::{png, s, Body, Client, Server};

const UNAUTHORIZED: &str = "unauthorized permission requested";
const NOT_FOUND: &str = "The requested resource was not found.";
const INVALID_TOKEN: &str = "invalid token";

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<String> {
    let mut all: Vec<String> = value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect();
    all.sort();
    all
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    all.sort();
    all
}

/// The `id`s of a JSON array of objects.
fn ids(values: &Value) -> Vec<String> {
    values.as_array().unwrap_or_else(|| panic!("not an array: {values}")).iter().map(|v| s(v, "id")).collect()
}

/// The newest action types of a board.
async fn board_action_types(client: &Client, board: &str) -> Vec<String> {
    let actions = client.get(&format!("/1/boards/{board}/actions")).await.ok();
    actions.as_array().unwrap().iter().map(|a| s(a, "type")).collect()
}

/// Makes `client`'s member a Cork administrator, as `cork user create --admin` does.
async fn make_admin(server: &Server, client: &Client) {
    let member = server.cork.member_by_username(&client.username).await.expect("member");
    server.cork.set_instance_admin(&member, true).await.expect("make admin");
}

const BOUNDARY: &str = "cork-accounts-boundary-5Fq2";

/// A multipart body with one file in the `file` field.
fn file_body(file_name: &str, content_type: &str, bytes: &[u8]) -> Body {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Body::Raw("multipart/form-data; boundary=cork-accounts-boundary-5Fq2", body)
}

/// GETs a url outside `/1/` with the client's credentials, returning status and bytes.
async fn fetch(client: &Client, url: &str) -> (u16, Vec<u8>) {
    let mut request = client.http.get(url);
    if let (Some(key), Some(token)) = (&client.key, &client.token) {
        request = request.query(&[("key", key), ("token", token)]);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("body").to_vec())
}

both_backends!(tokens_are_read_listed_and_revoked_by_their_member, |server: Server| async move {
    let alice = server.user("alice").await;
    let reader = server.token_for(&alice, &["read"]).await;
    let bob = server.user("bob").await;
    let alice_token = alice.token.clone().unwrap();
    let reader_token = reader.token.clone().unwrap();

    // A token describes itself with Trello's Token fields, and nothing else.
    let token = alice.get(&format!("/1/tokens/{alice_token}")).await.ok();
    assert_eq!(keys(&token), sorted(&["id", "identifier", "idMember", "dateCreated", "dateExpires", "permissions"]));
    assert_eq!(token["idMember"], alice.id.as_str());
    assert_eq!(token["identifier"], "tests");
    assert_eq!(token["dateExpires"], Value::Null);
    let permissions = token["permissions"].as_array().unwrap();
    assert!(permissions.iter().all(|p| keys(p) == sorted(&["idModel", "modelType", "read", "write"])), "{token}");
    assert!(permissions.iter().any(|p| p["idModel"] == "*" && p["modelType"] == "Board" && p["write"] == true));
    let some = alice.get(&format!("/1/tokens/{alice_token}?fields=identifier")).await.ok();
    assert_eq!(some, json!({"id": token["id"], "identifier": "tests"}));
    let with_webhooks = alice.get(&format!("/1/tokens/{alice_token}?webhooks=true")).await.ok();
    assert_eq!(with_webhooks["webhooks"], json!([]));
    let member = alice.get(&format!("/1/tokens/{alice_token}/member")).await.ok();
    assert_eq!((member["id"].as_str(), member["username"].as_str()), (Some(alice.id.as_str()), Some("alice")));
    assert_eq!(member["email"], "alice@example.test");

    // A key alone may name its own token; another member may not read it.
    let key_only = Client { token: None, ..alice.clone() };
    assert_eq!(key_only.get(&format!("/1/tokens/{reader_token}")).await.ok()["idMember"], alice.id.as_str());
    bob.get(&format!("/1/tokens/{alice_token}")).await.err(401, INVALID_TOKEN);
    bob.get(&format!("/1/tokens/{alice_token}/member")).await.err(401, INVALID_TOKEN);
    alice.get("/1/tokens/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").await.err(401, INVALID_TOKEN);

    // The member lists their tokens, without a trace of the secrets.
    let listed = alice.get("/1/members/me/tokens").await;
    assert!(!listed.text.contains(&alice_token) && !listed.text.contains(&reader_token));
    let listed = listed.ok();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(listed.as_array().unwrap().iter().all(|t| keys(t) == keys(&token)));
    assert!(alice.get("/1/members/me/tokens?webhooks=true").await.ok().as_array().unwrap().iter().all(|t| t["webhooks"] == json!([])));
    bob.get(&format!("/1/members/{}/tokens", alice.id)).await.err(401, UNAUTHORIZED);

    // Revoking another token is an account change: a read-only token may not.
    reader.delete(&format!("/1/tokens/{alice_token}/")).await.err(401, UNAUTHORIZED);
    bob.delete(&format!("/1/tokens/{alice_token}/")).await.err(401, INVALID_TOKEN);
    alice.get("/1/members/me").await.ok();

    // A token may always revoke itself, and stops working at once.
    assert_eq!(reader.delete(&format!("/1/tokens/{reader_token}/")).await.ok(), json!({"_value": null}));
    reader.get("/1/members/me").await.err(401, INVALID_TOKEN);
    reader.delete(&format!("/1/tokens/{reader_token}")).await.err(401, INVALID_TOKEN);
    alice.get(&format!("/1/tokens/{reader_token}")).await.err(401, INVALID_TOKEN);
    assert_eq!(ids(&alice.get("/1/members/me/tokens").await.ok()), vec![s(&token, "id")]);

    // Revocation writes nothing to any log.
    assert_eq!(alice.get("/1/members/me/actions").await.ok(), json!([]));

    // With the account scope, a member revokes another of their tokens by its secret.
    let spare = server.token_for(&alice, &["read"]).await;
    alice.delete(&format!("/1/tokens/{}", spare.token.clone().unwrap())).await.ok();
    spare.get("/1/members/me").await.err(401, INVALID_TOKEN);
    alice.get("/1/members/me").await.ok();
});

both_backends!(applications_report_no_compliance_records, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let key = alice.key.clone().unwrap();
    assert_eq!(alice.get(&format!("/1/applications/{key}/compliance")).await.ok(), json!([]));
    alice.get("/1/applications/0123456789abcdef0123456789abcdef/compliance").await.err(404, NOT_FOUND);
    alice.get("/1/applications/not-a-key/compliance").await.err(400, "invalid value for key");
    bob.get(&format!("/1/applications/{key}/compliance")).await.err(401, UNAUTHORIZED);
    server.anonymous().get(&format!("/1/applications/{key}/compliance")).await.err(401, UNAUTHORIZED);
});

both_backends!(the_instance_is_one_enterprise_run_by_cork_admins, |server: Server| async move {
    let root = server.user("root").await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    // Nobody is an admin until made one, not even the first member.
    assert!(!server.cork.is_instance_admin(&root.id).await.unwrap());
    make_admin(&server, &root).await;

    // Every member belongs to the one enterprise, whose id never changes.
    let mine = alice.get("/1/members/me/enterprises").await.ok();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let id = s(&mine[0], "id");
    assert_eq!(s(&bob.get("/1/members/me/enterprises").await.ok()[0], "id"), id);
    let org = alice.post("/1/organizations", json!({"displayName": "Alice Works"})).await.ok();
    let enterprise = alice.get(&format!("/1/enterprises/{id}")).await.ok();
    let expected = [
        "id",
        "name",
        "displayName",
        "logoHash",
        "logoUrl",
        "prefs",
        "organizationPrefs",
        "ssoActivationFailed",
        "idAdmins",
        "enterpriseDomains",
        "isRealEnterprise",
        "pluginWhitelistingEnabled",
        "idOrganizations",
        "products",
        "licenses",
        "domains",
        "dateOrganizationPrefsLastUpdated",
        "idp",
    ];
    assert_eq!(keys(&enterprise), sorted(&expected));
    assert_eq!(enterprise["idAdmins"], json!([root.id]));
    assert_eq!(enterprise["idOrganizations"], json!([org["id"]]));
    assert_eq!(enterprise["licenses"]["totalMembers"], 3);
    assert_eq!(enterprise["name"], "cork");
    assert_eq!(alice.get("/1/enterprises/cork").await.ok()["id"], id.as_str());
    // Bob sees the enterprise but not Alice's private workspace.
    assert_eq!(bob.get(&format!("/1/enterprises/{id}")).await.ok()["idOrganizations"], json!([]));
    assert_eq!(root.get(&format!("/1/enterprises/{id}")).await.ok()["idOrganizations"], json!([org["id"]]));
    let with_members = alice.get(&format!("/1/enterprises/{id}?members=admins&member_fields=username&fields=name")).await.ok();
    assert_eq!(with_members, json!({"id": id, "name": "cork", "members": [{"id": root.id, "username": "root"}]}));
    alice.get("/1/enterprises/5f0000000000000000000000").await.err(404, NOT_FOUND);
    alice.get("/1/enterprises/no!such").await.err(400, "invalid id");
    server.anonymous().get(&format!("/1/enterprises/{id}")).await.err(401, UNAUTHORIZED);

    // Admins: anyone may list them; only admins change them.
    assert_eq!(
        alice.get(&format!("/1/enterprises/{id}/admins")).await.ok(),
        json!([{"id": root.id, "fullName": "root Tester", "username": "root"}])
    );
    alice.put(&format!("/1/enterprises/{id}/admins/{}", alice.id), json!({})).await.err(401, UNAUTHORIZED);
    alice.delete(&format!("/1/enterprises/{id}/admins/{}", root.id)).await.err(401, UNAUTHORIZED);
    assert_eq!(ids(&root.get(&format!("/1/enterprises/{id}/admins")).await.ok()), vec![root.id.clone()]);
    assert_eq!(
        root.put(&format!("/1/enterprises/{id}/admins/alice"), json!({})).await.ok(),
        json!({"id": alice.id, "fullName": "alice Tester", "username": "alice"})
    );
    assert!(server.cork.is_instance_admin(&alice.id).await.unwrap());
    alice.delete(&format!("/1/enterprises/{id}/admins/{}", alice.id)).await.ok();
    root.delete(&format!("/1/enterprises/{id}/admins/{}", root.id)).await.err(403, "cannot remove the last admin");
    assert_eq!(ids(&root.get(&format!("/1/enterprises/{id}/admins")).await.ok()), vec![root.id.clone()]);

    // Members: the list, one member, and the admins' query with their flags.
    let members = alice.get(&format!("/1/enterprises/{id}/members?sort=-username")).await.ok();
    assert_eq!(members.as_array().unwrap().iter().map(|m| s(m, "username")).collect::<Vec<_>>(), vec!["root", "bob", "alice"]);
    assert_eq!(keys(&members[0]), sorted(&["id", "avatarHash", "fullName", "initials", "username"]));
    assert_eq!(alice.get(&format!("/1/enterprises/{id}/members?count=1&startIndex=2")).await.ok().as_array().unwrap().len(), 1);
    let one = alice.get(&format!("/1/enterprises/{id}/members/{}?fields=username,idEnterprisesAdmin", root.id)).await.ok();
    assert_eq!(one, json!({"id": root.id, "username": "root", "idEnterprisesAdmin": [id]}));
    alice.get(&format!("/1/enterprises/{id}/members/query")).await.err(401, UNAUTHORIZED);
    let query = root.get(&format!("/1/enterprises/{id}/members/query?admin=true")).await.ok();
    assert_eq!(query.as_array().unwrap().len(), 1);
    assert_eq!(keys(&query[0]), sorted(&["managed", "licensed", "admin", "deactivated", "collaborator", "member"]));
    assert_eq!(query[0]["member"]["username"], "root");
    assert_eq!(query[0]["member"]["email"], "root@example.test");

    // Deactivation: only admins; the member's tokens stop at once, and come back.
    alice.put(&format!("/1/enterprises/{id}/members/{}/deactivated?value=true", bob.id), json!({})).await.err(401, UNAUTHORIZED);
    bob.get("/1/members/me").await.ok();
    root.put(&format!("/1/enterprises/{id}/members/{}/deactivated?value=true", root.id), json!({}))
        .await
        .err(403, "cannot deactivate yourself");
    let deactivated = root.put(&format!("/1/enterprises/{id}/members/{}/deactivated", bob.id), json!({"value": true})).await.ok();
    assert_eq!(deactivated["idEnterprisesDeactivated"], Value::Null, "not in the default fields");
    bob.get("/1/members/me").await.err(401, INVALID_TOKEN);
    let query = root.get(&format!("/1/enterprises/{id}/members/query?deactivated=true")).await.ok();
    assert_eq!(
        query.as_array().unwrap().iter().map(|m| m["member"]["id"].as_str().unwrap().to_string()).collect::<Vec<_>>(),
        vec![bob.id.clone()]
    );
    root.put(&format!("/1/enterprises/{id}/members/{}/deactivated", bob.id), json!({"value": false})).await.ok();
    bob.get("/1/members/me").await.ok();
    // Taking a license away deactivates; the member is then a collaborator.
    root.put(&format!("/1/enterprises/{id}/members/{}/licensed?value=false", bob.id), json!({})).await.ok();
    bob.get("/1/members/me").await.err(401, INVALID_TOKEN);
    let unlicensed = root.get(&format!("/1/enterprises/{id}/members/query?licensed=false")).await.ok();
    assert_eq!((unlicensed[0]["deactivated"].as_bool(), unlicensed[0]["collaborator"].as_bool()), (Some(true), Some(true)));
    assert_eq!(root.get(&format!("/1/enterprises/{id}")).await.ok()["licenses"]["totalMembers"], 2);
    root.put(&format!("/1/enterprises/{id}/members/{}/deactivated", bob.id), json!({"value": false})).await.ok();
    bob.get("/1/members/me").await.ok();
    root.put(&format!("/1/enterprises/{id}/members/{}/licensed", bob.id), json!({"value": "maybe"}))
        .await
        .err(400, "invalid value for value");

    // The audit log reads the whole instance's actions: admins only.
    alice.get(&format!("/1/enterprises/{id}/auditlog")).await.err(401, UNAUTHORIZED);
    let log = root.get(&format!("/1/enterprises/{id}/auditlog")).await.ok();
    let types: Vec<String> = log.as_array().unwrap().iter().map(|a| s(a, "type")).collect();
    assert_eq!(
        types,
        vec![
            "reactivatedMemberInEnterprise",
            "unlicensedMemberInEnterprise",
            "reactivatedMemberInEnterprise",
            "deactivatedMemberInEnterprise",
            "removeAdminFromEnterprise",
            "makeAdminOfEnterprise",
            "createOrganization",
            "makeAdminOfEnterprise",
        ]
    );
    assert_eq!(keys(&log[0]), sorted(&["idAction", "type", "date", "memberCreator", "member"]));
    assert_eq!(log[0]["memberCreator"], json!({"id": root.id, "username": "root", "fullName": "root Tester"}));
    assert_eq!(log[0]["member"], json!({"id": bob.id, "username": "bob", "fullName": "bob Tester"}));
    assert_eq!(log[6]["organization"]["id"], org["id"]);
    assert_eq!(root.get(&format!("/1/enterprises/{id}/auditlog?limit=2")).await.ok().as_array().unwrap().len(), 2);

    // Workspaces: all are in the enterprise already, so nothing is claimable or pending.
    let org_id = s(&org, "id");
    assert_eq!(ids(&alice.get(&format!("/1/enterprises/{id}/organizations")).await.ok()), vec![org_id.clone()]);
    assert_eq!(bob.get(&format!("/1/enterprises/{id}/organizations")).await.ok(), json!([]));
    let transferrable = json!({"transferrable": false, "newBillableMembers": [], "restrictedMembers": []});
    assert_eq!(root.get(&format!("/1/enterprises/{id}/transferrable/organization/{org_id}")).await.ok(), transferrable);
    assert_eq!(root.get(&format!("/1/enterprises/{id}/transferrable/bulk/{org_id}")).await.ok(), json!([transferrable]));
    alice.get(&format!("/1/enterprises/{id}/transferrable/organization/{org_id}")).await.err(401, UNAUTHORIZED);
    assert_eq!(
        root.get(&format!("/1/enterprises/{id}/claimableOrganizations")).await.ok(),
        json!({"organizations": [], "claimableCount": 0})
    );
    assert_eq!(root.get(&format!("/1/enterprises/{id}/pendingOrganizations")).await.ok(), json!([]));
    assert_eq!(
        ids(&root.put(&format!("/1/enterprises/{id}/organizations?idOrganization={org_id}"), json!({})).await.ok()),
        vec![org_id.clone()]
    );
    assert_eq!(ids(&root.get(&format!("/1/enterprises/{id}/organizations/bulk/{org_id}")).await.ok()), vec![org_id.clone()]);
    root.get(&format!("/1/enterprises/{id}/organizations/bulk/5f0000000000000000000000")).await.err(404, NOT_FOUND);
    root.delete(&format!("/1/enterprises/{id}/organizations/{org_id}"))
        .await
        .err(403, "a workspace cannot leave the Cork enterprise; delete the workspace instead");
    alice.get(&format!("/1/organizations/{org_id}")).await.ok();
    root.put(&format!("/1/enterprises/${id}/enterpriseJoinRequest/bulk?idOrganizations={org_id}"), json!({})).await.ok();
    alice.put(&format!("/1/enterprises/{id}/enterpriseJoinRequest/bulk?idOrganizations={org_id}"), json!({})).await.err(401, UNAUTHORIZED);

    // Members sign up on Cork itself.
    assert_eq!(
        server.anonymous().get(&format!("/1/enterprises/{id}/signupUrl")).await.ok(),
        json!({"signupUrl": format!("{}/", server.base)})
    );
});

both_backends!(enterprise_tokens_never_outlive_the_token_that_minted_them, |server: Server| async move {
    let root = server.user("root").await;
    let alice = server.user("alice").await;
    make_admin(&server, &root).await;
    let id = s(&root.get("/1/members/me/enterprises").await.ok()[0], "id");
    alice.post(&format!("/1/enterprises/{id}/tokens"), json!({})).await.err(401, UNAUTHORIZED);
    let reading = server.token_for(&root, &["read"]).await;
    reading.post(&format!("/1/enterprises/{id}/tokens"), json!({})).await.err(401, UNAUTHORIZED);
    root.post(&format!("/1/enterprises/{id}/tokens?expiration=sometimes"), json!({})).await.err(400, "invalid value for expiration");
    assert_eq!(root.get("/1/members/me/tokens").await.ok().as_array().unwrap().len(), 2, "refusals minted nothing");

    let minted = root.post(&format!("/1/enterprises/{id}/tokens?expiration=1day"), json!({})).await.ok();
    assert_eq!(keys(&minted), sorted(&["id", "identifier", "idMember", "dateCreated", "dateExpires", "permissions", "token"]));
    assert!(minted["dateExpires"].is_string());
    let grants = minted["permissions"].as_array().unwrap();
    assert!(grants.iter().any(|p| p["idModel"] == id.as_str() && p["modelType"] == "Enterprise" && p["read"] == true));
    let enterprise_client = Client { token: Some(s(&minted, "token")), ..root.clone() };
    assert_eq!(enterprise_client.get("/1/members/me").await.ok()["username"], "root");
    assert_eq!(enterprise_client.get(&format!("/1/tokens/{}", s(&minted, "token"))).await.ok()["id"], minted["id"]);

    // Revoking the token that asked revokes what it minted.
    let asking = server.token_for(&root, &["read", "write", "account"]).await;
    let child = asking.post(&format!("/1/enterprises/{id}/tokens?expiration=never"), json!({})).await.ok();
    assert_eq!(child["dateExpires"], Value::Null);
    let child_client = Client { token: Some(s(&child, "token")), ..root.clone() };
    child_client.get("/1/members/me").await.ok();
    asking.delete(&format!("/1/tokens/{}", asking.token.clone().unwrap())).await.ok();
    child_client.get("/1/members/me").await.err(401, INVALID_TOKEN);
    enterprise_client.get("/1/members/me").await.ok();

    // A token that expires cannot mint one that never does.
    let member = server.cork.member_by_username("root").await.unwrap();
    let scopes: Vec<String> = ["read", "write", "account"].iter().map(|s| s.to_string()).collect();
    let one_hour = cork_core::accounts::expiration("1hour").unwrap();
    let short = server.cork.issue_token(&member, "tests", &scopes, one_hour).await.unwrap();
    let short_client = Client { token: Some(short.token), ..root.clone() };
    short_client.post(&format!("/1/enterprises/{id}/tokens?expiration=never"), json!({})).await.err(400, "invalid value for expiration");
    let capped = short_client.post(&format!("/1/enterprises/{id}/tokens?expiration=30days"), json!({})).await.ok();
    assert!(capped["dateExpires"].as_str().unwrap() <= short.date_expires.unwrap().as_str());
});

both_backends!(power_ups_are_add_on_records_enabled_per_board, |server: Server| async move {
    let root = server.user("root").await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    make_admin(&server, &root).await;
    let root_member = server.cork.member_by_username("root").await.unwrap();
    let alice_member = server.cork.member_by_username("alice").await.unwrap();
    let input = PluginInput { name: Some("Card Timer".into()), url: Some("https://example.test/timer".into()), ..PluginInput::default() };
    assert!(server.cork.create_plugin(&Actor::member(alice_member), input.clone()).await.is_err(), "only admins create plugins");
    let plugin = server.cork.create_plugin(&Actor::member(root_member), input).await.unwrap();
    let plugin_id = plugin.id.clone();

    // The catalogue is public.
    let shown = server.anonymous().get(&format!("/1/plugins/{plugin_id}/")).await.ok();
    assert_eq!(
        (shown["id"].as_str(), shown["name"].as_str(), shown["url"].as_str()),
        (Some(plugin_id.as_str()), Some("Card Timer"), Some("https://example.test/timer"))
    );
    assert_eq!(
        (shown["listing"].clone(), shown["iframeConnectorUrl"].clone(), shown["icon"].clone()),
        (Value::Null, Value::Null, Value::Null)
    );
    alice.get("/1/plugins/5f0000000000000000000000").await.err(404, NOT_FOUND);
    alice.get("/1/plugins/timer").await.err(400, "invalid id");
    assert_eq!(alice.get(&format!("/1/plugins/{plugin_id}/compliance/memberPrivacy")).await.ok(), json!([]));

    // Only Cork administrators describe plugins.
    alice.put(&format!("/1/plugins/{plugin_id}/"), json!({"name": "Hijacked"})).await.err(401, UNAUTHORIZED);
    alice.post(&format!("/1/plugins/{plugin_id}/listing"), json!({"name": "x"})).await.err(401, UNAUTHORIZED);
    assert_eq!(alice.get(&format!("/1/plugins/{plugin_id}")).await.ok()["name"], "Card Timer");
    assert_eq!(
        root.put(&format!("/1/plugins/{plugin_id}"), json!({"name": "Card Timer Pro", "supportEmail": "help@example.test"})).await.ok()
            ["name"],
        "Card Timer Pro"
    );
    root.put(&format!("/1/plugins/{plugin_id}"), json!({"url": "javascript:alert(1)"})).await.err(400, "invalid value for url");
    let listing = root
        .post(
            &format!("/1/plugins/{plugin_id}/listing"),
            json!({"name": "Card Timer", "locale": "en-US", "description": "Times cards", "overview": "Start and stop"}),
        )
        .await
        .ok();
    assert_eq!(keys(&listing), sorted(&["id", "name", "locale", "description", "overview"]));
    root.post(&format!("/1/plugins/{plugin_id}/listing"), json!({"name": "Again", "locale": "en-US"}))
        .await
        .err(400, "the plugin already has a listing for en-US");
    let changed = root
        .put(&format!("/1/plugins/{plugin_id}/listings/{}", s(&listing, "id")), json!({"description": "Times cards precisely"}))
        .await
        .ok();
    assert_eq!(changed["description"], "Times cards precisely");
    assert_eq!(ids(&alice.get(&format!("/1/plugins/{plugin_id}/listings")).await.ok()), vec![s(&listing, "id")]);
    assert_eq!(alice.get(&format!("/1/plugins/{plugin_id}")).await.ok()["listing"]["description"], "Times cards precisely");

    // Board members enable it; outsiders may not; the board logs both changes.
    let board = alice.board("Timed").await;
    let board_id = s(&board, "id");
    assert_eq!(ids(&alice.get(&format!("/1/boards/{board_id}/plugins?filter=available")).await.ok()), vec![plugin_id.clone()]);
    assert_eq!(alice.get(&format!("/1/boards/{board_id}/plugins")).await.ok(), json!([]));
    bob.post(&format!("/1/boards/{board_id}/boardPlugins"), json!({"idPlugin": plugin_id})).await.err(401, UNAUTHORIZED);
    alice.post(&format!("/1/boards/{board_id}/boardPlugins"), json!({"idPlugin": "timer"})).await.err(400, "invalid value for idPlugin");
    assert_eq!(alice.get(&format!("/1/boards/{board_id}/boardPlugins")).await.ok(), json!([]));
    let enabled = alice.post(&format!("/1/boards/{board_id}/boardPlugins?idPlugin={plugin_id}"), json!({})).await.ok();
    assert_eq!(keys(&enabled), sorted(&["id", "idBoard", "idPlugin", "promotional"]));
    assert_eq!((enabled["idBoard"].as_str(), enabled["idPlugin"].as_str()), (Some(board_id.as_str()), Some(plugin_id.as_str())));
    assert_eq!(
        alice.post(&format!("/1/boards/{board_id}/boardPlugins"), json!({"idPlugin": plugin_id})).await.ok()["id"],
        enabled["id"],
        "enabling twice is once"
    );
    assert_eq!(alice.get(&format!("/1/boards/{board_id}/boardPlugins")).await.ok(), json!([enabled]));
    assert_eq!(ids(&alice.get(&format!("/1/boards/{board_id}/plugins?filter=enabled")).await.ok()), vec![plugin_id.clone()]);
    bob.get(&format!("/1/boards/{board_id}/boardPlugins")).await.err(401, UNAUTHORIZED);
    bob.delete(&format!("/1/boards/{board_id}/boardPlugins/{plugin_id}")).await.err(401, UNAUTHORIZED);
    alice.delete(&format!("/1/boards/{board_id}/boardPlugins/{plugin_id}")).await.ok();
    alice.delete(&format!("/1/boards/{board_id}/boardPlugins/{plugin_id}")).await.err(404, NOT_FOUND);
    assert_eq!(board_action_types(&alice, &board_id).await[..2], ["disablePlugin".to_string(), "enablePlugin".to_string()]);
    let actions = alice.get(&format!("/1/boards/{board_id}/actions?filter=enablePlugin")).await.ok();
    assert_eq!(actions[0]["data"]["plugin"], json!({"id": plugin_id, "name": "Card Timer Pro"}));

    // No plugin data is ever stored.
    let list = alice.list(&board_id, "Doing").await;
    let card = alice.card(&s(&list, "id"), "Timed card").await;
    assert_eq!(alice.get(&format!("/1/cards/{}/pluginData", s(&card, "id"))).await.ok(), json!([]));
    let org = alice.post("/1/organizations", json!({"displayName": "Timers"})).await.ok();
    assert_eq!(alice.get(&format!("/1/organizations/{}/pluginData", s(&org, "id"))).await.ok(), json!([]));
    bob.get(&format!("/1/organizations/{}/pluginData", s(&org, "id"))).await.err(401, UNAUTHORIZED);
});

both_backends!(workspace_admins_tag_export_and_brand_their_workspace, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let org = alice.post("/1/organizations", json!({"displayName": "Acme"})).await.ok();
    let org_id = s(&org, "id");
    alice.put(&format!("/1/organizations/{org_id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();

    // Tags (board collections): members create and delete them, outsiders may not.
    let tag = bob.post(&format!("/1/organizations/{org_id}/tags"), json!({"name": "Q3"})).await.ok();
    assert_eq!(keys(&tag), sorted(&["id", "name"]));
    bob.post(&format!("/1/organizations/{org_id}/tags"), json!({"name": "Q3"})).await.err(400, "A tag with that name already exists");
    bob.post(&format!("/1/organizations/{org_id}/tags"), json!({"name": "  "})).await.err(400, "invalid value for name");
    carol.post(&format!("/1/organizations/{org_id}/tags"), json!({"name": "Mine"})).await.err(401, UNAUTHORIZED);
    carol.delete(&format!("/1/organizations/{org_id}/tags/{}", s(&tag, "id"))).await.err(401, UNAUTHORIZED);
    assert_eq!(alice.get(&format!("/1/organizations/{org_id}/tags")).await.ok(), json!([tag]));
    alice.delete(&format!("/1/organizations/{org_id}/tags/{}", s(&tag, "id"))).await.ok();
    alice.delete(&format!("/1/organizations/{org_id}/tags/{}", s(&tag, "id"))).await.err(404, NOT_FOUND);
    assert_eq!(alice.get(&format!("/1/organizations/{org_id}/tags")).await.ok(), json!([]));

    // Exports: a finished job and a JSON file of every board, for admins only.
    let board = alice.post("/1/boards", json!({"name": "Roadmap", "idOrganization": org_id, "defaultLists": false})).await.ok();
    let list = alice.list(&s(&board, "id"), "Now").await;
    alice.card(&s(&list, "id"), "Ship exports").await;
    bob.post(&format!("/1/organizations/{org_id}/exports"), json!({})).await.err(401, UNAUTHORIZED);
    bob.get(&format!("/1/organizations/{org_id}/exports")).await.err(401, UNAUTHORIZED);
    assert_eq!(alice.get(&format!("/1/organizations/{org_id}/exports")).await.ok(), json!([]));
    let export = alice.post(&format!("/1/organizations/{org_id}/exports"), json!({"attachments": false})).await.ok();
    assert_eq!(keys(&export), sorted(&["id", "status", "startedAt", "size", "exportUrl"]));
    assert_eq!(export["status"], json!({"attempts": 1, "finished": true, "stage": "Export_completed"}));
    assert_eq!(alice.get(&format!("/1/organizations/{org_id}/exports")).await.ok(), json!([export]));
    let url = s(&export, "exportUrl");
    let (status, bytes) = fetch(&alice, &url).await;
    assert_eq!(status, 200);
    assert_eq!(bytes.len().to_string(), s(&export, "size"));
    let file: Value = serde_json::from_slice(&bytes).expect("the export is JSON");
    assert_eq!(file["organization"]["id"], org_id.as_str());
    assert_eq!(file["boards"][0]["name"], "Roadmap");
    assert_eq!(file["boards"][0]["lists"][0]["name"], "Now");
    assert_eq!(file["boards"][0]["cards"][0]["name"], "Ship exports");
    assert!(file["boards"][0]["actions"].as_array().unwrap().iter().any(|a| a["type"] == "createCard"));
    assert_eq!(fetch(&bob, &url).await.0, 401);
    assert_eq!(fetch(&server.anonymous(), &url).await.0, 401);

    // The logo: an image, stored and served; anything else is refused.
    let before = alice.get(&format!("/1/organizations/{org_id}")).await.ok();
    assert_eq!((before["logoHash"].clone(), before["logoUrl"].clone()), (Value::Null, Value::Null));
    alice
        .send("POST", &format!("/1/organizations/{org_id}/logo"), file_body("logo.txt", "text/plain", b"not an image"))
        .await
        .err(400, "invalid value for file");
    bob.send("POST", &format!("/1/organizations/{org_id}/logo"), file_body("logo.png", "image/png", &png())).await.err(401, UNAUTHORIZED);
    assert_eq!(alice.get(&format!("/1/organizations/{org_id}")).await.ok()["logoHash"], Value::Null);
    let branded = alice.send("POST", &format!("/1/organizations/{org_id}/logo"), file_body("logo.png", "image/png", &png())).await.ok();
    assert!(branded["logoHash"].is_string());
    let (status, bytes) = fetch(&server.anonymous(), &s(&branded, "logoUrl")).await;
    assert_eq!((status, bytes), (200, png()));
    let cleared = alice.delete(&format!("/1/organizations/{org_id}/logo")).await.ok();
    assert_eq!(cleared["logoHash"], Value::Null);
    assert_eq!(fetch(&server.anonymous(), &s(&branded, "logoUrl")).await.0, 404);
    let updates = alice.get(&format!("/1/organizations/{org_id}/actions?filter=updateOrganization")).await.ok();
    assert_eq!(updates[0]["data"]["old"]["logoHash"], branded["logoHash"]);

    // Preferences as routes.
    let restricted =
        alice.put(&format!("/1/organizations/{org_id}/prefs/boardVisibilityRestrict/public"), json!({"value": "admin"})).await.ok();
    assert_eq!(
        restricted["prefs"]["boardVisibilityRestrict"],
        json!({"private": "org", "org": "org", "enterprise": "org", "public": "admin"})
    );
    alice
        .put(&format!("/1/organizations/{org_id}/prefs/boardVisibilityRestrict/public"), json!({"value": "everyone"}))
        .await
        .err(400, "invalid value for prefs/boardVisibilityRestrict/public");
    bob.put(&format!("/1/organizations/{org_id}/prefs/orgInviteRestrict"), json!({"value": "*@acme.test"})).await.err(401, UNAUTHORIZED);
    alice.put(&format!("/1/organizations/{org_id}/prefs/orgInviteRestrict"), json!({"value": "*@acme.test"})).await.ok();
    let prefs = alice
        .put(&format!("/1/organizations/{org_id}"), json!({"prefs/associatedDomain": "acme.test", "prefs/googleAppsVersion": "2"}))
        .await
        .ok()["prefs"]
        .clone();
    assert_eq!(
        (prefs["orgInviteRestrict"].clone(), prefs["associatedDomain"].clone(), prefs["googleAppsVersion"].clone()),
        (json!(["*@acme.test"]), json!("acme.test"), json!(2))
    );
    assert_eq!(alice.get(&format!("/1/organizations/{org_id}/prefs")).await.ok()["boardVisibilityRestrict"]["public"], "admin");
    let prefs = alice.delete(&format!("/1/organizations/{org_id}/prefs/associatedDomain")).await.ok()["prefs"].clone();
    assert_eq!(prefs.get("associatedDomain"), None);
    let prefs = alice.delete(&format!("/1/organizations/{org_id}/prefs/orgInviteRestrict")).await.ok()["prefs"].clone();
    assert_eq!(prefs["orgInviteRestrict"], json!([]));
    alice.delete(&format!("/1/organizations/{org_id}/prefs/permissionLevel")).await.err(404, NOT_FOUND);

    // The legacy per-field write.
    assert_eq!(
        alice.put(&format!("/1/organizations/{org_id}/desc"), json!({"value": "We make things"})).await.ok()["desc"],
        "We make things"
    );
    alice.put(&format!("/1/organizations/{org_id}/offering"), json!({"value": "trello.business"})).await.err(404, NOT_FOUND);
});

both_backends!(workspace_membership_is_invited_deactivated_and_removed, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let org = alice.post("/1/organizations", json!({"displayName": "Crew"})).await.ok();
    let org_id = s(&org, "id");

    // Invitations by email: an existing member joins, a new address becomes a ghost.
    alice
        .put(&format!("/1/organizations/{org_id}/members"), json!({"email": "not-an-address", "fullName": "X"}))
        .await
        .err(400, "invalid value for email");
    alice
        .put(&format!("/1/organizations/{org_id}/members"), json!({"email": "x@example.test", "fullName": " X"}))
        .await
        .err(400, "invalid value for fullName");
    bob.put(&format!("/1/organizations/{org_id}/members"), json!({"email": "x@example.test", "fullName": "X"}))
        .await
        .err(401, UNAUTHORIZED);
    let joined = alice
        .put(&format!("/1/organizations/{org_id}/members"), json!({"email": "bob@example.test", "fullName": "Bob", "type": "normal"}))
        .await
        .ok();
    assert!(joined["members"].as_array().unwrap().iter().any(|m| m["username"] == "bob"));
    // An invitation restriction refuses other addresses, and writes nothing.
    alice.put(&format!("/1/organizations/{org_id}/prefs/orgInviteRestrict"), json!({"value": "*@example.test"})).await.ok();
    alice
        .put(&format!("/1/organizations/{org_id}/members"), json!({"email": "eve@elsewhere.test", "fullName": "Eve"}))
        .await
        .err(403, "the workspace only invites addresses its orgInviteRestrict allows");
    alice.get("/1/members/eve").await.err(404, NOT_FOUND);
    let invited =
        alice.put(&format!("/1/organizations/{org_id}/members?email=Dana%40Example.test&fullName=Dana%20Doe"), json!({})).await.ok();
    let dana = invited["members"].as_array().unwrap().iter().find(|m| m["fullName"] == "Dana Doe").cloned().expect("dana invited");
    assert_eq!(dana["username"], "dana");
    let dana_membership = invited["memberships"].as_array().unwrap().iter().find(|m| m["idMember"] == dana["id"]).cloned().unwrap();
    assert_eq!(dana_membership["unconfirmed"], true);
    let ghost = alice.get("/1/members/dana").await.ok();
    assert_eq!((ghost["memberType"].as_str(), ghost["confirmed"].as_bool()), (Some("ghost"), Some(false)));
    // Once given a token, the invited member sees the invitation.
    let dana_member = server.cork.member_by_username("dana").await.unwrap();
    let scopes: Vec<String> = ["read", "write", "account"].iter().map(|s| s.to_string()).collect();
    let issued = server.cork.issue_token(&dana_member, "tests", &scopes, None).await.unwrap();
    let dana_client =
        Client { key: Some(issued.key), token: Some(issued.token), id: dana_member.id.clone(), username: "dana".into(), ..alice.clone() };
    assert_eq!(ids(&dana_client.get("/1/members/me/organizationsInvited").await.ok()), vec![org_id.clone()]);
    assert_eq!(dana_client.get("/1/members/me/boardsInvited").await.ok(), json!([]));
    alice.get("/1/members/dana/organizationsInvited").await.err(401, UNAUTHORIZED);
    assert_eq!(alice.get("/1/members/me/organizationsInvited").await.ok(), json!([]));

    // One membership, with its member.
    let bob_membership = joined["memberships"].as_array().unwrap().iter().find(|m| m["idMember"] == bob.id.as_str()).cloned().unwrap();
    let one = alice
        .get(&format!("/1/organizations/{org_id}/memberships/{}?member=true&member_fields=username", s(&bob_membership, "id")))
        .await
        .ok();
    assert_eq!(one["member"], json!({"id": bob.id, "username": "bob"}));
    assert_eq!(keys(&one), sorted(&["id", "idMember", "memberType", "unconfirmed", "deactivated", "member"]));
    carol.get(&format!("/1/organizations/{org_id}/memberships/{}", s(&bob_membership, "id"))).await.err(401, UNAUTHORIZED);
    alice.get(&format!("/1/organizations/{org_id}/memberships/5f0000000000000000000000")).await.err(404, NOT_FOUND);

    // New billable guests: board members from outside the workspace.
    let board = alice
        .post("/1/boards", json!({"name": "Shared", "idOrganization": org_id, "defaultLists": false, "prefs_permissionLevel": "org"}))
        .await
        .ok();
    let board_id = s(&board, "id");
    alice.put(&format!("/1/boards/{board_id}/members/{}", carol.id), json!({"type": "normal"})).await.ok();
    alice.put(&format!("/1/boards/{board_id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let guests = alice.get(&format!("/1/organizations/{org_id}/newBillableGuests/{board_id}")).await.ok();
    assert_eq!(guests, json!([{"id": carol.id, "fullName": "carol Tester", "username": "carol", "initials": "CT", "avatarHash": ""}]));

    // Deactivation takes away the workspace and its boards, and gives them back.
    let other = alice
        .post("/1/boards", json!({"name": "Org only", "idOrganization": org_id, "defaultLists": false, "prefs_permissionLevel": "org"}))
        .await
        .ok();
    bob.get(&format!("/1/boards/{}", s(&other, "id"))).await.ok();
    bob.put(&format!("/1/organizations/{org_id}/members/{}/deactivated", alice.id), json!({"value": true})).await.err(401, UNAUTHORIZED);
    alice
        .put(&format!("/1/organizations/{org_id}/members/{}/deactivated", alice.id), json!({"value": true}))
        .await
        .err(403, "cannot remove the last admin");
    let after = alice.put(&format!("/1/organizations/{org_id}/members/{}/deactivated", bob.id), json!({"value": true})).await.ok();
    let bob_now = after["memberships"].as_array().unwrap().iter().find(|m| m["idMember"] == bob.id.as_str()).cloned().unwrap();
    assert_eq!(bob_now["deactivated"], true);
    bob.get(&format!("/1/boards/{}", s(&other, "id"))).await.err(401, UNAUTHORIZED);
    bob.get(&format!("/1/boards/{board_id}")).await.err(401, UNAUTHORIZED);
    bob.get(&format!("/1/organizations/{org_id}/tags")).await.err(401, UNAUTHORIZED);
    alice.put(&format!("/1/organizations/{org_id}/members/{}/deactivated", bob.id), json!({"value": false})).await.ok();
    bob.get(&format!("/1/boards/{board_id}")).await.ok();
    let types: Vec<String> =
        alice.get(&format!("/1/organizations/{org_id}/actions")).await.ok().as_array().unwrap().iter().map(|a| s(a, "type")).collect();
    assert_eq!(types[..2], ["reactivatedMemberInOrganization".to_string(), "deactivatedMemberInOrganization".to_string()]);

    // Removal from the workspace and every one of its boards, at once.
    carol.delete(&format!("/1/organizations/{org_id}/members/{}/all", bob.id)).await.err(401, UNAUTHORIZED);
    alice.delete(&format!("/1/organizations/{org_id}/members/{}/all", alice.id)).await.err(403, "cannot remove the last admin");
    assert!(
        alice.get(&format!("/1/boards/{board_id}/members")).await.ok().as_array().unwrap().iter().any(|m| m["id"] == alice.id.as_str()),
        "nothing was removed"
    );
    let left = alice.delete(&format!("/1/organizations/{org_id}/members/{}/all", bob.id)).await.ok();
    assert!(!left["memberships"].as_array().unwrap().iter().any(|m| m["idMember"] == bob.id.as_str()));
    assert!(!alice.get(&format!("/1/boards/{board_id}/members")).await.ok().as_array().unwrap().iter().any(|m| m["id"] == bob.id.as_str()));
    assert_eq!(board_action_types(&alice, &board_id).await[0], "removeMemberFromBoard");
    alice.delete(&format!("/1/organizations/{org_id}/members/{}/all", bob.id)).await.err(404, NOT_FOUND);
});

both_backends!(members_keep_stars_messages_and_an_avatar, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let reader = server.token_for(&alice, &["read"]).await;
    let first = alice.board("First").await;
    let second = alice.board("Second").await;
    let star_one = alice.post("/1/members/me/boardStars", json!({"idBoard": first["id"], "pos": "top"})).await.ok();
    let star_two = alice.post("/1/members/me/boardStars", json!({"idBoard": second["id"], "pos": "bottom"})).await.ok();

    // One star, and moving it.
    assert_eq!(alice.get(&format!("/1/members/me/boardStars/{}", s(&star_one, "id"))).await.ok(), star_one);
    bob.get(&format!("/1/members/{}/boardStars/{}", alice.id, s(&star_one, "id"))).await.err(401, UNAUTHORIZED);
    alice.get("/1/members/me/boardStars/5f0000000000000000000000").await.err(404, NOT_FOUND);
    reader.put(&format!("/1/members/me/boardStars/{}", s(&star_two, "id")), json!({"pos": "top"})).await.err(401, UNAUTHORIZED);
    alice
        .put(&format!("/1/members/me/boardStars/{}", s(&star_two, "id")), json!({"pos": "middle"}))
        .await
        .err(400, "invalid value for pos");
    let moved = alice.put(&format!("/1/members/me/boardStars/{}", s(&star_two, "id")), json!({"pos": "top"})).await.ok();
    assert!(moved["pos"].as_f64().unwrap() < star_one["pos"].as_f64().unwrap());
    let stars = alice.get("/1/members/me/boardStars").await.ok();
    assert_eq!(ids(&stars), vec![s(&star_two, "id"), s(&star_one, "id")]);

    // One-time messages: an account preference.
    let logged = alice.get("/1/members/me/actions").await.ok();
    assert_eq!(alice.get("/1/members/me/oneTimeMessagesDismissed").await.ok(), json!([]));
    reader.post("/1/members/me/oneTimeMessagesDismissed", json!({"value": "welcome"})).await.err(401, UNAUTHORIZED);
    bob.post(&format!("/1/members/{}/oneTimeMessagesDismissed", alice.id), json!({"value": "welcome"})).await.err(401, UNAUTHORIZED);
    alice.post("/1/members/me/oneTimeMessagesDismissed", json!({})).await.err(400, "invalid value for value");
    assert_eq!(alice.get("/1/members/me/oneTimeMessagesDismissed").await.ok(), json!([]));
    alice.post("/1/members/me/oneTimeMessagesDismissed", json!({"value": "welcome"})).await.ok();
    assert_eq!(alice.post("/1/members/me/oneTimeMessagesDismissed?value=tips", json!({})).await.ok(), json!(["welcome", "tips"]));
    assert_eq!(alice.post("/1/members/me/oneTimeMessagesDismissed", json!({"value": "tips"})).await.ok(), json!(["welcome", "tips"]));
    assert_eq!(alice.get("/1/members/me/actions").await.ok(), logged, "preferences are not logged");

    // The avatar: an image, with the account scope, served where avatarUrl points.
    reader.send("POST", "/1/members/me/avatar", file_body("me.png", "image/png", &png())).await.err(401, UNAUTHORIZED);
    alice.send("POST", "/1/members/me/avatar", file_body("me.txt", "text/plain", b"hello")).await.err(400, "invalid value for file");
    let unchanged = alice.get("/1/members/me").await.ok();
    assert_eq!((unchanged["avatarHash"].clone(), unchanged["avatarSource"].clone()), (json!(""), json!("none")));
    let member = alice.send("POST", "/1/members/me/avatar", file_body("me.png", "image/png", &png())).await.ok();
    let hash = s(&member, "avatarHash");
    assert_eq!((member["avatarSource"].as_str(), member["uploadedAvatarHash"].as_str()), (Some("upload"), Some(hash.as_str())));
    let avatar_url = s(&member, "avatarUrl");
    assert_eq!(fetch(&server.anonymous(), &format!("{avatar_url}/50.png")).await, (200, png()));
    assert_eq!(fetch(&server.anonymous(), &avatar_url).await, (200, png()));
    assert_eq!(bob.get(&format!("/1/members/{}", alice.id)).await.ok()["avatarUrl"], avatar_url.as_str());
    let updates = alice.get("/1/members/me/actions?filter=updateMember").await.ok();
    assert_eq!(updates[0]["data"]["old"]["avatarHash"], Value::Null);
    // A new avatar replaces the old one's file.
    let again = alice.send("POST", "/1/members/me/avatar", file_body("me.png", "image/png", &png())).await.ok();
    assert_ne!(s(&again, "avatarHash"), hash);
    assert_eq!(fetch(&server.anonymous(), &avatar_url).await.0, 404);
});

/// `cork user create --admin` makes an administrator; without it nobody is one, and
/// `cork plugin create` needs one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_makes_administrators_and_plugins() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cork = |args: &[&str]| {
        let output =
            std::process::Command::new(env!("CARGO_BIN_EXE_cork")).args(args).arg("--data-dir").arg(dir.path()).output().expect("run cork");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, first, _) = cork(&["user", "create", "first"]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&first).unwrap()["admin"], false);
    let (ok, _, err) = cork(&["plugin", "create", "Timer", "--user", "first"]);
    assert!(!ok && err.contains("first is not a Cork administrator"), "{err}");
    let (ok, root, _) = cork(&["user", "create", "root", "--admin"]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&root).unwrap()["admin"], true);
    let (ok, plugin, err) = cork(&["plugin", "create", "Timer", "--user", "root", "--url", "https://example.test/timer"]);
    assert!(ok, "{err}");
    let plugin: Value = serde_json::from_str(&plugin).unwrap();
    assert_eq!((plugin["name"].as_str(), plugin["public"].as_bool()), (Some("Timer"), Some(true)));
    let (ok, promoted, _) = cork(&["user", "admin", "first"]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&promoted).unwrap()["admin"], true);
    let (ok, _, _) = cork(&["user", "admin", "first", "--revoke"]);
    assert!(ok);
    let (ok, _, err) = cork(&["user", "admin", "root", "--revoke"]);
    assert!(!ok && err.contains("cannot remove the last admin"), "{err}");
}
