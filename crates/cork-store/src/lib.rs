//! Cork's storage: one [`Store`] over SQLite (the embedded default) or PostgreSQL.
//!
//! The store knows tables, indexed columns and opaque JSON documents; it owns every
//! SQL string in Cork. The domain (`cork-core`) gives the documents their meaning.
//! All access goes through a [`Tx`]: reads run in a read-only snapshot, writes in one
//! transaction that holds the change and its action rows together.

mod outbox;
mod query;
mod search;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row, Transaction};

pub use outbox::ClaimedDelivery;
pub use query::{Arg, Cond, Order, Table};
pub use search::{words, SearchEntry, SearchHit};

/// Errors the store reports; the domain maps them to its own.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (duplicate username, shortLink, ...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database URL is not one Cork accepts.
    #[error("unsupported database url: {0}")]
    BadUrl(String),
    /// Anything else from the driver; logged, never shown to clients.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed at start.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Which SQL dialect the pool speaks; the only place the two backends differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

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

/// The database behind Cork: a connection pool and its dialect.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
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
        match dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Dialect::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        Ok(Store { pool, dialect })
    }

    /// The dialect chosen at open.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A read-only snapshot: every query in it sees the same state.
    pub async fn read(&self) -> Result<Tx> {
        let statement = match self.dialect {
            Dialect::Sqlite => "BEGIN",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        let inner = self.pool.begin_with(statement).await?;
        Ok(Tx { inner, dialect: self.dialect })
    }

    /// A write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so a read-then-write transaction never fails on upgrade.
    pub async fn write(&self) -> Result<Tx> {
        let statement = match self.dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        };
        let inner = self.pool.begin_with(statement).await?;
        Ok(Tx { inner, dialect: self.dialect })
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
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

/// One transaction. Dropping it without [`Tx::commit`] rolls back, which is how a
/// failed request leaves nothing half-written.
pub struct Tx {
    inner: Transaction<'static, Any>,
    dialect: Dialect,
}

impl Tx {
    /// Makes every write of this transaction durable at once.
    pub async fn commit(self) -> Result<()> {
        self.inner.commit().await?;
        Ok(())
    }

    async fn fetch(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<AnyRow>> {
        note_query();
        let sql = self.adapt(sql);
        let rows = query::bind(sqlx::query(&sql), args).fetch_all(&mut *self.inner).await?;
        Ok(rows)
    }

    async fn exec(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64> {
        note_query();
        let sql = self.adapt(sql);
        match query::bind(sqlx::query(&sql), args).execute(&mut *self.inner).await {
            Ok(done) => Ok(done.rows_affected()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(e.message().to_string())),
            Err(e) => Err(e.into()),
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
        let (sql, args) = query::select(table, "doc", conds, order, limit, false);
        let rows = self.fetch(&sql, args).await?;
        rows.iter().map(|r| Ok(r.try_get::<String, _>(0)?)).collect()
    }

    /// One document by primary key.
    pub async fn doc(&mut self, table: Table, id: &str) -> Result<Option<String>> {
        Ok(self.docs(table, &[Cond::eq("id", id)], Order::None, Some(1)).await?.pop())
    }

    /// One document by primary key, locked until the transaction ends (PostgreSQL).
    pub async fn doc_for_update(&mut self, table: Table, id: &str) -> Result<Option<String>> {
        let (sql, args) = query::select(table, "doc", &[Cond::eq("id", id)], Order::None, Some(1), true);
        let rows = self.fetch(&sql, args).await?;
        rows.first().map(|r| Ok(r.try_get::<String, _>(0)?)).transpose()
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
        let (sql, args) = query::select(table, "MIN(pos), MAX(pos)", conds, Order::None, None, false);
        let rows = self.fetch(&sql, args).await?;
        let Some(row) = rows.first() else { return Ok(None) };
        let low: Option<f64> = row.try_get(0)?;
        let high: Option<f64> = row.try_get(1)?;
        Ok(low.zip(high))
    }

    /// Inserts one row; `Conflict` when a unique column already holds the value.
    pub async fn insert(&mut self, table: Table, values: &[(&'static str, Arg)]) -> Result<()> {
        let (sql, args) = query::insert(table, values);
        self.exec(&sql, args).await?;
        Ok(())
    }

    /// Sets columns on the matching rows; returns how many changed.
    pub async fn update(&mut self, table: Table, values: &[(&'static str, Arg)], conds: &[Cond]) -> Result<u64> {
        let (sql, args) = query::update(table, values, conds);
        self.exec(&sql, args).await
    }

    /// Deletes the matching rows; returns how many went.
    pub async fn delete(&mut self, table: Table, conds: &[Cond]) -> Result<u64> {
        let (sql, args) = query::delete(table, conds);
        self.exec(&sql, args).await
    }

    /// Takes the next per-board card number (Trello's `idShort`), atomically.
    pub async fn next_card_number(&mut self, board_id: &str) -> Result<i64> {
        let rows =
            self.fetch("UPDATE boards SET card_seq = card_seq + 1 WHERE id = $1 RETURNING card_seq", vec![Arg::text(board_id)]).await?;
        Ok(rows.first().map(|r| r.try_get::<i64, _>(0)).transpose()?.unwrap_or(1))
    }
}
