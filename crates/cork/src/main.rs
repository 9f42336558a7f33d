//! `cork`: the command line. It parses arguments and calls into the library crates.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use cork_api::{ApiConfig, App};
use cork_core::files::FileStore;
use cork_core::Cork;
use cork_store::Store;

mod import;
mod mirror;

#[derive(Parser)]
#[command(name = "cork", version, about = "A self-hosted work-board server that speaks the Trello REST API v1")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as text, or as one JSON object each (with the request id, route and
    /// status of each request; `CORK_LOG=info` turns on one line per request).
    #[arg(long, global = true, env = "CORK_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve(ServeArgs),
    /// Manage members.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage application keys (an application's key and secret).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage Power-Ups (board add-on records).
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Revert everything one token, application key or member did in a period, newest
    /// first, as one transaction; a later edit by someone else is kept and reported.
    /// Prints the report (JSON).
    #[command(group(clap::ArgGroup::new("whose").required(true).args(["token", "key", "member"])))]
    Rollback {
        /// A token's id (as GET /1/tokens/{token} shows it).
        #[arg(long)]
        token: Option<String>,
        /// An application key.
        #[arg(long)]
        key: Option<String>,
        /// A member's username or id.
        #[arg(long)]
        member: Option<String>,
        /// From this date (or after this action id).
        #[arg(long)]
        since: String,
        /// Until this date (or action id), exclusive.
        #[arg(long)]
        before: Option<String>,
        /// Only on this board (id or shortLink).
        #[arg(long)]
        board: Option<String>,
        /// The member the reverts are made as (needs write access to the boards).
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
        /// Report what would be reverted, and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Print the access audit (token issuance, revoked-token uses, 401s and 429s) as
    /// JSON lines, oldest first.
    #[command(args_conflicts_with_subcommands = true)]
    Audit {
        #[command(subcommand)]
        command: Option<AuditCommand>,
        /// How many events (at most 1000): the newest, or with --since the first after it.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Only events after this date (or event id); page on with the last id printed.
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Inspect webhook deliveries and send them again.
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
    /// Review the change requests that board gates and source-of-truth rules hold: list,
    /// show, approve (applies the held request once, as its requester) or reject. Acts as
    /// a board admin (`--as`), through the same checks as `/cork/changeRequests`.
    Changes {
        #[command(subcommand)]
        command: ChangesCommand,
    },
    /// Import Trello board exports (a board's "Export as JSON"), keeping their ids: each
    /// file in one transaction, a second import of the same file updating in place. Works
    /// while a server runs on the same database. Exits non-zero when a file was not imported.
    Import {
        /// Export files (JSON), imported in turn.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The workspace (name or id) the boards are filed under.
        #[arg(long)]
        workspace: Option<String>,
        /// A JSON object mapping Trello member ids or usernames to Cork usernames; other
        /// members are matched by id, username or email, or made placeholders.
        #[arg(long, value_name = "FILE")]
        member_map: Option<PathBuf>,
        /// Import nothing from a file in which any item would be skipped.
        #[arg(long)]
        strict: bool,
        /// `json`: one JSON object per file on stdout; `text`: a table.
        #[arg(long, value_parser = ["text", "json"], default_value = "text")]
        report: String,
        /// Make this Cork member an admin of every imported board.
        #[arg(long, value_name = "USERNAME")]
        admin: Option<String>,
        /// With --trello-token: download uploaded files from their source (Trello, or
        /// another Cork) with these credentials, instead of keeping them as links.
        #[arg(long, requires = "trello_token", env = "CORK_TRELLO_KEY")]
        trello_key: Option<String>,
        #[arg(long, requires = "trello_key", env = "CORK_TRELLO_TOKEN", hide_env_values = true)]
        trello_token: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Seal every app secret again with the current key, after a rotation (new key in
    /// CORK_SECRET_KEY or secret.key, the old one in CORK_SECRET_KEY_PREVIOUS).
    /// Prints the count (JSON).
    SecretsRewrap {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Copy the whole instance (every table, the search index, uploaded files) into one
    /// file, consistent while the server runs. Prints the counts (JSON).
    Backup {
        file: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Load a backup into an empty database of either backend (SQLite or PostgreSQL),
    /// as one transaction. Prints the counts (JSON).
    Restore {
        file: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Keep a local board in step with a board on another server that speaks the Trello
    /// API (Trello, or another Cork): the board is imported whole, then the source's
    /// actions are applied in order, each step with its cursor in one transaction, so a
    /// restart resumes where it stopped. The mirrored board refuses every other write.
    /// `cork mirror status` shows every mirror and its lag.
    #[command(args_conflicts_with_subcommands = true)]
    Mirror {
        #[command(subcommand)]
        command: Option<MirrorCommand>,
        #[command(flatten)]
        run: MirrorArgs,
    },
    /// Export a board (id or shortLink) in Trello's export shape, which `cork import`
    /// and Trello importers read. Works while a server runs on the same database.
    Export {
        board: String,
        /// The file to write (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Read as this member (default: one of the board's admins).
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum MirrorCommand {
    /// Every mirror of this instance (JSON, one per line): source, cursor, state, lag.
    Status {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(clap::Args)]
struct MirrorArgs {
    /// The source server's base URL (`https://api.trello.com`, or another Cork's).
    #[arg(long, value_name = "URL")]
    from: Option<String>,
    /// The application key and token the source is read with.
    #[arg(long, env = "CORK_MIRROR_KEY")]
    key: Option<String>,
    #[arg(long, env = "CORK_MIRROR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The source board's id or shortLink.
    #[arg(long)]
    board: Option<String>,
    /// The workspace (name or id) the mirrored board is filed under.
    #[arg(long, value_name = "WORKSPACE")]
    into: Option<String>,
    /// Make this Cork member an admin of the mirrored board (so someone here can open it).
    #[arg(long, value_name = "USERNAME")]
    admin: Option<String>,
    /// Seconds between steps when no webhook wakes the mirror.
    #[arg(long, default_value_t = 10)]
    interval: u64,
    /// Listen here for the source's webhook calls (each wakes the mirror at once).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// The URL the source calls (default: http://ADDR/ of --listen).
    #[arg(long, value_name = "URL", requires = "listen")]
    callback: Option<String>,
    /// Download uploaded files from the source instead of keeping them as links.
    #[arg(long)]
    download_files: bool,
    /// Make (or resume) the mirror, run one step, and exit.
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Subcommand)]
enum ChangesCommand {
    /// The change requests of a board (JSON), newest first.
    List {
        /// A board's id or shortLink.
        #[arg(long)]
        board: String,
        /// Only those in this state.
        #[arg(long, value_parser = ["pending", "applied", "rejected", "expired"])]
        state: Option<String>,
        #[command(flatten)]
        reviewer: Reviewer,
    },
    /// One change request (JSON), with its command and preview.
    Show {
        id: String,
        #[command(flatten)]
        reviewer: Reviewer,
    },
    /// Applies a pending change request once, as its requester.
    Approve {
        id: String,
        /// A note kept with the decision.
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        reviewer: Reviewer,
    },
    /// Refuses a pending change request; nothing is applied.
    Reject {
        id: String,
        /// A note kept with the decision.
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        reviewer: Reviewer,
    },
}

/// Who reviews, and where the data is.
#[derive(clap::Args)]
struct Reviewer {
    /// The board admin who reviews (username).
    #[arg(long = "as", value_name = "USERNAME")]
    as_user: String,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Export every action of a board, workspace, member, token or application key, with
    /// the command, token and key of each, oldest first (NDJSON or CSV on stdout).
    #[command(group(clap::ArgGroup::new("scope").required(true).args(["board", "org", "member", "token", "key"])))]
    Actions {
        /// A board's id or shortLink.
        #[arg(long)]
        board: Option<String>,
        /// A workspace's id or name.
        #[arg(long = "org")]
        org: Option<String>,
        /// A member's username or id.
        #[arg(long)]
        member: Option<String>,
        /// A token's id (as GET /1/tokens/{token} shows it).
        #[arg(long)]
        token: Option<String>,
        /// An application key.
        #[arg(long)]
        key: Option<String>,
        /// Only actions at or after this date (or after this action id).
        #[arg(long)]
        since: Option<String>,
        /// Only actions before this date (or action id).
        #[arg(long)]
        before: Option<String>,
        #[arg(long, default_value = "ndjson", value_parser = ["ndjson", "csv"])]
        format: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// The delivery log of a webhook, newest first (JSON, one delivery per line).
    Deliveries {
        /// The webhook's id.
        id: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Queue a past delivery again (its action as it was, to the webhook's callback).
    Redeliver {
        /// The delivery's id (from `cork webhooks deliveries`).
        delivery: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// A `--since`/`--before` bound: an action id, or a date as the smallest id of its second.
fn id_bound(value: Option<String>) -> anyhow::Result<Option<String>> {
    value.map(|v| cork_core::ids::id_bound(&v).ok_or_else(|| anyhow::anyhow!("not a date or an action id: {v}"))).transpose()
}

/// Where the data lives; shared by every command.
#[derive(Args, Clone)]
struct DataArgs {
    /// Folder for Cork's data: the default SQLite database and uploaded files.
    #[arg(long, env = "CORK_DATA_DIR", default_value = "./cork-data")]
    data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://... (default: SQLite in the data dir).
    #[arg(long, env = "CORK_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
    /// Where uploaded files go: a folder (default: `files` in the data dir), or
    /// `s3://bucket/prefix` for an S3-compatible object store that several nodes share
    /// (endpoint, region and credentials from AWS_ENDPOINT_URL, AWS_REGION,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; AWS_ALLOW_HTTP=true for a plain-HTTP one).
    #[arg(long = "files", id = "file_store", value_name = "FOLDER_OR_S3_URL", env = "CORK_FILES")]
    file_store: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Address to listen on.
    #[arg(long, env = "CORK_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The URL clients reach Cork at (used in urls inside responses).
    #[arg(long, env = "CORK_PUBLIC_URL")]
    public_url: Option<String>,
    /// Largest JSON or form body in bytes.
    #[arg(long, env = "CORK_BODY_LIMIT", default_value_t = 1 << 20)]
    body_limit: usize,
    /// Largest upload (the files of one request) in bytes; larger ones get 413.
    #[arg(long, env = "CORK_UPLOAD_LIMIT", default_value_t = 10 << 20)]
    upload_limit: usize,
    /// Largest Trello export the web board's import takes, in bytes (streamed to a file).
    #[arg(long, env = "CORK_IMPORT_LIMIT", default_value_t = 256 << 20)]
    import_limit: usize,
    /// Append one line per routed request (method, route, status) to this file.
    #[arg(long, env = "CORK_ROUTE_LOG")]
    route_log: Option<PathBuf>,
    /// Let visitors create accounts at /signup (off: members come from `cork user create`).
    #[arg(long, env = "CORK_ALLOW_SIGNUP", value_parser = clap::builder::BoolishValueParser::new())]
    allow_signup: bool,
    /// Count rate limits and sign-in throttles in this Redis, shared by every node
    /// (`redis://host:port/db`); without it each node counts its own.
    #[arg(long, env = "CORK_RATE_STORE")]
    rate_store: Option<String>,
    /// A bearer token that lets a scraper off this machine read /cork/metrics (loopback
    /// scrapers need none).
    #[arg(long, env = "CORK_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Seconds a stopping node keeps accepting after SIGTERM while /cork/ready already
    /// fails, so a balancer that checks readiness stops sending first.
    #[arg(long, env = "CORK_SHUTDOWN_DELAY", default_value_t = 0)]
    shutdown_delay: u64,
    /// Seconds a stopping node (SIGTERM, Ctrl-C) waits for the requests it holds.
    #[arg(long, env = "CORK_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    shutdown_timeout: u64,
    /// Seconds a client has to send a request's head (line and headers) once the
    /// connection is ready for one; a kept-alive connection idle that long is closed.
    #[arg(long, env = "CORK_HEADER_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
    /// Seconds a request body may pause between two reads before the request ends with 408.
    #[arg(long, env = "CORK_BODY_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout: u64,
    /// Connections open at once; past it the one idle longest is closed for a newcomer,
    /// or newcomers wait in the kernel's backlog until one closes.
    #[arg(long, env = "CORK_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Webhook callbacks allowed despite the address policy (which refuses loopback,
    /// private, link-local and metadata addresses): comma-separated hosts and CIDR ranges.
    #[arg(long, env = "CORK_WEBHOOK_ALLOWED_HOSTS", default_value = "")]
    webhook_allowed_hosts: String,
    /// Retries of a failed webhook delivery before it is given up.
    #[arg(long, env = "CORK_WEBHOOK_RETRIES", default_value_t = 3)]
    webhook_retries: u32,
    /// Seconds before the first retry (doubling after each, up to an hour).
    #[arg(long, env = "CORK_WEBHOOK_BACKOFF", default_value_t = 30)]
    webhook_backoff: u64,
    /// Days a webhook may fail without a success before it is set inactive.
    #[arg(long, env = "CORK_WEBHOOK_DISABLE_AFTER_DAYS", default_value_t = 30)]
    webhook_disable_after_days: u64,
    /// Seconds a HEAD check or delivery may take.
    #[arg(long, env = "CORK_WEBHOOK_TIMEOUT", default_value_t = 30)]
    webhook_timeout: u64,
    /// Webhook deliveries in flight to one callback host at a time (one integration's
    /// receiver often takes every webhook it registered).
    #[arg(long, env = "CORK_WEBHOOK_PER_HOST", default_value_t = 4)]
    webhook_per_host: usize,
    /// Do not send webhook deliveries from this node (other nodes on the same
    /// PostgreSQL still do).
    #[arg(long, env = "CORK_WEBHOOK_NO_WORKER", value_parser = clap::builder::BoolishValueParser::new())]
    webhook_no_worker: bool,
    #[command(flatten)]
    rate: RateArgs,
}

/// Trello's rate limits (defaults are Trello's), counted per process.
#[derive(Args, Clone)]
struct RateArgs {
    /// Turn rate limiting off (the x-rate-limit headers are still sent).
    #[arg(long, env = "CORK_RATE_LIMITS_OFF", value_parser = clap::builder::BoolishValueParser::new())]
    rate_limits_off: bool,
    /// Requests per window for one application key.
    #[arg(long, env = "CORK_RATE_KEY_MAX", default_value_t = 300)]
    rate_key_max: u64,
    /// Requests per window for one token.
    #[arg(long, env = "CORK_RATE_TOKEN_MAX", default_value_t = 100)]
    rate_token_max: u64,
    /// The key and token window, in milliseconds.
    #[arg(long, env = "CORK_RATE_WINDOW_MS", default_value_t = 10_000)]
    rate_window_ms: u64,
    /// Requests per member window on the top-level /1/members/{id} route.
    #[arg(long, env = "CORK_RATE_MEMBER_MAX", default_value_t = 100)]
    rate_member_max: u64,
    /// The member route's window, in milliseconds.
    #[arg(long, env = "CORK_RATE_MEMBER_WINDOW_MS", default_value_t = 900_000)]
    rate_member_window_ms: u64,
}

impl RateArgs {
    fn limits(&self) -> cork_api::access::RateLimits {
        cork_api::access::RateLimits {
            enabled: !self.rate_limits_off,
            key_max: self.rate_key_max.max(1),
            token_max: self.rate_token_max.max(1),
            window: std::time::Duration::from_millis(self.rate_window_ms.max(1)),
            member_max: self.rate_member_max.max(1),
            member_window: std::time::Duration::from_millis(self.rate_member_window_ms.max(1)),
            ..Default::default()
        }
    }
}

/// `--board ID[:read|write]` / `--org ID[:read|write]`: one model of a per-board token
/// (read-write unless `:read`).
fn token_model(value: &str, model_type: &str) -> Result<cork_core::model::TokenPermission> {
    let (id, access) = value.rsplit_once(':').unwrap_or((value, "write"));
    let write = match access {
        "read" => false,
        "write" => true,
        _ => bail!("{value}: the access after ':' must be read or write"),
    };
    if !cork_core::ids::is_id(id) {
        bail!("{value}: not a 24-hex id");
    }
    Ok(cork_core::model::TokenPermission { id_model: id.to_ascii_lowercase(), model_type: model_type.into(), read: true, write })
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a member.
    Create {
        username: String,
        #[arg(long)]
        full_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Make the member a Cork administrator (an admin of the instance enterprise).
        /// No member is one unless made so, not even the first.
        #[arg(long)]
        admin: bool,
        /// Read the member's password (for the web login) from the first line of stdin.
        #[arg(long, conflicts_with = "password_env")]
        password_stdin: bool,
        /// Take the password from the CORK_PASSWORD environment variable.
        #[arg(long)]
        password_env: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Set a member's password, read from the first line of stdin.
    Password {
        username: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Make an existing member a Cork administrator, or (--revoke) no longer one.
    Admin {
        username: String,
        #[arg(long)]
        revoke: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Create a Power-Up record that board members can enable; prints its JSON.
    Create {
        name: String,
        /// The Cork administrator creating it.
        #[arg(long)]
        user: String,
        #[arg(long)]
        author: Option<String>,
        /// The add-on's home page.
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        icon_url: Option<String>,
        /// Only listed on boards that enabled it.
        #[arg(long)]
        private: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create an application key for a member; prints JSON with key, secret, idMember, name.
    Create {
        #[arg(long)]
        user: String,
        /// The application's name.
        #[arg(long, default_value = "cork-cli")]
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token for a member; prints JSON with key, token and idMember.
    Create {
        #[arg(long)]
        user: String,
        /// Comma-separated scopes: read, write, account.
        #[arg(long, default_value = "read,write,account")]
        scope: String,
        /// 1hour, 1day, 30days or never.
        #[arg(long, default_value = "never")]
        expiration: String,
        /// The application the token is for (its key is made on first use).
        #[arg(long, default_value = "cork-cli")]
        app: String,
        /// Narrow the token to this board: ID, ID:read or ID:write (repeatable). A token
        /// with --board or --org reaches nothing else.
        #[arg(long = "board", value_name = "ID[:read|write]")]
        boards: Vec<String>,
        /// Narrow the token to this workspace and its boards (repeatable).
        #[arg(long = "org", value_name = "ID[:read|write]")]
        orgs: Vec<String>,
        /// Hold the token's destructive changes, or all its writes, for a board admin's
        /// approval (change requests).
        #[arg(long, value_parser = ["destructive", "writes"])]
        gate: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Creates `dir` (and its parents) readable by the owner alone; an existing one is left
/// as its owner set it.
fn owner_only_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

impl DataArgs {
    async fn open(&self) -> Result<Cork> {
        // The data directory holds the database (with app secrets) and the uploads: a new
        // one is made owner-only (0700), whichever database is used.
        owner_only_dir(&self.data_dir).with_context(|| format!("creating {}", self.data_dir.display()))?;
        // The key that seals app secrets at rest: CORK_SECRET_KEY, or secret.key here.
        let key = cork_core::sealed::load_or_create(&self.data_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        let previous = std::env::var("CORK_SECRET_KEY_PREVIOUS").unwrap_or_default();
        let previous: Vec<[u8; 32]> = previous
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(cork_core::sealed::parse_key)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("CORK_SECRET_KEY_PREVIOUS: {e}"))?;
        cork_core::sealed::install(key, &previous);
        let url = match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("cork.db").display()),
        };
        let store = Store::open(&url).await.with_context(|| format!("opening database {}", cork_store::redact(&url)))?;
        // Uploaded files live in the data dir, also when the database is PostgreSQL,
        // unless --files names another folder or an object store.
        let cork = match &self.file_store {
            None => Cork::new(store).with_data_dir(self.data_dir.join("files")),
            Some(setting) => {
                let store_of = |folder| FileStore::from_setting(setting, folder).map_err(|e| anyhow::anyhow!("--files {e}"));
                Cork::new(store).with_file_stores(store_of("attachments")?, store_of("pictures")?)
            }
        };
        for files in [&cork.files, &cork.pictures] {
            files.check().await.map_err(|e| anyhow::anyhow!("the file store does not answer: {e}"))?;
        }
        cork.check_sealed_secrets().await.map_err(|e| anyhow::anyhow!("the app secrets cannot be opened: {e}"))?;
        Ok(cork)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    // By default no line per request (`cork::access`): `CORK_LOG=info` turns them on.
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("CORK_LOG")
            .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn,cork::access=warn".into())
    };
    match cli.log_format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter()).with_writer(std::io::stderr).init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init(),
    }
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::User { command: UserCommand::Create { username, full_name, email, admin, password_stdin, password_env, data } } => {
            let password = if password_stdin {
                Some(read_password_line()?)
            } else if password_env {
                Some(std::env::var("CORK_PASSWORD").context("--password-env: CORK_PASSWORD is not set")?)
            } else {
                None
            };
            if let Some(password) = &password {
                cork_core::sessions::check_new_password(password).map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            let cork = data.open().await?;
            let member = cork.create_member(&username, full_name.as_deref(), email.as_deref()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(password) = &password {
                cork.set_password(&member, password)
                    .await
                    .map_err(|e| anyhow::anyhow!("{username} was created but has no password: {e}"))?;
            }
            if admin {
                cork.set_instance_admin(&member, true)
                    .await
                    .map_err(|e| anyhow::anyhow!("{username} was created but not made an admin: {e}"))?;
            }
            println!("{}", serde_json::json!({"id": member.id, "username": member.username, "fullName": member.full_name, "admin": admin}));
            cork.store.close().await;
            Ok(())
        }
        Command::User { command: UserCommand::Password { username, data } } => {
            let password = read_password_line()?;
            cork_core::sessions::check_new_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
            let cork = data.open().await?;
            let member = cork.member_by_username(&username).await.map_err(|_| anyhow::anyhow!("no member named {username}"))?;
            cork.set_password(&member, &password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::json!({"id": member.id, "username": member.username, "password": "set"}));
            cork.store.close().await;
            Ok(())
        }
        Command::Key { command: KeyCommand::Create { user, name, data } } => {
            let cork = data.open().await?;
            let member = cork.member_by_username(&user).await.map_err(|_| anyhow::anyhow!("no member named {user}"))?;
            let key = cork.create_app_key(&member, &name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let printed = serde_json::json!({
                "key": key.id, "secret": key.secret, "idMember": key.id_member, "name": key.name, "dateCreated": key.date_created
            });
            println!("{printed}");
            cork.store.close().await;
            Ok(())
        }
        Command::User { command: UserCommand::Admin { username, revoke, data } } => {
            let cork = data.open().await?;
            let member = cork.member_by_username(&username).await.map_err(|_| anyhow::anyhow!("no member named {username}"))?;
            cork.set_instance_admin(&member, !revoke).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::json!({"id": member.id, "username": member.username, "admin": !revoke}));
            cork.store.close().await;
            Ok(())
        }
        Command::Plugin { command: PluginCommand::Create { name, user, author, url, icon_url, private, data } } => {
            let cork = data.open().await?;
            let member = cork.member_by_username(&user).await.map_err(|_| anyhow::anyhow!("no member named {user}"))?;
            let input =
                cork_core::plugins::PluginInput { name: Some(name), author, url, icon_url, public: Some(!private), ..Default::default() };
            let actor = cork_core::Actor::member(member);
            let plugin = cork.create_plugin(&actor, input).await.map_err(|e| match e {
                cork_core::DomainError::Unauthorized(_) => anyhow::anyhow!("{user} is not a Cork administrator (cork user admin {user})"),
                other => anyhow::anyhow!("{other}"),
            })?;
            println!("{}", serde_json::to_string(&plugin)?);
            cork.store.close().await;
            Ok(())
        }
        Command::Webhooks { command: WebhooksCommand::Deliveries { id, limit, data } } => {
            let cork = data.open().await?;
            let (_, deliveries) = cork.webhook_deliveries(None, &id, limit).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            for delivery in &deliveries {
                println!("{}", cork_api::webhooks::delivery_json(delivery));
            }
            cork.store.close().await;
            Ok(())
        }
        Command::Webhooks { command: WebhooksCommand::Redeliver { delivery, data } } => {
            let cork = data.open().await?;
            let queued = cork.redeliver(None, &delivery).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            // A running server's worker picks it up within its poll interval.
            println!("{}", cork_api::webhooks::delivery_json(&queued));
            cork.store.close().await;
            Ok(())
        }
        Command::Import { files, workspace, member_map, strict, report, admin, trello_key, trello_token, data } => {
            let downloads = match (&trello_key, &trello_token) {
                (Some(key), Some(token)) => Some(cork_core::import::Downloads(std::sync::Arc::new(import::Downloader::new(key, token)?))),
                _ => None,
            };
            let member_map = match &member_map {
                Some(path) => import::member_map(path)?,
                None => Default::default(),
            };
            let cork = data.open().await?;
            let admin = match &admin {
                Some(username) => {
                    Some(cork.member_by_username(username).await.map_err(|_| anyhow::anyhow!("--admin: no member named {username}"))?.id)
                }
                None => None,
            };
            let options = cork_core::import::ImportOptions { workspace, member_map, strict, admin, owner: None, downloads, mirror: false };
            let ok = import::run(&cork, &files, &options, report == "json").await;
            cork.store.close().await;
            if !ok? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Mirror { command: Some(MirrorCommand::Status { data }), .. } => {
            let cork = data.open().await?;
            let result = mirror::status(&cork).await;
            cork.store.close().await;
            result
        }
        Command::Mirror { command: None, run } => {
            let missing = |name: &str| anyhow::anyhow!("cork mirror needs --{name} (or `cork mirror status`)");
            let cork = run.data.open().await?;
            let result = mirror::run(
                &cork,
                mirror::Run {
                    from: run.from.ok_or_else(|| missing("from"))?,
                    key: run.key.ok_or_else(|| missing("key"))?,
                    token: run.token.ok_or_else(|| missing("token"))?,
                    board: run.board.ok_or_else(|| missing("board"))?,
                    into: run.into,
                    admin: run.admin,
                    interval: std::time::Duration::from_secs(run.interval.max(1)),
                    listen: run.listen,
                    callback: run.callback,
                    once: run.once,
                    download: run.download_files,
                },
            )
            .await;
            cork.store.close().await;
            result
        }
        Command::SecretsRewrap { data } => {
            let cork = data.open().await?;
            let result = cork.rewrap_secrets().await.map_err(|e| anyhow::anyhow!("{e}"));
            cork.store.close().await;
            println!("{}", serde_json::json!({"rewrapped": result?, "keyId": cork_core::sealed::key_id()}));
            Ok(())
        }
        Command::Backup { file, data } => {
            let cork = data.open().await?;
            let partial = file.with_extension("partial");
            let result = async {
                // A backup holds app secrets and password hashes: owner-only, like the database.
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create(true).truncate(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let file_out = options.open(&partial).with_context(|| format!("creating {}", partial.display()))?;
                #[cfg(unix)]
                std::fs::set_permissions(&partial, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                    .with_context(|| format!("restricting {}", partial.display()))?;
                let mut out = std::io::BufWriter::new(file_out);
                let summary = cork.backup(&mut out).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                drop(out);
                std::fs::rename(&partial, &file).with_context(|| format!("writing {}", file.display()))?;
                Ok::<_, anyhow::Error>(summary)
            }
            .await;
            cork.store.close().await;
            if result.is_err() {
                let _ = std::fs::remove_file(&partial);
            }
            println!("{}", serde_json::to_string(&result?)?);
            Ok(())
        }
        Command::Restore { file, data } => {
            let input = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
            let cork = data.open().await?;
            let result = cork.restore(&mut std::io::BufReader::with_capacity(1 << 20, input)).await;
            cork.store.close().await;
            let summary = result.map_err(|e| anyhow::anyhow!("nothing was restored: {e}"))?;
            println!("{}", serde_json::to_string(&summary)?);
            Ok(())
        }
        Command::Export { board, output, as_user, data } => {
            let cork = data.open().await?;
            let result = export(&cork, &board, output.as_deref(), as_user.as_deref()).await;
            cork.store.close().await;
            result
        }
        Command::Changes { command } => {
            let (reviewer, method, uri, body) = match command {
                ChangesCommand::List { board, state, reviewer } => {
                    let mut query = form_urlencoded::Serializer::new(String::new());
                    query.append_pair("idBoard", &board);
                    if let Some(state) = &state {
                        query.append_pair("state", state);
                    }
                    let query = query.finish();
                    (reviewer, "GET", format!("/cork/changeRequests?{query}"), serde_json::json!({}))
                }
                ChangesCommand::Show { id, reviewer } => {
                    (reviewer, "GET", format!("/cork/changeRequests/{}", path_part(&id)), serde_json::json!({}))
                }
                ChangesCommand::Approve { id, comment, reviewer } => {
                    (reviewer, "POST", format!("/cork/changeRequests/{}/approve", path_part(&id)), serde_json::json!({"comment": comment}))
                }
                ChangesCommand::Reject { id, comment, reviewer } => {
                    (reviewer, "POST", format!("/cork/changeRequests/{}/reject", path_part(&id)), serde_json::json!({"comment": comment}))
                }
            };
            let cork = reviewer.data.open().await?;
            let member = cork.member_by_username(&reviewer.as_user).await.map_err(|e| anyhow::anyhow!("--as {}: {e}", reviewer.as_user))?;
            let app = cork_api::App::new(cork.clone(), cork_api::ApiConfig::default());
            let (status, answer) = cork_api::call_as(app, cork_core::Actor::member(member), method, &uri, body).await;
            cork.store.close().await;
            if !(200..300).contains(&status) {
                anyhow::bail!("{status}: {}", answer.get("message").or(answer.get("error")).unwrap_or(&answer));
            }
            println!("{answer}");
            Ok(())
        }
        Command::Rollback { token, key, member, since, before, board, as_user, dry_run, data } => {
            use cork_core::revert::RollbackScope;
            let scope = match (token, key, member) {
                (Some(token), ..) => RollbackScope::Token(token),
                (_, Some(key), _) => RollbackScope::Key(key),
                (.., Some(member)) => RollbackScope::Member(member),
                _ => anyhow::bail!("name one of --token, --key, --member"),
            };
            let since = id_bound(Some(since))?.expect("given");
            let before = id_bound(before)?;
            let cork = data.open().await?;
            let actor =
                cork_core::Actor::member(cork.member_by_username(&as_user).await.map_err(|e| anyhow::anyhow!("--as {as_user}: {e}"))?);
            // The same write pipeline as the API: one transaction, rolled back for a dry run.
            let pipeline = cork_store::pipeline::Pipeline::new(cork_core::ids::new_id(), dry_run);
            let report = pipeline.scope(cork.rollback(&actor, &scope, &since, before.as_deref(), board.as_deref())).await;
            let committed = report.is_ok();
            pipeline.finish(&cork.store, committed, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let report = report.map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut out = cork_api::rollback_report_json(&report);
            out["dryRun"] = serde_json::json!(dry_run);
            println!("{out}");
            cork.store.close().await;
            Ok(())
        }
        Command::Audit { command: Some(AuditCommand::Actions { board, org, member, token, key, since, before, format, data }), .. } => {
            use cork_core::audit_export::ExportScope;
            let scope = match (board, org, member, token, key) {
                (Some(board), ..) => ExportScope::Board(board),
                (_, Some(org), ..) => ExportScope::Organization(org),
                (_, _, Some(member), ..) => ExportScope::Member(member),
                (.., Some(token), _) => ExportScope::Token(token),
                (.., Some(key)) => ExportScope::Key(key),
                _ => anyhow::bail!("name one of --board, --org, --member, --token, --key"),
            };
            let (since, before) = (id_bound(since)?, id_bound(before)?);
            let format = cork_api::ExportFormat::parse(Some(&format)).expect("checked by clap");
            let cork = data.open().await?;
            let grant = cork.audit_export_grant_local(&scope).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut out = std::io::stdout().lock();
            use std::io::Write;
            if format == cork_api::ExportFormat::Csv {
                writeln!(out, "{}", cork_api::EXPORT_CSV_COLUMNS.join(","))?;
            }
            let mut after = since;
            loop {
                let rows =
                    cork.audit_export_page(&grant, after.as_deref(), before.as_deref(), 1000).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                out.write_all(&cork_api::export_lines(&rows, format))?;
                match rows.last() {
                    Some(last) if rows.len() == 1000 => after = Some(last.action.id.clone()),
                    _ => break,
                }
            }
            out.flush()?;
            cork.store.close().await;
            Ok(())
        }
        Command::Audit { limit, since, data, .. } => {
            let cork = data.open().await?;
            let events = cork.audit_events_local(limit, since.as_deref()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            for event in events {
                println!("{event}");
            }
            cork.store.close().await;
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { user, scope, expiration, app, boards, orgs, gate, data } } => {
            let Some(expires) = cork_core::accounts::expiration(&expiration) else {
                bail!("expiration must be 1hour, 1day, 30days or never")
            };
            let cork = data.open().await?;
            let member = cork.member_by_username(&user).await.map_err(|_| anyhow::anyhow!("no member named {user}"))?;
            // A deactivated member's tokens are suspended; a new one would let them back in.
            if cork.instance_standing(&member.id).await.map_err(|e| anyhow::anyhow!("{e}"))?.deactivated {
                bail!("{user} is deactivated; an enterprise admin must reactivate them first");
            }
            let scopes: Vec<String> = scope.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
            let mut models = Vec::new();
            for board in &boards {
                models.push(token_model(board, "Board")?);
            }
            for org in &orgs {
                models.push(token_model(org, "Organization")?);
            }
            let grant = cork_core::accounts::TokenGrant { key: None, app: app.clone(), scopes, expires, models };
            let issued = cork.issue(&member, grant).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(gate) = gate.as_deref().and_then(cork_core::gates::GateKind::parse) {
                cork.set_token_gate(&issued.id_token, Some(gate)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            println!("{}", serde_json::to_string(&issued)?);
            cork.store.close().await;
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    // The metrics recorder first: the store takes its statement-time handle at its first query.
    cork_api::ops::metrics();
    let cork = args.data.open().await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr()?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{address}"));
    if cork.member_count().await.map_err(|e| anyhow::anyhow!("{e}"))? == 0 {
        tracing::info!("no members yet: create one with `cork user create NAME`, then a token with `cork token create --user NAME` (same --data-dir/--database)");
    }
    let allowed_hosts =
        cork_api::webhooks::AllowList::parse(&args.webhook_allowed_hosts).map_err(|e| anyhow::anyhow!("--webhook-allowed-hosts: {e}"))?;
    let defaults = cork_api::webhooks::WebhookConfig::default();
    let webhooks = cork_api::webhooks::WebhookConfig {
        allowed_hosts,
        policy: cork_core::webhooks::DeliveryPolicy {
            retries: args.webhook_retries,
            backoff: std::time::Duration::from_secs(args.webhook_backoff),
            disable_after: std::time::Duration::from_secs(args.webhook_disable_after_days * 24 * 3600),
            ..defaults.policy.clone()
        },
        timeout: std::time::Duration::from_secs(args.webhook_timeout.max(1)),
        worker: !args.webhook_no_worker,
        per_host: args.webhook_per_host.max(1),
        ..defaults
    };
    if let Some(url) = &args.rate_store {
        cork_api::access::SharedCounts::new(url).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let app = App::new(
        cork.clone(),
        ApiConfig {
            public_url,
            body_limit: args.body_limit,
            upload_limit: args.upload_limit,
            import_limit: args.import_limit,
            route_log: args.route_log,
            webhooks,
            allow_signup: args.allow_signup,
            rate_limits: args.rate.limits(),
            rate_store: args.rate_store,
            metrics_token: args.metrics_token,
            shutdown_timeout: std::time::Duration::from_secs(args.shutdown_timeout),
            shutdown_delay: std::time::Duration::from_secs(args.shutdown_delay),
            connections: cork_api::listener::ConnectionLimits {
                header_timeout: std::time::Duration::from_secs(args.header_timeout),
                body_timeout: std::time::Duration::from_secs(args.body_timeout),
                max_connections: args.max_connections as usize,
            },
        },
    );
    tracing::info!("listening on http://{address}");
    cork_api::serve(listener, app, shutdown_signal()).await?;
    // Bounded too: a request task still holding a connection does not hold the exit.
    if tokio::time::timeout(std::time::Duration::from_secs(5), cork.store.close()).await.is_err() {
        tracing::warn!("stopping with database connections still in use");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The first line of stdin, without its line ending (a password piped in by a script).
fn read_password_line() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password on stdin");
    }
    Ok(password)
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}

/// An id as one path segment: anything else would name another route.
fn path_part(id: &str) -> String {
    id.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// `cork export`: the board's export streamed into the file (or stdout); a file is
/// written beside its name first and renamed, so a failed export leaves no partial file.
async fn export(cork: &Cork, board: &str, output: Option<&std::path::Path>, as_user: Option<&str>) -> Result<()> {
    use futures_util::StreamExt;
    use std::io::Write;
    let member = match as_user {
        Some(username) => cork.member_by_username(username).await.map_err(|_| anyhow::anyhow!("--as: no member named {username}"))?,
        None => cork.board_and_admin(board).await.map_err(|e| anyhow::anyhow!("{e}"))?.1,
    };
    let app = App::new(cork.clone(), ApiConfig::default());
    let export = cork_api::export::Export::start(&app, cork_core::Actor::member(member), board)
        .await
        .map_err(|e| anyhow::anyhow!("board {board}: {e}"))?;
    let (mut out, partial): (Box<dyn Write>, Option<PathBuf>) = match output {
        Some(path) => {
            let partial = path.with_extension("json.partial");
            let file = std::fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
            (Box::new(std::io::BufWriter::new(file)), Some(partial))
        }
        None => (Box::new(std::io::BufWriter::new(std::io::stdout().lock())), None),
    };
    let mut stream = std::pin::pin!(export.into_stream());
    let mut failure = None;
    while let Some(chunk) = stream.next().await {
        match chunk.map_err(anyhow::Error::from).and_then(|bytes| out.write_all(&bytes).map_err(anyhow::Error::from)) {
            Ok(()) => {}
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    let flushed = out.flush();
    drop(out);
    if let Some(partial) = &partial {
        if failure.is_some() || flushed.is_err() {
            let _ = std::fs::remove_file(partial);
        }
    }
    if let Some(error) = failure {
        return Err(error.context("exporting"));
    }
    flushed?;
    if let (Some(partial), Some(path)) = (partial, output) {
        std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod command_line {
    /// Every command's arguments checked at once (clap checks only the command being
    /// parsed at run time): a clash between a shared flag and a command's own argument
    /// is a failed test, not a panic on the first `cork import`.
    #[test]
    fn every_command_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
