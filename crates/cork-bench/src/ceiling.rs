//! The machine's ceiling, served by `cork-bench ceiling` in a process of its own: what
//! the same machine does with no Cork in the way. `GET /noop` is a trivial axum handler;
//! `POST /sqlite` and `POST /postgres` each write one transaction of two rows (a card-like
//! row and an action-like row), as a card create does at least, with the SQLite settings
//! Cork uses (WAL, `synchronous = NORMAL`).

use std::net::SocketAddr;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

#[derive(Clone)]
struct Pools {
    sqlite: Option<SqlitePool>,
    postgres: Option<PgPool>,
}

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS bench_cards (id TEXT PRIMARY KEY, list_id TEXT NOT NULL, doc TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bench_actions (id TEXT PRIMARY KEY, card_id TEXT NOT NULL, doc TEXT NOT NULL)",
];

fn ids() -> (String, String) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(2, Ordering::Relaxed);
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    (format!("{stamp:x}{n:08x}"), format!("{stamp:x}{:08x}", n + 1))
}

const DOC: &str = r#"{"name":"A card","desc":"","closed":false,"pos":16384,"idLabels":[],"idMembers":[]}"#;

/// One transaction of two rows on `$pool` (the two drivers differ in type and in
/// placeholder syntax only).
macro_rules! two_rows {
    ($pool:expr, $card_sql:literal, $action_sql:literal) => {{
        let pool = $pool.ok_or("no such database")?;
        let (card, action) = ids();
        let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
        sqlx::query($card_sql).bind(&card).bind(DOC).execute(&mut *tx).await.map_err(|e| e.to_string())?;
        sqlx::query($action_sql).bind(&action).bind(&card).bind(DOC).execute(&mut *tx).await.map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok("ok")
    }};
}

async fn sqlite_insert(State(pools): State<Pools>) -> Result<&'static str, String> {
    two_rows!(
        pools.sqlite.as_ref(),
        "INSERT INTO bench_cards (id, list_id, doc) VALUES (?, 'list', ?)",
        "INSERT INTO bench_actions (id, card_id, doc) VALUES (?, ?, ?)"
    )
}

async fn postgres_insert(State(pools): State<Pools>) -> Result<&'static str, String> {
    two_rows!(
        pools.postgres.as_ref(),
        "INSERT INTO bench_cards (id, list_id, doc) VALUES ($1, 'list', $2)",
        "INSERT INTO bench_actions (id, card_id, doc) VALUES ($1, $2, $3)"
    )
}

/// Serves the ceiling until killed.
pub async fn serve(listen: SocketAddr, sqlite: Option<String>, postgres: Option<String>) -> anyhow::Result<()> {
    let sqlite = match sqlite {
        Some(path) => {
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(std::time::Duration::from_secs(10));
            let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
            for statement in SCHEMA {
                sqlx::query(statement).execute(&pool).await?;
            }
            Some(pool)
        }
        None => None,
    };
    let postgres = match postgres {
        Some(url) => {
            let pool = PgPoolOptions::new().max_connections(16).connect(&url).await?;
            for statement in SCHEMA {
                sqlx::query(statement).execute(&pool).await?;
            }
            Some(pool)
        }
        None => None,
    };
    let app = Router::new()
        .route("/noop", get(|| async { "ok" }))
        .route("/sqlite", post(sqlite_insert))
        .route("/postgres", post(postgres_insert))
        .with_state(Pools { sqlite, postgres });
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
