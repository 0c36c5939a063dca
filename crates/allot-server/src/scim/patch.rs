//! SCIM PATCH (RFC 7644, section 3.5.2) over a resource's JSON: `add`, `replace` and
//! `remove`, with a path (`displayName`, `name.givenName`, `emails[type eq "work"].value`,
//! `members[value eq "id"]`) or, for `add` and `replace`, without one and an object. The
//! resource is then read back from the JSON as a PUT's body is, so PATCH and PUT share one
//! set of rules. Names are matched in any case, and `op` too (Entra sends `Replace`).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::ScimError;
use super::filter::{self, Filter};

/// A PATCH request's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchRequest {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<Operation>,
}

#[derive(Debug, Deserialize)]
pub struct Operation {
    pub op: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
}

const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A path: an attribute (and sub-attribute), maybe with a filter on its elements.
struct Path {
    attr: String,
    filter: Option<Filter>,
    sub: Option<String>,
}

fn invalid_path(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidPath", detail)
}

fn invalid_value(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidValue", detail)
}

/// Drops a schema URN before the attribute (`urn:...:User:userName`); answers the rest.
fn strip_urn(path: &str) -> &str {
    if path.to_ascii_lowercase().starts_with("urn:") {
        // The attribute follows the URN's last colon (outside any filter).
        let head = path.split('[').next().unwrap_or(path);
        match head.rfind(':') {
            Some(at) => &path[at + 1..],
            None => path,
        }
    } else {
        path
    }
}

fn parse_path(text: &str) -> Result<Path, ScimError> {
    let text = strip_urn(text.trim());
    let (head, filter, tail) = match text.find('[') {
        Some(open) => {
            let close = text.rfind(']').ok_or_else(|| invalid_path(format!("path `{text}`: `[` is not closed")))?;
            let inner = &text[open + 1..close];
            let filter = filter::parse(inner).map_err(|e| invalid_path(format!("path `{text}`: {}", e.0)))?;
            (&text[..open], Some(filter), text[close + 1..].strip_prefix('.').map(str::to_owned))
        }
        None => (text, None, None),
    };
    let (attr, sub) = match head.split_once('.') {
        Some((attr, sub)) if filter.is_none() => (attr, Some(sub.to_owned())),
        _ => (head, tail),
    };
    let valid =
        |name: &str| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if !valid(attr) || sub.as_deref().is_some_and(|s| !valid(s)) {
        return Err(invalid_path(format!("`{text}` is not an attribute path")));
    }
    Ok(Path { attr: attr.to_owned(), filter, sub })
}

/// The key of `object` that is `name` in any case, if there is one.
fn key_of(object: &Map<String, Value>, name: &str) -> Option<String> {
    object.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Sets `name` in `object` to `value`, under the key it already has in any case.
fn set(object: &mut Map<String, Value>, name: &str, value: Value) {
    let key = key_of(object, name).unwrap_or_else(|| name.to_owned());
    object.insert(key, value);
}

fn remove(object: &mut Map<String, Value>, name: &str) {
    if let Some(key) = key_of(object, name) {
        object.remove(&key);
    }
}

/// Adds `value` to `target`: arrays gain the elements they lack, objects merge, the rest
/// is replaced.
fn add_to(target: &mut Value, value: Value) {
    match (target, value) {
        (Value::Array(items), Value::Array(more)) => {
            for item in more {
                if !items.iter().any(|i| same_element(i, &item)) {
                    items.push(item);
                }
            }
        }
        (Value::Array(items), item) => {
            if !items.iter().any(|i| same_element(i, &item)) {
                items.push(item);
            }
        }
        (Value::Object(object), Value::Object(more)) => {
            for (name, value) in more {
                match key_of(object, &name) {
                    Some(key) => add_to(object.entry(key).or_insert(Value::Null), value),
                    None => {
                        object.insert(name, value);
                    }
                }
            }
        }
        (target, value) => *target = value,
    }
}

/// Two elements of a multi-valued attribute are the same when their `value`s are.
fn same_element(a: &Value, b: &Value) -> bool {
    let value = |v: &Value| v.as_object().and_then(|o| key_of(o, "value").and_then(|k| o.get(&k).cloned()));
    match (value(a), value(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Applies `request` to `resource` (a resource's JSON object).
pub fn apply(resource: &mut Value, request: PatchRequest) -> Result<(), ScimError> {
    if !request.schemas.is_empty() && !request.schemas.iter().any(|s| s == PATCH_SCHEMA) {
        return Err(invalid_value(format!("schemas: a PATCH names `{PATCH_SCHEMA}`")));
    }
    let Value::Object(object) = resource else { return Err(invalid_value("the resource is not an object")) };
    for operation in request.operations {
        let op = operation.op.to_ascii_lowercase();
        match (op.as_str(), operation.path.as_deref()) {
            ("add" | "replace", None) => {
                let Some(Value::Object(values)) = operation.value else {
                    return Err(invalid_value(format!("{op} without a path takes an object")));
                };
                for (name, value) in values {
                    let name = strip_urn(&name).to_owned();
                    if name.contains('.') || name.contains('[') {
                        // Entra sends `{"name.givenName": "Ana"}` as a value without a path.
                        at_path(object, &parse_path(&name)?, &op, Some(value))?;
                        continue;
                    }
                    match (op.as_str(), key_of(object, &name)) {
                        ("add", Some(key)) => add_to(object.entry(key).or_insert(Value::Null), value),
                        _ => set(object, &name, value),
                    }
                }
            }
            ("add" | "replace", Some(path)) => {
                let path = parse_path(path)?;
                let value = operation.value.ok_or_else(|| invalid_value(format!("{op} takes a value")))?;
                at_path(object, &path, &op, Some(value))?;
            }
            ("remove", Some(path)) => {
                let path = parse_path(path)?;
                at_path(object, &path, "remove", operation.value)?;
            }
            ("remove", None) => return Err(ScimError::bad_request("noTarget", "remove takes a path")),
            _ => return Err(invalid_value(format!("op `{}` is not add, replace or remove", operation.op))),
        }
    }
    Ok(())
}

fn at_path(object: &mut Map<String, Value>, path: &Path, op: &str, value: Option<Value>) -> Result<(), ScimError> {
    let key = key_of(object, &path.attr);
    match (&path.filter, &path.sub) {
        (None, None) => match (op, value) {
            ("remove", None) => remove(object, &path.attr),
            // Entra removes members by a value array on the attribute itself.
            ("remove", Some(value)) => {
                let gone: Vec<Value> = match value {
                    Value::Array(items) => items,
                    item => vec![item],
                };
                if let Some(Value::Array(items)) = key.and_then(|k| object.get_mut(&k)) {
                    items.retain(|i| !gone.iter().any(|g| same_element(i, g)));
                }
            }
            ("add", Some(value)) => match key {
                Some(key) => add_to(object.entry(key).or_insert(Value::Null), value),
                None => set(object, &path.attr, value),
            },
            (_, Some(value)) => set(object, &path.attr, value),
            (_, None) => return Err(invalid_value(format!("{op} takes a value"))),
        },
        (None, Some(sub)) => {
            let entry =
                object.entry(key.unwrap_or_else(|| path.attr.clone())).or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(inner) = entry else {
                return Err(invalid_path(format!("`{}` has no sub-attribute `{sub}`", path.attr)));
            };
            match value {
                _ if op == "remove" => remove(inner, sub),
                Some(value) => set(inner, sub, value),
                None => return Err(invalid_value(format!("{op} takes a value"))),
            }
        }
        (Some(filter), sub) => {
            let items =
                object.entry(key.unwrap_or_else(|| path.attr.clone())).or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = items else {
                return Err(invalid_path(format!("`{}` is not multi-valued", path.attr)));
            };
            let matches = |item: &Value| filter.matches(item, &|_| false).unwrap_or(false);
            let found = items.iter().any(matches);
            match (op, sub) {
                ("remove", None) => items.retain(|i| !matches(i)),
                ("remove", Some(sub)) => items.iter_mut().filter(|i| matches(i)).for_each(|i| {
                    if let Value::Object(o) = i {
                        remove(o, sub);
                    }
                }),
                (_, sub) => {
                    let value = value.ok_or_else(|| invalid_value(format!("{op} takes a value")))?;
                    if !found {
                        // `emails[type eq "work"].value` on a user with no work address: the
                        // element the filter describes is made, as Entra expects.
                        let mut made = Map::new();
                        if let Filter::Compare(attr, filter::Op::Eq, operand) = filter {
                            made.insert(attr.name.clone(), operand.to_json());
                        } else {
                            return Err(ScimError::bad_request("noTarget", "no element matches the path's filter"));
                        }
                        items.push(Value::Object(made));
                    }
                    for item in items.iter_mut().filter(|i| matches(i)) {
                        match (sub, &value) {
                            (Some(sub), value) => {
                                if let Value::Object(o) = item {
                                    set(o, sub, value.clone());
                                }
                            }
                            (None, Value::Object(more)) if op == "add" => add_to(item, Value::Object(more.clone())),
                            (None, value) => *item = value.clone(),
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    fn patched(mut resource: Value, operations: Value) -> Result<Value, super::ScimError> {
        let request = serde_json::from_value(json!({"Operations": operations})).unwrap();
        super::apply(&mut resource, request).map(|()| resource)
    }

    #[test]
    fn entras_operations_change_what_their_paths_name() {
        let user = json!({"userName": "ana", "active": true, "emails": [{"type": "home", "value": "a@home"}]});
        let out = patched(
            user,
            json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ana@work"},
                {"op": "replace", "value": {"name.givenName": "Ana", "displayName": "Ana O."}},
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName", "value": "ana2"},
            ]),
        )
        .unwrap();
        assert_eq!(out["active"], "False", "read as a boolean later, as a PUT's body is");
        assert_eq!(
            out["emails"][1],
            json!({"type": "work", "value": "ana@work"}),
            "the element the filter names is made"
        );
        assert_eq!((out["name"]["givenName"].as_str(), out["displayName"].as_str()), (Some("Ana"), Some("Ana O.")));
        assert_eq!(out["userName"], "ana2");
    }

    #[test]
    fn members_are_added_once_and_removed_by_filter_or_by_a_value_list() {
        let group = json!({"displayName": "G", "members": [{"value": "a"}]});
        let added = patched(
            group,
            json!([{"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}, {"value": "c"}]}]),
        );
        let added = added.unwrap();
        assert_eq!(added["members"].as_array().unwrap().len(), 3, "a is not added twice");
        let out = patched(
            added,
            json!([
                {"op": "remove", "path": "members[value eq \"b\"]"},
                {"op": "Remove", "path": "members", "value": [{"value": "c"}]},
            ]),
        )
        .unwrap();
        assert_eq!(out["members"], json!([{"value": "a"}]));
    }

    #[test]
    fn a_bad_operation_or_path_is_refused_with_its_scim_type() {
        let kind = |operations: Value| patched(json!({"userName": "a"}), operations).unwrap_err().scim_type;
        assert_eq!(kind(json!([{"op": "move", "path": "userName", "value": "b"}])), Some("invalidValue"));
        assert_eq!(kind(json!([{"op": "remove"}])), Some("noTarget"));
        assert_eq!(
            kind(json!([{"op": "replace", "path": "emails[type zz \"w\"]", "value": "x"}])),
            Some("invalidPath")
        );
        assert_eq!(kind(json!([{"op": "replace", "path": "a b", "value": 1}])), Some("invalidPath"));
        assert_eq!(kind(json!([{"op": "replace", "value": "not an object"}])), Some("invalidValue"));
    }
}
