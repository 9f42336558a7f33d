//! The background lane: work that must not wait behind a queue of requests (the webhook
//! worker's claims, reads and records). A future run inside [`background`] takes its
//! SQLite write turn before queued requests (`gate.rs`) and, on PostgreSQL, its
//! connections from a small pool of its own — so a backlog of requests delays a
//! delivery by about one write, not by the whole backlog.

use std::future::Future;

tokio::task_local! {
    static BACKGROUND: ();
}

/// Runs `work` in the background lane.
pub async fn background<F: Future>(work: F) -> F::Output {
    BACKGROUND.scope((), work).await
}

/// True inside [`background`].
pub fn in_background() -> bool {
    BACKGROUND.try_with(|_| ()).is_ok()
}
