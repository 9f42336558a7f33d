//! `cork-bench import`: a generated Trello export of a large board (by default 50,000
//! cards and 200,000 actions) imported twice by `cork import`, each run timed with its
//! peak memory (`/usr/bin/time`'s maximum resident set), then the database checked to
//! hold exactly one board with every card.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

const LISTS: usize = 10;
const LABELS: usize = 8;
const MEMBERS: usize = 5;

/// A 24-hex-digit id from a kind and a number, the same at every run.
fn id(kind: u8, n: usize) -> String {
    format!("5f{kind:02x}{n:020x}")
}

fn date(n: usize) -> String {
    let at = chrono::DateTime::from_timestamp(1_700_000_000 + n as i64 * 37, 0).unwrap_or_default();
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Writes the export element by element, as Trello lays it out.
pub fn generate(path: &Path, cards: usize, actions: usize) -> Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let board = id(0xb0, 1);
    let head = json!({
        "id": board, "name": "Generated board", "desc": "A large board for the import benchmark", "closed": false,
        "idOrganization": null, "pinned": false, "shortLink": "GenBoard", "prefs": {"permissionLevel": "private", "background": "blue"},
        "dateLastActivity": date(actions), "idMemberCreator": id(0xe0, 0),
    });
    let head = head.to_string();
    write!(out, "{},\"actions\":[", &head[..head.len() - 1])?;
    let kinds = ["commentCard", "updateCard", "createCard", "updateCheckItemStateOnCard"];
    for n in 0..actions {
        let card = n % cards;
        let list = card % LISTS;
        let kind = kinds[n % kinds.len()];
        let mut data = json!({
            "board": {"id": board, "name": "Generated board", "shortLink": "GenBoard"},
            "card": {"id": id(0xca, card), "name": format!("Card {card}"), "idShort": card + 1, "shortLink": format!("c{card:07}")},
            "list": {"id": id(0x11, list), "name": format!("List {list}")},
        });
        if kind == "commentCard" {
            data["text"] = json!(format!("Comment {n} on card {card}: the figures for this week are in"));
        }
        if kind == "updateCard" {
            data["old"] = json!({"pos": n as f64});
            data["card"]["pos"] = json!(n as f64 + 1.0);
        }
        let member = n % MEMBERS;
        let action = json!({
            "id": id(0xac, actions - n), "idMemberCreator": id(0xe0, member), "type": kind, "date": date(actions - n),
            "data": data, "appCreator": null, "limits": {},
            "memberCreator": {"id": id(0xe0, member), "username": format!("bench_member_{member}"), "fullName": format!("Member {member}"), "initials": "M"},
        });
        if n > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut out, &action)?;
    }
    out.write_all(b"],\"cards\":[")?;
    for n in 0..cards {
        let list = n % LISTS;
        let attachments = if n % 20 == 0 {
            json!([{"id": id(0xa7, n), "bytes": null, "date": date(n), "idMember": id(0xe0, 0), "isUpload": false, "mimeType": "",
                    "name": "Spec", "previews": [], "url": format!("https://example.com/spec/{n}"), "pos": 16384}])
        } else {
            json!([])
        };
        let card = json!({
            "id": id(0xca, n), "name": format!("Card {n}"), "desc": format!("The description of card {n}, with a few words to index."),
            "closed": n % 50 == 0, "idBoard": board, "idList": id(0x11, list), "idShort": n + 1, "shortLink": format!("c{n:07}"),
            "pos": (n / LISTS + 1) as f64 * 16384.0, "due": if n % 7 == 0 { json!(date(n)) } else { Value::Null }, "start": null,
            "dueComplete": false, "idMembers": [id(0xe0, n % MEMBERS)], "idLabels": [id(0x1a, n % LABELS)], "idMembersVoted": [],
            "idChecklists": if n % 10 == 0 { json!([id(0xc1, n)]) } else { json!([]) }, "dateLastActivity": date(n),
            "badges": {"comments": 0, "attachments": 0, "checkItems": 0, "checkItemsChecked": 0, "votes": 0},
            "attachments": attachments, "customFieldItems": [], "stickers": [],
        });
        if n > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut out, &card)?;
    }
    out.write_all(b"],\"checklists\":[")?;
    for (i, n) in (0..cards).step_by(10).enumerate() {
        let items: Vec<Value> = (0..3)
            .map(|k| json!({"id": id(0xc2, n * 3 + k), "name": format!("Step {k}"), "state": if k == 0 { "complete" } else { "incomplete" }, "pos": (k + 1) * 16384, "idChecklist": id(0xc1, n)}))
            .collect();
        let checklist =
            json!({"id": id(0xc1, n), "name": "Steps", "idBoard": board, "idCard": id(0xca, n), "pos": 16384, "checkItems": items});
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut out, &checklist)?;
    }
    let labels: Vec<Value> =
        (0..LABELS).map(|n| json!({"id": id(0x1a, n), "idBoard": board, "name": format!("Label {n}"), "color": "green"})).collect();
    let lists: Vec<Value> = (0..LISTS)
        .map(|n| json!({"id": id(0x11, n), "name": format!("List {n}"), "closed": false, "idBoard": board, "pos": (n + 1) * 16384}))
        .collect();
    let members: Vec<Value> = (0..MEMBERS)
        .map(|n| json!({"id": id(0xe0, n), "username": format!("bench_member_{n}"), "fullName": format!("Member {n}"), "initials": "M", "memberType": "normal"}))
        .collect();
    let memberships: Vec<Value> = (0..MEMBERS)
        .map(|n| json!({"id": id(0xe5, n), "idMember": id(0xe0, n), "memberType": if n == 0 { "admin" } else { "normal" }, "unconfirmed": false, "deactivated": false}))
        .collect();
    let tail =
        json!({"customFields": [], "labels": labels, "lists": lists, "members": members, "memberships": memberships, "pluginData": []});
    write!(out, "],{}", &tail.to_string()[1..])?;
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// One `cork import` under `/usr/bin/time`: (seconds, peak KiB, the report).
fn timed_import(cork: &Path, file: &Path, database: &str, data_dir: &Path) -> Result<(f64, u64, Value)> {
    let started = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "cork-bench-peak-kib %M"])
        .arg(cork)
        .arg("import")
        .arg(file)
        .args(["--report", "json", "--database", database])
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .context("running /usr/bin/time cork import")?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("cork-bench-peak-kib "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .with_context(|| format!("no peak memory in: {stderr}"))?;
    let report: Value = serde_json::from_slice(&output.stdout).with_context(|| format!("no report: {stderr}"))?;
    if report["ok"] != json!(true) {
        bail!("the import failed: {}", report["error"]);
    }
    Ok((seconds, peak, report))
}

async fn board_and_card_counts(database: &str) -> Result<(i64, i64)> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(database).await?;
    let boards: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM boards").fetch_one(&mut conn).await?;
    let cards: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cards").fetch_one(&mut conn).await?;
    Ok((boards, cards))
}

/// Generates the export, imports it twice into a fresh database of each backend, and
/// prints a Markdown table.
pub async fn run(cork: &Path, cards: usize, actions: usize, postgres: Option<&str>) -> Result<()> {
    sqlx::any::install_default_drivers();
    let dir = std::env::temp_dir().join(format!("cork-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("export.json");
    let started = Instant::now();
    let bytes = generate(&file, cards, actions)?;
    eprintln!("generated {} MB in {:.1} s", bytes / 1_000_000, started.elapsed().as_secs_f64());
    let mut databases: Vec<(&str, String)> = vec![("SQLite", format!("sqlite://{}?mode=rwc", dir.join("cork.db").display()))];
    if let Some(admin) = postgres {
        let name = format!("cork_bench_import_{}", std::process::id());
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&format!("{}/postgres", admin.trim_end_matches('/'))).await?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
        databases.push(("PostgreSQL", format!("{}/{name}", admin.trim_end_matches('/'))));
    }
    println!("Import of a generated export: {cards} cards, {actions} actions, {} checklists, {} MB", cards / 10, bytes / 1_000_000);
    println!();
    println!(
        "| backend | run | time (s) | peak memory (MB) | cards new / updated | actions new / updated | boards, cards in the database |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (backend, url) in &databases {
        for run in 1..=2 {
            let (seconds, peak, report) = timed_import(cork, &file, url, &dir.join("data"))?;
            let (boards, held) = board_and_card_counts(url.trim_end_matches("?mode=rwc")).await?;
            let pair = |kind: &str| format!("{} / {}", report["counts"][kind]["imported"], report["counts"][kind]["updated"]);
            println!(
                "| {backend} | {run} | {seconds:.1} | {:.0} | {} | {} | {boards}, {held} |",
                peak as f64 / 1024.0,
                pair("cards"),
                pair("actions")
            );
            if boards != 1 || held != cards as i64 {
                bail!("after import {run} the database holds {boards} boards and {held} cards");
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_trellos() {
        assert_eq!(date(0), "2023-11-14T22:13:20.000Z");
    }

    #[test]
    fn the_export_parses() {
        let path = std::env::temp_dir().join(format!("cork-bench-gen-{}.json", std::process::id()));
        generate(&path, 30, 50).unwrap();
        let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(value["cards"].as_array().unwrap().len(), 30);
        assert_eq!(value["actions"].as_array().unwrap().len(), 50);
        assert_eq!(value["checklists"].as_array().unwrap().len(), 3);
    }
}
