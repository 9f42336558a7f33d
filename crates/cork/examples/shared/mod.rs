//! What the benchmarks share: the database they run on. SQLite in a temp dir, or with
//! `CORK_BENCH_POSTGRES_URL=postgres://user@host/db` a fresh PostgreSQL database created
//! next to that one and dropped at the end.

use sqlx::Connection;

/// A database for one benchmark run.
pub struct BenchDatabase {
    pub url: String,
    pub backend: &'static str,
    /// (admin url, database name) of a PostgreSQL database to drop afterwards.
    created: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl BenchDatabase {
    /// Creates the database (`prefix` names a PostgreSQL one).
    pub async fn create(prefix: &str) -> BenchDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        match std::env::var("CORK_BENCH_POSTGRES_URL") {
            Ok(admin) => {
                let name = format!("{prefix}_{}", std::process::id());
                let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
                let slash = admin.rfind('/').expect("a database in the url");
                let url = format!("{}/{name}", &admin[..slash]);
                BenchDatabase { url, backend: "PostgreSQL", created: Some((admin, name)), _dir: dir }
            }
            Err(_) => {
                let url = format!("sqlite://{}", dir.path().join("cork.db").display());
                BenchDatabase { url, backend: "SQLite", created: None, _dir: dir }
            }
        }
    }

    /// The folder uploaded files go to.
    pub fn files(&self) -> std::path::PathBuf {
        self._dir.path().join("files")
    }

    /// Drops a PostgreSQL database it created (the SQLite file goes with the temp dir).
    pub async fn drop_database(self) {
        if let Some((admin, name)) = &self.created {
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
            }
        }
    }
}
