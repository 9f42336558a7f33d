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
//! - At most `max_connections` are open at once; past that nothing more is accepted
//!   until one closes, so newcomers wait in the kernel's backlog (a burst of clients
//!   is served late rather than refused, and memory stays bounded).
//!
//! Each request carries its peer's address (`ConnectInfo<SocketAddr>`), as it did under
//! `axum::serve`. On the stop signal accepting ends, every connection finishes the
//! request in hand and closes (kept-alive idle ones at once), and [`run`] returns when
//! the last one has closed; the caller bounds that wait.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
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
    let mut waiting_since_warning: Option<Instant> = None;
    let mut signal = pin!(signal);
    loop {
        // At the cap, nothing more is accepted until a connection closes: the kernel's
        // backlog holds the newcomers (a burst of clients waits rather than fails).
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                metrics::counter!("cork_connections_waited_total").increment(1);
                if waiting_since_warning.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!(limit = limits.max_connections, "connection limit reached: new connections wait for one to close");
                    waiting_since_warning = Some(Instant::now());
                }
                tokio::select! {
                    biased;
                    _ = &mut signal => break,
                    permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                }
            }
        };
        let accepted = tokio::select! {
            biased;
            _ = &mut signal => break,
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
        let _ = stream.set_nodelay(true);
        let (service, limits, mut stopping, open) = (service.clone(), limits.clone(), stopping.clone(), open.clone());
        tokio::spawn(async move {
            metrics::gauge!("cork_connections_open").increment(1.0);
            let body_timeout = limits.body_timeout;
            let handler = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let mut request = request.map(|body| Body::new(TimeoutBody::new(body_timeout, body)));
                request.extensions_mut().insert(ConnectInfo(remote));
                service.clone().oneshot(request)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).max_buf_size(MAX_HEAD_BYTES);
            let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), handler));
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = async { stopping.wait_for(|stop| *stop).await.map(|_| ()) } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.as_mut().await;
                }
            }
            metrics::gauge!("cork_connections_open").decrement(1.0);
            drop((permit, open));
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(open);
    open_tx.closed().await;
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
