//! Moving boards in and out: Trello's own exports import whole (every count in the file
//! comes through, nothing skipped), a second import updates in place, an export imports
//! into another instance and exports again the same, and bad files are reported with
//! nothing half-imported left behind.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cork_core::import::{ImportOptions, ImportReport, Progress};
use serde_json::{json, Value};

use common::{s, Body, Client, Server};

fn exports_dir() -> PathBuf {
    // Real board exports (MIT-licensed, sources in spec/exports/README.md).
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/exports")
}

fn real_exports() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(exports_dir())
        .expect("spec/exports")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the real exports are there");
    files
}

/// What the file itself holds, counted the way the report counts.
fn own_counts(export: &Value) -> BTreeMap<String, u64> {
    let len = |v: &Value, key: &str| v.get(key).and_then(Value::as_array).map_or(0, |a| a.len() as u64);
    let nested = |section: &str, key: &str| export[section].as_array().map_or(0, |items| items.iter().map(|i| len(i, key)).sum());
    let mut counts = BTreeMap::new();
    for section in ["actions", "cards", "checklists", "customFields", "labels", "lists", "members", "memberships"] {
        counts.insert(section.to_string(), len(export, section));
    }
    counts.insert("board".into(), 1);
    counts.insert("attachments".into(), nested("cards", "attachments"));
    counts.insert("customFieldItems".into(), nested("cards", "customFieldItems"));
    counts.insert("stickers".into(), nested("cards", "stickers"));
    counts.insert("checkItems".into(), nested("checklists", "checkItems"));
    counts.insert("customFieldOptions".into(), nested("customFields", "options"));
    counts.retain(|_, n| *n > 0);
    counts
}

async fn import(server: &Server, path: &Path, options: &ImportOptions) -> ImportReport {
    server.cork.import_board(path, options, Arc::new(Progress::default())).await
}

fn as_admin(client: &Client) -> ImportOptions {
    ImportOptions { admin: Some(client.id.clone()), ..Default::default() }
}

/// Every action of the board, newest first, read with `before=` paging.
async fn all_actions(client: &Client, board: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    loop {
        let before = out.last().map(|a| format!("&before={}", s(a, "id"))).unwrap_or_default();
        let page = client.get(&format!("/1/boards/{board}/actions?filter=all&limit=100{before}")).await.ok();
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

both_backends!(every_real_export_imports_whole, |server: Server| async move {
    let alice = server.user("alice").await;
    for path in real_exports() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let board = s(&file, "id");
        let report = import(&server, &path, &as_admin(&alice)).await;
        assert!(report.ok, "{name}: {:?}", report.error);
        assert_eq!(report.skipped, vec![], "{name}: nothing skipped");
        let read: BTreeMap<String, u64> = report.counts.iter().filter(|(_, c)| c.read > 0).map(|(k, c)| (k.to_string(), c.read)).collect();
        assert_eq!(read, own_counts(&file), "{name}: the report reads what the file holds");
        for (kind, count) in &report.counts {
            assert_eq!((count.imported, count.updated, count.skipped), (count.read, 0, 0), "{name}: every {kind} is new");
        }

        // What the API now serves is what the file holds.
        let cards = alice.get(&format!("/1/boards/{board}/cards/all?attachments=true")).await.ok();
        let cards = cards.as_array().unwrap();
        assert_eq!(cards.len(), file["cards"].as_array().unwrap().len(), "{name}: cards");
        for original in file["cards"].as_array().unwrap() {
            let card =
                cards.iter().find(|c| c["id"] == original["id"]).unwrap_or_else(|| panic!("{name}: card {} kept its id", original["id"]));
            for key in ["name", "desc", "idList", "closed", "idShort", "shortLink", "due", "dueComplete", "idLabels"] {
                if original.get(key).is_none() {
                    continue; // not in every export (03 has no card shortLinks)
                }
                assert_eq!(card[key], original[key], "{name}: card {} {key}", original["id"]);
            }
            assert_eq!(card["pos"].as_f64(), original["pos"].as_f64(), "{name}: card pos");
            assert_eq!(
                card["attachments"].as_array().map(Vec::len),
                original["attachments"].as_array().map(Vec::len),
                "{name}: attachments"
            );
        }
        let lists = alice.get(&format!("/1/boards/{board}/lists/all")).await.ok();
        assert_eq!(lists.as_array().unwrap().len(), file["lists"].as_array().unwrap().len(), "{name}: lists");
        let labels = alice.get(&format!("/1/boards/{board}/labels?limit=1000")).await.ok();
        assert_eq!(labels.as_array().unwrap().len(), file["labels"].as_array().unwrap().len(), "{name}: labels");
        let checklists = alice.get(&format!("/1/boards/{board}/checklists?filter=all")).await.ok();
        assert_eq!(checklists.as_array().unwrap().len(), file["checklists"].as_array().unwrap().len(), "{name}: checklists");
        let actions = all_actions(&alice, &board).await;
        assert_eq!(actions.len(), file["actions"].as_array().unwrap().len(), "{name}: actions");
        let comments = |actions: &[Value]| {
            actions.iter().filter(|a| a["type"] == "commentCard").map(|a| a["data"]["text"].clone()).collect::<Vec<_>>()
        };
        let mut theirs = comments(file["actions"].as_array().unwrap());
        let mut ours = comments(&actions);
        theirs.sort_by_key(Value::to_string);
        ours.sort_by_key(Value::to_string);
        assert_eq!(ours, theirs, "{name}: comments with their text");
        let original = file["actions"].as_array().unwrap().iter().find(|a| a["type"] == "createCard");
        if let Some(original) = original {
            let ours = actions.iter().find(|a| a["id"] == original["id"]).expect("the action kept its id");
            assert_eq!(
                (&ours["date"], &ours["data"]["card"]["id"]),
                (&original["date"], &original["data"]["card"]["id"]),
                "{name}: original date"
            );
        }

        // Again: the same board, updated in place, nothing new.
        let again = import(&server, &path, &as_admin(&alice)).await;
        assert!(again.ok && again.skipped.is_empty(), "{name}: {:?}", again.error);
        for (kind, count) in &again.counts {
            assert_eq!((count.imported, count.updated), (0, count.read), "{name}: every {kind} is updated in place");
        }
        assert!(again.placeholders.is_empty(), "{name}: no second placeholder");
        let cards_again = alice.get(&format!("/1/boards/{board}/cards/all")).await.ok();
        assert_eq!(cards_again.as_array().unwrap().len(), cards.len());
        assert_eq!(all_actions(&alice, &board).await.len(), actions.len(), "{name}: no duplicate actions");
    }
    let boards = alice.get("/1/members/me/boards?filter=all&fields=id").await.ok();
    assert_eq!(boards.as_array().unwrap().len(), real_exports().len(), "one board per export, however often imported");
});

/// A multipart upload of `bytes` as a file attachment.
async fn upload(client: &Client, card: &str, name: &str, bytes: &[u8]) -> Value {
    let boundary = "cork-import-test-boundary";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n")
            .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type: &'static str = "multipart/form-data; boundary=cork-import-test-boundary";
    client.send("POST", &format!("/1/cards/{card}/attachments"), Body::Raw(content_type, body)).await.ok()
}

/// A board with every kind of object the export carries, built through the API.
async fn full_board(alice: &Client, bob: &Client) -> String {
    let board = s(&alice.board("Everything").await, "id");
    alice.put(&format!("/1/boards/{board}/members/{}", bob.id), json!({"type": "normal"})).await.ok();
    let todo = s(&alice.list(&board, "To do").await, "id");
    let done = s(&alice.list(&board, "Done").await, "id");
    let old = s(&alice.list(&board, "Old").await, "id");
    alice.put(&format!("/1/lists/{old}/closed"), json!({"value": true})).await.ok();
    let urgent = alice.post("/1/labels", json!({"idBoard": board, "name": "Urgent", "color": "red"})).await.ok();
    let text_field = alice
        .post("/1/customFields", json!({"idModel": board, "modelType": "board", "name": "Notes", "type": "text", "pos": "bottom"}))
        .await
        .ok();
    let number_field = alice
        .post("/1/customFields", json!({"idModel": board, "modelType": "board", "name": "Points", "type": "number", "pos": "bottom"}))
        .await
        .ok();
    let date_field = alice
        .post("/1/customFields", json!({"idModel": board, "modelType": "board", "name": "Review", "type": "date", "pos": "bottom"}))
        .await
        .ok();
    let check_field = alice
        .post("/1/customFields", json!({"idModel": board, "modelType": "board", "name": "Signed", "type": "checkbox", "pos": "bottom"}))
        .await
        .ok();
    let list_field = alice
        .post(
            "/1/customFields",
            json!({"idModel": board, "modelType": "board", "name": "Priority", "type": "list", "pos": "bottom",
                   "options": [{"value": {"text": "High"}, "color": "red"}, {"value": {"text": "Low"}, "color": "green"}]}),
        )
        .await
        .ok();

    let card = s(&alice.card(&todo, "Write the report").await, "id");
    alice
        .put(
            &format!("/1/cards/{card}"),
            json!({"desc": "All of it", "due": "2026-12-24T12:00:00.000Z", "start": "2026-12-01T09:00:00.000Z", "dueComplete": true}),
        )
        .await
        .ok();
    alice.post(&format!("/1/cards/{card}/idLabels"), json!({"value": s(&urgent, "id")})).await.ok();
    alice.post(&format!("/1/cards/{card}/idMembers"), json!({"value": bob.id})).await.ok();
    alice.put(&format!("/1/boards/{board}"), json!({"prefs/voting": "members"})).await.ok();
    alice.post(&format!("/1/cards/{card}/membersVoted"), json!({"value": alice.id})).await.ok();
    alice.post(&format!("/1/cards/{card}/actions/comments"), json!({"text": "First draft is in"})).await.ok();
    bob.post(&format!("/1/cards/{card}/actions/comments"), json!({"text": "Looks good"})).await.ok();
    let checklist = alice.post("/1/checklists", json!({"idCard": card, "name": "Steps"})).await.ok();
    alice.post(&format!("/1/checklists/{}/checkItems", s(&checklist, "id")), json!({"name": "Outline", "checked": true})).await.ok();
    alice.post(&format!("/1/checklists/{}/checkItems", s(&checklist, "id")), json!({"name": "Draft"})).await.ok();
    alice.post(&format!("/1/cards/{card}/attachments"), json!({"url": "https://example.com/spec", "name": "Spec"})).await.ok();
    upload(alice, &card, "notes.txt", b"the notes").await;
    alice.post(&format!("/1/cards/{card}/stickers"), json!({"image": "taco-cool", "top": 10, "left": 20, "zIndex": 1})).await.ok();
    let item = |field: &Value| format!("/1/cards/{card}/customField/{}/item", s(field, "id"));
    alice.put(&item(&text_field), json!({"value": {"text": "see the spec"}})).await.ok();
    alice.put(&item(&number_field), json!({"value": {"number": "8"}})).await.ok();
    alice.put(&item(&date_field), json!({"value": {"date": "2026-12-20T00:00:00.000Z"}})).await.ok();
    alice.put(&item(&check_field), json!({"value": {"checked": "true"}})).await.ok();
    alice.put(&item(&list_field), json!({"idValue": s(&list_field["options"][0], "id")})).await.ok();

    let moved = s(&alice.card(&todo, "Ship it").await, "id");
    alice.put(&format!("/1/cards/{moved}"), json!({"idList": done})).await.ok();
    let archived = s(&alice.card(&done, "Old idea").await, "id");
    alice.put(&format!("/1/cards/{archived}"), json!({"closed": true})).await.ok();
    board
}

/// The export's text with one server's own address written as another's.
fn rebased(export: &Value, from: &str, to: &str) -> Value {
    serde_json::from_str(&export.to_string().replace(from, to)).unwrap()
}

both_backends!(an_export_imports_elsewhere_and_exports_the_same, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let board = full_board(&alice, &bob).await;

    // The route a person downloads from.
    let response = alice.get(&format!("/cork/boards/{board}/export")).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.headers["content-disposition"].to_str().unwrap().ends_with("-everything.json\""));
    let first = response.json();
    for key in ["actions", "cards", "checklists", "customFields", "labels", "lists", "members", "memberships", "pluginData"] {
        assert!(first[key].is_array(), "{key} is a section");
    }
    assert_eq!(first["cards"].as_array().unwrap().len(), 3);
    assert_eq!(first["customFields"].as_array().unwrap().len(), 5);
    let written = first["cards"].as_array().unwrap().iter().find(|c| c["name"] == "Write the report").unwrap().clone();
    assert_eq!(written["customFieldItems"].as_array().unwrap().len(), 5);
    assert_eq!(written["stickers"].as_array().unwrap().len(), 1);
    assert_eq!(written["idMembersVoted"], json!([alice.id]));
    let uploads: Vec<bool> = written["attachments"].as_array().unwrap().iter().map(|a| a["isUpload"].as_bool().unwrap()).collect();
    assert_eq!(uploads, vec![false, true], "a link and an upload");
    assert!(first["actions"].as_array().unwrap().iter().filter(|a| a["type"] == "commentCard").count() == 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("everything.json");
    std::fs::write(&path, response.text.as_bytes()).unwrap();

    // Into another instance, where nobody from the first is a member yet.
    let elsewhere = server.another().await;
    let report = import(&elsewhere, &path, &ImportOptions::default()).await;
    assert!(report.ok, "{:?}", report.error);
    assert_eq!(report.skipped, vec![]);
    assert_eq!(report.placeholders.len(), 2, "alice and bob come as placeholders");
    for (kind, count) in &report.counts {
        assert_eq!((count.imported, count.skipped), (count.read, 0), "{kind}");
    }
    let (_, admin) = elsewhere.cork.board_and_admin(&board).await.unwrap();
    assert_eq!(admin.id, alice.id, "the placeholder keeps alice's id and her admin role");
    let app = cork_api::App::new(elsewhere.cork.clone(), cork_api::ApiConfig { public_url: elsewhere.base.clone(), ..Default::default() });
    let export = cork_api::export::Export::start(&app, cork_core::Actor::member(admin), &board).await.unwrap();
    let mut bytes = Vec::new();
    let mut stream = std::pin::pin!(export.into_stream());
    while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    let second = rebased(&serde_json::from_slice(&bytes).unwrap(), &elsewhere.base, &server.base);

    // The fields that must differ (docs/import-export.md): placeholders are unconfirmed
    // ghosts, and an uploaded file arrives as a link to where it was.
    let mut expected = first.clone();
    for member in expected["members"].as_array_mut().unwrap() {
        member["memberType"] = json!("ghost");
        member["confirmed"] = json!(false);
    }
    for card in expected["cards"].as_array_mut().unwrap() {
        for attachment in card["attachments"].as_array_mut().unwrap() {
            attachment["isUpload"] = json!(false);
        }
    }
    assert_eq!(second, expected, "export → import → export gives the same file");

    // And once more over it: updated in place, nothing new.
    let again = import(&elsewhere, &path, &ImportOptions::default()).await;
    assert!(again.ok && again.placeholders.is_empty());
    assert!(again.counts.values().all(|c| c.imported == 0));
});

/// Writes `value` to a file in `dir`.
fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn small_export() -> Value {
    let text = std::fs::read_to_string(exports_dir().join("02-small-synthetic-trello2planka.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

both_backends!(bad_files_are_reported_and_leave_nothing_behind, |server: Server| async move {
    let alice = server.user("alice").await;
    let dir = tempfile::tempdir().unwrap();
    let export = small_export();
    let board = s(&export, "id");
    let text = export.to_string();
    let nothing_there = |what: &str| {
        let (alice, board, what) = (alice.clone(), board.clone(), what.to_string());
        async move {
            assert_eq!(alice.get(&format!("/1/boards/{board}")).await.status, 404, "{what}: no board was left");
        }
    };

    // Cut short: the whole file is refused, with where it ends.
    let cut = file(dir.path(), "cut.json", &text[..text.len() * 2 / 3]);
    let report = import(&server, &cut, &as_admin(&alice)).await;
    assert!(!report.ok);
    assert!(report.error.as_deref().unwrap().contains("ends before"), "{:?}", report.error);
    assert!(report.counts.values().all(|c| c.imported == 0 && c.updated == 0));
    nothing_there("cut short").await;

    // Not an export at all.
    for (name, body, says) in [
        ("list.json", "[1, 2, 3]", "a JSON object"),
        ("prose.json", "Dear Trello,", "not valid JSON"),
        ("card.json", r#"{"id": "5f0000000000000000000001", "name": "a card", "idList": "x"}"#, "not a Trello board export"),
    ] {
        let report = import(&server, &file(dir.path(), name, body), &as_admin(&alice)).await;
        assert!(!report.ok, "{name}");
        assert!(report.error.as_deref().unwrap().contains(says), "{name}: {:?}", report.error);
    }

    // A card on a list the file lacks, and a name of 10 MB: both reported and skipped,
    // the rest comes in; with strict, none of it.
    let mut dangling = export.clone();
    dangling["cards"][0]["idList"] = json!("5f00000000000000000000aa");
    dangling["cards"][1]["name"] = json!("n".repeat(10 << 20));
    let dangling_path = file(dir.path(), "dangling.json", &dangling.to_string());
    let strict = ImportOptions { strict: true, ..as_admin(&alice) };
    let report = import(&server, &dangling_path, &strict).await;
    assert!(!report.ok);
    assert!(report.error.as_deref().unwrap().contains("--strict"), "{:?}", report.error);
    assert_eq!(report.skipped.iter().filter(|s| s.kind == "cards").count(), 2);
    nothing_there("strict").await;

    let report = import(&server, &dangling_path, &as_admin(&alice)).await;
    assert!(report.ok, "{:?}", report.error);
    let skipped_cards: Vec<_> = report.skipped.iter().filter(|s| s.kind == "cards").collect();
    assert_eq!(skipped_cards.len(), 2);
    assert_eq!(skipped_cards[0].id.as_deref(), export["cards"][0]["id"].as_str());
    assert!(skipped_cards[0].reason.contains("not among the export's lists"), "{}", skipped_cards[0].reason);
    assert!(skipped_cards[1].reason.contains("longer than 16384"), "{}", skipped_cards[1].reason);
    assert_eq!(report.counts["cards"].imported, 8);
    let cards = alice.get(&format!("/1/boards/{board}/cards/all")).await.ok();
    assert_eq!(cards.as_array().unwrap().len(), 8);
    // What hung on the skipped cards is skipped with them, and says so.
    assert!(report.skipped.iter().filter(|s| s.kind != "cards").all(|s| s.reason.contains("was skipped")));

    // An export cannot take over another board's objects by naming their ids.
    let other = s(&alice.board("Someone else's").await, "id");
    let list = s(&alice.list(&other, "Theirs").await, "id");
    let mut hostile = export.clone();
    hostile["id"] = json!("5f00000000000000000000bb");
    hostile["shortLink"] = json!("hostile1");
    hostile["lists"][0]["id"] = json!(list);
    let report = import(&server, &file(dir.path(), "hostile.json", &hostile.to_string()), &as_admin(&alice)).await;
    assert!(!report.ok);
    assert!(report.error.as_deref().unwrap().contains("belongs to another board"), "{:?}", report.error);
    assert_eq!(alice.get(&format!("/1/lists/{list}")).await.ok()["idBoard"], json!(other));
    assert_eq!(alice.get("/1/boards/5f00000000000000000000bb").await.status, 404);
});

both_backends!(the_command_line_imports_while_the_server_runs, |server: Server| async move {
    let alice = server.user("alice").await;
    let path = exports_dir().join("05-public-template-productivity-2019.json");
    let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let run = |args: Vec<String>| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_cork"))
            .args(args)
            .args(["--database", server.database_url()])
            .arg("--data-dir")
            .arg(server.data_dir())
            .output()
            .expect("run cork");
        (output.status.success(), String::from_utf8_lossy(&output.stdout).to_string(), String::from_utf8_lossy(&output.stderr).to_string())
    };
    let (ok, stdout, stderr) =
        run(vec!["import".into(), path.display().to_string(), "--report".into(), "json".into(), "--admin".into(), "alice".into()]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object per file: {stdout}");
    let report: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(report["ok"], json!(true));
    assert_eq!(report["counts"]["cards"]["imported"], json!(file["cards"].as_array().unwrap().len()));
    let board = s(&file, "id");
    assert_eq!(
        alice.get(&format!("/1/boards/{board}/cards/all")).await.ok().as_array().unwrap().len(),
        file["cards"].as_array().unwrap().len()
    );

    // Out again through the command line, into a file that imports the same.
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("out.json");
    let (ok, _, stderr) = run(vec!["export".into(), board.clone(), "--output".into(), out.display().to_string()]);
    assert!(ok, "{stderr}");
    let exported: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(exported["cards"].as_array().unwrap().len(), file["cards"].as_array().unwrap().len());
    assert_eq!(exported["actions"].as_array().unwrap().len(), file["actions"].as_array().unwrap().len());

    // A bad file: a non-zero exit and the reason.
    let bad = scratch.path().join("bad.json");
    std::fs::write(&bad, "{\"id\": 1}").unwrap();
    let (ok, stdout, _) = run(vec!["import".into(), bad.display().to_string()]);
    assert!(!ok);
    assert!(stdout.contains("nothing imported: not a Trello board export"), "{stdout}");
});

/// Every board alice can see, exported through the route, keyed by id, with the
/// server's own address written as `http://cork`.
async fn every_export(alice: &Client) -> BTreeMap<String, Value> {
    let boards = alice.get("/1/members/me/boards?filter=all&fields=id").await.ok();
    let mut out = BTreeMap::new();
    for board in boards.as_array().unwrap() {
        let id = s(board, "id");
        let response = alice.get(&format!("/cork/boards/{id}/export")).await;
        assert_eq!(response.status, 200, "{}", response.text);
        out.insert(id, rebased(&response.json(), &alice.base, "http://cork"));
    }
    out
}

async fn backup_of(server: &Server) -> Vec<u8> {
    let mut bytes = Vec::new();
    let summary = server.cork.backup(&mut bytes).await.unwrap();
    assert!(summary.rows > 100 && summary.files == 1, "{summary:?}");
    bytes
}

/// alice's client pointed at another server (her token travels with the backup).
fn on(alice: &Client, server: &Server) -> Client {
    Client { base: server.base.clone(), ..alice.clone() }
}

// SQLite → PostgreSQL → SQLite (SQLite → SQLite when no PostgreSQL is configured): the
// exports of every board are identical at each step, and the uploaded file comes along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_across_backends() {
    let source = Server::sqlite().await;
    let alice = source.user("alice").await;
    let bob = source.user("bob").await;
    full_board(&alice, &bob).await;
    for path in real_exports() {
        assert!(import(&source, &path, &as_admin(&alice)).await.ok);
    }
    let before = every_export(&alice).await;
    assert_eq!(before.len(), 1 + real_exports().len());

    // Taken while the server runs, and restored into a fresh database of the other kind.
    let backup = backup_of(&source).await;
    let middle = match Server::postgres().await {
        Some(server) => server,
        None => Server::sqlite().await,
    };
    let summary = middle.cork.restore(&mut backup.as_slice()).await.unwrap();
    assert_eq!(summary.files, 1);
    assert_eq!(every_export(&on(&alice, &middle)).await, before, "{} holds the same boards", middle.backend());
    let card =
        before.values().find_map(|b| b["cards"].as_array().unwrap().iter().find(|c| c["name"] == "Write the report").cloned()).unwrap();
    let upload = card["attachments"].as_array().unwrap().iter().find(|a| a["isUpload"] == json!(true)).unwrap();
    let url = s(upload, "url").replace("http://cork", &middle.base);
    let download =
        alice.http.get(format!("{url}?key={}&token={}", alice.key.as_ref().unwrap(), alice.token.as_ref().unwrap())).send().await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"the notes");
    // Search works from the restored index.
    let found = on(&alice, &middle).get("/1/search?query=report&modelTypes=cards").await.ok();
    assert!(found["cards"].as_array().unwrap().iter().any(|c| c["name"] == "Write the report"));

    // And back again.
    let back = Server::sqlite().await;
    back.cork.restore(&mut backup_of(&middle).await.as_slice()).await.unwrap();
    assert_eq!(every_export(&on(&alice, &back)).await, before, "and back on SQLite");
    // The restored instance takes new writes (sequences and card numbers go on).
    let list = before.values().next().unwrap()["lists"][0]["id"].as_str().unwrap().to_string();
    on(&alice, &back).post("/1/cards", json!({"idList": list, "name": "After the restore"})).await.ok();

    // A restore goes into an empty database only, and a cut-short backup restores nothing.
    let refused = back.cork.restore(&mut backup.as_slice()).await.unwrap_err();
    assert!(refused.to_string().contains("empty database"), "{refused}");
    let empty = Server::sqlite().await;
    let cut = &backup[..backup.len() / 2];
    let cut = &cut[..cut.iter().rposition(|b| *b == b'\n').unwrap() + 1];
    let refused = empty.cork.restore(&mut &cut[..]).await.unwrap_err();
    assert!(refused.to_string().contains("cut short"), "{refused}");
    let nobody = empty.cork.member_by_username("alice").await;
    assert!(nobody.is_err(), "nothing of a refused restore stays");
}

/// Polls an import job until it has finished.
async fn finished(client: &Client, id: &str) -> Value {
    for _ in 0..200 {
        let job = client.get(&format!("/cork/imports/{id}")).await.ok();
        if job["state"] != "running" {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import {id} did not finish");
}

async fn post_export(client: &Client, body: Vec<u8>) -> common::Resp {
    client.send("POST", "/cork/imports?name=board.json", Body::Raw("application/json", body)).await
}

both_backends!(the_web_import_runs_as_a_job_of_its_member, |server: Server| async move {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let text = std::fs::read(exports_dir().join("02-small-synthetic-trello2planka.json")).unwrap();
    let file: Value = serde_json::from_slice(&text).unwrap();
    let board = s(&file, "id");

    let started = post_export(&alice, text.clone()).await;
    assert_eq!(started.status, 202, "{}", started.text);
    let job = started.json();
    assert_eq!((job["state"].as_str(), job["fileName"].as_str()), (Some("running"), Some("board.json")));
    let done = finished(&alice, &s(&job, "id")).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["report"]["counts"]["cards"]["imported"], json!(10));
    assert_eq!(done["progress"]["bytesTotal"], json!(text.len()));
    let members = alice.get(&format!("/1/boards/{board}/memberships")).await.ok();
    assert!(
        members.as_array().unwrap().iter().any(|m| m["idMember"] == json!(alice.id) && m["memberType"] == "admin"),
        "the importer administers the board"
    );
    assert_eq!(alice.get("/cork/imports").await.ok().as_array().unwrap().len(), 1);

    // Only its member sees a job; another member cannot overwrite the board by importing it.
    bob.get(&format!("/cork/imports/{}", s(&job, "id"))).await.err(404, "The requested resource was not found.");
    assert_eq!(bob.get("/cork/imports").await.ok(), json!([]));
    let theirs = finished(&bob, &s(&post_export(&bob, text.clone()).await.json(), "id")).await;
    assert_eq!(theirs["state"], "failed");
    assert!(theirs["report"]["error"].as_str().unwrap().contains("not one of its admins"), "{theirs}");
    assert_eq!(alice.get(&format!("/1/boards/{board}/cards/all")).await.ok().as_array().unwrap().len(), 10);

    // Bad bodies and narrow tokens are refused before any job starts.
    post_export(&alice, b"Dear Trello".to_vec()).await.err(400, "not a Trello board export: send the file's JSON as the request body");
    let member = server.cork.member_by_username("alice").await.unwrap();
    let grant = cork_core::accounts::TokenGrant {
        key: None,
        app: "narrow".into(),
        scopes: vec!["read".into(), "write".into()],
        expires: None,
        models: vec![cork_core::model::TokenPermission { id_model: board.clone(), model_type: "Board".into(), read: true, write: true }],
    };
    let issued = server.cork.issue(&member, grant).await.unwrap();
    let narrow = Client { key: Some(issued.key), token: Some(issued.token), ..alice.clone() };
    post_export(&narrow, text.clone()).await.err(401, "unauthorized permission requested");
    server
        .anonymous()
        .send("POST", "/cork/imports", Body::Raw("application/json", text))
        .await
        .err(401, "unauthorized permission requested");
});

// With --trello-key/--trello-token the command line downloads uploaded files from the
// export's source (here another Cork, which reads the credentials from the OAuth header
// as Trello does) and stores them, so they no longer depend on the source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_files_are_downloaded_with_source_credentials() {
    let source = Server::sqlite().await;
    let alice = source.user("alice").await;
    let board = s(&alice.board("Files").await, "id");
    let list = s(&alice.list(&board, "Docs").await, "id");
    let card = s(&alice.card(&list, "Report").await, "id");
    upload(&alice, &card, "notes.txt", b"the notes, downloaded").await;
    alice.post(&format!("/1/cards/{card}/attachments"), json!({"url": "https://example.com/spec", "name": "Spec"})).await.ok();
    let response = alice.get(&format!("/cork/boards/{board}/export")).await;
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "files.json", &response.text);

    let target = Server::sqlite().await;
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cork"))
            .arg("import")
            .arg(&path)
            .args(["--report", "json", "--database", target.database_url()])
            .arg("--data-dir")
            .arg(target.data_dir())
            .args(extra)
            .output()
            .expect("run cork import")
    };
    // Wrong credentials: imported all the same, the file stays a link, with a warning.
    let output = run(&["--trello-key", alice.key.as_deref().unwrap(), "--trello-token", "0000"]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((report["ok"].as_bool(), report["downloaded"].as_u64()), (Some(true), Some(0)), "{report}");
    assert!(report["warnings"].to_string().contains("stays a link"), "{report}");
    // The right ones: the file is stored here.
    let output = run(&["--trello-key", alice.key.as_deref().unwrap(), "--trello-token", alice.token.as_deref().unwrap()]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((report["ok"].as_bool(), report["downloaded"].as_u64()), (Some(true), Some(1)), "{report}");

    let placeholder = target.cork.member_by_username("alice").await.unwrap();
    let issued = target.cork.issue_token(&placeholder, "tests", &["read".into()], None).await.unwrap();
    let reader = Client { base: target.base.clone(), key: Some(issued.key), token: Some(issued.token), ..alice.clone() };
    let attachments = reader.get(&format!("/1/cards/{card}/attachments")).await.ok();
    let uploaded: Vec<&Value> = attachments.as_array().unwrap().iter().filter(|a| a["isUpload"] == json!(true)).collect();
    assert_eq!(uploaded.len(), 1, "{attachments}");
    let url = s(uploaded[0], "url");
    assert!(url.starts_with(&target.base), "served by the target now: {url}");
    let download = reader
        .http
        .get(format!("{url}?key={}&token={}", reader.key.as_ref().unwrap(), reader.token.as_ref().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"the notes, downloaded");
    assert_eq!(attachments.as_array().unwrap().iter().filter(|a| a["isUpload"] == json!(false)).count(), 1, "the link stays a link");
}

both_backends!(a_board_without_cards_imports, |server: Server| async move {
    let alice = server.user("alice").await;
    let dir = tempfile::tempdir().unwrap();
    let mut export = small_export();
    for section in ["cards", "checklists", "actions"] {
        export[section] = json!([]);
    }
    let board = s(&export, "id");
    let report = import(&server, &file(dir.path(), "empty.json", &export.to_string()), &as_admin(&alice)).await;
    assert!(report.ok, "{:?}", report.error);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(alice.get(&format!("/1/boards/{board}/cards/all")).await.ok(), json!([]));
    assert_eq!(
        alice.get(&format!("/1/boards/{board}/lists?filter=all")).await.ok().as_array().unwrap().len(),
        export["lists"].as_array().unwrap().len()
    );
});
