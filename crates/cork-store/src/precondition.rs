//! Versions as the wire sees them: `ETag`, `If-Match` and `If-None-Match` on the routes
//! of one object (`/1/cards/{id}`, ...). Within a [`Probe::scope`], the first row of the
//! probed table that the request reads is its object: its version becomes the ETag, and
//! an `If-Match` naming another version stops the command at that read — before it has
//! written anything — with [`StoreError::PreconditionFailed`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::{StoreError, Table};

tokio::task_local! {
    static CURRENT: Arc<Probe>;
    /// Every versioned row a read noted, by id (see [`collect_versions`]).
    static COLLECTED: Arc<Mutex<HashMap<String, i64>>>;
}

/// Runs `fut` and answers, beside its output, the version of every versioned row it read
/// (by id: object ids are unique across tables): what lets a client that read a whole
/// board send `If-Match` per card.
pub async fn collect_versions<F: Future>(fut: F) -> (F::Output, HashMap<String, i64>) {
    let log = Arc::new(Mutex::new(HashMap::new()));
    let output = COLLECTED.scope(log.clone(), fut).await;
    let versions = std::mem::take(&mut *log.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    (output, versions)
}

#[derive(Default)]
struct Seen {
    /// The object's id and its version as read (then as written).
    object: Option<(String, i64)>,
    /// The version found when it was not the one `If-Match` named.
    failed: Option<i64>,
}

/// One request's watch on its object's version.
pub struct Probe {
    table: Table,
    expected: Option<i64>,
    seen: Mutex<Seen>,
}

impl Probe {
    /// Watches the first row of `table`; `expected` is the version `If-Match` names.
    pub fn new(table: Table, expected: Option<i64>) -> Arc<Probe> {
        Arc::new(Probe { table, expected, seen: Mutex::new(Seen::default()) })
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `fut` with this probe as the current one.
    pub async fn scope<F: Future>(self: &Arc<Self>, fut: F) -> F::Output {
        CURRENT.scope(self.clone(), fut).await
    }

    /// The object's version at the end of the request, if it was read.
    pub fn version(&self) -> Option<i64> {
        self.seen().object.as_ref().map(|(_, version)| *version)
    }

    /// The version found when `If-Match` named another.
    pub fn failed(&self) -> Option<i64> {
        self.seen().failed
    }
}

/// Notes a versioned row the request read.
pub(crate) fn read(table: Table, id: &str, version: i64) -> crate::Result<()> {
    let _ = COLLECTED.try_with(|log| {
        if let Ok(mut log) = log.lock() {
            log.insert(id.to_string(), version);
        }
    });
    let Ok(probe) = CURRENT.try_with(Arc::clone) else { return Ok(()) };
    if probe.table != table {
        return Ok(());
    }
    let mut seen = probe.seen();
    if seen.object.is_some() {
        return Ok(());
    }
    seen.object = Some((id.to_string(), version));
    match probe.expected {
        Some(expected) if expected != version => {
            seen.failed = Some(version);
            Err(StoreError::PreconditionFailed(version))
        }
        _ => Ok(()),
    }
}

/// Notes that the request wrote a row at `version`.
pub(crate) fn wrote(table: Table, id: &str, version: i64) {
    let Ok(probe) = CURRENT.try_with(Arc::clone) else { return };
    let mut seen = probe.seen();
    if let Some((object, current)) = seen.object.as_mut() {
        if probe.table == table && object == id {
            *current = version;
        }
    }
}
