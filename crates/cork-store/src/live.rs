//! Telling the other nodes of one PostgreSQL database that something was committed:
//! `NOTIFY` on a channel after the commit, and one `LISTEN`ing connection per node.
//! On SQLite there are no other nodes (one process owns the file), so both are no-ops.

use sqlx::postgres::PgListener;

use crate::{Result, Store};

/// A node's subscription to a channel: each message is a notification's payload.
pub struct Listener {
    inner: PgListener,
}

impl Listener {
    /// The next payload. After a lost connection the listener reconnects by itself;
    /// what was notified in between is lost, so the error tells the caller to catch up.
    pub async fn next(&mut self) -> Result<String> {
        let notification = self.inner.recv().await?;
        Ok(notification.payload().to_string())
    }
}

impl Store {
    /// Sends `payload` (at most 8,000 bytes, PostgreSQL's limit) to every listener of
    /// `channel` on this database, this node's included.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        if self.listen_url.is_none() {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&self.pool).await?;
        Ok(())
    }

    /// A listener on `channel`, on PostgreSQL only (it holds one connection of its own).
    pub async fn listen(&self, channel: &str) -> Result<Option<Listener>> {
        let Some(url) = &self.listen_url else { return Ok(None) };
        let mut inner = PgListener::connect(url).await?;
        inner.listen(channel).await?;
        Ok(Some(Listener { inner }))
    }
}
