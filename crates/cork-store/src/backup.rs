//! Whole-database copies for `cork backup` and `cork restore`: every table's rows read
//! in one snapshot, and written back into an empty database of either backend. The
//! tables and their columns come from the database's own catalogue, so a backup holds
//! whatever the migrations made; the full-text index travels as its logical entries
//! (an FTS5 table on SQLite, a tsvector table on PostgreSQL), rebuilt on load.

use futures_util::TryStreamExt;
use sqlx::Row;

use crate::{note_query, Arg, Dialect, Result, SearchEntry, StoreError, Tx};

/// How a column's values travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
    Text,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

/// A table as a backup holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableShape {
    pub name: String,
    pub columns: Vec<(String, Kind)>,
}

/// The search index's logical columns, the same on both backends.
const SEARCH: &str = "search_index";
const SEARCH_COLUMNS: [&str; 5] = ["model_type", "model_id", "card_id", "name", "body"];
/// What the search index keeps entries of (`SearchEntry::model_type`).
const MODEL_TYPES: [&str; 6] = ["card", "comment", "checklist", "board", "organization", "member"];

fn kind_of(declared: &str) -> Option<Kind> {
    let declared = declared.to_ascii_lowercase();
    if declared.contains("int") || declared == "bigserial" || declared == "serial" {
        Some(Kind::Int)
    } else if declared.contains("double") || declared.contains("real") || declared.contains("float") || declared == "numeric" {
        Some(Kind::Float)
    } else if declared.contains("text") || declared.contains("char") || declared.is_empty() {
        Some(Kind::Text)
    } else {
        None
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Tx {
    /// The tables a backup holds (every table but the migrations' own and the search
    /// index's internals, plus the search index's entries), with their columns.
    pub async fn backup_shapes(&mut self) -> Result<Vec<TableShape>> {
        let names_sql = match self.dialect {
            Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            Dialect::Postgres => {
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
            }
        };
        let names: Vec<String> =
            self.fetch(names_sql, vec![]).await?.iter().map(|r| r.try_get::<String, _>(0)).collect::<std::result::Result<_, _>>()?;
        let mut shapes = Vec::new();
        for name in names {
            if name.starts_with("sqlite_") || name.starts_with("_sqlx") || name.starts_with(SEARCH) || name == "search_rows" {
                continue;
            }
            let columns_sql = match self.dialect {
                Dialect::Sqlite => format!("SELECT name, type FROM pragma_table_info('{}') ORDER BY cid", name.replace('\'', "''")),
                Dialect::Postgres => "SELECT column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position"
                    .to_string(),
            };
            let args = if self.dialect == Dialect::Postgres { vec![Arg::text(&name)] } else { vec![] };
            let mut columns = Vec::new();
            for row in self.fetch(&columns_sql, args).await? {
                let column: String = row.try_get(0)?;
                let declared: String = row.try_get(1)?;
                let kind = kind_of(&declared)
                    .ok_or_else(|| StoreError::Invalid(format!("backup: {name}.{column} has type {declared}, which Cork does not copy")))?;
                columns.push((column, kind));
            }
            shapes.push(TableShape { name, columns });
        }
        shapes.push(TableShape { name: SEARCH.into(), columns: SEARCH_COLUMNS.iter().map(|c| (c.to_string(), Kind::Text)).collect() });
        Ok(shapes)
    }

    /// Hands every row of `shape`'s table to `each`, in the shape's column order, as the
    /// database streams them (one row in memory at a time). Answers the row count.
    pub async fn dump_table(&mut self, shape: &TableShape, each: &mut (dyn FnMut(Vec<Cell>) -> std::io::Result<()> + Send)) -> Result<u64> {
        note_query();
        let columns: Vec<String> = shape.columns.iter().map(|(c, _)| quoted(c)).collect();
        let sql = format!("SELECT {} FROM {}", columns.join(", "), quoted(&shape.name));
        let inner = self.inner();
        let mut rows = sqlx::query(&sql).fetch(&mut *inner.tx);
        let mut count = 0;
        while let Some(row) = rows.try_next().await? {
            let mut cells = Vec::with_capacity(shape.columns.len());
            for (i, (_, kind)) in shape.columns.iter().enumerate() {
                let cell = match kind {
                    Kind::Int => row.try_get::<Option<i64>, _>(i)?.map_or(Cell::Null, Cell::Int),
                    Kind::Float => row.try_get::<Option<f64>, _>(i)?.map_or(Cell::Null, Cell::Float),
                    Kind::Text => row.try_get::<Option<String>, _>(i)?.map_or(Cell::Null, Cell::Text),
                };
                cells.push(cell);
            }
            each(cells).map_err(|e| StoreError::Invalid(format!("writing the backup: {e}")))?;
            count += 1;
        }
        Ok(count)
    }

    /// Whether any of `tables` holds a row (a restore goes into an empty database only).
    pub async fn holds_rows(&mut self, tables: &[&str]) -> Result<bool> {
        for table in tables {
            let sql = format!("SELECT 1 FROM {} LIMIT 1", quoted(table));
            if !self.fetch(&sql, vec![]).await?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Empties a table of this database's `shapes` (what the migrations seeded).
    pub async fn clear_table(&mut self, shape: &TableShape) -> Result<()> {
        self.exec(&format!("DELETE FROM {}", quoted(&shape.name)), vec![]).await?;
        if shape.name == SEARCH && self.dialect == Dialect::Sqlite {
            self.exec("DELETE FROM search_rows", vec![]).await?;
        }
        Ok(())
    }

    /// Inserts one row into `shape`'s table; `cells` are in `shape`'s column order
    /// (`None`: not in the backup, the column's default applies).
    pub async fn load_row(&mut self, shape: &TableShape, cells: Vec<Option<Cell>>) -> Result<()> {
        if shape.name == SEARCH {
            let text = |cell: &Option<Cell>| match cell {
                Some(Cell::Text(t)) => Some(t.clone()),
                _ => None,
            };
            let kind = text(&cells[0]).unwrap_or_default();
            let model_type = MODEL_TYPES
                .iter()
                .copied()
                .find(|t| *t == kind)
                .ok_or_else(|| StoreError::Invalid(format!("backup: unknown search entry type {kind:?}")))?;
            let entry = SearchEntry {
                model_type,
                model_id: text(&cells[1]).unwrap_or_default(),
                card_id: text(&cells[2]),
                name: text(&cells[3]).unwrap_or_default(),
                body: text(&cells[4]).unwrap_or_default(),
            };
            return self.index_new(&entry).await;
        }
        let mut names = Vec::new();
        let mut marks = Vec::new();
        let mut sql_args: Vec<(Kind, Cell)> = Vec::new();
        for ((column, kind), cell) in shape.columns.iter().zip(cells) {
            let Some(cell) = cell else { continue };
            names.push(quoted(column));
            marks.push(format!("${}", names.len()));
            sql_args.push((*kind, cell));
        }
        let sql = format!("INSERT INTO {} ({}) VALUES ({})", quoted(&shape.name), names.join(", "), marks.join(", "));
        let sql = self.adapt(&sql);
        let mut query = sqlx::query(&sql);
        for (kind, cell) in sql_args {
            // A NULL is bound with its column's type: PostgreSQL refuses a text NULL in a
            // bigint column.
            query = match (kind, cell) {
                (Kind::Int, Cell::Int(v)) => query.bind(v),
                (Kind::Float, Cell::Float(v)) => query.bind(v),
                (Kind::Float, Cell::Int(v)) => query.bind(v as f64),
                (Kind::Text, Cell::Text(v)) => query.bind(v),
                (Kind::Int, Cell::Null) => query.bind(Option::<i64>::None),
                (Kind::Float, Cell::Null) => query.bind(Option::<f64>::None),
                (Kind::Text, Cell::Null) => query.bind(Option::<String>::None),
                (kind, cell) => {
                    return Err(StoreError::Invalid(format!("backup: {cell:?} does not fit a {kind:?} column of {}", shape.name)))
                }
            };
        }
        note_query();
        let inner = self.inner();
        query.execute(&mut *inner.tx).await?;
        Ok(())
    }

    /// After a load: PostgreSQL's sequences go past the ids the rows brought.
    pub async fn after_load(&mut self) -> Result<()> {
        if self.dialect != Dialect::Postgres {
            return Ok(());
        }
        let serials = self
            .fetch(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'",
                vec![],
            )
            .await?;
        for row in serials {
            let (table, column): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)",
                quoted(&column),
                quoted(&table)
            );
            self.fetch(&sql, vec![Arg::text(&table), Arg::text(&column)]).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_kinds() {
        assert_eq!(kind_of("INTEGER"), Some(Kind::Int));
        assert_eq!(kind_of("bigint"), Some(Kind::Int));
        assert_eq!(kind_of("double precision"), Some(Kind::Float));
        assert_eq!(kind_of("REAL"), Some(Kind::Float));
        assert_eq!(kind_of("TEXT"), Some(Kind::Text));
        assert_eq!(kind_of("tsvector"), None);
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }
}
