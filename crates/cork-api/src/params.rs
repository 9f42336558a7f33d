//! Trello's parameters arrive in the query string, a form body, a JSON body or
//! multipart, with booleans and numbers as strings, `"null"` for nothing and commas
//! between list items. They are merged here once (body over query) and read through
//! typed getters that fail with `invalid value for <name>`.

use std::collections::HashMap;

use cork_core::pos::Pos;
use cork_core::{format_date, parse_date};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// The merged parameters of one request.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: HashMap<String, Value>,
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        Value::Array(items) => Some(items.iter().filter_map(scalar_text).collect::<Vec<_>>().join(",")),
        Value::Object(_) => None,
    }
}

impl Params {
    /// Adds the pairs of a query string or form body; later sources win.
    pub fn add_pairs(&mut self, raw: &[u8]) {
        for (key, value) in form_urlencoded::parse(raw) {
            self.values.insert(key.into_owned(), Value::String(value.into_owned()));
        }
    }

    /// Adds the members of a JSON object body.
    pub fn add_json(&mut self, object: serde_json::Map<String, Value>) {
        for (key, value) in object {
            self.values.insert(key, value);
        }
    }

    /// The first parameter whose name or text holds a NUL character, which no text
    /// field may contain (PostgreSQL refuses it).
    pub fn with_nul(&self) -> Option<&str> {
        fn has_nul(value: &Value) -> bool {
            match value {
                Value::String(s) => s.contains('\0'),
                Value::Array(items) => items.iter().any(has_nul),
                Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
                _ => false,
            }
        }
        self.values.iter().find(|(k, v)| k.contains('\0') || has_nul(v)).map(|(k, _)| k.as_str())
    }

    /// Sets one value.
    pub fn set(&mut self, key: &str, value: Value) {
        self.values.insert(key.to_string(), value);
    }

    /// All parameters as one JSON object (for handing a request on to another route).
    pub fn to_object(&self) -> serde_json::Map<String, Value> {
        self.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// True when the parameter was sent at all (even empty).
    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// The raw JSON value (for structured bodies such as custom field values).
    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// A text value; JSON scalars are turned into their text.
    pub fn str(&self, key: &str) -> Option<String> {
        self.values.get(key).and_then(scalar_text)
    }

    /// A text value that must be text when present (a JSON object or list is refused).
    pub fn text(&self, key: &str) -> ApiResult<Option<String>> {
        match self.values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(ApiError::invalid_value(key)),
        }
    }

    /// A text value where `"null"` and empty mean "clear it".
    pub fn nullable_text(&self, key: &str) -> ApiResult<Option<Option<String>>> {
        if !self.has(key) {
            return Ok(None);
        }
        Ok(Some(self.text(key)?.filter(|s| !s.is_empty() && s != "null")))
    }

    /// `true`/`false` in any case (and 1/0), as text or JSON.
    pub fn bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => match scalar_text(other).unwrap_or_default().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(ApiError::invalid_value(key)),
            },
        }
    }

    /// A whole number within `min..=max`.
    pub fn int(&self, key: &str, min: i64, max: i64) -> ApiResult<Option<i64>> {
        match self.values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                let text = scalar_text(value).unwrap_or_default();
                let number: f64 = text.trim().parse().map_err(|_| ApiError::invalid_value(key))?;
                if number.fract() != 0.0 || number < min as f64 || number > max as f64 {
                    return Err(ApiError::invalid_value(key));
                }
                Ok(Some(number as i64))
            }
        }
    }

    /// A finite number within `min..=max` (sticker positions, angles).
    pub fn number(&self, key: &str, min: f64, max: f64) -> ApiResult<Option<f64>> {
        match self.values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                let number: f64 = scalar_text(value).unwrap_or_default().trim().parse().map_err(|_| ApiError::invalid_value(key))?;
                if !number.is_finite() || number < min || number > max {
                    return Err(ApiError::invalid_value(key));
                }
                Ok(Some(number))
            }
        }
    }

    /// `top`, `bottom` or a positive number.
    pub fn pos(&self, key: &str) -> ApiResult<Option<Pos>> {
        match self.str(key) {
            None => Ok(None),
            Some(text) => Pos::parse(&text).map(Some).ok_or_else(|| ApiError::invalid_value(key)),
        }
    }

    /// A date in any accepted form, normalised to Trello's; `"null"`/empty clears it.
    pub fn date(&self, key: &str) -> ApiResult<Option<Option<String>>> {
        match self.nullable_text(key)? {
            None => Ok(None),
            Some(None) => Ok(Some(None)),
            Some(Some(text)) => parse_date(&text).map(|d| Some(Some(format_date(d)))).ok_or_else(|| ApiError::invalid_value(key)),
        }
    }

    /// A comma-separated list (or a JSON array); empty text is an empty list.
    pub fn list(&self, key: &str) -> ApiResult<Option<Vec<String>>> {
        match self.values.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(Vec::new())),
            Some(Value::Array(items)) => {
                items.iter().map(|v| scalar_text(v).ok_or_else(|| ApiError::invalid_value(key))).collect::<ApiResult<Vec<_>>>().map(Some)
            }
            Some(Value::Object(_)) => Err(ApiError::invalid_value(key)),
            Some(other) => {
                let text = scalar_text(other).unwrap_or_default();
                if text.is_empty() || text == "null" {
                    return Ok(Some(Vec::new()));
                }
                Ok(Some(text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()))
            }
        }
    }

    /// Every `<prefix>x` / `<prefix2>x` pair, as (x, text): `prefs/x` and `prefs_x`,
    /// `labelNames/x`; a JSON `prefs` object counts too.
    pub fn nested(&self, names: &[&str]) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (key, value) in &self.values {
            for name in names {
                for separator in ['/', '_'] {
                    if let Some(sub) = key.strip_prefix(&format!("{name}{separator}")) {
                        if let Some(text) = scalar_text(value) {
                            found.push((sub.to_string(), text));
                        }
                    }
                }
                if key == name {
                    if let Value::Object(map) = value {
                        for (sub, inner) in map {
                            if let Some(text) = scalar_text(inner) {
                                found.push((sub.clone(), text));
                            }
                        }
                    }
                }
            }
        }
        found.sort();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_json_merge_with_typed_reads() {
        let mut params = Params::default();
        params.add_pairs(b"closed=TRUE&pos=65535.000000&idMembers=a,b&due=null&prefs/voting=members&limit=20");
        let mut body = serde_json::Map::new();
        body.insert("closed".into(), Value::Bool(false));
        body.insert("prefs_background".into(), Value::String("red".into()));
        params.add_json(body);
        assert_eq!(params.bool("closed").unwrap(), Some(false));
        assert_eq!(params.pos("pos").unwrap(), Some(Pos::At(65535.0)));
        assert_eq!(params.list("idMembers").unwrap().unwrap(), vec!["a", "b"]);
        assert_eq!(params.date("due").unwrap(), Some(None));
        assert_eq!(params.int("limit", 0, 1000).unwrap(), Some(20));
        assert!(params.int("limit", 0, 10).is_err());
        assert_eq!(
            params.nested(&["prefs"]),
            vec![("background".to_string(), "red".to_string()), ("voting".to_string(), "members".to_string())]
        );
    }

    #[test]
    fn wrong_types_name_the_parameter() {
        let mut params = Params::default();
        params.add_pairs(b"closed=maybe&pos=middle");
        assert_eq!(params.bool("closed").unwrap_err().body, "invalid value for closed");
        assert_eq!(params.pos("pos").unwrap_err().body, "invalid value for pos");
    }
}
