//! `/useradmin/users`: list, read, create and change users, their role a license. The
//! dialect parses Vonage's user object and answers it; the planner decides what a role
//! change may do (licenses left, overage, eligibility) and the service applies it whole.

use allot_core::{
    Command, ContactCenterProfile, DirectLicense, DirectoryProfile, Plan, Role, UserId, UserProfile, ViolationCode,
};
use axum::Json;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::shapes::{self, Meta, UserAnswer, UserBody, UsersPage};
use super::{Account, VonageError};
use crate::error::ApiError;
use crate::extract::{JsonBytes, Path, Read, Write};
use crate::service::{OrgScope, UserRecord};

#[derive(Deserialize)]
pub struct UserPath {
    user: String,
}

fn bad_request(message: impl Into<String>) -> VonageError {
    VonageError::new(StatusCode::BAD_REQUEST, message)
}

/// The query's parameters, undecoded: every value the dialect reads is a word or a number.
fn params(query: &Option<String>) -> Vec<(&str, &str)> {
    let query = query.as_deref().unwrap_or_default();
    query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, ""))).collect()
}

fn param<'q>(params: &[(&'q str, &'q str)], name: &str) -> Option<&'q str> {
    params.iter().rev().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| *value)
}

fn flag(params: &[(&str, &str)], name: &str) -> Result<bool, VonageError> {
    match param(params, name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") | Some("") => Ok(true),
        Some(other) => Err(bad_request(format!("Invalid value '{other}' for {name}. Valid values: true, false"))),
    }
}

fn number(
    params: &[(&str, &str)],
    name: &str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, VonageError> {
    let Some(raw) = param(params, name) else { return Ok(default) };
    raw.parse::<usize>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
        bad_request(format!("Invalid value '{raw}' for {name}: a number from {} to {}", range.start(), range.end()))
    })
}

fn body(bytes: &[u8]) -> Result<UserBody, VonageError> {
    serde_json::from_slice(bytes).map_err(|e| bad_request(format!("Invalid user: {e}")))
}

/// The user a path names, or Vonage's 404.
fn record(org: &OrgScope, raw: &str) -> Result<UserRecord, VonageError> {
    org.user_record(raw).map_err(|_| VonageError::new(StatusCode::NOT_FOUND, format!("User '{raw}' not found")))
}

/// Draws `role`'s license for the user, from the overage pool past the contract if allowed.
fn hold_role(org: &OrgScope, user: &UserId, role: &str, allow_overages: bool) -> Option<Command> {
    Some(Command::SetUserLicense {
        org: org.org().clone(),
        user: user.clone(),
        product: shapes::role_product()?,
        license: Some(DirectLicense::of(shapes::role_license(role)?, false)),
        overflow: allow_overages,
    })
}

/// A refused plan, as Vonage might word it; the statuses are compat/vonage.md's.
fn refusal(plan: &Plan) -> VonageError {
    let Some(first) = plan.violations.first() else {
        return VonageError::new(StatusCode::CONFLICT, "The change was refused");
    };
    if first.code.is_unknown_target() {
        return VonageError::new(StatusCode::NOT_FOUND, first.message.clone());
    }
    let role = first.license.as_ref().and_then(shapes::role_name);
    let overage =
        first.license.as_ref().and_then(|l| l.capability.as_ref()).is_some_and(|c| c.as_str() == "agentoverage");
    let message = match (first.code, role) {
        (ViolationCode::LicenseLimitExceeded, Some(_)) if overage => {
            "Maximum overage of Agent licenses reached".to_owned()
        }
        (ViolationCode::LicenseLimitExceeded, Some("Agent")) => {
            "Agent license limit exceeded: set allowOverages=true to exceed it up to the maximum overage".to_owned()
        }
        (ViolationCode::LicenseLimitExceeded, Some(role)) => format!("{role} license limit exceeded"),
        (ViolationCode::NotPurchased, Some(role)) if overage => {
            format!("{role} license limit exceeded and no overage is contracted")
        }
        (ViolationCode::NotPurchased, Some(role)) => format!("No {role} licenses are contracted for this account"),
        (ViolationCode::NotEligible, _) => format!("License not available for the user's role: {}", first.message),
        _ => first.message.clone(),
    };
    VonageError::new(StatusCode::CONFLICT, message)
}

/// Applies a user's change, or answers why not.
async fn apply(org: &OrgScope, commands: &[Command], user: &UserId, username: &str) -> Result<UserAnswer, VonageError> {
    let outcome = org.change_user_named(commands, user, username).await?;
    if !outcome.plan.is_possible() {
        return Err(refusal(&outcome.plan));
    }
    Ok(UserAnswer::from(&record(org, user.as_str())?))
}

/// A required text field: present and not blank.
fn required(value: Option<String>, name: &str) -> Result<String, VonageError> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| bad_request(format!("'{name}' is required")))
}

/// `GET /users?include=&page=&limit=`.
pub async fn list(account: Account<Read>, RawQuery(query): RawQuery) -> Result<Json<UsersPage>, VonageError> {
    let params = params(&query);
    let include = param(&params, "include").unwrap_or("Active").to_ascii_lowercase();
    let keep: fn(&UserProfile) -> bool = match include.as_str() {
        "active" => UserProfile::is_active,
        "archived" => |p| !p.is_active(),
        "all" => |_| true,
        _ => {
            return Err(bad_request(format!(
                "Invalid value '{include}' for include. Valid values: Active, Archived, All"
            )));
        }
    };
    // Pages count from 1 (Get users); 0, the Requests page's default, is the first page too.
    let page = number(&params, "page", 1, 0..=1_000_000_000)?.max(1);
    let limit = number(&params, "limit", 25, 1..=5000)?;
    let (total, users) = account.users_where(keep, (page - 1).saturating_mul(limit), limit)?;
    let users: Vec<UserAnswer> = users.iter().map(UserAnswer::from).collect();
    let meta = Meta { page, count: users.len(), page_count: total.div_ceil(limit), total_count: total };
    Ok(Json(UsersPage { meta, users }))
}

/// `GET /users/{userId}`.
pub async fn get(account: Account<Read>, Path(path): Path<UserPath>) -> Result<Json<UserAnswer>, VonageError> {
    Ok(Json(UserAnswer::from(&record(&account, &path.user)?)))
}

/// `POST /users[?allowOverages=true]`: the user and its role license, both or neither.
pub async fn create(
    account: Account<Write>,
    RawQuery(query): RawQuery,
    sent: Result<JsonBytes, ApiError>,
) -> Result<(StatusCode, Json<UserAnswer>), VonageError> {
    let JsonBytes(bytes) = sent?;
    let allow_overages = flag(&params(&query), "allowOverages")?;
    let body = body(&bytes)?;
    let configuration = body.user_account_configuration.unwrap_or_default();
    let username = required(body.username, "username")?;
    let name = required(body.name, "name")?;
    let email = required(body.email, "email")?;
    let role = shapes::role(&required(configuration.role, "userAccountConfiguration.role")?)?;
    let archived = body.active == Some(false);
    let contact_center = ContactCenterProfile {
        sso_external_id: body.sso_external_id,
        role: role.to_owned(),
        act_as_agent: configuration.act_as_agent.unwrap_or(false),
        agent_configuration: configuration.agent_configuration.map(Value::Object),
    };
    let directory = DirectoryProfile {
        user_name: Some(username.clone()),
        inactive: archived,
        contact_center: Some(Box::new(contact_center)),
        ..DirectoryProfile::default()
    };
    let profile =
        UserProfile { name, email: Some(email.into()), role: Role::Member, directory: Some(Box::new(directory)) };
    let user = UserId::parse(&crate::random_uuid())
        .map_err(|e| VonageError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut commands = vec![Command::CreateUser { org: account.org().clone(), user: user.clone(), profile }];
    if !archived {
        commands.extend(hold_role(&account, &user, role, allow_overages));
    }
    Ok((StatusCode::CREATED, Json(apply(&account, &commands, &user, &username).await?)))
}

/// `PATCH /users/{userId}[?allowOverages=true][&acceptArchiveInMultipleAccounts=true]`:
/// fields sent change, the rest stay; archiving frees the user's licenses, restoring draws
/// the role license again; a role change moves the user's role license, all or nothing.
pub async fn update(
    account: Account<Write>,
    Path(path): Path<UserPath>,
    RawQuery(query): RawQuery,
    sent: Result<JsonBytes, ApiError>,
) -> Result<Json<UserAnswer>, VonageError> {
    let JsonBytes(bytes) = sent?;
    let params = params(&query);
    let allow_overages = flag(&params, "allowOverages")?;
    // An allot user belongs to one organization: archiving never needs this flag.
    flag(&params, "acceptArchiveInMultipleAccounts")?;
    let found = record(&account, &path.user)?;
    let body = body(&bytes)?;
    let held = UserAnswer::from(&found).user_account_configuration.role;
    let mut profile = found.profile.clone();
    let mut directory = profile.directory.take().map_or_else(DirectoryProfile::default, |d| *d);
    let mut cc = directory.contact_center.take().map_or_else(
        || ContactCenterProfile { role: held.clone().unwrap_or_default(), ..ContactCenterProfile::default() },
        |c| *c,
    );
    let was_active = !directory.inactive;
    if let Some(name) = body.name {
        profile.name = required(Some(name), "name")?;
    }
    if let Some(email) = body.email {
        profile.email = Some(required(Some(email), "email")?.into());
    }
    if let Some(username) = body.username {
        directory.user_name = Some(required(Some(username), "username")?);
    }
    if let Some(sso) = body.sso_external_id {
        cc.sso_external_id = Some(sso).filter(|s| !s.is_empty());
    }
    if let Some(active) = body.active {
        directory.inactive = !active;
    }
    if let Some(configuration) = body.user_account_configuration {
        if let Some(role) = configuration.role {
            cc.role = shapes::role(&role)?.to_owned();
        }
        if let Some(act_as_agent) = configuration.act_as_agent {
            cc.act_as_agent = act_as_agent;
        }
        // Agent settings merge key by key, as the page's one-setting example expects.
        if let Some(settings) = configuration.agent_configuration {
            let mut merged = match cc.agent_configuration.take() {
                Some(Value::Object(current)) => current,
                _ => serde_json::Map::new(),
            };
            merged.extend(settings);
            cc.agent_configuration = Some(Value::Object(merged));
        }
    }
    let now_active = !directory.inactive;
    let role = cc.role.clone();
    let username = directory.user_name.clone().unwrap_or_else(|| found.id.to_string());
    directory.contact_center = Some(Box::new(cc));
    profile.directory = Some(Box::new(directory));
    let mut commands = vec![Command::UpdateUser { org: account.org().clone(), user: found.id.clone(), profile }];
    if was_active && !now_active {
        commands.push(Command::SetDirectLicenses {
            org: account.org().clone(),
            user: found.id.clone(),
            licenses: Vec::new(),
        });
    } else if now_active && !role.is_empty() && (held.as_deref() != Some(role.as_str()) || !was_active) {
        commands.extend(hold_role(&account, &found.id, &role, allow_overages));
    }
    Ok(Json(apply(&account, &commands, &found.id, &username).await?))
}
