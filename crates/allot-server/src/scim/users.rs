//! SCIM Users: an organization's users as an identity provider sees them. A user's `id` is
//! allot's user id; `userName` (unique in any case) is its directory user name. `name`,
//! `emails` and `externalId` are kept as given; `active: false` deactivates the user, which
//! releases every license they hold (allot-core's planner). A PUT that leaves `active` out
//! keeps the user as active as they were: Okta's PUTs send the whole user, but a client
//! that forgets one attribute must not deactivate anyone.

use allot_core::state::{Org, User};
use allot_core::{Command, Timestamp, UserId, UserProfile};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{ListQuery, Provisioner, ScimError, ScimResult, Write, answer, created, key_of, listing, meta};

pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Attributes compared exactly in filters; all others compare in any case.
pub fn case_exact(attribute: &str) -> bool {
    matches!(attribute, "id" | "externalid")
}

/// The user's SCIM representation.
pub fn resource(org: &Org, id: &UserId, user: &User) -> Value {
    let profile = &user.profile;
    let scim = profile.scim();
    let user_name = profile.user_name().map_or_else(|| id.to_string(), str::to_owned);
    let mut out = Map::new();
    out.insert("schemas".into(), json!([SCHEMA]));
    out.insert("id".into(), json!(id.as_str()));
    if let Some(external) = scim.and_then(|s| s.external_id.as_deref()) {
        out.insert("externalId".into(), json!(external));
    }
    out.insert("userName".into(), json!(user_name));
    let name = scim.and_then(|s| s.name.clone()).unwrap_or_else(|| {
        let mut name = json!({"formatted": profile.display_name(), "givenName": profile.name});
        if let Some(surname) = profile.surname() {
            name["familyName"] = json!(surname);
        }
        name
    });
    out.insert("name".into(), name);
    if let Some(display) = profile.directory.as_deref().and_then(|d| d.display_name.as_deref()) {
        out.insert("displayName".into(), json!(display));
    }
    let emails = scim
        .and_then(|s| s.emails.clone())
        .or_else(|| profile.email.as_deref().map(|email| json!([{"value": email, "type": "work", "primary": true}])));
    if let Some(emails) = emails {
        out.insert("emails".into(), emails);
    }
    out.insert("active".into(), json!(profile.is_active()));
    let groups: Vec<Value> = user
        .groups
        .keys()
        .map(|g| {
            let display = org.groups.get(g).map_or_else(|| g.to_string(), |group| group.name.clone());
            json!({"value": g.as_str(), "display": display, "$ref": format!("../Groups/{g}"), "type": "direct"})
        })
        .collect();
    out.insert("groups".into(), Value::Array(groups));
    let times = scim.map(|s| (s.created, s.modified)).unwrap_or_default();
    meta(&mut out, "User", &format!("Users/{id}"), times);
    Value::Object(out)
}

/// What a POST, a PUT or a patched resource says of a user.
struct Sent {
    user_name: String,
    name: Option<Value>,
    display_name: Option<String>,
    emails: Option<Value>,
    active: Option<bool>,
    external_id: Option<String>,
}

fn text(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ScimError> {
    match key_of(body, name).and_then(|k| body.get(&k)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ScimError::invalid_value(format!("{name}: a string, not {other}"))),
    }
}

/// A boolean, or Entra's `"True"` / `"False"`.
fn boolean(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, ScimError> {
    match key_of(body, name).and_then(|k| body.get(&k)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(ScimError::invalid_value(format!("{name}: true or false, not {other}"))),
    }
}

fn sent(body: &Value) -> Result<Sent, ScimError> {
    let Value::Object(body) = body else { return Err(ScimError::invalid_value("a user is a JSON object")) };
    let user_name = text(body, "userName")?.filter(|u| !u.trim().is_empty());
    let user_name = user_name.ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    let object_or_array = |name: &str, array: bool| match key_of(body, name).and_then(|k| body.get(&k)) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Array(_)) if array => Ok(Some(v.clone())),
        Some(v @ Value::Object(_)) if !array => Ok(Some(v.clone())),
        Some(other) => Err(ScimError::invalid_value(format!("{name}: not {other}"))),
    };
    Ok(Sent {
        user_name: user_name.trim().to_owned(),
        name: object_or_array("name", false)?,
        display_name: text(body, "displayName")?,
        emails: object_or_array("emails", true)?,
        active: boolean(body, "active")?,
        external_id: text(body, "externalId")?,
    })
}

/// The email a user's `emails` make theirs: the primary one, else the first.
fn primary_email(emails: &Value) -> Option<String> {
    let items = emails.as_array()?;
    let value =
        |e: &Value| e.as_object().and_then(|o| key_of(o, "value").and_then(|k| o.get(&k)?.as_str().map(str::to_owned)));
    let primary = items.iter().find(|e| {
        e.as_object().and_then(|o| key_of(o, "primary").and_then(|k| o.get(&k).cloned())) == Some(Value::Bool(true))
    });
    primary.or(items.first()).and_then(value)
}

fn name_part(name: &Option<Value>, part: &str) -> Option<String> {
    let object = name.as_ref()?.as_object()?;
    object.get(&key_of(object, part)?)?.as_str().map(str::to_owned)
}

/// The profile `sent` makes of `current` (a new user's when `None`), as of `now`.
fn profile(current: Option<&UserProfile>, sent: Sent, now: Timestamp) -> UserProfile {
    let mut profile = current.cloned().unwrap_or_default();
    let (given, family) = (name_part(&sent.name, "givenName"), name_part(&sent.name, "familyName"));
    let formatted = name_part(&sent.name, "formatted");
    let joined = [given.clone(), family.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    profile.name = given.or(sent.display_name.clone()).unwrap_or_else(|| sent.user_name.clone());
    profile.email = sent.emails.as_ref().and_then(primary_email).map(Into::into);
    let directory = profile.directory_mut();
    directory.user_name = Some(sent.user_name);
    directory.surname = family;
    directory.display_name = sent.display_name.or(formatted).or((!joined.is_empty()).then_some(joined));
    if let Some(active) = sent.active {
        directory.inactive = !active;
    }
    let scim = directory.scim.get_or_insert_with(Box::default);
    scim.external_id = sent.external_id;
    scim.name = sent.name;
    scim.emails = sent.emails;
    scim.created = scim.created.or(Some(now));
    scim.modified = Some(now);
    profile
}

/// The id a new user with `user_name` gets: the name itself, lower-cased, when it is a valid
/// id no one has; else one made from it. So two processes creating one user name at once
/// make one id, and the planner refuses the second.
fn new_id(org: &Org, user_name: &str) -> UserId {
    let lower = user_name.to_lowercase();
    if let Ok(id) = UserId::parse(&lower)
        && !org.users.contains_key(&id)
    {
        return id;
    }
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(lower.as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    // `scim-` and 24 hex digits, then a counter: always a valid id, the first one free.
    (1u64..)
        .map(|n| if n == 1 { format!("scim-{hex}") } else { format!("scim-{hex}-{n}") })
        .filter_map(|id| UserId::parse(&id).ok())
        .find(|id| !org.users.contains_key(id))
        .unwrap_or_else(|| unreachable!("an organization holds fewer than 2^64 users"))
}

/// Refuses `user_name` if a user other than `except` has it, in any case.
fn unique(org: &Org, user_name: &str, except: Option<&UserId>) -> ScimResult<()> {
    let taken = org.users.iter().any(|(id, u)| {
        Some(id) != except && u.profile.user_name().unwrap_or(id.as_str()).eq_ignore_ascii_case(user_name)
    });
    match taken {
        true => {
            Err(ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), format!("userName `{user_name}` is taken")))
        }
        false => Ok(()),
    }
}

pub async fn create(scope: Provisioner<Write>, body: super::Body) -> ScimResult<Response> {
    let sent = sent(&body.0)?;
    let now = scope.app().clock.now();
    let (id, command) = scope.read_org(|org| {
        unique(org, &sent.user_name, None)?;
        let id = new_id(org, &sent.user_name);
        let command = Command::CreateUser { org: org.id.clone(), user: id.clone(), profile: profile(None, sent, now) };
        Ok((id, command))
    })?;
    scope.change(&[command]).await?;
    created(scope.read_org(|org| found(org, &id))?)
}

pub async fn get(scope: Provisioner, Path(id): Path<String>, Query(query): Query<ListQuery>) -> ScimResult<Response> {
    let resource = scope.read_org(|org| found(org, &parse(&id)?))?;
    answer(StatusCode::OK, query.project(resource)?)
}

pub async fn list(scope: Provisioner, Query(query): Query<ListQuery>) -> ScimResult<Response> {
    let page = scope.read_org(|org| {
        let users = org.users.iter();
        listing(&query, users.map(|(id, user)| (fast_key(id, user), move || resource(org, id, user))), case_exact)
    })?;
    answer(StatusCode::OK, page)
}

/// What a `userName eq` or `externalId eq` lookup compares without building the resource.
fn fast_key<'a>(id: &'a UserId, user: &'a User) -> super::FastKey<'a> {
    super::FastKey {
        id: id.as_str(),
        name_attribute: "username",
        name: user.profile.user_name().unwrap_or(id.as_str()),
        external_id: user.profile.scim().and_then(|s| s.external_id.as_deref()),
    }
}

pub async fn replace(
    scope: Provisioner<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: super::Body,
) -> ScimResult<Response> {
    let id = parse(&id)?;
    let current = scope.read_org(|org| found(org, &id))?;
    super::if_match(&headers, &current)?;
    super::immutable_id(&body.0, &id)?;
    update(&scope, &id, sent(&body.0)?).await
}

pub async fn patch(
    scope: Provisioner<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: super::Body,
) -> ScimResult<Response> {
    let id = parse(&id)?;
    let mut current = scope.read_org(|org| found(org, &id))?;
    super::if_match(&headers, &current)?;
    let request = serde_json::from_value(body.0).map_err(|e| ScimError::invalid_syntax(format!("a PATCH: {e}")))?;
    super::patch::apply(&mut current, request)?;
    super::immutable_id(&current, &id)?;
    update(&scope, &id, sent(&current)?).await
}

async fn update(scope: &Provisioner<Write>, id: &UserId, sent: Sent) -> ScimResult<Response> {
    let now = scope.app().clock.now();
    let commands = scope.read_org(|org| {
        unique(org, &sent.user_name, Some(id))?;
        let user = org.users.get(id).ok_or_else(|| missing(id.as_str()))?;
        let after = profile(Some(&user.profile), sent, now);
        Ok(vec![Command::UpdateUser { org: org.id.clone(), user: id.clone(), profile: after }])
    })?;
    scope.change(&commands).await?;
    answer(StatusCode::OK, scope.read_org(|org| found(org, id))?)
}

pub async fn delete(scope: Provisioner<Write>, Path(id): Path<String>) -> ScimResult<StatusCode> {
    let id = parse(&id)?;
    scope.read_org(|org| found(org, &id))?;
    scope.delete_user(id.as_str()).await.map_err(ScimError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

fn parse(id: &str) -> ScimResult<UserId> {
    UserId::parse(id).map_err(|_| missing(id))
}

fn missing(id: &str) -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, format!("user `{id}` does not exist"))
}

fn found(org: &Org, id: &UserId) -> ScimResult<Value> {
    org.users.get(id).map(|user| resource(org, id, user)).ok_or_else(|| missing(id.as_str()))
}
