//! `cork`: the command line. It parses arguments and calls into the library crates.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use cork_api::{ApiConfig, App};
use cork_core::Cork;
use cork_store::Store;

#[derive(Parser)]
#[command(name = "cork", version, about = "A self-hosted work-board server that speaks the Trello REST API v1")]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    /// Append one line per routed request (method, route, status) to this file.
    #[arg(long, env = "CORK_ROUTE_LOG")]
    route_log: Option<PathBuf>,
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
        #[command(flatten)]
        data: DataArgs,
    },
}

impl DataArgs {
    async fn open(&self) -> Result<Cork> {
        let url = match &self.database {
            Some(url) => url.clone(),
            None => {
                std::fs::create_dir_all(&self.data_dir).with_context(|| format!("creating {}", self.data_dir.display()))?;
                format!("sqlite://{}", self.data_dir.join("cork.db").display())
            }
        };
        let store = Store::open(&url).await.with_context(|| format!("opening database {}", cork_store::redact(&url)))?;
        // Uploaded files live in the data dir, also when the database is PostgreSQL.
        Ok(Cork::new(store).with_data_dir(self.data_dir.join("files")))
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CORK_LOG").unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::User { command: UserCommand::Create { username, full_name, email, admin, data } } => {
            let cork = data.open().await?;
            let member = cork.create_member(&username, full_name.as_deref(), email.as_deref()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if admin {
                cork.set_instance_admin(&member, true)
                    .await
                    .map_err(|e| anyhow::anyhow!("{username} was created but not made an admin: {e}"))?;
            }
            println!("{}", serde_json::json!({"id": member.id, "username": member.username, "fullName": member.full_name, "admin": admin}));
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
        Command::Token { command: TokenCommand::Create { user, scope, expiration, app, data } } => {
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
            let issued = cork.issue_token(&member, &app, &scopes, expires).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string(&issued)?);
            cork.store.close().await;
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let cork = args.data.open().await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr()?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{address}"));
    if cork.member_count().await.map_err(|e| anyhow::anyhow!("{e}"))? == 0 {
        tracing::info!("no members yet: create one with `cork user create NAME`, then a token with `cork token create --user NAME` (same --data-dir/--database)");
    }
    let app = App::new(
        cork.clone(),
        ApiConfig { public_url, body_limit: args.body_limit, upload_limit: args.upload_limit, route_log: args.route_log },
    );
    tracing::info!("listening on http://{address}");
    cork_api::serve(listener, app, shutdown_signal()).await?;
    cork.store.close().await;
    tracing::info!("stopped");
    Ok(())
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
