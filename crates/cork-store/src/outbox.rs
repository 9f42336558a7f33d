//! The webhook outbox's own statements: claiming due deliveries with a lease, and
//! finding when the next one falls due. They are the only statements the builder in
//! `query.rs` cannot express (a correlated `NOT EXISTS` and `UPDATE ... RETURNING`).

use sqlx::Row;

use crate::query::Arg;
use crate::{Result, Tx};

/// A delivery a worker now holds until its lease runs out.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    /// The row's place in its webhook's queue.
    pub seq: i64,
    pub id: String,
    pub webhook_id: String,
    pub doc: String,
}

/// Claims, for `owner`, the queues of up to `$4` webhooks whose oldest pending
/// delivery is due at `now` (epoch ms) and not leased: that delivery and the pending
/// ones behind it, at most `$5` rows in all, oldest first. A webhook's rows are sent in
/// order by the one worker holding them, so the scan for due queue heads (the costly
/// part) is paid once per batch, not once per delivery. The claim is one `UPDATE`
/// whose `WHERE` re-checks the lease, so when two nodes race for a row on PostgreSQL
/// the second finds it leased once the first commits and skips it; SQLite has one
/// writer at a time anyway.
const CLAIM: &str = "UPDATE webhook_deliveries SET lease_until = $1, lease_owner = $2 \
     WHERE state = 'pending' AND lease_until < $3 AND id IN ( \
       SELECT r.id FROM webhook_deliveries r \
       WHERE r.state = 'pending' AND r.lease_until < $3 AND r.webhook_id IN ( \
         SELECT d.webhook_id FROM webhook_deliveries d \
         WHERE d.state = 'pending' AND d.due_at <= $3 AND d.lease_until < $3 \
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                           WHERE e.webhook_id = d.webhook_id AND e.state = 'pending' AND e.seq < d.seq) \
         ORDER BY d.seq LIMIT $4) \
       ORDER BY r.seq LIMIT $5) \
     RETURNING seq, id, webhook_id, doc";

impl Tx {
    /// See [`CLAIM`]: leases the due queues of up to `webhooks` webhooks (at most `rows`
    /// deliveries) until `lease_until` (epoch ms), in queue order.
    pub async fn claim_deliveries(
        &mut self,
        owner: &str,
        now: i64,
        lease_until: i64,
        webhooks: i64,
        rows: i64,
    ) -> Result<Vec<ClaimedDelivery>> {
        let args = vec![Arg::Int(lease_until), Arg::text(owner), Arg::Int(now), Arg::Int(webhooks), Arg::Int(rows)];
        let found = self.fetch(CLAIM, args).await?;
        let mut claimed = found
            .iter()
            .map(|r| Ok(ClaimedDelivery { seq: r.try_get(0)?, id: r.try_get(1)?, webhook_id: r.try_get(2)?, doc: r.try_get(3)? }))
            .collect::<Result<Vec<_>>>()?;
        claimed.sort_by_key(|c| c.seq);
        Ok(claimed)
    }

    /// Moves the lease of `owner`'s still-pending rows of one webhook to `lease_until`
    /// (0 releases them): a worker renews what it holds after each send, and lets go
    /// of the rest when the queue must wait for a retry.
    pub async fn set_leases(&mut self, owner: &str, webhook_id: &str, lease_until: i64) -> Result<u64> {
        let sql = "UPDATE webhook_deliveries SET lease_until = $1 \
                   WHERE webhook_id = $2 AND lease_owner = $3 AND state = 'pending' AND lease_until > 0";
        self.exec(sql, vec![Arg::Int(lease_until), Arg::text(webhook_id), Arg::text(owner)]).await
    }

    /// Moves to `lease_until` the leases of `owner`'s pending rows of one webhook that
    /// are still held at `now` (epoch ms); answers how many. A lease that ran out is
    /// not taken back: another worker may have claimed the row since.
    pub async fn renew_leases(&mut self, owner: &str, webhook_id: &str, now: i64, lease_until: i64) -> Result<u64> {
        let sql = "UPDATE webhook_deliveries SET lease_until = $1 \
                   WHERE webhook_id = $2 AND lease_owner = $3 AND state = 'pending' AND lease_until >= $4";
        self.exec(sql, vec![Arg::Int(lease_until), Arg::text(webhook_id), Arg::text(owner), Arg::Int(now)]).await
    }

    /// When the next claimable delivery falls due or its lease runs out (epoch ms), so
    /// an idle worker sleeps exactly until there is work. Only the oldest pending row of
    /// each webhook counts: the rows queued behind it wait for it, not for the clock.
    pub async fn next_delivery_due(&mut self) -> Result<Option<i64>> {
        let sql = "SELECT MIN(CASE WHEN d.lease_until > d.due_at THEN d.lease_until ELSE d.due_at END) \
                   FROM webhook_deliveries d WHERE d.state = 'pending' \
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                                   WHERE e.webhook_id = d.webhook_id AND e.state = 'pending' AND e.seq < d.seq)";
        let rows = self.fetch(sql, Vec::new()).await?;
        Ok(rows.first().map(|r| r.try_get::<Option<i64>, _>(0)).transpose()?.flatten())
    }

    /// The pending deliveries, and the id of the oldest (ids carry their time).
    pub async fn outbox_depth(&mut self) -> Result<(i64, Option<String>)> {
        let rows = self.fetch("SELECT COUNT(*), MIN(id) FROM webhook_deliveries WHERE state = 'pending'", Vec::new()).await?;
        let Some(row) = rows.first() else { return Ok((0, None)) };
        Ok((row.try_get::<i64, _>(0)?, row.try_get::<Option<String>, _>(1)?))
    }
}
