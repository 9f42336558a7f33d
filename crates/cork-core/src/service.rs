//! What an operator watches besides requests: the webhook outbox's depth and the age of
//! its oldest pending delivery, and the change requests waiting for review. Read at each
//! scrape of `GET /cork/metrics`, in one snapshot.

use chrono::Utc;
use cork_store::{Cond, Table};

use crate::ids::id_time;
use crate::{Cork, Result};

/// The levels `GET /cork/metrics` reports as gauges.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    /// Webhook deliveries not yet sent (or waiting for a retry).
    pub outbox_pending: i64,
    /// Seconds since the oldest of them was queued.
    pub outbox_oldest_age: Option<i64>,
    /// Change requests waiting for a reviewer.
    pub change_requests_pending: i64,
}

impl Cork {
    /// The levels, read in one snapshot.
    pub async fn levels(&self) -> Result<Levels> {
        let mut tx = self.store.read().await?;
        let (outbox_pending, oldest) = tx.outbox_depth().await?;
        let change_requests_pending = tx.count(Table::ChangeRequests, &[Cond::eq("state", "pending")]).await?;
        let outbox_oldest_age = oldest.as_deref().and_then(id_time).map(|at| (Utc::now() - at).num_seconds().max(0));
        Ok(Levels { outbox_pending, outbox_oldest_age, change_requests_pending })
    }
}
