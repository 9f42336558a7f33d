//! Custom fields and notifications: a team defines fields on its board and fills them
//! in on cards, outsiders and observers are turned away, and members are told when
//! others add them to boards and cards, mention them, or move the due date of their
//! cards — and read, re-open and tune those notifications themselves. Every refused
//! write is followed by a read showing that nothing changed.

mod common;

use serde_json::{json, Value};

use common::{s, Body, Client, Server};

const UNAUTHORIZED: &str = "unauthorized permission requested";
const UNAUTHORIZED_CARD: &str = "unauthorized card permission requested";
const NOT_FOUND: &str = "The requested resource was not found.";
const INVALID_ITEM: &str = "Invalid custom field item value.";

/// The sorted keys of a JSON object.
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect();
    keys.sort();
    keys
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    names.sort();
    names
}

/// The action types of a board's log, newest first.
async fn action_types(client: &Client, board: &str) -> Vec<String> {
    let actions = client.get(&format!("/1/boards/{board}/actions?limit=1000")).await.ok();
    actions.as_array().unwrap().iter().map(|a| s(a, "type")).collect()
}

/// The newest action of a board of the given type.
async fn last_action(client: &Client, board: &str, kind: &str) -> Value {
    let actions = client.get(&format!("/1/boards/{board}/actions?filter={kind}&limit=1")).await.ok();
    actions[0].clone()
}

/// The (type, card name) of a member's notifications, newest first.
async fn notification_summary(client: &Client) -> Vec<(String, String)> {
    let all = client.get("/1/members/me/notifications").await.ok();
    all.as_array().unwrap().iter().map(|n| (s(n, "type"), n["data"]["card"]["name"].as_str().unwrap_or("").to_string())).collect()
}

/// Makes `member` a member of `board` with `kind` (admin, normal, observer).
async fn join(owner: &Client, board: &str, member: &Client, kind: &str) {
    owner.put(&format!("/1/boards/{board}/members/{}", member.id), json!({"type": kind})).await.ok();
}

/// A list field "Priority" (High, Low) on `board`.
async fn priority_field(client: &Client, board: &str) -> Value {
    client
        .post(
            "/1/customFields",
            json!({
                "idModel": board, "modelType": "board", "name": "Priority", "type": "list", "pos": "top",
                "display_cardFront": true,
                "options": [{"value": {"text": "High"}, "color": "red"}, {"value": {"text": "Low"}, "color": "green"}],
            }),
        )
        .await
        .ok()
}

/// A field of `kind` named `name` on `board`.
async fn field(client: &Client, board: &str, name: &str, kind: &str) -> Value {
    client.post("/1/customFields", json!({"idModel": board, "modelType": "board", "name": name, "type": kind, "pos": "bottom"})).await.ok()
}

both_backends!(a_board_defines_custom_fields_and_their_options, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Roadmap").await;
    let board_id = s(&board, "id");

    // A dropdown field comes back in Trello's shape, name and pos at the top and in display.
    let priority = priority_field(&alice, &board_id).await;
    let priority_id = s(&priority, "id");
    assert_eq!(
        keys(&priority),
        sorted(&["id", "idModel", "modelType", "fieldGroup", "display", "name", "pos", "type", "options", "isSuggestedField", "limits"])
    );
    assert_eq!(
        (priority["idModel"].as_str(), priority["modelType"].as_str(), priority["type"].as_str()),
        (Some(board_id.as_str()), Some("board"), Some("list"))
    );
    assert_eq!(priority["name"], "Priority");
    assert_eq!(priority["pos"], json!(16384.0));
    assert_eq!(s(&priority, "fieldGroup").len(), 64);
    assert_eq!(priority["display"]["cardFront"], true);
    assert_eq!(priority["display"]["name"], "Priority");
    assert_eq!(priority["display"]["pos"], "16384", "the schema types display.pos as a string");
    assert_eq!(priority["display"]["options"], priority["options"]);
    let options = priority["options"].as_array().unwrap();
    assert_eq!(options.len(), 2);
    assert_eq!(keys(&options[0]), sorted(&["id", "idCustomField", "value", "color", "pos"]));
    assert_eq!((options[0]["value"]["text"].as_str(), options[0]["color"].as_str()), (Some("High"), Some("red")));
    assert_eq!((options[1]["value"]["text"].as_str(), options[1]["color"].as_str()), (Some("Low"), Some("green")));
    assert_eq!(options[0]["idCustomField"], priority["id"]);
    assert!(options[0]["pos"].as_f64() < options[1]["pos"].as_f64());

    // A text field sent as a form, hidden from card fronts; non-list fields have no options.
    let form = vec![
        ("idModel".to_string(), board_id.clone()),
        ("modelType".to_string(), "board".to_string()),
        ("name".to_string(), "Notes".to_string()),
        ("type".to_string(), "text".to_string()),
        ("display/cardFront".to_string(), "false".to_string()),
    ];
    let notes = alice.send("POST", "/1/customFields", Body::Form(form)).await.ok();
    assert_eq!(notes["display"]["cardFront"], false);
    assert!(notes.get("options").is_none());
    assert_eq!(notes["pos"], json!(32768.0));

    // Read back: one field, the board's list in pos order, and the board with customFields=true.
    assert_eq!(alice.get(&format!("/1/customFields/{priority_id}")).await.ok(), priority);
    let listed = alice.get(&format!("/1/boards/{board_id}/customFields")).await.ok();
    assert_eq!(listed.as_array().unwrap().iter().map(|f| s(f, "name")).collect::<Vec<_>>(), vec!["Priority", "Notes"]);
    let with_fields = alice.get(&format!("/1/boards/{board_id}?customFields=true")).await.ok();
    assert_eq!(with_fields["customFields"], listed);
    assert!(alice.get(&format!("/1/boards/{board_id}")).await.ok().get("customFields").is_none());

    // Rename and show on card fronts: updateCustomField keeps the old values.
    let renamed =
        alice.put(&format!("/1/customFields/{}", s(&notes, "id")), json!({"name": "Remarks", "display": {"cardFront": true}})).await.ok();
    assert_eq!((renamed["name"].as_str(), renamed["display"]["cardFront"].as_bool()), (Some("Remarks"), Some(true)));
    let update = last_action(&alice, &board_id, "updateCustomField").await;
    assert_eq!(update["data"]["old"], json!({"name": "Notes", "display": {"cardFront": false}}));
    assert_eq!(update["data"]["customField"]["name"], "Remarks");
    assert_eq!(update["data"]["board"]["id"], board["id"]);

    // Options: list, add, read one, delete one.
    // The option routes name an option `_id` (a field lists it as `id`).
    let listed_options = alice.get(&format!("/1/customFields/{priority_id}/options")).await.ok();
    let renamed_ids: Vec<Value> = priority["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let mut o = o.clone();
            let id = o.as_object_mut().unwrap().remove("id").unwrap();
            o["_id"] = id;
            o
        })
        .collect();
    assert_eq!(listed_options, json!(renamed_ids));
    let medium = alice
        .post(&format!("/1/customFields/{priority_id}/options"), json!({"value": {"text": "Medium"}, "color": "yellow", "pos": "bottom"}))
        .await
        .ok();
    assert_eq!(keys(&medium), sorted(&["_id", "idCustomField", "value", "color", "pos"]));
    assert_eq!(
        (medium["value"]["text"].as_str(), medium["color"].as_str(), medium["idCustomField"].as_str()),
        (Some("Medium"), Some("yellow"), Some(priority_id.as_str()))
    );
    let medium_path = format!("/1/customFields/{priority_id}/options/{}", s(&medium, "_id"));
    assert_eq!(alice.get(&medium_path).await.ok(), medium);
    assert_eq!(alice.get(&format!("/1/customFields/{priority_id}/options")).await.ok().as_array().unwrap().len(), 3);
    assert_eq!(alice.delete(&medium_path).await.ok(), json!({}));
    alice.get(&medium_path).await.err(404, NOT_FOUND);
    alice.get(&format!("/1/customFields/{priority_id}/options/nope")).await.err(400, "invalid id");
    assert_eq!(alice.get(&format!("/1/customFields/{priority_id}/options")).await.ok(), listed_options);

    // Bad definitions are refused by name, and nothing is written.
    let before_actions = action_types(&alice, &board_id).await;
    let bad = [
        (json!({"idModel": board_id, "name": "X", "type": "rainbow"}), "invalid value for type"),
        (json!({"idModel": board_id, "type": "text"}), "invalid value for name"),
        (json!({"idModel": board_id, "name": "   ", "type": "text"}), "invalid value for name"),
        (json!({"idModel": "nope", "name": "X", "type": "text"}), "invalid value for idModel"),
        (json!({"idModel": board_id, "modelType": "card", "name": "X", "type": "text"}), "invalid value for modelType"),
        (json!({"idModel": board_id, "name": "X", "type": "text", "options": ["a"]}), "invalid value for options"),
        (
            json!({"idModel": board_id, "name": "X", "type": "list", "options": [{"value": {"text": "a"}, "color": "plaid"}]}),
            "invalid value for options",
        ),
        (json!({"idModel": board_id, "name": "X", "type": "list", "options": [{"color": "red"}]}), "invalid value for options"),
        (json!({"idModel": board_id, "name": "X", "type": "text", "pos": "middle"}), "invalid value for pos"),
        (json!({"idModel": board_id, "name": "X", "type": "text", "display_cardFront": "maybe"}), "invalid value for display/cardFront"),
    ];
    for (body, error) in bad {
        alice.post("/1/customFields", body).await.err(400, error);
    }
    alice.post("/1/customFields", json!({"idModel": "5f0000000000000000000000", "name": "X", "type": "text"})).await.err(404, NOT_FOUND);
    alice
        .post(&format!("/1/customFields/{}/options", s(&notes, "id")), json!({"value": {"text": "A"}}))
        .await
        .err(400, "only list custom fields have options");
    alice
        .post(&format!("/1/customFields/{priority_id}/options"), json!({"value": {"text": "A"}, "color": "plaid"}))
        .await
        .err(400, "invalid value for color");
    alice.post(&format!("/1/customFields/{priority_id}/options"), json!({"color": "red"})).await.err(400, "invalid value for value");
    alice.put(&format!("/1/customFields/{priority_id}"), json!({"name": ""})).await.err(400, "invalid value for name");
    alice.get("/1/customFields/nope").await.err(400, "invalid id");
    alice.get("/1/customFields/5f0000000000000000000000").await.err(404, NOT_FOUND);
    assert_eq!(alice.get(&format!("/1/boards/{board_id}/customFields")).await.ok().as_array().unwrap().len(), 2);
    assert_eq!(alice.get(&format!("/1/customFields/{priority_id}")).await.ok(), priority);
    assert_eq!(action_types(&alice, &board_id).await, before_actions);

    // Deleting a field: gone from the board, logged as deleteCustomField.
    assert_eq!(alice.delete(&format!("/1/customFields/{priority_id}")).await.ok(), json!({}));
    alice.get(&format!("/1/customFields/{priority_id}")).await.err(404, NOT_FOUND);
    assert_eq!(alice.get(&format!("/1/boards/{board_id}/customFields")).await.ok().as_array().unwrap().len(), 1);
    let deleted = last_action(&alice, &board_id, "deleteCustomField").await;
    assert_eq!(deleted["data"]["customField"], json!({"id": priority_id, "name": "Priority", "type": "list"}));
    assert!(deleted["data"].get("deleted").is_none(), "undo data stays off the wire");
    let types = action_types(&alice, &board_id).await;
    assert_eq!(&types[..5], &["deleteCustomField", "updateCustomField", "updateCustomField", "updateCustomField", "createCustomField"]);
});

both_backends!(cards_carry_custom_field_values, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Tracker").await;
    let board_id = s(&board, "id");
    let list = alice.list(&board_id, "Inbox").await;
    let card = alice.card(&s(&list, "id"), "Bug 1").await;
    let card_id = s(&card, "id");
    let text = field(&alice, &board_id, "Summary", "text").await;
    let number = field(&alice, &board_id, "Estimate", "number").await;
    let date = field(&alice, &board_id, "Deadline", "date").await;
    let checkbox = field(&alice, &board_id, "Reviewed", "checkbox").await;
    let priority = priority_field(&alice, &board_id).await;
    let (high, low) = (s(&priority["options"][0], "id"), s(&priority["options"][1], "id"));
    let item_path = |f: &Value| format!("/1/cards/{card_id}/customField/{}/item", s(f, "id"));

    // A card starts without values.
    assert_eq!(alice.get(&format!("/1/cards/{card_id}/customFieldItems")).await.ok(), json!([]));

    // Each type takes its own key; numbers and booleans may arrive as JSON and leave as strings.
    let item = alice.put(&item_path(&text), json!({"value": {"text": "Crash on save"}})).await.ok();
    assert_eq!(keys(&item), sorted(&["id", "value", "idCustomField", "idModel", "modelType"]));
    assert_eq!(item["value"], json!({"text": "Crash on save"}));
    assert_eq!(
        (item["idCustomField"].as_str(), item["idModel"].as_str(), item["modelType"].as_str()),
        (text["id"].as_str(), Some(card_id.as_str()), Some("card"))
    );
    assert_eq!(alice.put(&item_path(&number), json!({"value": {"number": 12.5}})).await.ok()["value"], json!({"number": "12.5"}));
    assert_eq!(
        alice.put(&item_path(&date), json!({"value": {"date": "2024-05-01"}})).await.ok()["value"],
        json!({"date": "2024-05-01T00:00:00.000Z"})
    );
    assert_eq!(alice.put(&item_path(&checkbox), json!({"value": {"checked": true}})).await.ok()["value"], json!({"checked": "true"}));
    let chosen = alice.put(&item_path(&priority), json!({"idValue": high})).await.ok();
    assert_eq!(keys(&chosen), sorted(&["id", "idValue", "idCustomField", "idModel", "modelType"]));
    assert_eq!(chosen["idValue"], json!(high));

    // The card lists them, alone or in GET /cards/{id}?customFieldItems=true.
    let items = alice.get(&format!("/1/cards/{card_id}/customFieldItems")).await.ok();
    assert_eq!(items.as_array().unwrap().len(), 5);
    let card_view = alice.get(&format!("/1/cards/{card_id}?customFieldItems=true")).await.ok();
    assert_eq!(card_view["customFieldItems"], items);
    assert!(alice.get(&format!("/1/cards/{card_id}")).await.ok().get("customFieldItems").is_none());

    // A change is logged with the old value; setting the same value again logs nothing.
    alice.put(&item_path(&number), json!({"value": {"number": "13"}})).await.ok();
    let update = last_action(&alice, &board_id, "updateCustomFieldItem").await;
    assert_eq!(update["data"]["old"], json!({"value": {"number": "12.5"}}));
    assert_eq!(update["data"]["customField"], json!({"id": number["id"], "name": "Estimate", "type": "number"}));
    assert_eq!(update["data"]["customFieldItem"]["value"], json!({"number": "13"}));
    assert_eq!(update["data"]["card"]["id"], json!(card_id));
    let count = action_types(&alice, &board_id).await.len();
    alice.put(&item_path(&number), json!({"value": {"number": "13"}})).await.ok();
    assert_eq!(action_types(&alice, &board_id).await.len(), count);

    // Values that do not fit their field are refused with Trello's text, and nothing changes.
    let bad = [
        (&number, json!({"value": {"number": "twelve"}})),
        (&date, json!({"value": {"date": "someday"}})),
        (&checkbox, json!({"value": {"checked": "yes"}})),
        (&number, json!({"value": {"text": "13"}})),
        (&text, json!({"value": {"text": "a", "number": "1"}})),
        (&text, json!({"value": "words"})),
        (&priority, json!({"idValue": "5f0000000000000000000000"})),
        (&priority, json!({"value": {"text": "High"}})),
        (&text, json!({"idValue": high})),
    ];
    for (target, body) in bad {
        alice.put(&item_path(target), body).await.err(400, INVALID_ITEM);
    }
    alice.put(&item_path(&text), json!({})).await.err(400, "invalid value for value");
    let other_board = alice.board("Elsewhere").await;
    let foreign = field(&alice, &s(&other_board, "id"), "Foreign", "text").await;
    alice.put(&item_path(&foreign), json!({"value": {"text": "x"}})).await.err(400, "invalid value for idCustomField");
    alice.put(&format!("/1/cards/{card_id}/customField/nope/item"), json!({"value": {"text": "x"}})).await.err(400, "invalid id");
    alice
        .put(&format!("/1/cards/{card_id}/customField/5f0000000000000000000000/item"), json!({"value": {"text": "x"}}))
        .await
        .err(404, NOT_FOUND);
    let after_bad = alice.get(&format!("/1/cards/{card_id}/customFieldItems")).await.ok();
    assert_eq!(after_bad.as_array().unwrap().len(), 5);
    assert!(after_bad.as_array().unwrap().iter().any(|i| i["value"] == json!({"number": "13"})));
    assert_eq!(action_types(&alice, &board_id).await.len(), count);

    // Clearing: `value: ""` for values, `idValue: ""` for a dropdown.
    assert_eq!(alice.put(&item_path(&checkbox), json!({"value": ""})).await.ok(), json!({}));
    let cleared = last_action(&alice, &board_id, "updateCustomFieldItem").await;
    assert_eq!(cleared["data"]["old"], json!({"value": {"checked": "true"}}));
    assert_eq!(cleared["data"]["customFieldItem"]["value"], Value::Null);
    assert_eq!(alice.put(&item_path(&priority), json!({"idValue": ""})).await.ok(), json!({}));
    assert_eq!(last_action(&alice, &board_id, "updateCustomFieldItem").await["data"]["old"], json!({"idValue": high}));
    assert_eq!(alice.get(&format!("/1/cards/{card_id}/customFieldItems")).await.ok().as_array().unwrap().len(), 3);

    // Several at once: all applied together...
    let bulk = alice
        .put(
            &format!("/1/cards/{card_id}/customFields"),
            json!({"customFieldItems": [
                {"idCustomField": text["id"], "value": {"text": "Crash on load"}},
                {"idCustomField": priority["id"], "idValue": low},
                {"idCustomField": number["id"], "value": ""},
            ]}),
        )
        .await
        .ok();
    let mut summary: Vec<String> = bulk
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{}={}", s(i, "idCustomField"), i.get("idValue").cloned().unwrap_or_else(|| i["value"].clone())))
        .collect();
    summary.sort();
    let mut expected = vec![
        format!("{}={}", s(&text, "id"), json!({"text": "Crash on load"})),
        format!("{}={}", s(&priority, "id"), json!(low)),
        format!("{}={}", s(&date, "id"), json!({"date": "2024-05-01T00:00:00.000Z"})),
    ];
    expected.sort();
    assert_eq!(summary, expected);
    assert_eq!(alice.get(&format!("/1/cards/{card_id}/customFieldItems")).await.ok(), bulk);
    // ...or none at all when one of them is wrong.
    let count = action_types(&alice, &board_id).await.len();
    alice
        .put(&format!("/1/cards/{card_id}/customFields"), json!({"customFieldItems": [{"idCustomField": text["id"], "value": {"text": "Lost"}}, {"idCustomField": number["id"], "value": {"number": "many"}}]}))
        .await
        .err(400, INVALID_ITEM);
    alice
        .put(&format!("/1/cards/{card_id}/customFields"), json!({"customFieldItems": [{"idCustomField": text["id"], "value": {"text": "Lost"}}, {"idCustomField": foreign["id"], "value": {"text": "x"}}]}))
        .await
        .err(400, "invalid value for idCustomField");
    for body in [
        json!({}),
        json!({"customFieldItems": "x"}),
        json!({"customFieldItems": [{"value": {"text": "x"}}]}),
        json!({"customFieldItems": [{"idCustomField": text["id"]}]}),
        json!({"customFieldItems": [{"idCustomField": text["id"], "value": {"text": "a"}}, {"idCustomField": text["id"], "value": {"text": "b"}}]}),
    ] {
        alice.put(&format!("/1/cards/{card_id}/customFields"), body).await.err(400, "invalid value for customFieldItems");
    }
    assert_eq!(alice.get(&format!("/1/cards/{card_id}/customFieldItems")).await.ok(), bulk);
    assert_eq!(action_types(&alice, &board_id).await.len(), count);

    // Deleting a field takes its values off every card.
    alice.delete(&format!("/1/customFields/{}", s(&date, "id"))).await.ok();
    let left = alice.get(&format!("/1/cards/{card_id}/customFieldItems")).await.ok();
    assert_eq!(left.as_array().unwrap().len(), 2);
    assert!(left.as_array().unwrap().iter().all(|i| i["idCustomField"] != date["id"]));

    // Deleting the option a card had chosen clears that card's value.
    alice.delete(&format!("/1/customFields/{}/options/{low}", s(&priority, "id"))).await.ok();
    let left = alice.get(&format!("/1/cards/{card_id}/customFieldItems")).await.ok();
    assert_eq!(left.as_array().unwrap().iter().map(|i| s(i, "idCustomField")).collect::<Vec<_>>(), vec![s(&text, "id")]);
});

both_backends!(board_reads_show_values_at_a_fixed_cost, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = alice.board("Budget").await;
    let board_id = s(&board, "id");
    let list = alice.list(&board_id, "Inbox").await;
    let estimate = field(&alice, &board_id, "Estimate", "number").await;
    let path = format!("/1/boards/{board_id}?cards=open&card_customFieldItems=true&customFields=true&lists=open");
    let cards_path = format!("/1/boards/{board_id}/cards?customFieldItems=true");
    let mut costs = Vec::new();
    let mut cards = Vec::new();
    for round in 0..3 {
        for _ in 0..(round * 3 + 1) {
            let card = alice.card(&s(&list, "id"), &format!("Card {}", cards.len())).await;
            let n = cards.len().to_string();
            alice
                .put(&format!("/1/cards/{}/customField/{}/item", s(&card, "id"), s(&estimate, "id")), json!({"value": {"number": n}}))
                .await
                .ok();
            cards.push(card);
        }
        let response = alice.get(&path).await;
        let view = response.ok();
        let listed = alice.get(&cards_path).await;
        let listed_cards = listed.ok();
        costs.push((response.queries(), listed.queries()));
        assert_eq!(view["customFields"].as_array().unwrap().len(), 1);
        for (n, card) in view["cards"].as_array().unwrap().iter().enumerate() {
            assert_eq!(card["customFieldItems"].as_array().unwrap().len(), 1, "{card}");
            assert_eq!(card["customFieldItems"][0]["idModel"], card["id"]);
            assert_eq!(listed_cards[n]["customFieldItems"], card["customFieldItems"]);
        }
    }
    assert_eq!(cards.len(), 1 + 4 + 7);
    assert!(costs.iter().all(|c| *c == costs[0]), "query count changed with the number of cards: {costs:?}");
    // Without the parameter, cards carry no customFieldItems.
    let plain = alice.get(&format!("/1/boards/{board_id}/cards")).await.ok();
    assert!(plain[0].get("customFieldItems").is_none());
    // A deleted card's values go with it; the others keep theirs.
    alice.delete(&format!("/1/cards/{}", s(&cards[0], "id"))).await.ok();
    let view = alice.get(&cards_path).await.ok();
    assert_eq!(view.as_array().unwrap().len(), 11);
    assert!(view.as_array().unwrap().iter().all(|c| c["customFieldItems"].as_array().unwrap().len() == 1));
});

both_backends!(only_writers_of_a_board_touch_its_custom_fields, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let olive = server.user("olive").await;
    let eve = server.user("eve").await;
    let board = alice.board("Private").await;
    let board_id = s(&board, "id");
    join(&alice, &board_id, &bob, "normal").await;
    join(&alice, &board_id, &olive, "observer").await;
    let list = alice.list(&board_id, "Inbox").await;
    let card = alice.card(&s(&list, "id"), "Secret").await;
    let card_id = s(&card, "id");
    let notes = field(&alice, &board_id, "Notes", "text").await;
    let notes_id = s(&notes, "id");
    let item_path = format!("/1/cards/{card_id}/customField/{notes_id}/item");
    alice.put(&item_path, json!({"value": {"text": "kept"}})).await.ok();
    let before_actions = action_types(&alice, &board_id).await;

    // An outsider sees nothing and changes nothing.
    eve.get(&format!("/1/boards/{board_id}/customFields")).await.err(401, UNAUTHORIZED);
    eve.get(&format!("/1/customFields/{notes_id}")).await.err(401, UNAUTHORIZED);
    eve.get(&format!("/1/customFields/{notes_id}/options")).await.err(401, UNAUTHORIZED);
    eve.post("/1/customFields", json!({"idModel": board_id, "name": "Mine", "type": "text"})).await.err(401, UNAUTHORIZED);
    eve.put(&format!("/1/customFields/{notes_id}"), json!({"name": "Mine"})).await.err(401, UNAUTHORIZED);
    eve.delete(&format!("/1/customFields/{notes_id}")).await.err(401, UNAUTHORIZED);
    eve.get(&format!("/1/cards/{card_id}/customFieldItems")).await.err(401, UNAUTHORIZED_CARD);
    eve.put(&item_path, json!({"value": {"text": "hacked"}})).await.err(401, UNAUTHORIZED_CARD);
    eve.put(
        &format!("/1/cards/{card_id}/customFields"),
        json!({"customFieldItems": [{"idCustomField": notes_id, "value": {"text": "hacked"}}]}),
    )
    .await
    .err(401, UNAUTHORIZED_CARD);
    server.anonymous().get(&format!("/1/customFields/{notes_id}")).await.err(401, UNAUTHORIZED);

    // An observer reads but may not write.
    assert_eq!(olive.get(&format!("/1/customFields/{notes_id}")).await.ok(), notes);
    assert_eq!(olive.get(&format!("/1/cards/{card_id}/customFieldItems")).await.ok()[0]["value"], json!({"text": "kept"}));
    olive.post("/1/customFields", json!({"idModel": board_id, "name": "Mine", "type": "text"})).await.err(401, UNAUTHORIZED);
    olive.put(&format!("/1/customFields/{notes_id}"), json!({"name": "Mine"})).await.err(401, UNAUTHORIZED);
    olive.delete(&format!("/1/customFields/{notes_id}")).await.err(401, UNAUTHORIZED);
    olive.put(&item_path, json!({"value": {"text": "observed"}})).await.err(401, UNAUTHORIZED_CARD);
    olive
        .put(&format!("/1/cards/{card_id}/customFields"), json!({"customFieldItems": [{"idCustomField": notes_id, "value": ""}]}))
        .await
        .err(401, UNAUTHORIZED_CARD);

    // A read-only token of the owner is held to reading too.
    let reader = server.token_for(&alice, &["read"]).await;
    reader.post("/1/customFields", json!({"idModel": board_id, "name": "Mine", "type": "text"})).await.err(401, UNAUTHORIZED);
    reader.put(&item_path, json!({"value": {"text": "read-only"}})).await.err(401, UNAUTHORIZED_CARD);

    assert_eq!(alice.get(&format!("/1/boards/{board_id}/customFields")).await.ok(), json!([notes]));
    assert_eq!(alice.get(&format!("/1/cards/{card_id}/customFieldItems")).await.ok()[0]["value"], json!({"text": "kept"}));
    assert_eq!(action_types(&alice, &board_id).await, before_actions);

    // A normal member manages fields and values like an admin.
    let size = field(&bob, &board_id, "Size", "number").await;
    bob.put(&format!("/1/cards/{card_id}/customField/{}/item", s(&size, "id")), json!({"value": {"number": "3"}})).await.ok();
    bob.put(&format!("/1/customFields/{}", s(&size, "id")), json!({"name": "Points"})).await.ok();
    assert_eq!(alice.get(&format!("/1/cards/{card_id}/customFieldItems")).await.ok().as_array().unwrap().len(), 2);
    bob.delete(&format!("/1/customFields/{}", s(&size, "id"))).await.ok();
});

both_backends!(members_are_notified_of_what_others_do_to_them, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let eve = server.user("eve").await;
    let board = alice.board("Launch").await;
    let board_id = s(&board, "id");
    let list = alice.list(&board_id, "Doing").await;
    let card = alice.card(&s(&list, "id"), "Write post").await;
    let card_id = s(&card, "id");

    // Added to a board: bob hears of it; alice, who did it, hears nothing.
    join(&alice, &board_id, &bob, "normal").await;
    join(&alice, &board_id, &carol, "normal").await;
    assert_eq!(notification_summary(&bob).await, vec![("addedToBoard".to_string(), String::new())]);
    // A role change is not an addition.
    join(&alice, &board_id, &bob, "normal").await;
    assert_eq!(notification_summary(&bob).await.len(), 1);

    // Added to a card, by the card's route and by PUT idMembers; never for oneself.
    alice.post(&format!("/1/cards/{card_id}/idMembers"), json!({"value": bob.id})).await.ok();
    alice.post(&format!("/1/cards/{card_id}/idMembers"), json!({"value": alice.id})).await.ok();
    alice.put(&format!("/1/cards/{card_id}"), json!({"idMembers": format!("{},{},{}", alice.id, bob.id, carol.id)})).await.ok();
    assert_eq!(notification_summary(&bob).await[0], ("addedToCard".to_string(), "Write post".to_string()));
    assert_eq!(notification_summary(&carol).await[0], ("addedToCard".to_string(), "Write post".to_string()));

    // A mention tells the board members named, not the author and not outsiders.
    let comment = alice
        .post(&format!("/1/cards/{card_id}/actions/comments"), json!({"text": "@bob @alice @eve please review (mail carol@example.com)"}))
        .await
        .ok();
    let bob_seen = bob.get("/1/members/me/notifications").await.ok();
    let mention = &bob_seen[0];
    assert_eq!(
        keys(mention),
        sorted(&["id", "unread", "type", "date", "dateRead", "data", "idMemberCreator", "idAction", "reactions", "memberCreator"])
    );
    assert_eq!(
        (mention["type"].as_str(), mention["unread"].as_bool(), mention["dateRead"].clone()),
        (Some("mentionedOnCard"), Some(true), Value::Null)
    );
    assert_eq!(mention["idAction"], comment["id"]);
    assert_eq!(mention["idMemberCreator"], json!(alice.id));
    assert_eq!(mention["reactions"], json!([]));
    assert_eq!(mention["data"]["text"], comment["data"]["text"]);
    assert_eq!(mention["data"]["card"], comment["data"]["card"]);
    assert_eq!(mention["data"]["board"], comment["data"]["board"]);
    assert_eq!(mention["data"]["list"]["name"], "Doing");
    assert_eq!(keys(&mention["memberCreator"]), sorted(&["id", "avatarHash", "fullName", "initials", "username"]));
    assert_eq!(mention["memberCreator"]["username"], "alice");
    assert!(notification_summary(&carol).await.iter().all(|(kind, _)| kind != "mentionedOnCard"), "carol@example.com is not a mention");
    assert!(notification_summary(&eve).await.is_empty(), "eve is not on the board");

    // A due date set on the card tells its members other than the actor, with the old date.
    alice.put(&format!("/1/cards/{card_id}"), json!({"due": "2030-01-02T10:00:00.000Z"})).await.ok();
    let due = &bob.get("/1/members/me/notifications?filter=changeCard").await.ok()[0];
    assert_eq!(due["data"]["card"]["due"], "2030-01-02T10:00:00.000Z");
    assert_eq!(due["data"]["old"], json!({"due": null}));
    assert_eq!(due["idAction"], last_action(&alice, &board_id, "updateCard").await["id"]);
    assert_eq!(notification_summary(&carol).await[0].0, "changeCard");
    // Changing something else, or setting the same date again, tells no one.
    alice.put(&format!("/1/cards/{card_id}"), json!({"desc": "draft", "due": "2030-01-02T10:00:00.000Z"})).await.ok();
    assert_eq!(bob.get("/1/members/me/notifications?filter=changeCard").await.ok().as_array().unwrap().len(), 1);
    // Clearing the due date is not setting one.
    alice.put(&format!("/1/cards/{card_id}"), json!({"due": null})).await.ok();
    assert_eq!(bob.get("/1/members/me/notifications?filter=changeCard").await.ok().as_array().unwrap().len(), 1);

    // The actor never hears of their own changes; alice hears of bob's.
    assert!(notification_summary(&alice).await.is_empty(), "{:?}", notification_summary(&alice).await);
    bob.put(&format!("/1/cards/{card_id}"), json!({"due": "2030-02-01"})).await.ok();
    bob.post(&format!("/1/cards/{card_id}/actions/comments"), json!({"text": "done, @Alice"})).await.ok();
    let alice_seen = notification_summary(&alice).await;
    assert_eq!(
        alice_seen,
        vec![("mentionedOnCard".to_string(), "Write post".to_string()), ("changeCard".to_string(), "Write post".to_string())]
    );
    assert_eq!(alice.get("/1/members/me/notifications").await.ok()[1]["data"]["old"], json!({"due": null}));
    let bob_kinds: Vec<String> = notification_summary(&bob).await.into_iter().map(|(kind, _)| kind).collect();
    assert_eq!(bob_kinds, vec!["changeCard", "mentionedOnCard", "addedToCard", "addedToBoard"]);
});

/// Alice's board with bob on it and on its one card; bob holds three notifications
/// (addedToBoard, addedToCard, mentionedOnCard). Returns (board, card, bob's notifications).
async fn bob_with_notifications(alice: &Client, bob: &Client, org: Option<&str>) -> (Value, Value, Value) {
    let mut body = json!({"name": "Launch", "defaultLists": false, "defaultLabels": false});
    if let Some(org) = org {
        body["idOrganization"] = json!(org);
    }
    let board = alice.post("/1/boards", body).await.ok();
    let board_id = s(&board, "id");
    let list = alice.list(&board_id, "Doing").await;
    let card = alice.card(&s(&list, "id"), "Write post").await;
    join(alice, &board_id, bob, "normal").await;
    alice.post(&format!("/1/cards/{}/idMembers", s(&card, "id")), json!({"value": bob.id})).await.ok();
    alice.post(&format!("/1/cards/{}/actions/comments", s(&card, "id")), json!({"text": "@bob hello"})).await.ok();
    let notifications = bob.get("/1/members/me/notifications").await.ok();
    assert_eq!(
        notifications.as_array().unwrap().iter().map(|n| s(n, "type")).collect::<Vec<_>>(),
        vec!["mentionedOnCard", "addedToCard", "addedToBoard"]
    );
    (board, card, notifications)
}

both_backends!(a_member_reads_and_marks_their_notifications, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let org = alice.post("/1/organizations", json!({"displayName": "Acme"})).await.ok();
    let (board, card, all) = bob_with_notifications(&alice, &bob, Some(&s(&org, "id"))).await;
    let card_id = s(&card, "id");
    let mention_id = s(&all[0], "id");
    let added_card_id = s(&all[1], "id");
    let added_board_id = s(&all[2], "id");
    let bob_actions = bob.get("/1/members/me/actions").await.ok();

    // Filters: by type, by read state, and paging by id, count and page.
    let by_type = bob.get("/1/members/me/notifications?filter=addedToCard,addedToBoard").await.ok();
    assert_eq!(
        by_type.as_array().unwrap().iter().map(|n| s(n, "id")).collect::<Vec<_>>(),
        vec![added_card_id.clone(), added_board_id.clone()]
    );
    assert_eq!(bob.get(&format!("/1/members/{}/notifications?limit=1&page=1", bob.username)).await.ok()[0]["id"], json!(added_card_id));
    assert_eq!(bob.get(&format!("/1/members/me/notifications?before={mention_id}&limit=1")).await.ok()[0]["id"], json!(added_card_id));
    assert_eq!(bob.get(&format!("/1/members/me/notifications?since={added_board_id}")).await.ok().as_array().unwrap().len(), 2);
    assert_eq!(bob.get("/1/members/me/notifications?read_filter=read").await.ok(), json!([]));
    assert_eq!(bob.get("/1/members/me/notifications?filter=unread").await.ok().as_array().unwrap().len(), 3);
    let slim = bob.get("/1/members/me/notifications?fields=type&memberCreator=false").await.ok();
    assert_eq!(slim[0], json!({"id": mention_id, "type": "mentionedOnCard"}));
    bob.get("/1/members/me/notifications?filter=nonsense").await.err(400, "invalid value for filter");
    bob.get("/1/members/me/notifications?read_filter=some").await.err(400, "invalid value for read_filter");
    bob.get("/1/members/me/notifications?limit=1001").await.err(400, "invalid value for limit");

    // One notification, with the objects it points at on request.
    let one = bob.get(&format!("/1/notifications/{mention_id}?board=true&card=true&list=true&organization=true")).await.ok();
    assert_eq!(one["id"], json!(mention_id));
    assert_eq!(one["board"], json!({"id": board["id"], "name": "Launch"}));
    assert_eq!(one["card"], json!({"id": card["id"], "name": "Write post"}));
    assert_eq!(one["list"]["name"], "Doing");
    assert_eq!(one["organization"], json!({"id": org["id"], "displayName": "Acme"}));
    assert_eq!(one["member"]["username"], "bob");
    assert_eq!(one["memberCreator"]["username"], "alice");
    let bare = bob.get(&format!("/1/notifications/{mention_id}?member=false&memberCreator=false")).await.ok();
    assert_eq!(keys(&bare), sorted(&["id", "unread", "type", "date", "dateRead", "data", "idMemberCreator", "idAction", "reactions"]));
    assert_eq!(bob.get(&format!("/1/notifications/{mention_id}/board")).await.ok()["name"], "Launch");
    assert_eq!(bob.get(&format!("/1/notifications/{mention_id}/card")).await.ok()["id"], card["id"]);
    assert_eq!(bob.get(&format!("/1/notifications/{mention_id}/list")).await.ok()["name"], "Doing");
    assert_eq!(bob.get(&format!("/1/notifications/{mention_id}/member")).await.ok()["username"], "bob");
    assert_eq!(bob.get(&format!("/1/notifications/{mention_id}/memberCreator")).await.ok()["username"], "alice");
    assert_eq!(bob.get(&format!("/1/notifications/{mention_id}/organization")).await.ok()["displayName"], "Acme");
    assert_eq!(bob.get(&format!("/1/notifications/{added_board_id}/card")).await.status, 404);
    assert_eq!(bob.get(&format!("/1/notifications/{mention_id}/type")).await.ok(), json!({"_value": "mentionedOnCard"}));
    assert_eq!(bob.get(&format!("/1/notifications/{mention_id}/unread")).await.ok(), json!({"_value": true}));
    assert_eq!(bob.get(&format!("/1/notifications/{mention_id}/data")).await.ok()["text"], "@bob hello");
    bob.get(&format!("/1/notifications/{mention_id}/nonsense")).await.err(404, NOT_FOUND);
    bob.get("/1/notifications/nope").await.err(400, "invalid id");
    bob.get("/1/notifications/5f0000000000000000000000").await.err(404, NOT_FOUND);

    // Read and unread again, by both routes.
    let read = bob.put(&format!("/1/notifications/{mention_id}"), json!({"unread": false})).await.ok();
    assert_eq!(read["unread"], false);
    assert!(read["dateRead"].as_str().is_some_and(|d| d.ends_with('Z')));
    assert_eq!(bob.get("/1/members/me/notifications?read_filter=read").await.ok().as_array().unwrap().len(), 1);
    let unread = bob.put(&format!("/1/notifications/{mention_id}/unread"), json!({"value": true})).await.ok();
    assert_eq!((unread["unread"].as_bool(), unread["dateRead"].clone()), (Some(true), Value::Null));
    bob.put(&format!("/1/notifications/{mention_id}"), json!({"unread": "perhaps"})).await.err(400, "invalid value for unread");
    bob.put(&format!("/1/notifications/{mention_id}/unread"), json!({})).await.err(400, "invalid value for value");

    // The card's notifications read at once; the board's stays unread.
    assert_eq!(bob.post(&format!("/1/cards/{card_id}/markAssociatedNotificationsRead"), json!({})).await.ok(), json!({}));
    let unread_now = bob.get("/1/members/me/notifications?read_filter=unread").await.ok();
    assert_eq!(unread_now.as_array().unwrap().iter().map(|n| s(n, "id")).collect::<Vec<_>>(), vec![added_board_id.clone()]);

    // All read; then some chosen ones unread again.
    assert_eq!(bob.post("/1/notifications/all/read", json!({})).await.ok(), json!({}));
    assert_eq!(bob.get("/1/members/me/notifications?read_filter=unread").await.ok(), json!([]));
    bob.post("/1/notifications/all/read", json!({"read": false, "ids": [mention_id]})).await.ok();
    assert_eq!(bob.get("/1/members/me/notifications?read_filter=unread").await.ok()[0]["id"], json!(mention_id));
    bob.post("/1/notifications/all/read", json!({"ids": "nope"})).await.err(400, "invalid value for ids");

    // Channel settings: e-mail, nothing blocked until the member says so.
    let settings = bob.get("/1/members/me/notificationsChannelSettings").await.ok();
    assert_eq!(settings, json!([{"id": bob.id, "idMember": bob.id, "blockedKeys": [], "channel": "email"}]));
    let changed = bob
        .put("/1/members/me/notificationsChannelSettings", json!({"channel": "email", "blockedKeys": ["notification_comment_card"]}))
        .await
        .ok();
    assert_eq!(changed, json!({"id": bob.id, "idMember": bob.id, "blockedKeys": ["notification_comment_card"], "channel": "email"}));
    let changed =
        bob.put("/1/members/me/notificationsChannelSettings/email", json!({"blockedKeys": "notification_card_due_soon"})).await.ok();
    assert_eq!(changed["blockedKeys"], json!(["notification_card_due_soon"]));
    let changed =
        bob.put("/1/members/me/notificationsChannelSettings/email/notification_created_card,notification_moved_card", json!({})).await.ok();
    assert_eq!(changed["blockedKeys"], json!(["notification_created_card", "notification_moved_card"]));
    assert_eq!(bob.get("/1/members/me/notificationsChannelSettings/email").await.ok(), changed);
    assert_eq!(bob.get("/1/members/me/notificationsChannelSettings").await.ok(), json!([changed]));
    bob.put("/1/members/me/notificationsChannelSettings/email", json!({"blockedKeys": ["notification_everything"]}))
        .await
        .err(400, "invalid value for blockedKeys");
    bob.put("/1/members/me/notificationsChannelSettings/sms", json!({"blockedKeys": []})).await.err(400, "invalid value for channel");
    bob.put("/1/members/me/notificationsChannelSettings", json!({"channel": "email"})).await.err(400, "invalid value for blockedKeys");
    bob.get("/1/members/me/notificationsChannelSettings/sms").await.err(400, "invalid value for channel");
    assert_eq!(bob.get("/1/members/me/notificationsChannelSettings/email").await.ok(), changed);

    // None of this is an action: read state and channels are the member's preferences.
    assert_eq!(bob.get("/1/members/me/actions").await.ok(), bob_actions);
});

both_backends!(notifications_are_private_to_their_member, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let eve = server.user("eve").await;
    let (_board, card, all) = bob_with_notifications(&alice, &bob, None).await;
    let card_id = s(&card, "id");
    let mention_id = s(&all[0], "id");

    // Another member, even the one who caused them, reads none of bob's.
    alice.get(&format!("/1/members/{}/notifications", bob.id)).await.err(401, UNAUTHORIZED);
    alice.get("/1/members/bob/notifications").await.err(401, UNAUTHORIZED);
    alice.get(&format!("/1/notifications/{mention_id}")).await.err(401, UNAUTHORIZED);
    alice.get(&format!("/1/notifications/{mention_id}/board")).await.err(401, UNAUTHORIZED);
    alice.get(&format!("/1/notifications/{mention_id}/type")).await.err(401, UNAUTHORIZED);
    alice.put(&format!("/1/notifications/{mention_id}"), json!({"unread": false})).await.err(401, UNAUTHORIZED);
    alice.put(&format!("/1/notifications/{mention_id}/unread"), json!({"value": false})).await.err(401, UNAUTHORIZED);
    alice.get("/1/members/bob/notificationsChannelSettings").await.err(401, UNAUTHORIZED);
    alice
        .put("/1/members/bob/notificationsChannelSettings/email", json!({"blockedKeys": ["notification_comment_card"]}))
        .await
        .err(401, UNAUTHORIZED);
    server.anonymous().get("/1/members/bob/notifications").await.err(401, UNAUTHORIZED);
    server.anonymous().get("/1/members/me/notifications").await.err(401, UNAUTHORIZED);
    server.anonymous().post("/1/notifications/all/read", json!({})).await.err(401, UNAUTHORIZED);
    // Marking all read as alice leaves bob's alone.
    alice.post("/1/notifications/all/read", json!({"ids": [mention_id]})).await.ok();
    // An outsider may not even name the card.
    eve.post(&format!("/1/cards/{card_id}/markAssociatedNotificationsRead"), json!({})).await.err(401, UNAUTHORIZED_CARD);

    // Bob reads with any token, but changing read state needs the account scope.
    let no_account = server.token_for(&bob, &["read", "write"]).await;
    assert_eq!(no_account.get("/1/members/me/notifications").await.ok(), all);
    assert_eq!(no_account.get("/1/members/me/notificationsChannelSettings").await.ok()[0]["blockedKeys"], json!([]));
    no_account.put(&format!("/1/notifications/{mention_id}"), json!({"unread": false})).await.err(401, UNAUTHORIZED);
    no_account.put(&format!("/1/notifications/{mention_id}/unread"), json!({"value": false})).await.err(401, UNAUTHORIZED);
    no_account.post("/1/notifications/all/read", json!({})).await.err(401, UNAUTHORIZED);
    no_account.post(&format!("/1/cards/{card_id}/markAssociatedNotificationsRead"), json!({})).await.err(401, UNAUTHORIZED);
    no_account
        .put("/1/members/me/notificationsChannelSettings/email", json!({"blockedKeys": ["notification_comment_card"]}))
        .await
        .err(401, UNAUTHORIZED);

    // Nothing changed.
    assert_eq!(bob.get("/1/members/me/notifications").await.ok(), all);
    assert!(all.as_array().unwrap().iter().all(|n| n["unread"] == true));
    assert_eq!(bob.get("/1/members/me/notificationsChannelSettings").await.ok()[0]["blockedKeys"], json!([]));
});
