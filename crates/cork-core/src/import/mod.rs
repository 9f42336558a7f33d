//! Import of a Trello board export (the file "Export as JSON" gives, shaped like
//! `GET /1/boards/{id}` with every include).
//!
//! - **Ids kept.** Every object keeps its Trello id and shortLink, so an integration that
//!   stored ids keeps working after the move; importing the same export again finds the
//!   same rows and updates them in place.
//! - **Streamed.** The file is read twice, element by element (`walk`): a survey that
//!   keeps only the board's small parts (its fields, lists, labels, members, custom
//!   fields) and the ids the references need, then the writing pass, whose parser runs
//!   on a blocking thread and hands batches to the writer through a bounded channel.
//!   Memory is that of the small parts, the ids and a few batches, whatever the size.
//! - **Atomic.** All of it is one write transaction: a file that turns out to be cut
//!   short, a database error or `strict` with an item to skip leave nothing behind.
//! - **Forgiving per item.** An item that cannot be imported (a card on a list the file
//!   lacks, a name over Trello's limit, a field of the wrong type) is reported — section,
//!   index, id and why — and skipped; the rest comes in.
//!
//! The import is an operator's act, like a restore: it writes rows directly rather than
//! replaying commands, records no new actions (the file's own actions are the board's
//! history) and sends no webhooks; the access audit gets one `board.imported` event.

pub mod walk;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::io::{BufReader, Read};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use cork_store::{Arg, Cond, Order, Table, Tx};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::custom_fields::{CustomField, CustomFieldItem, CustomFieldOption, OptionValue};
use crate::ids::{is_id, is_short_link};
use crate::model::*;
use crate::stickers::Sticker;
use crate::store_ext::{by_ids, find, get, insert, save, upsert_all, Stored};
use crate::{parse_date, Cork, DomainError};
use walk::Sink;

/// Trello's limit on names and descriptions, which Cork keeps too.
const MAX_TEXT: usize = 16384;
/// Elements per batch handed from the parser to the writer.
const BATCH: usize = 250;

/// Fetches the bytes of an uploaded file from where the export says it is kept
/// (`cork import --trello-key/--trello-token`). The domain holds no HTTP: the command
/// line hands it one.
pub trait Fetch: Send + Sync {
    fn fetch<'a>(&'a self, url: &'a str) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>>;
}

/// Uploaded files are downloaded with this and stored here, instead of arriving as links.
#[derive(Clone)]
pub struct Downloads(pub Arc<dyn Fetch>);

impl std::fmt::Debug for Downloads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Downloads")
    }
}

/// How an import maps and files what it reads.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The workspace (name or id) the board is filed under; else the one it is in
    /// already, or the export's when that exists here.
    pub workspace: Option<String>,
    /// A Trello member's id or username → a Cork username, ahead of every other rule.
    pub member_map: HashMap<String, String>,
    /// Refuse the whole file when any item would be skipped.
    pub strict: bool,
    /// A Cork member (id) made an admin of the board (who imports from the web board).
    pub admin: Option<String>,
    /// When set, a board that exists already is updated only if this member (id)
    /// administers it.
    pub owner: Option<String>,
    /// When set, uploaded files are downloaded from their source and stored here.
    pub downloads: Option<Downloads>,
    /// A mirror's step (`mirror.rs`): the mirror audits itself, so no `board.imported`.
    pub mirror: bool,
}

/// How far an import has come, shared with whoever shows it (a progress bar, the web
/// board's import page). Each pass reads the whole file: `pass` is 1 or 2.
#[derive(Debug, Default)]
pub struct Progress {
    pub pass: AtomicU64,
    pub bytes_read: AtomicU64,
    pub bytes_total: AtomicU64,
    pub items_done: AtomicU64,
    pub items_total: AtomicU64,
}

/// What happened to one kind of object.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Count {
    /// In the file.
    pub read: u64,
    /// New here.
    pub imported: u64,
    /// There already (an earlier import of the same export): updated in place.
    pub updated: u64,
    pub skipped: u64,
}

/// One item left out, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Skip {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its place in the file's array.
    pub index: usize,
    pub id: Option<String>,
    pub reason: String,
}

/// The outcome of an import: printed by `cork import --report json`, shown by the
/// import page.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub ok: bool,
    /// Why nothing was imported, when `ok` is false.
    pub error: Option<String>,
    /// `{id, name, shortLink}` of the board.
    pub board: Option<Value>,
    pub counts: BTreeMap<&'static str, Count>,
    pub skipped: Vec<Skip>,
    /// Trello members matched to Cork members: `{id, username, as, by}`.
    pub mapped: Vec<Value>,
    /// Members created as placeholders (no password, `memberType: ghost`): `{id, username, fullName}`.
    pub placeholders: Vec<Value>,
    pub warnings: Vec<String>,
    /// Uploaded files downloaded from the source (with `downloads`).
    pub downloaded: u64,
    pub bytes: u64,
    pub millis: u64,
}

impl ImportReport {
    fn count(&mut self, kind: &'static str) -> &mut Count {
        self.counts.entry(kind).or_default()
    }

    fn skip(&mut self, kind: &'static str, index: usize, id: Option<&str>, reason: impl Into<String>) {
        self.count(kind).skipped += 1;
        self.skipped.push(Skip { kind, index, id: id.map(str::to_string), reason: reason.into() });
    }
}

impl Cork {
    /// Imports the export at `path`. Always answers a report; `ok` says whether the board
    /// was written (all of it) or not (none of it).
    pub async fn import_board(&self, path: &Path, options: &ImportOptions, progress: Arc<Progress>) -> ImportReport {
        let started = Instant::now();
        let mut report = ImportReport::default();
        if let Err(error) = self.import_into(path, options, &progress, &mut report).await {
            report.ok = false;
            report.error = Some(error);
            for count in report.counts.values_mut() {
                count.imported = 0;
                count.updated = 0;
            }
            report.placeholders.clear();
        } else {
            report.ok = true;
        }
        report.bytes = progress.bytes_total.load(Ordering::Relaxed);
        report.millis = started.elapsed().as_millis() as u64;
        report
    }

    async fn import_into(
        &self,
        path: &Path,
        options: &ImportOptions,
        progress: &Arc<Progress>,
        report: &mut ImportReport,
    ) -> Result<(), String> {
        let size = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?.len();
        progress.bytes_total.store(size, Ordering::Relaxed);
        progress.pass.store(1, Ordering::Relaxed);
        let survey = {
            let (path, progress) = (path.to_path_buf(), progress.clone());
            tokio::task::spawn_blocking(move || Survey::read(&path, &progress)).await.map_err(|e| format!("the survey stopped: {e}"))??
        };
        let head = survey.board_head()?;
        for (section, n) in &survey.read {
            report.count(section).read = *n;
        }
        report.count("board").read = 1;
        progress.items_total.store(survey.read.values().sum(), Ordering::Relaxed);

        // Downloads happen before the transaction, so no network wait holds the writer;
        // the files go again if the import does not commit.
        let mut pending = self.files.pending();
        let fetched = match &options.downloads {
            Some(downloads) => self.download(&survey, downloads, &mut pending, report).await?,
            None => HashMap::new(),
        };
        let mut tx = self.store.write().await.map_err(db)?;
        let mut writer = Writer::new(&survey, options, report);
        writer.fetched = fetched;
        writer.prepare(&mut tx, head).await.map_err(db_or_refusal)?;

        // The writing pass: the parser on a blocking thread, batches through a bounded
        // channel (two in flight), so the parser never runs far ahead of the writer.
        progress.pass.store(2, Ordering::Relaxed);
        progress.bytes_read.store(0, Ordering::Relaxed);
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<(&'static str, Vec<(usize, Value)>)>(2);
        let parser = {
            let (path, progress) = (path.to_path_buf(), progress.clone());
            tokio::task::spawn_blocking(move || {
                let file = std::fs::File::open(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let mut sink = Batcher { sender, batch: Vec::new(), section: "" };
                walk::walk(Counted::new(file, &progress), &mut sink)?;
                sink.flush()
            })
        };
        let mut failure = None;
        while let Some((section, items)) = receiver.recv().await {
            progress.items_done.fetch_add(items.len() as u64, Ordering::Relaxed);
            if let Err(error) = writer.batch(&mut tx, section, items).await {
                failure = Some(db_or_refusal(error));
                break;
            }
        }
        drop(receiver);
        let parsed = parser.await.map_err(|e| format!("the parser stopped: {e}"))?;
        if let Some(error) = failure {
            return Err(error);
        }
        parsed?;
        writer.finish(&mut tx).await.map_err(db)?;
        if options.strict && !report.skipped.is_empty() {
            return Err(format!("--strict: {} item(s) would be skipped (see `skipped`); nothing was imported", report.skipped.len()));
        }
        tx.commit().await.map_err(db)?;
        pending.keep();
        Ok(())
    }

    /// Downloads the export's uploaded files that are not stored here yet; a file that
    /// cannot be had stays a link, with a warning.
    async fn download(
        &self,
        survey: &Survey,
        downloads: &Downloads,
        pending: &mut crate::files::Pending,
        report: &mut ImportReport,
    ) -> Result<HashMap<String, crate::files::FileRef>, String> {
        let mut fetched = HashMap::new();
        if survey.uploads.is_empty() {
            return Ok(fetched);
        }
        if !self.files.is_enabled() {
            report.warnings.push("uploads are not enabled on this instance: uploaded files stay links".into());
            return Ok(fetched);
        }
        let ids: Vec<String> = survey.uploads.iter().map(|u| u.0.clone()).collect();
        let stored: HashSet<String> = {
            let mut tx = self.store.read().await.map_err(db)?;
            by_ids::<Attachment, _>(&mut tx, &ids).await.map_err(db)?.into_iter().filter(|a| a.file.is_some()).map(|a| a.id).collect()
        };
        for (id, url, name, mime) in &survey.uploads {
            if stored.contains(id) || fetched.contains_key(id) {
                continue;
            }
            match downloads.0.fetch(url).await {
                Ok(bytes) => {
                    let upload = crate::files::Upload { bytes, file_name: Some(name.clone()), content_type: mime.clone() };
                    let mut file = crate::files::describe(&upload, None, String::new());
                    file.key = pending.write(upload.bytes).await.map_err(|e| e.to_string())?;
                    report.downloaded += 1;
                    fetched.insert(id.clone(), file);
                }
                Err(error) => report.warnings.push(format!("attachment {id}: {error}; it stays a link")),
            }
        }
        Ok(fetched)
    }
}

fn db(error: impl std::fmt::Display) -> String {
    format!("database error: {error}")
}

fn db_or_refusal(error: DomainError) -> String {
    match error {
        DomainError::BadRequest(message) | DomainError::Forbidden(message) => message,
        other => db(other),
    }
}

/// A reader that counts what it has read into the progress.
struct Counted<R> {
    inner: BufReader<R>,
    progress: Arc<Progress>,
}

impl<R: Read> Counted<R> {
    fn new(inner: R, progress: &Arc<Progress>) -> Self {
        Counted { inner: BufReader::with_capacity(1 << 16, inner), progress: progress.clone() }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// What the first pass keeps: the board's own fields and small sections whole, and of
/// the large sections only what references need.
#[derive(Default)]
struct Survey {
    header: Map<String, Value>,
    small: HashMap<&'static str, Vec<(usize, Value)>>,
    read: BTreeMap<&'static str, u64>,
    /// The sections the file has, empty ones included.
    sections: HashSet<&'static str>,
    /// Each card's list, and whether the card itself is whole (`None`) or why not.
    cards: HashMap<String, (String, Option<String>)>,
    /// The authors of actions, as the actions embed them.
    creators: HashMap<String, Value>,
    /// The largest card number, so cards without one get the next.
    max_short: i64,
    /// Uploaded files: (attachment id, url, file name, mime type).
    uploads: Vec<(String, String, String, Option<String>)>,
}

impl Survey {
    fn read(path: &Path, progress: &Arc<Progress>) -> Result<Survey, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut survey = Survey::default();
        walk::walk(Counted::new(file, progress), &mut survey)?;
        Ok(survey)
    }

    /// The board's id, name and shortLink, or why the file is no board export.
    fn board_head(&self) -> Result<(String, String), String> {
        let id = self.header.get("id").and_then(Value::as_str).filter(|id| is_id(id));
        let name = self.header.get("name").and_then(Value::as_str);
        let (Some(id), Some(name)) = (id, name) else {
            return Err("not a Trello board export: the top-level object needs the board's `id` (24 hex digits) and `name`".into());
        };
        if !self.sections.contains("lists") || !self.sections.contains("cards") {
            return Err("not a Trello board export: it has no `lists` or no `cards`".into());
        }
        if name.trim().is_empty() || name.len() > MAX_TEXT {
            return Err(format!("the board's name must have 1 to {MAX_TEXT} characters"));
        }
        Ok((id.to_string(), name.to_string()))
    }
}

impl Sink for Survey {
    fn header(&mut self, key: String, value: Value) {
        self.header.insert(key, value);
    }

    fn section(&mut self, section: &'static str) {
        self.sections.insert(section);
    }

    fn element(&mut self, section: &'static str, index: usize, value: Value) -> Result<(), String> {
        *self.read.entry(section).or_default() += 1;
        match section {
            "cards" => {
                if let Some(id) = value.get("id").and_then(Value::as_str) {
                    let list = value.get("idList").and_then(Value::as_str).unwrap_or_default().to_string();
                    self.max_short = self.max_short.max(value.get("idShort").and_then(Value::as_i64).unwrap_or(0));
                    let whole = card_fields_check(&value).err();
                    self.cards.entry(id.to_string()).or_insert((list, whole));
                }
                for attachment in value.get("attachments").and_then(Value::as_array).into_iter().flatten() {
                    if let (Some(id), Some(url), Some(true)) =
                        (text(attachment, "id"), text(attachment, "url"), attachment.get("isUpload").and_then(Value::as_bool))
                    {
                        let name = owned(attachment, "fileName").or_else(|| owned(attachment, "name")).unwrap_or_default();
                        self.uploads.push((id.to_string(), url.to_string(), name, owned(attachment, "mimeType").filter(|m| !m.is_empty())));
                    }
                }
                // Attachments and the like are counted as read where they sit.
                for (nested, kind) in [("attachments", "attachments"), ("customFieldItems", "customFieldItems"), ("stickers", "stickers")] {
                    if let Some(items) = value.get(nested).and_then(Value::as_array) {
                        *self.read.entry(kind).or_default() += items.len() as u64;
                    }
                }
            }
            "checklists" => {
                if let Some(items) = value.get("checkItems").and_then(Value::as_array) {
                    *self.read.entry("checkItems").or_default() += items.len() as u64;
                }
            }
            "actions" => {
                if let Some(id) = value.get("idMemberCreator").and_then(Value::as_str) {
                    if !self.creators.contains_key(id) {
                        let creator = value.get("memberCreator").cloned().unwrap_or_else(|| json!({"id": id}));
                        self.creators.insert(id.to_string(), creator);
                    }
                }
            }
            "customFields" => {
                if let Some(items) = value.get("options").and_then(Value::as_array) {
                    *self.read.entry("customFieldOptions").or_default() += items.len() as u64;
                }
                self.small.entry(section).or_default().push((index, value));
            }
            _ => self.small.entry(section).or_default().push((index, value)),
        }
        Ok(())
    }
}

/// Groups the writing pass's elements into batches for the writer.
struct Batcher {
    sender: tokio::sync::mpsc::Sender<(&'static str, Vec<(usize, Value)>)>,
    batch: Vec<(usize, Value)>,
    section: &'static str,
}

impl Batcher {
    fn flush(&mut self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.sender.blocking_send((self.section, batch)).map_err(|_| "the import stopped".to_string())
    }
}

impl Sink for Batcher {
    fn header(&mut self, _key: String, _value: Value) {}

    fn element(&mut self, section: &'static str, index: usize, value: Value) -> Result<(), String> {
        if !matches!(section, "cards" | "checklists" | "actions") {
            return Ok(());
        }
        if section != self.section {
            self.flush()?;
            self.section = section;
        }
        self.batch.push((index, value));
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }
}

// ---- reading fields ----

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn owned(value: &Value, key: &str) -> Option<String> {
    text(value, key).map(str::to_string)
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn number(value: &Value, key: &str) -> Result<f64, String> {
    match value.get(key) {
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| format!("`{key}` is not a number")),
        None | Some(Value::Null) => Ok(0.0),
        Some(_) => Err(format!("`{key}` is not a number")),
    }
}

fn bounded(value: &Value, key: &str, required: bool) -> Result<String, String> {
    match value.get(key) {
        Some(Value::String(s)) if s.len() > MAX_TEXT => Err(format!("`{key}` is longer than {MAX_TEXT} characters ({} bytes)", s.len())),
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) if !required => Ok(String::new()),
        _ => Err(format!("`{key}` is missing or not text")),
    }
}

fn date(value: &Value, key: &str) -> Result<Option<String>, String> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if parse_date(s).is_some() => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` is not a date")),
    }
}

fn the_id(value: &Value) -> Result<String, String> {
    match text(value, "id") {
        Some(id) if is_id(id) => Ok(id.to_string()),
        Some(id) => Err(format!("`id` {id:?} is not a Trello id (24 hex digits)")),
        None => Err("no `id`".into()),
    }
}

fn ids(value: &Value, key: &str) -> Vec<String> {
    value.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

/// What makes a card unusable on its own, whatever the rest of the file holds.
fn card_fields_check(value: &Value) -> Result<(), String> {
    the_id(value)?;
    bounded(value, "name", true)?;
    bounded(value, "desc", false)?;
    number(value, "pos")?;
    date(value, "due")?;
    date(value, "start")?;
    date(value, "dateLastActivity")?;
    if let Some(link) = text(value, "shortLink") {
        if !is_short_link(link) {
            return Err(format!("`shortLink` {link:?} is not 8 letters and digits"));
        }
    }
    Ok(())
}

// ---- writing ----

/// A card and what the export nests in it.
struct CardParts {
    card: Card,
    attachments: Vec<Attachment>,
    items: Vec<CustomFieldItem>,
    stickers: Vec<Sticker>,
}

/// What the writing pass knows and counts.
struct Writer<'a> {
    survey: &'a Survey,
    options: &'a ImportOptions,
    report: &'a mut ImportReport,
    board: String,
    lists: HashSet<String>,
    labels: HashSet<String>,
    fields: HashSet<String>,
    /// Trello member id → Cork member id.
    members: HashMap<String, String>,
    seen: HashMap<&'static str, HashSet<String>>,
    next_short: i64,
    max_short: i64,
    /// Files downloaded for uploaded attachments, by attachment id.
    fetched: HashMap<String, crate::files::FileRef>,
}

impl<'a> Writer<'a> {
    fn new(survey: &'a Survey, options: &'a ImportOptions, report: &'a mut ImportReport) -> Self {
        Writer {
            survey,
            options,
            report,
            board: String::new(),
            lists: HashSet::new(),
            labels: HashSet::new(),
            fields: HashSet::new(),
            members: HashMap::new(),
            seen: HashMap::new(),
            next_short: survey.max_short + 1,
            max_short: survey.max_short,
            fetched: HashMap::new(),
        }
    }

    fn small(&self, section: &str) -> &'a [(usize, Value)] {
        self.survey.small.get(section).map(Vec::as_slice).unwrap_or_default()
    }

    fn member(&self, trello_id: &str) -> Option<String> {
        self.members.get(trello_id).cloned()
    }

    fn mapped(&self, list: Vec<String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(list.len());
        for id in list.iter().filter_map(|id| self.member(id)) {
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }

    /// The items of a small section that `parse` makes into objects, each id once; the
    /// others are reported as skipped, with why.
    fn parse_small<T: Stored>(&mut self, section: &'static str, parse: impl Fn(&Value) -> Result<T, String>) -> Vec<T> {
        let mut out = Vec::new();
        for (index, value) in self.small(section) {
            match parse(value) {
                Ok(object) if self.first(section, *index, object.id()) => out.push(object),
                Ok(_) => {}
                Err(reason) => self.report.skip(section, *index, text(value, "id"), reason),
            }
        }
        out
    }

    /// A first sighting of `id` in `section`; a repeat is skipped.
    fn first(&mut self, section: &'static str, index: usize, id: &str) -> bool {
        if self.seen.entry(section).or_default().insert(id.to_string()) {
            return true;
        }
        self.report.skip(section, index, Some(id), "the same id came earlier in the file");
        false
    }

    /// Members, the board, and its small sections.
    async fn prepare(&mut self, tx: &mut Tx, (id, name): (String, String)) -> crate::Result<()> {
        self.board = id.clone();
        let existing: Option<Board> = get(tx, &id).await?;
        if let (Some(board), Some(owner)) = (&existing, &self.options.owner) {
            let admin = find::<Membership>(tx, &[Cond::eq("model_id", &board.id), Cond::eq("member_id", owner)], Order::None, Some(1))
                .await?
                .pop()
                .is_some_and(|m| m.member_type == "admin");
            if !admin {
                return Err(DomainError::Forbidden(format!("board {id} exists here and you are not one of its admins")));
            }
        }
        self.map_members(tx).await?;
        let workspace = self.workspace(tx, existing.as_ref()).await?;
        let head = &self.survey.header;
        let creator = text_of(head, "idMemberCreator")
            .and_then(|m| self.member(m))
            .or_else(|| self.options.admin.clone())
            .or_else(|| self.members.values().next().cloned())
            .unwrap_or_default();
        let short_link = text_of(head, "shortLink")
            .filter(|l| is_short_link(l))
            .map(str::to_string)
            .or_else(|| existing.as_ref().map(|b| b.short_link.clone()))
            .unwrap_or_else(crate::ids::short_link);
        let prefs = head.get("prefs").and_then(Value::as_object).cloned().unwrap_or_default();
        let board = Board {
            id: id.clone(),
            name: name.clone(),
            desc: head.get("desc").and_then(Value::as_str).filter(|d| d.len() <= MAX_TEXT).unwrap_or_default().to_string(),
            closed: head.get("closed").and_then(Value::as_bool).unwrap_or(false),
            id_organization: workspace,
            id_member_creator: creator,
            short_link: short_link.clone(),
            pinned: head.get("pinned").and_then(Value::as_bool).unwrap_or(false),
            prefs,
            date_last_activity: text_of(head, "dateLastActivity").map(str::to_string).unwrap_or_else(crate::now),
            date_closed: text_of(head, "dateClosed").map(str::to_string),
            subscribed: false,
            id_tags: existing.as_ref().map(|b| b.id_tags.clone()).unwrap_or_default(),
        };
        self.report.board = Some(json!({"id": id, "name": name, "shortLink": short_link}));
        if existing.is_some() {
            save(tx, &board).await?;
            self.report.count("board").updated += 1;
        } else {
            insert(tx, &board).await?;
            self.report.count("board").imported += 1;
        }
        self.labels_lists_fields(tx).await?;
        self.memberships(tx).await
    }

    /// Matches every member the file names (the board's members and the actions'
    /// authors) to a Cork member, or makes a placeholder.
    async fn map_members(&mut self, tx: &mut Tx) -> crate::Result<()> {
        let mut wanted: Vec<(Option<usize>, Value)> = self.small("members").iter().map(|(i, v)| (Some(*i), v.clone())).collect();
        let listed: HashSet<String> = wanted.iter().filter_map(|(_, v)| owned(v, "id")).collect();
        let mut creators: Vec<&Value> = self.survey.creators.iter().filter(|(id, _)| !listed.contains(*id)).map(|(_, v)| v).collect();
        creators.sort_by_key(|v| text(v, "id").map(str::to_string));
        wanted.extend(creators.into_iter().map(|v| (None, v.clone())));
        for (index, value) in wanted {
            // Some exports (hand-anonymised ones) carry member ids that are no Trello ids:
            // those members get a Cork id derived from theirs, the same at every import.
            let Some(trello_id) = text(&value, "id").filter(|id| !id.is_empty() && id.len() <= 64).map(str::to_string) else {
                if let Some(index) = index {
                    self.report.skip("members", index, text(&value, "id"), "no member id");
                }
                continue;
            };
            let username = text(&value, "username").map(str::to_ascii_lowercase);
            if self.members.contains_key(&trello_id) {
                continue; // listed twice: one Cork member
            }
            let full_name = text(&value, "fullName").unwrap_or_default().to_string();
            let (found, by) = self.find_member(tx, &trello_id, username.as_deref(), text(&value, "email")).await?;
            let counted = index.is_some();
            let member = match found {
                Some(member) => {
                    self.report.mapped.push(json!({"id": trello_id, "username": username, "as": member.username, "by": by}));
                    if counted {
                        self.report.count("members").updated += 1;
                    }
                    member
                }
                None => {
                    let username = self.free_username(tx, username.as_deref(), &cork_id(&trello_id)).await?;
                    let member = Member {
                        id: cork_id(&trello_id),
                        initials: text(&value, "initials").map(str::to_string).unwrap_or_else(|| crate::accounts::initials(&full_name)),
                        full_name: if full_name.is_empty() { username.clone() } else { full_name.clone() },
                        username,
                        email: None,
                        bio: String::new(),
                        member_type: "ghost".into(),
                        confirmed: false,
                        avatar_hash: None,
                        date_last_active: None,
                        prefs: Map::new(),
                    };
                    insert(tx, &member).await?;
                    self.report.placeholders.push(json!({"id": member.id, "username": member.username, "fullName": member.full_name}));
                    if counted {
                        self.report.count("members").imported += 1;
                    }
                    member
                }
            };
            self.members.insert(trello_id, member.id);
        }
        Ok(())
    }

    async fn find_member(
        &self,
        tx: &mut Tx,
        id: &str,
        username: Option<&str>,
        email: Option<&str>,
    ) -> crate::Result<(Option<Member>, &'static str)> {
        let map = &self.options.member_map;
        if let Some(target) = map.get(id).or_else(|| username.and_then(|u| map.get(u))) {
            let target = target.to_ascii_lowercase();
            let found = find::<Member>(tx, &[Cond::eq("username", &target)], Order::None, Some(1)).await?.pop();
            return match found {
                Some(member) => Ok((Some(member), "map")),
                None => Err(DomainError::BadRequest(format!("the member map names {target:?}, who is no Cork member"))),
            };
        }
        if let Some(member) = get::<Member>(tx, &cork_id(id)).await? {
            return Ok((Some(member), "id"));
        }
        if let Some(username) = username {
            if let Some(member) = find::<Member>(tx, &[Cond::eq("username", username)], Order::None, Some(1)).await?.pop() {
                return Ok((Some(member), "username"));
            }
        }
        if let Some(email) = email.filter(|e| e.contains('@')) {
            if let Some(member) = find::<Member>(tx, &[Cond::eq("email", email)], Order::None, Some(1)).await?.pop() {
                return Ok((Some(member), "email"));
            }
        }
        Ok((None, ""))
    }

    /// The Trello username when it is a valid Cork username and free, else one made from the id.
    async fn free_username(&self, tx: &mut Tx, wanted: Option<&str>, id: &str) -> crate::Result<String> {
        let valid =
            |u: &str| u.len() >= 3 && u.len() <= 100 && u.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let mut candidates: Vec<String> = wanted.filter(|u| valid(u)).map(str::to_string).into_iter().collect();
        candidates.push(format!("{}_{}", wanted.filter(|u| valid(u)).unwrap_or("trello"), &id[id.len() - 6..]));
        candidates.push(format!("trello_{id}"));
        for candidate in candidates {
            if tx.count(Table::Members, &[Cond::eq("username", &candidate)]).await? == 0 {
                return Ok(candidate);
            }
        }
        Err(DomainError::BadRequest(format!("no free username for member {id}")))
    }

    async fn workspace(&mut self, tx: &mut Tx, existing: Option<&Board>) -> crate::Result<Option<String>> {
        if let Some(wanted) = &self.options.workspace {
            let by_id = if is_id(wanted) { get::<Organization>(tx, wanted).await? } else { None };
            let found = match by_id {
                Some(org) => Some(org),
                None => find::<Organization>(tx, &[Cond::eq("name", wanted)], Order::None, Some(1)).await?.pop(),
            };
            return match found {
                Some(org) => Ok(Some(org.id)),
                None => Err(DomainError::BadRequest(format!("no workspace named {wanted:?}: create it first, or leave out --workspace"))),
            };
        }
        if let Some(board) = existing {
            return Ok(board.id_organization.clone());
        }
        if let Some(org) = text_of(&self.survey.header, "idOrganization").filter(|id| is_id(id)) {
            if get::<Organization>(tx, org).await?.is_some() {
                return Ok(Some(org.to_string()));
            }
            self.report.warnings.push(format!("the board's Trello workspace {org} is not here; the board is filed under no workspace"));
        }
        Ok(None)
    }

    async fn labels_lists_fields(&mut self, tx: &mut Tx) -> crate::Result<()> {
        let board = self.board.clone();
        let labels = self.parse_small("labels", |value| {
            Ok(Label { id: the_id(value)?, id_board: board.clone(), name: bounded(value, "name", false)?, color: owned(value, "color") })
        });
        self.labels = labels.iter().map(|l| l.id.clone()).collect();
        upsert(tx, &labels, ("board_id", &[board.as_str()]), self.report.count("labels")).await?;

        let lists = self.parse_small("lists", |value| {
            Ok(List {
                id: the_id(value)?,
                name: bounded(value, "name", true)?,
                closed: flag(value, "closed"),
                id_board: board.clone(),
                pos: number(value, "pos")?,
                subscribed: false,
                soft_limit: value.get("softLimit").and_then(|l| match l {
                    Value::Number(n) => Some(n.to_string()),
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                }),
                color: owned(value, "color"),
            })
        });
        self.lists = lists.iter().map(|l| l.id.clone()).collect();
        upsert(tx, &lists, ("board_id", &[board.as_str()]), self.report.count("lists")).await?;

        let fields = self.parse_small("customFields", |value| {
            let id = the_id(value)?;
            let kind = text(value, "type").unwrap_or_default().to_string();
            if !matches!(kind.as_str(), "text" | "number" | "date" | "checkbox" | "list") {
                return Err(format!("unknown field type {kind:?}"));
            }
            let mut choices = Vec::new();
            for option in value.get("options").and_then(Value::as_array).into_iter().flatten() {
                choices.push(CustomFieldOption {
                    id: the_id(option)?,
                    id_custom_field: id.clone(),
                    value: OptionValue { text: option.pointer("/value/text").and_then(Value::as_str).unwrap_or_default().to_string() },
                    color: owned(option, "color").unwrap_or_else(|| "none".into()),
                    pos: number(option, "pos")?,
                });
            }
            Ok(CustomField {
                id,
                id_model: board.clone(),
                model_type: "board".into(),
                field_group: owned(value, "fieldGroup").unwrap_or_default(),
                name: bounded(value, "name", true)?,
                pos: number(value, "pos")?,
                kind,
                card_front: value.pointer("/display/cardFront").and_then(Value::as_bool).unwrap_or(false),
                options: choices,
            })
        });
        self.fields = fields.iter().map(|f| f.id.clone()).collect();
        let existed = upsert(tx, &fields, ("board_id", &[board.as_str()]), self.report.count("customFields")).await?;
        // Options travel inside their field: new or updated with it.
        for field in &fields {
            let count = self.report.count("customFieldOptions");
            let n = field.options.len() as u64;
            if existed.contains(&field.id) {
                count.updated += n
            } else {
                count.imported += n
            }
        }
        for (index, value) in self.small("pluginData") {
            self.report.skip("pluginData", *index, text(value, "id"), "Cork keeps no Power-Up data");
        }
        Ok(())
    }

    async fn memberships(&mut self, tx: &mut Tx) -> crate::Result<()> {
        let board = self.board.clone();
        // (index in the file, the membership as the file has it; its id may be empty)
        let mut wanted: Vec<(Option<usize>, Membership)> = Vec::new();
        for (index, value) in self.small("memberships") {
            let member = text(value, "idMember").and_then(|m| self.member(m));
            let Some(member) = member else {
                self.report.skip("memberships", *index, text(value, "id"), "its member is not in the export's members");
                continue;
            };
            let kind = text(value, "memberType").filter(|t| matches!(*t, "admin" | "normal" | "observer")).unwrap_or("normal").to_string();
            let membership = Membership {
                id: owned(value, "id").filter(|id| is_id(id)).unwrap_or_default(),
                id_model: board.clone(),
                id_member: member,
                member_type: kind,
                unconfirmed: flag(value, "unconfirmed"),
                deactivated: flag(value, "deactivated"),
            };
            wanted.push((Some(*index), membership));
        }
        if let Some(admin) = &self.options.admin {
            match wanted.iter_mut().find(|(_, m)| &m.id_member == admin) {
                Some((_, m)) => m.member_type = "admin".into(),
                None => {
                    let membership = Membership {
                        id: String::new(),
                        id_model: board.clone(),
                        id_member: admin.clone(),
                        member_type: "admin".into(),
                        unconfirmed: false,
                        deactivated: false,
                    };
                    wanted.push((None, membership));
                }
            }
        }
        for (index, mut membership) in wanted {
            let old =
                find::<Membership>(tx, &[Cond::eq("model_id", &board), Cond::eq("member_id", &membership.id_member)], Order::None, Some(1))
                    .await?
                    .pop();
            membership.id = match &old {
                Some(old) => old.id.clone(),
                // The file's id, unless it is empty or taken (by another board's membership).
                None if membership.id.is_empty() || tx.count(Table::Memberships, &[Cond::eq("id", &membership.id)]).await? > 0 => {
                    crate::ids::new_id()
                }
                None => membership.id,
            };
            let counted = index.is_some();
            if old.is_some() {
                save(tx, &membership).await?;
                if counted {
                    self.report.count("memberships").updated += 1;
                }
            } else {
                insert(tx, &membership).await?;
                if counted {
                    self.report.count("memberships").imported += 1;
                }
            }
        }
        if !self.small("memberships").iter().any(|(_, v)| text(v, "memberType") == Some("admin")) && self.options.admin.is_none() {
            self.report.warnings.push("no admin among the board's memberships: give it one with --admin".into());
        }
        Ok(())
    }

    async fn batch(&mut self, tx: &mut Tx, section: &'static str, items: Vec<(usize, Value)>) -> crate::Result<()> {
        match section {
            "cards" => self.cards(tx, items).await,
            "checklists" => self.checklists(tx, items).await,
            _ => self.actions(tx, items).await,
        }
    }

    fn card_from(&mut self, value: &Value) -> Result<CardParts, String> {
        card_fields_check(value)?;
        let id = the_id(value)?;
        let list = text(value, "idList").unwrap_or_default();
        if !self.lists.contains(list) {
            return Err(format!("its list {list:?} is not among the export's lists"));
        }
        let badges = value.get("badges").cloned().unwrap_or(Value::Null);
        let badge = |key: &str| badges.get(key).and_then(Value::as_i64).unwrap_or(0);
        let mut labels = ids(value, "idLabels");
        let unknown = labels.iter().filter(|l| !self.labels.contains(*l)).count();
        if unknown > 0 {
            labels.retain(|l| self.labels.contains(l));
            self.report.warnings.push(format!("card {id}: {unknown} label(s) not among the export's labels were left off"));
        }
        let id_short = match value.get("idShort").and_then(Value::as_i64) {
            Some(n) if n > 0 => n,
            _ => {
                self.next_short += 1;
                self.next_short - 1
            }
        };
        self.max_short = self.max_short.max(id_short);
        let card = Card {
            id: id.clone(),
            name: bounded(value, "name", true)?,
            desc: bounded(value, "desc", false)?,
            closed: flag(value, "closed"),
            id_board: self.board.clone(),
            id_list: list.to_string(),
            id_short,
            short_link: owned(value, "shortLink").unwrap_or_else(crate::ids::short_link),
            pos: number(value, "pos")?,
            due: date(value, "due")?,
            start: date(value, "start")?,
            due_complete: flag(value, "dueComplete"),
            due_reminder: value.get("dueReminder").and_then(Value::as_i64),
            id_members: self.mapped(ids(value, "idMembers")),
            id_labels: labels,
            id_members_voted: self.mapped(ids(value, "idMembersVoted")),
            id_checklists: ids(value, "idChecklists"),
            id_attachment_cover: owned(value, "idAttachmentCover"),
            address: owned(value, "address"),
            location_name: owned(value, "locationName"),
            coordinates: value.get("coordinates").filter(|c| !c.is_null()).cloned(),
            is_template: flag(value, "isTemplate"),
            subscribed: false,
            date_last_activity: date(value, "dateLastActivity")?.unwrap_or_else(crate::now),
            counts: CardCounts {
                comments: badge("comments"),
                attachments: badge("attachments"),
                check_items: badge("checkItems"),
                check_items_checked: badge("checkItemsChecked"),
                votes: badge("votes"),
            },
        };
        let mut attachments = Vec::new();
        for item in value.get("attachments").and_then(Value::as_array).into_iter().flatten() {
            attachments.push(Attachment {
                id: the_id(item)?,
                id_card: id.clone(),
                id_member: text(item, "idMember")
                    .and_then(|m| self.member(m))
                    .unwrap_or_else(|| self.options.admin.clone().unwrap_or_default()),
                name: bounded(item, "name", false)?,
                url: owned(item, "url").unwrap_or_default(),
                mime_type: owned(item, "mimeType").filter(|m| !m.is_empty()),
                bytes: item.get("bytes").and_then(Value::as_i64),
                date: date(item, "date")?.unwrap_or_else(crate::now),
                // An uploaded file comes in as a link to where it is kept at the source.
                is_upload: false,
                pos: number(item, "pos")?,
                file: None,
            });
        }
        let mut items = Vec::new();
        for item in value.get("customFieldItems").and_then(Value::as_array).into_iter().flatten() {
            let field = text(item, "idCustomField").unwrap_or_default();
            if !self.fields.contains(field) {
                return Err(format!("a custom field value names field {field:?}, which the export does not define"));
            }
            items.push(CustomFieldItem {
                id: the_id(item)?,
                id_custom_field: field.to_string(),
                id_model: id.clone(),
                model_type: "card".into(),
                value: item.get("value").and_then(Value::as_object).cloned(),
                id_value: owned(item, "idValue"),
                id_board: self.board.clone(),
            });
        }
        let mut stickers = Vec::new();
        for item in value.get("stickers").and_then(Value::as_array).into_iter().flatten() {
            stickers.push(Sticker {
                id: the_id(item)?,
                id_card: id.clone(),
                image: owned(item, "image").unwrap_or_default(),
                top: number(item, "top")?,
                left: number(item, "left")?,
                z_index: item.get("zIndex").and_then(Value::as_i64).unwrap_or(1),
                rotate: number(item, "rotate")?,
                file: None,
            });
        }
        Ok(CardParts { card, attachments, items, stickers })
    }

    async fn cards(&mut self, tx: &mut Tx, items: Vec<(usize, Value)>) -> crate::Result<()> {
        let (mut cards, mut attachments, mut field_items, mut stickers) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (index, value) in &items {
            match self.card_from(value) {
                Ok(parts) => {
                    if self.first("cards", *index, &parts.card.id) {
                        cards.push(parts.card);
                        attachments.extend(parts.attachments);
                        field_items.extend(parts.items);
                        stickers.extend(parts.stickers);
                    }
                }
                Err(reason) => {
                    let nested: [(&'static str, &str); 3] =
                        [("attachments", "attachments"), ("customFieldItems", "customFieldItems"), ("stickers", "stickers")];
                    for (kind, key) in nested {
                        let n = value.get(key).and_then(Value::as_array).map_or(0, Vec::len);
                        for i in 0..n {
                            self.report.skip(kind, i, None, format!("its card (index {index}) was skipped"));
                        }
                    }
                    self.report.skip("cards", *index, text(value, "id"), reason);
                }
            }
        }
        if cards.is_empty() {
            return Ok(());
        }
        let card_ids: Vec<&str> = cards.iter().map(|c| c.id.as_str()).collect();
        upsert(tx, &cards, ("board_id", &[self.board.as_str()]), self.report.count("cards")).await?;
        tx.delete(Table::CardMembers, &[Cond::any_of("card_id", &card_ids)]).await?;
        let pairs: Vec<Vec<(&'static str, Arg)>> = cards
            .iter()
            .flat_map(|card| card.id_members.iter().map(|m| vec![("card_id", Arg::text(&card.id)), ("member_id", Arg::text(m))]))
            .collect();
        tx.insert_many(Table::CardMembers, pairs, false).await?;
        // An attachment that is an upload here already keeps its file.
        let kept: HashMap<String, Attachment> = by_ids::<Attachment, _>(tx, &attachments.iter().map(|a| a.id.clone()).collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        for attachment in &mut attachments {
            if let Some(old) = kept.get(&attachment.id).filter(|old| old.file.is_some()) {
                attachment.file = old.file.clone();
                attachment.is_upload = old.is_upload;
                attachment.url = old.url.clone();
            } else if let Some(file) = self.fetched.get(&attachment.id) {
                attachment.bytes = Some(file.bytes);
                attachment.mime_type = Some(file.mime_type.clone());
                attachment.file = Some(file.clone());
                attachment.is_upload = true;
            }
        }
        upsert(tx, &attachments, ("card_id", &card_ids), self.report.count("attachments")).await?;
        // A card's field values are replaced whole: (card, field) is unique, and a value
        // set here under another id gives way to the export's.
        let item_ids: Vec<&str> = field_items.iter().map(|i| i.id.as_str()).collect();
        owned_here(tx, Table::CustomFieldItems, &item_ids, ("card_id", &card_ids)).await?;
        let before: HashSet<String> =
            tx.column(Table::CustomFieldItems, "id", &[Cond::any_of("card_id", &card_ids)]).await?.into_iter().collect();
        tx.delete(Table::CustomFieldItems, &[Cond::any_of("card_id", &card_ids)]).await?;
        upsert_all(tx, &field_items).await?;
        let count = self.report.count("customFieldItems");
        let again = field_items.iter().filter(|i| before.contains(&i.id)).count() as u64;
        count.updated += again;
        count.imported += field_items.len() as u64 - again;
        upsert(tx, &stickers, ("card_id", &card_ids), self.report.count("stickers")).await?;
        Ok(())
    }

    fn checklist_from(&self, value: &Value) -> Result<Checklist, String> {
        let id = the_id(value)?;
        let card = text(value, "idCard").unwrap_or_default();
        match self.survey.cards.get(card) {
            None => return Err(format!("its card {card:?} is not among the export's cards")),
            Some((list, whole)) if whole.is_some() || !self.lists.contains(list) => return Err(format!("its card {card} was skipped")),
            Some(_) => {}
        }
        let mut check_items = Vec::new();
        for item in value.get("checkItems").and_then(Value::as_array).into_iter().flatten() {
            let state = text(item, "state").unwrap_or("incomplete");
            if !matches!(state, "complete" | "incomplete") {
                return Err(format!("a check item's state {state:?} is neither complete nor incomplete"));
            }
            check_items.push(CheckItem {
                id: the_id(item)?,
                name: bounded(item, "name", true)?,
                state: state.to_string(),
                pos: number(item, "pos")?,
                id_checklist: id.clone(),
                due: date(item, "due")?,
                id_member: text(item, "idMember").and_then(|m| self.member(m)),
            });
        }
        Ok(Checklist {
            id,
            name: bounded(value, "name", true)?,
            id_board: self.board.clone(),
            id_card: card.to_string(),
            pos: number(value, "pos")?,
            check_items,
        })
    }

    async fn checklists(&mut self, tx: &mut Tx, items: Vec<(usize, Value)>) -> crate::Result<()> {
        let mut checklists = Vec::new();
        for (index, value) in &items {
            match self.checklist_from(value) {
                Ok(checklist) if self.first("checklists", *index, &checklist.id) => checklists.push(checklist),
                Ok(_) => {}
                Err(reason) => {
                    let n = value.get("checkItems").and_then(Value::as_array).map_or(0, Vec::len);
                    for i in 0..n {
                        self.report.skip("checkItems", i, None, format!("its checklist (index {index}) was skipped"));
                    }
                    self.report.skip("checklists", *index, text(value, "id"), reason);
                }
            }
        }
        let existed = upsert(tx, &checklists, ("board_id", &[self.board.as_str()]), self.report.count("checklists")).await?;
        // Check items live inside their checklist: new or updated with it.
        for checklist in &checklists {
            let count = self.report.count("checkItems");
            let n = checklist.check_items.len() as u64;
            if existed.contains(&checklist.id) {
                count.updated += n
            } else {
                count.imported += n
            }
        }
        Ok(())
    }

    fn action_from(&self, value: &Value) -> Result<(Action, [Arg; 5]), String> {
        let id = the_id(value)?;
        let kind = text(value, "type").filter(|t| !t.is_empty() && t.len() < 100).ok_or("no `type`")?;
        let date = date(value, "date")?.ok_or("no `date`")?;
        let creator = text(value, "idMemberCreator").and_then(|m| self.member(m)).ok_or("its author is unknown")?;
        let mut data = value.get("data").cloned().unwrap_or_else(|| json!({}));
        if !data.is_object() {
            return Err("`data` is not an object".into());
        }
        // Members the action is about, as the Cork members they became.
        let subject = text(&data, "idMember").or_else(|| data.pointer("/member/id").and_then(Value::as_str)).and_then(|m| self.member(m));
        if let (Some(subject), Some(map)) = (&subject, data.as_object_mut()) {
            if map.contains_key("idMember") {
                map.insert("idMember".into(), json!(subject));
            }
            if let Some(member) = map.get_mut("member").and_then(Value::as_object_mut) {
                member.insert("id".into(), json!(subject));
            }
        }
        let pointer = |p: &str| data.pointer(p).and_then(Value::as_str).map(str::to_string);
        let columns = [
            Arg::opt(pointer("/list/id").or_else(|| pointer("/listAfter/id"))),
            Arg::opt(pointer("/card/id")),
            Arg::opt(pointer("/organization/id")),
            Arg::opt(subject),
            Arg::text(kind),
        ];
        let action = Action {
            id,
            id_member_creator: creator,
            kind: kind.to_string(),
            date,
            data,
            app_creator: value.get("appCreator").filter(|a| !a.is_null()).cloned(),
        };
        Ok((action, columns))
    }

    async fn actions(&mut self, tx: &mut Tx, items: Vec<(usize, Value)>) -> crate::Result<()> {
        let mut actions = Vec::new();
        for (index, value) in &items {
            match self.action_from(value) {
                Ok(action) if self.first("actions", *index, &action.0.id) => actions.push(action),
                Ok(_) => {}
                Err(reason) => self.report.skip("actions", *index, text(value, "id"), reason),
            }
        }
        if actions.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = actions.iter().map(|a| a.0.id.as_str()).collect();
        let existing = owned_here(tx, Table::Actions, &ids, ("board_id", &[self.board.as_str()])).await?;
        let mut rows = Vec::with_capacity(actions.len());
        let mut comments = Vec::new();
        for (action, [list, card, org, subject, kind]) in actions {
            // Comments are found by search, as the ones written here are.
            comments.extend(crate::actions::comment_entry(&action));
            rows.push(vec![
                ("id", Arg::text(&action.id)),
                ("type", kind),
                ("member_id", Arg::text(&action.id_member_creator)),
                ("board_id", Arg::text(&self.board)),
                ("list_id", list),
                ("card_id", card),
                ("org_id", org),
                ("subject_member_id", subject),
                ("doc", Arg::Text(serde_json::to_string(&action)?)),
            ]);
        }
        let count = self.report.count("actions");
        count.updated += existing.len() as u64;
        count.imported += (rows.len() - existing.len()) as u64;
        tx.insert_many(Table::Actions, rows, true).await?;
        tx.index_many(&comments).await?;
        Ok(())
    }

    /// The board's card counter goes past every imported card number.
    async fn finish(&mut self, tx: &mut Tx) -> crate::Result<()> {
        tx.update(
            Table::Boards,
            &[("card_seq", Arg::Int(self.max_short))],
            &[Cond::eq("id", &self.board), Cond::Lt("card_seq", Arg::Int(self.max_short))],
        )
        .await?;
        if self.options.mirror {
            return Ok(());
        }
        let counts = serde_json::to_value(&self.report.counts)?;
        crate::audit::change(
            tx,
            None,
            "board.imported",
            &[("idBoard", json!(self.board)), ("counts", counts), ("skipped", json!(self.report.skipped.len()))],
        )
        .await?;
        Ok(())
    }
}

/// A Trello id as it is; any other member id as 24 hex digits derived from it.
fn cork_id(id: &str) -> String {
    if is_id(id) {
        return id.to_string();
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(id.as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

fn text_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// Inserts the new ones and writes over the ones there already; answers the ids that
/// were there.
///
/// `scope` is the column that ties a row to this board (or its cards) and the values it
/// may hold: an id already used by another board here is refused, so an export (or a
/// crafted file on the import page) cannot take over objects it does not own.
async fn upsert<T: Stored>(
    tx: &mut Tx,
    objects: &[T],
    scope: (&'static str, &[&str]),
    count: &mut Count,
) -> crate::Result<HashSet<String>> {
    if objects.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<&str> = objects.iter().map(Stored::id).collect();
    let existing = owned_here(tx, T::TABLE, &ids, scope).await?;
    upsert_all(tx, objects).await?;
    count.updated += existing.len() as u64;
    count.imported += (objects.len() - existing.len()) as u64;
    Ok(existing)
}

/// Of `ids`, those that exist in `table` within `scope`; an error names one that exists
/// outside it.
async fn owned_here(tx: &mut Tx, table: Table, ids: &[&str], (column, allowed): (&'static str, &[&str])) -> crate::Result<HashSet<String>> {
    let all: HashSet<String> = tx.column(table, "id", &[Cond::any_of("id", ids)]).await?.into_iter().collect();
    if all.is_empty() {
        return Ok(all);
    }
    let here: HashSet<String> =
        tx.column(table, "id", &[Cond::any_of("id", ids), Cond::any_of(column, allowed)]).await?.into_iter().collect();
    if let Some(taken) = all.difference(&here).next() {
        return Err(DomainError::BadRequest(format!(
            "id {taken} ({}) belongs to another board here: an export can only update the board it came from",
            table.name()
        )));
    }
    Ok(here)
}

impl Cork {
    /// The board (id or shortLink) and one of its admins, whom `cork export` reads as
    /// when no member is named.
    pub async fn board_and_admin(&self, reference: &str) -> crate::Result<(Board, Member)> {
        let mut tx = self.store.read().await?;
        let board = crate::boards::resolve_board(&mut tx, reference).await?;
        let admins =
            tx.column(Table::Memberships, "member_id", &[Cond::eq("model_id", &board.id), Cond::eq("member_type", "admin")]).await?;
        for id in admins {
            if let Some(member) = get::<Member>(&mut tx, &id).await? {
                return Ok((board, member));
            }
        }
        Err(DomainError::BadRequest(format!("board {} has no admin to export as: name one with --as", board.id)))
    }
}
