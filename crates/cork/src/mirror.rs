//! `cork mirror`: keeps a local board in step with a board on another server that speaks
//! the Trello API. The first run imports the board whole; every run after resumes from the
//! cursor stored with the board. Steps run every `--interval` seconds, and at once when the
//! source's webhook calls (with `--listen`): the webhook only wakes the mirror, which still
//! reads the actions itself, so a forged or lost call changes nothing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use cork_core::mirror::{Mirror, MirrorOptions, Reply, Source};
use cork_core::Cork;
use serde_json::{json, Value};
use tokio::sync::Notify;

/// Reads the source with the mirror's key and token, waiting as told on 429 and 503.
pub struct HttpSource {
    client: reqwest::Client,
    base: String,
    key: String,
    token: String,
}

/// Attempts of one read when the source answers 429, 503 or cannot be reached.
const ATTEMPTS: u32 = 5;

impl HttpSource {
    pub fn new(from: &str, key: &str, token: &str) -> Result<HttpSource> {
        let base = from.trim_end_matches('/').trim_end_matches("/1").trim_end_matches('/').to_string();
        anyhow::ensure!(base.starts_with("http://") || base.starts_with("https://"), "--from must be an http(s) URL: {from}");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("cork/", env!("CARGO_PKG_VERSION"), " (mirror)"))
            .build()
            .context("building the HTTP client")?;
        Ok(HttpSource { client, base, key: key.to_string(), token: token.to_string() })
    }

    fn url(&self, path: &str) -> String {
        let joiner = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{joiner}key={}&token={}", self.base, self.key, self.token)
    }

    /// Text that may hold the token (a path like `/1/tokens/{token}/webhooks`, an error
    /// body echoing the request) as it may be shown: the token masked.
    fn shown(&self, text: &str) -> String {
        if self.token.is_empty() {
            return text.to_string();
        }
        text.replace(&self.token, "[token]")
    }

    /// A request with the credentials; errors never show the URL nor the token.
    async fn send(&self, method: reqwest::Method, path: &str) -> Result<Reply, String> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self.client.request(method.clone(), self.url(path)).send().await;
            let wait = match sent {
                Err(error) if attempt < ATTEMPTS => {
                    tracing::warn!(error = %self.shown(&error.without_url().to_string()), "the source could not be reached; trying again");
                    Duration::from_secs(1 << attempt)
                }
                Err(error) => return Err(self.shown(&error.without_url().to_string())),
                Ok(response) => {
                    let status = response.status();
                    match status.as_u16() {
                        404 => return Ok(Reply::Missing),
                        401 | 403 => return Ok(Reply::Refused),
                        _ => {}
                    }
                    if (status.as_u16() == 429 || status.as_u16() == 503) && attempt < ATTEMPTS {
                        let after = response
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(1 << attempt);
                        Duration::from_secs(after.min(60))
                    } else if !status.is_success() {
                        let body = response.text().await.unwrap_or_default();
                        let body: String = body.chars().take(300).collect();
                        let path = path.split('?').next().unwrap_or(path);
                        return Err(self.shown(&format!("{method} {path} answered {status}: {body}")));
                    } else {
                        return response.json::<Value>().await.map(Reply::Found).map_err(|e| self.shown(&e.without_url().to_string()));
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

impl Source for HttpSource {
    fn get<'a>(&'a self, path: &'a str) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Reply, String>> + Send + 'a>> {
        Box::pin(self.send(reqwest::Method::GET, path))
    }

    fn url(&self) -> &str {
        &self.base
    }
}

/// What `cork mirror` was asked.
pub struct Run {
    pub from: String,
    pub key: String,
    pub token: String,
    pub board: String,
    pub into: Option<String>,
    pub admin: Option<String>,
    pub interval: Duration,
    pub listen: Option<SocketAddr>,
    pub callback: Option<String>,
    pub once: bool,
    pub download: bool,
}

/// Runs the mirror until interrupted (or one step with `once`).
pub async fn run(cork: &Cork, run: Run) -> Result<()> {
    let source = HttpSource::new(&run.from, &run.key, &run.token)?;
    let scratch: PathBuf = std::env::temp_dir();
    let downloads = match run.download {
        true => Some(cork_core::import::Downloads(Arc::new(crate::import::Downloader::new(&run.key, &run.token)?))),
        false => None,
    };
    let mut mirror = match cork.mirror_of(Source::url(&source), &run.board).await.map_err(|e| anyhow::anyhow!("{e}"))? {
        Some(mirror) => {
            eprintln!("resuming the mirror of board {} from action {}", mirror.id, mirror.cursor.as_deref().unwrap_or("(none)"));
            mirror
        }
        None => {
            let admin = match &run.admin {
                Some(username) => {
                    Some(cork.member_by_username(username).await.map_err(|_| anyhow::anyhow!("--admin: no member named {username}"))?.id)
                }
                None => None,
            };
            let options = MirrorOptions { workspace: run.into.clone(), admin, downloads: downloads.clone() };
            let (mirror, report) = cork
                .mirror_create(&source, &run.board, &options, &scratch)
                .await
                .map_err(|e| anyhow::anyhow!("the first import failed: {e}"))?;
            println!("{}", json!({"event": "created", "mirror": mirror.to_json(), "import": report}));
            mirror
        }
    };
    let wake = Arc::new(Notify::new());
    if let Some(listen) = run.listen {
        let callback = run.callback.clone().unwrap_or_else(|| format!("http://{listen}/"));
        listen_for_webhooks(listen, wake.clone()).await?;
        match register_webhook(&source, &mirror, &callback).await {
            Ok(id) => {
                cork.mirror_set_webhook(&mut mirror, Some(id.clone())).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                eprintln!("the source calls {callback} on changes (webhook {id})");
            }
            Err(error) => eprintln!("no webhook from the source ({error}): polling every {} s", run.interval.as_secs()),
        }
    }
    loop {
        match cork.mirror_step(&source, &mut mirror, downloads.as_ref(), &scratch).await {
            Ok(step) if !step.applied.is_empty() => {
                let refs = step.applied.iter().map(|(id, kind)| cork_api::live::ActionRef { id: id.clone(), kind: kind.clone() }).collect();
                if let Err(error) = cork_api::live::announce(&cork.store, &mirror.id, refs).await {
                    tracing::warn!(%error, "could not tell the servers' open views of the change");
                }
                println!(
                    "{}",
                    json!({"event": "step", "applied": step.applied.len(), "cursor": mirror.cursor, "cardsRead": step.cards_read, "cardsRemoved": step.cards_removed, "skipped": step.skipped})
                );
            }
            Ok(_) => {}
            Err(error) => {
                eprintln!("mirror step failed: {error}");
                if mirror.state == "gone" || run.once {
                    anyhow::bail!("{error}");
                }
            }
        }
        if run.once {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(run.interval) => {}
            _ = wake.notified() => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Answers the source's HEAD check and its calls, each call waking the loop.
async fn listen_for_webhooks(listen: SocketAddr, wake: Arc<Notify>) -> Result<()> {
    use axum::routing::any;
    let app = axum::Router::new().fallback(any(move || {
        let wake = wake.clone();
        async move {
            wake.notify_one();
            axum::http::StatusCode::OK
        }
    }));
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the webhook listener stopped");
        }
    });
    Ok(())
}

/// The mirror's webhook on the source: the one it made before, or a new one.
async fn register_webhook(source: &HttpSource, mirror: &Mirror, callback: &str) -> Result<String, String> {
    let existing = match source.send(reqwest::Method::GET, &format!("/1/tokens/{}/webhooks", source.token)).await? {
        Reply::Found(hooks) => Some(hooks),
        Reply::Missing => None,
        Reply::Refused => return Err("the source refuses these credentials the token's webhooks".into()),
    };
    let found = existing.as_ref().and_then(Value::as_array).and_then(|hooks| {
        hooks.iter().find(|h| h["callbackURL"] == json!(callback) && h["idModel"] == json!(mirror.id)).and_then(|h| h["id"].as_str())
    });
    if let Some(id) = found {
        return Ok(id.to_string());
    }
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("callbackURL", callback)
        .append_pair("idModel", &mirror.id)
        .append_pair("description", &format!("cork mirror of {}", mirror.name))
        .finish();
    match source.send(reqwest::Method::POST, &format!("/1/webhooks?{query}")).await? {
        Reply::Found(made) => made["id"].as_str().map(str::to_string).ok_or_else(|| "the source answered no webhook".into()),
        Reply::Missing | Reply::Refused => Err("the source refused to make the webhook (401, 403 or 404)".into()),
    }
}

/// `cork mirror status`: one JSON line per mirror.
pub async fn status(cork: &Cork) -> Result<()> {
    for mirror in cork.mirrors().await.map_err(|e| anyhow::anyhow!("{e}"))? {
        println!("{}", mirror.to_json());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::HttpSource;

    #[test]
    fn errors_never_show_the_token() {
        let source = HttpSource::new("https://source.example/1/", "k3y", "t0ken-of-the-mirror").unwrap();
        assert_eq!(source.base, "https://source.example");
        let shown = source.shown("GET /1/tokens/t0ken-of-the-mirror/webhooks answered 500 Internal Server Error: t0ken-of-the-mirror");
        assert_eq!(shown, "GET /1/tokens/[token]/webhooks answered 500 Internal Server Error: [token]");
    }
}
