//! `cork mirror` between two Cork servers on 127.0.0.1: the source's moves, edits,
//! comments, archiving and deletions appear on the mirror in order; a mirror killed with
//! SIGKILL and started again loses and duplicates nothing; the mirrored board refuses
//! local writes, naming its source; the lag is visible. The mirrored side runs on both
//! backends; the source is a SQLite server.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cork_api::webhooks::AllowList;
use serde_json::{json, Value};

use common::{s, Client, Server};

/// The `cork mirror` command line for `board` on `source`, into `here`.
fn mirror_command(here: &Server, source: &Client, board: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cork"));
    command
        .arg("mirror")
        .args(["--from", &source.base, "--board", board, "--admin", "alice"])
        .args(["--key", source.key.as_deref().unwrap(), "--token", source.token.as_deref().unwrap()])
        .arg("--database")
        .arg(here.database_url())
        .arg("--data-dir")
        .arg(here.data_dir())
        .args(extra)
        .args(if extra.contains(&"--interval") { &[][..] } else { &["--interval", "1"][..] })
        .env("CORK_LOG", common::child_log("warn"));
    command
}

fn run_once(here: &Server, source: &Client, board: &str) -> Vec<Value> {
    let output = mirror_command(here, source, board, &["--once"]).output().expect("run cork mirror");
    assert!(output.status.success(), "cork mirror --once failed: {}", String::from_utf8_lossy(&output.stderr));
    common::keep_log("mirror", &output.stderr);
    String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

fn start(here: &Server, source: &Client, board: &str, extra: &[&str]) -> Child {
    mirror_command(here, source, board, extra)
        .stdout(Stdio::null())
        .stderr(common::child_stderr("mirror"))
        .spawn()
        .expect("start cork mirror")
}

/// Every action id of the board, oldest first.
async fn action_ids(client: &Client, board: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    loop {
        let before = out.last().map(|id| format!("&before={id}")).unwrap_or_default();
        let page = client.get(&format!("/1/boards/{board}/actions?filter=all&limit=1000{before}")).await.ok();
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            out.reverse();
            return out;
        }
        out.extend(page.iter().map(|a| s(a, "id")));
    }
}

/// What must be the same on both sides: lists, labels, cards (open and archived) with
/// their checklists and items, attachments and comments.
async fn state(client: &Client, board: &str) -> Value {
    let b = client
        .get(&format!(
            "/1/boards/{board}?fields=name,desc,closed&lists=all&list_fields=name,pos,closed&labels=all&label_fields=name,color&cards=all&card_fields=name,desc,idList,pos,closed,idLabels,due,dueComplete&checklists=all&checklist_fields=name,idCard,pos&card_attachments=true&card_attachment_fields=name,url"
        ))
        .await
        .ok();
    let mut b = b;
    // Cork's own extension says the board is mirrored: not part of the state.
    b.as_object_mut().unwrap().remove("cork");
    for key in ["cards", "lists", "labels", "checklists"] {
        let mut items = b[key].as_array().cloned().unwrap_or_default();
        items.sort_by(|x, y| x["id"].as_str().cmp(&y["id"].as_str()));
        for item in items.iter_mut() {
            if let Some(items) = item.get_mut("checkItems").and_then(Value::as_array_mut) {
                for check in items.iter_mut() {
                    *check = json!({"id": check["id"], "name": check["name"], "state": check["state"], "pos": check["pos"]});
                }
            }
        }
        b[key] = Value::Array(items);
    }
    let comments = client.get(&format!("/1/boards/{board}/actions?filter=commentCard&limit=1000")).await.ok();
    b["comments"] = Value::Array(comments.as_array().unwrap().iter().map(|c| json!([c["id"], c["data"]["text"]])).collect());
    b
}

/// Waits until the mirror holds what the source holds (actions in the same order, the
/// same state), or fails with both.
async fn converge(source: &Client, mirror: &Client, board: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (a, b) = (action_ids(source, board).await, action_ids(mirror, board).await);
        if a == b {
            let (x, y) = (state(source, board).await, state(mirror, board).await);
            if x == y {
                return;
            }
            if Instant::now() > deadline {
                assert_eq!(y, x, "the mirror's state differs from the source's");
            }
        } else if Instant::now() > deadline {
            assert_eq!(b, a, "the mirror's actions differ from the source's");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A board with every object type a step must carry.
async fn build(alice: &Client) -> (String, String, String, String) {
    let board = alice.board("Roadmap").await;
    let id = s(&board, "id");
    let todo = alice.list(&id, "To do").await;
    let done = alice.list(&id, "Done").await;
    let card = alice.card(&s(&todo, "id"), "Ship the mirror").await;
    let label = alice.post("/1/labels", json!({"name": "urgent", "color": "red", "idBoard": id})).await.ok();
    alice.post(&format!("/1/cards/{}/idLabels", s(&card, "id")), json!({"value": s(&label, "id")})).await.ok();
    let checklist = alice.post(&format!("/1/cards/{}/checklists", s(&card, "id")), json!({"name": "Steps"})).await.ok();
    alice.post(&format!("/1/checklists/{}/checkItems", s(&checklist, "id")), json!({"name": "write it"})).await.ok();
    alice.post(&format!("/1/cards/{}/actions/comments", s(&card, "id")), json!({"text": "first comment"})).await.ok();
    alice.post(&format!("/1/cards/{}/attachments", s(&card, "id")), json!({"url": "https://example.com/spec", "name": "spec"})).await.ok();
    alice.card(&s(&todo, "id"), "Second card").await;
    (id, s(&todo, "id"), s(&done, "id"), s(&card, "id"))
}

both_backends!(a_mirror_follows_its_source_in_order_and_survives_sigkill, |here: Server| async move {
    let source = Server::sqlite().await;
    let alice = source.user("alice").await;
    let local = here.user("alice").await;
    let (board, todo, done, card) = build(&alice).await;

    // The first run imports the board whole, with every action.
    let lines = run_once(&here, &alice, &board);
    assert_eq!(lines[0]["event"], "created", "{lines:?}");
    assert_eq!(lines[0]["import"]["ok"], true, "{lines:?}");
    assert!(lines[0]["import"]["skipped"].as_array().unwrap().is_empty(), "{lines:?}");
    converge(&alice, &local, &board).await;

    // Following: moves, edits, comments, checks, archive and delete, in order.
    let mut mirror = start(&here, &alice, &board, &[]);
    alice.put(&format!("/1/cards/{card}"), json!({"idList": done, "name": "Ship the mirror today", "desc": "soon"})).await.ok();
    alice.post(&format!("/1/cards/{card}/actions/comments"), json!({"text": "moved it"})).await.ok();
    let checklists = alice.get(&format!("/1/cards/{card}/checklists")).await.ok();
    let item = &checklists[0]["checkItems"][0];
    alice.put(&format!("/1/cards/{card}/checkItem/{}", s(item, "id")), json!({"state": "complete"})).await.ok();
    let doomed = alice.card(&todo, "Short-lived").await;
    alice.put(&format!("/1/cards/{}", s(&doomed, "id")), json!({"closed": true})).await.ok();
    alice.delete(&format!("/1/cards/{}", s(&doomed, "id"))).await.ok();
    let archived = alice.card(&todo, "Archived").await;
    alice.put(&format!("/1/cards/{}", s(&archived, "id")), json!({"closed": true})).await.ok();
    converge(&alice, &local, &board).await;
    assert!(local.get(&format!("/1/cards/{}", s(&doomed, "id"))).await.status == 404, "a deleted card is gone on the mirror");

    // SIGKILL while the source keeps changing; the restarted mirror resumes from its
    // stored cursor and neither loses nor repeats an action.
    for round in 0..3 {
        for i in 0..5 {
            alice.card(&todo, &format!("round {round} card {i}")).await;
        }
        tokio::time::sleep(Duration::from_millis(400 * round)).await;
        mirror.kill().expect("SIGKILL the mirror");
        mirror.wait().expect("reap");
        alice.put(&format!("/1/cards/{card}"), json!({"pos": "top", "name": format!("renamed in round {round}")})).await.ok();
        mirror = start(&here, &alice, &board, &[]);
    }
    converge(&alice, &local, &board).await;
    let ids = action_ids(&local, &board).await;
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "no action is applied twice");

    // The mirrored board refuses local writes, naming its source; reads work.
    let refused = local.put(&format!("/1/cards/{card}"), json!({"name": "local edit"})).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.text.contains(&format!("the mirror of board {board} at {}", alice.base)), "{}", refused.text);
    let refused = local.post("/1/cards", json!({"name": "local card", "idList": todo})).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(action_ids(&local, &board).await, action_ids(&alice, &board).await, "a refused write records nothing");

    // The lag is visible: on the board, in /cork/mirrors and in `cork mirror status`.
    let shown = local.get(&format!("/1/boards/{board}")).await.ok();
    let info = &shown["cork"]["mirror"];
    assert_eq!(info["source"], json!(alice.base), "{shown}");
    assert_eq!(info["state"], "following", "{shown}");
    assert!(info["lagSeconds"].as_i64().is_some_and(|lag| lag < 30), "{info}");
    let listed = local.get("/cork/mirrors").await.ok();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], json!(board));
    let stranger = here.user("mallory").await;
    assert_eq!(stranger.get("/cork/mirrors").await.ok(), json!([]), "mirrors of boards one cannot read stay hidden");
    let status = Command::new(env!("CARGO_BIN_EXE_cork"))
        .args(["mirror", "status", "--database", here.database_url()])
        .arg("--data-dir")
        .arg(here.data_dir())
        .output()
        .expect("cork mirror status");
    let status: Value = serde_json::from_slice(status.stdout.split(|b| *b == b'\n').next().unwrap()).expect("a JSON line");
    assert_eq!(status["id"], json!(board));
    assert!(status["actionsApplied"].as_u64().unwrap() >= ids.len() as u64 - 1, "{status}");

    // Archive and delete of lists' contents, a label and a checklist, then the board
    // itself archived: all follow.
    let label = alice.get(&format!("/1/boards/{board}/labels")).await.ok();
    alice.delete(&format!("/1/labels/{}", s(&label[0], "id"))).await.ok();
    alice.delete(&format!("/1/checklists/{}", s(&checklists[0], "id"))).await.ok();
    alice.put(&format!("/1/lists/{todo}/closed"), json!({"value": true})).await.ok();
    alice.put(&format!("/1/boards/{board}"), json!({"closed": true})).await.ok();
    converge(&alice, &local, &board).await;
    mirror.kill().expect("stop the mirror");
    mirror.wait().expect("reap");
});

both_backends!(a_webhook_from_the_source_wakes_the_mirror, |here: Server| async move {
    let source = Server::sqlite_with(&|c| c.webhooks.allowed_hosts = AllowList::parse("127.0.0.1").unwrap()).await;
    let alice = source.user("alice").await;
    let local = here.user("alice").await;
    let (board, todo, _, _) = build(&alice).await;
    run_once(&here, &alice, &board);
    // A step every 10 minutes: only the webhook can bring the change over in time.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let mut mirror = start(&here, &alice, &board, &["--interval", "600", "--listen", &listen]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let hooks = alice.get(&format!("/1/tokens/{}/webhooks", alice.token.as_deref().unwrap())).await.ok();
        if hooks.as_array().is_some_and(|h| h.iter().any(|w| w["idModel"] == json!(board))) {
            break;
        }
        assert!(Instant::now() < deadline, "the mirror registered no webhook");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    alice.card(&todo, "brought by the webhook").await;
    converge(&alice, &local, &board).await;
    // Restarted, it finds its webhook again instead of making another.
    mirror.kill().unwrap();
    mirror.wait().unwrap();
    let mut mirror = start(&here, &alice, &board, &["--interval", "600", "--listen", &listen]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    alice.card(&todo, "brought by the same webhook").await;
    converge(&alice, &local, &board).await;
    let hooks = alice.get(&format!("/1/tokens/{}/webhooks", alice.token.as_deref().unwrap())).await.ok();
    assert_eq!(hooks.as_array().unwrap().len(), 1, "{hooks}");
    mirror.kill().unwrap();
    mirror.wait().unwrap();
});

/// A file uploaded to a card of `client`'s server.
async fn upload(client: &Client, card: &str, name: &str, bytes: &[u8]) -> Value {
    let boundary = "cork-mirror-test-boundary";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n")
            .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type: &'static str = "multipart/form-data; boundary=cork-mirror-test-boundary";
    client.send("POST", &format!("/1/cards/{card}/attachments"), common::Body::Raw(content_type, body)).await.ok()
}

/// The files set aside under the data directory's `trash/` folders.
fn trashed(dir: &std::path::Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            count += match path.file_name().and_then(|n| n.to_str()) {
                Some("trash") => std::fs::read_dir(&path).map(|d| d.count()).unwrap_or(0),
                _ => trashed(&path),
            };
        }
    }
    count
}

both_backends!(a_mirror_follows_cards_and_lists_across_boards_and_uploads, |here: Server| async move {
    let source = Server::sqlite().await;
    let alice = source.user("alice").await;
    let bob = source.user("bob").await;
    let local = here.user("alice").await;
    let (board, todo, _, card) = build(&alice).await;
    let once = |extra: &[&str]| mirror_command(&here, &alice, &board, &[&["--once"], extra].concat()).output().expect("run cork mirror");
    assert!(once(&[]).status.success());
    converge(&alice, &local, &board).await;

    // A card moved to a board these credentials cannot read (bob's, which alice leaves
    // after the move) is gone from the mirror; the mirror does not stall on its 401.
    let private = s(&bob.board("Private").await, "id");
    let inbox = s(&bob.list(&private, "Inbox").await, "id");
    bob.put(&format!("/1/boards/{private}/members/{}", alice.id), json!({"type": "normal"})).await.ok();
    alice.put(&format!("/1/cards/{card}"), json!({"idBoard": private, "idList": inbox})).await.ok();
    bob.delete(&format!("/1/boards/{private}/members/{}", alice.id)).await.ok();
    assert_eq!(alice.get(&format!("/1/cards/{card}")).await.status, 401, "alice can no longer read the card");
    let output = once(&[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    converge(&alice, &local, &board).await;
    assert_eq!(local.get(&format!("/1/cards/{card}")).await.status, 404, "the card left the mirrored board");

    // A list moved in brings its cards, which no card action names.
    let elsewhere = s(&alice.board("Elsewhere").await, "id");
    let incoming = s(&alice.list(&elsewhere, "Incoming").await, "id");
    for name in ["came along 1", "came along 2"] {
        alice.card(&incoming, name).await;
    }
    alice.put(&format!("/1/lists/{incoming}/idBoard"), json!({"value": board})).await.ok();
    assert!(once(&[]).status.success());
    converge(&alice, &local, &board).await;
    assert_eq!(local.get(&format!("/1/lists/{incoming}/cards")).await.ok().as_array().unwrap().len(), 2);

    // With --download-files, a file uploaded after the first import is stored here too;
    // deleted on the source, its bytes are set aside here.
    let second = s(&alice.card(&todo, "with a file").await, "id");
    let attachment = upload(&alice, &second, "notes.txt", b"mirrored bytes").await;
    assert!(once(&["--download-files"]).status.success());
    let attachments = local.get(&format!("/1/cards/{second}/attachments")).await.ok();
    assert_eq!(attachments[0]["isUpload"], json!(true), "{attachments}");
    let url = s(&attachments[0], "url");
    assert!(url.starts_with(&local.base), "served by the mirror: {url}");
    let fetch = |url: String| {
        let local = local.clone();
        async move {
            let auth = format!("?key={}&token={}", local.key.as_ref().unwrap(), local.token.as_ref().unwrap());
            local.http.get(format!("{url}{auth}")).send().await.unwrap()
        }
    };
    let download = fetch(url.clone()).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"mirrored bytes");
    let before = trashed(here.data_dir());
    alice.delete(&format!("/1/cards/{second}/attachments/{}", s(&attachment, "id"))).await.ok();
    assert!(once(&["--download-files"]).status.success());
    converge(&alice, &local, &board).await;
    assert_eq!(fetch(url).await.status(), 404);
    assert_eq!(trashed(here.data_dir()), before + 1, "the removed upload's bytes are set aside");

    // A mirror starts from an empty slot: a board imported here before is not taken over.
    let export = alice.get(&format!("/cork/boards/{elsewhere}/export")).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("elsewhere.json");
    std::fs::write(&path, &export.text).unwrap();
    let imported = Command::new(env!("CARGO_BIN_EXE_cork"))
        .arg("import")
        .arg(&path)
        .args(["--database", here.database_url()])
        .arg("--data-dir")
        .arg(here.data_dir())
        .output()
        .expect("cork import");
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let refused = mirror_command(&here, &alice, &elsewhere, &["--once"]).output().expect("run cork mirror");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("exists here already"), "{}", String::from_utf8_lossy(&refused.stderr));
});
