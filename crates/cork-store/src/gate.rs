//! SQLite's one write turn, with two queues: the background lane (the webhook worker's
//! claims and records) goes before the requests waiting their turn.
//!
//! Requests queue in order for the turn (a fair queue instead of polling SQLite's busy
//! timeout). When writes come in faster than they commit, that queue grows, and a
//! worker write queued behind it waited as long as the whole queue: at 1,000 writes/s
//! deliveries trailed their writes by seconds though the worker itself was idle. A
//! background write now takes the next turn, so a delivery follows its write by about
//! one write's time; requests still keep their order among themselves. The background
//! lane is a task-local mark (`lane::background`), so the worker's own code, and the
//! domain methods it calls, need no extra parameter.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

#[derive(Default)]
struct State {
    held: bool,
    urgent: VecDeque<oneshot::Sender<Turn>>,
    normal: VecDeque<oneshot::Sender<Turn>>,
}

/// The write turn: one holder at a time, background waiters first.
#[derive(Clone, Default)]
pub(crate) struct WriteGate {
    state: Arc<Mutex<State>>,
}

/// Holding the turn; dropping it hands the turn to the next waiter.
pub(crate) struct Turn {
    gate: Option<WriteGate>,
}

impl WriteGate {
    /// Waits for the turn; `urgent` waiters are served before the others. Cancelling the
    /// wait is safe: a turn handed to a waiter that is gone is passed on when the channel
    /// holding it drops.
    pub(crate) async fn acquire(&self, urgent: bool) -> Turn {
        let waiting = {
            let mut state = self.state.lock().expect("write gate");
            if !state.held {
                state.held = true;
                return Turn { gate: Some(self.clone()) };
            }
            let (tx, rx) = oneshot::channel();
            if urgent {
                state.urgent.push_back(tx);
            } else {
                state.normal.push_back(tx);
            }
            rx
        };
        match waiting.await {
            Ok(turn) => turn,
            // The sender is only dropped unsent when the gate state is dropped, which
            // cannot happen while `self` holds it.
            Err(_) => unreachable!("a write gate waiter lost its sender"),
        }
    }

    fn release(&self) {
        let mut state = self.state.lock().expect("write gate");
        loop {
            let next = match state.urgent.pop_front() {
                Some(next) => next,
                None => match state.normal.pop_front() {
                    Some(next) => next,
                    None => {
                        state.held = false;
                        return;
                    }
                },
            };
            // A turn for a waiter that gave up comes back here, and goes to the next.
            match next.send(Turn { gate: Some(self.clone()) }) {
                Ok(()) => return,
                Err(mut returned) => {
                    returned.gate = None;
                }
            }
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            gate.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn background_waiters_go_first_and_requests_keep_their_order() {
        let gate = WriteGate::default();
        let first = gate.acquire(false).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, urgent) in [("a", false), ("b", false), ("worker", true), ("c", false)] {
            let (gate, order) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = gate.acquire(urgent).await;
                order.lock().unwrap().push(name);
            }));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(first);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["worker", "a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_does_not_keep_the_turn() {
        let gate = WriteGate::default();
        let first = gate.acquire(false).await;
        let gave_up = tokio::time::timeout(Duration::from_millis(20), gate.acquire(false)).await;
        assert!(gave_up.is_err());
        let next = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.acquire(false).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(first);
        let turn = tokio::time::timeout(Duration::from_secs(2), next).await.expect("the turn was passed on").unwrap();
        drop(turn);
        // Free again: taken at once.
        let again = tokio::time::timeout(Duration::from_millis(100), gate.acquire(true)).await;
        assert!(again.is_ok());
    }
}
