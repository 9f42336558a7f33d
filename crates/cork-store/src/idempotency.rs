//! Stored answers of writes sent with an `Idempotency-Key` (table `idempotency_keys`).

use sqlx::Row;

use crate::{Arg, Result, Store, Table};

/// The first answer to a keyed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// A hash of the request the answer was for: a retry must match it.
    pub fingerprint: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl StoredAnswer {
    /// The row the pipeline writes in the request's own transaction.
    pub fn row(&self, scope: &str, key: &str, now: i64) -> crate::pipeline::FinalRow {
        crate::pipeline::FinalRow {
            table: Table::IdempotencyKeys,
            values: vec![
                ("scope", Arg::text(scope)),
                ("idem_key", Arg::text(key)),
                ("fingerprint", Arg::text(&self.fingerprint)),
                ("status", Arg::Int(i64::from(self.status))),
                ("content_type", Arg::opt(self.content_type.clone())),
                ("body", Arg::text(&self.body)),
                ("created_at", Arg::Int(now)),
            ],
        }
    }
}

impl Store {
    /// The answer stored for `key` in `scope` no earlier than `since` (Unix seconds).
    pub async fn idempotent_answer(&self, scope: &str, key: &str, since: i64) -> Result<Option<StoredAnswer>> {
        let mut tx = self.read().await?;
        let rows = tx
            .fetch(
                "SELECT fingerprint, status, content_type, body FROM idempotency_keys \
                 WHERE scope = $1 AND idem_key = $2 AND created_at >= $3",
                vec![Arg::text(scope), Arg::text(key), Arg::Int(since)],
            )
            .await?;
        let Some(row) = rows.first() else { return Ok(None) };
        Ok(Some(StoredAnswer {
            fingerprint: row.try_get(0)?,
            status: u16::try_from(row.try_get::<i64, _>(1)?).unwrap_or(500),
            content_type: row.try_get(2)?,
            body: row.try_get(3)?,
        }))
    }

    /// Forgets answers stored before `before` (Unix seconds); returns how many went.
    pub async fn expire_idempotency_keys(&self, before: i64) -> Result<u64> {
        let mut tx = self.write().await?;
        let gone = tx.exec("DELETE FROM idempotency_keys WHERE created_at < $1", vec![Arg::Int(before)]).await?;
        tx.commit().await?;
        Ok(gone)
    }
}
