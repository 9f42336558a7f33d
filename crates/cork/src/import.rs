//! `cork import`: Trello board exports into this instance, one transaction per file, with
//! a progress bar on a terminal and a report per file.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use cork_core::import::{ImportOptions, ImportReport, Progress};
use cork_core::Cork;
use indicatif::{ProgressBar, ProgressStyle};

/// Downloads with Trello's credentials in the OAuth header, as Trello wants them for
/// attachment downloads (Cork's own download route reads them there too).
pub struct Downloader {
    client: reqwest::Client,
    authorization: String,
}

/// The most one downloaded file may weigh.
const MAX_DOWNLOAD: usize = 256 << 20;

impl Downloader {
    pub fn new(key: &str, token: &str) -> Result<Downloader> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("cork/", env!("CARGO_PKG_VERSION"), " (import)"))
            .build()
            .context("building the download client")?;
        Ok(Downloader { client, authorization: format!("OAuth oauth_consumer_key=\"{key}\", oauth_token=\"{token}\"") })
    }
}

impl cork_core::import::Fetch for Downloader {
    fn fetch<'a>(&'a self, url: &'a str) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move {
            let mut response = self
                .client
                .get(url)
                .header(reqwest::header::AUTHORIZATION, &self.authorization)
                .send()
                .await
                .map_err(|e| format!("downloading {url}: {e}"))?;
            if !response.status().is_success() {
                return Err(format!("downloading {url}: the server answered {}", response.status()));
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| format!("downloading {url}: {e}"))? {
                if bytes.len() + chunk.len() > MAX_DOWNLOAD {
                    return Err(format!("downloading {url}: larger than {} MiB", MAX_DOWNLOAD >> 20));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        })
    }
}

/// Reads a member map: a JSON object of Trello member id or username → Cork username.
pub fn member_map(path: &Path) -> Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the member map {}", path.display()))?;
    let object = cork_core::import::walk::object_of(&text).map_err(|e| anyhow::anyhow!("the member map {}: {e}", path.display()))?;
    object
        .into_iter()
        .map(|(from, to)| match to {
            serde_json::Value::String(to) => Ok((from, to)),
            other => anyhow::bail!("the member map {}: {from:?} maps to {other}, not to a username", path.display()),
        })
        .collect()
}

/// Imports each file in turn; prints one report per file (a JSON object per line with
/// `json`, else a few lines of text). Answers whether every file was imported.
pub async fn run(cork: &Cork, files: &[PathBuf], options: &ImportOptions, json: bool) -> Result<bool> {
    let mut all_ok = true;
    for file in files {
        let progress = Arc::new(Progress::default());
        let bar = std::io::stderr().is_terminal().then(|| show(file, progress.clone()));
        let report = cork.import_board(file, options, progress).await;
        if let Some((bar, ticker)) = bar {
            ticker.abort();
            bar.finish_and_clear();
        }
        all_ok &= report.ok;
        if json {
            let mut value = serde_json::to_value(&report)?;
            value["file"] = serde_json::json!(file.display().to_string());
            println!("{value}");
        } else {
            print_text(file, &report);
        }
    }
    Ok(all_ok)
}

/// A bar of bytes per pass, with the items written so far; redrawn ten times a second.
fn show(file: &Path, progress: Arc<Progress>) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix} {msg:<28} [{bar:30}] {bytes}/{total_bytes} {elapsed}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_prefix(file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    let shown = bar.clone();
    let ticker = tokio::spawn(async move {
        loop {
            shown.set_length(progress.bytes_total.load(Ordering::Relaxed));
            shown.set_position(progress.bytes_read.load(Ordering::Relaxed));
            let message = match progress.pass.load(Ordering::Relaxed) {
                2 => format!(
                    "writing {}/{} items",
                    progress.items_done.load(Ordering::Relaxed),
                    progress.items_total.load(Ordering::Relaxed)
                ),
                _ => "reading".to_string(),
            };
            shown.set_message(message);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    (bar, ticker)
}

fn print_text(file: &Path, report: &ImportReport) {
    let board = report.board.as_ref();
    let name = |key: &str| board.and_then(|b| b.get(key)).and_then(|v| v.as_str()).unwrap_or("?").to_string();
    if report.ok {
        println!("{}: board {:?} ({}) imported in {} ms", file.display(), name("name"), name("id"), report.millis);
    } else {
        println!("{}: nothing imported: {}", file.display(), report.error.as_deref().unwrap_or("unknown error"));
    }
    println!("  {:<20} {:>8} {:>8} {:>8} {:>8}", "", "read", "new", "updated", "skipped");
    for (kind, count) in &report.counts {
        println!("  {kind:<20} {:>8} {:>8} {:>8} {:>8}", count.read, count.imported, count.updated, count.skipped);
    }
    for skip in report.skipped.iter().take(20) {
        println!("  skipped {} #{} {}: {}", skip.kind, skip.index, skip.id.as_deref().unwrap_or("-"), skip.reason);
    }
    if report.skipped.len() > 20 {
        println!("  … and {} more skipped (see --report json)", report.skipped.len() - 20);
    }
    for placeholder in &report.placeholders {
        println!("  placeholder member {}", placeholder);
    }
    for warning in report.warnings.iter().take(20) {
        println!("  warning: {warning}");
    }
    if report.warnings.len() > 20 {
        println!("  … and {} more warnings (see --report json)", report.warnings.len() - 20);
    }
}
