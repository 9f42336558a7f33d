//! `cargo run --release -p cork-bench` (or `scripts/bench`): Cork's benchmark, in one run.
//!
//! It starts `cork serve` as a process of its own (SQLite, and PostgreSQL with
//! `--postgres`), builds boards through the API (100, 1,000 and 5,000 cards in five lists,
//! with labels and members, a three-item checklist on every 4th card and a comment on
//! every 10th), and drives load from a generator pinned to one core: board views, card
//! reads, creates, moves, comments, search, batch, webhook lag at a steady rate. Beside
//! Cork it measures the machine's ceiling (`cork-bench ceiling`: a trivial axum handler and
//! a two-row insert transaction per request on SQLite and PostgreSQL), counts CPU
//! instructions per request under `valgrind --tool=callgrind` (neighbours on a shared
//! machine do not change them), reads the server's RSS, and writes the table into
//! docs/benchmarks.md between its markers. Nothing here asserts a figure.

mod ceiling;
mod grow;
mod import;
mod load;
mod service;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use load::{Call, Connection, Generator, Length, Stats, Workload};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "Cork's benchmark: Cork beside the machine's ceiling, in one run")]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    /// Shorter phases, no 5,000-card board and no grown database.
    #[arg(long)]
    quick: bool,
    /// A PostgreSQL server (postgres://user@host:port): a fresh database is made on it for
    /// Cork and one for the ceiling, and dropped at the end.
    #[arg(long, env = "CORK_BENCH_POSTGRES")]
    postgres: Option<String>,
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Cards added through the API on other boards for the "grown database" rows.
    #[arg(long, default_value_t = 20_000)]
    grow: usize,
    /// Then copied by SQL (with their actions and search entries) until the database
    /// holds this many cards.
    #[arg(long, default_value_t = 1_000_000)]
    grow_to: u64,
    /// Seconds of the memory soak (a mixed load, RSS sampled at each tenth); 0 skips it.
    #[arg(long, default_value_t = 600)]
    soak: u64,
    /// The report: its part between the cork-bench markers is replaced.
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    /// Skip the instruction counts (valgrind).
    #[arg(long)]
    no_callgrind: bool,
    /// The `cork` binary (default: beside this one).
    #[arg(long)]
    cork: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Sub {
    /// Serve the ceiling (used by the benchmark itself).
    Ceiling {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        sqlite: Option<String>,
        #[arg(long)]
        postgres: Option<String>,
    },
    /// Copy the cards of some lists by SQL until the database holds `--to` cards (what
    /// the benchmark's grown database does; also a quick way to a large test database).
    Grow {
        #[arg(long)]
        database: String,
        #[arg(long, value_delimiter = ',')]
        lists: Vec<String>,
        #[arg(long)]
        to: u64,
    },
    /// What running as a service costs, on PostgreSQL (the top-level --postgres): the
    /// rate limiter per request (off, counted per node, shared in Redis) and throughput
    /// with 1 node and with 3 nodes on one database. Written to its own part of --out.
    Service {
        /// The Redis the shared limits count in.
        #[arg(long, default_value = "redis://127.0.0.1:6379/")]
        redis: String,
    },
    /// Import a generated export of a large board twice, timing each run with its peak
    /// memory (SQLite, and PostgreSQL with the top-level --postgres).
    Import {
        #[arg(long, default_value_t = 50_000)]
        cards: usize,
        #[arg(long, default_value_t = 200_000)]
        actions: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Sub::Ceiling { listen, sqlite, postgres }) = cli.command {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        return runtime.block_on(ceiling::serve(listen, sqlite, postgres));
    }
    if let Some(Sub::Grow { database, lists, to }) = &cli.command {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let held = runtime.block_on(grow::bulk_grow(database, lists, *to))?;
        println!("{held} cards");
        return Ok(());
    }
    if let Some(Sub::Import { cards, actions }) = &cli.command {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let cork = cli.cork.clone().unwrap_or_else(|| std::env::current_exe().unwrap_or_default().with_file_name("cork"));
        return runtime.block_on(import::run(&cork, *cards, *actions, cli.postgres.as_deref()));
    }
    // Orchestration (children, seeding, the webhook receiver) on a runtime of its own,
    // unpinned; the load on a thread pinned to the last core.
    let orchestration = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let (to_generator, from_main) = std::sync::mpsc::channel::<Job>();
    let generator = std::thread::spawn(move || -> Result<()> {
        let generator = Generator::pinned(cores.saturating_sub(1))?;
        for job in from_main {
            job(&generator);
        }
        Ok(())
    });
    let bench = Bench { cli, last_dump: Mutex::new(None), to_generator: Mutex::new(to_generator), cores };
    let outcome = match &bench.cli.command {
        Some(Sub::Service { redis }) => orchestration.block_on(service::run(&bench, redis)),
        _ => orchestration.block_on(bench.run()),
    };
    drop(bench);
    let _ = generator.join();
    outcome
}

/// Work for the pinned generator thread.
type Job = Box<dyn FnOnce(&Generator) + Send>;

struct Bench {
    cli: Cli,
    /// The callgrind dump of the last counted phase and its request count.
    last_dump: Mutex<Option<(PathBuf, u64)>>,
    to_generator: Mutex<std::sync::mpsc::Sender<Job>>,
    cores: usize,
}

/// A running child process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Process {
    fn pid(&self) -> u32 {
        self.0.id()
    }
    /// VmRSS and VmHWM in MB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

fn free_addr() -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

async fn wait_ready(addr: SocketAddr, path: &str, within: Duration) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < within {
        if let Ok(mut connection) = Connection::open(addr).await {
            if connection.send(&Call::get(path.to_string())).await.is_ok() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{addr} did not answer within {within:?}")
}

/// One backend's Cork: its data, its database URL and its credentials.
struct Cork {
    binary: PathBuf,
    data: PathBuf,
    database: String,
    label: &'static str,
}

impl Cork {
    fn cli(&self, args: &[&str]) -> Result<String> {
        let out = Command::new(&self.binary)
            .args(args)
            .arg("--data-dir")
            .arg(&self.data)
            .args(["--database", &self.database])
            .env("CORK_LOG", "warn")
            .output()
            .with_context(|| format!("running {}", self.binary.display()))?;
        if !out.status.success() {
            bail!("cork {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `cork serve` (under `wrapper`, e.g. valgrind, when given).
    async fn serve(&self, wrapper: &[String]) -> Result<(Process, SocketAddr)> {
        self.serve_with(wrapper, &["--rate-limits-off"]).await
    }

    /// `cork serve` with `settings` added to the benchmark's own.
    async fn serve_with(&self, wrapper: &[String], settings: &[&str]) -> Result<(Process, SocketAddr)> {
        let addr = free_addr()?;
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&self.binary);
                command
            }
            None => Command::new(&self.binary),
        };
        let log = std::fs::File::create(self.data.join(format!("serve-{}.log", addr.port())))?;
        command
            .arg("serve")
            .args(["--listen", &addr.to_string(), "--public-url", &format!("http://{addr}")])
            .arg("--data-dir")
            .arg(&self.data)
            .args([
                "--database",
                &self.database,
                "--webhook-allowed-hosts",
                "127.0.0.1",
                "--webhook-backoff",
                "1",
                "--webhook-per-host",
                "16",
            ])
            .args(settings)
            .env("CORK_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log);
        let process = Process(command.spawn().context("starting cork serve")?);
        let within = if wrapper.is_empty() { Duration::from_secs(60) } else { Duration::from_secs(300) };
        wait_ready(addr, "/1/members/me", within).await?;
        Ok((process, addr))
    }
}

/// The API through reqwest, for seeding and one-off calls.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Api {
    fn new(addr: SocketAddr, key: &str, token: &str) -> Api {
        Api { http: reqwest::Client::new(), base: format!("http://{addr}"), auth: format!("key={key}&token={token}") }
    }
    fn url(&self, path: &str) -> String {
        let joiner = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{joiner}{}", self.base, self.auth)
    }
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value> {
        let mut request = self.http.request(method.clone(), self.url(path));
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{method} {path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.send(reqwest::Method::POST, path, body).await
    }
    async fn put(&self, path: &str, body: Value) -> Result<Value> {
        self.send(reqwest::Method::PUT, path, body).await
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_string()
}

/// A board built for the benchmark.
#[derive(Clone, Default)]
struct Board {
    id: String,
    lists: Vec<String>,
    cards: Vec<String>,
}

/// Builds a board of `cards` cards as the benchmark describes, 8 requests at a time.
async fn seed_board(api: &Api, name: &str, cards: usize, members: &[String]) -> Result<Board> {
    let board = api.post("/1/boards", json!({"name": name, "defaultLists": false, "defaultLabels": false})).await?;
    let board_id = id(&board);
    let mut lists = Vec::new();
    for n in 0..5 {
        lists.push(id(&api.post("/1/lists", json!({"idBoard": board_id, "name": format!("List {n}"), "pos": "bottom"})).await?));
    }
    let mut labels = Vec::new();
    for color in ["green", "yellow", "orange", "red", "purple", "blue"] {
        labels.push(id(&api.post("/1/labels", json!({"idBoard": board_id, "name": color, "color": color})).await?));
    }
    for member in members {
        api.put(&format!("/1/boards/{board_id}/members/{member}"), json!({"type": "normal"})).await?;
    }
    let workers = 8;
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let (api, lists, labels, members) = (api.clone(), lists.clone(), labels.clone(), members.to_vec());
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for n in (worker..cards).step_by(workers) {
                let card_labels = format!("{},{}", labels[n % 6], labels[(n + 3) % 6]);
                let mut body = json!({"idList": lists[n % 5], "name": format!("Card {n}"), "desc": format!("Description of card {n}"),
                                      "idLabels": card_labels});
                if !members.is_empty() {
                    body["idMembers"] = json!(members[n % members.len()]);
                }
                let card = id(&api.post("/1/cards", body).await?);
                if n % 4 == 0 {
                    let checklist = id(&api.post(&format!("/1/cards/{card}/checklists"), json!({"name": "Steps"})).await?);
                    for item in 0..3 {
                        api.post(&format!("/1/checklists/{checklist}/checkItems"), json!({"name": format!("Step {item}")})).await?;
                    }
                }
                if n % 10 == 0 {
                    api.post(&format!("/1/cards/{card}/actions/comments"), json!({"text": format!("A comment on card {n}")})).await?;
                }
                made.push((n, card));
            }
            anyhow::Ok(made)
        }));
    }
    let mut made = Vec::new();
    for task in tasks {
        made.extend(task.await??);
    }
    made.sort();
    Ok(Board { id: board_id, lists, cards: made.into_iter().map(|(_, card)| card).collect() })
}

/// One row of the report: a measure and its figure per column.
#[derive(Default)]
struct Table {
    rows: Vec<(String, Vec<(String, String)>)>,
    /// Plain figures kept for the ratios to the ceiling: (measure, column) → value.
    raw: HashMap<(String, String), f64>,
}

impl Table {
    fn set(&mut self, measure: &str, column: &str, figure: String) {
        match self.rows.iter_mut().find(|(m, _)| m == measure) {
            Some((_, figures)) => figures.push((column.to_string(), figure)),
            None => self.rows.push((measure.to_string(), vec![(column.to_string(), figure)])),
        }
    }

    fn keep(&mut self, measure: &str, column: &str, value: f64) {
        self.raw.insert((measure.to_string(), column.to_string()), value);
    }

    fn kept(&self, measure: &str, column: &str) -> Option<f64> {
        self.raw.get(&(measure.to_string(), column.to_string())).copied().filter(|v| *v > 0.0)
    }

    /// Cork's figures as a share (throughput) or a multiple (instructions) of the
    /// ceiling's, one row each.
    fn ratios(&mut self, columns: &[(&str, &str)]) {
        for (column, backend) in columns {
            let share = |cork: Option<f64>, ceiling: Option<f64>| match (cork, ceiling) {
                (Some(c), Some(m)) => format!("{:.1}% of the ceiling", 100.0 * c / m),
                _ => "-".to_string(),
            };
            let times = |cork: Option<f64>, ceiling: Option<f64>| match (cork, ceiling) {
                (Some(c), Some(m)) => format!("{:.1}× the ceiling", c / m),
                _ => "-".to_string(),
            };
            let get = share(self.kept("card get", column), self.kept("card get", "ceiling"));
            let create = share(self.kept("create 64", column), self.kept("create 64", backend));
            let get_instr = times(self.kept("instr get", column), self.kept("instr get", "ceiling"));
            let create_instr = times(self.kept("instr create", column), self.kept("instr create", "ceiling"));
            self.set("ratio: card GET throughput, 64 connections", column, get);
            self.set("ratio: card create throughput, 64 clients, one board (ceiling of the same database)", column, create);
            self.set("ratio: instructions per card GET", column, get_instr);
            self.set("ratio: instructions per card create (ceiling: SQLite two-row insert, in process)", column, create_instr);
        }
    }
}

fn ms(us: u64) -> String {
    if us >= 10_000 {
        format!("{:.0} ms", us as f64 / 1000.0)
    } else {
        format!("{:.2} ms", us as f64 / 1000.0)
    }
}

fn throughput(stats: &Stats) -> String {
    let mut out = format!("{:.0}/s (p50 {}, p99 {})", stats.per_second(), ms(stats.p50_us), ms(stats.p99_us));
    if stats.errors > 0 {
        out.push_str(&format!(", {} errors", stats.errors));
    }
    out
}

fn latency(stats: &Stats) -> String {
    let mut out = format!("p50 {}, p99 {}", ms(stats.p50_us), ms(stats.p99_us));
    if stats.errors > 0 {
        out.push_str(&format!(", {} errors", stats.errors));
    }
    out
}

/// Card creates: client i keeps to the board `lists[i mod n]` and goes round its lists;
/// each card is named `{name} {client}.{n}`.
fn card_creates(lists: Vec<Vec<String>>, auth: &str, name: &'static str) -> Workload {
    let auth = auth.to_string();
    Arc::new(move |client, n| {
        let board = &lists[client % lists.len()];
        Call::with_json(
            "POST",
            with_auth("/1/cards", &auth),
            json!({"idList": board[n as usize % board.len()], "name": format!("{name} {client}.{n}")}),
        )
    })
}

fn with_auth(path: &str, auth: &str) -> String {
    let joiner = if path.contains('?') { '&' } else { '?' };
    format!("{path}{joiner}{auth}")
}

impl Bench {
    /// Runs `job` on the pinned generator thread and waits for its answer.
    async fn on_generator<T: Send + 'static>(&self, job: impl FnOnce(&Generator) -> T + Send + 'static) -> T {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let boxed: Job = Box::new(move |generator| {
            let _ = answer.send(job(generator));
        });
        self.to_generator.lock().expect("generator channel").send(boxed).expect("the generator thread is running");
        answered.await.expect("the generator answers")
    }

    async fn load(&self, addr: SocketAddr, clients: usize, length: Length, workload: Workload) -> Stats {
        let stats = self.on_generator(move |g| g.run(addr, clients, length, workload)).await;
        if let Some(error) = &stats.first_error {
            eprintln!("  (first error: {})", error.chars().take(300).collect::<String>());
        }
        stats
    }

    fn phase(&self) -> Length {
        Length::Time(Duration::from_secs(if self.cli.quick { self.cli.seconds.min(3) } else { self.cli.seconds }))
    }

    fn cork_binary(&self) -> Result<PathBuf> {
        let path = match &self.cli.cork {
            Some(path) => path.clone(),
            None => std::env::current_exe()?.with_file_name("cork"),
        };
        if !path.exists() {
            bail!("no cork binary at {} (cargo build --release -p cork, or --cork PATH)", path.display());
        }
        Ok(path)
    }

    async fn run(&self) -> Result<()> {
        git_head();
        let binary = self.cork_binary()?;
        let scratch = std::env::temp_dir().join(format!("cork-bench-{}", std::process::id()));
        std::fs::create_dir_all(&scratch)?;
        let mut table = Table::default();
        let mut notes = Vec::new();
        let mut databases = Vec::new();
        let outcome = async {
            let mut backends = vec![("SQLite", format!("sqlite://{}", scratch.join("sqlite").join("cork.db").display()))];
            let mut ceiling_pg = None;
            if let Some(server) = &self.cli.postgres {
                let cork_db = format!("cork_bench_{}", std::process::id());
                let ceiling_db = format!("{cork_db}_ceiling");
                for db in [&cork_db, &ceiling_db] {
                    admin(server, &format!("CREATE DATABASE {db}")).await?;
                    databases.push(db.clone());
                }
                backends.push(("PostgreSQL", format!("{}/{cork_db}", server.trim_end_matches('/'))));
                ceiling_pg = Some(format!("{}/{ceiling_db}", server.trim_end_matches('/')));
            }
            self.ceiling(&scratch, ceiling_pg, &mut table).await?;
            for (label, database) in backends {
                let data = scratch.join(label.to_ascii_lowercase());
                std::fs::create_dir_all(&data)?;
                if label == "SQLite" {
                    std::fs::create_dir_all(data.join("sqlite")).ok();
                }
                let cork = Cork { binary: binary.clone(), data, database, label };
                self.backend(&cork, &mut table, &mut notes).await.with_context(|| format!("the {label} run"))?;
            }
            anyhow::Ok(())
        }
        .await;
        if let Some(server) = &self.cli.postgres {
            for db in &databases {
                let _ = admin(server, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await;
            }
        }
        outcome?;
        let mut columns = vec![("Cork SQLite", "SQLite")];
        if self.cli.postgres.is_some() {
            columns.push(("Cork PostgreSQL", "PostgreSQL"));
        }
        table.ratios(&columns);
        let report = self.report(&table, &notes)?;
        write_report(&self.cli.out, &report)?;
        println!("{report}");
        let _ = std::fs::remove_dir_all(&scratch);
        Ok(())
    }

    async fn ceiling(&self, scratch: &Path, postgres: Option<String>, table: &mut Table) -> Result<()> {
        let addr = free_addr()?;
        let mut command = Command::new(std::env::current_exe()?);
        command.args(["ceiling", "--listen", &addr.to_string(), "--sqlite", &scratch.join("ceiling.db").display().to_string()]);
        if let Some(url) = &postgres {
            command.args(["--postgres", url]);
        }
        let ceiling = Process(command.stdout(Stdio::null()).spawn()?);
        wait_ready(addr, "/noop", Duration::from_secs(30)).await?;
        eprintln!("ceiling: trivial handler, 64 connections");
        let noop = self.load(addr, 64, self.phase(), Arc::new(|_, _| Call::get("/noop".into()))).await;
        table.set("`GET /1/cards/{id}`, 64 connections", "ceiling", format!("{} (a trivial axum handler)", throughput(&noop)));
        table.keep("card get", "ceiling", noop.per_second());
        for (clients, measure) in [
            (1, "card create, 1 client, one board"),
            (16, "card create, 16 clients, one board"),
            (64, "card create, 64 clients, one board"),
        ] {
            eprintln!("ceiling: SQLite two-row insert, {clients} clients");
            let stats = self
                .load(addr, clients, self.phase(), Arc::new(|_, _| Call { method: "POST", target: "/sqlite".into(), body: None }))
                .await;
            let mut figure = format!("SQLite {}", throughput(&stats));
            if clients == 64 {
                table.keep("create 64", "SQLite", stats.per_second());
            }
            if postgres.is_some() {
                let pg = self
                    .load(addr, clients, self.phase(), Arc::new(|_, _| Call { method: "POST", target: "/postgres".into(), body: None }))
                    .await;
                figure.push_str(&format!("; PostgreSQL {}", throughput(&pg)));
                if clients == 64 {
                    table.keep("create 64", "PostgreSQL", pg.per_second());
                }
            }
            table.set(measure, "ceiling", format!("{figure} (one two-row transaction per request)"));
        }
        drop(ceiling);
        if !self.cli.no_callgrind {
            let (noop, insert) = self.ceiling_instructions(scratch).await?;
            table.set("instructions per request: card GET", "ceiling", format!("{noop:.0} (trivial handler)"));
            table.set("instructions per request: card create", "ceiling", format!("{insert:.0} (SQLite two-row insert)"));
            table.keep("instr get", "ceiling", noop);
            table.keep("instr create", "ceiling", insert);
        }
        Ok(())
    }

    async fn ceiling_instructions(&self, scratch: &Path) -> Result<(f64, f64)> {
        let addr = free_addr()?;
        let out = scratch.join("callgrind-ceiling");
        std::fs::create_dir_all(&out)?;
        let mut command = Command::new("valgrind");
        command
            .args(["--tool=callgrind", &format!("--callgrind-out-file={}/cg.%p", out.display())])
            .arg(std::env::current_exe()?)
            .args(["ceiling", "--listen", &addr.to_string(), "--sqlite", &scratch.join("ceiling-cg.db").display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let process = Process(command.spawn().context("valgrind (is it installed?)")?);
        wait_ready(addr, "/noop", Duration::from_secs(300)).await?;
        let noop = self.instructions(&process, &out, addr, 500, Arc::new(|_, _| Call::get("/noop".into()))).await?;
        let insert = self
            .instructions(&process, &out, addr, 200, Arc::new(|_, _| Call { method: "POST", target: "/sqlite".into(), body: None }))
            .await?;
        Ok((noop, insert))
    }

    /// Instructions per request of `count` requests sent one after another to a server
    /// running under callgrind: counters zeroed before, dumped after.
    async fn instructions(&self, process: &Process, out: &Path, addr: SocketAddr, count: u64, workload: Workload) -> Result<f64> {
        // A few requests first, so lazily built state is not counted.
        self.load(addr, 1, Length::Count(3), workload.clone()).await;
        callgrind_control(&["-z", &process.pid().to_string()])?;
        let stats = self.load(addr, 1, Length::Count(count), workload).await;
        let before: Vec<PathBuf> = dumps(out)?;
        callgrind_control(&["-d", &process.pid().to_string()])?;
        let mut dump = None;
        for _ in 0..100 {
            dump = dumps(out)?.into_iter().find(|p| !before.contains(p));
            if dump.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let dump = dump.context("callgrind wrote no dump")?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let text = std::fs::read_to_string(&dump)?;
        let total: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no totals in the callgrind dump")?;
        *self.last_dump.lock().expect("last dump") = Some((dump, stats.requests));
        Ok(total / stats.requests.max(1) as f64)
    }

    /// Writes the self cost of the last counted phase (its top 40 functions) to
    /// docs/profiles/<name>.txt, beside the report: evidence of where the instructions
    /// go, from the same run as the table.
    fn keep_profile(&self, name: &str, what: &str) -> Result<()> {
        let Some((dump, requests)) = self.last_dump.lock().expect("last dump").take() else { return Ok(()) };
        let (total, functions) = self_cost(&std::fs::read_to_string(&dump)?);
        let dir = self.cli.out.parent().unwrap_or(Path::new(".")).join("profiles");
        std::fs::create_dir_all(&dir)?;
        let per = requests.max(1);
        let mut out = format!(
            "{what}: callgrind self cost of {requests} requests sent one after another, counters zeroed after warm-up \
             (run of {}, git {}; written by scripts/bench). Instructions are the whole server process.\n\n\
             total {total}, {} per request\n\n  share  per request  function\n",
            today(),
            git_head(),
            total / per
        );
        for (function, cost) in functions.iter().take(40) {
            out.push_str(&format!("{:6.1}% {:12}  {function}\n", 100.0 * *cost as f64 / total.max(1) as f64, cost / per));
        }
        std::fs::write(dir.join(format!("{name}.txt")), out)?;
        Ok(())
    }

    async fn backend(&self, cork: &Cork, table: &mut Table, notes: &mut Vec<String>) -> Result<()> {
        let column = format!("Cork {}", cork.label);
        let column = column.as_str();
        cork.cli(&["user", "create", "bench"])?;
        let members: Vec<String> = ["ann", "ben", "cat"]
            .iter()
            .map(|name| -> Result<String> {
                cork.cli(&["user", "create", name])?;
                let issued: Value = serde_json::from_str(&cork.cli(&["token", "create", "--user", name])?)?;
                Ok(issued["idMember"].as_str().unwrap_or_default().to_string())
            })
            .collect::<Result<_>>()?;
        let issued: Value = serde_json::from_str(&cork.cli(&["token", "create", "--user", "bench"])?)?;
        let (key, token) =
            (issued["key"].as_str().unwrap_or_default().to_string(), issued["token"].as_str().unwrap_or_default().to_string());
        let auth = format!("key={key}&token={token}");
        let (server, addr) = cork.serve(&[]).await?;
        let (idle, _) = server.memory();
        let api = Api::new(addr, &key, &token);
        eprintln!("{}: building boards through the API", cork.label);
        let started = Instant::now();
        let mut sizes = vec![100usize, 1000];
        if !self.cli.quick {
            sizes.push(5000);
        }
        let mut boards = HashMap::new();
        for size in &sizes {
            boards.insert(*size, seed_board(&api, &format!("Board of {size}"), *size, &members).await?);
        }
        notes.push(format!(
            "{}: boards of {:?} cards built through the API in {:.0} s.",
            cork.label,
            sizes,
            started.elapsed().as_secs_f64()
        ));
        let big = boards[&1000].clone();
        let view =
            |board: &str| with_auth(&format!("/1/boards/{board}?lists=open&cards=open&labels=all&checklists=all&members=all"), &auth);
        for size in &sizes {
            let target = view(&boards[size].id);
            eprintln!("{}: board view of {size} cards, 1 client", cork.label);
            let stats = self.load(addr, 1, self.phase(), Arc::new(move |_, _| Call::get(target.clone()))).await;
            table.set(&format!("board view, {size} cards, 1 client"), column, latency(&stats));
        }
        let target = view(&big.id);
        eprintln!("{}: board view of 1000 cards, 16 clients", cork.label);
        let stats = self.load(addr, 16, self.phase(), Arc::new(move |_, _| Call::get(target.clone()))).await;
        table.set("board view, 1000 cards, 16 clients", column, throughput(&stats));

        let cards = Arc::new(big.cards.clone());
        let card_get: Workload = {
            let (cards, auth) = (cards.clone(), auth.clone());
            Arc::new(move |client, n| {
                Call::get(with_auth(&format!("/1/cards/{}", cards[(client * 7919 + n as usize) % cards.len()]), &auth))
            })
        };
        eprintln!("{}: card GET, 64 connections", cork.label);
        let stats = self.load(addr, 64, self.phase(), card_get.clone()).await;
        table.set("`GET /1/cards/{id}`, 64 connections", column, throughput(&stats));
        table.keep("card get", column, stats.per_second());

        let create_on = |lists: Vec<Vec<String>>| card_creates(lists, &auth, "Load");
        // Creates go to a board of their own, so that the 1,000-card board keeps 1,000
        // cards for every later read (and the instruction count of its view).
        let writes = seed_board(&api, "Writes", 0, &[]).await?.lists;
        for clients in [1, 16, 64] {
            eprintln!("{}: card create, {clients} clients, one board", cork.label);
            let stats = self.load(addr, clients, self.phase(), create_on(vec![writes.clone()])).await;
            if clients == 64 {
                table.keep("create 64", column, stats.per_second());
            }
            table.set(
                &format!("card create, {clients} client{}, one board", if clients == 1 { "" } else { "s" }),
                column,
                throughput(&stats),
            );
        }
        // Eight more boards to spread over.
        let mut spread = Vec::new();
        for n in 0..8 {
            spread.push(seed_board(&api, &format!("Spread {n}"), 0, &[]).await?.lists);
        }
        for clients in [16, 64] {
            eprintln!("{}: card create, {clients} clients, over 8 boards", cork.label);
            let stats = self.load(addr, clients, self.phase(), create_on(spread.clone())).await;
            table.set(&format!("card create, {clients} clients, over 8 boards"), column, throughput(&stats));
        }
        let moves: Workload = {
            let (cards, lists, auth) = (cards.clone(), big.lists.clone(), auth.clone());
            Arc::new(move |client, n| {
                let card = &cards[(client * 131 + n as usize * 17) % cards.len()];
                Call::with_json(
                    "PUT",
                    with_auth(&format!("/1/cards/{card}"), &auth),
                    json!({"idList": lists[(client + n as usize) % 5], "pos": "top"}),
                )
            })
        };
        for clients in [1, 16, 64] {
            eprintln!("{}: card move, {clients} clients", cork.label);
            let stats = self.load(addr, clients, self.phase(), moves.clone()).await;
            table.set(
                &format!("card move, {clients} client{}, one board", if clients == 1 { "" } else { "s" }),
                column,
                throughput(&stats),
            );
        }
        let comments: Workload = {
            let (cards, auth) = (cards.clone(), auth.clone());
            Arc::new(move |client, n| {
                let card = &cards[(client * 31 + n as usize) % cards.len()];
                Call::with_json(
                    "POST",
                    with_auth(&format!("/1/cards/{card}/actions/comments"), &auth),
                    json!({"text": format!("load comment {n}")}),
                )
            })
        };
        for clients in [1, 16, 64] {
            eprintln!("{}: comments, {clients} clients, one board", cork.label);
            let stats = self.load(addr, clients, self.phase(), comments.clone()).await;
            table.set(&format!("comment, {clients} client{}, one board", if clients == 1 { "" } else { "s" }), column, throughput(&stats));
        }
        // Moves and comments over the eight boards: their first card of each list.
        let spread_cards: Vec<(String, Vec<String>)> = {
            let mut cards = Vec::new();
            for lists in &spread {
                for list in lists {
                    let card = api.post("/1/cards", json!({"idList": list, "name": "Spread card"})).await?;
                    cards.push((id(&card), lists.clone()));
                }
            }
            cards
        };
        let spread_cards = Arc::new(spread_cards);
        let spread_moves: Workload = {
            let (cards, auth) = (spread_cards.clone(), auth.clone());
            Arc::new(move |client, n| {
                let (card, lists) = &cards[(client * 7 + n as usize * 3) % cards.len()];
                Call::with_json(
                    "PUT",
                    with_auth(&format!("/1/cards/{card}"), &auth),
                    json!({"idList": lists[(client + n as usize) % lists.len()], "pos": "top"}),
                )
            })
        };
        let spread_comments: Workload = {
            let (cards, auth) = (spread_cards.clone(), auth.clone());
            Arc::new(move |client, n| {
                let (card, _) = &cards[(client * 5 + n as usize) % cards.len()];
                Call::with_json(
                    "POST",
                    with_auth(&format!("/1/cards/{card}/actions/comments"), &auth),
                    json!({"text": format!("spread comment {n}")}),
                )
            })
        };
        for clients in [16, 64] {
            eprintln!("{}: card move, {clients} clients, over 8 boards", cork.label);
            let stats = self.load(addr, clients, self.phase(), spread_moves.clone()).await;
            table.set(&format!("card move, {clients} clients, over 8 boards"), column, throughput(&stats));
            eprintln!("{}: comments, {clients} clients, over 8 boards", cork.label);
            let stats = self.load(addr, clients, self.phase(), spread_comments.clone()).await;
            table.set(&format!("comment, {clients} clients, over 8 boards"), column, throughput(&stats));
        }
        let search: Workload = {
            let auth = auth.clone();
            Arc::new(move |_, n| {
                Call::get(with_auth(&format!("/1/search?query=card%20{}&modelTypes=cards&cards_limit=10", n % 1000), &auth))
            })
        };
        eprintln!("{}: search, 16 clients", cork.label);
        let stats = self.load(addr, 16, self.phase(), search).await;
        table.set("search, 16 clients", column, throughput(&stats));
        let batch: Workload = {
            let (cards, lists, auth) = (cards.clone(), big.lists.clone(), auth.clone());
            Arc::new(move |_, n| {
                let n = n as usize;
                let urls = format!("/cards/{},/cards/{},/lists/{}", cards[n % cards.len()], cards[(n + 7) % cards.len()], lists[n % 5]);
                Call::get(with_auth(&format!("/1/batch?urls={urls}"), &auth))
            })
        };
        eprintln!("{}: batch of three, 16 clients", cork.label);
        let stats = self.load(addr, 16, self.phase(), batch).await;
        table.set("batch (3 reads), 16 clients", column, throughput(&stats));

        eprintln!("{}: webhook backlog drain", cork.label);
        let figure = self.webhook_drain(&api, addr, &auth, if self.cli.quick { 1000 } else { 4000 }, 8).await?;
        table.set("webhook backlog drain, 8 webhooks, fast receiver", column, figure);
        for (rate, webhooks) in [(200u64, 1usize), (1000, 50)] {
            eprintln!("{}: webhook lag at {rate} actions/s over {webhooks} webhook(s)", cork.label);
            let figure = self.webhook_lag(&api, addr, &auth, rate, webhooks).await?;
            table.set(
                &format!(
                    "webhook lag, write ack → receiver, {rate} actions/s over {webhooks} webhook{}",
                    if webhooks == 1 { "" } else { "s" }
                ),
                column,
                figure,
            );
        }

        if !self.cli.quick {
            // The grown database: the same reads and a create, after many more cards
            // elsewhere: some through the API, then copies of those by SQL.
            let one = Length::Time(Duration::from_secs(self.cli.seconds.min(3)));
            let target = view(&big.id);
            let board_view: Workload = Arc::new(move |_, _| Call::get(target.clone()));
            let small = (
                self.load(addr, 1, one, create_on(vec![writes.clone()])).await,
                self.load(addr, 1, one, card_get.clone()).await,
                self.load(addr, 1, one, board_view.clone()).await,
            );
            eprintln!("{}: growing the database by {} cards through the API", cork.label, self.cli.grow);
            let per = (self.cli.grow / 16).max(1) as u64;
            self.load(addr, 16, Length::Count(per), create_on(spread.clone())).await;
            eprintln!("{}: copying cards by SQL up to {} in all", cork.label, self.cli.grow_to);
            let copying = Instant::now();
            let held = grow::bulk_grow(&cork.database, &spread.concat(), self.cli.grow_to).await?;
            notes.push(format!(
                "{}: the grown database: {} cards through the API, then copied by SQL to {held} cards in {:.0} s.",
                cork.label,
                self.cli.grow,
                copying.elapsed().as_secs_f64()
            ));
            let large = (
                self.load(addr, 1, one, create_on(vec![writes.clone()])).await,
                self.load(addr, 1, one, card_get.clone()).await,
                self.load(addr, 1, one, board_view).await,
            );
            table.set(
                "card create, 1 client: database as built → grown",
                column,
                format!("{:.0}/s → {:.0}/s ({held} cards)", small.0.per_second(), large.0.per_second()),
            );
            table.set(
                "card GET p50, 1 client: database as built → grown",
                column,
                format!("{} → {}", ms(small.1.p50_us), ms(large.1.p50_us)),
            );
            table.set(
                "board view of 1000 cards p50, 1 client: database as built → grown",
                column,
                format!("{} → {}", ms(small.2.p50_us), ms(large.2.p50_us)),
            );
        }
        if self.cli.soak > 0 && !self.cli.quick {
            // A mixed load (half reads, a quarter creates, a quarter moves) for `soak`
            // seconds; the resident set is read after each tenth of it.
            let mixed: Workload = {
                let (get, create, moves) = (card_get.clone(), create_on(vec![writes.clone()]), moves.clone());
                Arc::new(move |client, n| match n % 4 {
                    0 => create(client, n),
                    1 => moves(client, n),
                    _ => get(client, n),
                })
            };
            eprintln!("{}: soak of {} s", cork.label, self.cli.soak);
            let mut samples = vec![server.memory().0];
            let mut requests = 0;
            for _ in 0..10 {
                let stats = self.load(addr, 16, Length::Time(Duration::from_secs(self.cli.soak / 10)), mixed.clone()).await;
                requests += stats.requests;
                samples.push(server.memory().0);
            }
            let shown: Vec<String> = samples.iter().map(|mb| format!("{mb:.0}")).collect();
            table.set(
                &format!("RSS over a {}-minute soak (16 clients, mixed), MB at each tenth", self.cli.soak / 60),
                column,
                format!("{} ({requests} requests)", shown.join(" → ")),
            );
        }
        let (_, peak) = server.memory();
        table.set("RSS idle → peak", column, format!("{idle:.0} MB → {peak:.0} MB"));
        drop(server);

        if !self.cli.no_callgrind {
            eprintln!("{}: instructions per request (callgrind)", cork.label);
            let out = cork.data.join("callgrind");
            std::fs::create_dir_all(&out)?;
            let wrapper =
                vec!["valgrind".to_string(), "--tool=callgrind".to_string(), format!("--callgrind-out-file={}/cg.%p", out.display())];
            let (server, addr) = cork.serve(&wrapper).await?;
            let target = view(&big.id);
            let backend = cork.label.to_ascii_lowercase();
            let board = self.instructions(&server, &out, addr, 10, Arc::new(move |_, _| Call::get(target.clone()))).await?;
            self.keep_profile(&format!("board-view-{backend}"), &format!("Board view of 1,000 cards, {}", cork.label))?;
            let card = self.instructions(&server, &out, addr, 200, card_get.clone()).await?;
            self.keep_profile(&format!("card-get-{backend}"), &format!("GET /1/cards/{{id}}, {}", cork.label))?;
            let create = self.instructions(&server, &out, addr, 100, create_on(vec![writes.clone()])).await?;
            self.keep_profile(&format!("card-create-{backend}"), &format!("Card create (POST /1/cards), {}", cork.label))?;
            table.set("instructions per request: board view, 1000 cards", column, format!("{:.1} M", board / 1e6));
            table.set("instructions per request: card GET", column, format!("{:.0}", card));
            table.set("instructions per request: card create", column, format!("{:.0}", create));
            table.keep("instr get", column, card);
            table.keep("instr create", column, create);
        }
        Ok(())
    }

    /// Queues `total` deliveries over `webhooks` webhooks while the receiver holds its
    /// first answers, then lets it answer and times the drain of the backlog.
    async fn webhook_drain(&self, api: &Api, addr: SocketAddr, auth: &str, total: u64, webhooks: usize) -> Result<String> {
        let arrived = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (open, gate) = tokio::sync::watch::channel(false);
        let receiver = {
            let arrived = arrived.clone();
            axum::Router::new().fallback(move |method: axum::http::Method| {
                let (arrived, mut gate) = (arrived.clone(), gate.clone());
                async move {
                    if method == axum::http::Method::POST {
                        let _ = gate.wait_for(|open| *open).await;
                        arrived.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    axum::http::StatusCode::OK
                }
            })
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let callback = format!("http://{}/drain", listener.local_addr()?);
        let serving = tokio::spawn(async move { axum::serve(listener, receiver).await });
        let mut lists = Vec::new();
        let mut made = Vec::new();
        for n in 0..webhooks {
            let board = api.post("/1/boards", json!({"name": format!("Drain {n}"), "defaultLists": false})).await?;
            lists.push(vec![id(&api.post("/1/lists", json!({"idBoard": id(&board), "name": "Inbox"})).await?)]);
            made.push(id(&api
                .post("/1/webhooks", json!({"callbackURL": callback, "idModel": id(&board), "description": "drain"}))
                .await?));
        }
        let auth = auth.to_string();
        let create: Workload = Arc::new(move |client, n| {
            let list = &lists[client % lists.len()][0];
            Call::with_json("POST", with_auth("/1/cards", &auth), json!({"idList": list, "name": format!("Drain {client}.{n}")}))
        });
        let writes = self.load(addr, 16, Length::Count(total / 16), create).await;
        let queued = writes.requests - writes.errors;
        let started = Instant::now();
        let _ = open.send(true);
        while arrived.load(std::sync::atomic::Ordering::Relaxed) < queued && started.elapsed() < Duration::from_secs(120) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let took = started.elapsed().as_secs_f64();
        let delivered = arrived.load(std::sync::atomic::Ordering::Relaxed);
        serving.abort();
        for webhook in &made {
            api.send(reqwest::Method::DELETE, &format!("/1/webhooks/{webhook}"), Value::Null).await?;
        }
        Ok(format!("{:.0} deliveries/s ({delivered} of {queued} queued delivered in {took:.2} s)", delivered as f64 / took))
    }

    /// Writes at a steady `rate` spread over `webhooks` boards, each with a webhook to a
    /// receiver here; the lag is from each write's answer to its delivery's arrival.
    async fn webhook_lag(&self, api: &Api, addr: SocketAddr, auth: &str, rate: u64, webhooks: usize) -> Result<String> {
        let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let receiver = {
            let arrived = arrived.clone();
            axum::Router::new().fallback(move |method: axum::http::Method, body: bytes::Bytes| {
                let arrived = arrived.clone();
                async move {
                    if method == axum::http::Method::POST {
                        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        if let Some(name) = value["action"]["data"]["card"]["name"].as_str() {
                            arrived.lock().expect("arrivals").entry(name.to_string()).or_insert_with(Instant::now);
                        }
                    }
                    axum::http::StatusCode::OK
                }
            })
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let callback = format!("http://{}/hook", listener.local_addr()?);
        let serving = tokio::spawn(async move { axum::serve(listener, receiver).await });
        let mut lists = Vec::new();
        let mut webhooks_made = Vec::new();
        for n in 0..webhooks {
            let board = api.post("/1/boards", json!({"name": format!("Hooked {rate}.{n}"), "defaultLists": false})).await?;
            let list = api.post("/1/lists", json!({"idBoard": id(&board), "name": "Inbox"})).await?;
            let webhook = api.post("/1/webhooks", json!({"callbackURL": callback, "idModel": id(&board), "description": "bench"})).await?;
            webhooks_made.push(id(&webhook));
            lists.push(id(&list));
        }
        let seconds = if self.cli.quick { 3 } else { self.cli.seconds.max(5) };
        let total = rate * seconds;
        let auth = auth.to_string();
        let acked: Vec<(String, Option<Instant>)> = self
            .on_generator(move |g| {
                g.block_on(async move {
                    let http = reqwest::Client::new();
                    let mut ticks = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
                    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    let mut sends = Vec::new();
                    for n in 0..total {
                        ticks.tick().await;
                        let (http, list, auth) = (http.clone(), lists[n as usize % lists.len()].clone(), auth.clone());
                        let name = format!("lag-{rate}-{n}");
                        sends.push(tokio::spawn(async move {
                            let url = format!("http://{addr}/1/cards?{auth}");
                            let ok =
                                http.post(url).json(&json!({"idList": list, "name": name})).send().await.map(|r| r.status().is_success());
                            (name, matches!(ok, Ok(true)).then(Instant::now))
                        }));
                    }
                    let mut acked = Vec::new();
                    for send in sends {
                        if let Ok(done) = send.await {
                            acked.push(done);
                        }
                    }
                    acked
                })
            })
            .await;
        let sent_for = Instant::now();
        let expected = acked.iter().filter(|(_, at)| at.is_some()).count();
        // Wait for the deliveries (at most 60 s after the last write).
        while arrived.lock().expect("arrivals").len() < expected && sent_for.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        serving.abort();
        // Deliveries still queued would go on (and be retried) through the phases after
        // this one: deleting the webhooks drops them, so each phase is measured alone.
        for webhook in &webhooks_made {
            api.send(reqwest::Method::DELETE, &format!("/1/webhooks/{webhook}"), Value::Null).await?;
        }
        let arrivals = arrived.lock().expect("arrivals").clone();
        let mut histogram = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
        // The lag of the first and the last tenth of the writes, in the order they were
        // sent: flat when deliveries keep up, growing when they fall behind.
        let lags: Vec<u64> = acked
            .iter()
            .filter_map(|(name, at)| Some(arrivals.get(name)?.saturating_duration_since((*at)?).as_micros().max(1) as u64))
            .collect();
        for lag in &lags {
            let _ = histogram.record(*lag);
        }
        let tenth = (lags.len() / 10).max(1);
        let median = |part: &[u64]| {
            let mut part = part.to_vec();
            part.sort_unstable();
            part.get(part.len() / 2).copied().unwrap_or(0)
        };
        let (first, last) = (median(&lags[..tenth.min(lags.len())]), median(&lags[lags.len().saturating_sub(tenth)..]));
        Ok(format!(
            "p50 {}, p99 {} ({} of {} writes acknowledged, {} delivered; p50 of the first tenth {}, of the last {})",
            ms(histogram.value_at_quantile(0.5)),
            ms(histogram.value_at_quantile(0.99)),
            expected,
            total,
            histogram.len(),
            ms(first),
            ms(last)
        ))
    }

    fn report(&self, table: &Table, notes: &[String]) -> Result<String> {
        let mut columns: Vec<String> = vec!["Cork SQLite".into()];
        if self.cli.postgres.is_some() {
            columns.push("Cork PostgreSQL".into());
        }
        columns.push("ceiling".into());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
            .unwrap_or_else(|| "unknown CPU".into());
        let rustc = Command::new("rustc")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
        let mut out = String::new();
        out.push_str(&format!(
            "Run of {} (git {}), {} cores ({cpu}), Linux {kernel}, {rustc}, release build; the load generator pinned to core {} \
             (Cork and the ceiling unpinned). Command: `scripts/bench{}{}`.\n\n",
            today(),
            git_head(),
            self.cores,
            self.cores.saturating_sub(1),
            if self.cli.quick { " --quick" } else { "" },
            if self.cli.postgres.is_some() { " --postgres postgres://postgres@127.0.0.1:5432" } else { "" },
        ));
        out.push_str(&format!("| measure | {} |\n|---|{}\n", columns.join(" | "), "---|".repeat(columns.len())));
        for (measure, figures) in &table.rows {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| figures.iter().find(|(column, _)| column == c).map(|(_, f)| f.clone()).unwrap_or_default())
                .collect();
            out.push_str(&format!("| {measure} | {} |\n", cells.join(" | ")));
        }
        for note in notes {
            out.push_str(&format!("\n{note}"));
        }
        out.push('\n');
        Ok(out)
    }
}

fn today() -> String {
    Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The commit checked out when the run began (read once: the tree may move on while a
/// long run goes, and the binaries measured are the ones built at the start).
fn git_head() -> String {
    static HEAD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HEAD.get_or_init(|| {
        Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    })
    .clone()
}

const BEGIN: &str = "<!-- cork-bench:begin -->";
const END: &str = "<!-- cork-bench:end -->";

/// Replaces the part of `path` between the markers (appends it when they are missing).
fn write_report(path: &Path, report: &str) -> Result<()> {
    write_part(path, BEGIN, END, report)
}

/// Replaces the part of the report at `path` between `begin` and `end` (appended when
/// missing).
fn write_part(path: &Path, begin: &str, end: &str, report: &str) -> Result<()> {
    let current = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let block = format!("{begin}\n{report}{end}");
    let next = match (current.find(begin), current.find(end)) {
        (Some(start), Some(stop)) if stop > start => format!("{}{block}{}", &current[..start], &current[stop + end.len()..]),
        _ => format!("{}\n{block}\n", current.trim_end()),
    };
    std::fs::write(path, next).with_context(|| format!("writing {}", path.display()))
}

fn callgrind_control(args: &[&str]) -> Result<()> {
    let status = Command::new("callgrind_control").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
    if !status.success() {
        bail!("callgrind_control {args:?} failed");
    }
    Ok(())
}

/// The self cost of each function in a callgrind dump (name compression and inlined
/// files followed; the cost lines after a `calls=` line are the callee's, not counted),
/// most costly first, with the total.
fn self_cost(dump: &str) -> (u64, Vec<(String, u64)>) {
    let mut names: HashMap<String, String> = HashMap::new();
    let mut costs: HashMap<String, u64> = HashMap::new();
    let mut current = String::new();
    let mut after_call = false;
    let mut total = 0u64;
    let mut resolve = |spec: &str| -> String {
        // "(12) name" defines, "(12)" refers, a bare name is itself.
        match spec.strip_prefix('(').and_then(|rest| rest.split_once(')')) {
            Some((id, rest)) if !rest.trim().is_empty() => {
                names.insert(id.to_string(), rest.trim().to_string());
                rest.trim().to_string()
            }
            Some((id, _)) => names.get(id).cloned().unwrap_or_default(),
            None => spec.to_string(),
        }
    };
    for line in dump.lines() {
        if let Some(spec) = line.strip_prefix("fn=") {
            current = resolve(spec);
        } else if let Some(spec) = line.strip_prefix("cfn=") {
            resolve(spec);
        } else if line.starts_with("calls=") {
            after_call = true;
        } else if line.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-' || c == '*') {
            if after_call {
                after_call = false;
                continue;
            }
            if let Some(cost) = line.split_whitespace().nth(1).and_then(|c| c.parse::<u64>().ok()) {
                *costs.entry(current.clone()).or_default() += cost;
                total += cost;
            }
        }
    }
    let mut sorted: Vec<(String, u64)> = costs.into_iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.1));
    (total, sorted)
}

fn dumps(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(std::fs::read_dir(dir)?.flatten().map(|e| e.path()).collect())
}

/// Runs one statement on the PostgreSQL server's `postgres` database.
async fn admin(server: &str, statement: &str) -> Result<()> {
    use sqlx::Connection as _;
    let url = format!("{}/postgres", server.trim_end_matches('/'));
    let mut connection = sqlx::PgConnection::connect(&url).await.with_context(|| format!("connecting to {url}"))?;
    sqlx::query(statement).execute(&mut connection).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::self_cost;

    #[test]
    fn self_cost_counts_own_lines_and_skips_the_costs_of_calls() {
        let dump = "events: Ir\nfn=(1) main\n0 10\ncfn=(2) work\ncalls=1 0\n0 500\n+1 5\nfn=(2)\n0 300\nfn=(3) idle\n0 1\n";
        let (total, functions) = self_cost(dump);
        assert_eq!(total, 316);
        assert_eq!(functions, vec![("work".to_string(), 300), ("main".to_string(), 15), ("idle".to_string(), 1)]);
    }
}
