//! The load generator: closed-loop HTTP/1.1 clients on keep-alive connections, each
//! sending its next request as soon as the last answer is read, for a fixed time or a
//! fixed count; latencies go to an HDR histogram. It runs on a thread of its own,
//! pinned to one core (see [`Generator`]), so the server measured gets the other.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// One request of a workload.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: &'static str,
    /// Path and query.
    pub target: String,
    pub body: Option<String>,
}

impl Call {
    pub fn get(target: String) -> Call {
        Call { method: "GET", target, body: None }
    }
    pub fn with_json(method: &'static str, target: String, body: serde_json::Value) -> Call {
        Call { method, target, body: Some(body.to_string()) }
    }
}

/// Builds the `n`-th request of client `client`.
pub type Workload = Arc<dyn Fn(usize, u64) -> Call + Send + Sync>;

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub p50_us: u64,
    pub p99_us: u64,
    /// The first failure's status and body, to say why.
    pub first_error: Option<String>,
}

impl Stats {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How long a run lasts: a time, or a number of requests per client.
#[derive(Clone, Copy, Debug)]
pub enum Length {
    Time(Duration),
    Count(u64),
}

/// A thread pinned to one core with a single-threaded runtime, that runs load.
pub struct Generator {
    runtime: tokio::runtime::Runtime,
}

impl Generator {
    /// Pins the current thread to `core` (when the machine has it) and builds its runtime.
    pub fn pinned(core: usize) -> anyhow::Result<Generator> {
        if let Some(id) = core_affinity::get_core_ids().unwrap_or_default().into_iter().find(|c| c.id == core) {
            core_affinity::set_for_current(id);
        }
        Ok(Generator { runtime: tokio::runtime::Builder::new_current_thread().enable_all().build()? })
    }

    /// Runs `clients` closed-loop clients against `addr`.
    pub fn run(&self, addr: SocketAddr, clients: usize, length: Length, workload: Workload) -> Stats {
        self.runtime.block_on(closed_loop(vec![addr], clients, length, workload))
    }

    /// Runs `clients` closed-loop clients spread over `addrs` (client `i` on `addrs[i % n]`,
    /// as a balancer spreading connections would).
    pub fn run_spread(&self, addrs: Vec<SocketAddr>, clients: usize, length: Length, workload: Workload) -> Stats {
        self.runtime.block_on(closed_loop(addrs, clients, length, workload))
    }

    /// Runs a future on the generator's core (open-loop drivers, one-off calls).
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        self.runtime.block_on(fut)
    }
}

/// One keep-alive connection.
pub struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Connection> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Connection { sender, host: addr.to_string() })
    }

    /// Sends one call; answers its status and body.
    pub async fn send(&mut self, call: &Call) -> anyhow::Result<(u16, Bytes)> {
        self.sender.ready().await?;
        let mut request = Request::builder().method(call.method).uri(&call.target).header("host", &self.host);
        let body = match &call.body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Full::new(Bytes::from(body.clone()))
            }
            None => Full::new(Bytes::new()),
        };
        let response = self.sender.send_request(request.body(body)?).await?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}

async fn closed_loop(addrs: Vec<SocketAddr>, clients: usize, length: Length, workload: Workload) -> Stats {
    let started = Instant::now();
    let deadline = match length {
        Length::Time(duration) => Some(started + duration),
        Length::Count(_) => None,
    };
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (workload, addr) = (workload.clone(), addrs[client % addrs.len().max(1)]);
        tasks.push(tokio::spawn(async move {
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
            let (mut errors, mut first_error) = (0u64, None);
            let Ok(mut connection) = Connection::open(addr).await else {
                return (histogram, 1, Some("cannot connect".to_string()));
            };
            let mut n = 0u64;
            loop {
                match (deadline, length) {
                    (Some(deadline), _) if Instant::now() >= deadline => break,
                    (None, Length::Count(count)) if n >= count => break,
                    _ => {}
                }
                let call = workload(client, n);
                let sent = Instant::now();
                match connection.send(&call).await {
                    Ok((status, _)) if status < 400 => {
                        let _ = histogram.record(sent.elapsed().as_micros().max(1) as u64);
                    }
                    Ok((status, body)) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{status} {}: {}", call.target, String::from_utf8_lossy(&body)));
                    }
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{}: {error}", call.target));
                        match Connection::open(addr).await {
                            Ok(fresh) => connection = fresh,
                            Err(_) => break,
                        }
                    }
                }
                n += 1;
            }
            (histogram, errors, first_error)
        }));
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    let mut stats = Stats::default();
    for task in tasks {
        if let Ok((histogram, errors, first_error)) = task.await {
            let _ = all.add(&histogram);
            stats.errors += errors;
            if stats.first_error.is_none() {
                stats.first_error = first_error;
            }
        }
    }
    stats.elapsed = started.elapsed();
    stats.requests = all.len();
    stats.p50_us = all.value_at_quantile(0.5);
    stats.p99_us = all.value_at_quantile(0.99);
    stats
}
