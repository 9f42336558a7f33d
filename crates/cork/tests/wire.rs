//! The wire layer as Trello clients meet it: path spellings, parameters from the
//! query, a form, JSON or multipart, typed values sent as strings, credentials from
//! every place clients put them, Trello's exact errors (and that a refused write
//! changes nothing), content types, CORS, batch, and odd input that must never
//! produce a 500.

mod common;

use serde_json::{json, Value};

use common::{s, Body, Client, Resp, Server};

const NOT_FOUND: &str = "The requested resource was not found.";
const UNKNOWN_ID: &str = "0123456789abcdef01234567";

/// A board with a list, a label, a card (labelled, with a checklist, a comment and
/// an attachment), so that every kind of object exists once.
struct World {
    board: String,
    list: String,
    label: String,
    card: String,
    checklist: String,
    item: String,
    comment: String,
}

async fn world(alice: &Client) -> World {
    let board = s(&alice.board("Wire").await, "id");
    let list = s(&alice.list(&board, "Inbox").await, "id");
    let label = s(&alice.post("/1/labels", json!({"idBoard": board, "name": "tag", "color": "green"})).await.ok(), "id");
    let card = s(&alice.post("/1/cards", json!({"idList": list, "name": "Subject", "idLabels": label})).await.ok(), "id");
    let checklist = s(&alice.post(&format!("/1/cards/{card}/checklists"), json!({"name": "Checks"})).await.ok(), "id");
    let item = s(&alice.post(&format!("/1/checklists/{checklist}/checkItems"), json!({"name": "one"})).await.ok(), "id");
    let comment = s(&alice.post(&format!("/1/cards/{card}/actions/comments"), json!({"text": "hello"})).await.ok(), "id");
    alice.post(&format!("/1/cards/{card}/attachments"), json!({"url": "https://example.test/doc"})).await.ok();
    World { board, list, label, card, checklist, item, comment }
}

/// Everything on a board and the length of its log: what a refused write must leave alone.
#[derive(Debug, PartialEq)]
struct Snapshot {
    board: Value,
    actions: usize,
}

async fn snapshot(client: &Client, board: &str) -> Snapshot {
    let board_view =
        client.get(&format!("/1/boards/{board}?fields=all&lists=all&cards=all&labels=all&checklists=all&members=all")).await.ok();
    let actions = client.get(&format!("/1/boards/{board}/actions?limit=1000")).await.ok().as_array().expect("actions").len();
    Snapshot { board: board_view, actions }
}

/// Sends a write that must be refused with `status`/`text`, and checks nothing changed.
async fn refused(client: &Client, board: &str, method: &str, path: &str, body: Body, status: u16, text: &str) {
    let before = snapshot(client, board).await;
    let response = client.send(method, path, body).await;
    assert_eq!((response.status, response.text.as_str()), (status, text), "{method} {path}");
    assert!(response.content_type.starts_with("text/plain"), "errors are plain text: {}", response.content_type);
    assert_eq!(snapshot(client, board).await, before, "{method} {path} was refused but changed something");
}

/// A request built by hand (headers the harness does not send).
async fn raw(request: reqwest::RequestBuilder) -> Resp {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = response.text().await.expect("body");
    Resp { status, text, content_type, headers }
}

/// The ids of a JSON array of objects.
fn ids(values: &Value) -> Vec<String> {
    values.as_array().expect("array").iter().map(|v| s(v, "id")).collect()
}

fn form(pairs: &[(&str, &str)]) -> Body {
    Body::Form(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

const MULTIPART: &str = "multipart/form-data; boundary=cork-test-boundary-7MA4YWxkTrZu0gW";

fn multipart(fields: &[(&str, &str)]) -> Body {
    let boundary = MULTIPART.split_once("boundary=").expect("boundary").1;
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    Body::Raw(MULTIPART, body.into_bytes())
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

both_backends!(path_spellings_reach_the_same_resource, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    let canonical = alice.get(&format!("/1/cards/{}", w.card)).await.ok();
    for spelling in
        [format!("/1/Card/{}", w.card), format!("/1/card/{}/", w.card), format!("/1/CARDS/{}", w.card), format!("/1//cards/{}/", w.card)]
    {
        assert_eq!(alice.get(&spelling).await.ok(), canonical, "{spelling}");
    }
    let me = alice.get("/1/members/me").await.ok();
    assert_eq!(me["id"], alice.id.as_str());
    assert_eq!(alice.get("/1/member/me").await.ok(), me);
    assert_eq!(alice.get("/1/Member/me/").await.ok(), me);
    assert_eq!(alice.get(&format!("/1/members/{}", alice.id)).await.ok()["username"], "alice");
    assert_eq!(ids(&alice.get(&format!("/1/board/{}/lists/", w.board)).await.ok()), [w.list.as_str()]);
    // A write through a singular, capitalised path is the same write.
    let renamed = alice.put(&format!("/1/Card/{}/", w.card), json!({"name": "Renamed"})).await.ok();
    assert_eq!(renamed["name"], "Renamed");
    assert_eq!(alice.get(&format!("/1/cards/{}", w.card)).await.ok()["name"], "Renamed");
});

both_backends!(parameters_arrive_in_every_encoding, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    let list = &w.list;

    // Go clients put everything in the query and send an empty form body.
    let from_query =
        alice.send("POST", &format!("/1/cards?idList={list}&name=From+query&desc=q%26a&pos=top"), Body::Form(vec![])).await.ok();
    assert_eq!(from_query["name"], "From query");
    assert_eq!(from_query["desc"], "q&a");
    // A form body.
    let from_form = alice.send("POST", "/1/cards", form(&[("idList", list), ("name", "From form ✓"), ("desc", "a=b&c")])).await.ok();
    assert_eq!(from_form["name"], "From form ✓");
    assert_eq!(from_form["desc"], "a=b&c");
    // A JSON body.
    let from_json = alice.post("/1/cards", json!({"idList": list, "name": "From JSON", "desc": "line\nbreak"})).await.ok();
    assert_eq!(from_json["desc"], "line\nbreak");
    // Multipart text fields.
    let from_multipart =
        alice.send("POST", "/1/cards", multipart(&[("idList", list), ("name", "From multipart"), ("pos", "1")])).await.ok();
    assert_eq!(from_multipart["name"], "From multipart");
    assert_eq!(from_multipart["pos"], 1.0);
    // No body and no content type at all.
    let bare = alice.send("POST", &format!("/1/cards?idList={list}&name=Bare"), Body::None).await.ok();
    assert_eq!(bare["name"], "Bare");
    for card in [&from_query, &from_form, &from_json, &from_multipart, &bare] {
        assert_eq!(card["idList"], list.as_str());
    }

    // When both carry a parameter, the body wins over the query.
    let path = format!("/1/cards/{}?name=Query+name&desc=query+desc", w.card);
    let updated = alice.send("PUT", &path, Body::Json(json!({"name": "JSON name"}))).await.ok();
    assert_eq!(updated["name"], "JSON name");
    assert_eq!(updated["desc"], "query desc", "what only the query carries still counts");
    let updated = alice.send("PUT", &path, form(&[("name", "Form name")])).await.ok();
    assert_eq!(updated["name"], "Form name");
    let updated = alice.send("PUT", &path, multipart(&[("name", "Multipart name")])).await.ok();
    assert_eq!(updated["name"], "Multipart name");

    // A GET with a `{}` body (as py-trello sends) is still a GET.
    let read = alice.send("GET", &format!("/1/cards/{}", w.card), Body::Json(json!({}))).await.ok();
    assert_eq!(read["name"], "Multipart name");
});

both_backends!(typed_values_arrive_as_strings, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    let card = format!("/1/cards/{}", w.card);
    let second = s(&alice.post("/1/labels", json!({"idBoard": w.board, "name": "two", "color": "red"})).await.ok(), "id");

    // Booleans: strings in any case, JSON booleans.
    for (body, expected) in [
        (form(&[("closed", "TRUE")]), true),
        (form(&[("closed", "False")]), false),
        (Body::Json(json!({"closed": true})), true),
        (Body::Json(json!({"closed": "false"})), false),
    ] {
        let updated = alice.send("PUT", &card, body).await.ok();
        assert_eq!(updated["closed"], expected);
    }
    assert_eq!(alice.put(&card, json!({"dueComplete": "tRuE"})).await.ok()["dueComplete"], true);
    let updated = alice.send("PUT", &format!("{card}?dueComplete=FALSE"), Body::Form(vec![])).await.ok();
    assert_eq!(updated["dueComplete"], false);

    // Numbers as strings: pos as Go's %f prints it, limit as text.
    let updated = alice.send("PUT", &card, form(&[("pos", "65535.000000")])).await.ok();
    assert_eq!(updated["pos"], 65535.0);
    assert!(updated["pos"].is_number());
    let updated = alice.put(&card, json!({"pos": 1234.5})).await.ok();
    assert_eq!(updated["pos"], 1234.5);
    let two = alice.get(&format!("/1/boards/{}/actions?limit=2", w.board)).await.ok();
    assert_eq!(two.as_array().unwrap().len(), 2);
    let two = alice.send("GET", &format!("/1/boards/{}/actions", w.board), Body::Json(json!({"limit": "2"}))).await.ok();
    assert_eq!(two.as_array().unwrap().len(), 2);

    // "null" and empty clear.
    alice.put(&card, json!({"due": "2030-01-01T00:00:00.000Z"})).await.ok();
    assert_eq!(alice.send("PUT", &card, form(&[("due", "null")])).await.ok()["due"], Value::Null);
    alice.put(&card, json!({"due": "2030-01-01"})).await.ok();
    assert_eq!(alice.send("PUT", &card, form(&[("due", "")])).await.ok()["due"], Value::Null);
    // Epoch milliseconds are a date too.
    assert_eq!(alice.send("PUT", &card, form(&[("due", "1568650757156")])).await.ok()["due"], "2019-09-16T16:19:17.156Z");

    // Comma lists, JSON arrays, and "" for none.
    let both = format!("{},{}", w.label, second);
    assert_eq!(alice.send("PUT", &card, form(&[("idLabels", &both)])).await.ok()["idLabels"], json!([w.label, second]));
    assert_eq!(alice.send("PUT", &card, form(&[("idLabels", "")])).await.ok()["idLabels"], json!([]));
    assert_eq!(alice.put(&card, json!({"idLabels": [second.clone()]})).await.ok()["idLabels"], json!([second]));
    assert_eq!(alice.put(&card, json!({"idLabels": "null"})).await.ok()["idLabels"], json!([]));
    let created =
        alice.send("POST", &format!("/1/cards?idList={}&idLabels={}&idMembers={}", w.list, both, alice.id), Body::Form(vec![])).await.ok();
    assert_eq!(created["idLabels"].as_array().unwrap().len(), 2);
    assert_eq!(created["idMembers"], json!([alice.id]));
    let filtered = alice.get(&format!("/1/boards/{}/actions?filter=createCard,commentCard", w.board)).await.ok();
    assert_eq!(filtered.as_array().unwrap().iter().map(|a| s(a, "type")).collect::<Vec<_>>(), ["createCard", "commentCard", "createCard"]);
    // fields as a comma list.
    let picked = alice.get(&format!("{card}?fields=name,idList")).await.ok();
    assert_eq!(picked.as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "name", "idList"]);
});

both_backends!(credentials_come_from_wherever_clients_put_them, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    let key = alice.key.clone().unwrap();
    let token = alice.token.clone().unwrap();
    let bare = Client { key: None, token: None, ..alice.clone() };
    let me_url = format!("{}/1/members/me", alice.base);

    // In a form body, in a JSON body.
    let me = bare.send("GET", "/1/members/me", form(&[("key", &key), ("token", &token)])).await.ok();
    assert_eq!(me["id"], alice.id.as_str());
    let me = bare.send("GET", "/1/members/me", Body::Json(json!({"key": key, "token": token}))).await.ok();
    assert_eq!(me["id"], alice.id.as_str());
    let by_form =
        bare.send("POST", "/1/cards", form(&[("key", &key), ("token", &token), ("idList", &w.list), ("name", "form creds")])).await.ok();
    let by_json = bare.post("/1/cards", json!({"key": key, "token": token, "idList": w.list, "name": "json creds"})).await.ok();

    // An unsigned OAuth header (key and token only).
    let unsigned = format!(r#"OAuth oauth_consumer_key="{key}", oauth_token="{token}""#);
    let me = raw(alice.http.get(&me_url).header("authorization", &unsigned)).await.ok();
    assert_eq!(me["id"], alice.id.as_str());
    // A full OAuth1 header as py-trello signs it; the signature is not checked.
    let signed = format!(
        r#"OAuth oauth_nonce="137846848125420653801795878161", oauth_timestamp="1795878161", oauth_version="1.0", oauth_signature_method="HMAC-SHA1", oauth_consumer_key="{key}", oauth_token="{token}", oauth_signature="4q09oUX1QMGA%2B7VKov1ZtfOnC5s%3D""#
    );
    let me = raw(alice.http.get(&me_url).header("authorization", &signed)).await.ok();
    assert_eq!(me["id"], alice.id.as_str());
    let by_oauth = raw(alice
        .http
        .post(format!("{}/1/cards", alice.base))
        .header("authorization", &signed)
        .header("content-type", "application/json; charset=utf-8")
        .body(json!({"idList": w.list, "name": "oauth creds"}).to_string()))
    .await
    .ok();

    // Every way acted as alice.
    let log = alice.get(&format!("/1/boards/{}/actions?filter=createCard&limit=3", w.board)).await.ok();
    let made: Vec<(String, String)> =
        log.as_array().unwrap().iter().map(|a| (s(&a["data"]["card"], "id"), s(a, "idMemberCreator"))).collect();
    assert_eq!(
        made,
        [(s(&by_oauth, "id"), alice.id.clone()), (s(&by_json, "id"), alice.id.clone()), (s(&by_form, "id"), alice.id.clone())]
    );

    // A wrong token is refused wherever it comes from, and changes nothing.
    let wrong = format!(r#"OAuth oauth_consumer_key="{key}", oauth_token="{}""#, "f".repeat(64));
    raw(alice.http.get(&me_url).header("authorization", &wrong)).await.err(401, "invalid token");
    let before = snapshot(&alice, &w.board).await;
    let response = raw(alice
        .http
        .put(format!("{}/1/cards/{}", alice.base, w.card))
        .header("authorization", &wrong)
        .header("content-type", "application/json")
        .body(r#"{"name":"intruder"}"#))
    .await;
    response.err(401, "invalid token");
    bare.send("PUT", &format!("/1/cards/{}", w.card), Body::Json(json!({"key": key, "token": "nope", "name": "intruder"})))
        .await
        .err(401, "invalid token");
    // No credentials at all: a private board's card is out of reach.
    assert_eq!(bare.put(&format!("/1/cards/{}", w.card), json!({"name": "intruder"})).await.status, 401);
    assert_eq!(snapshot(&alice, &w.board).await, before);
});

both_backends!(malformed_ids_are_400_and_unknown_ids_404, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    for model in ["boards", "cards", "lists", "labels", "actions", "checklists"] {
        alice.get(&format!("/1/{model}/not-an-id")).await.err(400, "invalid id");
        alice.get(&format!("/1/{model}/123")).await.err(400, "invalid id");
        alice.get(&format!("/1/{model}/{UNKNOWN_ID}")).await.err(404, NOT_FOUND);
        alice.get(&format!("/1/{model}/{}", UNKNOWN_ID.to_uppercase())).await.err(404, NOT_FOUND);
        refused(
            &alice,
            &w.board,
            "PUT",
            &format!("/1/{model}/not-an-id"),
            Body::Json(json!({"name": "x", "text": "x"})),
            400,
            "invalid id",
        )
        .await;
        refused(
            &alice,
            &w.board,
            "PUT",
            &format!("/1/{model}/{UNKNOWN_ID}"),
            Body::Json(json!({"name": "x", "text": "x"})),
            404,
            NOT_FOUND,
        )
        .await;
    }
    for model in ["boards", "cards", "labels", "actions", "checklists"] {
        refused(&alice, &w.board, "DELETE", &format!("/1/{model}/not-an-id"), Body::None, 400, "invalid id").await;
        refused(&alice, &w.board, "DELETE", &format!("/1/{model}/{UNKNOWN_ID}"), Body::None, 404, NOT_FOUND).await;
    }
    // Cards and boards also answer to shortLinks: an 8-character one that matches nothing is a 404.
    alice.get("/1/cards/abcdEFGH").await.err(404, NOT_FOUND);
    alice.get("/1/boards/abcdEFGH").await.err(404, NOT_FOUND);
    // Nested routes check the ids they are given.
    let card = format!("/1/cards/{}", w.card);
    refused(&alice, &w.board, "DELETE", &format!("{card}/idLabels/not-an-id"), Body::None, 400, "invalid id").await;
    refused(&alice, &w.board, "DELETE", &format!("{card}/idLabels/{UNKNOWN_ID}"), Body::None, 404, NOT_FOUND).await;
    refused(&alice, &w.board, "PUT", &format!("{card}/checkItem/not-an-id"), form(&[("state", "complete")]), 400, "invalid id").await;
    refused(&alice, &w.board, "PUT", &format!("{card}/checkItem/{UNKNOWN_ID}"), form(&[("state", "complete")]), 404, NOT_FOUND).await;
    refused(&alice, &w.board, "DELETE", &format!("/1/checklists/{}/checkItems/not-an-id", w.checklist), Body::None, 400, "invalid id")
        .await;
    refused(&alice, &w.board, "POST", "/1/cards/not-an-id/actions/comments", form(&[("text", "hi")]), 400, "invalid id").await;
    refused(&alice, &w.board, "POST", &format!("/1/cards/{UNKNOWN_ID}/actions/comments"), form(&[("text", "hi")]), 404, NOT_FOUND).await;
    refused(&alice, &w.board, "PUT", &format!("{card}/actions/{UNKNOWN_ID}/comments"), form(&[("text", "hi")]), 404, NOT_FOUND).await;
    refused(&alice, &w.board, "POST", &format!("/1/checklists/{UNKNOWN_ID}/checkItems"), form(&[("name", "x")]), 404, NOT_FOUND).await;
    refused(&alice, &w.board, "POST", "/1/labels", form(&[("idBoard", UNKNOWN_ID), ("name", "x"), ("color", "red")]), 404, NOT_FOUND).await;
    refused(&alice, &w.board, "POST", "/1/lists", form(&[("idBoard", UNKNOWN_ID), ("name", "x")]), 404, NOT_FOUND).await;
    // The objects themselves are untouched and still readable.
    assert_eq!(alice.get(&format!("/1/actions/{}", w.comment)).await.ok()["data"]["text"], "hello");
    assert_eq!(alice.get(&format!("/1/checklists/{}", w.checklist)).await.ok()["checkItems"][0]["id"], w.item.as_str());
    assert_eq!(alice.get(&format!("/1/labels/{}", w.label)).await.ok()["name"], "tag");
});

both_backends!(card_writes_with_bad_values_are_refused_whole, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    let b = &w.board;

    // Where the card would go.
    refused(&alice, b, "POST", "/1/cards", Body::Json(json!({"name": "orphan"})), 400, "invalid value for idList").await;
    refused(&alice, b, "POST", "/1/cards?name=orphan", Body::Form(vec![]), 400, "invalid value for idList").await;
    refused(&alice, b, "POST", "/1/cards", Body::Json(json!({"name": "orphan", "idList": "nope"})), 400, "invalid value for idList").await;
    refused(&alice, b, "POST", "/1/cards", Body::Json(json!({"name": "orphan", "idList": ""})), 400, "invalid value for idList").await;
    refused(
        &alice,
        b,
        "POST",
        "/1/cards",
        Body::Json(json!({"name": "orphan", "idList": UNKNOWN_ID})),
        404,
        "could not find the board that the card belongs to",
    )
    .await;

    // Values of the wrong shape, on create and on update, in every encoding.
    let card = format!("/1/cards/{}", w.card);
    let list = w.list.as_str();
    for (field, value, message) in [
        ("closed", "maybe", "invalid value for closed"),
        ("pos", "middle", "invalid value for pos"),
        ("pos", "-5", "invalid value for pos"),
        ("due", "notadate", "invalid value for due"),
        ("dueComplete", "yes please", "invalid value for dueComplete"),
        ("idLabels", "zzz", "invalid value for idLabels"),
        ("idMembers", UNKNOWN_ID, "invalid value for idMembers"),
    ] {
        refused(&alice, b, "PUT", &card, form(&[(field, value)]), 400, message).await;
        refused(&alice, b, "PUT", &format!("{card}?{field}={}", encode(value)), Body::Form(vec![]), 400, message).await;
        refused(&alice, b, "PUT", &card, Body::Json(json!({ field: value, "name": "should not stick" })), 400, message).await;
        if field != "closed" {
            refused(
                &alice,
                b,
                "POST",
                "/1/cards",
                Body::Json(json!({ field: value, "idList": list, "name": "should not exist" })),
                400,
                message,
            )
            .await;
        }
    }
    refused(&alice, b, "PUT", &card, Body::Json(json!({"name": {"text": "object"}})), 400, "invalid value for name").await;
    refused(&alice, b, "PUT", &card, Body::Json(json!({"name": ["a", "list"]})), 400, "invalid value for name").await;
    refused(&alice, b, "POST", "/1/cards", Body::Json(json!({"name": {"text": "object"}, "idList": list})), 400, "invalid value for name")
        .await;
    refused(&alice, b, "PUT", &card, Body::Json(json!({"name": ""})), 400, "invalid value for name").await;
    refused(&alice, b, "PUT", &card, Body::Json(json!({"name": "nul\u{0}byte"})), 400, "invalid value for name").await;
    refused(&alice, b, "PUT", &format!("{card}?desc=nul%00byte"), Body::Form(vec![]), 400, "invalid value for desc").await;
    refused(&alice, b, "PUT", &card, Body::Json(json!({"idList": "nope"})), 400, "invalid value for idList").await;
    refused(&alice, b, "PUT", &card, Body::Json(json!({"idList": UNKNOWN_ID})), 404, NOT_FOUND).await;
    refused(&alice, b, "PUT", &format!("{card}/closed"), Body::Json(json!({"value": "maybe"})), 400, "invalid value for closed").await;
    refused(&alice, b, "PUT", &format!("{card}/closed"), Body::Json(json!({})), 400, "invalid value for value").await;
    refused(&alice, b, "POST", &format!("{card}/actions/comments"), Body::Json(json!({"text": ""})), 400, "invalid value for text").await;
    refused(&alice, b, "POST", &format!("{card}/actions/comments"), Body::Json(json!({})), 400, "invalid value for text").await;

    // The same rules hold for boards and lists.
    refused(&alice, b, "PUT", &format!("/1/boards/{b}"), form(&[("closed", "maybe")]), 400, "invalid value for closed").await;
    refused(&alice, b, "PUT", &format!("/1/lists/{list}"), form(&[("closed", "maybe")]), 400, "invalid value for closed").await;
    refused(&alice, b, "PUT", &format!("/1/lists/{list}"), form(&[("pos", "middle")]), 400, "invalid value for pos").await;
    refused(&alice, b, "PUT", &format!("/1/labels/{}", w.label), form(&[("color", "plaid")]), 400, "invalid value for color").await;

    // No refused create used up a card number.
    assert_eq!(alice.card(list, "Second card").await["idShort"], 2);
});

both_backends!(bodies_that_cannot_be_read_are_refused, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    let card = format!("/1/cards/{}", w.card);
    let json_type = "application/json; charset=utf-8";

    for body in [
        &b"{\"name\": "[..],
        b"{name: 'single quotes'}",
        b"[\"an\", \"array\"]",
        b"\"a string\"",
        b"{\"name\": \"x\"} trailing",
        b"\xff\xfe{}",
    ] {
        refused(&alice, &w.board, "PUT", &card, Body::Raw(json_type, body.to_vec()), 400, "error parsing body").await;
        refused(&alice, &w.board, "POST", "/1/cards", Body::Raw(json_type, body.to_vec()), 400, "error parsing body").await;
    }
    // A JSON body over 1 MiB.
    let huge = json!({"name": "big", "desc": "x".repeat((1 << 20) + 1)}).to_string().into_bytes();
    refused(&alice, &w.board, "PUT", &card, Body::Raw(json_type, huge.clone()), 413, "request entity too large").await;
    refused(&alice, &w.board, "POST", &format!("{card}/actions/comments"), Body::Raw(json_type, huge), 413, "request entity too large")
        .await;
    let huge_form = format!("name={}", "y".repeat((1 << 20) + 1)).into_bytes();
    refused(&alice, &w.board, "PUT", &card, Body::Raw("application/x-www-form-urlencoded", huge_form), 413, "request entity too large")
        .await;
    // A body just under the limit is read (and then judged on its values).
    let big_desc = json!({"desc": "z".repeat(20_000)}).to_string().into_bytes();
    refused(&alice, &w.board, "PUT", &card, Body::Raw(json_type, big_desc), 400, "invalid value for desc").await;
    // Empty and whitespace-only bodies are no body.
    let read = alice.send("PUT", &format!("{card}?name=Empty+body"), Body::Raw(json_type, Vec::new())).await.ok();
    assert_eq!(read["name"], "Empty body");
    let read = alice.send("PUT", &format!("{card}?name=Blank+body"), Body::Raw(json_type, b"  \n ".to_vec())).await.ok();
    assert_eq!(read["name"], "Blank body");
});

both_backends!(unknown_routes_answer_like_express, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    let anonymous = server.anonymous();
    anonymous.get("/1/nothing/here").await.err(404, "Cannot GET /1/nothing/here");
    anonymous.get("/1/lists123").await.err(404, "Cannot GET /1/lists123");
    anonymous.send("POST", "/1/nothing", Body::Json(json!({}))).await.err(404, "Cannot POST /1/nothing");
    // The path is echoed as it was sent, with its query (credentials included, as Trello does).
    let key = alice.key.clone().unwrap();
    let token = alice.token.clone().unwrap();
    alice.get("/1/boards/").await.err(404, &format!("Cannot GET /1/boards/?key={key}&token={token}"));
    alice.get("/1/cards/").await.err(404, &format!("Cannot GET /1/cards/?key={key}&token={token}"));
    anonymous.get("/1/Nothing/At/All/").await.err(404, "Cannot GET /1/Nothing/At/All/");
    refused(
        &alice,
        &w.board,
        "PUT",
        &format!("/1/cards/{}/nonsense/deeper", w.card),
        Body::Json(json!({"value": 1})),
        404,
        &format!("Cannot PUT /1/cards/{}/nonsense/deeper?key={key}&token={token}", w.card),
    )
    .await;
    // A path that exists but not for this method is the same 404.
    refused(
        &alice,
        &w.board,
        "DELETE",
        &format!("/1/lists/{}", w.list),
        Body::None,
        404,
        &format!("Cannot DELETE /1/lists/{}?key={key}&token={token}", w.list),
    )
    .await;
    refused(
        &alice,
        &w.board,
        "PATCH",
        &format!("/1/cards/{}", w.card),
        Body::Json(json!({"name": "x"})),
        404,
        &format!("Cannot PATCH /1/cards/{}?key={key}&token={token}", w.card),
    )
    .await;
    refused(
        &alice,
        &w.board,
        "POST",
        &format!("/1/Boards/{}/", w.board),
        Body::Json(json!({"name": "x"})),
        404,
        &format!("Cannot POST /1/Boards/{}/?key={key}&token={token}", w.board),
    )
    .await;
    // A known model with an unknown field is Trello's 404 for a missing resource.
    alice.get(&format!("/1/cards/{}/nonsense", w.card)).await.err(404, NOT_FOUND);
    refused(&alice, &w.board, "PUT", &format!("/1/cards/{}/nonsense", w.card), Body::Json(json!({"value": 1})), 404, NOT_FOUND).await;
});

both_backends!(successes_are_json_and_errors_plain_text, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    let attachment = alice.get(&format!("/1/cards/{}/attachments", w.card)).await.ok()[0]["id"].as_str().unwrap().to_string();
    // Every success is a 200 with JSON and the charset clients look for, deletes included.
    let successes = [
        ("GET", format!("/1/boards/{}", w.board), json!(null)),
        ("PUT", format!("/1/cards/{}", w.card), json!(null)),
        ("POST", format!("/1/cards/{}/actions/comments?text=more", w.card), json!(null)),
        ("DELETE", format!("/1/actions/{}", w.comment), json!(null)),
        ("DELETE", format!("/1/checklists/{}/checkItems/{}", w.checklist, w.item), json!(null)),
        ("DELETE", format!("/1/checklists/{}", w.checklist), json!(null)),
        ("DELETE", format!("/1/cards/{}/attachments/{}", w.card, attachment), json!({"limits": {}})),
        ("DELETE", format!("/1/cards/{}/idLabels/{}", w.card, w.label), json!(null)),
        ("DELETE", format!("/1/labels/{}", w.label), json!({"_value": null})),
        ("DELETE", format!("/1/cards/{}", w.card), json!({"limits": {}})),
        ("DELETE", format!("/1/boards/{}", w.board), json!({"_value": null})),
    ];
    for (method, path, expected) in successes {
        let response = alice.send(method, &path, Body::None).await;
        let body = response.ok();
        if !expected.is_null() {
            assert_eq!(body, expected, "{method} {path}");
        }
    }
    // The board is gone with everything on it.
    alice.get(&format!("/1/boards/{}", w.board)).await.err(404, NOT_FOUND);
    alice.get(&format!("/1/lists/{}", w.list)).await.err(404, NOT_FOUND);
    // Errors are plain text, whatever the status.
    for response in [
        alice.get("/1/cards/bad").await,
        alice.get(&format!("/1/cards/{UNKNOWN_ID}")).await,
        server.anonymous().get("/1/members/me").await,
        alice.get("/1/nowhere").await,
    ] {
        assert!(response.status >= 400);
        assert_eq!(response.content_type, "text/plain; charset=utf-8", "{}", response.text);
        assert!(serde_json::from_str::<Value>(&response.text).is_err(), "not JSON: {}", response.text);
    }
});

both_backends!(browsers_are_allowed_in, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    let url = format!("{}/1/cards/{}", alice.base, w.card);
    let preflight = raw(alice
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://app.example.test")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "authorization, content-type"))
    .await;
    assert_eq!(preflight.status, 200);
    let header = |name: &str| preflight.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    assert_eq!(header("access-control-allow-origin"), "*");
    for method in ["get", "put", "post", "delete"] {
        assert!(header("access-control-allow-methods").contains(method), "{}", header("access-control-allow-methods"));
    }
    for name in ["authorization", "content-type", "accept"] {
        assert!(header("access-control-allow-headers").contains(name), "{}", header("access-control-allow-headers"));
    }
    // The preflight changed nothing.
    assert_eq!(alice.get(&format!("/1/cards/{}", w.card)).await.ok()["name"], "Subject");
    // Real requests carry the header too, successes and errors alike.
    let key = alice.key.clone().unwrap();
    let token = alice.token.clone().unwrap();
    for path in [format!("/1/cards/{}", w.card), "/1/cards/bad".to_string(), "/1/nowhere".to_string()] {
        let response =
            raw(alice.http.get(format!("{}{path}?key={key}&token={token}", alice.base)).header("origin", "https://app.example.test")).await;
        assert_eq!(response.headers.get("access-control-allow-origin").and_then(|v| v.to_str().ok()), Some("*"), "{path}");
    }
});

both_backends!(batch_answers_each_route_in_order, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    let board = alice.get(&format!("/1/boards/{}", w.board)).await.ok();

    let answer = alice.get(&format!("/1/batch?urls=/boards/{},/boards/123/lists", w.board)).await.ok();
    assert_eq!(answer[0], json!({"200": board}));
    assert_eq!(answer[1]["statusCode"], 400);
    assert!(answer[1]["name"].is_string());
    assert_eq!(answer[1]["message"], "invalid id");
    assert_eq!(answer.as_array().unwrap().len(), 2);

    // As py-trello encodes it: inner queries, an id list inside an inner query, a 404 and a card.
    let urls = format!("/boards/{b}/lists?fields=id%2Cname&cards=open&card_fields=idList,/boards/{b}?fields=id%2Cname,cards/{UNKNOWN_ID},/1/cards/{c},members/me", b = w.board, c = w.card);
    let answer = alice.get(&format!("/1/batch?urls={}", encode(&urls))).await.ok();
    let items = answer.as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["200"], json!([{"id": w.list, "name": "Inbox", "cards": [{"id": w.card, "idList": w.list}]}]));
    assert_eq!(items[1]["200"], json!({"id": w.board, "name": "Wire"}));
    assert_eq!(items[2]["statusCode"], 404);
    assert_eq!(items[2]["message"], NOT_FOUND);
    assert_eq!(items[3]["200"]["id"], w.card.as_str());
    assert_eq!(items[4]["200"]["id"], alice.id.as_str());

    // Each inner route is read with the caller's rights.
    let mallory = server.user("mallory").await;
    let answer = mallory.get(&format!("/1/batch?urls=/boards/{},/members/me", w.board)).await.ok();
    assert_eq!(answer[0]["statusCode"], 401);
    assert_eq!(answer[1]["200"]["username"], "mallory");
    // Batches do not nest, and hold at most ten routes.
    let answer = alice.get("/1/batch?urls=/batch").await.ok();
    assert_eq!(answer[0]["statusCode"], 400);
    let eleven = ["/members/me"; 11].join(",");
    assert_eq!(alice.get(&format!("/1/batch?urls={eleven}")).await.status, 400);
    let ten = ["/members/me"; 10].join(",");
    assert_eq!(alice.get(&format!("/1/batch?urls={ten}")).await.ok().as_array().unwrap().len(), 10);
    assert_eq!(alice.get("/1/batch").await.status, 400);
});

/// Odd values for paths and parameters.
fn odd_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        " ",
        "null",
        "true",
        "NaN",
        "Infinity",
        "-1",
        "1e308",
        "99999999999999999999999999",
        "0x1F",
        "[]",
        "{}",
        "../../etc/passwd",
        "%",
        "%zz",
        "%00",
        "%C3%28",
        "a,b,,c",
        "'; DROP TABLE cards; --",
        "<script>alert(1)</script>",
        "ünïcødé ✓ 🚀 中文",
        "\u{202e}reversed",
        "line\nbreak",
        "\u{0}nul",
        "2019-02-30",
        "9999-12-31T23:59:59.999Z",
        "1568650757156",
        "me",
        "top",
        "all",
        UNKNOWN_ID,
        "0123456789ABCDEF0123456Z",
        "abcdEFGH",
    ]
    .iter()
    .map(|v| v.to_string())
    .collect();
    // Longer than any text field may be; URLs stay under what HTTP clients will send.
    values.push("x".repeat(17_000));
    values.push("é".repeat(4_000));
    values
}

both_backends!(odd_input_never_breaks_the_server, |server: Server| async move {
    let alice = server.user("alice").await;
    let w = world(&alice).await;
    let (b, l, c, cl, lb) = (&w.board, &w.list, &w.card, &w.checklist, &w.label);
    // `{}` is where the odd value goes: in the path (percent-encoded) or as a parameter.
    let in_path = [
        ("GET", "/1/cards/{}".to_string()),
        ("GET", "/1/boards/{}".to_string()),
        ("GET", "/1/lists/{}".to_string()),
        ("GET", "/1/labels/{}".to_string()),
        ("GET", "/1/actions/{}".to_string()),
        ("GET", "/1/checklists/{}".to_string()),
        ("GET", "/1/members/{}".to_string()),
        ("GET", "/1/members/{}/cards".to_string()),
        ("GET", "/1/organizations/{}".to_string()),
        ("GET", format!("/1/boards/{b}/cards/{{}}")),
        ("GET", format!("/1/boards/{b}/lists/{{}}")),
        ("GET", format!("/1/cards/{c}/{{}}")),
        ("PUT", "/1/cards/{}".to_string()),
        ("PUT", format!("/1/cards/{c}/{{}}")),
        ("PUT", format!("/1/cards/{c}/checkItem/{{}}")),
        ("DELETE", format!("/1/cards/{c}/idLabels/{{}}")),
        ("DELETE", format!("/1/cards/{c}/idMembers/{{}}")),
        ("DELETE", format!("/1/checklists/{cl}/checkItems/{{}}")),
        ("DELETE", "/1/actions/{}".to_string()),
        ("DELETE", "/1/cards/{}".to_string()),
        ("POST", "/1/cards/{}/actions/comments".to_string()),
    ];
    let as_param = [
        ("GET", format!("/1/boards/{b}/actions"), "limit"),
        ("GET", format!("/1/boards/{b}/actions"), "page"),
        ("GET", format!("/1/boards/{b}/actions"), "since"),
        ("GET", format!("/1/boards/{b}/actions"), "before"),
        ("GET", format!("/1/boards/{b}/actions"), "filter"),
        ("GET", format!("/1/boards/{b}"), "cards"),
        ("GET", format!("/1/boards/{b}"), "fields"),
        ("GET", format!("/1/boards/{b}"), "actions_limit"),
        ("GET", format!("/1/boards/{b}/cards"), "filter"),
        ("GET", format!("/1/cards/{c}"), "fields"),
        ("GET", format!("/1/cards/{c}"), "checklists"),
        ("GET", "/1/batch".to_string(), "urls"),
        ("PUT", format!("/1/cards/{c}"), "name"),
        ("PUT", format!("/1/cards/{c}"), "desc"),
        ("PUT", format!("/1/cards/{c}"), "pos"),
        ("PUT", format!("/1/cards/{c}"), "due"),
        ("PUT", format!("/1/cards/{c}"), "closed"),
        ("PUT", format!("/1/cards/{c}"), "idList"),
        ("PUT", format!("/1/cards/{c}"), "idBoard"),
        ("PUT", format!("/1/cards/{c}"), "idLabels"),
        ("PUT", format!("/1/cards/{c}"), "idMembers"),
        ("PUT", format!("/1/cards/{c}"), "dueReminder"),
        ("PUT", format!("/1/cards/{c}/idList"), "value"),
        ("POST", "/1/cards".to_string(), "idList"),
        ("POST", format!("/1/cards?idList={l}"), "pos"),
        ("POST", format!("/1/cards?idList={l}"), "idCardSource"),
        ("POST", format!("/1/cards/{c}/actions/comments"), "text"),
        ("POST", format!("/1/cards/{c}/idLabels"), "value"),
        ("POST", format!("/1/cards/{c}/idMembers"), "value"),
        ("POST", format!("/1/cards/{c}/attachments"), "url"),
        ("POST", format!("/1/checklists/{cl}/checkItems"), "name"),
        ("PUT", format!("/1/checklists/{cl}/name"), "value"),
        ("PUT", format!("/1/labels/{lb}"), "color"),
        ("PUT", format!("/1/lists/{l}"), "pos"),
        ("POST", "/1/lists".to_string(), "idBoard"),
        ("PUT", format!("/1/boards/{b}"), "prefs/permissionLevel"),
        ("PUT", format!("/1/actions/{}", w.comment), "text"),
    ];
    // What a refused write must leave alone: everything on the board, and the newest
    // action (a refused write logs nothing).
    let state = |alice: Client, b: String| async move {
        alice.get(&format!("/1/boards/{b}?fields=all&lists=all&cards=all&labels=all&checklists=all&actions=all&actions_limit=1")).await.ok()
    };
    let mut before = state(alice.clone(), b.clone()).await;
    let mut requests: Vec<(&str, String, Body)> = Vec::new();
    for value in odd_values() {
        for (method, template) in &in_path {
            requests.push((method, template.replace("{}", &encode(&value)), Body::None));
        }
        for (method, path, name) in &as_param {
            let joiner = if path.contains('?') { '&' } else { '?' };
            requests.push((method, format!("{path}{joiner}{}={}", encode(name), encode(&value)), Body::Form(vec![])));
        }
    }
    // JSON bodies add the types a query string cannot carry.
    let odd_json = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1e308),
        json!(1.5),
        json!([]),
        json!(["a", 1, null]),
        json!({}),
        json!({"a": {"b": [1]}}),
        json!(""),
        json!("\u{0}"),
        json!("x".repeat(17_000)),
    ];
    for value in &odd_json {
        for (method, path, name) in as_param.iter().filter(|(method, _, _)| *method != "GET") {
            requests.push((method, path.clone(), Body::Json(json!({ *name: value }))));
        }
    }
    let mut checked = 0;
    for (method, path, body) in requests {
        let response = alice.send(method, &path, body).await;
        let path = path.get(..300).unwrap_or(&path);
        assert!(response.status < 500, "{method} {path} → {} {}", response.status, response.text);
        if response.status == 200 {
            response.ok();
        } else {
            assert!(response.content_type.starts_with("text/plain"), "{method} {path}: {}", response.content_type);
        }
        if method != "GET" {
            let after = state(alice.clone(), b.clone()).await;
            if response.status != 200 {
                assert_eq!(after, before, "{method} {path} was refused ({}) but changed something", response.text);
            }
            before = after;
        }
        checked += 1;
    }
    assert!(checked > 2000, "only {checked} requests");
    // The board is still there, still readable, and its log still adds up.
    alice.get(&format!("/1/boards/{b}")).await.ok();
    let log = alice.get(&format!("/1/boards/{b}/actions?limit=1000")).await.ok();
    assert_eq!(log.as_array().unwrap().last().unwrap()["type"], "createBoard");
});

// Shapes a client that validates Trello's answers strictly (unknown keys are errors)
// checks: search answers only the model types asked for, `emailKey/generate` the
// board, a member's role change `{id, members, memberships}`, and a comment's
// `display.entities` only where it is, the card, the comment and its author.
both_backends!(strict_clients_get_only_trellos_keys, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let board = s(&alice.board("Strict").await, "id");
    let list = s(&alice.list(&board, "L").await, "id");
    let card = s(&alice.card(&list, "Findable card").await, "id");
    let keys = |value: &Value| {
        let mut keys = value.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
        keys.sort();
        keys
    };

    let found = alice.get("/1/search?query=Findable&modelTypes=cards").await.ok();
    assert_eq!(keys(&found), ["cards", "options"]);
    assert_eq!(found["cards"][0]["id"], json!(card));
    assert!(keys(&alice.get("/1/search?query=Findable").await.ok()).contains(&"actions".to_string()), "all types by default");

    let generated = alice.post(&format!("/1/boards/{board}/emailKey/generate"), json!({})).await.ok();
    assert_eq!((generated["id"].clone(), generated["name"].clone()), (json!(board), json!("Strict")));

    let changed = alice.put(&format!("/1/boards/{board}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    assert_eq!(keys(&changed), ["id", "members", "memberships"]);
    assert_eq!(changed["memberships"].as_array().map(Vec::len), Some(2));

    let comment = alice.post(&format!("/1/cards/{card}/actions/comments"), json!({"text": "hello"})).await.ok();
    let display = alice.get(&format!("/1/actions/{}", s(&comment, "id"))).await.ok()["display"].clone();
    assert_eq!(keys(&display["entities"]), ["card", "comment", "contextOn", "memberCreator"], "{display}");
    assert_eq!(display["entities"]["contextOn"]["idContext"], json!(card));
});
