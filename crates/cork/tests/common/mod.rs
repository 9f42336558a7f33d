//! The black-box harness: a real Cork server on 127.0.0.1:0 over SQLite (a temp
//! file) or PostgreSQL (a fresh database per test on the server named by
//! `CORK_TEST_POSTGRES_URL`), and a small HTTP client that speaks to it the way
//! Trello clients do.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once, OnceLock};

use cork_api::{ApiConfig, App};
use cork_core::Cork;
use cork_store::Store;
use serde_json::Value;
use sqlx::Connection;

/// Runs one scenario against both backends: `NAME::sqlite` and `NAME::postgres`.
/// Without `CORK_TEST_POSTGRES_URL` the PostgreSQL half says so and returns, unless
/// `CORK_REQUIRE_POSTGRES=1` (CI) makes that a failure.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, config = $config:expr, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = common::Server::sqlite_with(&$config).await;
                ($body)(server).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(server) = common::Server::postgres_with(&$config).await else {
                    return;
                };
                ($body)(server).await;
            }
        }
    };
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = common::Server::sqlite().await;
                ($body)(server).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(server) = common::Server::postgres().await else {
                    return;
                };
                ($body)(server).await;
            }
        }
    };
}

/// [`both_backends!`] and a third half, `NAME::object_store`: uploads in a fresh bucket
/// of the S3-compatible server at `CORK_TEST_S3_URL` (see [`Server::object_store`]).
#[macro_export]
macro_rules! every_file_store {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            both_backends!(on_disk, $body);
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn object_store() {
                let Some(server) = common::Server::object_store().await else {
                    return;
                };
                ($body)(server).await;
            }
        }
    };
}

/// Prints a test's headline figure (`security matrix: N passed, M failed`, ...) and, when
/// `CORK_TEST_REPORT` names a file, appends it there with the backend: libtest hides the
/// output of passing tests, and `scripts/test` shows these lines in its summary.
pub fn report(backend: &str, line: &str) {
    println!("{line}");
    if let Some(path) = std::env::var_os("CORK_TEST_REPORT") {
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            // One write, so lines of tests in other processes cannot interleave with it.
            let _ = file.write_all(format!("{line} ({backend})\n").as_bytes());
        }
    }
}

// ------------------------------------------------------------ secrets and logs ---
// `scripts/test` with `CORK_CHECK_LOG_SECRETS=1` proves that no log of the run holds a
// secret: the tests note every secret they issue or set in `CORK_SECRETS_RECORD`, the
// servers log verbosely into `CORK_TEST_LOG_DIR`, and `scripts/check-log-secrets` greps
// every log for every secret.

/// What the servers log when the run keeps their logs and `CORK_LOG` says nothing else:
/// everything Cork's own crates say at debug (access lines, request spans with their
/// paths, tower-http's request events), other crates at info.
pub const VERBOSE_LOG: &str = "info,cork=debug,cork_api=debug,cork_core=debug,cork_store=debug,tower_http=debug";

/// Notes a secret the test issued or set (an API token, an OAuth token secret, an app
/// secret, a password, a session or CSRF cookie...) in the file `CORK_SECRETS_RECORD`
/// names, one `KIND<TAB>VALUE` line each, once per process.
pub fn secret(kind: &str, value: &str) {
    let Some(path) = std::env::var_os("CORK_SECRETS_RECORD") else {
        return;
    };
    if value.is_empty() || value.contains(['\n', '\r']) {
        return;
    }
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    if !SEEN.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner()).insert(value.to_string()) {
        return;
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open CORK_SECRETS_RECORD");
    // One write per line: other test processes append to the same file.
    file.write_all(format!("{kind}\t{value}\n").as_bytes()).expect("write CORK_SECRETS_RECORD");
}

/// Notes the secrets an answer hands out: `token`, `secret` and `oauth_token_secret`
/// fields of a JSON body, the pairs of a form-encoded OAuth answer, tokens and verifiers
/// in a redirect's `Location`, and the values of the cookies it sets.
pub fn secrets_in_answer(headers: &reqwest::header::HeaderMap, text: &str) {
    if std::env::var_os("CORK_SECRETS_RECORD").is_none() {
        return;
    }
    fn walk(value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("token", Value::String(v)) => secret("token", v),
                        ("secret", Value::String(v)) => secret("app-secret", v),
                        ("oauth_token_secret", Value::String(v)) => secret("oauth-token-secret", v),
                        _ => walk(value),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(walk),
            _ => {}
        }
    }
    if let Ok(json) = serde_json::from_str::<Value>(text) {
        walk(&json);
    } else if text.starts_with("oauth_token=") {
        secrets_in_pairs(text);
    }
    if let Some(location) = headers.get("location").and_then(|v| v.to_str().ok()) {
        if let Some((_, query)) = location.split_once(['?', '#']) {
            secrets_in_pairs(query);
        }
    }
    for cookie in headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
        let pair = cookie.split(';').next().unwrap_or("");
        if let Some((name, value)) = pair.split_once('=') {
            secret(&format!("cookie {}", name.trim()), value.trim());
        }
    }
}

/// The secrets among `name=value&...` pairs (a form-encoded OAuth answer, a redirect).
fn secrets_in_pairs(text: &str) {
    for (name, value) in text.split(['&', '#']).filter_map(|p| p.split_once('=')) {
        let kind = match name {
            "token" | "oauth_token" => "token",
            "oauth_token_secret" => "oauth-token-secret",
            "oauth_verifier" => "oauth-verifier",
            _ => continue,
        };
        secret(kind, &percent_decode(value));
    }
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// With `CORK_TEST_LOG_DIR` set, the in-process servers of this test binary log into
/// `rust-BINARY-PID.log` there, as `cork serve --log-format json` does (one JSON object
/// per line, with the spans), at `CORK_LOG` or else [`VERBOSE_LOG`].
pub fn keep_server_logs() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let Some(dir) = std::env::var_os("CORK_TEST_LOG_DIR") else {
            return;
        };
        let binary = std::env::current_exe().ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
        let path = std::path::Path::new(&dir).join(format!("rust-{}-{}.log", binary.unwrap_or_default(), std::process::id()));
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("open the test server log");
        let filter = tracing_subscriber::EnvFilter::try_from_env("CORK_LOG").unwrap_or_else(|_| VERBOSE_LOG.into());
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_env_filter(filter)
            .with_writer(Mutex::new(file))
            .try_init();
    });
}

/// `CORK_LOG` for a `cork` process a test starts: `default`, or while the run keeps its
/// logs, the run's own (verbose) filter.
pub fn child_log(default: &str) -> String {
    if std::env::var_os("CORK_TEST_LOG_DIR").is_none() {
        return default.to_string();
    }
    std::env::var("CORK_LOG").unwrap_or_else(|_| VERBOSE_LOG.to_string())
}

/// Where a long-running `cork` process a test starts writes its log: a file in
/// `CORK_TEST_LOG_DIR` while the run keeps its logs, else the test's own stderr.
pub fn child_stderr(name: &str) -> std::process::Stdio {
    let Some(dir) = std::env::var_os("CORK_TEST_LOG_DIR") else {
        return std::process::Stdio::inherit();
    };
    let path = std::path::Path::new(&dir).join(format!("rust-{name}-{}.log", std::process::id()));
    match std::fs::OpenOptions::new().create(true).append(true).open(path) {
        Ok(file) => file.into(),
        Err(_) => std::process::Stdio::inherit(),
    }
}

/// Keeps what a `cork` process a test ran wrote to stderr (its log) in `CORK_TEST_LOG_DIR`.
pub fn keep_log(name: &str, log: &[u8]) {
    let Some(dir) = std::env::var_os("CORK_TEST_LOG_DIR") else {
        return;
    };
    let path = std::path::Path::new(&dir).join(format!("rust-{name}-{}.log", std::process::id()));
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = file.write_all(log);
    }
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

/// A running server and the domain behind it (for setting up members and tokens).
pub struct Server {
    pub base: String,
    pub cork: Cork,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The serving task (for `restart`), the database and settings it runs with.
    task: Option<tokio::task::JoinHandle<()>>,
    url: String,
    config: ApiConfig,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
    /// Attachments' and pictures' stores when they are not the data dir's folders.
    file_stores: Option<(cork_core::files::FileStore, cork_core::files::FileStore)>,
}

/// The S3-compatible server the object-store scenarios use (`CORK_TEST_S3_URL`, an
/// endpoint such as `http://127.0.0.1:9000`), or `None` (skipped) when none is named;
/// `CORK_REQUIRE_S3=1` (CI) makes its absence a failure.
pub fn test_s3() -> Option<String> {
    match std::env::var("CORK_TEST_S3_URL") {
        Ok(url) => Some(url.trim_end_matches('/').to_string()),
        Err(_) if std::env::var("CORK_REQUIRE_S3").as_deref() == Ok("1") => panic!("CORK_REQUIRE_S3=1 but CORK_TEST_S3_URL is not set"),
        Err(_) => {
            eprintln!("CORK_TEST_S3_URL not set: the object-store half not run");
            None
        }
    }
}

static BUCKETS: AtomicU32 = AtomicU32::new(0);

/// A fresh bucket on the S3-compatible server at `endpoint`; answers its name.
pub async fn new_bucket(endpoint: &str) -> String {
    let name = format!("cork-t-{}-{}", std::process::id(), BUCKETS.fetch_add(1, Ordering::Relaxed));
    let made = reqwest::Client::new().put(format!("{endpoint}/{name}")).send().await.expect("reach the S3-compatible server");
    assert!(made.status().is_success(), "creating bucket {name}: {}", made.status());
    name
}

/// Attachments and pictures in `bucket` under `prefix`, as `--files s3://bucket/prefix`
/// keeps them (the credentials are the test server's, which checks none).
pub fn bucket_stores(endpoint: &str, bucket: &str, prefix: &str) -> (cork_core::files::FileStore, cork_core::files::FileStore) {
    let store = |folder: &str| {
        let s3 = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(bucket)
            .with_access_key_id("cork-test")
            .with_secret_access_key("cork-test")
            .build()
            .expect("an S3 client");
        let under = format!("{prefix}/{folder}");
        cork_core::files::FileStore::objects(std::sync::Arc::new(s3), &under, format!("s3://{bucket}/{under}"))
    };
    (store("attachments"), store("pictures"))
}

/// The key that seals app secrets in the tests.
pub const TEST_SECRET_KEY: [u8; 32] = [0x5e; 32];

/// [`TEST_SECRET_KEY`] as `CORK_SECRET_KEY` takes it: 64 hex digits.
pub fn hex_key() -> String {
    TEST_SECRET_KEY.iter().map(|b| format!("{b:02x}")).collect()
}

impl Server {
    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        if self.postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// A server on a fresh SQLite file.
    pub async fn sqlite() -> Server {
        Server::sqlite_with(&|_| {}).await
    }

    /// A server on a fresh SQLite file, with settings changed by `configure`.
    pub async fn sqlite_with(configure: &dyn Fn(&mut ApiConfig)) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("cork.db").display());
        Server::start(&url, dir, None, configure).await
    }

    /// A server on a fresh PostgreSQL database, or `None` when none is configured.
    pub async fn postgres() -> Option<Server> {
        Server::postgres_with(&|_| {}).await
    }

    /// A server on a fresh PostgreSQL database with settings changed by `configure`.
    pub async fn postgres_with(configure: &dyn Fn(&mut ApiConfig)) -> Option<Server> {
        let (admin, name, url) = fresh_postgres_database().await?;
        let dir = tempfile::tempdir().expect("temp dir");
        Some(Server::start(&url, dir, Some((admin, name)), configure).await)
    }

    /// A server whose uploads go to a fresh bucket of the S3-compatible server named by
    /// `CORK_TEST_S3_URL` (see [`test_s3`]), on PostgreSQL when one is configured (as
    /// several nodes would run), else on SQLite.
    pub async fn object_store() -> Option<Server> {
        let endpoint = test_s3()?;
        let bucket = new_bucket(&endpoint).await;
        let stores = bucket_stores(&endpoint, &bucket, "cork");
        let mut server = match std::env::var("CORK_TEST_POSTGRES_URL") {
            Ok(_) => Server::postgres().await.expect("PostgreSQL is configured"),
            Err(_) => Server::sqlite().await,
        };
        server.file_stores = Some(stores);
        server.restart().await;
        assert!(server.cork.files.root().is_none() && server.cork.pictures.shown().starts_with("s3://"), "uploads go to the bucket");
        Some(server)
    }

    async fn start(url: &str, dir: tempfile::TempDir, postgres: Option<(String, String)>, configure: &dyn Fn(&mut ApiConfig)) -> Server {
        // App secrets are sealed at rest: every server of this process, and the command
        // line run on its data directory, use one key.
        cork_core::sealed::install(TEST_SECRET_KEY, &[]);
        secret("secret-key", &hex_key());
        keep_server_logs();
        std::fs::write(dir.path().join("secret.key"), hex_key()).expect("write the secret key");
        let store = Store::open(url).await.expect("open store");
        let cork = Cork::new(store).with_data_dir(dir.path().join("files"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let mut config = ApiConfig { public_url: base.clone(), route_log: route_log(), ..ApiConfig::default() };
        // Scenarios send hundreds of requests a second with one token; the tests of the
        // limits themselves (rate_limits.rs) turn them on in `configure`.
        config.rate_limits.enabled = false;
        configure(&mut config);
        if let Some(token) = &config.metrics_token {
            secret("metrics-token", token);
        }
        let app = App::new(cork.clone(), config.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            cork_api::serve(listener, app, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        Server { base, cork, shutdown: Some(tx), task: Some(task), url: url.to_string(), config, _dir: dir, postgres, file_stores: None }
    }

    /// Another server on a fresh database of the same backend (an instance to move to).
    pub async fn another(&self) -> Server {
        match self.postgres {
            Some(_) => Server::postgres().await.expect("PostgreSQL is configured"),
            None => Server::sqlite().await,
        }
    }

    /// The data directory the server keeps uploaded files in (for the CLI in tests).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// PostgreSQL: the admin URL and the server's database name (fault tests end its
    /// connections).
    pub fn postgres_database(&self) -> Option<(&str, &str)> {
        self.postgres.as_ref().map(|(admin, name)| (admin.as_str(), name.as_str()))
    }

    /// The route log the server writes, if its settings name one.
    pub fn route_log(&self) -> Option<&std::path::Path> {
        self.config.route_log.as_deref()
    }

    /// The database the server runs on (for the CLI in tests).
    pub fn database_url(&self) -> &str {
        &self.url
    }

    /// Stops the server (its webhook worker settles what it holds) and starts a new one
    /// on the same database and address, as a restart of the process would.
    pub async fn restart(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
        self.cork.store.close().await;
        let store = Store::open(&self.url).await.expect("reopen store");
        self.cork = match &self.file_stores {
            None => Cork::new(store).with_data_dir(self._dir.path().join("files")),
            Some((files, pictures)) => Cork::new(store).with_file_stores(files.clone(), pictures.clone()),
        };
        let address = self.base.trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind(&address).await.expect("bind the same address again");
        let app = App::new(self.cork.clone(), self.config.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.task = Some(tokio::spawn(async move {
            cork_api::serve(listener, app, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        }));
        self.shutdown = Some(tx);
    }

    /// A new member with a token of every scope.
    pub async fn user(&self, username: &str) -> Client {
        self.user_with_scopes(username, &["read", "write", "account"]).await
    }

    /// A new member with a token of the given scopes.
    pub async fn user_with_scopes(&self, username: &str, scopes: &[&str]) -> Client {
        let member = self
            .cork
            .create_member(username, Some(&format!("{username} Tester")), Some(&format!("{username}@example.test")))
            .await
            .expect("create member");
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let issued = self.cork.issue_token(&member, "tests", &scopes, None).await.expect("issue token");
        secret("token", &issued.token);
        secret("app-secret", &issued.secret);
        Client {
            http: reqwest::Client::new(),
            base: self.base.clone(),
            key: Some(issued.key),
            token: Some(issued.token),
            id: member.id,
            username: member.username,
        }
    }

    /// Another token for an existing member.
    pub async fn token_for(&self, client: &Client, scopes: &[&str]) -> Client {
        let member = self.cork.member_by_username(&client.username).await.expect("member");
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let issued = self.cork.issue_token(&member, "tests", &scopes, None).await.expect("issue token");
        secret("token", &issued.token);
        secret("app-secret", &issued.secret);
        Client { key: Some(issued.key), token: Some(issued.token), ..client.clone() }
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Client {
        Client { http: reqwest::Client::new(), base: self.base.clone(), key: None, token: None, id: String::new(), username: String::new() }
    }
}

/// Creates an empty database on the server `CORK_TEST_POSTGRES_URL` names; answers the
/// admin URL, the database's name and its URL. `None` (with a note) when no server is
/// named, a failure instead when `CORK_REQUIRE_POSTGRES=1` (CI).
pub async fn fresh_postgres_database() -> Option<(String, String, String)> {
    let Ok(admin) = std::env::var("CORK_TEST_POSTGRES_URL") else {
        if std::env::var("CORK_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("CORK_REQUIRE_POSTGRES=1 but CORK_TEST_POSTGRES_URL is not set");
        }
        eprintln!("CORK_TEST_POSTGRES_URL not set: not run on PostgreSQL");
        return None;
    };
    let name = format!("cork_t_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::Relaxed));
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to CORK_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
    conn.close().await.ok();
    let url = match admin.rfind('/') {
        Some(slash) if slash > "postgres://".len() => format!("{}/{name}", &admin[..slash]),
        _ => panic!("CORK_TEST_POSTGRES_URL must name a database"),
    };
    Some((admin, name, url))
}

/// Drops a database [`fresh_postgres_database`] made, with whatever connections it still
/// has; from a thread of its own, so it can run inside a test's runtime (in a `Drop`).
pub fn drop_postgres_database(admin: &str, name: &str) {
    let (admin, name) = (admin.to_string(), name.to_string());
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
            }
        });
    })
    .join();
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some((admin, name)) = self.postgres.take() {
            let cork = self.cork.clone();
            // Drop runs inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async move {
                    cork.store.close().await;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
                    }
                });
            })
            .join();
        }
    }
}

/// With `CORK_ROUTE_LOG_DIR` set, every test server logs its routes to
/// `cork-tests.log` there (the compatibility table is generated from it).
fn route_log() -> Option<std::path::PathBuf> {
    std::env::var_os("CORK_ROUTE_LOG_DIR").map(|dir| std::path::PathBuf::from(dir).join("cork-tests.log"))
}

/// What a request got back.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub text: String,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text))
    }

    /// Asserts a 200 with a JSON body and returns it.
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "expected 200, got {}: {}", self.status, self.text);
        assert_eq!(self.content_type, "application/json; charset=utf-8");
        self.json()
    }

    /// Asserts Trello's plain-text error.
    pub fn err(&self, status: u16, text: &str) {
        assert_eq!((self.status, self.text.as_str()), (status, text), "unexpected answer");
        assert!(self.content_type.starts_with("text/plain"), "errors are plain text: {}", self.content_type);
    }

    /// SQL statements the request cost (`X-Cork-Queries`).
    pub fn queries(&self) -> u64 {
        self.headers.get("x-cork-queries").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect("x-cork-queries header")
    }
}

/// How the body travels.
pub enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    Raw(&'static str, Vec<u8>),
}

/// A Trello client with one member's credentials, sent as `key`/`token` in the query.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub key: Option<String>,
    pub token: Option<String>,
    pub id: String,
    pub username: String,
}

impl Client {
    /// Sends `method path` with credentials in the query and `body`.
    pub async fn send(&self, method: &str, path: &str, body: Body) -> Resp {
        let mut url = format!("{}{}", self.base, path);
        let mut auth = Vec::new();
        if let Some(key) = &self.key {
            auth.push(format!("key={key}"));
        }
        if let Some(token) = &self.token {
            secret("token", token);
            auth.push(format!("token={token}"));
        }
        if !auth.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&auth.join("&"));
        }
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, url);
        request = match body {
            Body::None => request,
            Body::Json(value) => request.header("content-type", "application/json; charset=utf-8").body(value.to_string()),
            Body::Form(pairs) => {
                let encoded: String = form_encode(&pairs);
                request.header("content-type", "application/x-www-form-urlencoded").body(encoded)
            }
            Body::Raw(content_type, bytes) => request.header("content-type", content_type).body(bytes),
        };
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = response.text().await.expect("body");
        secrets_in_answer(&headers, &text);
        Resp { status, text, content_type, headers }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, Body::None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send("POST", path, Body::Json(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send("PUT", path, Body::Json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, Body::None).await
    }

    /// Creates a board without default lists and labels; returns its JSON.
    pub async fn board(&self, name: &str) -> Value {
        self.post("/1/boards", serde_json::json!({"name": name, "defaultLists": false, "defaultLabels": false})).await.ok()
    }

    /// Creates a list on a board; returns its JSON.
    pub async fn list(&self, board: &str, name: &str) -> Value {
        self.post("/1/lists", serde_json::json!({"name": name, "idBoard": board, "pos": "bottom"})).await.ok()
    }

    /// Creates a card in a list; returns its JSON.
    pub async fn card(&self, list: &str, name: &str) -> Value {
        self.post("/1/cards", serde_json::json!({"name": name, "idList": list})).await.ok()
    }
}

fn form_encode(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", percent(k), percent(v))).collect::<Vec<_>>().join("&")
}

fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The string value of a JSON field.
pub fn s(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_else(|| panic!("{key} is not a string in {value}")).to_string()
}

/// A 2x3 PNG: enough of a header for Cork to recognise an image.
pub fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bytes.extend_from_slice(&2u32.to_be_bytes());
    bytes.extend_from_slice(&3u32.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes
}
