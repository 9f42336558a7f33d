//! `cork backup FILE` and `cork restore FILE`: a whole instance — every table's rows, the
//! search index's entries and the uploaded files — in one file that restores into an
//! empty database of either backend (SQLite → PostgreSQL and back).
//!
//! The rows are read in one snapshot (a read transaction: `REPEATABLE READ` on
//! PostgreSQL, a WAL snapshot on SQLite), so a backup taken while the server runs is
//! consistent, and writes go on meanwhile. Files are written under a key once and never
//! changed, so copying them after the rows gives every file a row names.
//!
//! The file is JSON lines: a header, then per table a line with its columns followed by
//! one line per row (an array in column order), then one line per file (base64), then an
//! end line with the counts, without which a restore refuses the file as cut short. A
//! restore is one transaction: a bad or cut-short file leaves the database as it was.

use std::io::{BufRead, Write};
use std::path::{Component, Path, PathBuf};

use base64::Engine;
use cork_store::backup::{Cell, Kind, TableShape};
use serde::Serialize;
use serde_json::{json, Value};

use crate::{Cork, DomainError, Result};

const FORMAT: u64 = 1;

/// What a backup or restore copied.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BackupSummary {
    pub tables: u64,
    pub rows: u64,
    pub files: u64,
    pub file_bytes: u64,
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "int",
        Kind::Float => "float",
        Kind::Text => "text",
    }
}

fn cell_json(cell: Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Int(v) => json!(v),
        Cell::Float(v) => json!(v),
        Cell::Text(v) => Value::String(v),
    }
}

fn bad(message: impl Into<String>) -> DomainError {
    DomainError::BadRequest(message.into())
}

fn io(what: &str) -> impl Fn(std::io::Error) -> DomainError + '_ {
    move |e| DomainError::Internal(format!("{what}: {e}"))
}

/// The file stores a backup carries, by the name they travel under.
fn roots(cork: &Cork) -> Vec<(&'static str, PathBuf)> {
    [("attachments", cork.files.root()), ("pictures", cork.pictures.root())]
        .into_iter()
        .filter_map(|(name, root)| Some((name, root?.to_path_buf())))
        .collect()
}

/// A file's place under its store: `xx/KEY` or `trash/KEY` (32 hex digits), nothing else,
/// so a crafted backup cannot write outside the data directory.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let parts: Vec<Component> = Path::new(path).components().collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    match parts.as_slice() {
        [Component::Normal(dir), Component::Normal(key)] => {
            let (dir, key) = (dir.to_str()?, key.to_str()?);
            ((hex(dir, 2) || dir == "trash") && hex(key, 32)).then(|| Path::new(dir).join(key))
        }
        _ => None,
    }
}

impl Cork {
    /// Writes the whole instance to `out`.
    pub async fn backup(&self, out: &mut (dyn Write + Send)) -> Result<BackupSummary> {
        let mut summary = BackupSummary::default();
        // Objects in an object store are not copied: say so where the operator sees it.
        for store in [&self.files, &self.pictures] {
            if store.is_enabled() && store.root().is_none() {
                tracing::warn!(
                    store = %store.shown(),
                    "uploaded files in an object store are not in this backup: back the bucket up with the store's own means"
                );
            }
        }
        let write = |out: &mut (dyn Write + Send), value: &Value| -> std::io::Result<()> {
            serde_json::to_writer(&mut *out, value)?;
            out.write_all(b"\n")
        };
        let header = json!({"corkBackup": FORMAT, "date": crate::now(), "from": format!("{:?}", self.store.dialect()).to_lowercase()});
        write(out, &header).map_err(io("writing the backup"))?;
        let mut tx = self.store.read().await?;
        for shape in tx.backup_shapes().await? {
            let columns: Vec<Value> = shape.columns.iter().map(|(c, k)| json!([c, kind_name(*k)])).collect();
            write(out, &json!({"table": shape.name, "columns": columns})).map_err(io("writing the backup"))?;
            let mut each = |cells: Vec<Cell>| write(out, &Value::Array(cells.into_iter().map(cell_json).collect()));
            summary.rows += tx.dump_table(&shape, &mut each).await?;
            summary.tables += 1;
        }
        drop(tx);
        for (name, root) in roots(self) {
            let mut dirs = match std::fs::read_dir(&root) {
                Ok(dirs) => dirs.filter_map(|d| d.ok()).map(|d| d.path()).collect::<Vec<_>>(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("reading the files")(e)),
            };
            dirs.sort();
            for dir in dirs.into_iter().filter(|d| d.is_dir()) {
                let mut files: Vec<PathBuf> =
                    std::fs::read_dir(&dir).map_err(io("reading the files"))?.filter_map(|f| f.ok()).map(|f| f.path()).collect();
                files.sort();
                for file in files {
                    let Ok(relative) = file.strip_prefix(&root) else { continue };
                    let Some(relative) = relative.to_str().and_then(safe_relative) else { continue };
                    let bytes = std::fs::read(&file).map_err(io("reading a file"))?;
                    summary.files += 1;
                    summary.file_bytes += bytes.len() as u64;
                    let line = json!({"file": format!("{name}/{}", relative.display()), "data": base64::engine::general_purpose::STANDARD.encode(&bytes)});
                    write(out, &line).map_err(io("writing the backup"))?;
                }
            }
        }
        write(out, &json!({"end": summary})).map_err(io("writing the backup"))?;
        out.flush().map_err(io("writing the backup"))?;
        Ok(summary)
    }

    /// Loads a backup into this instance, whose database must hold no members or boards.
    pub async fn restore(&self, input: &mut (dyn BufRead + Send)) -> Result<BackupSummary> {
        let mut lines = input.lines();
        let mut next = |what: &str| -> Result<Option<Value>> {
            match lines.next() {
                None => Ok(None),
                Some(line) => {
                    let line = line.map_err(io("reading the backup"))?;
                    serde_json::from_str(&line).map(Some).map_err(|e| bad(format!("not a Cork backup: {what} is not JSON ({e})")))
                }
            }
        };
        let header = next("the first line")?.ok_or_else(|| bad("the backup is empty"))?;
        if header.get("corkBackup").and_then(Value::as_u64) != Some(FORMAT) {
            return Err(bad(format!("not a Cork backup (format {FORMAT}): the first line is {}", truncate(&header))));
        }
        let mut tx = self.store.write().await?;
        let shapes = tx.backup_shapes().await?;
        if tx.holds_rows(&["members", "boards", "organizations"]).await? {
            return Err(bad("a restore goes into an empty database: this one holds members, boards or workspaces"));
        }
        // What the migrations seeded gives way to the backup's rows.
        for shape in &shapes {
            tx.clear_table(shape).await?;
        }
        let mut summary = BackupSummary::default();
        let mut written: Vec<PathBuf> = Vec::new();
        // (the target's shape, for each of the file's columns its place in it, and kind)
        let mut current: Option<(&TableShape, Vec<(usize, Kind)>)> = None;
        let mut ended = None;
        let outcome: Result<()> = async {
            while let Some(line) = next("a line")? {
                match line {
                    Value::Array(values) => {
                        let (shape, places) = current.as_ref().ok_or_else(|| bad("a row comes before its table"))?;
                        if values.len() != places.len() {
                            return Err(bad(format!("a row of {} has {} values for {} columns", shape.name, values.len(), places.len())));
                        }
                        let mut cells: Vec<Option<Cell>> = vec![None; shape.columns.len()];
                        for (value, (place, kind)) in values.into_iter().zip(places) {
                            cells[*place] = Some(
                                cell_from(value, *kind)
                                    .ok_or_else(|| bad(format!("a value of {} is not a {}", shape.name, kind_name(*kind))))?,
                            );
                        }
                        tx.load_row(shape, cells).await?;
                        summary.rows += 1;
                    }
                    Value::Object(object) if object.contains_key("table") => {
                        let name = object["table"].as_str().unwrap_or_default();
                        let shape = shapes
                            .iter()
                            .find(|s| s.name == name)
                            .ok_or_else(|| bad(format!("the backup has a table {name:?} this Cork does not")))?;
                        let mut places = Vec::new();
                        for column in object.get("columns").and_then(Value::as_array).into_iter().flatten() {
                            let (column, kind) = (column[0].as_str().unwrap_or_default(), column[1].as_str().unwrap_or_default());
                            let place = shape
                                .columns
                                .iter()
                                .position(|(c, _)| c == column)
                                .ok_or_else(|| bad(format!("the backup has a column {name}.{column} this Cork does not")))?;
                            let kind = match kind {
                                "int" => Kind::Int,
                                "float" => Kind::Float,
                                "text" => Kind::Text,
                                other => return Err(bad(format!("unknown column kind {other:?}"))),
                            };
                            places.push((place, kind));
                        }
                        current = Some((shape, places));
                        summary.tables += 1;
                    }
                    Value::Object(object) if object.contains_key("file") => {
                        let path = object["file"].as_str().unwrap_or_default();
                        let (store, relative) = path.split_once('/').unwrap_or(("", ""));
                        let root = roots(self).into_iter().find(|(name, _)| *name == store).map(|(_, root)| root);
                        let (Some(root), Some(relative)) = (root, safe_relative(relative)) else {
                            return Err(bad(format!("the backup names a file {path:?} outside the file stores")));
                        };
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(object.get("data").and_then(Value::as_str).unwrap_or_default())
                            .map_err(|_| bad(format!("the data of {path} is not base64")))?;
                        let target = root.join(&relative);
                        if let Some(parent) = target.parent() {
                            std::fs::create_dir_all(parent).map_err(io("writing a file"))?;
                        }
                        if !target.exists() {
                            std::fs::write(&target, &bytes).map_err(io("writing a file"))?;
                            written.push(target);
                        }
                        summary.files += 1;
                        summary.file_bytes += bytes.len() as u64;
                    }
                    Value::Object(object) if object.contains_key("end") => {
                        ended = Some(object["end"].clone());
                        break;
                    }
                    other => return Err(bad(format!("not a Cork backup line: {}", truncate(&other)))),
                }
            }
            let Some(end) = ended else {
                return Err(bad("the backup is cut short: it has no end line"));
            };
            let expected: BackupSummary = BackupSummary {
                tables: end["tables"].as_u64().unwrap_or(u64::MAX),
                rows: end["rows"].as_u64().unwrap_or(u64::MAX),
                files: end["files"].as_u64().unwrap_or(u64::MAX),
                file_bytes: end["file_bytes"].as_u64().unwrap_or(u64::MAX),
            };
            if expected != summary {
                return Err(bad(format!("the backup's end line counts {expected:?}, its lines hold {summary:?}")));
            }
            tx.after_load().await?;
            Ok(())
        }
        .await;
        let committed = match outcome {
            Ok(()) => tx.commit().await.map_err(DomainError::from),
            Err(error) => Err(error),
        };
        if committed.is_err() {
            for file in &written {
                let _ = std::fs::remove_file(file);
            }
        }
        committed.map(|()| summary)
    }
}

fn cell_from(value: Value, kind: Kind) -> Option<Cell> {
    Some(match (value, kind) {
        (Value::Null, _) => Cell::Null,
        (Value::Number(n), Kind::Int) => Cell::Int(n.as_i64()?),
        (Value::Number(n), Kind::Float) => Cell::Float(n.as_f64()?),
        (Value::String(s), Kind::Text) => Cell::Text(s),
        _ => return None,
    })
}

fn truncate(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_file_keys_are_restored() {
        let key = "0123456789abcdef0123456789abcdef";
        assert_eq!(safe_relative(&format!("01/{key}")), Some(Path::new("01").join(key)));
        assert_eq!(safe_relative(&format!("trash/{key}")), Some(Path::new("trash").join(key)));
        for bad in
            ["../etc/passwd", &format!("/01/{key}"), &format!("01/../{key}"), "01/short", &format!("zz/{key}"), &format!("01/{key}/x")]
        {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
    }
}
