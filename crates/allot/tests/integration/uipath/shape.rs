//! Answers checked against the shapes UiPath's definitions give: exactly the documented
//! fields (none missing, none extra), each of its documented type, enum and nullability.
//! The shapes are written here from the definitions' facts, field by field.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Clone)]
pub enum Shape {
    Str,
    /// A string spelled as a UUID.
    Uuid,
    /// An RFC 3339 date-time string.
    DateTime,
    /// An integer (int32 or int64).
    Int,
    /// Any JSON number (format `double` / `float`).
    Num,
    Bool,
    /// A string, one of these.
    Enum(&'static [&'static str]),
    /// `null` or the inner shape.
    Nullable(Box<Shape>),
    Array(Box<Shape>),
    /// Exactly these fields. A field is present in every answer; one marked [`optional`]
    /// may be left out.
    Object(Vec<(&'static str, Shape, Presence)>),
    /// A map from any key to values of one shape.
    Map(Box<Shape>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Always,
    MayBeAbsent,
}

pub use Shape::{Bool, DateTime, Int, Num, Str, Uuid};

pub fn nullable(shape: Shape) -> Shape {
    Shape::Nullable(Box::new(shape))
}

pub fn array(shape: Shape) -> Shape {
    Shape::Array(Box::new(shape))
}

pub fn one_of(values: &'static [&'static str]) -> Shape {
    Shape::Enum(values)
}

pub fn map(shape: Shape) -> Shape {
    Shape::Map(Box::new(shape))
}

/// An object whose fields are all present.
pub fn object(fields: Vec<(&'static str, Shape)>) -> Shape {
    Shape::Object(fields.into_iter().map(|(name, shape)| (name, shape, Presence::Always)).collect())
}

/// An object with some fields that may be left out, named in `optional`.
pub fn object_with_optional(fields: Vec<(&'static str, Shape)>, optional: &[&str]) -> Shape {
    for name in optional {
        assert!(fields.iter().any(|(n, _)| n == name), "`{name}` is not a field of the shape");
    }
    Shape::Object(
        fields
            .into_iter()
            .map(|(name, shape)| {
                let presence = if optional.contains(&name) { Presence::MayBeAbsent } else { Presence::Always };
                (name, shape, presence)
            })
            .collect(),
    )
}

/// Panics, naming the path, where `value` does not have `shape`.
#[track_caller]
pub fn assert_shape(value: &Value, shape: &Shape) {
    let mut problems = Vec::new();
    check(value, shape, "$", &mut problems);
    assert!(
        problems.is_empty(),
        "the answer does not have the documented shape:\n{}\nanswer: {value:#}",
        problems.join("\n")
    );
}

fn check(value: &Value, shape: &Shape, at: &str, problems: &mut Vec<String>) {
    let mut wrong = |expected: &str| problems.push(format!("{at}: expected {expected}, got {value}"));
    match shape {
        Shape::Nullable(inner) => {
            if !value.is_null() {
                check(value, inner, at, problems);
            }
        }
        Shape::Str => {
            if !value.is_string() {
                wrong("a string");
            }
        }
        Shape::Uuid => {
            if !value.as_str().is_some_and(is_uuid) {
                wrong("a UUID");
            }
        }
        Shape::DateTime => {
            if value.as_str().is_none_or(|s| OffsetDateTime::parse(s, &Rfc3339).is_err()) {
                wrong("an RFC 3339 date-time");
            }
        }
        Shape::Int => {
            if !(value.is_i64() || value.is_u64()) {
                wrong("an integer");
            }
        }
        Shape::Num => {
            if !value.is_number() {
                wrong("a number");
            }
        }
        Shape::Bool => {
            if !value.is_boolean() {
                wrong("a boolean");
            }
        }
        Shape::Enum(values) => {
            if !value.as_str().is_some_and(|s| values.contains(&s)) {
                wrong(&format!("one of {values:?}"));
            }
        }
        Shape::Array(inner) => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(item, inner, &format!("{at}[{i}]"), problems);
                }
            }
            None => wrong("an array"),
        },
        Shape::Map(inner) => match value.as_object() {
            Some(entries) => {
                for (key, item) in entries {
                    check(item, inner, &format!("{at}.{key}"), problems);
                }
            }
            None => wrong("an object"),
        },
        Shape::Object(fields) => match value.as_object() {
            Some(entries) => {
                for key in entries.keys() {
                    if !fields.iter().any(|(name, _, _)| name == key) {
                        problems.push(format!("{at}.{key}: not a documented field"));
                    }
                }
                for (name, inner, presence) in fields {
                    match entries.get(*name) {
                        Some(item) => check(item, inner, &format!("{at}.{name}"), problems),
                        None if *presence == Presence::MayBeAbsent => {}
                        None => problems.push(format!("{at}.{name}: missing")),
                    }
                }
            }
            None => wrong("an object"),
        },
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn shapes_catch_extra_missing_and_mistyped_fields() {
    use serde_json::json;
    let shape = object_with_optional(
        vec![
            ("id", Uuid),
            ("name", nullable(Str)),
            ("type", one_of(&["builtIn", "custom"])),
            ("members", array(object(vec![("n", Int)]))),
            ("note", Str),
            ("at", DateTime),
            ("ratio", Num),
            ("on", Bool),
            ("counts", map(Int)),
        ],
        &["note"],
    );
    let good = json!({"id": "feb0dd79-85b6-483b-b297-0e49a1aa5b7d", "name": null, "type": "custom", "members": [{"n": 1}],
        "at": "2026-12-02T10:00:00Z", "ratio": 0.5, "on": false, "counts": {"a": 1}});
    assert_shape(&good, &shape);
    let mut problems = Vec::new();
    let bad = json!({"id": "devs", "type": 1, "members": [{"n": "1"}], "extra": true,
        "at": "yesterday", "ratio": "1", "on": 0, "counts": {"a": "1"}});
    check(&bad, &shape, "$", &mut problems);
    let said = problems.join("\n");
    for expected in [
        "$.id: expected a UUID",
        "$.name: missing",
        "$.type: expected one of",
        "$.members[0].n: expected an integer",
        "$.extra: not a documented field",
        "$.at: expected an RFC 3339 date-time",
        "$.ratio: expected a number",
        "$.on: expected a boolean",
        "$.counts.a: expected an integer",
    ] {
        assert!(said.contains(expected), "{expected} in {said}");
    }
    assert_eq!(problems.len(), 9, "one problem each, no more: {said}");
}
