//! Paging of card collections the way sync clients read Trello: `limit`, `before` and
//! `since` (ids, or dates turned into id bounds, since ids begin with their creation
//! time) and `sort`. A client pages newest first with `before=<the oldest id it has
//! seen>` and stops on an empty page; one paging forward gives `since=<the newest id it
//! has seen>` and gets the oldest cards after it first, so neither skips a card.

/// How a card collection is paged; the default pages nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardPage {
    /// Only cards with a larger id.
    pub since: Option<String>,
    /// Only cards with a smaller id.
    pub before: Option<String>,
    /// At most this many (1 to 1000).
    pub limit: Option<usize>,
    /// The order of the page: `Some(true)` oldest first, `Some(false)` newest first.
    pub oldest_first: Option<bool>,
}

impl CardPage {
    /// Whether the caller asked for any paging at all (else the collection keeps its
    /// usual order, by list and position).
    pub fn is_paging(&self) -> bool {
        self.since.is_some() || self.before.is_some() || self.limit.is_some() || self.oldest_first.is_some()
    }

    /// Keeps the page of `items` (cards, by `id`) this asks for, in its order.
    pub fn apply<T>(&self, items: &mut Vec<T>, id: impl Fn(&T) -> &str) {
        if !self.is_paging() {
            return;
        }
        let cards = items;
        cards.retain(|c| {
            self.since.as_deref().is_none_or(|since| id(c) > since) && self.before.as_deref().is_none_or(|before| id(c) < before)
        });
        // Which end the page is cut from: just below a `before` cursor, just above a
        // `since` one; with neither, the end `sort` starts from (the newest by default).
        let forward = match (&self.since, &self.before) {
            (_, Some(_)) => false,
            (Some(_), None) => true,
            (None, None) => self.oldest_first == Some(true),
        };
        if forward {
            cards.sort_by(|a, b| id(a).cmp(id(b)));
        } else {
            cards.sort_by(|a, b| id(b).cmp(id(a)));
        }
        if let Some(limit) = self.limit {
            cards.truncate(limit);
        }
        match self.oldest_first {
            Some(true) if !forward => cards.reverse(),
            Some(false) if forward => cards.reverse(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cards(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:024x}")).collect()
    }

    fn ids(cards: &[String]) -> Vec<usize> {
        cards.iter().map(|c| usize::from_str_radix(c, 16).expect("hex")).collect()
    }

    #[test]
    fn paging_newest_first_with_before_visits_every_card_once_and_stops() {
        let all = cards(1200);
        let mut seen = Vec::new();
        let mut before: Option<String> = None;
        for _ in 0..10 {
            let mut page = all.clone();
            CardPage { before: before.clone(), limit: Some(500), ..CardPage::default() }.apply(&mut page, String::as_str);
            if page.is_empty() {
                break;
            }
            before = page.last().cloned();
            seen.extend(ids(&page));
        }
        assert_eq!(seen.len(), 1200);
        assert_eq!(seen, (0..1200).rev().collect::<Vec<_>>());
    }

    #[test]
    fn paging_forward_with_since_takes_the_oldest_first() {
        let mut page = cards(10);
        CardPage { since: Some(format!("{:024x}", 3)), limit: Some(2), ..CardPage::default() }.apply(&mut page, String::as_str);
        assert_eq!(ids(&page), vec![4, 5]);
        let mut newest = cards(10);
        CardPage { since: Some(format!("{:024x}", 3)), limit: Some(2), oldest_first: Some(false), ..CardPage::default() }
            .apply(&mut newest, String::as_str);
        assert_eq!(ids(&newest), vec![5, 4]);
    }

    #[test]
    fn sort_alone_picks_the_end() {
        let mut oldest = cards(10);
        CardPage { limit: Some(2), oldest_first: Some(true), ..CardPage::default() }.apply(&mut oldest, String::as_str);
        assert_eq!(ids(&oldest), vec![0, 1]);
        let mut newest = cards(10);
        CardPage { limit: Some(2), ..CardPage::default() }.apply(&mut newest, String::as_str);
        assert_eq!(ids(&newest), vec![9, 8]);
    }

    #[test]
    fn no_paging_keeps_the_order() {
        let mut page = cards(3);
        page.reverse();
        CardPage::default().apply(&mut page, String::as_str);
        assert_eq!(ids(&page), vec![2, 1, 0]);
    }
}
