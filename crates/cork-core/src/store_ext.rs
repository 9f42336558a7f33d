//! Typed reads and writes over the store: each object knows its table and the
//! columns the store indexes; the rest of it travels as the JSON document.

use cork_store::{Arg, Cond, Order, SearchEntry, Table, Tx};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::model::*;
use crate::Result;

/// An object with a row of its own.
pub(crate) trait Stored: Serialize + DeserializeOwned {
    const TABLE: Table;
    fn id(&self) -> &str;
    /// The indexed columns besides `id` and `doc`.
    fn columns(&self) -> Vec<(&'static str, Arg)>;
    /// Takes the value of the table's live column (see `cork_store::DocRow`).
    fn set_live(&mut self, _live: String) {}
    /// What the full-text index keeps of it, if it is searchable.
    fn search_entry(&self) -> Option<SearchEntry> {
        None
    }
}

fn row<T: Stored>(object: &T) -> Result<Vec<(&'static str, Arg)>> {
    let mut values = vec![("id", Arg::text(object.id())), ("doc", Arg::Text(serde_json::to_string(object)?))];
    values.extend(object.columns());
    Ok(values)
}

/// Inserts a new object.
pub(crate) async fn insert<T: Stored>(tx: &mut Tx, object: &T) -> Result<()> {
    tx.insert(T::TABLE, &row(object)?).await?;
    if let Some(entry) = object.search_entry() {
        tx.index_new(&entry).await?;
    }
    Ok(())
}

/// Inserts new objects, one after another.
pub(crate) async fn insert_all<T: Stored>(tx: &mut Tx, objects: &[T]) -> Result<()> {
    for object in objects {
        insert(tx, object).await?;
    }
    Ok(())
}

/// Inserts objects, writing over those whose id exists (no version compared: a bulk
/// load that may run twice, the import), with their search entries, in a few
/// statements for hundreds of objects.
pub(crate) async fn upsert_all<T: Stored>(tx: &mut Tx, objects: &[T]) -> Result<()> {
    let rows = objects.iter().map(row).collect::<Result<Vec<_>>>()?;
    tx.insert_many(T::TABLE, rows, true).await?;
    let entries: Vec<SearchEntry> = objects.iter().filter_map(Stored::search_entry).collect();
    tx.index_many(&entries).await?;
    Ok(())
}

/// Writes an object back over its row: a compare-and-set on the version this
/// transaction read, so a concurrent writer's change is never silently undone.
pub(crate) async fn save<T: Stored>(tx: &mut Tx, object: &T) -> Result<()> {
    let values = row(object)?;
    tx.save_row(T::TABLE, object.id(), &values[1..]).await?;
    if let Some(entry) = object.search_entry() {
        tx.index(&entry).await?;
    }
    Ok(())
}

/// Deletes an object's row.
pub(crate) async fn remove<T: Stored>(tx: &mut Tx, object: &T) -> Result<()> {
    tx.delete(T::TABLE, &[Cond::eq("id", object.id())]).await?;
    if object.search_entry().is_some() {
        tx.unindex(object.id()).await?;
    }
    Ok(())
}

fn parse<T: Stored>(row: cork_store::DocRow) -> Result<T> {
    let mut object: T = serde_json::from_str(&row.doc)?;
    if let Some(live) = row.live {
        object.set_live(live);
    }
    Ok(object)
}

/// One object by id.
pub(crate) async fn get<T: Stored>(tx: &mut Tx, id: &str) -> Result<Option<T>> {
    tx.docs_live(T::TABLE, &[Cond::eq("id", id)], Order::None, Some(1)).await?.pop().map(parse).transpose()
}

/// One object by id, locked for the rest of the transaction where the backend can.
pub(crate) async fn get_for_update<T: Stored>(tx: &mut Tx, id: &str) -> Result<Option<T>> {
    tx.doc_live_for_update(T::TABLE, id).await?.map(parse).transpose()
}

/// Every matching object.
pub(crate) async fn find<T: Stored>(tx: &mut Tx, conds: &[Cond], order: Order, limit: Option<i64>) -> Result<Vec<T>> {
    tx.docs_live(T::TABLE, conds, order, limit).await?.into_iter().map(parse).collect()
}

/// Objects by id, in no particular order; an empty id list costs no query.
pub(crate) async fn by_ids<T: Stored, S: AsRef<str>>(tx: &mut Tx, ids: &[S]) -> Result<Vec<T>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    find(tx, &[Cond::any_of("id", ids)], Order::None, None).await
}

impl Stored for Member {
    const TABLE: Table = Table::Members;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("username", Arg::text(&self.username)), ("email", Arg::opt(self.email.clone()))]
    }
    fn search_entry(&self) -> Option<SearchEntry> {
        Some(SearchEntry {
            model_type: "member",
            model_id: self.id.clone(),
            card_id: None,
            name: self.username.clone(),
            body: self.full_name.clone(),
        })
    }
}

impl Stored for Organization {
    const TABLE: Table = Table::Organizations;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("name", Arg::text(&self.name))]
    }
    fn search_entry(&self) -> Option<SearchEntry> {
        Some(SearchEntry {
            model_type: "organization",
            model_id: self.id.clone(),
            card_id: None,
            name: self.display_name.clone(),
            body: format!("{} {}", self.name, self.desc),
        })
    }
}

impl Stored for Membership {
    const TABLE: Table = Table::Memberships;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("model_id", Arg::text(&self.id_model)),
            ("member_id", Arg::text(&self.id_member)),
            ("member_type", Arg::text(&self.member_type)),
        ]
    }
}

impl Stored for Board {
    const TABLE: Table = Table::Boards;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("short_link", Arg::text(&self.short_link)),
            ("org_id", Arg::opt(self.id_organization.clone())),
            ("closed", Arg::flag(self.closed)),
        ]
    }
    /// The activity column is written by `touch_board` alone; dates in Trello's one
    /// format compare as text, and the later of column and document wins.
    fn set_live(&mut self, live: String) {
        if live > self.date_last_activity {
            self.date_last_activity = live;
        }
    }
    fn search_entry(&self) -> Option<SearchEntry> {
        Some(SearchEntry {
            model_type: "board",
            model_id: self.id.clone(),
            card_id: None,
            name: self.name.clone(),
            body: self.desc.clone(),
        })
    }
}

impl Stored for List {
    const TABLE: Table = Table::Lists;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("board_id", Arg::text(&self.id_board)), ("closed", Arg::flag(self.closed)), ("pos", Arg::Float(self.pos))]
    }
}

impl Stored for Card {
    const TABLE: Table = Table::Cards;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("short_link", Arg::text(&self.short_link)),
            ("board_id", Arg::text(&self.id_board)),
            ("list_id", Arg::text(&self.id_list)),
            ("closed", Arg::flag(self.closed)),
            ("pos", Arg::Float(self.pos)),
        ]
    }
    fn search_entry(&self) -> Option<SearchEntry> {
        Some(SearchEntry {
            model_type: "card",
            model_id: self.id.clone(),
            card_id: Some(self.id.clone()),
            name: self.name.clone(),
            body: self.desc.clone(),
        })
    }
}

impl Stored for Label {
    const TABLE: Table = Table::Labels;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("board_id", Arg::text(&self.id_board))]
    }
}

impl Stored for Checklist {
    const TABLE: Table = Table::Checklists;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("board_id", Arg::text(&self.id_board)), ("card_id", Arg::text(&self.id_card)), ("pos", Arg::Float(self.pos))]
    }
    fn search_entry(&self) -> Option<SearchEntry> {
        let items: Vec<&str> = self.check_items.iter().map(|i| i.name.as_str()).collect();
        Some(SearchEntry {
            model_type: "checklist",
            model_id: self.id.clone(),
            card_id: Some(self.id_card.clone()),
            name: self.name.clone(),
            body: items.join("\n"),
        })
    }
}

impl Stored for Attachment {
    const TABLE: Table = Table::Attachments;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("card_id", Arg::text(&self.id_card)), ("pos", Arg::Float(self.pos))]
    }
}

impl Stored for BoardStar {
    const TABLE: Table = Table::BoardStars;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("member_id", Arg::text(&self.id_member)), ("board_id", Arg::text(&self.id_board)), ("pos", Arg::Float(self.pos))]
    }
}

impl Stored for AppKey {
    const TABLE: Table = Table::AppKeys;
    fn id(&self) -> &str {
        &self.id
    }
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("member_id", Arg::text(&self.id_member))]
    }
}
