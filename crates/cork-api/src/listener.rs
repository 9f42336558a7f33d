//! Cork's own accept loop: HTTP/1.1 connections with the bounds a public server needs,
//! which `axum::serve` does not set (it gives hyper no timer, so no header timeout).
//!
//! - A request head must arrive whole within `header_timeout` of the connection being
//!   ready for it (after accepting, or after the previous answer on a kept-alive
//!   connection): a client sending its head a byte at a time, or an idle kept-alive
//!   connection, is closed then.
//! - A head (request line and headers, so the query string too) may take
//!   [`MAX_HEAD_BYTES`]; a longer one is refused by hyper with 431 or 414 and the
//!   connection closed, without buffering more.
//! - A request body must keep coming: `body_timeout` between two reads ends the request
//!   with 408 (its size is bounded by the body and upload limits, elsewhere).
//! - At most `max_connections` are open at once. At the cap, the connection idle longest
//!   (a kept-alive one, or one whose head has not arrived, idle for a second at least)
//!   is closed to make room for each newcomer; when there is none, newcomers wait in
//!   the kernel's backlog until one closes. A request in hand is never cut.
//!
//! Each request carries its peer's address (`ConnectInfo<SocketAddr>`), as it did under
//! `axum::serve`. On the stop signal accepting ends, every connection finishes the
//! request in hand and closes (kept-alive idle ones at once), and [`run`] returns when
//! the last one has closed; the caller bounds that wait.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify, Semaphore};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// The most a request head may take, request line included. Trello's clients send
/// heads of a few kilobytes; the longest query strings they build (a batch of URLs, a
/// search) stay far below this.
pub const MAX_HEAD_BYTES: usize = 64 << 10;

/// The bounds on connections (see the module documentation).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits { header_timeout: Duration::from_secs(30), body_timeout: Duration::from_secs(30), max_connections: 1024 }
    }
}

/// Serves `service` on `listener` under `limits` until `signal` completes, then lets
/// the open connections finish (see the module documentation).
pub async fn run<S>(listener: TcpListener, service: S, limits: ConnectionLimits, signal: impl Future<Output = ()>)
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let (stop, stopping) = watch::channel(false);
    // Every connection task holds a clone of `open`; `closed()` is when the last is gone.
    let (open_tx, open) = watch::channel(());
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let registry = Arc::new(Registry::default());
    let mut waiting_since_warning: Option<Instant> = None;
    let mut signal = pin!(signal);
    'accepting: loop {
        let accepted = tokio::select! {
            biased;
            _ = &mut signal => break 'accepting,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // A peer that went away before its accept is nobody's concern; anything
                // else (out of descriptors) is, and is not retried in a busy loop.
                if !matches!(
                    error.kind(),
                    std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionRefused
                ) {
                    tracing::warn!(%error, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                continue;
            }
        };
        // At the cap, the connection idle longest (no request in hand: a kept-alive one,
        // or one whose head has not arrived) is told to close to make room for this one;
        // when there is none, this one waits for a place, and the ones behind it wait in
        // the kernel's backlog (a burst of clients is served late rather than refused).
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let mut made_room = false;
                let mut waited = false;
                loop {
                    if !made_room {
                        made_room = registry.close_idlest();
                        if made_room {
                            metrics::counter!("cork_connections_closed_idle_total").increment(1);
                        } else if !waited {
                            waited = true;
                            metrics::counter!("cork_connections_waited_total").increment(1);
                            if waiting_since_warning.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                                tracing::warn!(
                                    limit = limits.max_connections,
                                    "connection limit reached with no idle connection to close: new connections wait"
                                );
                                waiting_since_warning = Some(Instant::now());
                            }
                        }
                    }
                    tokio::select! {
                        biased;
                        _ = &mut signal => break 'accepting,
                        permit = permits.clone().acquire_owned() => break permit.expect("the semaphore is never closed"),
                        // A connection may have finished its request since: look again.
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    }
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let (service, limits, mut stopping, open) = (service.clone(), limits.clone(), stopping.clone(), open.clone());
        let (id, this) = registry.add();
        let registry = registry.clone();
        tokio::spawn(async move {
            metrics::gauge!("cork_connections_open").increment(1.0);
            let body_timeout = limits.body_timeout;
            let handler = {
                let this = this.clone();
                hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let in_hand = InHand::start(this.clone());
                    let mut request = request.map(|body| Body::new(TimeoutBody::new(body_timeout, body)));
                    request.extensions_mut().insert(ConnectInfo(remote));
                    let answering = service.clone().oneshot(request);
                    async move {
                        let response = answering.await?;
                        // In hand until the answer's body is written (or dropped).
                        Ok::<_, Infallible>(response.map(|body| Body::new(Tracked { body, _in_hand: in_hand })))
                    }
                })
            };
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).max_buf_size(MAX_HEAD_BYTES);
            let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), handler));
            let closing = async {
                tokio::select! {
                    _ = async { stopping.wait_for(|stop| *stop).await.map(|_| ()) } => {}
                    _ = this.close.notified() => {}
                }
            };
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = closing => {
                    // The request in hand, if any, is finished first.
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.as_mut().await;
                }
            }
            registry.remove(id);
            metrics::gauge!("cork_connections_open").decrement(1.0);
            drop((permit, open));
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(open);
    open_tx.closed().await;
}

/// How long a connection must have been without a request before the cap closes it:
/// one just accepted may have its head on the way.
const MIN_IDLE: Duration = Duration::from_secs(1);

/// The open connections, so that the one idle longest can be told to close.
#[derive(Default)]
struct Registry {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
}

/// One open connection, as the accept loop sees it.
struct Connection {
    /// Requests in hand: from the head's arrival until the answer's body is written.
    in_hand: AtomicUsize,
    /// When a request last started or ended here (or the connection opened).
    last: Mutex<Instant>,
    /// Tells the connection to finish the request in hand, if any, and close.
    close: Notify,
}

impl Registry {
    fn add(&self) -> (u64, Arc<Connection>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection { in_hand: AtomicUsize::new(0), last: Mutex::new(Instant::now()), close: Notify::new() });
        self.open.lock().unwrap_or_else(|e| e.into_inner()).insert(id, connection.clone());
        (id, connection)
    }

    fn remove(&self, id: u64) {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    }

    /// Tells the connection idle longest to close (and forgets it, so that the next call
    /// picks another); false when every open connection has a request in hand or has
    /// been idle for less than [`MIN_IDLE`].
    fn close_idlest(&self) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let idlest = open
            .iter()
            .filter(|(_, c)| {
                c.in_hand.load(Ordering::Acquire) == 0 && c.last.lock().unwrap_or_else(|e| e.into_inner()).elapsed() >= MIN_IDLE
            })
            .min_by_key(|(_, c)| *c.last.lock().unwrap_or_else(|e| e.into_inner()))
            .map(|(id, _)| *id);
        let Some(connection) = idlest.and_then(|id| open.remove(&id)) else { return false };
        connection.close.notify_one();
        true
    }
}

/// A request in hand on a connection, until dropped.
struct InHand(Arc<Connection>);

impl InHand {
    fn start(connection: Arc<Connection>) -> InHand {
        connection.in_hand.fetch_add(1, Ordering::AcqRel);
        *connection.last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        InHand(connection)
    }
}

impl Drop for InHand {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.in_hand.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An answer's body that keeps its request in hand until it is written or dropped.
struct Tracked {
    body: Body,
    _in_hand: InHand,
}

impl hyper::body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Whether a request body's read failed because the client stopped sending it.
pub(crate) fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(current) = source {
        if current.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = current.source();
    }
    false
}
