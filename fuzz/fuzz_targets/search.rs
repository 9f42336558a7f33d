//! The search query: `GET /1/search`'s parameters, the query's terms and index words,
//! and the card filter (the `due:`, `created:` and `edited:` date arithmetic among it),
//! ordering and paging, over cards made from the input.
//!
//! Input lines: the query, further parameters as a query string (`cards_limit=5&...`),
//! the current time (a date; a fixed one when empty or unreadable), then one card per
//! line: `id<TAB>due<TAB>dateLastActivity<TAB>name<TAB>desc<TAB>flags`, where the flags
//! `c` (closed), `d` (due complete), `m` (a member), `s` (board starred), `h` (found by
//! `checklist:`/`comment:`), `a` (attachments) may appear.

#![no_main]

use chrono::{DateTime, Datelike, Utc};
use cork_api::fuzzing::search_request;
use cork_api::params::Params;
use cork_core::fuzzing::{search_cards, Loaded};
use cork_core::model::{Board, BoardStar, Card, CardCounts, Label, List, Member};
use cork_core::Actor;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn member(id: &str, username: &str) -> Member {
    Member {
        id: id.into(),
        username: username.into(),
        full_name: username.into(),
        initials: String::new(),
        email: None,
        bio: String::new(),
        member_type: "normal".into(),
        confirmed: true,
        avatar_hash: None,
        date_last_active: None,
        prefs: Default::default(),
    }
}

fn card(i: usize, fields: &[&str], loaded: &mut Loaded) -> Card {
    let field = |n: usize| fields.get(n).copied().unwrap_or("");
    let (id, due, edited, name, desc, flags) = (field(0), field(1), field(2), field(3), field(4), field(5));
    let (board, list, label, member_id) = (format!("b{}", i % 3), format!("l{i}"), format!("lb{i}"), format!("m{i}"));
    if !loaded.boards.iter().any(|b| b.id == board) {
        loaded.boards.push(Board {
            id: board.clone(),
            name: name.into(),
            desc: String::new(),
            closed: false,
            id_organization: None,
            id_member_creator: "m0".into(),
            short_link: board.clone(),
            pinned: false,
            prefs: Default::default(),
            date_last_activity: edited.into(),
            date_closed: None,
            subscribed: false,
            id_tags: Vec::new(),
        });
    }
    loaded.lists.push(List {
        id: list.clone(),
        name: name.into(),
        closed: false,
        id_board: board.clone(),
        pos: i as f64,
        subscribed: false,
        soft_limit: None,
        color: None,
    });
    loaded.labels.push(Label { id: label.clone(), id_board: board.clone(), name: desc.into(), color: Some(desc.into()) });
    if flags.contains('m') {
        loaded.members.push(member(&member_id, name));
    }
    if flags.contains('s') {
        loaded.stars.push(BoardStar { id: format!("s{i}"), id_board: board.clone(), id_member: "m0".into(), pos: 0.0 });
    }
    if flags.contains('h') {
        loaded.operator_hits.insert(id.into());
    }
    Card {
        id: id.into(),
        name: name.into(),
        desc: desc.into(),
        closed: flags.contains('c'),
        id_board: board,
        id_list: list,
        id_short: i as i64,
        short_link: format!("c{i}"),
        pos: i as f64,
        due: (!due.is_empty()).then(|| due.into()),
        start: None,
        due_complete: flags.contains('d'),
        due_reminder: None,
        id_members: if flags.contains('m') { vec![member_id, "m0".into()] } else { Vec::new() },
        id_labels: vec![label],
        id_members_voted: Vec::new(),
        id_checklists: Vec::new(),
        id_attachment_cover: None,
        address: None,
        location_name: None,
        coordinates: None,
        is_template: false,
        subscribed: false,
        date_last_activity: edited.into(),
        counts: CardCounts { attachments: i64::from(flags.contains('a')), ..CardCounts::default() },
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let query = lines.next().unwrap_or_default();
    let extra = lines.next().unwrap_or_default();
    // A clock Cork could run under; the fixed one keeps findings reproducible.
    let fixed = DateTime::<Utc>::from_timestamp(1_796_428_800, 0).unwrap_or_default();
    let now = cork_core::parse_date(lines.next().unwrap_or_default()).filter(|at| (1970..=3000).contains(&at.year())).unwrap_or(fixed);

    let mut params = Params::default();
    params.add_pairs(extra.as_bytes());
    if !query.is_empty() {
        params.set("query", Value::String(query.to_string()));
    }
    let Ok(request) = search_request(&params) else { return };

    let mut loaded = Loaded::default();
    let cards: Vec<Card> =
        lines.take(64).enumerate().map(|(i, line)| card(i, &line.split('\t').collect::<Vec<_>>(), &mut loaded)).collect();
    let me = member("m0", "me0");
    for actor in [Actor::member(me), Actor::anonymous()] {
        let _ = search_cards(&actor, &request, cards.clone(), &loaded, now);
    }
});
