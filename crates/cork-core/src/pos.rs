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
