//! Mirrors: a local board kept in step with a board on another server that speaks the
//! Trello API (Trello itself, or another Cork).
//!
//! - **The source is the system of record.** The mirrored board carries a whole-board
//!   source-of-truth lock owned by the mirror (`gates::set_mirror_owner`), so every other
//!   write to it — a token's, a person's in the web board — is refused with the source's
//!   name. The mirror's own changes come through no request.
//! - **Driven by the source's actions.** A step reads the board's actions since its cursor
//!   (newest first, paged with `before=` until a short page), drops those applied already,
//!   and, when any are new, reads the current state of what they touched: the board with
//!   its lists, labels, custom fields and members, and each card an action names (all the
//!   board's cards when many are). That state and the new actions go through the import
//!   (ids kept, updated in place, actions with their own ids, dates and authors); what the
//!   source no longer has is removed here.
//! - **Exactly once.** The changes of a step and the cursor that covers them commit in one
//!   transaction (one `Pipeline` scope), so a mirror killed at any point resumes from the
//!   last committed cursor: nothing is lost, and an action applied already is recognised by
//!   its id. The cursor is re-read with a two-minute overlap, because ids carry the time
//!   their request began while actions become visible when it commits.
//! - **State, then history.** Actions are read before the state, so the state read is at
//!   least as new as every action applied with it; an action that lands in between is read
//!   again in the next step and its objects fetched again.
//!
//! The domain holds no HTTP: the command line hands it a [`Source`].

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{Duration, Utc};
use cork_store::pipeline::Pipeline;
use cork_store::{Arg, Cond, Order, Table, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::ids::{id_time, is_id, new_id};
use crate::import::{ImportOptions, ImportReport, Progress};
use crate::model::{Attachment, Card};
use crate::stickers::Sticker;
use crate::store_ext::{by_ids, find, get, insert, save, Stored};
use crate::{format_date, now, parse_date, Cork};

/// How far back each step reads again behind its cursor: a request's actions carry the
/// time it began, and may become visible after a later request's.
const OVERLAP_SECONDS: i64 = 120;
/// Actions per page read from the source (Trello's most).
const PAGE: usize = 1000;
/// Above this many cards named by one step's actions, the step reads all of the board's
/// cards in one request instead of one request per card.
const CARDS_ONE_BY_ONE: usize = 50;

/// What the source answered a read.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The JSON answer.
    Found(Value),
    /// 404: the object does not exist (any more).
    Missing,
    /// 401 or 403: the object exists, or may, but these credentials cannot read it (a
    /// card moved to a board the token cannot see, a revoked token).
    Refused,
}

/// A server that speaks the Trello API, read with the mirror's credentials.
pub trait Source: Send + Sync {
    /// `GET` of a path with its query (`/1/boards/...`); an error is anything else the
    /// source answered after its retries, or that it could not be reached.
    fn get<'a>(&'a self, path: &'a str) -> Pin<Box<dyn Future<Output = Result<Reply, String>> + Send + 'a>>;
    /// The server's base URL, as the mirror names it.
    fn url(&self) -> &str;
}

/// A mirrored board and how its mirror fares: `GET /cork/mirrors`, `cork mirror status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Mirror {
    /// The local board's id (the source board's: ids are kept).
    pub id: String,
    /// The source server's base URL.
    pub source: String,
    /// The board on the source (as given: an id or shortLink).
    pub source_board: String,
    pub name: String,
    /// The newest source action applied, and its date.
    pub cursor: Option<String>,
    pub cursor_date: Option<String>,
    pub date_created: String,
    /// When the mirror last confirmed it held everything the source had.
    pub date_synced: Option<String>,
    /// When the last step that applied something committed.
    pub date_last_change: Option<String>,
    pub actions_applied: u64,
    /// `following`, `failing` (the last step failed: see `lastError`) or `gone` (the
    /// source board is no longer readable).
    pub state: String,
    pub last_error: Option<String>,
    pub date_last_error: Option<String>,
    /// The webhook the mirror registered on the source for wake-ups, if any.
    #[serde(default)]
    pub id_webhook: Option<String>,
}

impl Stored for Mirror {
    const TABLE: Table = Table::Mirrors;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        Vec::new()
    }
}

impl Mirror {
    /// Seconds since the mirror last confirmed it held everything (its lag at most).
    pub fn lag_seconds(&self) -> Option<i64> {
        let synced = parse_date(self.date_synced.as_deref()?)?;
        Some((Utc::now() - synced).num_seconds().max(0))
    }

    /// The mirror as `/cork/mirrors` and the board's `cork.mirror` show it.
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        value["lagSeconds"] = json!(self.lag_seconds());
        value
    }

    /// The name the board's source-of-truth rule carries, which refusals quote.
    fn owner_name(&self) -> String {
        format!("the mirror of board {} at {}", self.source_board, self.source)
    }
}

/// What one step did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// New source actions applied, oldest first: id and type.
    pub applied: Vec<(String, String)>,
    /// Cards read again from the source, and cards removed here.
    pub cards_read: usize,
    pub cards_removed: usize,
    /// Items the import skipped (with why), which a mirror should not have.
    pub skipped: Vec<String>,
}

/// Options of a new mirror.
#[derive(Debug, Clone, Default)]
pub struct MirrorOptions {
    /// The workspace (name or id) the board is filed under.
    pub workspace: Option<String>,
    /// A Cork member (id) made an admin of the board, so someone here can read it.
    pub admin: Option<String>,
    /// Uploaded files downloaded from the source instead of kept as links (by the first
    /// import and by every step).
    pub downloads: Option<crate::import::Downloads>,
}

/// Action types after which a step reads all of the board's cards: cards came or went
/// with a whole list, and no card action names them.
const MOVES_MANY_CARDS: [&str; 2] = ["moveListToBoard", "moveListFromBoard"];

/// Ids looked up in one query.
const LOOKUP_CHUNK: usize = 500;

fn source_error(what: &str, error: String) -> String {
    format!("reading {what} from the source: {error}")
}

/// Every action of the board newer than `since` (all with `None`), oldest first. Pages
/// are read with `before=` until an empty one: a server may cap a page below [`PAGE`].
async fn actions_since(source: &dyn Source, board: &str, since: Option<&str>) -> Result<Vec<Value>, String> {
    let mut all: Vec<Value> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut path = format!("/1/boards/{board}/actions?filter=all&limit={PAGE}");
        if let Some(since) = since {
            path.push_str(&format!("&since={since}"));
        }
        if let Some(before) = &before {
            path.push_str(&format!("&before={before}"));
        }
        let page = match source.get(&path).await.map_err(|e| source_error("the board's actions", e))? {
            Reply::Found(Value::Array(page)) => page,
            Reply::Found(other) => return Err(format!("the source answered its actions with {}", short(&other))),
            Reply::Missing | Reply::Refused => return Err(GONE.into()),
        };
        // The oldest of the page; a page that does not move `before` back ends the walk.
        let oldest = page.iter().filter_map(|a| a.get("id").and_then(Value::as_str)).filter(|id| is_id(id)).min().map(str::to_string);
        all.extend(page);
        match oldest {
            Some(oldest) if before.as_deref().is_none_or(|b| oldest.as_str() < b) => before = Some(oldest),
            _ => break,
        }
    }
    all.retain(|a| a.get("id").and_then(Value::as_str).is_some_and(is_id));
    all.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    all.dedup_by(|a, b| a["id"] == b["id"]);
    Ok(all)
}

const GONE: &str = "the source board is gone (404), or these credentials can no longer read it (401/403)";

fn short(value: &Value) -> String {
    let text = value.to_string();
    text.chars().take(200).collect()
}

/// The board's own fields and small sections, as the export shape holds them.
async fn board_state(source: &dyn Source, board: &str) -> Result<Map<String, Value>, String> {
    let path = format!(
        "/1/boards/{board}?fields=all&lists=all&labels=all&label_limit=1000&customFields=true&members=all&memberships=all&actions=none&cards=none"
    );
    match source.get(&path).await.map_err(|e| source_error("the board", e))? {
        Reply::Found(Value::Object(map)) => Ok(map),
        Reply::Found(other) => Err(format!("the source answered the board with {}", short(&other))),
        Reply::Missing | Reply::Refused => Err(GONE.into()),
    }
}

const CARD_INCLUDES: &str =
    "fields=all&attachments=true&attachment_fields=all&stickers=true&customFieldItems=true&checklists=all&checklist_fields=all";

/// What a read of one card found.
enum CardRead {
    /// On the board, as the source has it now.
    Here(Value),
    /// Deleted, or on another board.
    Gone,
    /// Refused (401/403): moved to a board these credentials cannot read — or the
    /// credentials themselves stopped working, which the caller tells apart.
    Refused,
}

/// The card as the source has it now, when it is still on the board.
async fn card_state(source: &dyn Source, board_id: &str, card: &str) -> Result<CardRead, String> {
    match source.get(&format!("/1/cards/{card}?{CARD_INCLUDES}")).await.map_err(|e| source_error("a card", e))? {
        Reply::Found(card) if card.get("idBoard").and_then(Value::as_str) == Some(board_id) => Ok(CardRead::Here(card)),
        Reply::Found(card) if card.get("idBoard").and_then(Value::as_str).is_some() => Ok(CardRead::Gone),
        Reply::Found(other) => Err(format!("the source answered a card with {}", short(&other))),
        Reply::Missing => Ok(CardRead::Gone),
        Reply::Refused => Ok(CardRead::Refused),
    }
}

/// Every card of the board (open and archived) as the source has it now.
async fn all_cards(source: &dyn Source, board: &str) -> Result<Vec<Value>, String> {
    match source.get(&format!("/1/boards/{board}/cards/all?{CARD_INCLUDES}")).await.map_err(|e| source_error("the cards", e))? {
        Reply::Found(Value::Array(cards)) => Ok(cards),
        Reply::Found(other) => Err(format!("the source answered the cards with {}", short(&other))),
        Reply::Missing | Reply::Refused => Err(GONE.into()),
    }
}

/// The ids of the cards an action touched.
fn cards_of(action: &Value) -> Vec<String> {
    ["/data/card/id", "/data/cardSource/id"]
        .iter()
        .filter_map(|p| action.pointer(p).and_then(Value::as_str))
        .filter(|id| is_id(id))
        .map(str::to_string)
        .collect()
}

/// The source's state in the export shape: `board` with `lists`, `labels`, ... and the
/// given cards, their checklists moved to the top-level `checklists` the export has.
fn export_of(mut board: Map<String, Value>, cards: Vec<Value>, actions: Vec<Value>) -> Value {
    let mut checklists = Vec::new();
    let cards: Vec<Value> = cards
        .into_iter()
        .map(|mut card| {
            if let Some(Value::Array(lists)) = card.as_object_mut().and_then(|c| c.remove("checklists")) {
                checklists.extend(lists);
            }
            card
        })
        .collect();
    board.insert("cards".into(), Value::Array(cards));
    board.insert("checklists".into(), Value::Array(checklists));
    board.insert("actions".into(), Value::Array(actions));
    Value::Object(board)
}

/// Ids of a section's objects.
fn ids_in(values: &[Value]) -> HashSet<String> {
    values.iter().filter_map(|v| v.get("id").and_then(Value::as_str)).map(str::to_string).collect()
}

/// What the source holds of the parts a step read; what is missing of them here goes.
/// A section the answer does not carry (`None`) is not pruned: a source that leaves out
/// `customFields`, say, has not deleted every field.
struct Held {
    lists: Option<HashSet<String>>,
    labels: Option<HashSet<String>>,
    fields: Option<HashSet<String>>,
    cards: HashSet<String>,
    children: Vec<CardChildren>,
}

/// The checklists, attachments and stickers one card read from the source carries.
struct CardChildren {
    id: String,
    checklists: Option<HashSet<String>>,
    attachments: Option<HashSet<String>>,
    stickers: Option<HashSet<String>>,
}

impl Held {
    fn of(board: &Map<String, Value>, cards: &[Value]) -> Held {
        let section = |value: Option<&Value>| value.and_then(Value::as_array).map(|items| ids_in(items));
        Held {
            lists: section(board.get("lists")),
            labels: section(board.get("labels")),
            fields: section(board.get("customFields")),
            cards: ids_in(cards),
            children: cards
                .iter()
                .map(|c| CardChildren {
                    id: c["id"].as_str().unwrap_or_default().to_string(),
                    checklists: section(c.get("checklists")),
                    attachments: section(c.get("attachments")),
                    stickers: section(c.get("stickers")),
                })
                .collect(),
        }
    }
}

fn missing(here: Vec<String>, there: &HashSet<String>) -> Vec<String> {
    here.into_iter().filter(|id| !there.contains(id)).collect()
}

/// The ids of `table` among `ids`, looked up [`LOOKUP_CHUNK`] at a time.
async fn present(tx: &mut Tx, table: Table, ids: &[&str]) -> crate::Result<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        found.extend(tx.column(table, "id", &[Cond::any_of("id", chunk)]).await?);
    }
    Ok(found)
}

/// The later of two action ids (ids order by time).
fn later(a: Option<String>, b: Option<&str>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) if b > a.as_str() => Some(b.to_string()),
        (Some(a), _) => Some(a),
        (None, b) => b.map(str::to_string),
    }
}

impl Cork {
    /// The mirror of the source board, when one exists here.
    pub async fn mirror_of(&self, source: &str, source_board: &str) -> crate::Result<Option<Mirror>> {
        let mut tx = self.store.read().await?;
        let mirrors: Vec<Mirror> = find(&mut tx, &[], Order::None, None).await?;
        Ok(mirrors.into_iter().find(|m| m.source == source && (m.source_board == source_board || m.id == source_board)))
    }

    /// Every mirror of this instance.
    pub async fn mirrors(&self) -> crate::Result<Vec<Mirror>> {
        let mut tx = self.store.read().await?;
        let mut mirrors: Vec<Mirror> = find(&mut tx, &[], Order::None, None).await?;
        mirrors.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(mirrors)
    }

    /// The mirrors of the boards the actor can read (`GET /cork/mirrors`).
    pub async fn visible_mirrors(&self, actor: &crate::access::Actor) -> crate::Result<Vec<Mirror>> {
        actor.require_member()?;
        let mirrors = self.mirrors().await?;
        let mut tx = self.store.read().await?;
        let mut shown = Vec::new();
        for mirror in mirrors {
            let readable =
                crate::boards::board_with_role(&mut tx, actor, &mirror.id, crate::access::Role::Read, crate::access::UNAUTHORIZED)
                    .await
                    .is_ok();
            if readable {
                shown.push(mirror);
            }
        }
        Ok(shown)
    }

    /// The mirror keeping this board in step, if any.
    pub async fn board_mirror(&self, board_id: &str) -> crate::Result<Option<Mirror>> {
        let mut tx = self.store.read().await?;
        get(&mut tx, board_id).await
    }

    /// Starts mirroring: the whole board (every action, paged) imported in one
    /// transaction with the mirror's row and the board's source-of-truth lock.
    pub async fn mirror_create(
        &self,
        source: &dyn Source,
        source_board: &str,
        options: &MirrorOptions,
        scratch: &Path,
    ) -> Result<(Mirror, ImportReport), String> {
        let actions = actions_since(source, source_board, None).await?;
        let board = board_state(source, source_board).await?;
        let board_id =
            board.get("id").and_then(Value::as_str).filter(|id| is_id(id)).map(str::to_string).ok_or("the source board has no id")?;
        let cards = all_cards(source, source_board).await?;
        let newest = actions.last().cloned();
        let name = board.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let export = export_of(board, cards, actions);
        let mut mirror = Mirror {
            id: board_id.clone(),
            source: source.url().to_string(),
            source_board: source_board.to_string(),
            name,
            cursor: newest.as_ref().and_then(|a| a["id"].as_str()).map(str::to_string),
            cursor_date: newest.as_ref().and_then(|a| a["date"].as_str()).map(str::to_string),
            date_created: now(),
            date_synced: None,
            date_last_change: None,
            actions_applied: 0,
            state: "following".into(),
            last_error: None,
            date_last_error: None,
            id_webhook: None,
        };
        let import = ImportOptions {
            workspace: options.workspace.clone(),
            admin: options.admin.clone(),
            downloads: options.downloads.clone(),
            mirror: true,
            ..ImportOptions::default()
        };
        mirror.actions_applied = export["actions"].as_array().map_or(0, |a| a.len() as u64);
        let stamp = now();
        mirror.date_synced = Some(stamp.clone());
        mirror.date_last_change = Some(stamp);
        let report = self
            .in_one_transaction(|cork| {
                let (export, mirror) = (&export, &mirror);
                let import = &import;
                async move {
                    {
                        let mut tx = cork.store.write().await.map_err(db)?;
                        if get::<Mirror>(&mut tx, &mirror.id).await.map_err(db)?.is_some() {
                            return Err(format!("board {} is mirrored here already: run the mirror again to resume it", mirror.id));
                        }
                        // A mirror starts from nothing: an imported or a local board of
                        // the same id has history the mirror would silently take over.
                        if !tx.column(Table::Boards, "id", &[Cond::eq("id", &mirror.id)]).await.map_err(db)?.is_empty() {
                            return Err(format!(
                                "board {} exists here already (imported, or restored from a backup): a mirror starts from an empty slot; delete the local board first",
                                mirror.id
                            ));
                        }
                    }
                    let report = cork.import_value(export, import, scratch).await?;
                    let mut tx = cork.store.write().await.map_err(db)?;
                    insert(&mut tx, mirror).await.map_err(db)?;
                    crate::gates::set_mirror_owner(&mut tx, &mirror.id, &mirror.owner_name()).await.map_err(db)?;
                    crate::audit::change(
                        &mut tx,
                        None,
                        "mirror.created",
                        &[("idBoard", json!(mirror.id)), ("source", json!(mirror.source)), ("sourceBoard", json!(mirror.source_board))],
                    )
                    .await
                    .map_err(db)?;
                    tx.commit().await.map_err(db)?;
                    Ok(report)
                }
            })
            .await?;
        Ok((mirror, report))
    }

    /// One step: applies what the source did since the cursor, with the cursor, in one
    /// transaction. A failure leaves the mirror as it was (and is noted on it).
    pub async fn mirror_step(
        &self,
        source: &dyn Source,
        mirror: &mut Mirror,
        downloads: Option<&crate::import::Downloads>,
        scratch: &Path,
    ) -> Result<StepReport, String> {
        match self.try_step(source, mirror, downloads, scratch).await {
            Ok(report) => Ok(report),
            Err(error) => {
                let gone = error == GONE;
                let mut tx = self.store.write().await.map_err(db)?;
                if let Some(mut stored) = get::<Mirror>(&mut tx, &mirror.id).await.map_err(db)? {
                    stored.state = if gone { "gone".into() } else { "failing".into() };
                    stored.last_error = Some(error.clone());
                    stored.date_last_error = Some(now());
                    save(&mut tx, &stored).await.map_err(db)?;
                    tx.commit().await.map_err(db)?;
                    *mirror = stored;
                }
                Err(error)
            }
        }
    }

    async fn try_step(
        &self,
        source: &dyn Source,
        mirror: &mut Mirror,
        downloads: Option<&crate::import::Downloads>,
        scratch: &Path,
    ) -> Result<StepReport, String> {
        let started = now();
        let since = mirror
            .cursor
            .as_deref()
            .and_then(id_time)
            .or_else(|| parse_date(&mirror.date_created))
            .map(|at| crate::ids::id_bound(&format_date(at - Duration::seconds(OVERLAP_SECONDS))).unwrap_or_default());
        let read = actions_since(source, &mirror.source_board, since.as_deref()).await?;
        let known: HashSet<String> = {
            let ids: Vec<&str> = read.iter().filter_map(|a| a["id"].as_str()).collect();
            let mut tx = self.store.read().await.map_err(db)?;
            present(&mut tx, Table::Actions, &ids).await.map_err(db)?
        };
        let fresh: Vec<Value> = read.into_iter().filter(|a| a["id"].as_str().is_some_and(|id| !known.contains(id))).collect();
        let mut report = StepReport::default();
        if fresh.is_empty() {
            // Nothing new: only the confirmation that the mirror holds everything.
            let mut tx = self.store.write().await.map_err(db)?;
            let Some(mut stored) = get::<Mirror>(&mut tx, &mirror.id).await.map_err(db)? else {
                return Err(format!("the mirror of board {} was removed", mirror.id));
            };
            stored.date_synced = Some(started);
            stored.state = "following".into();
            save(&mut tx, &stored).await.map_err(db)?;
            tx.commit().await.map_err(db)?;
            *mirror = stored;
            return Ok(report);
        }
        let board = board_state(source, &mirror.source_board).await?;
        let board_id = mirror.id.clone();
        let answered = board.get("id").and_then(Value::as_str).unwrap_or_default();
        if answered != board_id {
            return Err(format!(
                "the source answers board {} with board {answered:?}, not the board {board_id} mirrored here",
                mirror.source_board
            ));
        }
        let named: BTreeSet<String> = fresh.iter().flat_map(cards_of).collect();
        let many = fresh.iter().any(|a| a["type"].as_str().is_some_and(|t| MOVES_MANY_CARDS.contains(&t)));
        let (cards, gone_cards, every_card) = if many || named.len() > CARDS_ONE_BY_ONE {
            (all_cards(source, &mirror.source_board).await?, Vec::new(), true)
        } else {
            let mut cards = Vec::new();
            let mut gone = Vec::new();
            let mut refused = false;
            for id in &named {
                match card_state(source, &board_id, id).await? {
                    CardRead::Here(card) => cards.push(card),
                    CardRead::Gone => gone.push(id.clone()),
                    CardRead::Refused => {
                        refused = true;
                        gone.push(id.clone());
                    }
                }
            }
            // A refused card left for a board these credentials cannot read only if they
            // still read this one: otherwise they stopped working, and nothing goes.
            if refused {
                board_state(source, &mirror.source_board).await?;
            }
            (cards, gone, false)
        };
        report.cards_read = cards.len();
        report.applied = fresh
            .iter()
            .filter_map(|a| Some((a["id"].as_str()?.to_string(), a["type"].as_str().unwrap_or_default().to_string())))
            .collect();
        let newest = fresh.last().cloned().unwrap_or_default();
        let held = Held::of(&board, &cards);
        let applied = fresh.len() as u64;
        let export = export_of(board, cards, fresh);
        let import = ImportOptions { mirror: true, downloads: downloads.cloned(), ..ImportOptions::default() };
        let mirror_id = mirror.id.clone();
        let (stored, removed, skipped) = self
            .in_one_transaction(|cork| {
                let (export, import) = (&export, &import);
                let (held, gone_cards) = (&held, &gone_cards);
                let (newest, started, mirror_id) = (&newest, &started, &mirror_id);
                async move {
                    let imported = cork.import_value(export, import, scratch).await?;
                    let mut tx = cork.store.write().await.map_err(db)?;
                    let Some(mut stored) = get::<Mirror>(&mut tx, mirror_id).await.map_err(db)? else {
                        return Err(format!("the mirror of board {mirror_id} was removed"));
                    };
                    let mut gone: Vec<String> = gone_cards.clone();
                    if every_card {
                        let here = tx.column(Table::Cards, "id", &[Cond::eq("board_id", mirror_id)]).await.map_err(db)?;
                        gone.extend(missing(here, &held.cards));
                    }
                    let pruned = prune(&mut tx, mirror_id, held, &mut gone).await.map_err(db)?;
                    // Actions read again behind the cursor (the overlap) never move it back.
                    let cursor = later(stored.cursor.clone(), newest["id"].as_str());
                    if cursor.as_deref() != stored.cursor.as_deref() {
                        stored.cursor = cursor;
                        stored.cursor_date = newest["date"].as_str().map(str::to_string);
                    }
                    stored.actions_applied += applied;
                    stored.date_synced = Some(started.clone());
                    stored.date_last_change = Some(now());
                    stored.state = "following".into();
                    save(&mut tx, &stored).await.map_err(db)?;
                    tx.commit().await.map_err(db)?;
                    // The bytes of removed uploads go once the step commits.
                    cork.files.discard(&pruned.files).await;
                    cork.pictures.discard(&pruned.pictures).await;
                    let skipped =
                        imported.skipped.iter().map(|s| format!("{} {}: {}", s.kind, s.id.as_deref().unwrap_or("-"), s.reason)).collect();
                    Ok((stored, pruned.cards, skipped))
                }
            })
            .await?;
        *mirror = stored;
        report.cards_removed = removed;
        report.skipped = skipped;
        Ok(report)
    }

    /// Runs `work` in one write pipeline: every transaction it opens is one, committed
    /// when it answers `Ok` and rolled back otherwise.
    async fn in_one_transaction<'a, T, F, Fut>(&'a self, work: F) -> Result<T, String>
    where
        F: FnOnce(&'a Cork) -> Fut,
        Fut: Future<Output = Result<T, String>> + 'a,
    {
        let pipeline = Pipeline::new(new_id(), false);
        let outcome = pipeline.scope(work(self)).await;
        let commit = outcome.is_ok();
        pipeline.finish(&self.store, commit, None).await.map_err(db)?;
        outcome
    }

    /// Imports an export held in memory (it goes through a scratch file, as the import
    /// reads files twice); a report that is not `ok` is an error.
    async fn import_value(&self, export: &Value, options: &ImportOptions, scratch: &Path) -> Result<ImportReport, String> {
        let path = scratch.join(format!("mirror-{}.json", new_id()));
        let written = std::fs::File::create(&path)
            .and_then(|file| {
                let mut out = std::io::BufWriter::new(file);
                serde_json::to_writer(&mut out, export)?;
                out.flush()
            })
            .map_err(|e| format!("writing {}: {e}", path.display()));
        let report = match written {
            Ok(()) => Ok(self.import_board(&path, options, Arc::new(Progress::default())).await),
            Err(error) => Err(error),
        };
        let _ = std::fs::remove_file(&path);
        let report = report?;
        match report.ok {
            true => Ok(report),
            false => Err(report.error.clone().unwrap_or_else(|| "the import failed".into())),
        }
    }

    /// Notes the webhook the mirror registered on the source.
    pub async fn mirror_set_webhook(&self, mirror: &mut Mirror, webhook: Option<String>) -> crate::Result<()> {
        let mut tx = self.store.write().await?;
        if let Some(mut stored) = get::<Mirror>(&mut tx, &mirror.id).await? {
            stored.id_webhook = webhook;
            save(&mut tx, &stored).await?;
            tx.commit().await?;
            *mirror = stored;
        }
        Ok(())
    }
}

fn db(error: impl std::fmt::Display) -> String {
    format!("database error: {error}")
}

/// What a step removed: the number of cards, and the stored files of the attachments
/// and stickers that went, set aside once the step commits.
#[derive(Default)]
struct Pruned {
    cards: usize,
    files: Vec<String>,
    pictures: Vec<String>,
}

impl Pruned {
    /// Notes the files of the attachments and stickers about to be deleted.
    async fn files_of(&mut self, tx: &mut Tx, which: &[Cond]) -> crate::Result<()> {
        let attachments: Vec<Attachment> = find(tx, which, Order::None, None).await?;
        self.files.extend(crate::uploads::attachment_files(&attachments));
        let stickers: Vec<Sticker> = find(tx, which, Order::None, None).await?;
        self.pictures.extend(crate::stickers::sticker_files(&stickers));
        Ok(())
    }
}

/// Removes here what the source no longer has: lists, labels and custom fields missing
/// from the board's sections (those the answer carried), the cards in `gone` (and those
/// on removed lists), and of each card read, the checklists, attachments and stickers it
/// no longer carries.
async fn prune(tx: &mut Tx, board: &str, held: &Held, gone: &mut Vec<String>) -> crate::Result<Pruned> {
    let mut pruned = Pruned::default();
    let on_board = [Cond::eq("board_id", board)];
    if let Some(lists) = &held.lists {
        let old_lists = missing(tx.column(Table::Lists, "id", &on_board).await?, lists);
        for chunk in old_lists.chunks(LOOKUP_CHUNK) {
            gone.extend(tx.column(Table::Cards, "id", &[Cond::any_of("list_id", chunk)]).await?);
            tx.delete(Table::Lists, &[Cond::any_of("id", chunk)]).await?;
        }
    }
    if let Some(labels) = &held.labels {
        let old_labels = missing(tx.column(Table::Labels, "id", &on_board).await?, labels);
        if !old_labels.is_empty() {
            for chunk in old_labels.chunks(LOOKUP_CHUNK) {
                tx.delete(Table::Labels, &[Cond::any_of("id", chunk)]).await?;
            }
            let cards: Vec<Card> = find(tx, &on_board, Order::None, None).await?;
            for mut card in cards.into_iter().filter(|c| c.id_labels.iter().any(|l| old_labels.contains(l))) {
                card.id_labels.retain(|l| !old_labels.contains(l));
                save(tx, &card).await?;
            }
        }
    }
    if let Some(fields) = &held.fields {
        let old_fields = missing(tx.column(Table::CustomFields, "id", &on_board).await?, fields);
        for chunk in old_fields.chunks(LOOKUP_CHUNK) {
            tx.delete(Table::CustomFieldItems, &[Cond::any_of("field_id", chunk)]).await?;
            tx.delete(Table::CustomFields, &[Cond::any_of("id", chunk)]).await?;
        }
    }
    for card in &held.children {
        let of_card = [Cond::eq("card_id", &card.id)];
        for (table, keep) in
            [(Table::Checklists, &card.checklists), (Table::Attachments, &card.attachments), (Table::Stickers, &card.stickers)]
        {
            let Some(keep) = keep else { continue };
            let old = missing(tx.column(table, "id", &of_card).await?, keep);
            if old.is_empty() {
                continue;
            }
            let which = [Cond::any_of("id", &old)];
            match table {
                Table::Attachments => pruned.files.extend(crate::uploads::attachment_files(&find(tx, &which, Order::None, None).await?)),
                Table::Stickers => pruned.pictures.extend(crate::stickers::sticker_files(&find(tx, &which, Order::None, None).await?)),
                _ => {}
            }
            tx.delete(table, &which).await?;
            if table == Table::Checklists {
                for id in &old {
                    tx.unindex(id).await?;
                }
            }
        }
    }
    gone.sort();
    gone.dedup();
    for chunk in gone.chunks(LOOKUP_CHUNK) {
        let cards: Vec<Card> = by_ids(tx, chunk).await?;
        let chunk: Vec<String> = cards.iter().filter(|c| c.id_board == board).map(|c| c.id.clone()).collect();
        if chunk.is_empty() {
            continue;
        }
        let of_cards = [Cond::any_of("card_id", &chunk)];
        pruned.files_of(tx, &of_cards).await?;
        for table in [Table::Checklists, Table::Attachments, Table::CardMembers, Table::CustomFieldItems, Table::Stickers] {
            tx.delete(table, &of_cards).await?;
        }
        tx.unindex_cards(&chunk).await?;
        tx.delete(Table::Cards, &[Cond::any_of("id", &chunk)]).await?;
        pruned.cards += chunk.len();
    }
    Ok(pruned)
}
