//! Cork's storage: one [`Store`] over SQLite (the embedded default) or PostgreSQL.
//!
//! The store knows tables, indexed columns and opaque JSON documents; it owns every
//! SQL string in Cork. The domain (`cork-core`) gives the documents their meaning.
//! All access goes through a [`Tx`]: reads run in a read-only snapshot, writes in one
//! transaction that holds the change and its action rows together.

pub mod backup;
mod gate;
mod idempotency;
pub mod lane;
pub mod live;
mod outbox;
pub mod pipeline;
pub mod precondition;
mod query;
mod search;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row, Transaction};

pub use idempotency::StoredAnswer;
pub use outbox::ClaimedDelivery;
pub use query::{Arg, Cond, Order, Table};
pub use search::{words, SearchEntry, SearchHit};

/// Errors the store reports; the domain maps them to its own.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (duplicate username, shortLink, ...): the
    /// table's name, never the driver's message, so both backends say the same.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database URL is not one Cork accepts.
    #[error("unsupported database url: {0}")]
    BadUrl(String),
    /// Anything else from the driver; logged, never shown to clients.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The connection to the database was lost, or none could be had (a restart, a
    /// failover, a killed backend, a full pool): nothing was committed, and the same
    /// request can be tried again. Inside a pipeline the request is tried again.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The connection was lost while `COMMIT` was on its way: the transaction may or may
    /// not have been applied. Never retried blindly; an `Idempotency-Key` makes the
    /// client's retry safe.
    #[error("the connection was lost during commit; the outcome is unknown: {0}")]
    CommitUnknown(String),
    /// A write lost a race that another attempt can win: a serialization failure or
    /// deadlock on PostgreSQL, or an object whose version moved since it was read.
    /// Inside a pipeline the request is tried again.
    #[error("write conflict, retry: {0}")]
    Retry(String),
    /// `If-Match` named a version the object no longer has (the current one inside).
    #[error("precondition failed: the object is at version {0}")]
    PreconditionFailed(i64),
    /// Migrations failed at start.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A backup or restore met something it cannot copy (the message says what).
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        classify(error)
    }
}

/// Whether the error means the connection is gone or none could be had, as opposed to a
/// statement the database refused: I/O, TLS and protocol failures, pool time-outs, and
/// PostgreSQL's connection exceptions (class 08), `admin_shutdown`, `crash_shutdown`,
/// `cannot_connect_now` and `too_many_connections`.
pub fn is_connection_loss(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => {
            e.code().is_some_and(|code| code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300"))
        }
        _ => false,
    }
}

/// Which SQL dialect the pool speaks; the only place the two backends differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The migrations of a dialect. They only add (docs/operations.md), so a database that
/// a newer node migrated further is no error: a node of the previous release starts and
/// runs beside it.
fn migrator(dialect: Dialect) -> sqlx::migrate::Migrator {
    let mut migrator = match dialect {
        Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Dialect::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrator.set_ignore_missing(true);
    migrator
}

tokio::task_local! {
    static QUERY_COUNTER: Arc<AtomicU64>;
}

/// Runs `fut` while counting the SQL statements it sends (BEGIN/COMMIT excluded).
/// The wire layer uses it to report `X-Cork-Queries`, which keeps the fixed query
/// budget of board views testable from outside.
pub async fn count_queries<F: std::future::Future>(fut: F) -> (F::Output, u64) {
    let counter = Arc::new(AtomicU64::new(0));
    let out = QUERY_COUNTER.scope(counter.clone(), fut).await;
    (out, counter.load(Ordering::Relaxed))
}

fn note_query() {
    let _ = QUERY_COUNTER.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
}

/// The time of each statement, in the process's metrics: one histogram handle, looked up
/// once, so recording costs a clock read and an atomic add.
fn query_time() -> &'static metrics::Histogram {
    static HISTOGRAM: std::sync::OnceLock<metrics::Histogram> = std::sync::OnceLock::new();
    HISTOGRAM.get_or_init(|| metrics::histogram!("cork_db_query_duration_seconds"))
}

/// How many connections a pool has, and how many of them wait idle.
#[derive(Debug, Clone, Copy)]
pub struct PoolUse {
    pub pool: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// The database behind Cork: a connection pool and its dialect.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// SQLite has one writer at a time: writers of this process queue here, in order,
    /// instead of polling SQLite's busy timeout (which made a 16-client p99 of seconds).
    /// Other processes (the command line) still meet the busy timeout. The background
    /// lane goes first (`gate.rs`).
    writer: gate::WriteGate,
    /// PostgreSQL: the background lane's own connections (up to 8), so the webhook worker
    /// does not wait behind every request queued for the main pool.
    background: Option<AnyPool>,
    /// PostgreSQL: the URL, for the one connection that listens for other nodes'
    /// notifications (`live.rs`). Never printed.
    listen_url: Option<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dialect", &self.dialect).finish()
    }
}

impl Store {
    /// Opens `url` (`sqlite://PATH` or `postgres://...`) and runs the migrations.
    /// A SQLite file is created only when its folder exists; unknown schemes are refused.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            return Err(StoreError::BadUrl(redact(url)));
        };
        let url = match dialect {
            Dialect::Sqlite => sqlite_url(url),
            Dialect::Postgres => url.to_string(),
        };
        if dialect == Dialect::Sqlite {
            owner_only_database(&url);
        }
        let options = AnyConnectOptions::from_str(&url)?;
        let max = match dialect {
            Dialect::Sqlite => 8,
            Dialect::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL lets readers run beside the one writer; the busy timeout
                        // makes a second process (the CLI) wait instead of failing.
                        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        migrator(dialect).run(&pool).await?;
        let background = match dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(
                AnyPoolOptions::new()
                    .max_connections(8)
                    .min_connections(0)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_lazy_with(AnyConnectOptions::from_str(&url)?),
            ),
        };
        let listen_url = (dialect == Dialect::Postgres).then(|| url.clone());
        Ok(Store { pool, dialect, writer: gate::WriteGate::default(), background, listen_url })
    }

    /// The pool this task's transactions come from: the background lane's own on
    /// PostgreSQL, the one pool otherwise.
    fn pool_for_task(&self) -> &AnyPool {
        match &self.background {
            Some(background) if lane::in_background() => background,
            _ => &self.pool,
        }
    }

    /// Each pool's connections: `main`, and on PostgreSQL `background` (the outbox's).
    pub fn pool_use(&self) -> Vec<PoolUse> {
        let of = |pool: &'static str, p: &AnyPool| PoolUse {
            pool,
            open: p.size(),
            idle: p.num_idle() as u32,
            max: p.options().get_max_connections(),
        };
        let mut out = vec![of("main", &self.pool)];
        if let Some(background) = &self.background {
            out.push(of("background", background));
        }
        out
    }

    /// Ready to serve: the database answers, and it holds every migration this binary
    /// knows (a newer node's further migrations are fine: they only add).
    pub async fn ready(&self) -> std::result::Result<(), String> {
        let mut conn = self.pool.acquire().await.map_err(|e| format!("the database cannot be reached: {}", classify(e)))?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| format!("reading the applied migrations: {}", classify(e)))?;
        let missing: Vec<i64> = migrator(self.dialect).iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect();
        match missing.is_empty() {
            true => Ok(()),
            false => Err(format!("migrations not applied: {missing:?}")),
        }
    }

    /// The dialect chosen at open.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A read-only snapshot: every query in it sees the same state. Inside a
    /// [`pipeline`] that already wrote, it is the request's own transaction, so a read
    /// after a write sees the write.
    pub async fn read(&self) -> Result<Tx> {
        if let Some(pipeline) = pipeline::current() {
            if let Some((_, Some(mut inner))) = pipeline::take_parked() {
                inner.settle().await?;
                return Ok(Tx { inner: Some(inner), dialect: self.dialect, mode: Mode::Borrowed(pipeline) });
            }
        }
        let statement = match self.dialect {
            Dialect::Sqlite => "BEGIN",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        let inner = TxInner::new(self.pool_for_task().begin_with(statement).await?);
        Ok(Tx::own(inner, self.dialect))
    }

    /// A write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so a read-then-write transaction never fails on upgrade.
    /// Inside a [`pipeline`] it continues the request's transaction (behind a savepoint,
    /// so a command that fails undoes only itself) and its `commit` parks it.
    pub async fn write(&self) -> Result<Tx> {
        if let Some((pipeline, parked)) = pipeline::take_parked() {
            let inner = match parked {
                Some(mut inner) => {
                    inner.settle().await?;
                    inner.open_savepoint().await?;
                    inner
                }
                None => self.begin_write().await?,
            };
            return Ok(Tx { inner: Some(inner), dialect: self.dialect, mode: Mode::Write(pipeline) });
        }
        Ok(Tx::own(self.begin_write().await?, self.dialect))
    }

    pub(crate) async fn begin_write(&self) -> Result<TxInner> {
        match self.dialect {
            Dialect::Sqlite => {
                // As long as SQLite's own busy timeout: a writer that waits longer (a
                // command holding two write transactions at once) fails as it did.
                let queued = tokio::time::timeout(Duration::from_secs(10), self.writer.acquire(lane::in_background())).await;
                let Ok(permit) = queued else { return Err(StoreError::Retry("database is locked".into())) };
                let mut inner = TxInner::new(self.pool.begin_with("BEGIN IMMEDIATE").await?);
                inner.writer = Some(permit);
                Ok(inner)
            }
            Dialect::Postgres => Ok(TxInner::new(self.pool_for_task().begin_with("BEGIN").await?)),
        }
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(background) = &self.background {
            background.close().await;
        }
    }
}

/// The SQLite file holds app secrets and password hashes: it is created owner-only
/// (0600), and an existing one that others could read is made so (SQLite gives its
/// `-wal` and `-shm` files the database file's permissions). Best effort: a failure is
/// logged, and opening the database reports what matters.
fn owner_only_database(url: &str) {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = std::path::Path::new(path.split('?').next().unwrap_or(path));
    if path.as_os_str().is_empty() || path.to_string_lossy().starts_with(':') || url.contains("mode=memory") {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if path.parent().is_some_and(|p| p.as_os_str().is_empty() || p.is_dir()) && !path.exists() {
            if let Err(error) = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
                tracing::warn!(path = %path.display(), %error, "cannot create the database file");
            }
            return;
        }
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
                    Ok(()) => tracing::warn!(path = %path.display(), "the database file was readable by others: made owner-only (0600)"),
                    Err(error) => tracing::warn!(path = %path.display(), %error, "the database file is readable by others"),
                }
            }
        }
    }
}

/// `sqlite://PATH` with `mode=rwc` so that the file is created on first start.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Hides a password in a database URL before it is logged or shown.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// An action's document and the stamps of the request that wrote it.
#[derive(Debug, Clone)]
pub struct StampedAction {
    pub doc: String,
    pub command_id: Option<String>,
    pub token_id: Option<String>,
    pub app_key: Option<String>,
}

/// A document and, for boards, the live column laid over it (`last_activity`, kept out
/// of the document so that activity never rewrites the board).
#[derive(Debug, Clone)]
pub struct DocRow {
    pub doc: String,
    pub live: Option<String>,
}

/// Whether a savepoint guards the running command of a resumed pipeline transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Savepoint {
    None,
    Open,
    /// The command behind it failed: roll back to it before the next statement.
    Abandoned,
}

/// The transaction itself and what it knows of the rows it read: their versions, the
/// base of every compare-and-set save.
pub(crate) struct TxInner {
    tx: Transaction<'static, Any>,
    versions: HashMap<(Table, String), i64>,
    /// Boards' documents as read, so that a write can tell whether it changed the board
    /// itself or only its activity.
    board_docs: HashMap<String, String>,
    savepoint: Savepoint,
    /// `versions` as they were when the savepoint was taken.
    saved_versions: Option<HashMap<(Table, String), i64>>,
    /// SQLite: this process's turn to write, given back when the transaction ends.
    writer: Option<gate::Turn>,
}

impl TxInner {
    fn new(tx: Transaction<'static, Any>) -> TxInner {
        TxInner { tx, versions: HashMap::new(), board_docs: HashMap::new(), savepoint: Savepoint::None, saved_versions: None, writer: None }
    }

    /// Rolls back an abandoned command's part before the transaction is used again.
    pub(crate) async fn settle(&mut self) -> Result<()> {
        if self.savepoint == Savepoint::Abandoned {
            sqlx::query("ROLLBACK TO SAVEPOINT cork_step").execute(&mut *self.tx).await?;
            sqlx::query("RELEASE SAVEPOINT cork_step").execute(&mut *self.tx).await?;
            self.savepoint = Savepoint::None;
            if let Some(versions) = self.saved_versions.take() {
                self.versions = versions;
            }
        }
        Ok(())
    }

    async fn open_savepoint(&mut self) -> Result<()> {
        sqlx::query("SAVEPOINT cork_step").execute(&mut *self.tx).await?;
        self.savepoint = Savepoint::Open;
        self.saved_versions = Some(self.versions.clone());
        Ok(())
    }

    async fn release_savepoint(&mut self) -> Result<()> {
        if self.savepoint == Savepoint::Open {
            sqlx::query("RELEASE SAVEPOINT cork_step").execute(&mut *self.tx).await?;
            self.savepoint = Savepoint::None;
            self.saved_versions = None;
        }
        Ok(())
    }
}

/// Who ends a [`Tx`].
enum Mode {
    /// The holder: `commit` commits, dropping rolls back.
    Own,
    /// A command's part of a pipeline's transaction: `commit` parks it for the pipeline.
    Write(Arc<pipeline::Pipeline>),
    /// A read inside a pipeline that had written: handed back when done.
    Borrowed(Arc<pipeline::Pipeline>),
}

/// One transaction. Dropping it without [`Tx::commit`] rolls back, which is how a
/// failed request leaves nothing half-written.
pub struct Tx {
    inner: Option<TxInner>,
    dialect: Dialect,
    mode: Mode,
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Some(mut inner) = self.inner.take() else { return };
        match &self.mode {
            // sqlx rolls the transaction back when it is dropped.
            Mode::Own => drop(inner),
            Mode::Borrowed(pipeline) => drop(pipeline::park(pipeline, inner, false)),
            Mode::Write(pipeline) => {
                if inner.savepoint == Savepoint::Open {
                    // Earlier commands of the request stay; this one is undone on next use.
                    inner.savepoint = Savepoint::Abandoned;
                    drop(pipeline::park(pipeline, inner, false));
                }
                // A fresh transaction holds only this command's work: rolled back.
            }
        }
    }
}

/// A failed `COMMIT`: a lost connection leaves the outcome unknown.
fn classify_commit(error: sqlx::Error) -> StoreError {
    if is_connection_loss(&error) {
        tracing::warn!(%error, "the connection was lost during commit");
        return StoreError::CommitUnknown(error.to_string());
    }
    classify(error)
}

fn classify(error: sqlx::Error) -> StoreError {
    if is_connection_loss(&error) {
        // Nothing of this transaction was committed: the pipeline may try the request again
        // on a fresh connection. Not when the pool is full or closed: another attempt would
        // wait as long again (the acquire time-out) and add to the queue.
        if !matches!(error, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) {
            pipeline::flag_retry();
        }
        return StoreError::Unavailable(error.to_string());
    }
    if let sqlx::Error::Database(e) = &error {
        if e.is_unique_violation() {
            tracing::debug!(message = e.message(), "unique constraint");
            return StoreError::Conflict("record".into());
        }
        // serialization_failure, deadlock_detected: another attempt can succeed.
        if matches!(e.code().as_deref(), Some("40001") | Some("40P01")) {
            pipeline::flag_retry();
            return StoreError::Retry(e.message().to_string());
        }
    }
    StoreError::Database(error)
}

impl Tx {
    pub(crate) fn own(inner: TxInner, dialect: Dialect) -> Tx {
        Tx { inner: Some(inner), dialect, mode: Mode::Own }
    }

    fn inner(&mut self) -> &mut TxInner {
        self.inner.as_mut().expect("a Tx holds its transaction until it ends")
    }

    /// Makes every write of this transaction durable at once; inside a pipeline, hands
    /// it to the pipeline, which commits it when the request is answered.
    pub async fn commit(mut self) -> Result<()> {
        let mut inner = self.inner.take().expect("a Tx holds its transaction until it ends");
        let pipeline = match std::mem::replace(&mut self.mode, Mode::Own) {
            Mode::Own => {
                inner.tx.commit().await.map_err(classify_commit)?;
                return Ok(());
            }
            Mode::Write(pipeline) => {
                inner.release_savepoint().await?;
                pipeline
            }
            Mode::Borrowed(pipeline) => pipeline,
        };
        if let Some(extra) = pipeline::park(&pipeline, inner, true) {
            // Two transactions at once in one request: this one cannot wait for the other.
            if pipeline.dry_run {
                drop(extra);
                return Err(StoreError::Retry("a dry run cannot hold two transactions".into()));
            }
            extra.tx.commit().await.map_err(classify_commit)?;
        }
        Ok(())
    }

    /// Undoes the transaction now.
    pub(crate) async fn rollback(mut self) -> Result<()> {
        if let Some(inner) = self.inner.take() {
            inner.tx.rollback().await?;
        }
        Ok(())
    }

    async fn fetch(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<AnyRow>> {
        note_query();
        let sql = self.adapt(sql);
        let inner = self.inner();
        let started = std::time::Instant::now();
        let rows = query::bind(sqlx::query(&sql), args).fetch_all(&mut *inner.tx).await.map_err(classify);
        query_time().record(started.elapsed());
        rows
    }

    async fn exec(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64> {
        note_query();
        let sql = self.adapt(sql);
        let inner = self.inner();
        let started = std::time::Instant::now();
        let done = query::bind(sqlx::query(&sql), args).execute(&mut *inner.tx).await.map_err(classify);
        query_time().record(started.elapsed());
        Ok(done?.rows_affected())
    }

    /// Names the table in a unique-constraint refusal, in place of the driver's text.
    fn conflict_on(table: Table) -> impl Fn(StoreError) -> StoreError {
        move |error| match error {
            StoreError::Conflict(_) => StoreError::Conflict(table.name().to_string()),
            other => other,
        }
    }

    /// Runs a statement the builder cannot express (the search index).
    async fn insert_raw(&mut self, sql: &str, args: Vec<Arg>) -> Result<()> {
        self.exec(sql, args).await?;
        Ok(())
    }

    /// Statements are written once with `$n` placeholders and `FOR UPDATE` where a row is
    /// read in order to be changed; SQLite, which locks the whole file, drops the suffix.
    fn adapt(&self, sql: &str) -> String {
        match self.dialect {
            Dialect::Postgres => sql.to_string(),
            Dialect::Sqlite => sql.replace(" FOR UPDATE", ""),
        }
    }

    /// The documents of `table` matching every condition, in `order`, at most `limit`.
    pub async fn docs(&mut self, table: Table, conds: &[Cond], order: Order, limit: Option<i64>) -> Result<Vec<String>> {
        Ok(self.doc_rows(table, conds, order, limit, false).await?.into_iter().map(|row| row.doc).collect())
    }

    /// Like [`Tx::docs`], with each row's live column (see [`DocRow::live`]).
    pub async fn docs_live(&mut self, table: Table, conds: &[Cond], order: Order, limit: Option<i64>) -> Result<Vec<DocRow>> {
        self.doc_rows(table, conds, order, limit, false).await
    }

    /// Reads documents, noting the version of every versioned row for the saves that
    /// may follow in this transaction.
    async fn doc_rows(&mut self, table: Table, conds: &[Cond], order: Order, limit: Option<i64>, lock: bool) -> Result<Vec<DocRow>> {
        let what = match (table.versioned(), table == Table::Boards) {
            (false, _) => "doc",
            (true, false) => "doc, version, id",
            (true, true) => "doc, version, id, last_activity",
        };
        let (sql, args) = query::select(table, what, conds, order, limit, lock);
        let rows = self.fetch(&sql, args).await?;
        let mut docs = Vec::with_capacity(rows.len());
        for row in &rows {
            let doc: String = row.try_get(0)?;
            let mut live = None;
            if table.versioned() {
                let version: i64 = row.try_get(1)?;
                let id: String = row.try_get(2)?;
                precondition::read(table, &id, version)?;
                // On PostgreSQL a later statement may see a newer row than an earlier one
                // did. The first read is what a command works from, so it is the base of
                // the compare-and-set — unless a locking read replaced it: from then on
                // the row cannot move, and the command works from that copy.
                let inner = self.inner();
                if table == Table::Boards {
                    live = row.try_get::<Option<String>, _>(3)?;
                    if lock || !inner.board_docs.contains_key(&id) {
                        inner.board_docs.insert(id.clone(), doc.clone());
                    }
                }
                if lock {
                    inner.versions.insert((table, id), version);
                } else {
                    inner.versions.entry((table, id)).or_insert(version);
                }
            }
            docs.push(DocRow { doc, live });
        }
        Ok(docs)
    }

    /// One document by primary key.
    pub async fn doc(&mut self, table: Table, id: &str) -> Result<Option<String>> {
        Ok(self.docs(table, &[Cond::eq("id", id)], Order::None, Some(1)).await?.pop())
    }

    /// One document by primary key, locked until the transaction ends (PostgreSQL).
    pub async fn doc_for_update(&mut self, table: Table, id: &str) -> Result<Option<String>> {
        Ok(self.doc_rows(table, &[Cond::eq("id", id)], Order::None, Some(1), true).await?.pop().map(|row| row.doc))
    }

    /// One row by primary key with its live column, locked until the transaction ends.
    pub async fn doc_live_for_update(&mut self, table: Table, id: &str) -> Result<Option<DocRow>> {
        Ok(self.doc_rows(table, &[Cond::eq("id", id)], Order::None, Some(1), true).await?.pop())
    }

    /// Writes an object's row back. On a versioned table the write is a compare-and-set
    /// on the version this transaction read, and bumps it: an object changed by another
    /// writer since it was read is never overwritten — the write fails with
    /// [`StoreError::Retry`] and the pipeline tries the request again.
    pub async fn save_row(&mut self, table: Table, id: &str, values: &[(&'static str, Arg)]) -> Result<()> {
        if !table.versioned() {
            self.update(table, values, &[Cond::eq("id", id)]).await?;
            return Ok(());
        }
        let key = (table, id.to_string());
        let known = self.inner().versions.get(&key).copied();
        let (sql, args) = query::update_versioned(table, values, id, known);
        let changed = self.exec(&sql, args).await.map_err(Tx::conflict_on(table))?;
        if changed == 0 && known.is_some() {
            pipeline::flag_retry();
            return Err(StoreError::Retry(format!("{} {id} changed since it was read", table.name())));
        }
        if let Some(version) = known {
            precondition::wrote(table, id, version + 1);
            self.inner().versions.insert(key, version + 1);
        }
        Ok(())
    }

    /// Moves a board's activity date without rewriting (or re-indexing) its document:
    /// the date lives in a column that reads lay over the document. Activity is no
    /// field a client edits, so it leaves the board's version (and `ETag`) alone, and a
    /// card write never makes a concurrent board edit start over.
    pub async fn touch_board(&mut self, id: &str, at: &str) -> Result<()> {
        self.exec("UPDATE boards SET last_activity = $1 WHERE id = $2", vec![Arg::text(at), Arg::text(id)]).await?;
        Ok(())
    }

    /// A board's document as this transaction last read it.
    pub fn board_doc_as_read(&mut self, id: &str) -> Option<String> {
        self.inner().board_docs.get(id).cloned()
    }

    /// Locks rows of `table` by id, in id order, until the transaction ends (PostgreSQL;
    /// SQLite's write transaction holds the whole file already). Commands that write
    /// several boards take them here first, so two opposite moves cannot deadlock.
    pub async fn lock_in_order(&mut self, table: Table, ids: &[String]) -> Result<()> {
        if self.dialect == Dialect::Sqlite || ids.is_empty() {
            return Ok(());
        }
        let (sql, args) = query::select(table, "id", &[Cond::any_of("id", ids)], Order::Asc("id"), None, true);
        self.fetch(&sql, args).await?;
        Ok(())
    }

    /// Actions with the write pipeline's stamps, oldest first (the audit export).
    pub async fn stamped_actions(&mut self, conds: &[Cond], limit: i64) -> Result<Vec<StampedAction>> {
        let (sql, args) = query::select(Table::Actions, "doc, command_id, token_id, app_key", conds, Order::Asc("id"), Some(limit), false);
        let rows = self.fetch(&sql, args).await?;
        rows.iter()
            .map(|row| {
                Ok(StampedAction { doc: row.try_get(0)?, command_id: row.try_get(1)?, token_id: row.try_get(2)?, app_key: row.try_get(3)? })
            })
            .collect()
    }

    /// The version of a row this transaction read (its `ETag`).
    pub fn version_of(&mut self, table: Table, id: &str) -> Option<i64> {
        self.inner().versions.get(&(table, id.to_string())).copied()
    }

    /// The values of one text column for the matching rows.
    pub async fn column(&mut self, table: Table, column: &'static str, conds: &[Cond]) -> Result<Vec<String>> {
        let (sql, args) = query::select(table, column, conds, Order::None, None, false);
        let rows = self.fetch(&sql, args).await?;
        rows.iter().map(|r| Ok(r.try_get::<String, _>(0)?)).collect()
    }

    /// How many rows match.
    pub async fn count(&mut self, table: Table, conds: &[Cond]) -> Result<i64> {
        let (sql, args) = query::select(table, "COUNT(*)", conds, Order::None, None, false);
        let rows = self.fetch(&sql, args).await?;
        Ok(rows.first().map(|r| r.try_get::<i64, _>(0)).transpose()?.unwrap_or(0))
    }

    /// The smallest and largest `pos` among the matching rows.
    pub async fn pos_range(&mut self, table: Table, conds: &[Cond]) -> Result<Option<(f64, f64)>> {
        // PostgreSQL: writers placing cards in one list, or lists on one board, take turns
        // until commit on the board's row, so two never read the same MIN/MAX and give two
        // objects one position. The board's row, because every such write locks it anyway
        // (its activity date), and always board rows before anything else: a lock of its
        // own per list would be taken in another order than the board rows of a move
        // between boards, and deadlock with it. SQLite has one writer at a time already.
        if self.dialect == Dialect::Postgres {
            let lock = match (table, conds.first()) {
                (Table::Cards, Some(Cond::Eq("list_id", Arg::Text(list)))) => {
                    Some(("SELECT id FROM boards WHERE id = (SELECT board_id FROM lists WHERE id = $1) FOR UPDATE", list))
                }
                (Table::Lists, Some(Cond::Eq("board_id", Arg::Text(board)))) => {
                    Some(("SELECT id FROM boards WHERE id = $1 FOR UPDATE", board))
                }
                _ => None,
            };
            if let Some((sql, parent)) = lock {
                self.fetch(sql, vec![Arg::text(parent)]).await?;
            }
        }
        // Two aggregates, each alone in its subquery: SQLite (and PostgreSQL) answer a lone
        // MIN or MAX from the (parent, pos) index in one step, but `MIN(pos), MAX(pos)`
        // together read every row of the list — on a list of 15,000 cards, 30 M
        // instructions per card create.
        let (low, args) = query::select(table, "MIN(pos)", conds, Order::None, None, false);
        // The same conditions, so the same placeholders, bound once.
        let (high, _) = query::select(table, "MAX(pos)", conds, Order::None, None, false);
        let sql = format!("SELECT ({low}), ({high})");
        let rows = self.fetch(&sql, args).await?;
        let Some(row) = rows.first() else { return Ok(None) };
        let low: Option<f64> = row.try_get(0)?;
        let high: Option<f64> = row.try_get(1)?;
        Ok(low.zip(high))
    }

    /// Inserts one row; `Conflict` when a unique column already holds the value.
    pub async fn insert(&mut self, table: Table, values: &[(&'static str, Arg)]) -> Result<()> {
        let (sql, args) = query::insert(table, values);
        self.exec(&sql, args).await.map_err(Tx::conflict_on(table))?;
        if table.versioned() {
            if let Some((_, Arg::Text(id))) = values.iter().find(|(column, _)| *column == "id") {
                self.inner().versions.insert((table, id.clone()), 0);
            }
        }
        Ok(())
    }

    /// Inserts many rows (each with the same columns, in the same order) in a few
    /// statements; with `replace`, rows whose `id` exists are written over instead (a
    /// bulk load that may run twice: an import). Rows written over lose the version this
    /// transaction knew of them, so a later `save_row` does not compare against it.
    pub async fn insert_many(&mut self, table: Table, rows: Vec<Vec<(&'static str, Arg)>>, replace: bool) -> Result<()> {
        let Some(first) = rows.first() else { return Ok(()) };
        let width = first.len().max(1);
        if rows.iter().any(|r| r.len() != width || r.iter().zip(first).any(|((a, _), (b, _))| a != b)) {
            return Err(StoreError::Invalid(format!("insert_many into {}: rows with different columns", table.name())));
        }
        // Well under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
        let per_statement = (30_000 / width).clamp(1, 500);
        for chunk in rows.chunks(per_statement) {
            let (sql, args) = query::insert_many(table, chunk, replace);
            self.exec(&sql, args).await.map_err(Tx::conflict_on(table))?;
        }
        if table.versioned() {
            for row in &rows {
                if let Some((_, Arg::Text(id))) = row.iter().find(|(column, _)| *column == "id") {
                    let key = (table, id.clone());
                    if replace {
                        self.inner().versions.remove(&key);
                    } else {
                        self.inner().versions.insert(key, 0);
                    }
                }
            }
        }
        Ok(())
    }

    /// Sets columns on the matching rows; returns how many changed.
    pub async fn update(&mut self, table: Table, values: &[(&'static str, Arg)], conds: &[Cond]) -> Result<u64> {
        let (sql, args) = query::update(table, values, conds);
        self.exec(&sql, args).await.map_err(Tx::conflict_on(table))
    }

    /// Deletes the matching rows; returns how many went.
    pub async fn delete(&mut self, table: Table, conds: &[Cond]) -> Result<u64> {
        let (sql, args) = query::delete(table, conds);
        self.exec(&sql, args).await
    }

    /// The documents behind a request's credentials, in one query: the app key `id`, and
    /// the token whose hash is `token_hash` with its member (`None` where there is none).
    /// `None` when there is no such app key.
    pub async fn credentials(&mut self, app_key: &str, token_hash: &str) -> Result<Option<(String, Option<String>, Option<String>)>> {
        let rows = self
            .fetch(
                "SELECT a.doc, t.doc, m.doc FROM app_keys a LEFT JOIN tokens t ON t.token_hash = $2 \
                 LEFT JOIN members m ON m.id = t.member_id WHERE a.id = $1",
                vec![Arg::text(app_key), Arg::text(token_hash)],
            )
            .await?;
        let Some(row) = rows.first() else { return Ok(None) };
        Ok(Some((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
    }

    /// Takes the next per-board card number (Trello's `idShort`), atomically.
    pub async fn next_card_number(&mut self, board_id: &str) -> Result<i64> {
        let rows =
            self.fetch("UPDATE boards SET card_seq = card_seq + 1 WHERE id = $1 RETURNING card_seq", vec![Arg::text(board_id)]).await?;
        Ok(rows.first().map(|r| r.try_get::<i64, _>(0)).transpose()?.unwrap_or(1))
    }
}
