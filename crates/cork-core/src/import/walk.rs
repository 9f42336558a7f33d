//! A streaming walk over a board export: the top-level object's scalar and object
//! members are kept whole (they are small: the board's own fields), and the members that
//! hold the board's contents (`cards`, `actions`, ...) are handed over one element at a
//! time, so a file of any size is read with the memory of its largest single element.

use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The arrays of an export that are streamed element by element.
pub const SECTIONS: [&str; 9] =
    ["actions", "cards", "checklists", "customFields", "labels", "lists", "members", "memberships", "pluginData"];

/// Where a walk sends what it reads.
pub trait Sink {
    /// A member of the top-level object that is not a streamed section.
    fn header(&mut self, key: String, value: Value);
    /// One element of a streamed section; an error stops the walk.
    fn element(&mut self, section: &'static str, index: usize, value: Value) -> Result<(), String>;
    /// A streamed section begins (also when it turns out empty).
    fn section(&mut self, _section: &'static str) {}
}

/// Walks `reader` as one export. The error is the parser's, with its line and column,
/// or the sink's.
pub fn walk<R: Read>(reader: R, sink: &mut dyn Sink) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    Top { sink }.deserialize(&mut de).map_err(describe)?;
    de.end().map_err(describe)
}

fn describe(error: serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Eof => format!("the file ends before the export does (line {}, column {})", error.line(), error.column()),
        Category::Syntax => format!("not valid JSON: {error}"),
        Category::Io => format!("could not read the file: {error}"),
        Category::Data => error.to_string(),
    }
}

struct Top<'a> {
    sink: &'a mut dyn Sink,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Trello board export (a JSON object)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match SECTIONS.iter().find(|s| **s == key) {
                Some(section) => {
                    self.sink.section(section);
                    map.next_value_seed(Section { section, sink: &mut *self.sink })?
                }
                None => {
                    let value: Value = map.next_value()?;
                    self.sink.header(key, value);
                }
            }
        }
        Ok(())
    }
}

struct Section<'a> {
    section: &'static str,
    sink: &'a mut dyn Sink,
}

impl<'de> DeserializeSeed<'de> for Section<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Section<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of {}", self.section)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(value) = seq.next_element::<Value>()? {
            self.sink.element(self.section, index, value).map_err(A::Error::custom)?;
            index += 1;
        }
        Ok(())
    }
    // `null` where an array belongs: an empty section.
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Err(A::Error::custom(format!("`{}` is an object, not an array", self.section)))
    }
}

/// Parses a whole small JSON value (the member map file).
pub fn object_of(text: &str) -> Result<Map<String, Value>, String> {
    Map::deserialize(&mut serde_json::Deserializer::from_str(text)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        header: Vec<String>,
        elements: Vec<(&'static str, usize, Value)>,
        sections: Vec<&'static str>,
    }

    impl Sink for Collect {
        fn header(&mut self, key: String, _value: Value) {
            self.header.push(key);
        }
        fn element(&mut self, section: &'static str, index: usize, value: Value) -> Result<(), String> {
            self.elements.push((section, index, value));
            Ok(())
        }
        fn section(&mut self, section: &'static str) {
            self.sections.push(section);
        }
    }

    #[test]
    fn sections_stream_and_the_rest_is_header() {
        let mut sink = Collect::default();
        walk(br#"{"id":"x","prefs":{"a":1},"cards":[{"id":1},{"id":2}],"lists":null,"idTags":[1]}"#.as_slice(), &mut sink).unwrap();
        assert_eq!(sink.header, ["id", "prefs", "idTags"]);
        assert_eq!(sink.elements.len(), 2);
        assert_eq!(sink.elements[1].0, "cards");
        assert_eq!(sink.elements[1].1, 1);
        // An empty or null section is still one the file has (a board without cards).
        assert_eq!(sink.sections, ["cards", "lists"]);
    }

    #[test]
    fn a_truncated_file_is_named_as_such() {
        let error = walk(br#"{"id":"x","cards":[{"id":1},{"#.as_slice(), &mut Collect::default()).unwrap_err();
        assert!(error.starts_with("the file ends before the export does"), "{error}");
    }

    #[test]
    fn not_an_object_is_refused() {
        let error = walk(b"[1,2]".as_slice(), &mut Collect::default()).unwrap_err();
        assert!(error.contains("a Trello board export"), "{error}");
        let error = walk(br#"{"cards":{"a":1}}"#.as_slice(), &mut Collect::default()).unwrap_err();
        assert!(error.contains("not an array"), "{error}");
        let error = walk(br#"{"id":1} x"#.as_slice(), &mut Collect::default()).unwrap_err();
        assert!(error.contains("not valid JSON"), "{error}");
    }
}
