//! Search (`/1/search`): Trello's query language over the full-text index, only ever
//! returning what the actor may read.
//!
//! Free words and quoted phrases match a card's name, description, comments and
//! checklists (every word must match; `partial` matches prefixes). Operators narrow the
//! cards: `board:`, `list:`, `label:`/`#`, `@member`/`member:`, `due:`, `created:`,
//! `edited:`, `is:`, `has:`, `name:`, `description:`, `checklist:`, `comment:`,
//! `sort:`; a leading `-` negates a word or an operator.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, Utc};
use cork_store::{words, Cond, Order, Tx};

use crate::access::{role_from, Actor, Role};
use crate::ids::id_time;
use crate::model::*;
use crate::store_ext::{by_ids, find};
use crate::{parse_date, Cork, Result};

/// One part of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A word or a quoted phrase.
    Text { text: String, negated: bool },
    /// `name:value` (the name lower-cased).
    Operator { name: String, value: String, negated: bool },
}

/// Splits a query into terms, keeping quoted phrases whole.
pub fn parse_query(query: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut chars = query.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut negated = false;
        if c == '-' {
            negated = true;
            chars.next();
        }
        let mut token = String::new();
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            if c == '"' {
                quoted = !quoted;
                chars.next();
                continue;
            }
            if c.is_whitespace() && !quoted {
                break;
            }
            token.push(c);
            chars.next();
        }
        if token.is_empty() {
            continue;
        }
        let term = if let Some(rest) = token.strip_prefix('@') {
            Term::Operator { name: "member".into(), value: rest.to_string(), negated }
        } else if let Some(rest) = token.strip_prefix('#').filter(|r| !r.is_empty()) {
            Term::Operator { name: "label".into(), value: rest.to_string(), negated }
        } else if let Some((name, value)) =
            token.split_once(':').filter(|(n, v)| !n.is_empty() && !v.is_empty() && OPERATORS.contains(&n.to_ascii_lowercase().as_str()))
        {
            Term::Operator { name: name.to_ascii_lowercase(), value: value.to_string(), negated }
        } else {
            Term::Text { text: token, negated }
        };
        terms.push(term);
    }
    terms
}

const OPERATORS: &[&str] = &[
    "board",
    "list",
    "label",
    "member",
    "members",
    "due",
    "created",
    "edited",
    "is",
    "has",
    "name",
    "description",
    "checklist",
    "comment",
    "sort",
];

/// What to search and how much to return.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: String,
    pub partial: bool,
    /// `None` for all boards the actor is on.
    pub id_boards: Option<Vec<String>>,
    pub id_organizations: Option<Vec<String>>,
    pub id_cards: Option<Vec<String>>,
    pub model_types: Vec<String>,
    pub cards_limit: usize,
    pub cards_page: usize,
    pub boards_limit: usize,
    pub members_limit: usize,
    pub organizations_limit: usize,
}

/// What a search found.
#[derive(Debug, Clone, Default)]
pub struct SearchResult {
    pub terms: Vec<Term>,
    pub cards: Vec<Card>,
    pub boards: Vec<Board>,
    pub members: Vec<Member>,
    pub organizations: Vec<Organization>,
    /// The boards, labels and lists the cards are on, for rendering.
    pub card_boards: Vec<Board>,
    pub labels: Vec<Label>,
    pub lists: Vec<List>,
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// The boards (and workspaces) the actor may read, with their memberships.
async fn readable_boards(tx: &mut Tx, actor: &Actor) -> Result<(Vec<Board>, Vec<Organization>)> {
    let Some(member_id) = actor.member_id() else { return Ok((Vec::new(), Vec::new())) };
    let memberships: Vec<Membership> = find(tx, &[Cond::eq("member_id", member_id)], Order::None, None).await?;
    let models: Vec<&str> = memberships.iter().map(|m| m.id_model.as_str()).collect();
    let orgs: Vec<Organization> = by_ids(tx, &models).await?;
    let mut boards: Vec<Board> = by_ids(tx, &models).await?;
    if !orgs.is_empty() {
        let org_ids: Vec<&str> = orgs.iter().map(|o| o.id.as_str()).collect();
        let org_boards: Vec<Board> = find(tx, &[Cond::any_of("org_id", &org_ids)], Order::None, None).await?;
        for board in org_boards {
            if !boards.iter().any(|b| b.id == board.id) {
                boards.push(board);
            }
        }
    }
    boards.retain(|b| role_from(actor, b, &memberships) >= Role::Read);
    // A per-board token finds only the workspaces it names.
    let orgs = orgs.into_iter().filter(|o| actor.org_cap(&o.id) >= Role::Read).collect();
    Ok((boards, orgs))
}

impl Cork {
    /// `GET /1/search`.
    pub async fn search(&self, actor: &Actor, request: &SearchRequest) -> Result<SearchResult> {
        // Search covers "your boards": there is nothing to search without a member.
        actor.require_member()?;
        let mut tx = self.store.read().await?;
        let terms = parse_query(&request.query);
        let (mut boards, orgs) = readable_boards(&mut tx, actor).await?;
        if let Some(wanted) = &request.id_boards {
            if !wanted.iter().any(|w| w == "mine") {
                boards.retain(|b| wanted.contains(&b.id) || wanted.contains(&b.short_link));
            }
        }
        if let Some(wanted) = &request.id_organizations {
            boards.retain(|b| b.id_organization.as_ref().is_some_and(|o| wanted.contains(o)));
        }
        let wants = |model: &str| request.model_types.iter().any(|m| m == "all" || m == model);
        let text_words = text_words(&terms);
        let mut result = SearchResult { terms: terms.clone(), ..SearchResult::default() };
        if wants("cards") {
            result.cards = self.search_cards(&mut tx, actor, &terms, &text_words, &boards, request).await?;
            let board_ids: Vec<&str> = {
                let mut ids: Vec<&str> = result.cards.iter().map(|c| c.id_board.as_str()).collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            };
            result.card_boards = boards.iter().filter(|b| board_ids.contains(&b.id.as_str())).cloned().collect();
            if !board_ids.is_empty() {
                result.labels = find(&mut tx, &[Cond::any_of("board_id", &board_ids)], Order::Asc("id"), None).await?;
                result.lists = find(&mut tx, &[Cond::any_of("board_id", &board_ids)], Order::Asc("pos"), None).await?;
            }
        }
        if wants("boards") && !text_words.is_empty() {
            let hits = tx.search("board", &text_words, request.partial, 1000).await?;
            let ranked: Vec<&str> = hits.iter().map(|h| h.model_id.as_str()).collect();
            let mut found: Vec<Board> = boards.iter().filter(|b| ranked.contains(&b.id.as_str())).cloned().collect();
            found.sort_by_key(|b| ranked.iter().position(|id| *id == b.id));
            found.truncate(request.boards_limit);
            result.boards = found;
        }
        if wants("organizations") && !text_words.is_empty() {
            let hits = tx.search("organization", &text_words, request.partial, 1000).await?;
            result.organizations =
                orgs.into_iter().filter(|o| hits.iter().any(|h| h.model_id == o.id)).take(request.organizations_limit).collect();
        }
        if wants("members") && !text_words.is_empty() {
            let hits = tx.search("member", &text_words, request.partial, 1000).await?;
            let ids: Vec<&str> = hits.iter().map(|h| h.model_id.as_str()).collect();
            let visible = visible_members(&mut tx, actor, &boards).await?;
            let mut members: Vec<Member> = by_ids(&mut tx, &ids).await?;
            members.retain(|m| visible.contains(&m.id));
            members.truncate(request.members_limit);
            result.members = members;
        }
        Ok(result)
    }

    async fn search_cards(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        terms: &[Term],
        text_words: &[String],
        boards: &[Board],
        request: &SearchRequest,
    ) -> Result<Vec<Card>> {
        let board_ids: Vec<&str> = boards.iter().map(|b| b.id.as_str()).collect();
        if board_ids.is_empty() {
            return Ok(Vec::new());
        }
        // Candidates: cards whose own text, comments or checklists hold every word.
        let mut cards: Vec<Card> = if text_words.is_empty() {
            find(tx, &[Cond::any_of("board_id", &board_ids)], Order::None, None).await?
        } else {
            // A card matches when each word is in its name, description, a comment or a
            // checklist (not necessarily all in the same one).
            let ids = tx.cards_with_words(text_words, request.partial).await?;
            let mut found: Vec<Card> = by_ids(tx, &ids).await?;
            found.retain(|c| board_ids.contains(&c.id_board.as_str()));
            found
        };
        if let Some(wanted) = &request.id_cards {
            cards.retain(|c| wanted.contains(&c.id) || wanted.contains(&c.short_link));
        }
        let needs = |names: &[&str]| terms.iter().any(|t| matches!(t, Term::Operator { name, .. } if names.contains(&name.as_str())));
        let lists: Vec<List> =
            if needs(&["list"]) { find(tx, &[Cond::any_of("board_id", &board_ids)], Order::None, None).await? } else { Vec::new() };
        let labels: Vec<Label> =
            if needs(&["label"]) { find(tx, &[Cond::any_of("board_id", &board_ids)], Order::None, None).await? } else { Vec::new() };
        let members: Vec<Member> = if needs(&["member", "members"]) {
            let names: Vec<String> = terms
                .iter()
                .filter_map(|t| match t {
                    Term::Operator { name, value, .. } if name == "member" || name == "members" => Some(value.to_lowercase()),
                    _ => None,
                })
                .collect();
            find(tx, &[Cond::any_of("username", &names)], Order::None, None).await?
        } else {
            Vec::new()
        };
        let stars: Vec<BoardStar> = match (needs(&["is"]), actor.member_id()) {
            (true, Some(me)) => find(tx, &[Cond::eq("member_id", me)], Order::None, None).await?,
            _ => Vec::new(),
        };
        let mut operator_hits: HashMap<(String, String), HashSet<String>> = HashMap::new();
        for term in terms {
            if let Term::Operator { name, value, .. } = term {
                let model = match name.as_str() {
                    "checklist" => "checklist",
                    "comment" => "comment",
                    _ => continue,
                };
                let hits = tx.search(model, &words(value), request.partial, 5000).await?;
                operator_hits.insert((name.clone(), value.clone()), hits.into_iter().filter_map(|h| h.card_id).collect());
            }
        }
        let filter = CardFilter {
            actor,
            terms,
            boards: boards.iter().map(|b| (b.id.as_str(), b)).collect(),
            lists: &lists,
            labels: &labels,
            members: &members,
            stars: &stars,
            operator_hits: &operator_hits,
            now: Utc::now(),
        };
        let mut sort = "relevance".to_string();
        cards.retain(|card| filter.keeps(card, &mut sort));
        sort_cards(&mut cards, &sort);
        Ok(page_of(cards, request))
    }

    /// `GET /1/search/members`: members sharing a board or workspace with the actor
    /// whose username or full name starts with the query's words.
    pub async fn search_members(
        &self,
        actor: &Actor,
        query: &str,
        limit: usize,
        id_board: Option<&str>,
        id_organization: Option<&str>,
    ) -> Result<Vec<(Member, f64)>> {
        actor.require_member()?;
        let mut tx = self.store.read().await?;
        let (boards, _) = readable_boards(&mut tx, actor).await?;
        let mut visible = visible_members(&mut tx, actor, &boards).await?;
        for model in [id_board, id_organization].into_iter().flatten() {
            let on: Vec<Membership> = find(&mut tx, &[Cond::eq("model_id", model)], Order::None, None).await?;
            visible.retain(|id| on.iter().any(|m| &m.id_member == id));
        }
        let hits = tx.search("member", &words(query), true, 1000).await?;
        let ids: Vec<&str> = hits.iter().map(|h| h.model_id.as_str()).filter(|id| visible.contains(*id)).collect();
        let members: Vec<Member> = by_ids(&mut tx, &ids).await?;
        let query_lower = query.to_lowercase();
        let mut scored: Vec<(Member, f64)> = members
            .into_iter()
            .map(|m| {
                let score = if m.username == query_lower {
                    1.0
                } else if m.username.starts_with(&query_lower) {
                    0.8
                } else {
                    0.5
                };
                (m, score)
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.username.cmp(&b.0.username)));
        scored.truncate(limit);
        Ok(scored)
    }
}

/// What a query's terms test each candidate card against: the boards, lists, labels,
/// members and stars the search loaded, and the card ids the `checklist:`/`comment:`
/// operators found.
pub(crate) struct CardFilter<'a> {
    pub actor: &'a Actor,
    pub terms: &'a [Term],
    pub boards: HashMap<&'a str, &'a Board>,
    pub lists: &'a [List],
    pub labels: &'a [Label],
    pub members: &'a [Member],
    pub stars: &'a [BoardStar],
    pub operator_hits: &'a HashMap<(String, String), HashSet<String>>,
    pub now: chrono::DateTime<Utc>,
}

impl CardFilter<'_> {
    /// True when `card` satisfies every term; a `sort:` term reached sets `sort`.
    pub(crate) fn keeps(&self, card: &Card, sort: &mut String) -> bool {
        let CardFilter { actor, terms, boards: board_names, lists, labels, members, stars, operator_hits, now } = self;
        let (actor, now) = (*actor, *now);
        if card.closed && !shows_archived(terms) {
            return false;
        }
        terms.iter().all(|term| match term {
            Term::Text { text, negated } => {
                let phrase = text.contains(' ');
                let hit = if phrase || *negated { contains(&card.name, text) || contains(&card.desc, text) } else { true };
                hit != *negated
            }
            Term::Operator { name, value, negated } => {
                let hit = match name.as_str() {
                    "board" => board_names.get(card.id_board.as_str()).is_some_and(|b| contains(&b.name, value) || b.id == *value),
                    "list" => lists.iter().any(|l| l.id == card.id_list && contains(&l.name, value)),
                    "label" => labels.iter().any(|l| {
                        card.id_labels.contains(&l.id)
                            && (contains(&l.name, value) || l.color.as_deref() == Some(value.to_lowercase().as_str()))
                    }),
                    "member" | "members" => {
                        let me = value.eq_ignore_ascii_case("me");
                        card.id_members.iter().any(|m| {
                            (me && Some(m.as_str()) == actor.member_id())
                                || members.iter().any(|x| &x.id == m && x.username.eq_ignore_ascii_case(value))
                        })
                    }
                    "name" => contains(&card.name, value),
                    "description" => contains(&card.desc, value),
                    "checklist" | "comment" => operator_hits.get(&(name.clone(), value.clone())).is_some_and(|ids| ids.contains(&card.id)),
                    "due" => due_matches(card, value, now),
                    "created" => id_time(&card.id).is_some_and(|at| within(value, at, now)),
                    "edited" => parse_date(&card.date_last_activity).is_some_and(|at| within(value, at, now)),
                    "is" => match value.to_lowercase().as_str() {
                        "open" => !card.closed,
                        "archived" | "closed" => card.closed,
                        "starred" => stars.iter().any(|s| s.id_board == card.id_board),
                        _ => false,
                    },
                    "has" => match value.to_lowercase().as_str() {
                        "attachments" | "attachment" => card.counts.attachments > 0,
                        "description" => !card.desc.is_empty(),
                        "cover" => card.id_attachment_cover.is_some(),
                        "members" | "member" => !card.id_members.is_empty(),
                        "checklists" | "checklist" => !card.id_checklists.is_empty(),
                        _ => false,
                    },
                    "sort" => {
                        *sort = value.to_lowercase();
                        return true;
                    }
                    _ => true,
                };
                hit != *negated
            }
        })
    }
}

/// The index words of the query's words and phrases (negated ones left out): a card must
/// hold every one.
pub(crate) fn text_words(terms: &[Term]) -> Vec<String> {
    terms
        .iter()
        .filter_map(|t| match t {
            Term::Text { text, negated: false } => Some(words(text)),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The page of cards `request` asks for.
pub(crate) fn page_of(cards: Vec<Card>, request: &SearchRequest) -> Vec<Card> {
    let start = request.cards_page * request.cards_limit;
    cards.into_iter().skip(start).take(request.cards_limit).collect()
}

/// True when the query asks for archived cards (`is:archived`, `is:closed`), which are
/// otherwise left out.
fn shows_archived(terms: &[Term]) -> bool {
    terms
        .iter()
        .any(|t| matches!(t, Term::Operator { name, value, negated: false } if name == "is" && (value == "archived" || value == "closed")))
}

/// Orders the cards a search kept by the `sort:` value (`-` first reverses it).
pub(crate) fn sort_cards(cards: &mut [Card], sort: &str) {
    match sort.trim_start_matches('-') {
        "created" => cards.sort_by(|a, b| b.id.cmp(&a.id)),
        "edited" => cards.sort_by(|a, b| b.date_last_activity.cmp(&a.date_last_activity)),
        "due" => cards.sort_by(|a, b| a.due.is_none().cmp(&b.due.is_none()).then(a.due.cmp(&b.due))),
        // Without a sort operator, most recently edited first.
        _ => cards.sort_by(|a, b| b.date_last_activity.cmp(&a.date_last_activity)),
    }
    if sort.starts_with('-') {
        cards.reverse();
    }
}

/// Members on the given boards and the actor's workspaces (and the actor).
async fn visible_members(tx: &mut Tx, actor: &Actor, boards: &[Board]) -> Result<HashSet<String>> {
    let mut models: Vec<&str> = boards.iter().map(|b| b.id.as_str()).collect();
    models.extend(boards.iter().filter_map(|b| b.id_organization.as_deref()).filter(|org| actor.org_cap(org) >= Role::Read));
    let mut visible: HashSet<String> = HashSet::new();
    if let Some(me) = actor.member_id() {
        visible.insert(me.to_string());
    }
    if !models.is_empty() {
        let memberships: Vec<Membership> = find(tx, &[Cond::any_of("model_id", &models)], Order::None, None).await?;
        visible.extend(memberships.into_iter().map(|m| m.id_member));
    }
    Ok(visible)
}

fn within(value: &str, at: chrono::DateTime<Utc>, now: chrono::DateTime<Utc>) -> bool {
    let days = match value.to_lowercase().as_str() {
        "day" => 1,
        "week" => 7,
        "month" => 28,
        other => other.parse::<i64>().unwrap_or(-1),
    };
    if days < 0 {
        return false;
    }
    // A span further back than any date can hold (`edited:99999999999`) takes in every date.
    match Duration::try_days(days).and_then(|span| now.checked_sub_signed(span)) {
        Some(since) => at >= since,
        None => true,
    }
}

/// A due date from now to `days` ahead (every later one when `days` reaches past what
/// dates can hold).
fn due_within(due: Option<chrono::DateTime<Utc>>, now: chrono::DateTime<Utc>, days: i64) -> bool {
    if days < 0 {
        return false;
    }
    let until = Duration::try_days(days).and_then(|span| now.checked_add_signed(span));
    due.is_some_and(|d| d >= now && until.is_none_or(|until| d <= until))
}

fn due_matches(card: &Card, value: &str, now: chrono::DateTime<Utc>) -> bool {
    let due = card.due.as_deref().and_then(parse_date);
    match value.to_lowercase().as_str() {
        "complete" => card.due_complete,
        "incomplete" => due.is_some() && !card.due_complete,
        "overdue" => due.is_some_and(|d| d < now) && !card.due_complete,
        "day" => due_within(due, now, 1),
        "week" => due_within(due, now, 7),
        "month" => due_within(due, now, 28),
        other => other.parse::<i64>().ok().is_some_and(|n| due_within(due, now, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_counts_past_what_dates_hold_do_not_panic() {
        let now = Utc::now();
        let at = now - Duration::days(3);
        for huge in ["99999999999", "9223372036854775807"] {
            assert!(within(huge, at, now), "edited:{huge} takes in every date");
            assert!(due_within(Some(now + Duration::days(400_000)), now, huge.parse().unwrap()), "due:{huge}");
        }
        assert!(!within("-99999999999", at, now));
        assert!(!due_within(Some(now + Duration::days(1)), now, -99_999_999_999));
        assert!(within("5", at, now) && !within("2", at, now));
        assert!(due_within(Some(now + Duration::days(1)), now, 2) && !due_within(Some(now + Duration::days(3)), now, 2));
    }

    #[test]
    fn queries_split_into_words_phrases_and_operators() {
        let terms = parse_query(r#"fix "login page" -draft board:Ops @alice #urgent due:week -is:archived"#);
        assert_eq!(
            terms,
            vec![
                Term::Text { text: "fix".into(), negated: false },
                Term::Text { text: "login page".into(), negated: false },
                Term::Text { text: "draft".into(), negated: true },
                Term::Operator { name: "board".into(), value: "Ops".into(), negated: false },
                Term::Operator { name: "member".into(), value: "alice".into(), negated: false },
                Term::Operator { name: "label".into(), value: "urgent".into(), negated: false },
                Term::Operator { name: "due".into(), value: "week".into(), negated: false },
                Term::Operator { name: "is".into(), value: "archived".into(), negated: true },
            ]
        );
        assert_eq!(parse_query("http://x"), vec![Term::Text { text: "http://x".into(), negated: false }]);
    }
}
