//! Board reports drawn from the action log: cumulative flow (open cards per list at the
//! end of each day), cycle time from one list to another, throughput per week, and the
//! overdue and aging cards. One read of the board's card-placing actions (creations,
//! copies, moves, archiving, deletions), oldest first, replayed once: the cost grows with
//! the board's history once, not once per day or per card.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use cork_store::{Cond, Order, Table};
use serde::{Deserialize, Serialize};

use crate::access::{Actor, Role, UNAUTHORIZED};
use crate::boards::board_with_role;
use crate::model::{Card, List};
use crate::store_ext::find;
use crate::{parse_date, Cork, DomainError, Result};

/// The action types that place, move or remove a card.
const PLACING: &[&str] =
    &["createCard", "copyCard", "convertToCardFromCheckItem", "moveCardToBoard", "moveCardFromBoard", "updateCard", "deleteCard"];
/// Longest period one report covers.
const MOST_DAYS: i64 = 366;
/// Rows in the aging and cycle-time lists.
const MOST_ROWS: usize = 200;

/// What the caller asks.
#[derive(Debug, Default, Clone)]
pub struct ReportQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub from_list: Option<String>,
    pub to_list: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ListRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct FlowDay {
    pub date: String,
    pub counts: HashMap<String, u32>,
}

#[derive(Debug, Serialize)]
pub struct WeekCount {
    /// The Monday the week starts on.
    pub week: String,
    pub cards: u32,
}

#[derive(Debug, Serialize)]
pub struct CardDays {
    pub id: String,
    pub name: String,
    #[serde(rename = "idList", skip_serializing_if = "Option::is_none")]
    pub id_list: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    pub days: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleTime {
    pub from_list: Option<String>,
    pub to_list: Option<String>,
    pub cards: Vec<CardDays>,
    pub median_days: Option<f64>,
    pub p85_days: Option<f64>,
}

/// `GET /cork/boards/{id}/report`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardReport {
    pub id_board: String,
    pub from: String,
    pub to: String,
    pub lists: Vec<ListRef>,
    pub cumulative_flow: Vec<FlowDay>,
    pub throughput: Vec<WeekCount>,
    pub cycle_time: CycleTime,
    pub overdue: Vec<CardDays>,
    pub aging: Vec<CardDays>,
    /// How many actions were replayed.
    pub actions_read: usize,
}

/// The few fields of an action a report needs.
#[derive(Debug, Deserialize)]
struct Placing {
    #[serde(rename = "type")]
    kind: String,
    date: String,
    data: PlacingData,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PlacingData {
    card: Option<Named>,
    list: Option<Named>,
    #[serde(rename = "listAfter")]
    list_after: Option<Named>,
    old: Option<OldFields>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Named {
    id: String,
    name: Option<String>,
    closed: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OldFields {
    closed: Option<bool>,
}

/// Where one placing action leaves its card: `Some(list)` on the board and open,
/// `None` gone (archived, deleted, moved away); no change for other edits.
enum Step {
    Into(String),
    Out,
    Back,
    Nothing,
}

fn step(action: &Placing) -> Step {
    let data = &action.data;
    match action.kind.as_str() {
        "createCard" | "copyCard" | "convertToCardFromCheckItem" | "moveCardToBoard" => match &data.list {
            Some(list) => Step::Into(list.id.clone()),
            None => Step::Nothing,
        },
        "moveCardFromBoard" | "deleteCard" => Step::Out,
        "updateCard" => {
            if let Some(after) = &data.list_after {
                Step::Into(after.id.clone())
            } else if data.old.as_ref().and_then(|o| o.closed).is_some() {
                match data.card.as_ref().and_then(|c| c.closed) {
                    Some(true) => Step::Out,
                    _ => Step::Back,
                }
            } else {
                Step::Nothing
            }
        }
        _ => Step::Nothing,
    }
}

fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    ((to - from).num_seconds().max(0) as f64 / 86_400.0 * 10.0).round() / 10.0
}

/// The `q`-th quantile (0..1) of sorted values, by the nearest rank.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

impl Cork {
    /// A board's report over `query`'s period (the last 30 days by default), for a
    /// reader of the board.
    pub async fn board_report(&self, actor: &Actor, reference: &str, query: &ReportQuery) -> Result<BoardReport> {
        let today = Utc::now().date_naive();
        let to = query.to.unwrap_or(today);
        let from = query.from.unwrap_or(to - Duration::days(30));
        if from > to || (to - from).num_days() > MOST_DAYS {
            return Err(DomainError::InvalidValue("from".into()));
        }
        let mut tx = self.store.read().await?;
        let (board, _) = board_with_role(&mut tx, actor, reference, Role::Read, UNAUTHORIZED).await?;
        let lists: Vec<List> = find(&mut tx, &[Cond::eq("board_id", &board.id), Cond::closed(false)], Order::Asc("pos"), None).await?;
        let cards: Vec<Card> = find(&mut tx, &[Cond::eq("board_id", &board.id), Cond::closed(false)], Order::None, None).await?;
        let docs =
            tx.docs(Table::Actions, &[Cond::eq("board_id", &board.id), Cond::any_of("type", PLACING)], Order::Asc("id"), None).await?;
        drop(tx);
        // An open list of this board, or the first (last) one.
        let known = |id: &Option<String>, name: &str| match id {
            Some(id) if lists.iter().any(|l| &l.id == id) => Ok(Some(id.clone())),
            Some(_) => Err(DomainError::InvalidValue(name.into())),
            None => Ok(None),
        };
        let from_list = known(&query.from_list, "fromList")?.or_else(|| lists.first().map(|l| l.id.clone()));
        let to_list = known(&query.to_list, "toList")?.or_else(|| lists.last().map(|l| l.id.clone()));

        let end_of = |day: NaiveDate| (day + Duration::days(1)).and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let start = from.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
        let end = end_of(to).unwrap_or_default();

        // Replay: where each card is, the open cards per list, and per card when it
        // first entered `from_list` and when it (last) entered its current list.
        let mut place: HashMap<String, Option<String>> = HashMap::new();
        let mut last_list: HashMap<String, String> = HashMap::new();
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut started: HashMap<String, DateTime<Utc>> = HashMap::new();
        let mut entered: HashMap<String, DateTime<Utc>> = HashMap::new();
        let mut names: HashMap<String, String> = HashMap::new();
        let mut flow = Vec::new();
        let mut arrivals: Vec<(String, DateTime<Utc>)> = Vec::new();
        let mut day = from;
        let mut day_end = end_of(day).unwrap_or_default();
        let snapshot = |flow: &mut Vec<FlowDay>, counts: &HashMap<String, u32>, day: NaiveDate| {
            let counts = lists.iter().map(|l| (l.id.clone(), counts.get(&l.id).copied().unwrap_or(0))).collect();
            flow.push(FlowDay { date: day.to_string(), counts });
        };
        let actions_read = docs.len();
        for doc in docs {
            let Ok(action) = serde_json::from_str::<Placing>(&doc) else { continue };
            let Some(card) = action.data.card.as_ref().map(|c| c.id.clone()) else { continue };
            let Some(at) = parse_date(&action.date) else { continue };
            while at >= day_end && day <= to {
                snapshot(&mut flow, &counts, day);
                day += Duration::days(1);
                day_end = end_of(day).unwrap_or_default();
            }
            if let Some(name) = action.data.card.as_ref().and_then(|c| c.name.clone()) {
                names.insert(card.clone(), name);
            }
            let now_in = match step(&action) {
                Step::Into(list) => Some(list),
                Step::Out => None,
                Step::Back => last_list.get(&card).cloned(),
                Step::Nothing => continue,
            };
            let was = place.get(&card).cloned().flatten();
            if was == now_in {
                continue;
            }
            if let Some(was) = &was {
                if let Some(count) = counts.get_mut(was) {
                    *count = count.saturating_sub(1);
                }
            }
            if let Some(list) = &now_in {
                *counts.entry(list.clone()).or_default() += 1;
                last_list.insert(card.clone(), list.clone());
                entered.insert(card.clone(), at);
                if from_list.as_ref() == Some(list) {
                    started.entry(card.clone()).or_insert(at);
                }
                if to_list.as_ref() == Some(list) && at >= start && at < end {
                    arrivals.push((card.clone(), at));
                }
            }
            place.insert(card, now_in);
        }
        while day <= to {
            snapshot(&mut flow, &counts, day);
            day += Duration::days(1);
        }

        // Throughput: arrivals in `to_list` per week (weeks start on Monday).
        let monday = |date: NaiveDate| date - Duration::days(i64::from(chrono::Datelike::weekday(&date).num_days_from_monday()));
        let mut throughput: Vec<WeekCount> = Vec::new();
        let mut week = monday(from);
        while week <= to {
            throughput.push(WeekCount { week: week.to_string(), cards: 0 });
            week += Duration::weeks(1);
        }
        for (_, at) in &arrivals {
            let key = monday(at.date_naive()).to_string();
            if let Some(row) = throughput.iter_mut().find(|w| w.week == key) {
                row.cards += 1;
            }
        }

        // Cycle time: from the first entry into `from_list` to the arrival in `to_list`.
        let mut cycle: Vec<CardDays> = arrivals
            .iter()
            .filter_map(|(card, at)| {
                let began = started.get(card)?;
                (began <= at).then(|| CardDays {
                    id: card.clone(),
                    name: names.get(card).cloned().unwrap_or_default(),
                    id_list: None,
                    due: None,
                    days: days_between(*began, *at),
                })
            })
            .collect();
        let mut sorted: Vec<f64> = cycle.iter().map(|c| c.days).collect();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let (median_days, p85_days) = (quantile(&sorted, 0.5), quantile(&sorted, 0.85));
        cycle.truncate(MOST_ROWS);

        // Overdue and aging: the board's open cards now.
        let now = Utc::now();
        let mut overdue: Vec<CardDays> = cards
            .iter()
            .filter(|c| !c.due_complete)
            .filter_map(|c| {
                let due = parse_date(c.due.as_deref()?)?;
                (due < now).then(|| CardDays {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    id_list: Some(c.id_list.clone()),
                    due: c.due.clone(),
                    days: days_between(due, now),
                })
            })
            .collect();
        overdue.sort_by(|a, b| b.days.total_cmp(&a.days));
        overdue.truncate(MOST_ROWS);
        let mut aging: Vec<CardDays> = cards
            .iter()
            .filter(|c| to_list.as_deref() != Some(c.id_list.as_str()))
            .map(|c| {
                let since = entered.get(&c.id).copied().or_else(|| parse_date(&c.date_last_activity)).unwrap_or(now);
                CardDays {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    id_list: Some(c.id_list.clone()),
                    due: None,
                    days: days_between(since, now),
                }
            })
            .collect();
        aging.sort_by(|a, b| b.days.total_cmp(&a.days));
        aging.truncate(MOST_ROWS);

        Ok(BoardReport {
            id_board: board.id,
            from: from.to_string(),
            to: to.to_string(),
            lists: lists.iter().map(|l| ListRef { id: l.id.clone(), name: l.name.clone() }).collect(),
            cumulative_flow: flow,
            throughput,
            cycle_time: CycleTime { from_list, to_list, cards: cycle, median_days, p85_days },
            overdue,
            aging,
            actions_read,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let values = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile(&values, 0.5), Some(3.0));
        assert_eq!(quantile(&values, 0.85), Some(10.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn moves_archives_and_restores_are_steps() {
        let parse = |json: &str| serde_json::from_str::<Placing>(json).expect("action");
        let moved = parse(r#"{"type":"updateCard","date":"2026-01-01T00:00:00.000Z","data":{"card":{"id":"c"},"listAfter":{"id":"l2"}}}"#);
        assert!(matches!(step(&moved), Step::Into(list) if list == "l2"));
        let archived = parse(
            r#"{"type":"updateCard","date":"2026-01-01T00:00:00.000Z","data":{"card":{"id":"c","closed":true},"old":{"closed":false}}}"#,
        );
        assert!(matches!(step(&archived), Step::Out));
        let restored = parse(
            r#"{"type":"updateCard","date":"2026-01-01T00:00:00.000Z","data":{"card":{"id":"c","closed":false},"old":{"closed":true}}}"#,
        );
        assert!(matches!(step(&restored), Step::Back));
        let renamed =
            parse(r#"{"type":"updateCard","date":"2026-01-01T00:00:00.000Z","data":{"card":{"id":"c","name":"x"},"old":{"name":"y"}}}"#);
        assert!(matches!(step(&renamed), Step::Nothing));
    }
}
