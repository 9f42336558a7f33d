//! Positions: floats ordered ascending. `top` halves the smallest, `bottom` adds a
//! step to the largest, a number is taken as it is.

/// The gap Trello leaves between neighbours.
pub const STEP: f64 = 16384.0;

/// A requested position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pos {
    Top,
    Bottom,
    At(f64),
}

impl Pos {
    /// Parses `top`, `bottom` or a positive number (`"65535.000000"` included).
    pub fn parse(value: &str) -> Option<Pos> {
        match value.trim().to_ascii_lowercase().as_str() {
            "top" => Some(Pos::Top),
            "bottom" => Some(Pos::Bottom),
            other => other.parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0).map(Pos::At),
        }
    }

    /// The number for this position among siblings whose positions span `range`.
    pub fn resolve(self, range: Option<(f64, f64)>) -> f64 {
        match (self, range) {
            (Pos::At(n), _) => n,
            (Pos::Top, Some((low, _))) => low / 2.0,
            (Pos::Bottom, Some((_, high))) => high + STEP,
            (_, None) => STEP,
        }
    }
}

/// Below this, a position put at the top is close to where halving stops giving new
/// numbers (the smallest normal `f64` is 2⁻¹⁰²²): the siblings are renumbered first
/// (every [`STEP`], order kept). From [`STEP`] that is about a thousand top inserts, so
/// the renumbering — which changes every sibling's version, and so makes concurrent
/// writers of those siblings try again — stays rare.
pub const MIN_TOP: f64 = 9.332636185032189e-302; // 2⁻¹⁰⁰⁰

/// Objects kept in order by `pos` among their siblings.
pub(crate) trait Positioned: crate::store_ext::Stored + serde::de::DeserializeOwned {
    fn pos_mut(&mut self) -> &mut f64;
}

impl Positioned for crate::model::Card {
    fn pos_mut(&mut self) -> &mut f64 {
        &mut self.pos
    }
}

impl Positioned for crate::model::List {
    fn pos_mut(&mut self) -> &mut f64 {
        &mut self.pos
    }
}

/// The span of the siblings' positions (`conds` select them) for placing one at
/// `wanted`. On PostgreSQL the store holds the siblings' lock until commit, so two
/// writers never compute the same position. When a top position would fall below
/// [`MIN_TOP`], the siblings are renumbered first, in this transaction: a maintenance
/// write that keeps the order and records no action. `moving` is the object being
/// placed when it is one of the siblings already: it is left to its caller.
pub(crate) async fn span_for<T: Positioned>(
    tx: &mut cork_store::Tx,
    conds: &[cork_store::Cond],
    wanted: Pos,
    moving: Option<&str>,
) -> crate::Result<Option<(f64, f64)>> {
    let range = tx.pos_range(T::TABLE, conds).await?;
    match (wanted, range) {
        (Pos::Top, Some((low, _))) if low / 2.0 < MIN_TOP => {
            let siblings: Vec<T> = crate::store_ext::find(tx, conds, cork_store::Order::Asc("pos"), None).await?;
            let siblings: Vec<T> = siblings.into_iter().filter(|s| Some(s.id()) != moving).collect();
            tracing::info!(table = T::TABLE.name(), count = siblings.len(), "positions renumbered: no room left at the top");
            let count = siblings.len();
            for (i, mut sibling) in siblings.into_iter().enumerate() {
                *sibling.pos_mut() = (i as f64 + 1.0) * STEP;
                crate::store_ext::save(tx, &sibling).await?;
            }
            Ok((count > 0).then_some((STEP, count as f64 * STEP)))
        }
        _ => Ok(range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_and_bottom_land_outside_the_siblings() {
        assert_eq!(Pos::parse("top").unwrap().resolve(Some((100.0, 500.0))), 50.0);
        assert_eq!(Pos::parse("bottom").unwrap().resolve(Some((100.0, 500.0))), 500.0 + STEP);
        assert_eq!(Pos::parse("65535.000000"), Some(Pos::At(65535.0)));
        assert_eq!(Pos::parse("-1"), None);
        assert_eq!(Pos::parse("middle"), None);
        assert_eq!(Pos::Bottom.resolve(None), STEP);
    }
}
