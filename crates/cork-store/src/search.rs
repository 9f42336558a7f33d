//! The full-text index: the one place where the two backends need different SQL
//! (FTS5 `MATCH` on SQLite, `tsvector @@ tsquery` on PostgreSQL).

use sqlx::Row;

use crate::{Arg, Dialect, Result, Tx};

/// One searchable thing.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchEntry {
    /// `card`, `comment`, `checklist`, `board`, `organization` or `member`.
    pub model_type: &'static str,
    pub model_id: String,
    /// The card a comment or checklist belongs to (and a card's own id).
    pub card_id: Option<String>,
    pub name: String,
    pub body: String,
}

/// A hit: the model id and the card it belongs to, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub model_id: String,
    pub card_id: Option<String>,
}

/// Splits free text into the words both engines index (letters and digits).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

impl Tx {
    /// Puts (or replaces) an entry in the index.
    pub async fn index(&mut self, entry: &SearchEntry) -> Result<()> {
        self.unindex(&entry.model_id).await?;
        self.index_new(entry).await
    }

    /// [`index`](Self::index) for an object inserted in this transaction, which has no
    /// entry to replace (two statements fewer on every create; an entry left behind
    /// would fail the insert on its unique `model_id`, not pass unseen).
    pub async fn index_new(&mut self, entry: &SearchEntry) -> Result<()> {
        self.insert_raw(
            "INSERT INTO search_index (model_type, model_id, card_id, name, body) VALUES ($1, $2, $3, $4, $5)",
            vec![
                Arg::text(entry.model_type),
                Arg::text(&entry.model_id),
                Arg::opt(entry.card_id.clone()),
                Arg::text(&entry.name),
                Arg::text(&entry.body),
            ],
        )
        .await?;
        if self.dialect == Dialect::Sqlite {
            // The new FTS5 row's rowid, for removals by model or card (see migration 0012).
            self.insert_raw(
                "INSERT INTO search_rows (entry, model_id, card_id) VALUES (last_insert_rowid(), $1, $2)",
                vec![Arg::text(&entry.model_id), Arg::opt(entry.card_id.clone())],
            )
            .await?;
        }
        Ok(())
    }

    /// Puts (or replaces) many entries, a few statements for hundreds (a bulk load).
    pub async fn index_many(&mut self, entries: &[SearchEntry]) -> Result<()> {
        for chunk in entries.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let ids = || chunk.iter().map(|e| Arg::text(&e.model_id)).collect::<Vec<_>>();
            match self.dialect {
                Dialect::Sqlite => {
                    let sql = format!(
                        "DELETE FROM search_index WHERE rowid IN (SELECT entry FROM search_rows WHERE model_id IN ({}))",
                        marks.join(", ")
                    );
                    self.insert_raw(&sql, ids()).await?;
                    self.insert_raw(&format!("DELETE FROM search_rows WHERE model_id IN ({})", marks.join(", ")), ids()).await?;
                    // FTS5 rows are found by rowid: each new entry gets the next one
                    // explicitly, so its search_rows line is known without asking.
                    let base = self.fetch("SELECT COALESCE(MAX(rowid), 0) FROM search_index", vec![]).await?;
                    let base: i64 = base.first().map(|r| sqlx::Row::try_get(r, 0)).transpose()?.unwrap_or(0);
                    let (mut entries_sql, mut entries_args) = (Vec::new(), Vec::new());
                    let (mut rows_sql, mut rows_args) = (Vec::new(), Vec::new());
                    for (i, entry) in chunk.iter().enumerate() {
                        let rowid = base + 1 + i as i64;
                        let n = entries_args.len();
                        entries_sql.push(format!("(${}, ${}, ${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4, n + 5, n + 6));
                        entries_args.extend([
                            Arg::Int(rowid),
                            Arg::text(entry.model_type),
                            Arg::text(&entry.model_id),
                            Arg::opt(entry.card_id.clone()),
                            Arg::text(&entry.name),
                            Arg::text(&entry.body),
                        ]);
                        let m = rows_args.len();
                        rows_sql.push(format!("(${}, ${}, ${})", m + 1, m + 2, m + 3));
                        rows_args.extend([Arg::Int(rowid), Arg::text(&entry.model_id), Arg::opt(entry.card_id.clone())]);
                    }
                    let sql = format!(
                        "INSERT INTO search_index (rowid, model_type, model_id, card_id, name, body) VALUES {}",
                        entries_sql.join(", ")
                    );
                    self.insert_raw(&sql, entries_args).await?;
                    self.insert_raw(
                        &format!("INSERT INTO search_rows (entry, model_id, card_id) VALUES {}", rows_sql.join(", ")),
                        rows_args,
                    )
                    .await?;
                }
                Dialect::Postgres => {
                    self.insert_raw(&format!("DELETE FROM search_index WHERE model_id IN ({})", marks.join(", ")), ids()).await?;
                    let (mut tuples, mut args) = (Vec::new(), Vec::new());
                    for entry in chunk {
                        let n = args.len();
                        tuples.push(format!("(${}, ${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4, n + 5));
                        args.extend([
                            Arg::text(entry.model_type),
                            Arg::text(&entry.model_id),
                            Arg::opt(entry.card_id.clone()),
                            Arg::text(&entry.name),
                            Arg::text(&entry.body),
                        ]);
                    }
                    let sql = format!("INSERT INTO search_index (model_type, model_id, card_id, name, body) VALUES {}", tuples.join(", "));
                    self.insert_raw(&sql, args).await?;
                }
            }
        }
        Ok(())
    }

    /// Removes an entry.
    pub async fn unindex(&mut self, model_id: &str) -> Result<()> {
        match self.dialect {
            Dialect::Sqlite => {
                self.insert_raw(
                    "DELETE FROM search_index WHERE rowid IN (SELECT entry FROM search_rows WHERE model_id = $1)",
                    vec![Arg::text(model_id)],
                )
                .await?;
                self.insert_raw("DELETE FROM search_rows WHERE model_id = $1", vec![Arg::text(model_id)]).await
            }
            Dialect::Postgres => self.insert_raw("DELETE FROM search_index WHERE model_id = $1", vec![Arg::text(model_id)]).await,
        }
    }

    /// Removes every entry of the given cards (their comments and checklists too).
    pub async fn unindex_cards(&mut self, card_ids: &[String]) -> Result<()> {
        for chunk in card_ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let args = || chunk.iter().map(Arg::text).collect();
            match self.dialect {
                Dialect::Sqlite => {
                    let sql = format!(
                        "DELETE FROM search_index WHERE rowid IN (SELECT entry FROM search_rows WHERE card_id IN ({}))",
                        marks.join(", ")
                    );
                    self.insert_raw(&sql, args()).await?;
                    self.insert_raw(&format!("DELETE FROM search_rows WHERE card_id IN ({})", marks.join(", ")), args()).await?;
                }
                Dialect::Postgres => {
                    let sql = format!("DELETE FROM search_index WHERE card_id IN ({})", marks.join(", "));
                    self.insert_raw(&sql, args()).await?;
                }
            }
        }
        Ok(())
    }

    /// The cards where each of `words` (as a prefix when `partial`) is in the card's own
    /// text, a comment on it or one of its checklists (not necessarily all in the same
    /// one): every such card, in no order, from one statement that intersects the
    /// cards of each word. Unlike [`search`](Self::search) nothing is ranked or cut
    /// off, so a common word costs a walk of its index entries, not a relevance score
    /// and a sort of each — nor does a card fall out of the set because thousands of
    /// others outranked it.
    pub async fn cards_with_words(&mut self, words: &[String], partial: bool) -> Result<Vec<String>> {
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let mut parts = Vec::with_capacity(words.len());
        let mut args = Vec::with_capacity(words.len());
        for (n, word) in words.iter().enumerate() {
            let mark = n + 1;
            match self.dialect {
                // search_rows holds each entry's card, so the FTS5 content is not read.
                Dialect::Sqlite => {
                    parts.push(format!(
                        "SELECT r.card_id FROM search_index JOIN search_rows r ON r.entry = search_index.rowid \
                         WHERE search_index MATCH ${mark} AND r.card_id IS NOT NULL"
                    ));
                    args.push(Arg::Text(format!("\"{}\"{}", word.replace('"', "\"\""), if partial { "*" } else { "" })));
                }
                Dialect::Postgres => {
                    parts.push(format!(
                        "SELECT card_id FROM search_index WHERE tsv @@ to_tsquery('simple', ${mark}) AND card_id IS NOT NULL"
                    ));
                    args.push(Arg::Text(format!("'{}'{}", word.replace('\'', "''"), if partial { ":*" } else { "" })));
                }
            }
        }
        // INTERSECT also drops duplicates, so one word needs its own DISTINCT.
        let sql = if parts.len() == 1 { parts[0].replacen("SELECT ", "SELECT DISTINCT ", 1) } else { parts.join(" INTERSECT ") };
        let rows = self.fetch(&sql, args).await?;
        rows.iter().map(|row| Ok(row.try_get::<String, _>(0)?)).collect()
    }

    /// Entries of `model_type` whose text has every word of `words` (as prefixes when
    /// `partial`), best first, at most `limit`.
    pub async fn search(&mut self, model_type: &str, words: &[String], partial: bool, limit: i64) -> Result<Vec<SearchHit>> {
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let (sql, query) = match self.dialect {
            Dialect::Sqlite => {
                let expr: Vec<String> =
                    words.iter().map(|w| format!("\"{}\"{}", w.replace('"', "\"\""), if partial { "*" } else { "" })).collect();
                (
                    "SELECT model_id, card_id FROM search_index WHERE search_index MATCH $1 AND model_type = $2 ORDER BY rank LIMIT $3",
                    expr.join(" AND "),
                )
            }
            Dialect::Postgres => {
                let expr: Vec<String> =
                    words.iter().map(|w| format!("'{}'{}", w.replace('\'', "''"), if partial { ":*" } else { "" })).collect();
                (
                    "SELECT model_id, card_id FROM search_index WHERE tsv @@ to_tsquery('simple', $1) AND model_type = $2 \
                     ORDER BY ts_rank(tsv, to_tsquery('simple', $1)) DESC LIMIT $3",
                    expr.join(" & "),
                )
            }
        };
        let rows = self.fetch(sql, vec![Arg::Text(query), Arg::text(model_type), Arg::Int(limit)]).await?;
        rows.iter()
            .map(|row| Ok(SearchHit { model_id: row.try_get::<String, _>(0)?, card_id: row.try_get::<Option<String>, _>(1)? }))
            .collect()
    }
}
