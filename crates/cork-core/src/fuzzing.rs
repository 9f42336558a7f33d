//! Entry points for the fuzz targets in `fuzz/` (`scripts/fuzz`): the parts of search
//! and OAuth that read untrusted text and need no database. Not an API; each function
//! only forwards to the code the server runs.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::access::Actor;
use crate::model::{Board, BoardStar, Card, Label, List, Member};
use crate::oauth::SignedRequest;
use crate::search::{CardFilter, SearchRequest, Term};
use crate::Result;

/// What a search loads from the store before it filters cards.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub boards: Vec<Board>,
    pub lists: Vec<List>,
    pub labels: Vec<Label>,
    pub members: Vec<Member>,
    pub stars: Vec<BoardStar>,
    /// The cards every `checklist:` and `comment:` operator found in the index.
    pub operator_hits: HashSet<String>,
}

/// What the card part of a search does once the store has answered: the query's index
/// words, the cards kept by the terms (as seen at `now`), ordered and paged. Gives the
/// words, the page and the sort the query chose.
pub fn search_cards(
    actor: &Actor,
    request: &SearchRequest,
    cards: Vec<Card>,
    loaded: &Loaded,
    now: DateTime<Utc>,
) -> (Vec<String>, Vec<Card>, String) {
    let terms = crate::search::parse_query(&request.query);
    let text_words = crate::search::text_words(&terms);
    let operator_hits: HashMap<(String, String), HashSet<String>> = terms
        .iter()
        .filter_map(|t| match t {
            Term::Operator { name, value, .. } if name == "checklist" || name == "comment" => {
                Some(((name.clone(), value.clone()), loaded.operator_hits.clone()))
            }
            _ => None,
        })
        .collect();
    let filter = CardFilter {
        actor,
        terms: &terms,
        boards: loaded.boards.iter().map(|b| (b.id.as_str(), b)).collect(),
        lists: &loaded.lists,
        labels: &loaded.labels,
        members: &loaded.members,
        stars: &loaded.stars,
        operator_hits: &operator_hits,
        now,
    };
    let mut sort = "relevance".to_string();
    let mut cards = cards;
    cards.retain(|card| filter.keeps(card, &mut sort));
    crate::search::sort_cards(&mut cards, &sort);
    (text_words, crate::search::page_of(cards, request), sort)
}

/// The checks of a signed OAuth request made before the store is asked (protocol
/// parameters, timestamp window around `now`, signature under the two secrets).
pub fn oauth_check(signed: &SignedRequest, consumer_secret: &str, token_secret: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    crate::oauth::check_signed(signed, consumer_secret, token_secret, now).map(|(at, _)| at)
}

/// The callback a request-token request names, as accepted or refused.
pub fn oauth_callback(value: Option<&str>) -> Result<Option<String>> {
    crate::oauth::callback_of(value)
}
