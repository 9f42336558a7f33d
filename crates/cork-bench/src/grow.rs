//! The grown database: copies cards that were made through the API, with their
//! `createCard` actions and search entries, by SQL until the database holds a given
//! number of cards (a million by default). Building a million cards through the API
//! would take the better part of an hour on this machine; what the grown rows measure is
//! whether reads and writes on an ordinary board stay flat as the tables and their
//! indexes grow, and for that the copies only need to be rows like the others.
//!
//! Copies go to boards and lists that only the database knows (ids `b…`/`l…`, 1,000
//! cards to a board, 200 to a list): no request of the benchmark reads them, but every
//! index Cork keeps on cards, actions and the search index holds them. A copy's id keeps
//! its original's timestamp and counter and gets the round's number in the middle, so
//! ids stay unique and ordered as Cork's are; shortLinks are `Q` and seven digits.

use anyhow::{bail, Context, Result};
use sqlx::Connection as _;

/// The statements of one dialect: the copy of each table for round `$1` (`$2`: the
/// number of template cards), and, on SQLite, the FTS5 rowid map of the new entries
/// (`$1`: the largest rowid before the round).
struct Copies {
    search_template: &'static str,
    cards: String,
    actions: String,
    search: String,
    search_rows: Option<&'static str>,
}

/// Copies the cards of `lists` (and their actions and search entries) in rounds until
/// the database holds at least `total` cards; returns how many it holds then.
pub async fn bulk_grow(database: &str, lists: &[String], total: u64) -> Result<u64> {
    if lists.is_empty() || lists.iter().any(|id| !id.bytes().all(|b| b.is_ascii_hexdigit())) {
        bail!("bulk_grow needs list ids");
    }
    let in_lists = lists.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    let sqlite = database.starts_with("sqlite:");
    let copies = if sqlite { sqlite_copies() } else { postgres_copies() };
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(database).await.context("opening the database")?;
    if sqlite {
        // Cork may be writing meanwhile: wait for its write turn rather than fail.
        sqlx::query("PRAGMA busy_timeout = 60000").execute(&mut db).await?;
    }
    for statement in [
        format!(
            "CREATE TEMP TABLE tpl AS SELECT row_number() OVER (ORDER BY id) AS rn, id, closed, pos, doc FROM cards WHERE list_id IN ({in_lists})"
        ),
        "CREATE TEMP TABLE tpl_actions AS SELECT a.id, a.type, a.member_id, a.card_id, a.doc, a.command_id, a.token_id, a.app_key, tpl.rn \
         FROM actions a JOIN tpl ON a.card_id = tpl.id WHERE a.type = 'createCard'"
            .to_string(),
        copies.search_template.to_string(),
    ] {
        sqlx::query(&statement).execute(&mut db).await?;
    }
    let template: i64 = sqlx::query_scalar("SELECT count(*) FROM tpl").fetch_one(&mut db).await?;
    if template == 0 {
        bail!("no cards to copy");
    }
    let mut held: i64 = sqlx::query_scalar("SELECT count(*) FROM cards").fetch_one(&mut db).await?;
    let mut round: i64 = 1;
    while (held as u64) < total {
        let mut tx = db.begin().await?;
        let last: i64 = match copies.search_rows {
            Some(_) => sqlx::query_scalar("SELECT coalesce(max(rowid), 0) FROM search_index").fetch_one(&mut *tx).await?,
            None => 0,
        };
        sqlx::query(&copies.cards).bind(round).bind(template).execute(&mut *tx).await?;
        sqlx::query(&copies.actions).bind(round).execute(&mut *tx).await?;
        sqlx::query(&copies.search).bind(round).execute(&mut *tx).await?;
        if let Some(rows) = copies.search_rows {
            sqlx::query(rows).bind(last).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        held = sqlx::query_scalar("SELECT count(*) FROM cards").fetch_one(&mut db).await?;
        round += 1;
    }
    if !sqlite {
        // A database in service has its statistics kept by autovacuum; give the copies theirs.
        sqlx::query("ANALYZE").execute(&mut db).await?;
    }
    Ok(held as u64)
}

fn sqlite_copies() -> Copies {
    // The copy of an id in round $1: its timestamp, `f`, the round in nine hex digits,
    // its counter.
    let copy = |column: &str| format!("substr({column}, 1, 8) || printf('f%09x', $1) || substr({column}, 19, 6)");
    Copies {
        search_template: "CREATE TEMP TABLE tpl_search AS SELECT s.model_type, s.model_id, s.name, s.body \
                          FROM search_rows r JOIN search_index s ON s.rowid = r.entry JOIN tpl ON tpl.id = r.model_id",
        cards: format!(
            "INSERT OR IGNORE INTO cards (id, short_link, board_id, list_id, closed, pos, doc, version) \
             SELECT nid, sl, bid, lid, closed, pos, json_set(doc, '$.id', nid, '$.shortLink', sl, '$.idBoard', bid, '$.idList', lid), 0 \
             FROM (SELECT {} AS nid, printf('Q%07d', $1 * $2 + rn) AS sl, printf('b%07x%016x', $1, rn / 1000) AS bid, \
                   printf('l%07x%016x', $1, rn / 200) AS lid, closed, pos, doc FROM tpl)",
            copy("id")
        ),
        actions: format!(
            "INSERT OR IGNORE INTO actions (id, type, member_id, board_id, list_id, card_id, doc, command_id, token_id, app_key) \
             SELECT {}, type, member_id, printf('b%07x%016x', $1, rn / 1000), printf('l%07x%016x', $1, rn / 200), {1}, \
             json_set(doc, '$.data.card.id', {1}), command_id, token_id, app_key FROM tpl_actions",
            copy("id"),
            copy("card_id"),
        ),
        search: format!(
            "INSERT INTO search_index (model_type, model_id, card_id, name, body) SELECT model_type, {0}, {0}, name, body FROM tpl_search",
            copy("model_id")
        ),
        search_rows: Some(
            "INSERT OR IGNORE INTO search_rows (entry, model_id, card_id) SELECT rowid, model_id, card_id FROM search_index WHERE rowid > $1",
        ),
    }
}

fn postgres_copies() -> Copies {
    let copy = |column: &str| format!("substr({column}, 1, 8) || 'f' || lpad(to_hex($1::bigint), 9, '0') || substr({column}, 19, 6)");
    let board = "'b' || lpad(to_hex($1::bigint), 7, '0') || lpad(to_hex(rn / 1000), 16, '0')";
    let list = "'l' || lpad(to_hex($1::bigint), 7, '0') || lpad(to_hex(rn / 200), 16, '0')";
    Copies {
        search_template: "CREATE TEMP TABLE tpl_search AS SELECT s.model_type, s.model_id, s.name, s.body \
                          FROM search_index s JOIN tpl ON tpl.id = s.model_id",
        cards: format!(
            "INSERT INTO cards (id, short_link, board_id, list_id, closed, pos, doc, version) \
             SELECT nid, sl, bid, lid, closed, pos, \
                    (doc::jsonb || jsonb_build_object('id', nid, 'shortLink', sl, 'idBoard', bid, 'idList', lid))::text, 0 \
             FROM (SELECT {} AS nid, 'Q' || lpad(($1::bigint * $2::bigint + rn)::text, 7, '0') AS sl, {board} AS bid, {list} AS lid, \
                   closed, pos, doc FROM tpl) c ON CONFLICT DO NOTHING",
            copy("id")
        ),
        actions: format!(
            "INSERT INTO actions (id, type, member_id, board_id, list_id, card_id, doc, command_id, token_id, app_key) \
             SELECT {}, type, member_id, {board}, {list}, {1}, jsonb_set(doc::jsonb, '{{data,card,id}}', to_jsonb({1}))::text, \
             command_id, token_id, app_key FROM tpl_actions ON CONFLICT DO NOTHING",
            copy("id"),
            copy("card_id"),
        ),
        search: format!(
            "INSERT INTO search_index (model_id, model_type, card_id, name, body) SELECT {0}, model_type, {0}, name, body FROM tpl_search \
             ON CONFLICT DO NOTHING",
            copy("model_id")
        ),
        search_rows: None,
    }
}
