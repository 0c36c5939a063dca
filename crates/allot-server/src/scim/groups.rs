//! SCIM Groups: allot's groups, whose license rules admins set in the console or the API.
//! Membership is what SCIM changes: each member added or removed is a planned change, so a
//! member joining a group with a rule gets its licenses, first come first served.

use allot_core::state::{Group, Org};
use allot_core::{Command, GroupId, GroupProfile, Timestamp, UserId};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{ListQuery, Provisioner, ScimError, ScimResult, Write, answer, created, key_of, listing, meta};

pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

pub fn case_exact(attribute: &str) -> bool {
    matches!(attribute, "id" | "externalid" | "members.value")
}

pub fn resource(org: &Org, group: &Group) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([SCHEMA]));
    out.insert("id".into(), json!(group.id.as_str()));
    let profile = group.profile.as_deref();
    if let Some(external) = profile.and_then(|p| p.external_id.as_deref()) {
        out.insert("externalId".into(), json!(external));
    }
    out.insert("displayName".into(), json!(group.name));
    let members: Vec<Value> = group
        .members
        .values()
        .map(|user| {
            let display = org.users.get(user).map_or_else(|| user.to_string(), |u| u.profile.display_name());
            json!({"value": user.as_str(), "display": display, "$ref": format!("../Users/{user}"), "type": "User"})
        })
        .collect();
    out.insert("members".into(), Value::Array(members));
    let times = profile.map(|p| (p.created, p.modified)).unwrap_or_default();
    meta(&mut out, "Group", &format!("Groups/{}", group.id), times);
    Value::Object(out)
}

struct Sent {
    display_name: String,
    external_id: Option<String>,
    /// Member ids, in the order given.
    members: Vec<String>,
}

fn sent(body: &Value) -> ScimResult<Sent> {
    let Value::Object(body) = body else { return Err(ScimError::invalid_value("a group is a JSON object")) };
    let field = |name: &str| key_of(body, name).and_then(|k| body.get(&k).cloned());
    let display_name = match field("displayName") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => return Err(ScimError::invalid_value("displayName is required")),
    };
    let external_id = match field("externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id),
        Some(other) => return Err(ScimError::invalid_value(format!("externalId: a string, not {other}"))),
    };
    let members = match field("members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                // Okta leaves `type` out; only users are members here.
                let kind = item.as_object().and_then(|o| key_of(o, "type").and_then(|k| o.get(&k)?.as_str()));
                if kind.is_some_and(|k| !k.eq_ignore_ascii_case("user")) {
                    return Err(ScimError::invalid_value("members: only users are members of a group"));
                }
                let value = item.as_object().and_then(|o| key_of(o, "value").and_then(|k| o.get(&k)?.as_str()));
                value.map(str::to_owned).ok_or_else(|| ScimError::invalid_value("members: each member has a value"))
            })
            .collect::<ScimResult<_>>()?,
        Some(other) => return Err(ScimError::invalid_value(format!("members: a list, not {other}"))),
    };
    Ok(Sent { display_name, external_id, members })
}

/// The users `sent` names, each once, all of them existing.
fn member_ids(org: &Org, sent: &Sent) -> ScimResult<Vec<UserId>> {
    let mut ids: Vec<UserId> = Vec::new();
    for member in &sent.members {
        let id = UserId::parse(member).ok().filter(|id| org.users.contains_key(id));
        let id = id.ok_or_else(|| {
            ScimError::new(StatusCode::BAD_REQUEST, Some("invalidValue"), format!("members: no user `{member}`"))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The commands that make `group` (new when `None`) what `sent` says, as of `now`.
fn commands(org: &Org, id: &GroupId, group: Option<&Group>, sent: &Sent, now: Timestamp) -> ScimResult<Vec<Command>> {
    let wanted = member_ids(org, sent)?;
    let o = org.id.clone();
    let mut commands = Vec::new();
    match group {
        None => {
            commands.push(Command::CreateGroup { org: o.clone(), group: id.clone(), name: sent.display_name.clone() })
        }
        Some(g) if g.name != sent.display_name => {
            commands.push(Command::RenameGroup { org: o.clone(), group: id.clone(), name: sent.display_name.clone() })
        }
        Some(_) => {}
    }
    let current: Vec<&UserId> = group.map(|g| g.members.values().collect()).unwrap_or_default();
    for user in current.iter().filter(|u| !wanted.contains(u)) {
        commands.push(Command::RemoveMember { org: o.clone(), group: id.clone(), user: (*user).clone() });
    }
    for user in wanted.iter().filter(|u| !current.contains(u)) {
        commands.push(Command::AddMember { org: o.clone(), group: id.clone(), user: user.clone() });
    }
    let before = group.and_then(|g| g.profile.as_deref());
    let profile = GroupProfile {
        external_id: sent.external_id.clone(),
        created: before.and_then(|p| p.created).or(Some(now)),
        modified: Some(now),
    };
    commands.push(Command::SetGroupProfile { org: o, group: id.clone(), profile: Some(profile) });
    Ok(commands)
}

/// What a `displayName eq` or `externalId eq` lookup compares without building the resource.
fn fast_key(group: &Group) -> super::FastKey<'_> {
    let external_id = group.profile.as_deref().and_then(|p| p.external_id.as_deref());
    super::FastKey { id: group.id.as_str(), name_attribute: "displayname", name: group.name.as_str(), external_id }
}

fn new_id(org: &Org, name: &str) -> GroupId {
    let slug: String = name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let slug = slug.trim_matches('-').chars().take(100).collect::<String>();
    let mut candidate = if slug.is_empty() { "group".to_owned() } else { slug };
    let base = candidate.clone();
    let mut n = 1;
    while GroupId::parse(&candidate).map_or(true, |id| org.groups.contains_key(&id)) {
        n += 1;
        candidate = format!("{base}-{n}");
    }
    GroupId::parse(&candidate).unwrap_or_else(|_| unreachable!("a slug of letters, digits and dashes is an id"))
}

fn unique(org: &Org, name: &str, except: Option<&GroupId>) -> ScimResult<()> {
    if org.groups.iter().any(|(id, g)| Some(id) != except && g.name.eq_ignore_ascii_case(name)) {
        return Err(ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), format!("displayName `{name}` is taken")));
    }
    Ok(())
}

pub async fn create(scope: Provisioner<Write>, body: super::Body) -> ScimResult<Response> {
    let sent = sent(&body.0)?;
    let now = scope.app().clock.now();
    let (id, commands) = scope.read_org(|org| {
        unique(org, &sent.display_name, None)?;
        let id = new_id(org, &sent.display_name);
        Ok((id.clone(), commands(org, &id, None, &sent, now)?))
    })?;
    scope.change(&commands).await?;
    created(scope.read_org(|org| found(org, &id))?)
}

pub async fn get(scope: Provisioner, Path(id): Path<String>, Query(query): Query<ListQuery>) -> ScimResult<Response> {
    let resource = scope.read_org(|org| found(org, &parse(&id)?))?;
    answer(StatusCode::OK, query.project(resource)?)
}

pub async fn list(scope: Provisioner, Query(query): Query<ListQuery>) -> ScimResult<Response> {
    let page = scope.read_org(|org| {
        let groups = org.groups.values();
        listing(&query, groups.map(|g| (fast_key(g), move || resource(org, g))), case_exact)
    })?;
    answer(StatusCode::OK, page)
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

async fn update(scope: &Provisioner<Write>, id: &GroupId, sent: Sent) -> ScimResult<Response> {
    let now = scope.app().clock.now();
    let commands = scope.read_org(|org| {
        unique(org, &sent.display_name, Some(id))?;
        let group = org.groups.get(id).ok_or_else(|| missing(id.as_str()))?;
        commands(org, id, Some(group), &sent, now)
    })?;
    scope.change(&commands).await?;
    answer(StatusCode::OK, scope.read_org(|org| found(org, id))?)
}

pub async fn delete(scope: Provisioner<Write>, Path(id): Path<String>) -> ScimResult<StatusCode> {
    let id = parse(&id)?;
    scope.read_org(|org| found(org, &id))?;
    scope.delete_group(id.as_str()).await.map_err(ScimError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

fn parse(id: &str) -> ScimResult<GroupId> {
    GroupId::parse(id).map_err(|_| missing(id))
}

fn missing(id: &str) -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, format!("group `{id}` does not exist"))
}

fn found(org: &Org, id: &GroupId) -> ScimResult<Value> {
    org.groups.get(id).map(|group| resource(org, group)).ok_or_else(|| missing(id.as_str()))
}
