//! Spec conformance: every operation of Trello's official OpenAPI spec
//! (spec/trello-swagger.v3.json) is called on seeded data with valid parameters, and
//! its response is validated against the operation's response schema with a JSON
//! Schema validator.
//!
//! It prints `spec operations: N passed, M failed` and the failures. Operations Cork
//! does not answer yet are listed, with the reason, in spec/conformance-pending.tsv;
//! the test fails when an operation outside that list fails, and when a listed one
//! passes (so the list only ever shrinks). With CORK_ROUTE_LOG_DIR set the results go
//! to `conformance.tsv` there, for docs/compatibility.md.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde_json::{json, Map, Value};

use common::{s, Body, Client, Server};

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spec")
}

/// OpenAPI 3.0 schema → JSON Schema: `nullable: true` becomes a `null` alternative.
fn to_json_schema(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, inner) in map {
                if key == "nullable" || key == "example" || key == "deprecated" {
                    continue;
                }
                out.insert(key.clone(), to_json_schema(inner));
            }
            // A oneOf of one schema is that schema; allOf keeps the inner errors visible.
            if let Some(Value::Array(alternatives)) = out.get("oneOf") {
                if alternatives.len() == 1 {
                    let only = out.remove("oneOf").unwrap_or_default();
                    out.insert("allOf".into(), only);
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                return json!({"anyOf": [Value::Object(out), {"type": "null"}]});
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

/// One operation of the spec.
struct Operation {
    method: String,
    path: String,
    operation: Value,
}

fn operations(spec: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete"] {
            if let Some(operation) = item.get(method) {
                out.push(Operation { method: method.to_uppercase(), path: path.clone(), operation: operation.clone() });
            }
        }
    }
    // Reads first, then writes, deletes last: a delete removes a fresh object of its own.
    out.sort_by_key(|op| match op.method.as_str() {
        "GET" => 0,
        "POST" => 1,
        "PUT" => 2,
        _ => 3,
    });
    out
}

/// The objects the operations are called on.
struct Fixture {
    alice: Client,
    ids: HashMap<&'static str, String>,
}

async fn try_id(response: common::Resp, key: &str) -> Option<String> {
    (response.status == 200).then(|| response.json()[key].as_str().map(str::to_string)).flatten()
}

/// A webhook receiver on 127.0.0.1 (allow-listed for the test server) that answers
/// 200 to the HEAD check and to every delivery; returns its base URL.
async fn webhook_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::OK });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

async fn seed(server: &Server) -> Fixture {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    // alice administers the instance (its enterprise) and owns a plugin record.
    let alice_member = server.cork.member_by_username("alice").await.expect("alice");
    server.cork.set_instance_admin(&alice_member, true).await.expect("make alice an admin");
    let plugin = server
        .cork
        .create_plugin(
            &cork_core::Actor::member(alice_member),
            cork_core::plugins::PluginInput { name: Some("Spec Power-Up".into()), public: Some(true), ..Default::default() },
        )
        .await
        .expect("create plugin");
    let mut ids: HashMap<&'static str, String> = HashMap::new();
    ids.insert("plugin", plugin.id.clone());
    ids.insert("me", alice.id.clone());
    ids.insert("member", bob.id.clone());
    ids.insert("token", alice.token.clone().unwrap_or_default());
    // DELETE /tokens/{token}/ revokes a token: give it one the other calls do not use.
    let spare = server.token_for(&alice, &["read", "write", "account"]).await;
    ids.insert("spareToken", spare.token.clone().unwrap_or_default());
    ids.insert("key", alice.key.clone().unwrap_or_default());
    let org = alice.post("/1/organizations", json!({"displayName": "Spec Workspace"})).await.ok();
    ids.insert("organization", s(&org, "id"));
    alice.put(&format!("/1/organizations/{}/members/{}", s(&org, "id"), bob.id), json!({"type": "normal"})).await.ok();
    let board = alice.post("/1/boards", json!({"name": "Spec board", "idOrganization": s(&org, "id")})).await.ok();
    let board_id = s(&board, "id");
    ids.insert("board", board_id.clone());
    alice.put(&format!("/1/boards/{board_id}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let memberships = alice.get(&format!("/1/boards/{board_id}/memberships")).await.ok();
    if let Some(m) = memberships.as_array().and_then(|a| a.iter().find(|m| m["idMember"] == bob.id.as_str())) {
        ids.insert("membership", s(m, "id"));
    }
    let list = alice.list(&board_id, "Spec list").await;
    ids.insert("list", s(&list, "id"));
    let card = alice.post("/1/cards", json!({"name": "Spec card", "idList": s(&list, "id"), "idMembers": alice.id})).await.ok();
    let card_id = s(&card, "id");
    ids.insert("card", card_id.clone());
    let label = alice.post("/1/labels", json!({"idBoard": board_id, "name": "Spec", "color": "green"})).await.ok();
    ids.insert("label", s(&label, "id"));
    let spare = alice.post("/1/labels", json!({"idBoard": board_id, "name": "Spare", "color": "blue"})).await.ok();
    ids.insert("spareLabel", s(&spare, "id"));
    let second = alice.board("Spec second board").await;
    ids.insert("secondBoard", s(&second, "id"));
    alice.put(&format!("/1/boards/{board_id}"), json!({"prefs/voting": "members"})).await.ok();
    alice.post(&format!("/1/cards/{card_id}/idLabels"), json!({"value": s(&label, "id")})).await.ok();
    let checklist = alice.post(&format!("/1/cards/{card_id}/checklists"), json!({"name": "Spec checklist"})).await.ok();
    ids.insert("checklist", s(&checklist, "id"));
    let item = alice.post(&format!("/1/checklists/{}/checkItems", s(&checklist, "id")), json!({"name": "Spec item"})).await.ok();
    ids.insert("checkItem", s(&item, "id"));
    let comment = alice.post(&format!("/1/cards/{card_id}/actions/comments"), json!({"text": "Spec comment @bob"})).await.ok();
    ids.insert("action", s(&comment, "id"));
    let attachment =
        alice.post(&format!("/1/cards/{card_id}/attachments"), json!({"url": "https://example.com/spec", "name": "spec"})).await.ok();
    ids.insert("attachment", s(&attachment, "id"));
    let star = alice.post("/1/members/me/boardStars", json!({"idBoard": board_id, "pos": "top"})).await.ok();
    ids.insert("star", s(&star, "id"));
    let org_memberships = alice.get(&format!("/1/organizations/{}/memberships", s(&org, "id"))).await.json();
    if let Some(m) = org_memberships.as_array().and_then(|a| a.iter().find(|m| m["idMember"] == bob.id.as_str())) {
        ids.insert("orgMembership", s(m, "id"));
    }
    let receiver = webhook_receiver().await;
    ids.insert("receiver", receiver.clone());
    // Objects of features that may not exist yet: a failure here shows up as the
    // failures of the operations that need them.
    let optional: Vec<(&'static str, common::Resp, &str)> = vec![
        ("customField", alice.post("/1/customFields", json!({"idModel": board_id, "modelType": "board", "name": "Spec field", "type": "list", "pos": "top", "options": [{"value": {"text": "one"}, "color": "green", "pos": 1}]})).await, "id"),
        ("sticker", alice.post(&format!("/1/cards/{card_id}/stickers"), json!({"image": "taco-cool", "top": 10, "left": 10, "zIndex": 1})).await, "id"),
        ("reaction", alice.post(&format!("/1/actions/{}/reactions", s(&comment, "id")), json!({"shortName": "thumbsup"})).await, "id"),
        ("savedSearch", alice.post("/1/members/me/savedSearches", json!({"name": "Spec search", "query": "spec", "pos": "top"})).await, "id"),
        ("tag", alice.post(&format!("/1/organizations/{}/tags", s(&org, "id")), json!({"name": "spec-tag"})).await, "id"),
        ("webhook", alice.post("/1/webhooks", json!({"callbackURL": format!("{receiver}/hook"), "idModel": board_id})).await, "id"),
        ("listing", alice.post(&format!("/1/plugins/{}/listing", plugin.id), json!({"name": "Spec listing", "description": "spec", "locale": "de-DE"})).await, "id"),
        ("background", alice.send("POST", "/1/members/me/customBoardBackgrounds", multipart_png()).await, "id"),
        ("emoji", alice.send("POST", "/1/members/me/customEmoji?name=spec_emoji", multipart_png()).await, "id"),
        ("customSticker", alice.send("POST", "/1/members/me/customStickers", multipart_png()).await, "id"),
    ];
    for (name, response, key) in optional {
        if let Some(id) = try_id(response, key).await {
            ids.insert(name, id);
        }
    }
    if let Some(field) = ids.get("customField").cloned() {
        // The option routes name an option `_id`.
        if let Some(option) = alice.get(&format!("/1/customFields/{field}/options")).await.json().get(0).and_then(|o| o["_id"].as_str()) {
            ids.insert("customFieldOption", option.to_string());
        }
    }
    // bob adds alice to a card: alice gets a notification.
    let other = alice.card(&s(&list, "id"), "Spec notified card").await;
    bob.post(&format!("/1/cards/{}/idMembers", s(&other, "id")), json!({"value": alice.id})).await;
    if let Some(note) = alice.get("/1/members/me/notifications").await.json().get(0).and_then(|n| n["id"].as_str()) {
        ids.insert("notification", note.to_string());
    }
    for (name, path) in [("enterprise", "/1/members/me/enterprises")] {
        let response = alice.get(&path.replace("{board}", &board_id)).await;
        if response.status == 200 {
            if let Some(id) = response.json().get(0).and_then(|o| o["id"].as_str()) {
                ids.insert(name, id.to_string());
            }
        }
    }
    Fixture { alice, ids }
}

/// Which fixture a path parameter names.
fn fixture_for(path: &str, param: &str) -> &'static str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match param {
        "id" if path.contains("/reactions/{id}") => "reaction",
        "id" | "boardId" => match first {
            "actions" => "action",
            "boards" => "board",
            "cards" => "card",
            "checklists" => "checklist",
            "customFields" => "customField",
            "enterprises" => "enterprise",
            "labels" => "label",
            "lists" => "list",
            "members" => "me",
            "notifications" => "notification",
            "organizations" => "organization",
            "plugins" => "plugin",
            "tokens" => "token",
            "webhooks" => "webhook",
            _ => "unknown",
        },
        "idAction" => "action",
        "idCard" => "card",
        "idBoard" => "board",
        "idList" => "list",
        "idLabel" => "label",
        "idChecklist" => "checklist",
        "idCheckItem" => "checkItem",
        "idMember" if path.contains("membersVoted") => "me",
        "idMember" => "member",
        "idMembership" if path.starts_with("/organizations") => "orgMembership",
        "idMembership" => "membership",
        "idStar" => "star",
        "idSticker" => {
            if path.contains("customStickers") {
                "customSticker"
            } else {
                "sticker"
            }
        }
        "idAttachment" => "attachment",
        "idCustomField" => "customField",
        "idCustomFieldOption" => "customFieldOption",
        "idBackground" => "background",
        "idPlugin" => "plugin",
        "idListing" => "listing",
        "idWebhook" => "webhook",
        "idOrganization" | "idOrg" | "idOrganizations" => "organization",
        "idTag" => "tag",
        "idEmoji" => "emoji",
        "idSearch" => "savedSearch",
        "token" if path == "/tokens/{token}/" => "spareToken",
        "token" => "token",
        "key" => "key",
        _ => "unknown",
    }
}

/// A value for the path segments that are not ids.
fn enum_value(operation: &Value, name: &str) -> Option<String> {
    let parameters = operation["parameters"].as_array()?;
    let parameter = parameters.iter().find(|p| p["name"] == name)?;
    let mut schema = parameter["schema"].clone();
    if let Some(reference) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        schema = SPEC_SCHEMAS.get().and_then(|schemas| schemas.get(reference).cloned()).unwrap_or_default();
    }
    schema["enum"].get(0).or_else(|| schema["items"]["enum"].get(0)).and_then(Value::as_str).map(str::to_string)
}

/// The spec's component schemas, for parameters whose enum sits behind a `$ref`.
static SPEC_SCHEMAS: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();

/// A valid value for a required query parameter.
fn sample(op: &Operation, last: &str, name: &str, ids: &HashMap<&'static str, String>) -> Option<String> {
    let id = |key: &str| ids.get(key).cloned();
    Some(match name {
        "value" => match last {
            "closed"
            | "subscribed"
            | "dueComplete"
            | "showSidebar"
            | "showSidebarMembers"
            | "showSidebarBoardActions"
            | "showSidebarActivity"
            | "unread"
            | "deactivated"
            | "licensed" => "false".into(),
            "name" | "desc" | "fullName" | "bio" | "initials" => "Spec".into(),
            "pos" => "bottom".into(),
            "idList" => id("list")?,
            "idBoard" => id("board")?,
            "idLabels" => id("spareLabel")?,
            "idMembers" => id("member")?,
            "membersVoted" => id("me")?,
            "idEmailList" => id("list")?,
            "idTags" => id("tag")?,
            "idAttachmentCover" => id("attachment")?,
            "permissionLevel" => "private".into(),
            "background" => "blue".into(),
            "cardAging" => "regular".into(),
            "voting" | "comments" => "members".into(),
            "invitations" => "members".into(),
            "color" => "green".into(),
            "emailPosition" => "bottom".into(),
            "state" => "complete".into(),
            _ => enum_value(&op.operation, "value").unwrap_or_else(|| "Spec".into()),
        },
        "name" if op.method == "PUT" && op.path.starts_with("/organizations") => "spec_renamed".into(),
        "name" if op.path.starts_with("/organizations") || op.path.contains("tags") => "spec_name".into(),
        "name" => "Spec name".into(),
        "text" => "Spec text".into(),
        "idBoard" if op.path.contains("boardStars") => id("secondBoard")?,
        "idBoard" => id("board")?,
        "idPlugin" => id("plugin")?,
        "unread" => "false".into(),
        "idList" => id("list")?,
        "idCard" => id("card")?,
        "idModel" => id("board")?,
        "idOrganization" | "idOrganizations" => id("organization")?,
        "color" => "green".into(),
        "type" => enum_value(&op.operation, "type").unwrap_or_else(|| "normal".into()),
        "query" => "Spec".into(),
        "email" => "spec-invite@example.test".into(),
        "fullName" => "Spec Person".into(),
        "displayName" => "Spec Workspace Two".into(),
        "top" | "left" => "10".into(),
        "zIndex" => "1".into(),
        "pos" => "bottom".into(),
        "image" => "taco-cool".into(),
        "urls" => format!("/boards/{}", id("board")?),
        "callbackURL" => format!("{}/spec", id("receiver")?),
        _ => return None,
    })
}

/// JSON bodies for the operations the spec gives a request body.
fn body_for(op: &Operation, ids: &HashMap<&'static str, String>) -> Option<Value> {
    let id = |key: &str| ids.get(key).cloned().unwrap_or_default();
    Some(match (op.method.as_str(), op.path.as_str()) {
        ("POST", "/customFields") => {
            json!({"idModel": id("board"), "modelType": "board", "name": "Spec field 2", "type": "text", "pos": "bottom"})
        }
        ("PUT", "/customFields/{id}") => json!({"name": "Spec field renamed"}),
        ("PUT", "/cards/{idCard}/customField/{idCustomField}/item") => json!({"idValue": id("customFieldOption")}),
        ("PUT", "/cards/{idCard}/customFields") => {
            json!({"customFieldItems": [{"idCustomField": id("customField"), "idValue": id("customFieldOption")}]})
        }
        ("POST", "/actions/{idAction}/reactions") => json!({"shortName": "tada"}),
        ("POST", "/customFields/{id}/options") => json!({"value": {"text": "two"}, "color": "red", "pos": "bottom"}),
        ("PUT", "/members/{id}") => json!({"fullName": "Alice Spec"}),
        ("PUT", path) if path.contains("notificationsChannelSettings") => {
            json!({"channel": "email", "blockedKeys": ["notification_comment_card"]})
        }
        ("PUT", "/webhooks/{id}") => json!({"description": "spec"}),
        ("POST", "/webhooks/") => json!({"callbackURL": format!("{}/spec2", id("receiver")), "idModel": id("card")}),
        ("POST", "/organizations/{id}/tags") => json!({"name": "spec_tag_two"}),
        _ if op.operation.get("requestBody").is_some() => json!({}),
        _ => return None,
    })
}

/// Makes a fresh object of the kind a delete removes, so deletes never break the fixture.
async fn fresh_for_delete(op: &Operation, fixture: &Fixture, ids: &mut HashMap<&'static str, String>) {
    let alice = &fixture.alice;
    let id = |key: &str| fixture.ids.get(key).cloned().unwrap_or_default();
    let path = op.path.as_str();
    let made: Option<(&'static str, String)> = if path == "/boards/{id}" {
        Some(("board", s(&alice.board("Doomed board").await, "id")))
    } else if path == "/cards/{id}" {
        Some(("card", s(&alice.card(&id("list"), "Doomed card").await, "id")))
    } else if path == "/labels/{id}" {
        try_id(alice.post("/1/labels", json!({"idBoard": id("board"), "name": "doomed", "color": "red"})).await, "id")
            .await
            .map(|v| ("label", v))
    } else if path == "/checklists/{id}" || path == "/cards/{id}/checklists/{idChecklist}" {
        try_id(alice.post(&format!("/1/cards/{}/checklists", id("card")), json!({"name": "Doomed"})).await, "id")
            .await
            .map(|v| ("checklist", v))
    } else if path == "/actions/{id}" {
        try_id(alice.post(&format!("/1/cards/{}/actions/comments", id("card")), json!({"text": "doomed"})).await, "id")
            .await
            .map(|v| ("action", v))
    } else if path.ends_with("checkItems/{idCheckItem}") || path.ends_with("checkItem/{idCheckItem}") {
        try_id(alice.post(&format!("/1/checklists/{}/checkItems", id("checklist")), json!({"name": "doomed item"})).await, "id")
            .await
            .map(|v| ("checkItem", v))
    } else if path.ends_with("oardBackgrounds/{idBackground}") {
        try_id(alice.send("POST", "/1/members/me/customBoardBackgrounds", multipart_png()).await, "id").await.map(|v| ("background", v))
    } else if path == "/organizations/{id}/members/{idMember}/all" {
        alice.put(&format!("/1/organizations/{}/members/{}", id("organization"), id("member")), json!({"type": "normal"})).await;
        None
    } else if path == "/webhooks/{id}" || path == "/tokens/{token}/webhooks/{idWebhook}" {
        let callback = format!("{}/doomed{}", id("receiver"), path.len());
        try_id(alice.post("/1/webhooks", json!({"callbackURL": callback, "idModel": id("board")})).await, "id")
            .await
            .map(|v| ("webhook", v))
    } else if path == "/organizations/{id}" {
        try_id(alice.post("/1/organizations", json!({"displayName": "Doomed Workspace"})).await, "id").await.map(|v| ("organization", v))
    } else if path == "/customFields/{id}" {
        try_id(
            alice
                .post(
                    "/1/customFields",
                    json!({"idModel": id("board"), "modelType": "board", "name": "Doomed", "type": "text", "pos": "bottom"}),
                )
                .await,
            "id",
        )
        .await
        .map(|v| ("customField", v))
    } else {
        None
    };
    if let Some((key, value)) = made {
        ids.insert(key, value);
    }
}

async fn call(op: &Operation, fixture: &Fixture) -> Result<Value, String> {
    let mut ids = fixture.ids.clone();
    if op.method == "DELETE" {
        fresh_for_delete(op, fixture, &mut ids).await;
    }
    let mut path = String::new();
    for segment in op.path.split('/').filter(|s| !s.is_empty()) {
        path.push('/');
        let name = segment.trim_start_matches('$');
        if let Some(param) = name.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            let value = match param {
                "field" | "filter" | "channel" | "blockedKeys" => enum_value(&op.operation, param).unwrap_or_else(|| match param {
                    "channel" => "email".into(),
                    "blockedKeys" => "notification_comment_card".into(),
                    _ => "name".into(),
                }),
                _ => {
                    let kind = fixture_for(&op.path, param);
                    ids.get(kind).cloned().ok_or_else(|| format!("no {kind} to call it on"))?
                }
            };
            path.push_str(&value);
        } else {
            path.push_str(name);
        }
    }
    let last = path.rsplit('/').next().unwrap_or("").to_string();
    let mut query: Vec<String> = Vec::new();
    for parameter in op.operation["parameters"].as_array().into_iter().flatten() {
        // Required parameters, and the ones a write is pointless without.
        let wanted = parameter["required"] == true
            || (op.method != "GET" && matches!(parameter["name"].as_str(), Some("name" | "text" | "value" | "idPlugin" | "unread")));
        if parameter["in"] == "query" && wanted {
            let name = parameter["name"].as_str().unwrap_or("");
            if name == "file" {
                continue; // sent as the multipart body below
            }
            let value = sample(op, &last, name, &ids).ok_or_else(|| format!("no sample for required parameter {name}"))?;
            query.push(format!("{name}={}", urlencode(&value)));
        }
    }
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    let needs_file = op.operation["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == "file")
        || op.operation["requestBody"]["content"].get("multipart/form-data").is_some();
    let body = match body_for(op, &ids) {
        _ if needs_file => multipart_png(),
        Some(value) => Body::Json(value),
        None if op.method == "POST" || op.method == "PUT" => Body::Json(json!({})),
        None => Body::None,
    };
    let response = fixture.alice.send(&op.method, &format!("/1{path}"), body).await;
    if response.status != 200 {
        let sent = path.split("key=").next().unwrap_or("").to_string();
        return Err(format!("{} {} (sent {sent})", response.status, response.text.chars().take(120).collect::<String>()));
    }
    serde_json::from_str(&response.text)
        .map_err(|_| format!("200 without a JSON body: {}", response.text.chars().take(80).collect::<String>()))
}

/// A 1×1 PNG as a multipart `file` field, for the upload operations.
fn multipart_png() -> Body {
    static UPLOADS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = UPLOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63,
        0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
        0xae, 0x42, 0x60, 0x82,
    ];
    let boundary = "corkspecboundary";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nspec_upload_{n}\r\n").as_bytes());
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"spec.png\"\r\nContent-Type: image/png\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(PNG);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Body::Raw("multipart/form-data; boundary=corkspecboundary", body)
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn response_schema(operation: &Value) -> Option<Value> {
    let ok = operation["responses"].get("200")?;
    ok["content"]["application/json"].get("schema").cloned()
}

fn pending() -> BTreeMap<(String, String), String> {
    let text = std::fs::read_to_string(spec_dir().join("conformance-pending.tsv")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            Some(((parts.next()?.to_string(), parts.next()?.to_string()), parts.next().unwrap_or("").to_string()))
        })
        .collect()
}

/// The spec with spec/errata.json applied: each erratum replaces the schema at a JSON
/// pointer where the official spec contradicts what Trello sends (with its evidence).
fn corrected_spec() -> Value {
    let mut spec: Value =
        serde_json::from_str(&std::fs::read_to_string(spec_dir().join("trello-swagger.v3.json")).expect("spec")).expect("spec JSON");
    let errata: Value =
        serde_json::from_str(&std::fs::read_to_string(spec_dir().join("errata.json")).expect("errata")).expect("errata JSON");
    for erratum in errata["errata"].as_array().expect("errata list") {
        let pointer = erratum["pointer"].as_str().expect("pointer");
        assert!(erratum["reason"].as_str().is_some_and(|r| !r.is_empty()), "erratum {pointer} needs a reason");
        let target = spec.pointer_mut(pointer).unwrap_or_else(|| panic!("erratum {pointer} points at nothing in the spec"));
        *target = erratum["schema"].clone();
    }
    spec
}

async fn conformance(server: Server) {
    let spec = corrected_spec();
    let _ = SPEC_SCHEMAS.set(spec["components"]["schemas"].as_object().cloned().unwrap_or_default());
    let components = to_json_schema(&spec["components"]);
    let fixture = seed(&server).await;
    let mut results: Vec<(String, String, Result<(), String>)> = Vec::new();
    for op in operations(&spec) {
        let outcome = match call(&op, &fixture).await {
            Err(error) => Err(error),
            Ok(body) => match response_schema(&op.operation) {
                None => Ok(()),
                Some(schema) => {
                    let mut document = to_json_schema(&schema);
                    if let Value::Object(map) = &mut document {
                        map.insert("components".into(), components.clone());
                        map.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
                    }
                    match jsonschema::validator_for(&document) {
                        Err(error) => Err(format!("schema does not compile: {error}")),
                        Ok(validator) => {
                            let errors: Vec<String> = validator
                                .iter_errors(&body)
                                .take(4)
                                .map(|e| {
                                    let message = e.to_string();
                                    let short: String = message.chars().rev().take(90).collect::<Vec<_>>().into_iter().rev().collect();
                                    format!("at {} (schema {}): …{}", e.instance_path(), e.schema_path(), short)
                                })
                                .collect();
                            if errors.is_empty() {
                                Ok(())
                            } else {
                                Err(format!("schema: {}", errors.join("; ")))
                            }
                        }
                    }
                }
            },
        };
        results.push((op.method.clone(), op.path.clone(), outcome));
    }
    let passed = results.iter().filter(|r| r.2.is_ok()).count();
    let failed = results.len() - passed;
    println!("spec operations: {passed} passed, {failed} failed");
    for (method, path, outcome) in &results {
        if let Err(error) = outcome {
            println!("  FAIL {method} {path}: {error}");
        }
    }
    if let Some(dir) = std::env::var_os("CORK_ROUTE_LOG_DIR") {
        let lines: Vec<String> = results.iter().map(|(m, p, o)| format!("{m}\t{p}\t{}", if o.is_ok() { "pass" } else { "fail" })).collect();
        std::fs::write(PathBuf::from(dir).join("conformance.tsv"), lines.join("\n") + "\n").expect("write conformance results");
    }
    let pending = pending();
    let unexpected: Vec<String> = results
        .iter()
        .filter(|(m, p, o)| o.is_err() && !pending.contains_key(&(m.clone(), p.clone())))
        .map(|(m, p, o)| format!("{m} {p}: {}", o.as_ref().err().cloned().unwrap_or_default()))
        .collect();
    let now_passing: Vec<String> = results
        .iter()
        .filter(|(m, p, o)| o.is_ok() && pending.contains_key(&(m.clone(), p.clone())))
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert!(unexpected.is_empty(), "operations failing that are not listed in spec/conformance-pending.tsv:\n{}", unexpected.join("\n"));
    assert!(now_passing.is_empty(), "operations now passing: remove them from spec/conformance-pending.tsv:\n{}", now_passing.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spec_operation_answers_with_its_schema() {
    let server =
        Server::sqlite_with(&|c| c.webhooks.allowed_hosts = cork_api::webhooks::AllowList::parse("127.0.0.1").expect("allow-list")).await;
    conformance(server).await;
}
