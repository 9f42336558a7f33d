//! A board in Trello's export shape (what a board's "Export as JSON" gives): the board's
//! fields, then `actions`, `cards`, `checklists`, `customFields`, `labels`, `lists`,
//! `members`, `memberships` and `pluginData`, so the file imports into Cork or any
//! Trello importer again.
//!
//! Every part is read through the public API as the exporting member (so an export shows
//! exactly what that member may read), the board's parts first and then its actions,
//! newest first, a page at a time straight into the output: the actions, by far the
//! largest part, are never held whole.

use bytes::Bytes;
use cork_core::Actor;
use futures_util::Stream;
use serde_json::{Map, Value};

use crate::App;

/// Actions per page read from the board's action history.
const PAGE: usize = 1000;

/// What keeps an export from starting: the status and Trello-form body of the read
/// that failed.
#[derive(Debug)]
pub struct ExportError {
    pub status: u16,
    pub body: Value,
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.body {
            Value::String(message) => write!(f, "{} {message}", self.status),
            other => write!(f, "{} {other}", self.status),
        }
    }
}

/// The export's parts other than the actions, read as `actor`.
pub struct Export {
    app: App,
    actor: Actor,
    /// The board's own id and shortLink (the reference may have been either).
    pub id: String,
    pub short_link: String,
    pub name: String,
    head: Map<String, Value>,
    tail: Map<String, Value>,
}

async fn read(app: &App, actor: &Actor, uri: String) -> Result<Value, ExportError> {
    match crate::call_as(app.clone(), actor.clone(), "GET", &uri, Value::Null).await {
        (200, body) => Ok(body),
        (status, body) => Err(ExportError { status, body }),
    }
}

impl Export {
    /// Reads everything but the actions; fails as the first read does (no such board,
    /// no right to read it).
    pub async fn start(app: &App, actor: Actor, reference: &str) -> Result<Export, ExportError> {
        let reference = percent_encoding::utf8_percent_encode(reference, percent_encoding::NON_ALPHANUMERIC).to_string();
        let Value::Object(head) = read(app, &actor, format!("/1/boards/{reference}?fields=all")).await? else {
            return Err(ExportError { status: 500, body: Value::String("the board is not an object".into()) });
        };
        let id = head.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let short_link = head.get("shortLink").and_then(Value::as_str).unwrap_or_default().to_string();
        let name = head.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let parts = [
            ("cards", "cards/all?attachments=true&customFieldItems=true&stickers=true&pluginData=true&checkItemStates=true"),
            ("checklists", "checklists?filter=all&checkItems=all"),
            ("customFields", "customFields"),
            ("labels", "labels?limit=1000"),
            ("lists", "lists/all"),
            // A member as Trello's export shows one: no email, prefs or login details.
            ("members", "members?fields=id,username,fullName,initials,avatarHash,avatarUrl,bio,bioData,confirmed,memberType,url,status,idEnterprise,activityBlocked,idMemberReferrer,nonPublic,nonPublicAvailable,products,idPremOrgsAdmin"),
            ("memberships", "memberships?filter=all"),
        ];
        let mut tail = Map::new();
        for (key, path) in parts {
            tail.insert(key.to_string(), read(app, &actor, format!("/1/boards/{id}/{path}")).await?);
        }
        // Cork keeps no Power-Up data: the key is there, empty, as on a board without any.
        tail.insert("pluginData".into(), Value::Array(Vec::new()));
        // Each key once: the board's own `memberships` field gives way to the section.
        let mut head = head;
        head.retain(|key, _| key != "actions" && !tail.contains_key(key));
        Ok(Export { app: app.clone(), actor, id, short_link, name, head, tail })
    }

    /// A file name for the export: the shortLink and the board's name, as Trello names it.
    pub fn file_name(&self) -> String {
        let slug: String = self
            .name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        if slug.is_empty() {
            format!("{}.json", self.short_link)
        } else {
            format!("{}-{slug}.json", self.short_link)
        }
    }

    /// The export as bytes: the head, the actions a page at a time, the tail.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        enum Stage {
            Head,
            Actions { before: Option<String>, written: bool },
            Tail,
            Done,
        }
        let head = object_open(&self.head);
        let tail = object_close(&self.tail);
        let Export { app, actor, id, .. } = self;
        let state = (Stage::Head, head, tail);
        futures_util::stream::unfold(state, move |(stage, head, tail)| {
            let (app, actor, id) = (app.clone(), actor.clone(), id.clone());
            async move {
                match stage {
                    Stage::Head => Some((Ok(Bytes::from(head)), (Stage::Actions { before: None, written: false }, String::new(), tail))),
                    Stage::Actions { before, written } => {
                        let cursor = before.as_deref().map(|b| format!("&before={b}")).unwrap_or_default();
                        let uri = format!("/1/boards/{id}/actions?filter=all&limit={PAGE}{cursor}");
                        let Ok(Value::Array(page)) = read(&app, &actor, uri).await else {
                            // The body is cut short, so the reader sees a broken file, never a partial one that parses.
                            let error = std::io::Error::other("reading the board's actions failed");
                            return Some((Err(error), (Stage::Done, String::new(), String::new())));
                        };
                        let mut out = String::new();
                        for (i, action) in page.iter().enumerate() {
                            if written || i > 0 {
                                out.push(',');
                            }
                            out.push_str(&action.to_string());
                        }
                        let last = page.last().and_then(|a| a.get("id")).and_then(Value::as_str).map(str::to_string);
                        let next = match last {
                            Some(last) if page.len() == PAGE => Stage::Actions { before: Some(last), written: true },
                            _ => Stage::Tail,
                        };
                        Some((Ok(Bytes::from(out)), (next, String::new(), tail)))
                    }
                    Stage::Tail => Some((Ok(Bytes::from(tail)), (Stage::Done, String::new(), String::new()))),
                    Stage::Done => None,
                }
            }
        })
    }
}

/// `{"a":1,"b":2` + `,"actions":[`.
fn object_open(head: &Map<String, Value>) -> String {
    let mut text = Value::Object(head.clone()).to_string();
    text.pop();
    if head.is_empty() {
        text.push_str("\"actions\":[");
    } else {
        text.push_str(",\"actions\":[");
    }
    text
}

/// `],` + `"c":3,"d":4}`.
fn object_close(tail: &Map<String, Value>) -> String {
    let text = Value::Object(tail.clone()).to_string();
    if tail.is_empty() {
        "]}".to_string()
    } else {
        format!("],{}", &text[1..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn head_and_tail_frame_the_actions() {
        let head = json!({"id": "b", "name": "x"}).as_object().cloned().unwrap();
        let tail = json!({"cards": [], "lists": [1]}).as_object().cloned().unwrap();
        let text = format!("{}{}{}", object_open(&head), r#"{"id":"a1"},{"id":"a2"}"#, object_close(&tail));
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value, json!({"id": "b", "name": "x", "actions": [{"id": "a1"}, {"id": "a2"}], "cards": [], "lists": [1]}));
        let empty = format!("{}{}", object_open(&Map::new()), object_close(&Map::new()));
        assert_eq!(serde_json::from_str::<Value>(&empty).unwrap(), json!({"actions": []}));
    }
}
