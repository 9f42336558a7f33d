//! The write pipeline's hold on transactions: within a [`Pipeline::scope`], the
//! transactions a request's commands open are one transaction, and its ending belongs
//! to the pipeline, not to the commands.
//!
//! A command still writes `let mut tx = store.write().await?; ...; tx.commit().await?`,
//! but inside a scope `commit` only *parks* the transaction: a later `store.write()` or
//! `store.read()` of the same request resumes it (so a handler that reads after writing
//! sees its own write), and [`Pipeline::finish`] ends it once the response is known —
//! committing it together with the request's idempotency record, or rolling it back for
//! a dry run, a failed request or a retry. Work that must wait for the real commit
//! (removing a deleted upload's bytes) or undo itself on rollback (a written upload) is
//! registered with [`after_commit`] and [`on_rollback`]. Outside a scope (the CLI, the
//! webhook worker, reads) `commit` commits as before.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::{Arg, Store, Table, Tx, TxInner};

type Deferred = Pin<Box<dyn Future<Output = ()> + Send>>;
type Undo = Box<dyn FnOnce() + Send>;

tokio::task_local! {
    static CURRENT: Arc<Pipeline>;
}

/// An action a command recorded inside the pipeline: named in `X-Cork-Actions`, and what
/// review gates and source-of-truth rules judge a request by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAction {
    pub id: String,
    pub kind: String,
    pub board: Option<String>,
    /// The member, token and application key it was made by.
    pub member: String,
    pub token: Option<String>,
    pub key: Option<String>,
    /// The review gate on that token, if any (`destructive`, `writes`).
    pub gate: Option<String>,
    /// The action as stored (Trello's JSON).
    pub doc: String,
}

#[derive(Default)]
struct State {
    /// The request's transaction between two of its commands.
    parked: Option<TxInner>,
    /// Set when a statement failed in a way that a fresh attempt can cure
    /// (a serialization failure, a deadlock, a stale compare-and-set).
    retry: bool,
    /// Whether any command of the request finished a write.
    wrote: bool,
    after_commit: Vec<Deferred>,
    on_rollback: Vec<Undo>,
    actions: Vec<RecordedAction>,
    /// Set by a handler that answers an error after commands finished and must not
    /// commit them (an approval whose preview no longer holds).
    aborted: bool,
}

/// One request's write pipeline (see the module documentation).
pub struct Pipeline {
    /// Stamped on every action the request records, so its changes can be found again.
    pub command_id: String,
    /// A dry run: [`Pipeline::finish`] always rolls back.
    pub dry_run: bool,
    state: Mutex<State>,
}

/// What [`Pipeline::finish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Nothing was written and nothing had to be.
    Nothing,
    Committed,
    RolledBack,
}

/// A row the pipeline writes in the request's own transaction just before it commits
/// (the idempotency record).
pub struct FinalRow {
    pub table: Table,
    pub values: Vec<(&'static str, Arg)>,
}

impl Pipeline {
    pub fn new(command_id: String, dry_run: bool) -> Arc<Pipeline> {
        Arc::new(Pipeline { command_id, dry_run, state: Mutex::new(State::default()) })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while the lock is held cannot leave the state half-updated (every
        // change is one assignment or push), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `fut` with this pipeline as the current one.
    pub async fn scope<F: Future>(self: &Arc<Self>, fut: F) -> F::Output {
        CURRENT.scope(self.clone(), fut).await
    }

    /// Whether a statement asked for the request to be tried again; clears the mark.
    pub fn take_retry(&self) -> bool {
        std::mem::take(&mut self.state().retry)
    }

    /// Makes [`Pipeline::finish`] roll back whatever the request did.
    pub fn abort(&self) {
        self.state().aborted = true;
    }

    /// Whether a command finished a write in this request.
    pub fn wrote(&self) -> bool {
        self.state().wrote
    }

    /// The actions recorded so far, oldest first.
    pub fn actions(&self) -> Vec<RecordedAction> {
        self.state().actions.clone()
    }

    /// Ends the request's transaction: commits it (writing `final_row` first) when
    /// `commit` is true and this is no dry run, else rolls it back. Without a parked
    /// transaction, a `final_row` gets a transaction of its own.
    pub async fn finish(&self, store: &Store, commit: bool, final_row: Option<FinalRow>) -> crate::Result<Ending> {
        let (parked, aborted) = {
            let mut state = self.state();
            (state.parked.take(), state.aborted)
        };
        let commit = commit && !self.dry_run && !aborted;
        let (after, undo) = {
            let mut state = self.state();
            (std::mem::take(&mut state.after_commit), std::mem::take(&mut state.on_rollback))
        };
        let outcome = self.end(store, parked, commit, final_row).await;
        match outcome {
            Ok(Ending::Committed) => {
                for work in after {
                    work.await;
                }
            }
            // The commit may have landed: undoing (deleting an upload's bytes) could break
            // what was applied. Neither runs; at worst a file is left without its row.
            Err(crate::StoreError::CommitUnknown(_)) => {}
            _ => {
                for work in undo {
                    work();
                }
            }
        }
        outcome
    }

    async fn end(&self, store: &Store, parked: Option<TxInner>, commit: bool, final_row: Option<FinalRow>) -> crate::Result<Ending> {
        let final_row = final_row.filter(|_| commit);
        let inner = match parked {
            Some(mut inner) => {
                inner.settle().await?;
                inner
            }
            None if final_row.is_some() => store.begin_write().await?,
            None => return Ok(Ending::Nothing),
        };
        let mut tx = Tx::own(inner, store.dialect());
        if !commit {
            tx.rollback().await?;
            return Ok(Ending::RolledBack);
        }
        if let Some(row) = final_row {
            tx.insert(row.table, &row.values).await?;
        }
        tx.commit().await?;
        Ok(Ending::Committed)
    }

    /// Rolls back whatever is parked (a retry starts over) and forgets the request's
    /// deferred work, undoing what asked to be undone.
    pub async fn reset(&self) {
        let (parked, undo) = {
            let mut state = self.state();
            state.after_commit.clear();
            state.actions.clear();
            state.wrote = false;
            state.aborted = false;
            (state.parked.take(), std::mem::take(&mut state.on_rollback))
        };
        drop(parked);
        for work in undo {
            work();
        }
    }
}

/// The pipeline of the running request, if any.
pub fn current() -> Option<Arc<Pipeline>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// The running request's command id.
pub fn command_id() -> Option<String> {
    CURRENT.try_with(|p| p.command_id.clone()).ok()
}

/// Whether the running request is a dry run.
pub fn is_dry_run() -> bool {
    CURRENT.try_with(|p| p.dry_run).unwrap_or(false)
}

/// Runs `work` once the request's transaction has really committed; at once outside a
/// pipeline. Dropped if the request rolls back.
pub async fn after_commit(work: impl Future<Output = ()> + Send + 'static) {
    match current() {
        Some(pipeline) => pipeline.state().after_commit.push(Box::pin(work)),
        None => work.await,
    }
}

/// Runs `undo` if the request's transaction rolls back after a command finished;
/// returns false (and runs nothing) outside a pipeline.
pub fn on_rollback(undo: impl FnOnce() + Send + 'static) -> bool {
    match current() {
        Some(pipeline) => {
            pipeline.state().on_rollback.push(Box::new(undo));
            true
        }
        None => false,
    }
}

/// Notes an action recorded by the running request.
pub fn note_action(action: RecordedAction) {
    if let Some(pipeline) = current() {
        pipeline.state().actions.push(action);
    }
}

/// Marks the running request for another attempt.
pub(crate) fn flag_retry() {
    if let Some(pipeline) = current() {
        pipeline.state().retry = true;
    }
}

/// Takes the parked transaction of the running request, if there is one.
pub(crate) fn take_parked() -> Option<(Arc<Pipeline>, Option<TxInner>)> {
    let pipeline = current()?;
    let parked = pipeline.state().parked.take();
    Some((pipeline, parked))
}

/// Parks `inner` for the next command of the request. Returns it when something is
/// parked already (two transactions at once), so that the caller commits it itself.
pub(crate) fn park(pipeline: &Pipeline, inner: TxInner, wrote: bool) -> Option<TxInner> {
    let mut state = pipeline.state();
    if state.parked.is_some() {
        return Some(inner);
    }
    state.parked = Some(inner);
    state.wrote |= wrote;
    None
}
