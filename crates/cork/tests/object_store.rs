//! Uploaded files in an S3-compatible object store, run the way an operator runs it: two
//! `cork serve` processes with data directories of their own, one PostgreSQL database and
//! `--files s3://bucket/prefix`. A file uploaded through one node is served by the other,
//! a deletion sets the object aside and its undo brings it back, and a store that does
//! not answer stops the start-up with a clear message. The server is a real one (moto's,
//! at `CORK_TEST_S3_URL`); the scenarios of tests/uploads_stickers_votes.rs also run
//! against it, in process.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Connection;

use common::s;

/// The settings every process of the test is given: the store's endpoint and the one
/// key that seals app secrets on every node.
fn environment(command: &mut Command, endpoint: &str) {
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "cork-test")
        .env("AWS_SECRET_ACCESS_KEY", "cork-test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ALLOW_HTTP", "true")
        .env("CORK_SECRET_KEY", "5e".repeat(32));
}

fn cork(args: &[&str], database: &str, files: &str, data: &std::path::Path, endpoint: &str) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cork"));
    command.args(args).args(["--database", database, "--files", files]).arg("--data-dir").arg(data);
    environment(&mut command, endpoint);
    command.output().unwrap()
}

struct Node {
    base: String,
    child: Child,
}

impl Node {
    fn start(database: &str, files: &str, data: &std::path::Path, endpoint: &str) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let address = format!("127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_cork"));
        command
            .args(["serve", "--listen", &address, "--database", database, "--files", files])
            .arg("--data-dir")
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        environment(&mut command, endpoint);
        let child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(Instant::now() < deadline, "the node at {address} did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Node { base: format!("http://{address}"), child }
    }

    /// SIGTERM, and the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The keys under `prefix` in `bucket`, read from the store itself (ListObjectsV2).
async fn objects(endpoint: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let listing = reqwest::get(format!("{endpoint}/{bucket}?list-type=2&prefix={prefix}")).await.unwrap().text().await.unwrap();
    listing.split("<Key>").skip(1).filter_map(|part| part.split_once("</Key>")).map(|(key, _)| key.to_string()).collect()
}

const BOUNDARY: &str = "cork-object-store-test";

fn multipart(file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\r\n").into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_uploads_through_an_object_store() {
    let Some(endpoint) = common::test_s3() else { return };
    let Ok(admin) = std::env::var("CORK_TEST_POSTGRES_URL") else {
        assert_ne!(std::env::var("CORK_REQUIRE_POSTGRES").as_deref(), Ok("1"), "CORK_TEST_POSTGRES_URL is not set");
        eprintln!("CORK_TEST_POSTGRES_URL not set: the two-node object-store test not run");
        return;
    };
    let name = format!("cork_t_{}_s3", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    let database = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
    let bucket = common::new_bucket(&endpoint).await;
    let files = format!("s3://{bucket}/team");
    let dir = tempfile::tempdir().unwrap();
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));

    let made = cork(&["user", "create", "alice"], &database, &files, &data_a, &endpoint);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let issued = cork(&["token", "create", "--user", "alice"], &database, &files, &data_a, &endpoint);
    let issued: Value = serde_json::from_slice(&issued.stdout).unwrap();
    let auth = format!("key={}&token={}", s(&issued, "key"), s(&issued, "token"));
    let (a, b) = (Node::start(&database, &files, &data_a, &endpoint), Node::start(&database, &files, &data_b, &endpoint));
    let http = reqwest::Client::new();
    let post = |base: &str, path: &str, body: Value| {
        let request = http.post(format!("{base}{path}?{auth}")).json(&body);
        let path = path.to_string();
        async move {
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status(), 200, "{path}");
            answer.json::<Value>().await.unwrap()
        }
    };
    let board = post(&a.base, "/1/boards", json!({"name": "Shared files"})).await;
    let list = post(&a.base, "/1/lists", json!({"name": "Todo", "idBoard": s(&board, "id")})).await;
    let card = post(&a.base, "/1/cards", json!({"name": "Report", "idList": s(&list, "id")})).await;
    let card_id = s(&card, "id");

    // Uploaded through node A: every byte value, then served by node B.
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let uploaded = http
        .post(format!("{}/1/cards/{card_id}/attachments?{auth}", a.base))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart("report.bin", &bytes))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200);
    let attachment: Value = uploaded.json().await.unwrap();
    let download = s(&attachment, "url").replace(&a.base, &b.base);
    let served = http.get(format!("{download}?{auth}")).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert!(served.bytes().await.unwrap() == bytes, "node B serves node A's upload byte for byte");
    // The object is in the bucket under the prefix, and neither data dir holds a file.
    let live = objects(&endpoint, &bucket, "team/attachments/").await;
    assert_eq!(live.len(), 1, "{live:?}");
    for data in [&data_a, &data_b] {
        assert!(!data.join("files").exists(), "no upload on a node's own disk");
    }

    // Deleted through node B: no longer served by A, set aside in the bucket's trash.
    let deleted = http.delete(format!("{}/1/cards/{card_id}/attachments/{}?{auth}", b.base, s(&attachment, "id"))).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    let gone = http.get(format!("{}?{auth}", s(&attachment, "url"))).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    let trash = objects(&endpoint, &bucket, "team/attachments/trash/").await;
    assert_eq!(trash.len(), 1, "{trash:?}");
    assert_eq!(objects(&endpoint, &bucket, "team/attachments/").await.len(), 1, "moved, not copied");

    // The undo, through node A, brings the bytes back.
    let actions = http
        .get(format!("{}/1/cards/{card_id}/actions?filter=deleteAttachmentFromCard&{auth}", a.base))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let action = s(&actions[0], "id");
    post(&a.base, &format!("/cork/actions/{action}/revert"), json!({})).await;
    let back = http.get(format!("{download}?{auth}")).send().await.unwrap();
    assert_eq!(back.status(), 200, "served again after the undo");
    assert!(back.bytes().await.unwrap() == bytes);

    // A custom sticker (members' pictures, public) through B, shown by A.
    let sticker = http
        .post(format!("{}/1/members/me/customStickers?{auth}", b.base))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart("star.png", &common::png()))
        .send()
        .await
        .unwrap();
    assert_eq!(sticker.status(), 200);
    let sticker: Value = sticker.json().await.unwrap();
    let picture = http.get(s(&sticker, "url").replace(&b.base, &a.base)).send().await.unwrap();
    assert_eq!(picture.status(), 200);
    assert!(picture.bytes().await.unwrap() == common::png());
    assert_eq!(objects(&endpoint, &bucket, "team/pictures/").await.len(), 1);

    assert!(a.stop().success() && b.stop().success(), "both nodes stop cleanly");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_store_that_does_not_answer_stops_the_start() {
    // Nothing listens on this port: the start-up probe fails, and says where.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{closed}");
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("cork.db").display());
    let answer = cork(&["user", "create", "alice"], &database, "s3://nowhere/cork", dir.path(), &endpoint);
    assert!(!answer.status.success());
    let said = String::from_utf8_lossy(&answer.stderr);
    assert!(said.contains("the file store does not answer") && said.contains("s3://nowhere/cork/attachments"), "{said}");
    assert!(!said.contains("cork-test"), "no credentials in the message: {said}");
    // A bucket missing from the URL is refused before anything is reached.
    let answer = cork(&["user", "create", "alice"], &database, "s3:///cork", dir.path(), &endpoint);
    assert!(String::from_utf8_lossy(&answer.stderr).contains("the bucket is missing"));
}
